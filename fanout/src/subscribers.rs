//! Loads the candidates for a vacancy from the read models: users who chose one of its
//! categories and whose trial or paid period is still running, with what [`audience`] needs
//! to decide. One query per vacancy, however many subscribers.
//!
//! [`audience`]: crate::audience::audience

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use schemas::MessageKey;
use sqlx::{PgPool, Row};

use crate::audience::Subscriber;

pub async fn candidates(
    pool: &PgPool,
    categories: &[String],
    original: MessageKey,
    at: DateTime<Utc>,
) -> sqlx::Result<Vec<Subscriber>> {
    let rows = sqlx::query(
        "SELECT u.user_id, u.trial_ends_at, u.paid_until,
                ARRAY(SELECT slug FROM user_categories c WHERE c.user_id = u.user_id) AS categories,
                ARRAY(SELECT category FROM user_bots b WHERE b.user_id = u.user_id AND b.active) AS bots,
                ARRAY(SELECT author FROM hidden_authors h WHERE h.user_id = u.user_id AND h.hidden) AS hidden,
                EXISTS (SELECT 1 FROM deliveries d WHERE d.user_id = u.user_id
                          AND d.chat_id = $2 AND d.message_id = $3 AND d.delivered_at IS NOT NULL) AS received
         FROM users u
         WHERE (u.trial_ends_at > $4 OR u.paid_until > $4)
           AND EXISTS (SELECT 1 FROM user_categories c WHERE c.user_id = u.user_id AND c.slug = ANY($1))
         ORDER BY u.user_id",
    )
    .bind(categories)
    .bind(original.chat_id)
    .bind(original.message_id)
    .bind(at)
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|row| {
            let set = |name: &str| -> sqlx::Result<HashSet<String>> {
                Ok(row.try_get::<Vec<String>, _>(name)?.into_iter().collect())
            };
            let mut received = HashSet::new();
            if row.try_get::<bool, _>("received")? {
                received.insert(original.id());
            }
            Ok(Subscriber {
                user_id: row.try_get("user_id")?,
                trial_ends_at: row.try_get("trial_ends_at")?,
                paid_until: row.try_get("paid_until")?,
                categories: set("categories")?,
                reachable_bots: set("bots")?,
                hidden_authors: set("hidden")?,
                received,
            })
        })
        .collect()
}
