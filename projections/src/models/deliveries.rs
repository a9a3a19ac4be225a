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
                    "INSERT INTO deliveries (user_id, chat_id, message_id, category, sent_message_id, delivered_at, error, last_seq)
                     VALUES ($1, $2, $3, $4, $5, $6, NULL, $7)
                     ON CONFLICT (user_id, chat_id, message_id) DO UPDATE SET category = excluded.category,
                       sent_message_id = excluded.sent_message_id, delivered_at = excluded.delivered_at,
                       error = NULL, last_seq = excluded.last_seq
                     WHERE deliveries.last_seq < excluded.last_seq",
                )
                .bind(e.user_id).bind(e.key.chat_id).bind(e.key.message_id).bind(&e.category)
                .bind(e.sent_message_id).bind(e.delivered_at).bind(s)
                .execute(&mut *tx).await?;
            }
            Event::DeliveryUnconfirmed(e) => {
                let error = format!("unconfirmed: {}", e.error);
                sqlx::query(
                    "INSERT INTO deliveries (user_id, chat_id, message_id, category, error, last_seq)
                     VALUES ($1, $2, $3, $4, $5, $6)
                     ON CONFLICT (user_id, chat_id, message_id) DO UPDATE SET error = excluded.error,
                       last_seq = excluded.last_seq
                     WHERE deliveries.last_seq < excluded.last_seq AND deliveries.delivered_at IS NULL",
                )
                .bind(e.user_id).bind(e.key.chat_id).bind(e.key.message_id).bind(&e.category)
                .bind(&error).bind(s)
                .execute(&mut *tx).await?;
            }
            Event::DeliveryFailed(e) => {
                sqlx::query(
                    "INSERT INTO deliveries (user_id, chat_id, message_id, category, error, last_seq)
                     VALUES ($1, $2, $3, $4, $5, $6)
                     ON CONFLICT (user_id, chat_id, message_id) DO UPDATE SET error = excluded.error,
                       last_seq = excluded.last_seq
                     WHERE deliveries.last_seq < excluded.last_seq AND deliveries.delivered_at IS NULL",
                )
                .bind(e.user_id).bind(e.key.chat_id).bind(e.key.message_id).bind(&e.category)
                .bind(&e.error).bind(s)
                .execute(&mut *tx).await?;
            }
            _ => {}
        }
    }
    Ok(())
}
