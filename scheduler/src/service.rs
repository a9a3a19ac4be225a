//! The scheduler service: makes the stored schedules what the settings say, runs each tick's
//! job (the `scheduler` consumer: one tick at a time across every copy), and — with the main
//! bot's token — sends what the jobs planned (the `notify` consumer, pinned to one copy).

use bus::Bus;
use bus::consume::{ConsumerSpec, consume, consumers};
use bus::schedules::Applied;
use fanout::send::SendConfig;
use sqlx::PgPool;
use teloxide::prelude::Requester;
use tokio_util::sync::CancellationToken;

use crate::config::Settings;
use crate::notify::Notifier;
use crate::runs::JobRunner;

#[derive(Clone)]
pub struct SchedulerConfig {
    pub settings: Settings,
    /// The main bot: it sends the notifications and its @username opens it from the channel.
    /// Without it, jobs still plan and the plans wait in their outboxes.
    pub main_bot: Option<teloxide::Bot>,
    /// The notification sender's pace: under Telegram's 30/s, leaving the main bot headroom.
    pub send: SendConfig,
}

impl SchedulerConfig {
    pub fn new(settings: Settings, main_bot: Option<teloxide::Bot>) -> Self {
        Self {
            settings,
            main_bot,
            send: SendConfig {
                per_bot_rate: crate::notify::DEFAULT_RATE,
                ..SendConfig::default()
            },
        }
    }
}

/// Stores the schedules the settings decide, each only when it differs from the stored one.
pub async fn apply_schedules(
    bus: &Bus,
    settings: &Settings,
) -> anyhow::Result<Vec<(schemas::Job, Applied)>> {
    let mut applied = Vec::new();
    for schedule in settings.schedules() {
        let outcome = bus.apply_schedule(&schedule).await?;
        if outcome == Applied::Stored {
            tracing::info!(job = %schedule.job, spec = %schedule.spec, zone = ?schedule.time_zone, "schedule stored");
        }
        applied.push((schedule.job, outcome));
    }
    Ok(applied)
}

pub async fn run(
    bus: Bus,
    pool: PgPool,
    config: SchedulerConfig,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    bus.ensure_streams().await?;
    apply_schedules(&bus, &config.settings).await?;
    let main_bot_username = match &config.main_bot {
        Some(bot) => Some(bot.get_me().await?.username().to_owned()),
        None => {
            tracing::warn!("no MAIN_BOT_TOKEN: notifications are planned but nobody sends them");
            None
        }
    };
    let mut tasks = tokio::task::JoinSet::new();
    let runner = JobRunner {
        bus: bus.clone(),
        pool: pool.clone(),
        settings: config.settings.clone(),
        main_bot_username,
    };
    tasks.spawn(consume(
        bus.clone(),
        ConsumerSpec::of(consumers::SCHEDULER),
        runner,
        shutdown.clone(),
    ));
    if let Some(bot) = config.main_bot {
        let spec = ConsumerSpec {
            concurrency: 32,
            priority_group: Some(fanout::service::SENDER_GROUP.to_owned()),
            ..ConsumerSpec::of(consumers::NOTIFY)
        };
        let notifier = Notifier::new(bot, bus.clone(), config.send.clone());
        tasks.spawn(consume(bus.clone(), spec, notifier, shutdown.clone()));
    }
    tracing::info!("scheduler running");
    let mut outcome = Ok(());
    while let Some(result) = tasks.join_next().await {
        if let Err(error) = result.map_err(anyhow::Error::from).and_then(|r| r) {
            shutdown.cancel();
            outcome = Err(error);
        }
    }
    outcome
}
