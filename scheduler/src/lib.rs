//! The scheduler: the jobs that run on the clock, on JetStream's own message schedules.
//!
//! * [`config`]: the settings, and the message schedules they decide.
//! * [`runs`]: a tick's run of its job, recorded as `JobRunStarted` / `JobRunFinished`; a failed
//!   run is told to the admins.
//! * [`expiry`], [`report`], [`pick`]: the jobs themselves, pure functions of read-model rows
//!   and `now` to the notifications they plan (ids that say what each is about, so planning one
//!   again is the same notification).
//! * [`chart`]: the daily report's PNG, rendered in-process with an embedded font.
//! * [`notify`]: the main bot's paced, once-only notification sender.
//! * [`status`]: each job's schedule, last run and next run, for the CLI and `/jobs`.
//! * [`service`]: [`run`], the service's entry point.

pub mod chart;
pub mod config;
pub mod expiry;
pub mod notify;
pub mod pick;
pub mod report;
pub mod runs;
pub mod service;
pub mod status;

pub use config::Settings;
pub use service::{SchedulerConfig, apply_schedules, run};
