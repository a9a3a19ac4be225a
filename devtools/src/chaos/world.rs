//! One run of the system for the chaos suite: its own nats-server (or three-node cluster) and
//! database (or Postgres server), the fake Bot API (and LLM), the subscribers signed up, then
//! `remotehunt all` as child processes while real posts enter ingest at a steady pace. What it
//! delivered is read back from the fake and the DELIVERIES stream.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bus::Bus;
use schemas::{Event, MessageKey};
use testkit::{FakeOpenAi, FakeTelegram, NatsCluster, NatsServer, PostgresServer};

/// The channel the posts come from; each card links `https://t.me/chaos_jobs/<id>`.
const CHANNEL: (i64, &str) = (-1_001_999_000_000, "chaos_jobs");
const MAIN_BOT: (&str, &str) = ("9900:chaos-main", "rh_chaos_main_bot");
/// Users who only talk to the main bot (`/start`): what two pollers would answer twice.
pub(super) const PLAYERS: i64 = 5;
const FIRST_PLAYER: i64 = 90_000_001;
/// How long a run may take to drain after its last post.
const SETTLE_LIMIT: Duration = Duration::from_secs(240);
/// Sends unchanged this long, and every consumer drained: the run is over.
const QUIET: Duration = Duration::from_secs(4);

/// What every run shares: the posts and the subscribers.
pub(super) struct Setup {
    pub texts: Vec<String>,
    pub subscribers: usize,
    pub posts_per_second: f64,
}

/// What a run is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Kind {
    pub llm: bool,
    pub own_postgres: bool,
    pub cluster: bool,
    pub copies: usize,
}

pub(super) enum Nats {
    Single(NatsServer),
    Cluster(NatsCluster),
}

pub(super) struct World {
    pub nats: Nats,
    pub postgres: Option<PostgresServer>,
    pub bus: Bus,
    pub fake: FakeTelegram,
    pub llm: Option<FakeOpenAi>,
    pub children: Vec<Child>,
    pub categories: Vec<String>,
    database: testkit::TestDatabase,
    nats_url: String,
    kind: Kind,
    /// The children's logs: kept for a failed run, removed by the caller otherwise.
    logs: PathBuf,
    spawned: usize,
    ingest: tokio::task::JoinHandle<anyhow::Result<()>>,
    started: Instant,
}

/// What a run delivered.
#[derive(Debug, Default)]
pub(super) struct Outcome {
    /// (bot, chat, post) → copies the fake accepted.
    pub sent: BTreeMap<(String, i64, i64), usize>,
    /// Claimed but never recorded as delivered: a send in flight at a kill, or unconfirmed.
    pub claimed_unsent: BTreeSet<(String, i64, i64)>,
    /// Refused by Telegram (a user who blocked the bot).
    pub refused: BTreeSet<(String, i64, i64)>,
    /// Main-bot messages to each player.
    pub main_bot: BTreeMap<i64, usize>,
    /// 429s the fake gave for going over Telegram's limits (not the ones played on request).
    pub over_limit: usize,
    pub elapsed: Duration,
}

pub(super) fn bot_username(category: &str) -> String {
    format!("rh_chaos_{}_bot", category.replace('-', "_"))
}

fn bot_token(index: usize) -> String {
    format!("{}:chaos-secret-{index}", 9_000 + index)
}

impl World {
    pub async fn start(setup: &Setup, kind: Kind) -> anyhow::Result<Self> {
        let (nats, nats_url) = if kind.cluster {
            let cluster = NatsCluster::start(3)?;
            let urls = cluster.urls();
            (Nats::Cluster(cluster), urls)
        } else {
            let server = NatsServer::start()?;
            let url = server.url.clone();
            (Nats::Single(server), url)
        };
        let replicas = if kind.cluster { 3 } else { 1 };
        let bus = Bus::connect(&nats_url).await?.with_replicas(replicas);
        let deadline = Instant::now() + Duration::from_secs(30);
        while let Err(error) = bus.ensure_streams().await {
            anyhow::ensure!(Instant::now() < deadline, "creating the streams: {error:#}");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        let postgres = if kind.own_postgres {
            Some(PostgresServer::start()?)
        } else {
            None
        };
        let database = match &postgres {
            Some(server) => server.database().await?,
            None => testkit::database().await?,
        };
        projections::migrate(&database.pool).await?;
        let catalog = ingest::catalog::CatalogFile::parse(include_str!("../../../catalog.toml"))?;
        ingest::catalog::apply_file(&bus, &catalog, true).await?;
        let categories: Vec<String> = catalog.categories.iter().map(|c| c.slug.clone()).collect();

        let fake = FakeTelegram::start().await?;
        fake.register_bot(MAIN_BOT.0, MAIN_BOT.1);
        for (index, category) in categories.iter().enumerate() {
            fake.register_bot(&bot_token(index), &bot_username(category));
        }
        let llm = if kind.llm {
            let llm = FakeOpenAi::start().await?;
            let count = categories.len();
            // A deterministic answer per post: the same post gets the same categories in
            // every run, faults or not.
            llm.answer_with(move |post| {
                let hash = post
                    .bytes()
                    .fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
                testkit::openai::Reply::Answer(format!("Это вакансия: {}", hash % count as u64 + 1))
            });
            Some(llm)
        } else {
            None
        };
        let welcomes = sign_up(&bus, &database, &fake, &categories, setup.subscribers).await?;

        let mut world = Self {
            nats,
            postgres,
            bus: bus.clone(),
            fake,
            llm,
            children: Vec::new(),
            categories,
            database,
            nats_url,
            kind,
            logs: tempfile::Builder::new()
                .prefix("rh-chaos-")
                .tempdir()?
                .keep(),
            spawned: 0,
            ingest: tokio::spawn(async { Ok(()) }),
            started: Instant::now(),
        };
        for _ in 0..kind.copies.max(1) {
            let child = world.spawn()?;
            world.children.push(child);
        }
        // The bots answer the subscribers' /start first, and the first cards come over a second
        // later: a card right behind a welcome would break Telegram's per-chat limit.
        let deadline = Instant::now() + Duration::from_secs(60);
        while welcomes
            .iter()
            .any(|(bot, user)| world.fake.sent_to(bot, *user).is_empty())
        {
            anyhow::ensure!(Instant::now() < deadline, "the bots never answered /start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(1_100)).await;
        world.started = Instant::now();
        for player in 0..PLAYERS {
            world
                .fake
                .user_says(MAIN_BOT.1, FIRST_PLAYER + player, "/start")
                .map_err(anyhow::Error::msg)?;
        }
        world.ingest = tokio::spawn(feed(bus, setup.texts.clone(), setup.posts_per_second));
        Ok(world)
    }

    /// A `remotehunt all` of this run, started now.
    pub fn spawn(&mut self) -> anyhow::Result<Child> {
        self.spawned += 1;
        let log = std::fs::File::create(self.logs.join(format!("all-{}.log", self.spawned)))?;
        let tokens: Vec<String> = self
            .categories
            .iter()
            .enumerate()
            .map(|(index, category)| format!("{category}={}", bot_token(index)))
            .collect();
        let mut command = Command::new(std::env::current_exe()?);
        command
            .arg("all")
            .env("NATS_URL", &self.nats_url)
            .env("NATS_REPLICAS", if self.kind.cluster { "3" } else { "1" })
            .env("DATABASE_URL", &self.database.url)
            .env("TELEGRAM_API_URL", self.fake.url())
            .env("MAIN_BOT_TOKEN", MAIN_BOT.0)
            .env("CATEGORY_BOT_TOKENS", tokens.join(","))
            .env("RUST_LOG", "warn")
            .env("TELEGRAM_SESSION", self.logs.join("none.session"))
            .env_remove("TELEGRAM_API_ID")
            .env_remove("WEB_LISTEN")
            .env_remove("BILLING_LISTEN")
            .env_remove("YOOKASSA_SHOP_ID")
            .env_remove("ADMIN_IDS")
            .env_remove("PUBLIC_CHANNEL")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        match &self.llm {
            Some(llm) => {
                command
                    .env("OPENAI_BASE_URL", llm.url())
                    .env("OPENAI_API_KEY", "sk-chaos")
                    .env("OPENAI_TIMEOUT", "2")
                    // Every post goes to the LLM.
                    .env("CLASSIFY_CONFIDENT", "1.1");
            }
            None => {
                command
                    .env_remove("OPENAI_BASE_URL")
                    .env_remove("OPENAI_API_KEY");
            }
        }
        Ok(command.spawn()?)
    }

    /// Cards the category bots sent so far.
    pub fn delivered(&self) -> usize {
        self.categories
            .iter()
            .map(|category| self.fake.sent_by(&bot_username(category)).len())
            .sum()
    }

    /// Waits until `count` cards are out (or the posts are all in and nothing moves).
    pub async fn wait_for_delivered(&self, count: usize) -> anyhow::Result<()> {
        let deadline = Instant::now() + SETTLE_LIMIT;
        while self.delivered() < count {
            anyhow::ensure!(
                Instant::now() < deadline,
                "never reached {count} deliveries"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }

    /// How long from now until cards go out again after a fault: sends already on the wire
    /// when it hit (they land within moments) do not count.
    pub async fn next_delivery(&self) -> anyhow::Result<Duration> {
        let from = Instant::now();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let before = self.delivered();
        self.wait_for_delivered(before + 1).await?;
        Ok(from.elapsed())
    }

    /// Waits until every post is in, every consumer on the way has drained, the main bot has
    /// answered every player, and no card went out for a while.
    pub async fn settle(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + SETTLE_LIMIT;
        while !self.ingest.is_finished() {
            anyhow::ensure!(Instant::now() < deadline, "the posts never all went in");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        (&mut self.ingest).await??;
        let mut last = (self.delivered(), Instant::now());
        loop {
            anyhow::ensure!(Instant::now() < deadline, "the run never settled");
            tokio::time::sleep(Duration::from_millis(250)).await;
            let now = self.delivered();
            if now != last.0 {
                last = (now, Instant::now());
                continue;
            }
            if last.1.elapsed() >= QUIET
                && self.fake.unconfirmed_updates(MAIN_BOT.1) == 0
                && self.drained().await
            {
                return Ok(());
            }
        }
    }

    /// Every consumer from screening to the bots' outboxes has nothing pending or unacked.
    async fn drained(&self) -> bool {
        let mut consumers = vec![
            ("SCREENING".to_owned(), "classify".to_owned()),
            ("CLASSIFICATIONS".to_owned(), "fanout".to_owned()),
        ];
        for category in &self.categories {
            consumers.push(("DELIVERIES".to_owned(), format!("send-{category}")));
        }
        for (stream, name) in consumers {
            let Ok(stream) = self.bus.jetstream().get_stream(&stream).await else {
                return false;
            };
            match stream.consumer_info(&name).await {
                Ok(info) if info.num_pending == 0 && info.num_ack_pending == 0 => {}
                _ => return false,
            }
        }
        true
    }

    /// What this run delivered, read from the fake and the DELIVERIES stream.
    pub async fn outcome(&self) -> anyhow::Result<Outcome> {
        let mut outcome = Outcome {
            elapsed: self.started.elapsed(),
            ..Outcome::default()
        };
        let link = format!("https://t.me/{}/", CHANNEL.1);
        for category in &self.categories {
            let bot = bot_username(category);
            outcome.over_limit += self.fake.too_many_requests(&bot);
            for card in self.fake.sent_by(&bot) {
                let Some(post) = card
                    .text
                    .split(link.as_str())
                    .nth(1)
                    .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
                    .and_then(|id| id.parse::<i64>().ok())
                else {
                    continue;
                };
                *outcome
                    .sent
                    .entry((bot.clone(), card.chat_id, post))
                    .or_default() += 1;
            }
        }
        outcome.over_limit += self.fake.too_many_requests(MAIN_BOT.1);
        for player in 0..PLAYERS {
            let user = FIRST_PLAYER + player;
            outcome
                .main_bot
                .insert(user, self.fake.sent_to(MAIN_BOT.1, user).len());
        }
        let mut claimed = BTreeSet::new();
        let mut delivered = BTreeSet::new();
        for stored in self.bus.read_to_end("DELIVERIES", 1).await? {
            let Ok(decoded) = stored.decode() else {
                continue;
            };
            let key = |category: &str, user: i64, post: MessageKey| {
                (bot_username(category), user, post.message_id)
            };
            match decoded.envelope.event {
                Event::DeliveryClaimed(claim) => {
                    claimed.insert(key(&claim.category, claim.user_id, claim.key));
                }
                Event::VacancyDelivered(sent) => {
                    delivered.insert(key(&sent.category, sent.user_id, sent.key));
                }
                Event::DeliveryFailed(failed) => {
                    outcome
                        .refused
                        .insert(key(&failed.category, failed.user_id, failed.key));
                }
                _ => {}
            }
        }
        outcome.claimed_unsent = claimed
            .difference(&delivered)
            .filter(|k| !outcome.refused.contains(*k))
            .cloned()
            .collect();
        Ok(outcome)
    }

    /// Kills every child; returns the folder of their logs.
    pub fn stop(&mut self) -> PathBuf {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.children.clear();
        self.ingest.abort();
        self.logs.clone()
    }
}

impl Drop for World {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Trial subscribers, each of two categories (spread over the catalog), each of whom started
/// both bots, projected before any post comes. Returns who wrote /start to which bot.
async fn sign_up(
    bus: &Bus,
    database: &testkit::TestDatabase,
    fake: &FakeTelegram,
    categories: &[String],
    subscribers: usize,
) -> anyhow::Result<Vec<(String, i64)>> {
    let mut events = Vec::new();
    let mut started = Vec::new();
    for n in 0..subscribers {
        let user = 50_000_000 + n as i64;
        let mut chosen = vec![
            categories[n % categories.len()].as_str(),
            categories[(n * 3 + 1) % categories.len()].as_str(),
        ];
        chosen.dedup();
        events.extend(testkit::events::subscriber(user, &chosen, 3));
        for category in &chosen {
            fake.user_says(&bot_username(category), user, "/start")
                .map_err(anyhow::Error::msg)?;
            started.push((bot_username(category), user));
        }
    }
    bus.publish_batch(&events).await?;
    let config = projections::Config::new(database.url.clone());
    projections::catch_up(bus, &database.pool, projections::Projection::Users, &config).await?;
    Ok(started)
}

/// Real posts entering ingest at a steady pace; each is tried again until NATS takes it (ingest
/// is idempotent: a post's ids are its chat and message).
async fn feed(bus: Bus, texts: Vec<String>, per_second: f64) -> anyhow::Result<()> {
    let mut ingestor = loop {
        match ingest::ingestor::Ingestor::start(bus.clone()).await {
            Ok(ingestor) => break ingestor,
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    };
    while ingestor
        .ensure_channel(
            CHANNEL.0,
            Some(CHANNEL.1),
            "Хаос",
            schemas::ChannelKind::Channel,
        )
        .await
        .is_err()
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let interval = Duration::from_secs_f64(1.0 / per_second.max(0.1));
    let start = tokio::time::Instant::now();
    for (n, text) in texts.into_iter().enumerate() {
        tokio::time::sleep_until(start + interval * n as u32).await;
        let message_id = n as i64 + 1;
        let message = schemas::MessageReceived {
            key: MessageKey::new(CHANNEL.0, message_id),
            chat_username: Some(CHANNEL.1.into()),
            chat_title: Some("Хаос".into()),
            posted_at: chrono::Utc::now(),
            text,
            links: Vec::new(),
            has_media: false,
            author: schemas::Author {
                user_id: Some(1_000 + message_id),
                username: None,
                signature: None,
            },
            contacts: Vec::new(),
            link: Some(format!("https://t.me/{}/{message_id}", CHANNEL.1)),
            source: schemas::MessageSource::Live,
        };
        while ingestor.ingest(vec![message.clone()]).await.is_err() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    Ok(())
}
