//! The audit log: the events of any stream that name an acting admin
//! ([`schemas::Event::acting_admin`]). Not a read model of its own: every projector records its
//! own stream's rows in the same transaction as its model, so the log is as current as they are.

use bus::Stored;
use sqlx::PgConnection;

use super::seq;

pub async fn record(tx: &mut PgConnection, stream: &str, batch: &[Stored]) -> sqlx::Result<()> {
    for stored in batch {
        let event = &stored.envelope.event;
        let Some(admin_id) = event.acting_admin() else {
            continue;
        };
        sqlx::query(
            "INSERT INTO admin_actions (stream, seq, admin_id, at, event_type, aggregate, data)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (stream, seq) DO NOTHING",
        )
        .bind(stream)
        .bind(seq(stored))
        .bind(admin_id)
        .bind(stored.envelope.occurred_at)
        .bind(event.event_type())
        .bind(stored.envelope.aggregate().id)
        .bind(serde_json::to_value(event).unwrap_or_default())
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// Clears a stream's rows before its projection is rebuilt.
pub async fn forget(tx: &mut PgConnection, stream: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM admin_actions WHERE stream = $1")
        .bind(stream)
        .execute(&mut *tx)
        .await?;
    Ok(())
}
