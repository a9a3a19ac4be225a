//! Who was sent what, permanent send failures, and sends whose answer never came.

use bus::Stored;
use schemas::Event;
use sqlx::PgConnection;

use super::seq;

pub const TABLES: &[&str] = &["deliveries"];

pub async fn apply(tx: &mut PgConnection, batch: &[Stored]) -> sqlx::Result<()> {
    for stored in batch {
        let s = seq(stored);
        match &stored.envelope.event {
            Event::VacancyDelivered(e) => {
                sqlx::query(
                    "INSERT INTO deliveries (user_id, chat_id, message_id, category, sent_message_id, delivered_at, error, last_seq, bot_id)
                     VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, $8)
                     ON CONFLICT (user_id, chat_id, message_id) DO UPDATE SET category = excluded.category,
                       sent_message_id = excluded.sent_message_id, delivered_at = excluded.delivered_at,
                       error = NULL, last_seq = excluded.last_seq, bot_id = excluded.bot_id
                     WHERE deliveries.last_seq < excluded.last_seq",
                )
                .bind(e.user_id).bind(e.key.chat_id).bind(e.key.message_id).bind(&e.category)
                .bind(e.sent_message_id).bind(e.delivered_at).bind(s).bind(e.bot_id)
                .execute(&mut *tx).await?;
            }
            Event::DeliveryUnconfirmed(e) => {
                let error = format!("unconfirmed: {}", e.error);
                let at = stored.envelope.occurred_at;
                not_delivered(tx, e.user_id, e.key, &e.category, &error, at, s).await?;
            }
            Event::DeliveryFailed(e) => {
                let at = stored.envelope.occurred_at;
                not_delivered(tx, e.user_id, e.key, &e.category, &e.error, at, s).await?;
            }
            Event::DeliveryWithdrawn(e) => {
                let how = match e.how {
                    schemas::Withdrawal::Deleted => "deleted",
                    schemas::Withdrawal::Marked => "marked",
                    schemas::Withdrawal::Gone => "gone",
                };
                sqlx::query(
                    "UPDATE deliveries SET withdrawn_at = $4, withdrawal = $5, last_seq = $6
                     WHERE user_id = $1 AND chat_id = $2 AND message_id = $3 AND last_seq < $6",
                )
                .bind(e.user_id)
                .bind(e.key.chat_id)
                .bind(e.key.message_id)
                .bind(stored.envelope.occurred_at)
                .bind(how)
                .bind(s)
                .execute(&mut *tx)
                .await?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// A send that did not (or may not have) reached the user: its reason, unless it was delivered.
async fn not_delivered(
    tx: &mut PgConnection,
    user_id: i64,
    key: schemas::MessageKey,
    category: &str,
    error: &str,
    failed_at: chrono::DateTime<chrono::Utc>,
    last_seq: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO deliveries (user_id, chat_id, message_id, category, error, failed_at, last_seq)
         VALUES ($1, $2, $3, $4, $5, $7, $6)
         ON CONFLICT (user_id, chat_id, message_id) DO UPDATE SET error = excluded.error,
           failed_at = excluded.failed_at, last_seq = excluded.last_seq
         WHERE deliveries.last_seq < excluded.last_seq AND deliveries.delivered_at IS NULL",
    )
    .bind(user_id)
    .bind(key.chat_id)
    .bind(key.message_id)
    .bind(category)
    .bind(error)
    .bind(last_seq)
    .bind(failed_at)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
