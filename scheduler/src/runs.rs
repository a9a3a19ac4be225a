//! Handling a tick: one run of its job, recorded as events. A run reads the read models and
//! `now`, and publishes what the job decided — notifications with ids that say what they are
//! about, so a tick handled twice, two copies of the scheduler or a «Повторить» send nothing
//! twice. A run that fails (Postgres down, a bad row) is recorded with its error and told to the
//! admins at once; the next tick or a «Повторить» completes it. Only NATS failing to take the
//! record leaves the tick to come again.

use std::collections::BTreeMap;

use bus::{Bus, Delivery, HandlerError, consume::Handler};
use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use schemas::{
    Body, Button, ButtonAction, ChatTarget, Envelope, Event, Job, JobOutcome, JobRunFinished,
    JobRunStarted, NotificationPlanned, Outbox, Topic, job_run_id,
};
use sqlx::PgPool;

use crate::config::Settings;
use crate::{chart, expiry, pick, report};

/// What a run did, by name (`planned`, `already_planned`, …).
pub type Counts = BTreeMap<String, u64>;

pub struct JobRunner {
    pub bus: Bus,
    pub pool: PgPool,
    pub settings: Settings,
    /// The main bot's @username (without @), for the public pick's deep link.
    pub main_bot_username: Option<String>,
}

impl Handler for JobRunner {
    async fn handle(&self, envelope: Envelope, delivery: &Delivery) -> Result<(), HandlerError> {
        let Event::JobTick(tick) = &envelope.event else {
            return Ok(());
        };
        let run_id = job_run_id(tick.job, delivery.stream_sequence);
        let started = JobRunStarted {
            run_id: run_id.clone(),
            job: tick.job,
            trigger: tick.trigger.clone(),
            tick_at: delivery.stored_at,
        };
        self.bus
            .publish(&Envelope::new(started).caused_by(&envelope))
            .await?;
        let result = self.run_job(tick.job, &run_id, delivery.stored_at).await;
        let (outcome, counts, error) = match result {
            Ok(counts) => (JobOutcome::Succeeded, counts, None),
            Err(error) => {
                let error = format!("{error:#}");
                tracing::error!(job = %tick.job, %run_id, %error, "job run failed");
                (JobOutcome::Failed, Counts::new(), Some(error))
            }
        };
        if let Some(error) = &error {
            let alerts = failure_alerts(tick.job, &run_id, error, &self.settings.admins);
            self.bus.publish_batch(&alerts).await?;
        }
        let finished = JobRunFinished {
            run_id,
            job: tick.job,
            outcome,
            counts,
            error,
            finished_at: Utc::now(),
        };
        self.bus
            .publish(&Envelope::new(finished).caused_by(&envelope))
            .await?;
        Ok(())
    }
}

impl JobRunner {
    /// One run of `job` as of `tick_at`: what it planned. (A tick's handling records it around
    /// this; benchmarks call it alone.)
    pub async fn run_job(
        &self,
        job: Job,
        run_id: &str,
        tick_at: DateTime<Utc>,
    ) -> anyhow::Result<Counts> {
        match job {
            Job::ExpiryNotices => self.expiry_notices(run_id).await,
            Job::AdminReport => self.admin_report(run_id, tick_at).await,
            Job::PublicPick => self.public_pick(run_id, tick_at).await,
        }
    }

    async fn expiry_notices(&self, run_id: &str) -> anyhow::Result<Counts> {
        let now = Utc::now();
        let users = projections::read::scheduler::expiring(
            &self.pool,
            now,
            self.settings.expiry_notice_before,
            self.settings.expiry_lookback,
        )
        .await?;
        let notices = expiry::notices(&users, now, self.settings.timezone, run_id);
        planned(&self.bus, &notices).await
    }

    /// The report of the calendar day before the tick's, in the scheduler's zone.
    async fn admin_report(&self, run_id: &str, tick_at: DateTime<Utc>) -> anyhow::Result<Counts> {
        anyhow::ensure!(
            !self.settings.admins.is_empty(),
            "ADMIN_IDS is empty: nobody to report to"
        );
        let zone = self.settings.timezone;
        let today = tick_at.with_timezone(&zone).date_naive();
        let day = today - Days::new(1);
        let first = self.settings.admins[0];
        let already = Topic::AdminReport {
            admin_id: first,
            day,
            part: "chart".into(),
        };
        if self.is_planned(&already).await? {
            return Ok(Counts::from([("already_planned".into(), 1)]));
        }
        let (start, end) = day_bounds(zone, day)?;
        let figures = projections::read::report::day(&self.pool, start, end).await?;
        let unhandled_dead_letters = self.bus.unhandled_dead_letters().await?.len();
        let days: Vec<NaiveDate> = (0..14).rev().map(|back| day - Days::new(back)).collect();
        let bounds = days
            .iter()
            .map(|d| day_bounds(zone, *d))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let series = projections::read::report::chart(&self.pool, &bounds).await?;
        let png = chart::render(&report::chart_days(&days, &series))?;
        let report = report::Report {
            day,
            figures,
            unhandled_dead_letters,
        };
        let parts = report::plan(&report, &png, &self.settings.admins, run_id);
        planned(&self.bus, &parts).await
    }

    /// The pick of the tick's day: the vacancies of the 24 hours before the day's pick time, so
    /// every run on one day chooses from the same posts.
    async fn public_pick(&self, run_id: &str, tick_at: DateTime<Utc>) -> anyhow::Result<Counts> {
        let Some(channel) = &self.settings.public_channel else {
            anyhow::bail!("PUBLIC_CHANNEL is not set: nowhere to post the pick");
        };
        let Some(bot) = &self.main_bot_username else {
            anyhow::bail!("no main bot: the pick's button would open nothing");
        };
        let zone = self.settings.timezone;
        let day = tick_at.with_timezone(&zone).date_naive();
        if self.is_planned(&Topic::PublicPick { day, part: 0 }).await? {
            return Ok(Counts::from([("already_planned".into(), 1)]));
        }
        let at = zone
            .from_local_datetime(&day.and_time(self.settings.public_pick_at))
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or(tick_at);
        let until = at.max(tick_at);
        let categories = projections::read::catalog::active_categories(&self.pool).await?;
        let candidates = projections::read::scheduler::pick_candidates(
            &self.pool,
            until - chrono::Duration::hours(24),
        )
        .await?;
        let candidates: Vec<_> = candidates
            .into_iter()
            .filter(|c| c.posted_at < until)
            .collect();
        let picks = pick::choose(&categories, &candidates);
        let posts = pick::plan(day, &picks, channel, bot, run_id);
        let mut counts = planned(&self.bus, &posts).await?;
        counts.insert("categories".into(), picks.len() as u64);
        Ok(counts)
    }

    async fn is_planned(&self, topic: &Topic) -> anyhow::Result<bool> {
        let outbox = match topic {
            Topic::PublicPick { .. } => Outbox::Channel,
            _ => Outbox::Main,
        };
        let id = format!("{}:{}", outbox.as_str(), topic.notification_id());
        Ok(self.bus.has::<NotificationPlanned>(&id).await?)
    }
}

/// Publishes the plans; counts the new ones and the ones planned before.
async fn planned(bus: &Bus, plans: &[NotificationPlanned]) -> anyhow::Result<Counts> {
    let envelopes: Vec<Envelope> = plans.iter().cloned().map(Envelope::new).collect();
    let published = bus.publish_batch(&envelopes).await?;
    let again = published.iter().filter(|p| p.duplicate).count() as u64;
    Ok(Counts::from([
        ("planned".into(), published.len() as u64 - again),
        ("already_planned".into(), again),
    ]))
}

/// `[start, end)` of `day` in `zone`, in UTC.
pub fn day_bounds(
    zone: chrono_tz::Tz,
    day: NaiveDate,
) -> anyhow::Result<(DateTime<Utc>, DateTime<Utc>)> {
    let start_of = |d: NaiveDate| {
        zone.from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .ok_or_else(|| anyhow::anyhow!("{d} has no midnight in {zone}"))
    };
    Ok((start_of(day)?, start_of(day + Days::new(1))?))
}

/// A failed run's alert to each admin, with «Повторить».
fn failure_alerts(job: Job, run_id: &str, error: &str, admins: &[i64]) -> Vec<Envelope> {
    let error: String = error.chars().take(3_000).collect();
    admins
        .iter()
        .map(|&admin_id| {
            Envelope::new(NotificationPlanned {
                topic: Topic::JobFailed {
                    admin_id,
                    run_id: run_id.to_owned(),
                },
                outbox: Outbox::Main,
                chat: ChatTarget::Id(admin_id),
                body: Body::Text {
                    html: format!(
                        "❗ Задача «{}» не выполнена ({run_id}):\n<code>{}</code>",
                        job.title(),
                        report::escape(&error)
                    ),
                },
                buttons: vec![vec![Button {
                    label: "🔁 Повторить".into(),
                    action: ButtonAction::Callback(
                        schemas::callback::MenuAction::RunJob(job).encode(),
                    ),
                }]],
                run_id: run_id.to_owned(),
            })
        })
        .collect()
}
