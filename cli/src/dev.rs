//! The developers' verbs: the benchmarks and the fake Telegram for development, over
//! `devtools`. Compiled only with the `dev-tools` feature.

use std::path::PathBuf;

use clap::Subcommand;

use crate::classify::ClassifierArgs;

#[derive(Subcommand)]
pub enum DevCommand {
    /// A fake Telegram Bot API (long polling, Telegram's errors and limits) with control
    /// routes under /control to play users; point TELEGRAM_API_URL at it.
    Telegram {
        #[arg(long, default_value = "127.0.0.1:8090")]
        listen: String,
        /// Names a bot: TOKEN=username (any `<id>:<secret>` token works unnamed too).
        #[arg(long = "bot")]
        bots: Vec<String>,
    },
}

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Expiry notices at scale: planning for many users, the scheduler SIGKILLed mid-plan, the
    /// main bot's sender against the fake Bot API, the sender SIGKILLed mid-send.
    Scheduler {
        /// Users whose access ends inside the warning window.
        #[arg(long, default_value_t = 100_000)]
        users: usize,
        /// Notices the sender's rate is measured over.
        #[arg(long, default_value_t = 10_000)]
        sends: usize,
        /// The sender's configured rate (messages per second).
        #[arg(long, default_value_t = 20.0)]
        rate: f64,
    },
    /// The admin web UI and the content API over read models of production size, loaded as
    /// events through the projectors: dashboard, vacancy lists and API p50/p95.
    Web {
        #[arg(long, default_value_t = 100_000)]
        users: i64,
        #[arg(long, default_value_t = 1_000_000)]
        vacancies: i64,
        /// Timed requests per page.
        #[arg(long, default_value_t = 200)]
        requests: usize,
    },
    /// The main bot's replies when many users send /start at the same instant, against the
    /// fake Bot API with Telegram's limits: reply p50/p95/last and 429s per round.
    Bots {
        /// Users per round, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "20,100")]
        rounds: Vec<usize>,
    },
    /// One vacancy to many subscribers over many bots against the fake Bot API with
    /// Telegram's limits, the fan-out process SIGKILLed midway and restarted.
    /// `--bots 1 --tokens 4`: one category of 10,000 subscribers over four bots.
    Fanout {
        #[arg(long, default_value_t = 10_000)]
        subscribers: usize,
        /// Categories, the subscribers spread evenly over them.
        #[arg(long, default_value_t = 12)]
        bots: usize,
        /// Bots per category, each category's subscribers spread over them as the main bot
        /// spreads newcomers.
        #[arg(long, default_value_t = 1)]
        tokens: usize,
        /// Send with `allow_paid_broadcast` (the fake allows 1,000 a second for it).
        #[arg(long)]
        paid_broadcast: bool,
        /// Share of the sends after which fan-out is killed (0: never).
        #[arg(long, default_value_t = 0.5)]
        kill_at: f64,
    },
    /// Real posts entering ingest at a steady rate, through rules, the local classifier and
    /// fan-out, to sendMessage at the fake Bot API: latency p50/p95.
    Latency {
        /// JSON lines with a `text` field.
        #[arg(long, default_value = "../shared/corpus/pool.jsonl")]
        corpus: PathBuf,
        /// Posts per second entering ingest.
        #[arg(long, default_value_t = 20.0)]
        rate: f64,
        #[arg(long, default_value_t = 30)]
        seconds: u64,
        /// Subscribers per category (each on that category's bot).
        #[arg(long, default_value_t = 3)]
        per_category: usize,
        /// Keep Telegram's one-message-a-second per chat (then a busy category's subscribers
        /// queue: the limit, not the pipeline, sets the pace).
        #[arg(long)]
        chat_limit: bool,
    },
    /// Posts a second from ingest through the rules, dedup, the local classifier and the
    /// planner, sustained, next to the bus's raw publish ceiling, and where the CPU goes.
    Throughput {
        /// JSON lines with a `text` field.
        #[arg(long, default_value = "../shared/corpus/pool.jsonl")]
        corpus: PathBuf,
        #[arg(long, default_value_t = 60)]
        seconds: u64,
    },
    /// The chaos suite: `remotehunt all` under one fault per scenario (kills of itself, of
    /// nats-server, of a cluster node, of Postgres; the Bot API's 429s, 5xx and timeouts, a
    /// blocked user; the LLM failing; two copies at once), each against a fault-free run of the
    /// same posts and subscribers. Fails unless nothing is lost, duplicated or extra.
    Chaos {
        /// JSON lines with a `text` field.
        #[arg(long, default_value = "../shared/corpus/pool.jsonl")]
        corpus: PathBuf,
        #[arg(long, default_value_t = 120)]
        posts: usize,
        #[arg(long, default_value_t = 60)]
        subscribers: usize,
        /// Posts per second entering ingest.
        #[arg(long, default_value_t = 10.0)]
        rate: f64,
        /// Only these scenarios (comma-separated): kill-all, kill-nats, kill-node,
        /// kill-postgres, bot-429, bot-5xx, bot-timeouts, bot-403, llm-faults, two-copies.
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
    },
    /// Bus publish and projection rebuild against the raw ceilings (starts its own nats-server
    /// and a scratch database).
    Backbone {
        /// Events published in the publish benchmarks.
        #[arg(long, default_value_t = 200_000)]
        publish_events: usize,
        /// Events the rebuild is measured on.
        #[arg(long, default_value_t = 1_000_000)]
        rebuild_events: usize,
    },
    /// Importing a Telegram Desktop export end to end into the streams (own nats-server).
    Import {
        /// Messages in the generated export (texts cycle through the corpus).
        #[arg(long, default_value_t = 100_000)]
        messages: usize,
        #[arg(long, default_value = "../shared/corpus/pool.jsonl")]
        corpus: PathBuf,
    },
    /// The local classifier over real posts on one core: posts/s and the LLM share.
    Classify {
        /// JSON lines with a `text` field.
        #[arg(long, default_value = "../shared/corpus/pool.jsonl")]
        corpus: PathBuf,
        #[arg(long, default_value_t = 3)]
        passes: usize,
    },
    /// Keyword rules + cross-post dedup on one core, over the real posts of a corpus file.
    Ingest {
        /// JSON lines with a `text` field (and `chat_id`, `message_id`, `date` when known).
        #[arg(long, default_value = "../shared/corpus/pool.jsonl")]
        corpus: PathBuf,
        /// The catalog whose global rules are applied.
        #[arg(long, default_value = "catalog.toml")]
        catalog: PathBuf,
        /// Passes over the corpus (later passes are all duplicates, as daily reposts are).
        #[arg(long, default_value_t = 3)]
        passes: usize,
    },
}

pub async fn dev(command: DevCommand) -> anyhow::Result<()> {
    match command {
        DevCommand::Telegram { listen, bots } => {
            devtools::fake_telegram(&listen, &bots, crate::shutdown_on_signal()).await
        }
    }
}

pub async fn bench(command: BenchCommand, classifier: &ClassifierArgs) -> anyhow::Result<()> {
    match command {
        BenchCommand::Backbone {
            publish_events,
            rebuild_events,
        } => devtools::bench::backbone(publish_events, rebuild_events).await,
        BenchCommand::Throughput { corpus, seconds } => {
            devtools::bench_throughput::throughput(&corpus, seconds).await
        }
        BenchCommand::Chaos {
            corpus,
            posts,
            subscribers,
            rate,
            only,
        } => {
            devtools::chaos::chaos(devtools::chaos::ChaosConfig {
                corpus,
                posts,
                subscribers,
                posts_per_second: rate,
                only,
            })
            .await
        }
        BenchCommand::Fanout {
            subscribers,
            bots,
            tokens,
            paid_broadcast,
            kill_at,
        } => {
            let shape = devtools::bench_delivery::FanoutShape {
                subscribers,
                categories: bots,
                tokens_per_category: tokens,
                paid_broadcast,
            };
            devtools::bench_delivery::fanout(shape, kill_at).await
        }
        BenchCommand::Bots { rounds } => devtools::bench_bots::bots(&rounds).await,
        BenchCommand::Web {
            users,
            vacancies,
            requests,
        } => devtools::bench_web::web(users, vacancies, requests).await,
        BenchCommand::Scheduler { users, sends, rate } => {
            devtools::bench_scheduler::scheduler(users, sends, rate).await
        }
        BenchCommand::Latency {
            corpus,
            rate,
            seconds,
            per_category,
            chat_limit,
        } => {
            devtools::bench_delivery::latency(&corpus, rate, seconds, per_category, chat_limit)
                .await
        }
        BenchCommand::Import { messages, corpus } => {
            devtools::bench::import(messages, &corpus).await
        }
        BenchCommand::Classify { corpus, passes } => devtools::bench::classify(
            &corpus,
            &classifier.local()?,
            &classifier.thresholds(),
            passes,
        ),
        BenchCommand::Ingest {
            corpus,
            catalog,
            passes,
        } => devtools::bench::ingest(&corpus, &catalog, passes),
    }
}
