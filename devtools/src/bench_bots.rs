//! `remotehunt bench bots`: the main bot's replies when many users write at once, against the
//! fake Bot API with Telegram's limits (30 messages a second per bot, one a second per chat),
//! over an own nats-server and scratch database with the projectors running. After one user
//! warms it up, each round has that many new users send /start at the same instant; it reports
//! the reply times (from the sends to each user's first reply) and the 429s Telegram answered.

use std::time::{Duration, Instant};

use testkit::FakeTelegram;

const MAIN: (&str, &str) = ("9200:bench-main", "rh_bench_main_bot");

pub async fn bots(rounds: &[usize]) -> anyhow::Result<()> {
    let crate::backbone::Backbone {
        server: _server,
        database,
        bus,
        stop,
    } = crate::backbone::Backbone::start().await?;
    let catalog =
        testkit::events::categories(&[("design", "Дизайн"), ("development", "Разработка")]);
    bus.publish_batch(&catalog).await?;
    let fake = FakeTelegram::start().await?;
    fake.register_bot(MAIN.0, MAIN.1);
    let bot = fanout::telegram::bot(MAIN.0, Some(url::Url::parse(fake.url())?))?;
    let config = bots::main_bot::MainBotConfig {
        poll_timeout: 10,
        ..bots::main_bot::MainBotConfig::default()
    };
    let main_bot = bots::main_bot::MainBot::new(bot, bus.clone(), database.pool.clone(), config);
    tokio::spawn(main_bot.run(stop.clone()));

    // Warm-up: one user, so connections and the consumer exist before the rounds.
    let warm = at_once(&fake, 1_000, 1).await?;
    println!(
        "warm-up: 1 user answered in {} ms",
        warm.replies[0].as_millis()
    );
    let mut first_user = 2_000;
    for &users in rounds {
        let round = at_once(&fake, first_user, users).await?;
        first_user += users as i64 + 1_000;
        let p = |q: f64| percentile(&round.replies, q).as_millis();
        println!(
            "{users} users sending /start at once: {}/{users} answered; reply p50 {} ms, p95 {} ms, last {} ms; 429s: {}",
            round.replies.len(),
            p(0.50),
            p(0.95),
            p(1.0),
            round.too_many_requests
        );
        // Let the per-chat and per-bot windows empty between rounds.
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    stop.cancel();
    Ok(())
}

struct Round {
    /// Each user's wait for their first reply, sorted.
    replies: Vec<Duration>,
    /// 429s the fake answered during the round.
    too_many_requests: usize,
}

/// `users` users (ids from `first`) send /start at the same instant; waits up to 30 s for every
/// first reply.
async fn at_once(fake: &FakeTelegram, first: i64, users: usize) -> anyhow::Result<Round> {
    let before = fake.too_many_requests(MAIN.1);
    let ids: Vec<i64> = (first..first + users as i64).collect();
    let sent_at = Instant::now();
    for id in &ids {
        fake.user_says(MAIN.1, *id, "/start")
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let deadline = sent_at + Duration::from_secs(30);
    let mut replies;
    loop {
        replies = ids
            .iter()
            .filter_map(|id| {
                let first_reply = fake.sent_to(MAIN.1, *id).into_iter().map(|m| m.at).min()?;
                Some(first_reply.saturating_duration_since(sent_at))
            })
            .collect::<Vec<_>>();
        if replies.len() == users || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    replies.sort();
    Ok(Round {
        replies,
        too_many_requests: fake.too_many_requests(MAIN.1) - before,
    })
}

/// The `q` quantile of sorted durations (nearest rank); zero for none.
fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}
