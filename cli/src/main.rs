//! `remotehunt`: parses arguments, builds configs and calls the libraries. No logic lives here.

mod billing;
mod bots;
mod catalog;
mod classify;
#[cfg(feature = "dev-tools")]
mod dev;
mod ops;
mod scheduler;
mod telegram;
mod web;

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(
    name = "remotehunt",
    version,
    about = "Finds freelance work in Telegram and delivers it to subscribers"
)]
struct Cli {
    /// NATS server URL (credentials may be in it).
    #[arg(
        long,
        env = "NATS_URL",
        default_value = "nats://127.0.0.1:4222",
        global = true
    )]
    nats_url: String,
    /// Postgres URL of the read-model database.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/remotehunt",
        global = true
    )]
    database_url: String,
    #[command(flatten)]
    telegram: telegram::TelegramArgs,
    #[command(flatten)]
    classifier: classify::ClassifierArgs,
    #[command(flatten)]
    bots: bots::BotArgs,
    #[command(flatten)]
    billing: billing::BillingArgs,
    #[command(flatten)]
    scheduler: scheduler::SchedulerArgs,
    #[command(flatten)]
    web: web::WebArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Every service in one process: the projectors, the classifier, fan-out, the scheduler,
    /// the bots (when their tokens are set) and the Telegram reader (when a session exists).
    All,
    /// Expiry notices, the admins' daily report and the public pick, on message schedules.
    Scheduler {
        #[command(subcommand)]
        command: scheduler::SchedulerCommand,
    },
    /// The admin web UI, and login links into it.
    Web {
        #[command(subcommand)]
        command: web::WebCommand,
    },
    /// The main bot, the category bots and the reports to admins.
    Bots {
        #[command(subcommand)]
        command: RunCommand,
    },
    /// Paid subscriptions: the YooKassa webhook and poller, admins' grants, the plans.
    Billing {
        #[command(subcommand)]
        command: billing::BillingCommand,
    },
    /// Delivering vacancies: the planner and one sender per category bot.
    Fanout {
        #[command(subcommand)]
        command: FanoutCommand,
    },
    /// Reading Telegram: the user account, live reading, imports.
    Ingest {
        #[command(subcommand)]
        command: IngestCommand,
    },
    /// Sorting accepted posts into kinds and categories: the service, training, evaluation.
    Classify {
        #[command(subcommand)]
        command: classify::ClassifyCommand,
    },
    /// The catalog of categories, channels and rules.
    Catalog {
        #[command(subcommand)]
        command: CatalogCommand,
    },
    /// Keyword rules.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Read-model projectors.
    Projections {
        #[command(subcommand)]
        command: ProjectionsCommand,
    },
    /// Streams and consumers.
    Nats {
        #[command(subcommand)]
        command: NatsCommand,
    },
    /// Creates the database if needed and applies the migrations.
    Migrate,
    /// Dead letters.
    Dlq {
        #[command(subcommand)]
        command: DlqCommand,
    },
    /// Writes the JSON Schema of every event type.
    Schemas {
        /// Folder to write into.
        #[arg(long, default_value = "schemas/json")]
        dir: PathBuf,
    },
    /// Local stand-ins of outside services for development and the demo.
    #[cfg(feature = "dev-tools")]
    Dev {
        #[command(subcommand)]
        command: dev::DevCommand,
    },
    /// Runs the pipeline on sample data and prints the read models.
    #[cfg(feature = "dev-tools")]
    Demo,
    /// Benchmarks.
    #[cfg(feature = "dev-tools")]
    Bench {
        #[command(subcommand)]
        command: dev::BenchCommand,
    },
}

#[derive(Subcommand)]
enum IngestCommand {
    /// Signs a Telegram user account in (phone, code, 2FA password) and stores its session; each
    /// account reads up to INGEST_CHANNELS_PER_ACCOUNT of the catalog's channels.
    Login {
        /// The account's name (letters, digits, `-`, `_`); without it, the single session file
        /// TELEGRAM_SESSION, read as account `main`.
        #[arg(long)]
        account: Option<String>,
        /// The account's phone number; asked for when missing.
        #[arg(long, env = "TELEGRAM_PHONE")]
        phone: Option<String>,
    },
    /// Reads the catalog's channels with every signed-in account, each the channels assigned
    /// to it: catches up on what was missed, then follows new messages, edits and deletions
    /// until stopped, sweeping each channel's history every few minutes.
    Run {
        /// At most this many of a channel's newest messages are read on catch-up.
        #[arg(long, default_value_t = 500)]
        catch_up_limit: usize,
    },
    /// Replays a Telegram Desktop chat export (result.json) through ingest, like live messages.
    Import {
        file: PathBuf,
        /// The chat's public @username (exports omit it), for post links.
        #[arg(long)]
        username: Option<String>,
    },
}

#[derive(Subcommand)]
enum CatalogCommand {
    /// Makes the catalog match a TOML file: shows the differences, warns where they undo a
    /// change made in the web UI, asks, then publishes only them.
    Apply {
        file: PathBuf,
        /// Publish without asking (for scripts).
        #[arg(long)]
        yes: bool,
    },
    /// Writes the catalog as the events say it is, as a TOML file `apply` would not change.
    Export {
        /// Where to write it (default: standard output).
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
    /// Prints the catalog as the events say it is.
    Show,
    /// Per channel: messages seen, passed the rules, duplicates, vacancies, reports.
    Yield,
}

#[derive(Subcommand)]
enum RulesCommand {
    /// Replays a channel's stored messages through candidate rules and shows what would pass.
    Test {
        /// The channel's chat id (e.g. -1001234567890).
        #[arg(long, allow_hyphen_values = true)]
        channel: i64,
        /// A TOML rule set (or a catalog file with a [rules] table).
        file: PathBuf,
        /// Examples to show of each outcome.
        #[arg(long, default_value_t = 5)]
        examples: usize,
    },
}

#[derive(Subcommand)]
enum ProjectionsCommand {
    /// Tails every stream into the read models until stopped.
    Run,
    /// Empties a projection's tables (all when no name) and applies its stream from the start.
    Rebuild { name: Option<String> },
    /// Checkpoints against stream ends.
    Status,
}

#[derive(Subcommand)]
enum NatsCommand {
    /// Creates or updates every stream and consumer of `nats/` (a second run changes nothing).
    Apply {
        /// Read definitions from this folder instead of the ones built in.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Keep every stream in this many copies (3 on a three-node cluster), scaling existing
        /// streams up or down. Without it streams get `NATS_REPLICAS` and none is scaled down.
        #[arg(long)]
        replicas: Option<usize>,
    },
    /// Streams with their message counts and consumers.
    Status,
}

#[derive(Subcommand)]
enum DlqCommand {
    /// Lists the dead letters nobody dealt with yet, with their reasons and consumers.
    List {
        /// Every dead letter, with how each was handled.
        #[arg(long)]
        all: bool,
    },
    /// Hands a dead letter back to the consumer that gave up on it, once, and marks it handled.
    Replay {
        dlq_sequence: u64,
        /// Who asks (recorded with the replay).
        #[arg(long, env = "USER", default_value = "operator")]
        operator: String,
    },
    /// Marks a dead letter handled without a replay.
    Discard {
        dlq_sequence: u64,
        /// Why it needs no replay (recorded).
        #[arg(long)]
        reason: String,
        /// Who decides (recorded).
        #[arg(long, env = "USER", default_value = "operator")]
        operator: String,
    },
}

#[derive(Subcommand)]
enum RunCommand {
    /// Runs until SIGINT/SIGTERM.
    Run,
}

#[derive(Subcommand)]
enum FanoutCommand {
    /// Runs until SIGINT/SIGTERM.
    Run {
        /// Posts older than this many hours are not delivered (0: no limit).
        #[arg(long, default_value_t = 48)]
        max_age_hours: i64,
    },
}

/// mimalloc rather than glibc's malloc: every event is decoded, re-encoded and dropped in a few
/// microseconds, and glibc spent over a tenth of the pipeline's CPU on it (bench throughput).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // Services log JSON; commands a person reads log plain text, unless LOG_FORMAT says.
    let service = matches!(
        cli.command,
        Command::All
            | Command::Bots { .. }
            | Command::Billing {
                command: billing::BillingCommand::Run
            }
            | Command::Fanout { .. }
            | Command::Web {
                command: web::WebCommand::Run
            }
            | Command::Scheduler {
                command: scheduler::SchedulerCommand::Run
            }
            | Command::Projections {
                command: ProjectionsCommand::Run
            }
            | Command::Ingest {
                command: IngestCommand::Run { .. }
            }
            | Command::Classify {
                command: classify::ClassifyCommand::Run { .. }
            }
    );
    let format = if service || std::env::var_os("LOG_FORMAT").is_some() {
        telemetry::LogFormat::from_env()
    } else {
        telemetry::LogFormat::Text
    };
    let _telemetry = match telemetry::init("remotehunt", format) {
        Ok(guard) => Some(guard),
        Err(error) => {
            eprintln!("warning: {error:#}");
            None
        }
    };
    match execute(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn execute(cli: Cli) -> anyhow::Result<()> {
    let Cli {
        nats_url,
        database_url,
        telegram,
        classifier,
        bots,
        billing,
        scheduler,
        web,
        command,
    } = cli;
    match command {
        Command::All => {
            let services = ops::Services {
                telegram: &telegram,
                classifier: &classifier,
                bots: &bots,
                billing: &billing,
                scheduler: &scheduler,
                web: &web,
            };
            ops::run_all(&nats_url, &database_url, services, shutdown_on_signal()).await
        }
        Command::Web { command } => {
            web::execute(
                &nats_url,
                &database_url,
                &web,
                &bots,
                &billing,
                command,
                shutdown_on_signal(),
            )
            .await
        }
        Command::Billing { command } => {
            billing::execute(
                &nats_url,
                &database_url,
                &billing,
                bots.main_bot()?,
                command,
            )
            .await
        }
        Command::Bots {
            command: RunCommand::Run,
        } => {
            let yookassa = billing.yookassa()?;
            bots::run_bots(
                &nats_url,
                &database_url,
                &bots,
                yookassa,
                shutdown_on_signal(),
            )
            .await
        }
        Command::Fanout {
            command: FanoutCommand::Run { max_age_hours },
        } => {
            let config = fanout::service::FanoutConfig {
                plan: fanout::plan::PlanConfig {
                    max_age: (max_age_hours > 0).then(|| chrono::Duration::hours(max_age_hours)),
                },
                send: bots.send_config(),
            };
            bots::run_fanout(
                &nats_url,
                &database_url,
                &bots,
                config,
                shutdown_on_signal(),
            )
            .await
        }
        Command::Classify { command } => classify::execute(&nats_url, &classifier, command).await,
        Command::Projections {
            command: ProjectionsCommand::Run,
        } => {
            let shutdown = shutdown_on_signal();
            ops::run_projections(&nats_url, &database_url, shutdown).await
        }
        Command::Ingest {
            command: IngestCommand::Login { account, phone },
        } => telegram::run_login(&telegram, account.as_deref(), phone).await,
        Command::Ingest {
            command: IngestCommand::Run { catch_up_limit },
        } => {
            let options = ingest::telegram::reader::ReaderOptions {
                catch_up_limit,
                ..Default::default()
            };
            telegram::run_reader(&nats_url, &telegram, options, shutdown_on_signal()).await
        }
        Command::Projections {
            command: ProjectionsCommand::Rebuild { name },
        } => ops::rebuild(&nats_url, &database_url, name.as_deref()).await,
        Command::Projections {
            command: ProjectionsCommand::Status,
        } => ops::projection_status(&nats_url, &database_url).await,
        Command::Nats {
            command: NatsCommand::Apply { dir, replicas },
        } => {
            ops::nats_apply(
                &nats_url,
                dir.as_deref(),
                replicas,
                &scheduler.settings(&bots)?,
            )
            .await
        }
        Command::Scheduler { command } => {
            scheduler::execute(
                &nats_url,
                &database_url,
                &scheduler,
                &bots,
                command,
                shutdown_on_signal(),
            )
            .await
        }
        Command::Nats {
            command: NatsCommand::Status,
        } => ops::nats_status(&nats_url).await,
        Command::Migrate => ops::migrate(&database_url).await,
        Command::Catalog {
            command: CatalogCommand::Apply { file, yes },
        } => catalog::apply(&nats_url, &file, yes).await,
        Command::Catalog {
            command: CatalogCommand::Export { out },
        } => catalog::export(&nats_url, bots.plans()?, out.as_deref()).await,
        Command::Catalog {
            command: CatalogCommand::Show,
        } => catalog::show(&nats_url).await,
        Command::Catalog {
            command: CatalogCommand::Yield,
        } => catalog::channel_yield(&database_url).await,
        Command::Rules {
            command:
                RulesCommand::Test {
                    channel,
                    file,
                    examples,
                },
        } => catalog::rules_test(&nats_url, channel, &file, examples).await,
        Command::Ingest {
            command: IngestCommand::Import { file, username },
        } => {
            let bus = ops::connect_bus(&nats_url).await?;
            let username = username.as_deref().map(|u| u.trim_start_matches('@'));
            let report = ingest::import::import_file(bus, &file, username).await?;
            println!(
                "{} messages, {} new: {} accepted, {} rejected by rules, {} duplicates; {} channel(s) added",
                report.messages,
                report.new,
                report.accepted,
                report.rejected,
                report.duplicates,
                report.channels_added
            );
            Ok(())
        }
        Command::Dlq {
            command: DlqCommand::List { all },
        } => ops::dlq_list(&nats_url, all).await,
        Command::Dlq {
            command:
                DlqCommand::Replay {
                    dlq_sequence,
                    operator,
                },
        } => ops::dlq_replay(&nats_url, dlq_sequence, &operator).await,
        Command::Dlq {
            command:
                DlqCommand::Discard {
                    dlq_sequence,
                    reason,
                    operator,
                },
        } => ops::dlq_discard(&nats_url, dlq_sequence, &operator, &reason).await,
        Command::Schemas { dir } => ops::export_schemas(&dir),
        #[cfg(feature = "dev-tools")]
        Command::Demo => devtools::demo::run(&nats_url, &database_url).await,
        #[cfg(feature = "dev-tools")]
        Command::Dev { command } => dev::dev(command).await,
        #[cfg(feature = "dev-tools")]
        Command::Bench { command } => dev::bench(command, &classifier).await,
    }
}

/// Cancelled on SIGINT or SIGTERM, so services finish in-flight work and exit.
pub(crate) fn shutdown_on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = async { match terminate.as_mut() { Some(s) => { s.recv().await; } None => std::future::pending().await } } => {}
        }
        tracing::info!("shutting down");
        cancel.cancel();
    });
    token
}
