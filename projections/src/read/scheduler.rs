//! What the scheduler reads: users whose access ends near now and who were not told about that
//! end yet, the job runs, the notifications planned, and the day's best vacancies for the public
//! pick.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::users::Access;

/// A user whose access ends (or ended) near now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiringUser {
    pub user_id: i64,
    pub access: Access,
}

/// The instant a user's access ends, in SQL over `users u` (the later of the two; NULLs ignored).
const ACCESS_END: &str = "GREATEST(u.trial_ends_at, u.paid_until)";

/// Users whose access ends in `(now, now + before]` or ended in `(now - lookback, now]`, who were
/// not yet told about that end (no notice of that kind about that instant is planned).
pub async fn expiring(
    pool: &PgPool,
    now: DateTime<Utc>,
    before: chrono::Duration,
    lookback: chrono::Duration,
) -> sqlx::Result<Vec<ExpiringUser>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        user_id: i64,
        trial_ends_at: Option<DateTime<Utc>>,
        paid_until: Option<DateTime<Utc>>,
    }
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT u.user_id, u.trial_ends_at, u.paid_until FROM users u
         WHERE {ACCESS_END} > $2 AND {ACCESS_END} <= $3
           AND NOT EXISTS (
             SELECT 1 FROM notifications n
             WHERE n.person_id = u.user_id AND n.about_at = {ACCESS_END}
               AND n.topic = CASE WHEN {ACCESS_END} > $1 THEN 'expiry_warning' ELSE 'access_ended' END)
         ORDER BY u.user_id"
    ))
    .bind(now)
    .bind(now - lookback)
    .bind(now + before)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| ExpiringUser {
            user_id: row.user_id,
            access: Access {
                trial_ends_at: row.trial_ends_at,
                paid_until: row.paid_until,
            },
        })
        .collect())
}

/// One run of a job, as the job_runs read model has it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct JobRun {
    pub run_id: String,
    pub job: String,
    /// `schedule` or `manual`.
    pub trigger: String,
    pub triggered_by: Option<String>,
    pub tick_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// `succeeded`, `failed`, or `None` while running.
    pub outcome: Option<String>,
    pub counts: serde_json::Value,
    pub error: Option<String>,
}

/// The last `per_job` runs of every job, newest first within each job.
pub async fn recent_runs(pool: &PgPool, per_job: i64) -> sqlx::Result<Vec<JobRun>> {
    sqlx::query_as(
        "SELECT run_id, job, trigger, triggered_by, tick_at, finished_at, outcome, counts, error
         FROM (SELECT *, row_number() OVER (PARTITION BY job ORDER BY tick_at DESC, last_seq DESC) AS n
               FROM job_runs) r
         WHERE n <= $1 ORDER BY job, tick_at DESC",
    )
    .bind(per_job)
    .fetch_all(pool)
    .await
}

/// One planned notification and how its send went.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Notification {
    pub notification_id: String,
    pub outbox: String,
    pub topic: String,
    pub person_id: Option<i64>,
    pub about_at: Option<DateTime<Utc>>,
    pub run_id: String,
    pub planned_at: DateTime<Utc>,
    pub claimed_at: Option<DateTime<Utc>>,
    pub sent_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
}

/// Every notification, in the order planned.
pub async fn notifications(pool: &PgPool) -> sqlx::Result<Vec<Notification>> {
    sqlx::query_as(
        "SELECT notification_id, outbox, topic, person_id, about_at, run_id, planned_at, claimed_at, sent_at, error
         FROM notifications ORDER BY last_seq",
    )
    .fetch_all(pool)
    .await
}

/// A vacancy the public pick may choose, with what makes one better than another.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PickCandidate {
    pub slug: String,
    pub chat_id: i64,
    pub message_id: i64,
    pub title: Option<String>,
    pub text: String,
    pub link: Option<String>,
    pub confidence: f32,
    pub budget: Option<serde_json::Value>,
    pub has_contact: bool,
    pub posted_at: DateTime<Utc>,
}

/// The vacancies posted since `since` in each active category, ranked there by the classifier:
/// not corrected, not confirmed-reported by an admin, not deleted at the source, not a
/// duplicate, and with a link to the original.
pub async fn pick_candidates(
    pool: &PgPool,
    since: DateTime<Utc>,
) -> sqlx::Result<Vec<PickCandidate>> {
    sqlx::query_as(
        "SELECT vc.slug, v.chat_id, v.message_id, v.title, m.text, m.link, v.confidence, v.budget,
                (jsonb_array_length(m.contacts) > 0) AS has_contact, m.posted_at
         FROM vacancies v
         JOIN vacancy_categories vc USING (chat_id, message_id)
         JOIN categories c ON c.slug = vc.slug AND NOT c.retired
         JOIN messages m USING (chat_id, message_id)
         LEFT JOIN screening s USING (chat_id, message_id)
         WHERE v.kind = 'vacancy' AND NOT v.corrected AND NOT m.deleted
           AND m.posted_at >= $1 AND m.link IS NOT NULL
           AND coalesce(s.verdict, 'accepted') <> 'duplicate'
           AND NOT EXISTS (SELECT 1 FROM reports r WHERE r.chat_id = v.chat_id
                           AND r.message_id = v.message_id AND r.resolution = 'confirmed')
         ORDER BY c.ord, v.chat_id, v.message_id",
    )
    .bind(since)
    .fetch_all(pool)
    .await
}
