//! `remotehunt scheduler`: the service, each job's status, and a run now. The settings here
//! decide the message schedules (`nats apply` stores them too).

use clap::{Args, Subcommand, ValueEnum};
use tokio_util::sync::CancellationToken;

use crate::bots::BotArgs;
use crate::ops::{connect_bus, connect_database};

#[derive(Args, Clone)]
pub struct SchedulerArgs {
    /// The zone the daily jobs run in and notices show times in.
    #[arg(
        long,
        env = "SCHEDULER_TIMEZONE",
        default_value = "Europe/Moscow",
        global = true
    )]
    scheduler_timezone: String,
    /// The admins' daily report, time of day (HH:MM).
    #[arg(long, env = "ADMIN_REPORT_AT", default_value = "09:00", global = true)]
    admin_report_at: String,
    /// The public channel's daily pick, time of day (HH:MM).
    #[arg(long, env = "PUBLIC_PICK_AT", default_value = "12:00", global = true)]
    public_pick_at: String,
    /// Warn this long before access ends (`24h`, `90m`).
    #[arg(
        long,
        env = "EXPIRY_NOTICE_BEFORE",
        default_value = "24h",
        global = true
    )]
    expiry_notice_before: String,
    /// How often expiry notices are planned (`10m`).
    #[arg(
        long,
        env = "EXPIRY_NOTICES_EVERY",
        default_value = "10m",
        global = true
    )]
    expiry_notices_every: String,
    /// Where the daily pick goes: a channel id or `@username` where the main bot is an admin.
    #[arg(long, env = "PUBLIC_CHANNEL", global = true)]
    public_channel: Option<String>,
    /// Notifications per second the main bot sends (Telegram allows about 30 in all).
    #[arg(long, env = "NOTIFY_RATE", default_value_t = scheduler::notify::DEFAULT_RATE, global = true)]
    notify_rate: f64,
}

#[derive(Subcommand)]
pub enum SchedulerCommand {
    /// Runs the jobs on their schedules and sends what they plan through the main bot.
    Run,
    /// Each job: its schedule, its last run and outcome, its next run.
    Status,
    /// Runs a job now, through the same path as its schedule.
    Trigger {
        job: JobArg,
        /// Who asks, for the run's record.
        #[arg(long, env = "USER", default_value = "operator")]
        operator: String,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum JobArg {
    ExpiryNotices,
    AdminReport,
    PublicPick,
}

impl From<JobArg> for schemas::Job {
    fn from(job: JobArg) -> Self {
        match job {
            JobArg::ExpiryNotices => schemas::Job::ExpiryNotices,
            JobArg::AdminReport => schemas::Job::AdminReport,
            JobArg::PublicPick => schemas::Job::PublicPick,
        }
    }
}

impl SchedulerArgs {
    pub fn settings(&self, bots: &BotArgs) -> anyhow::Result<scheduler::Settings> {
        let fail = |what: &str, error: String| anyhow::anyhow!("{what}: {error}");
        let timezone = self.scheduler_timezone.parse().map_err(|_| {
            anyhow::anyhow!(
                "SCHEDULER_TIMEZONE {:?} is not an IANA zone",
                self.scheduler_timezone
            )
        })?;
        let every = scheduler::config::parse_duration(&self.expiry_notices_every)
            .map_err(|e| fail("EXPIRY_NOTICES_EVERY", e))?;
        Ok(scheduler::Settings {
            timezone,
            expiry_every: every
                .to_std()
                .map_err(|_| anyhow::anyhow!("EXPIRY_NOTICES_EVERY must be positive"))?,
            expiry_notice_before: scheduler::config::parse_duration(&self.expiry_notice_before)
                .map_err(|e| fail("EXPIRY_NOTICE_BEFORE", e))?,
            admin_report_at: scheduler::config::parse_time_of_day(&self.admin_report_at)
                .map_err(|e| fail("ADMIN_REPORT_AT", e))?,
            public_pick_at: scheduler::config::parse_time_of_day(&self.public_pick_at)
                .map_err(|e| fail("PUBLIC_PICK_AT", e))?,
            admins: bots.admins()?,
            public_channel: self
                .public_channel
                .as_deref()
                .map(scheduler::config::parse_chat)
                .transpose()
                .map_err(|e| fail("PUBLIC_CHANNEL", e))?,
            ..scheduler::Settings::default()
        })
    }

    pub fn config(&self, bots: &BotArgs) -> anyhow::Result<scheduler::SchedulerConfig> {
        let mut config = scheduler::SchedulerConfig::new(self.settings(bots)?, bots.main_bot()?);
        config.send.per_bot_rate = self.notify_rate;
        Ok(config)
    }
}

pub async fn run(
    nats_url: &str,
    database_url: &str,
    config: scheduler::SchedulerConfig,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let bus = connect_bus(nats_url).await?;
    let pool = connect_database(database_url).await?;
    scheduler::run(bus, pool, config, shutdown).await
}

pub async fn execute(
    nats_url: &str,
    database_url: &str,
    args: &SchedulerArgs,
    bots: &BotArgs,
    command: SchedulerCommand,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    match command {
        SchedulerCommand::Run => run(nats_url, database_url, args.config(bots)?, shutdown).await,
        SchedulerCommand::Status => {
            let bus = connect_bus(nats_url).await?;
            let pool = connect_database(database_url).await?;
            let zone = args.settings(bots)?.timezone;
            print!(
                "{}",
                status_table(&scheduler::status::jobs(&bus, &pool).await?, zone)
            );
            println!("\nRECENT RUNS (newest first, five per job)");
            for run in projections::read::scheduler::recent_runs(&pool, 5).await? {
                println!(
                    "{:<24} {} {:<8} {:<24} {}",
                    run.run_id,
                    run.tick_at.with_timezone(&zone).format("%Y-%m-%d %H:%M:%S"),
                    run.trigger,
                    run.triggered_by.as_deref().unwrap_or("-"),
                    outcome(&run)
                );
            }
            Ok(())
        }
        SchedulerCommand::Trigger { job, operator } => {
            let bus = connect_bus(nats_url).await?;
            let job = schemas::Job::from(job);
            let tick = bus.trigger(job, &format!("operator:{operator}")).await?;
            println!(
                "{job}: run {} asked for; `remotehunt scheduler status` shows how it went",
                schemas::job_run_id(job, tick)
            );
            Ok(())
        }
    }
}

/// A run's outcome in a line: its counts, or its error.
fn outcome(run: &projections::read::scheduler::JobRun) -> String {
    match (run.outcome.as_deref(), &run.error) {
        (Some("failed"), Some(error)) => format!("failed: {error}"),
        (Some(outcome), _) => format!("{outcome} {}", run.counts),
        (None, _) => "running".to_owned(),
    }
}

fn status_table(jobs: &[scheduler::status::JobStatus], zone: chrono_tz::Tz) -> String {
    let time = |t: chrono::DateTime<chrono::Utc>| {
        t.with_timezone(&zone)
            .format("%Y-%m-%d %H:%M:%S %Z")
            .to_string()
    };
    let mut out = format!(
        "{:<16} {:<32} {:<28} {:<10} {}\n",
        "JOB", "SCHEDULE", "LAST RUN", "OUTCOME", "NEXT RUN"
    );
    for status in jobs {
        let (last, outcome) = match &status.last_run {
            Some(run) => (
                format!("{} ({})", time(run.tick_at), run.trigger),
                outcome(run),
            ),
            None => ("never".to_owned(), "-".to_owned()),
        };
        out.push_str(&format!(
            "{:<16} {:<32} {:<28} {:<10} {}\n",
            status.job.as_str(),
            status.schedule.as_deref().unwrap_or("none"),
            last,
            outcome,
            status.next_run.map_or_else(|| "-".to_owned(), time)
        ));
    }
    out
}
