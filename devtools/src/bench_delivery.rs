//! Delivery benchmarks against the fake Bot API with Telegram's limits on, each on its own
//! nats-server and scratch database:
//! - `remotehunt bench fanout`: one vacancy to many subscribers over many bots (one or several
//!   per category, paid broadcast or not), with the fan-out process (a child `remotehunt
//!   fanout run`) SIGKILLed midway and restarted.
//! - `remotehunt bench latency`: real posts entering ingest at a steady rate, through the
//!   rules, the local classifier and fan-out, to `sendMessage` at the fake.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bus::Bus;
use schemas::{Event, MessageKey};
use testkit::FakeTelegram;
use testkit::telegram::Sent;

fn bot_token(index: usize) -> String {
    format!("{}:bench-secret-{index}", 7000 + index)
}

fn bot_username(category: &str) -> String {
    format!("rh_{category}_bot")
}

/// A child `remotehunt fanout run` against the benchmark's own servers.
fn spawn_fanout(
    nats: &str,
    database: &str,
    telegram: &str,
    tokens: &str,
    paid_broadcast: bool,
) -> anyhow::Result<Child> {
    Ok(Command::new(std::env::current_exe()?)
        .args(["fanout", "run", "--max-age-hours", "0"])
        .env("NATS_URL", nats)
        .env("DATABASE_URL", database)
        .env("TELEGRAM_API_URL", telegram)
        .env("CATEGORY_BOT_TOKENS", tokens)
        .env("PAID_BROADCAST", paid_broadcast.to_string())
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .spawn()?)
}

/// What `bench fanout` sends to.
#[derive(Debug, Clone, Copy)]
pub struct FanoutShape {
    pub subscribers: usize,
    pub categories: usize,
    pub tokens_per_category: usize,
    pub paid_broadcast: bool,
}

/// One bot of the benchmark: its category, token, @username and id.
struct BenchBot {
    category: String,
    token: String,
    username: String,
    id: i64,
}

impl FanoutShape {
    fn bots(&self) -> Vec<BenchBot> {
        let tokens = self.tokens_per_category.max(1);
        (0..self.categories * tokens)
            .map(|index| {
                let category = format!("bench{:02}", index / tokens);
                let username = match index % tokens {
                    0 => bot_username(&category),
                    shard => format!("rh_{category}_{shard}_bot"),
                };
                BenchBot {
                    token: bot_token(index),
                    id: 7000 + index as i64,
                    username,
                    category,
                }
            })
            .collect()
    }
}

/// Sends per second over each stretch of a bot's sends without a pause of over 2 s (the
/// restart); stretches shorter than 3 s (and of fewer than 200 sends) are warm-up or tail and
/// are left out.
fn sustained_rates(sent: &[Sent]) -> Vec<f64> {
    let mut times: Vec<Instant> = sent.iter().map(|m| m.at).collect();
    times.sort();
    let mut rates = Vec::new();
    let mut start = 0;
    for i in 1..=times.len() {
        let gap = i == times.len() || times[i] - times[i - 1] > Duration::from_secs(2);
        if gap {
            let span = times[i - 1] - times[start];
            // A paid broadcast sends hundreds a second: a shorter stretch of as many counts.
            if span >= Duration::from_secs(3) || (i - start >= 200 && !span.is_zero()) {
                rates.push((i - 1 - start) as f64 / span.as_secs_f64());
            }
            start = i;
        }
    }
    rates
}

/// Subscribers on a trial, each with one category and that category's bot started (in the
/// events and at the fake), projected into the read models.
async fn sign_up(
    bus: &Bus,
    database: &testkit::TestDatabase,
    fake: &FakeTelegram,
    users: &[(i64, &str)],
) -> anyhow::Result<projections::Config> {
    let users: Vec<(i64, &str, &str, Option<i64>)> = users
        .iter()
        .map(|(user, category)| (*user, *category, "", None))
        .collect();
    sign_up_on_bots(bus, database, fake, &users).await
}

/// [`sign_up`] with each user on a bot of their own category: (user, category, the bot's
/// @username, its id; "" and `None` for the category's first bot).
async fn sign_up_on_bots(
    bus: &Bus,
    database: &testkit::TestDatabase,
    fake: &FakeTelegram,
    users: &[(i64, &str, &str, Option<i64>)],
) -> anyhow::Result<projections::Config> {
    let mut events = Vec::new();
    for (user_id, category, username, bot_id) in users {
        let mut signed_up = testkit::events::subscriber(*user_id, &[category], 2);
        for event in &mut signed_up {
            if let Event::CategoryBotStarted(started) = &mut event.event {
                started.bot_id = *bot_id;
            }
        }
        events.extend(signed_up);
        let username = match *username {
            "" => bot_username(category),
            other => other.to_owned(),
        };
        fake.user_says(&username, *user_id, "/start")
            .map_err(anyhow::Error::msg)?;
    }
    bus.publish_batch(&events).await?;
    let config = projections::Config::new(database.url.clone());
    let users = projections::Projection::Users;
    projections::catch_up(bus, &database.pool, users, &config).await?;
    Ok(config)
}

pub async fn fanout(shape: FanoutShape, kill_at: f64) -> anyhow::Result<()> {
    let FanoutShape {
        subscribers,
        categories: category_count,
        paid_broadcast,
        ..
    } = shape;
    anyhow::ensure!(category_count > 0, "--bots: at least one category");
    let server = testkit::NatsServer::start()?;
    let database = testkit::database().await?;
    let bus = Bus::connect(&server.url).await?;
    bus.ensure_streams().await?;
    projections::migrate(&database.pool).await?;
    let fake = FakeTelegram::start().await?;
    let bots = shape.bots();
    for bot in &bots {
        fake.register_bot(&bot.token, &bot.username);
    }
    let tokens = bots
        .iter()
        .map(|b| format!("{}={}", b.category, b.token))
        .collect::<Vec<_>>()
        .join(",");
    let categories: Vec<String> = (0..category_count)
        .map(|i| format!("bench{i:02}"))
        .collect();

    // Subscribers spread evenly over the categories, and over each category's bots one after
    // another as the main bot sends newcomers (the least loaded bot).
    let mut loads: HashMap<i64, i64> = HashMap::new();
    let users: Vec<(i64, &str, &str, Option<i64>)> = (0..subscribers)
        .map(|user| {
            let user_id = 10_000_000 + user as i64;
            let category = categories[user % category_count].as_str();
            let own: Vec<&BenchBot> = bots.iter().filter(|b| b.category == category).collect();
            let ids: Vec<i64> = own.iter().map(|b| b.id).collect();
            let counts: Vec<(Option<i64>, i64)> =
                loads.iter().map(|(id, n)| (Some(*id), *n)).collect();
            let chosen = bots::menu::bot_for_newcomer(&ids, &counts, user_id).unwrap_or(ids[0]);
            *loads.entry(chosen).or_default() += 1;
            let bot = own.iter().find(|b| b.id == chosen).unwrap_or(&own[0]);
            (user_id, category, bot.username.as_str(), Some(bot.id))
        })
        .collect();
    sign_up_on_bots(&bus, &database, &fake, &users).await?;
    println!(
        "{subscribers} subscribers over {category_count} categories of {} bots each{}; Telegram's limits on (30/s per bot{}, 1/s per chat)",
        shape.tokens_per_category.max(1),
        if paid_broadcast {
            ", paid broadcast on"
        } else {
            ""
        },
        if paid_broadcast {
            ", 1,000/s with paid broadcast"
        } else {
            ""
        },
    );

    let mut child = spawn_fanout(
        &server.url,
        &database.url,
        fake.url(),
        &tokens,
        paid_broadcast,
    )?;
    let key = MessageKey::new(-1_001_234_000_000, 1);
    let refs: Vec<&str> = categories.iter().map(String::as_str).collect();
    let vacancy = testkit::events::vacancy(key, "Бенчмарк: вакансия для всех", "bench", &refs);
    let published_at = Instant::now();
    bus.publish_batch(&vacancy).await?;

    let total_sent = |fake: &FakeTelegram| -> usize {
        bots.iter().map(|b| fake.sent_by(&b.username).len()).sum()
    };
    let kill_after = (subscribers as f64 * kill_at) as usize;
    let mut killed = None;
    let mut last_progress = (0, Instant::now());
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let sent = total_sent(&fake);
        if killed.is_none() && kill_at > 0.0 && sent >= kill_after {
            child.kill()?; // SIGKILL
            child.wait()?;
            killed = Some((Instant::now(), sent));
            println!("SIGKILLed fan-out after {sent} sends; restarting it");
            child = spawn_fanout(
                &server.url,
                &database.url,
                fake.url(),
                &tokens,
                paid_broadcast,
            )?;
        }
        if sent != last_progress.0 {
            last_progress = (sent, Instant::now());
        }
        if sent >= subscribers || last_progress.1.elapsed() > Duration::from_secs(90) {
            break;
        }
    }
    // Whatever arrives late would be a duplicate: give it a moment.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let finished = last_progress.1 - published_at;
    child.kill()?;
    child.wait()?;

    let mut per_user: HashMap<i64, usize> = HashMap::new();
    let mut rates = Vec::new();
    let mut too_many = Vec::new();
    let mut paid = 0;
    for bot in &bots {
        let sent = fake.sent_by(&bot.username);
        for message in &sent {
            *per_user.entry(message.chat_id).or_default() += 1;
        }
        let bot_rates = sustained_rates(&sent);
        too_many.extend(fake.too_many_requests_at(&bot.username));
        paid += fake.paid_broadcasts(&bot.username);
        println!(
            "  bot @{}: {:>5} sent, sustained {} msg/s",
            bot.username,
            sent.len(),
            bot_rates
                .iter()
                .map(|r| format!("{r:.1}"))
                .collect::<Vec<_>>()
                .join(" / ")
        );
        rates.extend(bot_rates);
    }
    let duplicates: usize = per_user.values().map(|n| n.saturating_sub(1)).sum();
    let losses = subscribers - per_user.len();
    let (claimed, recorded) = claims(&bus).await?;
    let unconfirmed = claimed.difference(&recorded).count();
    let min = rates.iter().copied().fold(f64::INFINITY, f64::min);
    let mean = rates.iter().sum::<f64>() / rates.len().max(1) as f64;
    println!(
        "delivered to {} of {subscribers}, the last {:.1} s after the vacancy; per-bot sustained rate min {min:.1}, mean {mean:.1} msg/s (target >= 27); {paid} sent as paid broadcasts",
        per_user.len(),
        finished.as_secs_f64()
    );
    let warm_up = Duration::from_secs(2);
    let after_warm_up = too_many
        .iter()
        .filter(|(at, _)| *at > published_at + warm_up)
        .count();
    let per_chat = too_many.iter().filter(|(_, chat)| *chat).count();
    println!(
        "429s: {} ({per_chat} for a chat's limit), {after_warm_up} after the first {} s; duplicates: {duplicates}; losses: {losses}; claims left unconfirmed by the kill: {unconfirmed}",
        too_many.len(),
        warm_up.as_secs()
    );
    if let Some((at, sent)) = killed {
        println!(
            "killed at {sent} sends, {:.1} s after the vacancy",
            (at - published_at).as_secs_f64()
        );
    }
    Ok(())
}

/// (user, message) pairs claimed, and those with a recorded delivery or failure.
async fn claims(
    bus: &Bus,
) -> anyhow::Result<(HashSet<(i64, MessageKey)>, HashSet<(i64, MessageKey)>)> {
    let mut claimed = HashSet::new();
    let mut recorded = HashSet::new();
    for raw in bus
        .read_to_end(schemas::Area::Deliveries.stream(), 1)
        .await?
    {
        match raw.decode()?.envelope.event {
            Event::DeliveryClaimed(c) => {
                claimed.insert((c.user_id, c.key));
            }
            Event::VacancyDelivered(d) => {
                recorded.insert((d.user_id, d.key));
            }
            Event::DeliveryFailed(f) => {
                recorded.insert((f.user_id, f.key));
            }
            _ => {}
        }
    }
    Ok((claimed, recorded))
}

pub async fn latency(
    corpus: &Path,
    rate: f64,
    seconds: u64,
    per_category: usize,
    chat_limit: bool,
) -> anyhow::Result<()> {
    use tokio_util::sync::CancellationToken;
    let posts: Vec<String> = std::fs::read_to_string(corpus)?
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|post| post["text"].as_str().map(str::to_owned))
        .filter(|t| t.chars().count() > 40)
        .collect();
    anyhow::ensure!(!posts.is_empty(), "no posts in {}", corpus.display());
    let server = testkit::NatsServer::start()?;
    let database = testkit::database().await?;
    let bus = Bus::connect(&server.url).await?;
    bus.ensure_streams().await?;
    projections::migrate(&database.pool).await?;
    let catalog = ingest::catalog::CatalogFile::parse(include_str!("../../catalog.toml"))?;
    ingest::catalog::apply_file(&bus, &catalog, true).await?;
    let categories: Vec<String> = catalog.categories.iter().map(|c| c.slug.clone()).collect();

    let fake = FakeTelegram::start().await?;
    let mut send = fanout::send::SendConfig::default();
    if !chat_limit {
        // Every subscriber of a category gets each of its posts: past one vacancy a second in a
        // category, Telegram's per-chat limit, not the pipeline, sets the pace.
        fake.set_limits(testkit::telegram::Limits {
            per_chat_per_second: 1_000,
            ..testkit::telegram::Limits::default()
        });
        send.chat_gap = Duration::ZERO;
    }
    let api = url::Url::parse(fake.url())?;
    let mut bots = BTreeMap::new();
    for (index, category) in categories.iter().enumerate() {
        fake.register_bot(&bot_token(index), &bot_username(category));
        bots.insert(
            category.clone(),
            teloxide::Bot::new(bot_token(index)).set_api_url(api.clone()),
        );
    }
    let users: Vec<(i64, &str)> = categories
        .iter()
        .enumerate()
        .flat_map(|(index, category)| {
            (0..per_category).map(move |n| {
                (
                    20_000_000 + (index * per_category + n) as i64,
                    category.as_str(),
                )
            })
        })
        .collect();
    let config = sign_up(&bus, &database, &fake, &users).await?;

    let shutdown = CancellationToken::new();
    let mut services = tokio::task::JoinSet::new();
    services.spawn(projections::run(
        bus.clone(),
        database.pool.clone(),
        config,
        shutdown.clone(),
    ));
    let classifier = classify::decide::Classifier::embedded()?;
    services.spawn(classify::service::run(
        bus.clone(),
        classifier,
        classify::service::ServiceConfig::default(),
        shutdown.clone(),
    ));
    services.spawn(fanout::service::run(
        bus.clone(),
        database.pool.clone(),
        fanout::tokens::one_bot_each(bots),
        fanout::service::FanoutConfig {
            send,
            ..Default::default()
        },
        shutdown.clone(),
    ));
    let mut ingestor = ingest::ingestor::Ingestor::start(bus.clone()).await?;
    let chat_id = -1_001_777_000_000;
    ingestor
        .ensure_channel(
            chat_id,
            Some("bench_jobs"),
            "Бенчмарк",
            schemas::ChannelKind::Channel,
        )
        .await?;

    println!(
        "{rate} posts/s for {seconds} s from {}; {per_category} subscriber(s) per category, 1 bot per category; per-chat limit {}",
        corpus.display(),
        if chat_limit { "on" } else { "off" }
    );
    let total = (rate * seconds as f64) as usize;
    let interval = Duration::from_secs_f64(1.0 / rate);
    let mut entered: HashMap<i64, Instant> = HashMap::new();
    let start = tokio::time::Instant::now();
    let mut report = ingest::ingestor::Report::default();
    for n in 0..total {
        tokio::time::sleep_until(start + interval * n as u32).await;
        let message_id = n as i64 + 1;
        let message = schemas::MessageReceived {
            key: MessageKey::new(chat_id, message_id),
            chat_username: Some("bench_jobs".into()),
            chat_title: Some("Бенчмарк".into()),
            posted_at: chrono::Utc::now(),
            text: posts[n % posts.len()].clone(),
            links: Vec::new(),
            has_media: false,
            author: schemas::Author {
                user_id: Some(message_id),
                username: None,
                signature: None,
            },
            contacts: Vec::new(),
            link: Some(format!("https://t.me/bench_jobs/{message_id}")),
            source: schemas::MessageSource::Live,
        };
        entered.insert(message_id, Instant::now());
        let step = ingestor.ingest(vec![message]).await?;
        report.accepted += step.accepted;
        report.rejected += step.rejected;
        report.duplicates += step.duplicates;
    }
    // Let the last posts through.
    tokio::time::sleep(Duration::from_secs(10)).await;
    shutdown.cancel();
    while services.join_next().await.is_some() {}

    // Each card's link names its post: latency is from entering ingest to the fake's accept.
    let mut first: HashMap<i64, Duration> = HashMap::new();
    let mut all = Vec::new();
    let mut too_many = 0;
    let mut sends_per_bot = Vec::new();
    for category in &categories {
        too_many += fake.too_many_requests(&bot_username(category));
        let sent = fake.sent_by(&bot_username(category));
        sends_per_bot.push(format!("{category} {}", sent.len()));
        for message in sent {
            let Some(id) = message
                .text
                .split("https://t.me/bench_jobs/")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .and_then(|id| id.parse::<i64>().ok())
            else {
                continue;
            };
            if let Some(at) = entered.get(&id) {
                let latency = message.at.saturating_duration_since(*at);
                all.push(latency);
                let best = first.entry(id).or_insert(latency);
                *best = (*best).min(latency);
            }
        }
    }
    let mut firsts: Vec<Duration> = first.values().copied().collect();
    println!(
        "{total} posts entered ingest: {} accepted, {} rejected by rules, {} duplicates; {} delivered as vacancies ({} sends); 429s: {too_many}",
        report.accepted,
        report.rejected,
        report.duplicates,
        firsts.len(),
        all.len()
    );
    println!("sends per bot: {}", sends_per_bot.join(", "));
    for (what, values) in [
        ("first send of each post", &mut firsts),
        ("every send", &mut all),
    ] {
        values.sort();
        let pick = |q: f64| {
            values.get(((values.len() as f64 * q) as usize).min(values.len().saturating_sub(1)))
        };
        if let (Some(p50), Some(p95), Some(max)) = (pick(0.5), pick(0.95), values.last()) {
            println!(
                "latency ingest → sendMessage, {what}: p50 {:.0} ms, p95 {:.0} ms, max {:.0} ms",
                p50.as_secs_f64() * 1e3,
                p95.as_secs_f64() * 1e3,
                max.as_secs_f64() * 1e3
            );
        }
    }
    Ok(())
}
