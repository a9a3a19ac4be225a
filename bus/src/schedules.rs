//! The scheduler's clock: JetStream message schedules (ADR-51) on the SCHEDULES stream. A job's
//! schedule is one message on `rh.schedules.define.<job>` — a [`JobTick`] whose
//! `Nats-Schedule` header (`@every 10m`, or a six-field cron read in `Nats-Schedule-Time-Zone`)
//! makes the server store a copy on `rh.schedules.tick.<job>` at each firing. The scheduler reads
//! the ticks with one durable consumer, so each is handled by one copy of it; a manual run is a
//! tick published by hand.

use async_nats::HeaderMap;
use async_nats::jetstream::message::PublishMessage;
use bytes::Bytes;
use schemas::{Area, Envelope, EventType, Job, JobTick, JobTrigger};

use crate::{Bus, ReadError, headers};

/// The stream that holds the schedules and their ticks.
pub const STREAM: &str = "SCHEDULES";

const SCHEDULE: &str = "Nats-Schedule";
const SCHEDULE_TIME_ZONE: &str = "Nats-Schedule-Time-Zone";
const SCHEDULE_TARGET: &str = "Nats-Schedule-Target";

/// `rh.schedules.define.<job>`: where a job's schedule is kept (one message: publishing again
/// replaces it).
pub fn definition_subject(job: Job) -> String {
    format!("rh.{}.define.{}", Area::Schedules.as_str(), job.as_str())
}

/// `rh.schedules.tick.<job>`: where a job's ticks land.
pub fn tick_subject(job: Job) -> String {
    JobTick::subject_of(job.as_str())
}

/// When a job runs: a JetStream schedule expression and, for cron, its time zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub job: Job,
    /// `@every 10m`, or a six-field cron such as `0 0 9 * * *`.
    pub spec: String,
    /// An IANA zone the cron is read in (`Europe/Moscow`); `None` is UTC.
    pub time_zone: Option<String>,
}

impl Schedule {
    fn headers(&self) -> Vec<(&'static str, String)> {
        let mut headers = vec![
            (SCHEDULE, self.spec.clone()),
            (SCHEDULE_TARGET, tick_subject(self.job)),
        ];
        if let Some(zone) = &self.time_zone {
            headers.push((SCHEDULE_TIME_ZONE, zone.clone()));
        }
        headers
    }

    fn from_headers(job: Job, headers: &HeaderMap) -> Option<Self> {
        let get = |name: &str| headers::get_ignore_case(Some(headers), name).map(str::to_owned);
        Some(Schedule {
            job,
            spec: get(SCHEDULE)?,
            time_zone: get(SCHEDULE_TIME_ZONE),
        })
    }
}

/// What was done with a schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Stored as it was: the same headers are kept, so its timer runs on.
    Unchanged,
    /// Stored anew (first time, or the settings changed).
    Stored,
}

impl Bus {
    /// The schedule stored for `job`, if any, and when it was stored (an `@every` timer counts
    /// from then).
    pub async fn schedule(
        &self,
        job: Job,
    ) -> Result<Option<(Schedule, chrono::DateTime<chrono::Utc>)>, ReadError> {
        let stored = self.direct_last(&definition_subject(job)).await?;
        Ok(stored.and_then(|message| {
            let stored_at = crate::consume::utc(message.time);
            Schedule::from_headers(job, &message.headers).map(|s| (s, stored_at))
        }))
    }

    /// Stores `schedule` unless the stored one says the same: republishing an `@every` schedule
    /// restarts its timer, so an unconditional publish at every restart could starve the ticks.
    pub async fn apply_schedule(&self, schedule: &Schedule) -> anyhow::Result<Applied> {
        if self
            .schedule(schedule.job)
            .await?
            .is_some_and(|(stored, _)| &stored == schedule)
        {
            return Ok(Applied::Unchanged);
        }
        let tick = Envelope::new(JobTick {
            job: schedule.job,
            trigger: JobTrigger::Schedule,
        });
        // No Nats-Msg-Id: the server copies the schedule's headers onto every tick, and the
        // ticks would then be dropped as duplicates of one another.
        let mut message = PublishMessage::build()
            .payload(Bytes::from(tick.to_json()))
            .header(headers::EVENT_TYPE, tick.event_type());
        for (name, value) in schedule.headers() {
            message = message.header(name, value.as_str());
        }
        self.js
            .send_publish(definition_subject(schedule.job), message)
            .await?
            .await?;
        Ok(Applied::Stored)
    }

    /// Asks for a run of `job` now, through the same path as the schedule's ticks; `who` is an
    /// admin (`admin:<id>`) or an operator (`operator:<name>`). The tick's sequence.
    pub async fn trigger(&self, job: Job, who: &str) -> anyhow::Result<u64> {
        let tick = Envelope::new(JobTick {
            job,
            trigger: JobTrigger::Manual {
                who: who.to_owned(),
            },
        });
        Ok(self.publish(&tick).await?.sequence)
    }
}
