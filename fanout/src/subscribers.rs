//! Loads the candidates for a vacancy from the read models: users who chose one of its
//! categories and whose trial or paid period is still running, with what [`audience`] needs
//! to decide. One query per vacancy, however many subscribers.
//!
//! [`audience`]: crate::audience::audience

use chrono::{DateTime, Utc};
use projections::read::users::audience_candidates;
use schemas::MessageKey;
use sqlx::PgPool;

use crate::audience::Subscriber;

pub async fn candidates(
    pool: &PgPool,
    categories: &[String],
    original: MessageKey,
    at: DateTime<Utc>,
) -> sqlx::Result<Vec<Subscriber>> {
    let rows = audience_candidates(pool, categories, original, at).await?;
    Ok(rows
        .into_iter()
        .map(|row| Subscriber {
            user_id: row.user_id,
            trial_ends_at: row.trial_ends_at,
            paid_until: row.paid_until,
            categories: row.categories.into_iter().collect(),
            reachable_bots: row.bots.into_iter().zip(row.bot_ids).collect(),
            hidden_authors: row.hidden.into_iter().collect(),
            received: if row.received {
                [original.id()].into_iter().collect()
            } else {
                Default::default()
            },
        })
        .collect())
}
