//! The demo's live part: the whole pipeline against a local fake Telegram. A sample subscriber
//! starts the main bot, picks Дизайн and Разработка with its buttons and starts both category
//! bots; the sample posts are then imported, classified by the local model and fanned out; the
//! demo prints what each bot delivered to whom.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bus::Bus;
use projections::read;
use sqlx::PgPool;
use testkit::FakeTelegram;
use tokio_util::sync::CancellationToken;

pub const SUBSCRIBER: i64 = 700000002;
const MAIN: (&str, &str) = ("100:demo-main", "rh_demo_bot");
const CATEGORY_BOTS: [(&str, &str, &str); 2] = [
    ("design", "101:demo-design", "rh_demo_design_bot"),
    ("development", "102:demo-dev", "rh_demo_dev_bot"),
];

/// The bots and fan-out, running against the fake until dropped by `stop`.
pub struct LiveBots {
    pub fake: FakeTelegram,
    pub stop: CancellationToken,
    tasks: tokio::task::JoinSet<anyhow::Result<()>>,
}

async fn until<F: AsyncFn() -> anyhow::Result<bool>>(what: &str, check: F) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !check().await? {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the demo timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

/// Starts the fake Telegram, the bots and fan-out, and signs the sample subscriber up through
/// the bots' buttons. Projectors must be running.
pub async fn start(bus: &Bus, pool: &PgPool) -> anyhow::Result<LiveBots> {
    let fake = FakeTelegram::start().await?;
    let api = url::Url::parse(fake.url())?;
    let bot = |token: &str| teloxide::Bot::new(token).set_api_url(api.clone());
    fake.register_bot(MAIN.0, MAIN.1);
    let stop = CancellationToken::new();
    let mut tasks = tokio::task::JoinSet::new();
    let mut senders = BTreeMap::new();
    let mut usernames = BTreeMap::new();
    let names: BTreeMap<String, String> = read::catalog::active_categories(pool)
        .await?
        .into_iter()
        .map(|c| (c.slug, c.name))
        .collect();
    for (category, token, username) in CATEGORY_BOTS {
        fake.register_bot(token, username);
        let bot_id = fanout::tokens::BotToken::parse(token).map_or(0, |t| t.id());
        let shard = fanout::tokens::Shard {
            bot_id,
            bot: bot(token),
        };
        senders.insert(category.to_owned(), vec![shard]);
        usernames.insert(category.to_owned(), vec![(bot_id, username.to_owned())]);
        let category_bot = bots::category_bot::CategoryBot {
            category: category.to_owned(),
            bot_id,
            first_of_category: true,
            name: names.get(category).cloned().unwrap_or(category.to_owned()),
            bot: bot(token),
            bus: bus.clone(),
            pool: pool.clone(),
            poll_timeout: 1,
            main_bot_username: Some(MAIN.1.to_owned()),
        };
        tasks.spawn(category_bot.run(stop.clone()));
    }
    let plans = ingest::catalog::CatalogFile::parse(include_str!("../../catalog.toml"))?.plans;
    let config = bots::main_bot::MainBotConfig {
        poll_timeout: 1,
        category_bots: usernames,
        payments: Some(bots::main_bot::Payments {
            plans,
            yookassa: None,
            stars: true,
        }),
        ..Default::default()
    };
    let main_bot = bots::main_bot::MainBot::new(bot(MAIN.0), bus.clone(), pool.clone(), config);
    tasks.spawn(main_bot.run(stop.clone()));
    let config = fanout::service::FanoutConfig {
        // The sample posts are dated: deliver them however old.
        plan: fanout::plan::PlanConfig { max_age: None },
        ..Default::default()
    };
    tasks.spawn(fanout::service::run(
        bus.clone(),
        pool.clone(),
        senders,
        config,
        stop.clone(),
    ));

    let user = SUBSCRIBER;
    fake.user_says(MAIN.1, user, "/start")
        .map_err(anyhow::Error::msg)?;
    until("the main bot's greeting", async || {
        Ok(!fake.sent_to(MAIN.1, user).is_empty())
    })
    .await?;
    let greeting = fake.sent_to(MAIN.1, user)[0].message_id;
    let chosen = async |slug: &str| {
        let chosen = read::users::chosen_categories(pool, user).await?;
        Ok::<_, anyhow::Error>(chosen.iter().any(|c| c == slug))
    };
    for (category, _, username) in CATEGORY_BOTS {
        if !chosen(category).await? {
            fake.press(MAIN.1, user, greeting, &format!("k1:{category}"))
                .map_err(anyhow::Error::msg)?;
            until("the category choice", async || chosen(category).await).await?;
        }
        fake.user_says(username, user, "/start")
            .map_err(anyhow::Error::msg)?;
    }
    until("both category bots started", async || {
        let started = read::users::started_bots(pool, user).await?;
        Ok(started.len() == CATEGORY_BOTS.len())
    })
    .await?;
    // The main bot redraws the menu by itself once the bots are started: ✅ by each.
    until("the menu's check marks", async || {
        let connected = fake
            .sent_to(MAIN.1, user)
            .iter()
            .filter(|m| m.message_id == greeting)
            .filter_map(|m| m.reply_markup.as_ref())
            .map(|markup| markup.to_string().matches("✅").count())
            .max()
            .unwrap_or_default();
        Ok(connected >= CATEGORY_BOTS.len())
    })
    .await?;
    println!(
        "== sample subscriber {user} started @{}, picked design and development with its buttons, started @{} and @{}",
        MAIN.1, CATEGORY_BOTS[0].2, CATEGORY_BOTS[1].2
    );
    let paid = pay_for_a_week_in_stars(&fake, greeting).await?;
    println!("== sample subscriber {user} bought a week in Telegram Stars: {paid}");
    // The scheduler's admin and a newcomer whose two-day trial ends inside its window.
    for person in [
        crate::demo_scheduler::ADMIN,
        crate::demo_scheduler::NEWCOMER,
    ] {
        fake.user_says(MAIN.1, person, "/start")
            .map_err(anyhow::Error::msg)?;
        until("the main bot's greeting", async || {
            Ok(!fake.sent_to(MAIN.1, person).is_empty())
        })
        .await?;
    }
    let scheduler = crate::demo_scheduler::start(bus, pool, &fake, bot(MAIN.0), MAIN.1, &stop)?;
    tasks.spawn(async move { scheduler.await? });
    Ok(LiveBots { fake, stop, tasks })
}

/// "Моя подписка" → "Оплатить" → a week → Telegram Stars, then the payer pays the invoice:
/// the main bot's confirmation.
async fn pay_for_a_week_in_stars(fake: &FakeTelegram, greeting: i64) -> anyhow::Result<String> {
    let user = SUBSCRIBER;
    // Every step edits the one menu message in place; the invoice is a message of its own.
    for (data, shows) in [
        ("s", "<b>Моя подписка</b>"),
        ("p", "<b>Оплата</b>"),
        ("p:week", "<b>1 неделя</b>"),
    ] {
        fake.press(MAIN.1, user, greeting, data)
            .map_err(anyhow::Error::msg)?;
        until("the main bot's screen", async || {
            Ok(fake
                .sent_to(MAIN.1, user)
                .iter()
                .any(|m| m.message_id == greeting && m.text.starts_with(shows)))
        })
        .await?;
    }
    let invoices = fake.invoices(MAIN.1).len();
    fake.press(MAIN.1, user, greeting, "ps:week")
        .map_err(anyhow::Error::msg)?;
    until("the invoice", async || {
        Ok(fake.invoices(MAIN.1).len() > invoices)
    })
    .await?;
    let invoice = fake.invoices(MAIN.1).last().cloned().unwrap_or_default();
    let payload = invoice["payload"].as_str().unwrap_or_default().to_owned();
    match fake.pay(MAIN.1, user, &payload).await? {
        testkit::telegram::Paid::Charged(_) => {}
        testkit::telegram::Paid::Refused(why) => {
            anyhow::bail!("the Stars payment was refused: {why}")
        }
    }
    let confirmation = || {
        fake.sent_to(MAIN.1, user)
            .into_iter()
            .find(|m| m.text.starts_with("✅"))
            .map(|m| m.text)
    };
    until("the payment's confirmation", async || {
        Ok(confirmation().is_some())
    })
    .await?;
    Ok(confirmation().unwrap_or_default())
}

impl LiveBots {
    /// The scheduler's three jobs, each asked for now, and what they sent.
    pub async fn scheduler_jobs(&self, bus: &Bus, pool: &PgPool) -> anyhow::Result<()> {
        crate::demo_scheduler::show(bus, pool, &self.fake, MAIN.1).await
    }

    /// Waits until deliveries stop changing, stops the bots, prints what each bot sent.
    pub async fn finish(mut self, pool: &PgPool) -> anyhow::Result<()> {
        let mut last = (usize::MAX, Instant::now());
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            let sent: usize = CATEGORY_BOTS
                .iter()
                .map(|(_, _, username)| self.fake.sent_to(username, SUBSCRIBER).len())
                .sum();
            if sent != last.0 {
                last = (sent, Instant::now());
            } else if last.1.elapsed() > Duration::from_secs(3) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        self.stop.cancel();
        while let Some(result) = self.tasks.join_next().await {
            result??;
        }
        println!("== what each bot sent this run (from the fake Telegram)");
        for (_, _, username) in CATEGORY_BOTS {
            for message in self.fake.sent_to(username, SUBSCRIBER) {
                let first_line = message
                    .text
                    .lines()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("");
                println!(
                    "  @{username} → {SUBSCRIBER}: {}",
                    first_line.chars().take(90).collect::<String>()
                );
            }
        }
        for row in read::deliveries::delivered_per_category(pool, SUBSCRIBER).await? {
            println!(
                "  deliveries read model: {} via the {} bot (all runs; a rerun sends nothing twice)",
                row.delivered, row.category
            );
        }
        Ok(())
    }
}
