//! Checkpoints and read-your-writes: a bot that just published an event waits until the
//! projection has applied its sequence before it reads the read model back.

use std::time::Duration;

use sqlx::PgPool;

/// The last stream sequence a projection has applied (0: none).
pub async fn checkpoint(pool: &PgPool, projection: &str) -> sqlx::Result<u64> {
    let sequence: Option<i64> = sqlx::query_scalar(
        "SELECT last_sequence FROM projection_checkpoints WHERE projection = $1",
    )
    .bind(projection)
    .fetch_optional(pool)
    .await?;
    Ok(sequence.unwrap_or(0).max(0) as u64)
}

/// A read model had not reached an event in the time its reader waited: it is catching up
/// (after an outage, during a rebuild), so the same read later succeeds. Transient.
#[derive(Debug, thiserror::Error)]
#[error("the {projection} read model is behind (sequence {sequence})")]
pub struct Behind {
    pub projection: String,
    pub sequence: u64,
}

/// Waits until `projection` has applied stream sequence `sequence`; false on timeout.
pub async fn wait_for(
    pool: &PgPool,
    projection: &str,
    sequence: u64,
    timeout: Duration,
) -> sqlx::Result<bool> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if checkpoint(pool, projection).await? >= sequence {
            return Ok(true);
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
