//! Operators' verbs: the same things the `nats` CLI and psql would do, with our definitions.

use std::path::Path;

use anyhow::Context;
use bus::Bus;
use bus::definitions::{Change, Definitions};
use futures::StreamExt;
use projections::Projection;
use tokio_util::sync::CancellationToken;

/// Connects to NATS (`nats_url` may list a cluster's servers, comma-separated). Streams a
/// service creates get `NATS_REPLICAS` copies (default 1; 3 on a three-node cluster).
pub async fn connect_bus(nats_url: &str) -> anyhow::Result<Bus> {
    let replicas = match std::env::var("NATS_REPLICAS") {
        Ok(value) => value
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=5).contains(n))
            .with_context(|| format!("NATS_REPLICAS={value:?} is not a count from 1 to 5"))?,
        Err(_) => 1,
    };
    Ok(Bus::connect(nats_url).await?.with_replicas(replicas))
}

pub async fn connect_database(database_url: &str) -> anyhow::Result<sqlx::PgPool> {
    projections::open(database_url).await
}

pub async fn run_projections(
    nats_url: &str,
    database_url: &str,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let bus = connect_bus(nats_url).await?;
    bus.ensure_streams().await?;
    let pool = connect_database(database_url).await?;
    tracing::info!("projectors running");
    projections::run(bus, pool, projections::Config::new(database_url), shutdown).await
}

/// `remotehunt all`: every service as a task of one process. When one fails, the others are
/// stopped and the error is returned (a supervisor restarts the process).
/// The configuration of every service `remotehunt all` runs.
pub struct Services<'a> {
    pub telegram: &'a crate::telegram::TelegramArgs,
    pub classifier: &'a crate::classify::ClassifierArgs,
    pub bots: &'a crate::bots::BotArgs,
    pub billing: &'a crate::billing::BillingArgs,
    pub scheduler: &'a crate::scheduler::SchedulerArgs,
    pub web: &'a crate::web::WebArgs,
}

pub async fn run_all(
    nats_url: &str,
    database_url: &str,
    services_config: Services<'_>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let Services {
        telegram,
        classifier,
        bots,
        billing,
        scheduler,
        web,
    } = services_config;
    let mut services = tokio::task::JoinSet::new();
    let stop = shutdown.child_token();
    {
        let (nats_url, database_url, stop) =
            (nats_url.to_owned(), database_url.to_owned(), stop.clone());
        services.spawn(async move {
            (
                "projections",
                run_projections(&nats_url, &database_url, stop).await,
            )
        });
    }
    {
        let (nats_url, classifier, stop) = (nats_url.to_owned(), classifier.clone(), stop.clone());
        services.spawn(async move {
            let config = classify::service::ServiceConfig::default();
            (
                "classifier",
                crate::classify::run(&nats_url, &classifier, config, stop).await,
            )
        });
    }
    if bots.any_bot() {
        let (nats_url, database_url, stop) =
            (nats_url.to_owned(), database_url.to_owned(), stop.clone());
        let (args, yookassa) = (bots.clone(), billing.yookassa()?);
        services.spawn(async move {
            let result =
                crate::bots::run_bots(&nats_url, &database_url, &args, yookassa, stop).await;
            ("bots", result)
        });
    } else {
        tracing::info!("bots off: set MAIN_BOT_TOKEN and CATEGORY_BOT_TOKENS");
    }
    {
        let (nats_url, database_url, stop) =
            (nats_url.to_owned(), database_url.to_owned(), stop.clone());
        let args = bots.clone();
        services.spawn(async move {
            let config = fanout::service::FanoutConfig {
                send: args.send_config(),
                ..Default::default()
            };
            let result =
                crate::bots::run_fanout(&nats_url, &database_url, &args, config, stop).await;
            ("fan-out", result)
        });
    }
    {
        let (nats_url, database_url, stop) =
            (nats_url.to_owned(), database_url.to_owned(), stop.clone());
        let config = scheduler.config(bots)?;
        services.spawn(async move {
            let result = crate::scheduler::run(&nats_url, &database_url, config, stop).await;
            ("scheduler", result)
        });
    }
    if billing.yookassa()?.is_some() {
        let (nats_url, database_url, stop) =
            (nats_url.to_owned(), database_url.to_owned(), stop.clone());
        let (args, bot) = (billing.clone(), bots.main_bot()?);
        services.spawn(async move {
            let result = crate::billing::run(&nats_url, &database_url, &args, bot, stop).await;
            ("billing", result)
        });
    } else {
        tracing::info!("billing off: set YOOKASSA_SHOP_ID and YOOKASSA_SECRET_KEY");
    }
    if web.web_listen.is_some() {
        let (nats_url, database_url, stop) =
            (nats_url.to_owned(), database_url.to_owned(), stop.clone());
        let (args, bots, yookassa) = (web.clone(), bots.clone(), billing.yookassa()?);
        services.spawn(async move {
            let result =
                crate::web::run(&nats_url, &database_url, &args, &bots, yookassa, stop).await;
            ("web UI", result)
        });
    } else {
        tracing::info!("web UI off: set WEB_LISTEN");
    }
    if telegram.configured() {
        let (nats_url, telegram, stop) = (nats_url.to_owned(), telegram.clone(), stop.clone());
        services.spawn(async move {
            let options = ingest::telegram::reader::ReaderOptions::default();
            (
                "telegram reader",
                crate::telegram::run_reader(&nats_url, &telegram, options, stop).await,
            )
        });
    } else {
        tracing::info!(
            "Telegram reader off: set TELEGRAM_API_ID/TELEGRAM_API_HASH and run `remotehunt ingest login --account NAME`"
        );
    }
    let mut outcome = Ok(());
    while let Some(joined) = services.join_next().await {
        let (name, result) = joined?;
        if let Err(error) = result {
            tracing::error!(service = name, error = %format!("{error:#}"), "service failed; stopping the others");
            stop.cancel();
            if outcome.is_ok() {
                outcome = Err(error.context(format!("{name} failed")));
            }
        }
    }
    outcome
}

pub async fn rebuild(nats_url: &str, database_url: &str, name: Option<&str>) -> anyhow::Result<()> {
    let targets = match name {
        None => Projection::ALL.to_vec(),
        Some(name) => vec![Projection::from_name(name).with_context(|| {
            let names: Vec<_> = Projection::ALL.iter().map(|p| p.name()).collect();
            format!("no projection {name:?}; known: {}", names.join(", "))
        })?],
    };
    let bus = connect_bus(nats_url).await?;
    let pool = connect_database(database_url).await?;
    let config = projections::Config::new(database_url);
    for projection in targets {
        let started = std::time::Instant::now();
        let applied = projections::rebuild(&bus, &pool, projection, &config).await?;
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "rebuilt {:<16} {applied:>9} events in {seconds:.2}s ({:.0} events/s)",
            projection.name(),
            applied as f64 / seconds.max(1e-9)
        );
    }
    Ok(())
}

pub async fn projection_status(nats_url: &str, database_url: &str) -> anyhow::Result<()> {
    let bus = connect_bus(nats_url).await?;
    let pool = connect_database(database_url).await?;
    println!(
        "{:<16} {:<16} {:>12} {:>12}",
        "projection", "stream", "applied", "stream end"
    );
    for projection in Projection::ALL {
        let applied = projections::checkpoint(&pool, projection.name()).await?;
        let end = bus.last_sequence(projection.stream()).await.unwrap_or(0);
        println!(
            "{:<16} {:<16} {applied:>12} {end:>12}",
            projection.name(),
            projection.stream()
        );
    }
    Ok(())
}

/// Applies the streams and consumers, then the message schedules the scheduler's settings
/// decide (each stored only when it differs: storing one again restarts its timer).
pub async fn nats_apply(
    nats_url: &str,
    dir: Option<&Path>,
    replicas: Option<usize>,
    schedules: &scheduler::Settings,
) -> anyhow::Result<()> {
    let definitions = match dir {
        Some(dir) => Definitions::load(dir)?,
        None => Definitions::embedded(),
    };
    let bus = connect_bus(nats_url).await?;
    let report = match replicas {
        Some(replicas) => bus.apply(&definitions.with_replicas(replicas)).await?,
        None => {
            bus.apply_without_scaling_down(&definitions.with_replicas(bus.replicas()))
                .await?
        }
    };
    for (item, change) in &report.items {
        let word = match change {
            Change::Created => "created",
            Change::Updated => "updated",
            Change::Unchanged => "unchanged",
        };
        println!("{word:<10} {item}");
    }
    println!(
        "{} changed, {} unchanged",
        report.changed(),
        report.items.len() - report.changed()
    );
    for (job, applied) in scheduler::apply_schedules(&bus, schedules).await? {
        let word = match applied {
            bus::schedules::Applied::Stored => "stored",
            bus::schedules::Applied::Unchanged => "unchanged",
        };
        println!("{word:<10} schedule {job}");
    }
    Ok(())
}

pub async fn nats_status(nats_url: &str) -> anyhow::Result<()> {
    let bus = connect_bus(nats_url).await?;
    println!("nats-server {}", bus.server_version());
    for definition in Definitions::embedded().streams {
        match bus.jetstream().get_stream(&definition.name).await {
            Ok(mut stream) => {
                let info = stream.info().await?;
                let placement = match &info.cluster {
                    Some(cluster) => format!(
                        "  R{} leader {}",
                        info.config.num_replicas,
                        cluster.leader.as_deref().unwrap_or("none")
                    ),
                    None => format!("  R{}", info.config.num_replicas),
                };
                println!(
                    "{:<16} {:>10} messages {:>12} bytes  last seq {}{placement}",
                    definition.name,
                    info.state.messages,
                    info.state.bytes,
                    info.state.last_sequence
                );
                let mut consumers = stream.consumers();
                while let Some(consumer) = consumers.next().await {
                    let consumer = consumer?;
                    println!(
                        "  consumer {:<24} {:>8} pending {:>6} ack-pending {:>4} redelivered  waiting pulls {}",
                        consumer.name,
                        consumer.num_pending,
                        consumer.num_ack_pending,
                        consumer.num_redelivered,
                        consumer.num_waiting
                    );
                }
            }
            Err(_) => println!(
                "{:<16} missing (run `remotehunt nats apply`)",
                definition.name
            ),
        }
    }
    Ok(())
}

pub async fn migrate(database_url: &str) -> anyhow::Result<()> {
    let created = projections::create_database_if_missing(database_url).await?;
    let pool = projections::connect(database_url).await?;
    projections::migrate(&pool).await?;
    println!(
        "{} and migrated",
        if created {
            "database created"
        } else {
            "database exists"
        }
    );
    Ok(())
}

pub async fn dlq_list(nats_url: &str, all: bool) -> anyhow::Result<()> {
    let bus = connect_bus(nats_url).await?;
    let letters = if all {
        bus.dead_letters().await?
    } else {
        bus.unhandled_dead_letters().await?
    };
    if letters.is_empty() {
        println!(
            "{}",
            if all {
                "no dead letters"
            } else {
                "no dead letters waiting (--all lists the handled ones)"
            }
        );
    }
    for letter in letters {
        println!(
            "#{:<6} {} seq {} {} event {}\n        reason: {}",
            letter.dlq_sequence,
            consumer_of(&letter),
            letter.sequence,
            letter.subject,
            letter.event_id.as_deref().unwrap_or("-"),
            letter.reason
        );
        if let Some(handled) = &letter.handled {
            println!("        {}", handled_text(handled));
        }
    }
    Ok(())
}

/// The consumer as an operator finds it: a durable consumer, a projector or a bot.
fn consumer_of(letter: &bus::DeadLetter) -> String {
    if letter.stream == bus::dead_letter::UPDATES_SOURCE {
        return format!(
            "bot {} (Telegram update {})",
            letter.consumer, letter.sequence
        );
    }
    match letter.consumer.strip_prefix("projection-") {
        Some(projection) => format!("{}/projector {projection}", letter.stream),
        None => format!("{}/{}", letter.stream, letter.consumer),
    }
}

fn handled_text(handled: &bus::dead_letter::Handled) -> String {
    let action = match handled.action {
        bus::dead_letter::Action::Replayed => "replayed",
        bus::dead_letter::Action::Discarded => "discarded",
    };
    let reason = handled
        .reason
        .as_deref()
        .map(|r| format!(": {r}"))
        .unwrap_or_default();
    format!(
        "{action} by {} at {}{reason}",
        handled.operator,
        handled.at.format("%Y-%m-%d %H:%M:%S UTC")
    )
}

pub async fn dlq_replay(nats_url: &str, dlq_sequence: u64, operator: &str) -> anyhow::Result<()> {
    let bus = connect_bus(nats_url).await?;
    match bus.replay_dead_letter(dlq_sequence, operator).await? {
        bus::dead_letter::Outcome::Done(_) => println!(
            "dead letter #{dlq_sequence} handed back to its consumer, which handles it once more"
        ),
        bus::dead_letter::Outcome::AlreadyHandled(handled) => println!(
            "dead letter #{dlq_sequence} was handled before: {}",
            handled_text(&handled)
        ),
        bus::dead_letter::Outcome::Refused(why) => anyhow::bail!(why),
    }
    Ok(())
}

pub async fn dlq_discard(
    nats_url: &str,
    dlq_sequence: u64,
    operator: &str,
    reason: &str,
) -> anyhow::Result<()> {
    let bus = connect_bus(nats_url).await?;
    match bus
        .discard_dead_letter(dlq_sequence, operator, reason)
        .await?
    {
        bus::dead_letter::Outcome::Done(_) => {
            println!("dead letter #{dlq_sequence} marked handled without a replay")
        }
        bus::dead_letter::Outcome::AlreadyHandled(handled) => println!(
            "dead letter #{dlq_sequence} was handled before: {}",
            handled_text(&handled)
        ),
        bus::dead_letter::Outcome::Refused(why) => anyhow::bail!(why),
    }
    Ok(())
}

pub fn export_schemas(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let schemas = schemas::event_schemas();
    for schema in &schemas {
        std::fs::write(dir.join(schema.file_name()), schema.to_pretty_json())?;
    }
    println!("wrote {} schemas to {}", schemas.len(), dir.display());
    Ok(())
}
