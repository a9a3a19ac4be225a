//! The scheduler's clock and job runs. A tick (`rh.schedules.tick.<job>`) is a firing of the
//! job's JetStream message schedule — the server copies the schedule's message there — or a run
//! someone asked for (`scheduler trigger`, «Повторить»). A run is one handling of one tick; its
//! id is the job and the tick's sequence in the SCHEDULES stream, so a tick handled twice (a
//! redelivery, a second copy) is one run. Runs: `rh.jobs.<started|finished>.<job>.<tick>`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Payload;
use crate::{Aggregate, AggregateKind, EventId};

/// What the scheduler runs.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Job {
    /// Warns users whose access ends soon, and tells those whose access ended.
    ExpiryNotices,
    /// The daily report to the admins.
    AdminReport,
    /// The daily pick of vacancies in the public channel.
    PublicPick,
}

impl Job {
    pub const ALL: [Job; 3] = [Job::ExpiryNotices, Job::AdminReport, Job::PublicPick];

    /// The job's name in subjects, the CLI and buttons: `expiry-notices`, …
    pub fn as_str(self) -> &'static str {
        match self {
            Job::ExpiryNotices => "expiry-notices",
            Job::AdminReport => "admin-report",
            Job::PublicPick => "public-pick",
        }
    }

    pub fn parse(name: &str) -> Option<Job> {
        Job::ALL.into_iter().find(|job| job.as_str() == name)
    }

    /// What admins read in `/jobs`.
    pub fn title(self) -> &'static str {
        match self {
            Job::ExpiryNotices => "Уведомления об окончании подписки",
            Job::AdminReport => "Ежедневный отчёт",
            Job::PublicPick => "Подборка в канале",
        }
    }
}

impl std::fmt::Display for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who started a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum JobTrigger {
    /// The job's message schedule fired.
    Schedule,
    /// Someone asked for a run now: an admin's «Повторить» (`admin:<telegram id>`) or an
    /// operator's `scheduler trigger` (`operator:<name>`).
    Manual { who: String },
}

/// Time to run `job`. The message of a job's schedule is a tick with `trigger: schedule`; each
/// firing stores a copy of it on the tick subject. `occurred_at` of a fired copy is when the
/// schedule was set: the firing's own time is the stored message's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct JobTick {
    pub job: Job,
    pub trigger: JobTrigger,
}

impl Payload for JobTick {
    fn aggregate(&self) -> Aggregate {
        Aggregate::new(AggregateKind::Job, self.job.as_str())
    }
}

/// A run's id: `<job>:<tick sequence>`.
pub fn job_run_id(job: Job, tick: u64) -> String {
    format!("{}:{tick}", job.as_str())
}

fn job_run(run_id: &str) -> Aggregate {
    Aggregate::new(AggregateKind::JobRun, run_id)
}

/// A run began.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct JobRunStarted {
    pub run_id: String,
    pub job: Job,
    pub trigger: JobTrigger,
    /// When the tick was stored: the instant the run computes from (the same for every copy
    /// of the scheduler, whatever its own clock says).
    pub tick_at: DateTime<Utc>,
}

impl Payload for JobRunStarted {
    fn aggregate(&self) -> Aggregate {
        job_run(&self.run_id)
    }
    fn event_id(&self) -> Option<EventId> {
        Some(format!("job:{}:started", self.run_id))
    }
    fn validate(&self) -> Result<(), String> {
        validate_run_id(&self.run_id, self.job)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobOutcome {
    Succeeded,
    Failed,
}

/// A run ended: what it did (`counts`, e.g. `planned`, `already_planned`) or why it failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct JobRunFinished {
    pub run_id: String,
    pub job: Job,
    pub outcome: JobOutcome,
    pub counts: BTreeMap<String, u64>,
    pub error: Option<String>,
    pub finished_at: DateTime<Utc>,
}

impl Payload for JobRunFinished {
    fn aggregate(&self) -> Aggregate {
        job_run(&self.run_id)
    }
    fn event_id(&self) -> Option<EventId> {
        Some(format!("job:{}:finished", self.run_id))
    }
    fn validate(&self) -> Result<(), String> {
        validate_run_id(&self.run_id, self.job)
    }
}

fn validate_run_id(run_id: &str, job: Job) -> Result<(), String> {
    let tick = run_id
        .strip_prefix(job.as_str())
        .and_then(|rest| rest.strip_prefix(':'));
    match tick.map(str::parse::<u64>) {
        Some(Ok(_)) => Ok(()),
        _ => Err(format!("run id {run_id:?} is not {job}:<tick>")),
    }
}
