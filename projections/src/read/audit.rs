//! The audit log: admins' actions, newest first, from the `admin_actions` rows every projector
//! records for its stream.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

/// One admin action, as its event recorded it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Action {
    pub stream: String,
    pub seq: i64,
    pub admin_id: i64,
    pub at: DateTime<Utc>,
    pub event_type: String,
    /// The aggregate's id: a channel's key, a user's id, a report's id...
    pub aggregate: String,
    pub data: serde_json::Value,
}

/// A page of actions, newest first, of one admin or of all.
pub async fn actions(
    pool: &PgPool,
    admin_id: Option<i64>,
    limit: i64,
    offset: i64,
) -> sqlx::Result<Vec<Action>> {
    sqlx::query_as::<_, Action>(
        "SELECT stream, seq, admin_id, at, event_type, aggregate, data FROM admin_actions
         WHERE $1::bigint IS NULL OR admin_id = $1
         ORDER BY at DESC, stream, seq DESC LIMIT $2 OFFSET $3",
    )
    .bind(admin_id)
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await
}
