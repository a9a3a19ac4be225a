//! Notifications: what the scheduler planned for the main bot to send, and how each send went.
//! Plans come 100,000 at a time (expiry notices), so runs of them go in as one array insert.

use bus::Stored;
use chrono::{DateTime, Utc};
use schemas::{Event, NotificationPlanned, Topic};
use sqlx::PgConnection;

use super::{last_per_key, runs, seq};

pub const TABLES: &[&str] = &["notifications"];

/// The topic's name in the read model, and the instant an expiry notice is about.
pub fn topic_columns(topic: &Topic) -> (&'static str, Option<DateTime<Utc>>) {
    match topic {
        Topic::ExpiryWarning { ends_at, .. } => ("expiry_warning", Some(*ends_at)),
        Topic::AccessEnded { ended_at, .. } => ("access_ended", Some(*ended_at)),
        Topic::AdminReport { .. } => ("admin_report", None),
        Topic::PublicPick { .. } => ("public_pick", None),
        Topic::JobFailed { .. } => ("job_failed", None),
        Topic::ReportOutcome { .. } => ("report_outcome", None),
    }
}

fn planned(stored: &Stored) -> Option<&NotificationPlanned> {
    match &stored.envelope.event {
        Event::NotificationPlanned(plan) => Some(plan),
        _ => None,
    }
}

pub async fn apply(tx: &mut PgConnection, batch: &[Stored]) -> sqlx::Result<()> {
    for (is_plans, run) in runs(batch, |s| planned(s).is_some()) {
        if is_plans {
            insert_plans(tx, run).await?;
            continue;
        }
        for stored in run {
            let s = seq(stored);
            match &stored.envelope.event {
                Event::NotificationClaimed(e) => {
                    let at = stored.envelope.occurred_at;
                    update(tx, &e.notification_id, "claimed_at = $3", at, s).await?;
                }
                Event::NotificationSent(e) => {
                    sqlx::query(
                        "UPDATE notifications SET sent_at = $2, sent_message_id = $3, last_seq = $4
                         WHERE notification_id = $1 AND last_seq < $4",
                    )
                    .bind(&e.notification_id)
                    .bind(e.sent_at)
                    .bind(e.sent_message_id)
                    .bind(s)
                    .execute(&mut *tx)
                    .await?;
                }
                Event::NotificationFailed(e) => {
                    update(tx, &e.notification_id, "error = $3", e.error.clone(), s).await?;
                }
                Event::NotificationUnconfirmed(e) => {
                    let error = format!("unconfirmed: {}", e.error);
                    update(tx, &e.notification_id, "error = $3", error, s).await?;
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// Sets one column of a notification (`set` names it as `<column> = $3`), once.
async fn update<T>(
    tx: &mut PgConnection,
    notification_id: &str,
    set: &str,
    value: T,
    last_seq: i64,
) -> sqlx::Result<()>
where
    T: for<'q> sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send,
{
    sqlx::query(&format!(
        "UPDATE notifications SET {set}, last_seq = $2 WHERE notification_id = $1 AND last_seq < $2"
    ))
    .bind(notification_id)
    .bind(last_seq)
    .bind(value)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// A run of plans as one `INSERT … SELECT FROM UNNEST`: a plan seen before changes nothing.
async fn insert_plans(tx: &mut PgConnection, run: &[Stored]) -> sqlx::Result<()> {
    let rows = last_per_key(run.iter().filter_map(|stored| {
        let plan = planned(stored)?;
        Some((plan.notification_id(), (stored, plan)))
    }));
    let mut ids = Vec::with_capacity(rows.len());
    let mut outboxes = Vec::with_capacity(rows.len());
    let mut topics = Vec::with_capacity(rows.len());
    let mut persons: Vec<Option<i64>> = Vec::with_capacity(rows.len());
    let mut abouts: Vec<Option<DateTime<Utc>>> = Vec::with_capacity(rows.len());
    let mut run_ids = Vec::with_capacity(rows.len());
    let mut planned_ats = Vec::with_capacity(rows.len());
    let mut seqs = Vec::with_capacity(rows.len());
    for (stored, plan) in rows {
        let (topic, about) = topic_columns(&plan.topic);
        ids.push(plan.notification_id());
        outboxes.push(plan.outbox.as_str());
        topics.push(topic);
        persons.push(plan.topic.person());
        abouts.push(about);
        run_ids.push(plan.run_id.as_str());
        planned_ats.push(stored.envelope.occurred_at);
        seqs.push(seq(stored));
    }
    sqlx::query(
        "INSERT INTO notifications (notification_id, outbox, topic, person_id, about_at, run_id, planned_at, last_seq)
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bigint[], $5::timestamptz[], $6::text[], $7::timestamptz[], $8::bigint[])
         ON CONFLICT (notification_id) DO NOTHING",
    )
    .bind(ids)
    .bind(outboxes)
    .bind(topics)
    .bind(persons)
    .bind(abouts)
    .bind(run_ids)
    .bind(planned_ats)
    .bind(seqs)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
