//! Job runs: one row per run, from its start to its outcome.

use bus::Stored;
use schemas::{Event, JobOutcome, JobTrigger};
use sqlx::PgConnection;

use super::seq;

pub const TABLES: &[&str] = &["job_runs"];

pub async fn apply(tx: &mut PgConnection, batch: &[Stored]) -> sqlx::Result<()> {
    for stored in batch {
        let s = seq(stored);
        match &stored.envelope.event {
            Event::JobRunStarted(e) => {
                let (trigger, by) = match &e.trigger {
                    JobTrigger::Schedule => ("schedule", None),
                    JobTrigger::Manual { who } => ("manual", Some(who.as_str())),
                };
                sqlx::query(
                    "INSERT INTO job_runs (run_id, job, trigger, triggered_by, tick_at, last_seq)
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (run_id) DO NOTHING",
                )
                .bind(&e.run_id)
                .bind(e.job.as_str())
                .bind(trigger)
                .bind(by)
                .bind(e.tick_at)
                .bind(s)
                .execute(&mut *tx)
                .await?;
            }
            Event::JobRunFinished(e) => {
                let outcome = match e.outcome {
                    JobOutcome::Succeeded => "succeeded",
                    JobOutcome::Failed => "failed",
                };
                let counts = serde_json::to_value(&e.counts).unwrap_or_default();
                // A run whose start is not stored (it cannot be, but a replay may begin
                // mid-stream) still gets its row.
                sqlx::query(
                    "INSERT INTO job_runs (run_id, job, trigger, tick_at, finished_at, outcome, counts, error, last_seq)
                     VALUES ($1, $2, 'schedule', $3, $3, $4, $5, $6, $7)
                     ON CONFLICT (run_id) DO UPDATE SET finished_at = excluded.finished_at,
                       outcome = excluded.outcome, counts = excluded.counts, error = excluded.error,
                       last_seq = excluded.last_seq
                     WHERE job_runs.last_seq < excluded.last_seq",
                )
                .bind(&e.run_id)
                .bind(e.job.as_str())
                .bind(e.finished_at)
                .bind(outcome)
                .bind(counts)
                .bind(&e.error)
                .bind(s)
                .execute(&mut *tx)
                .await?;
            }
            _ => {}
        }
    }
    Ok(())
}
