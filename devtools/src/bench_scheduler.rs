//! `remotehunt bench scheduler`: expiry notices at scale, each part on its own nats-server and
//! scratch database, the scheduler as a child `remotehunt scheduler run` where it is killed:
//! 1. planning: `users` users whose access ends inside the window, one expiry run, timed;
//! 2. the scheduler SIGKILLed mid-plan and restarted (the next tick): every notice planned once;
//! 3. the sender: `sends` notices through the main bot against the fake Bot API with Telegram's
//!    limits, its sustained rate against the configured one, and 429s after warm-up;
//! 4. the sender SIGKILLed mid-send and restarted: no duplicates, no loss beyond the sends in
//!    flight at the kill (claimed, never recorded: counted as unconfirmed).

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bus::Bus;
use schemas::{Event, Job};
use testkit::FakeTelegram;

const MAIN: (&str, &str) = ("9100:bench-main", "rh_bench_main_bot");

/// The backbone of one part: an own nats-server, a scratch database, the projectors running.
struct Part {
    server: testkit::NatsServer,
    database: testkit::TestDatabase,
    bus: Bus,
    stop: tokio_util::sync::CancellationToken,
}

impl Part {
    async fn start(users: usize) -> anyhow::Result<Self> {
        let crate::backbone::Backbone {
            server,
            database,
            bus,
            stop,
        } = crate::backbone::Backbone::start().await?;
        // Ends spread over the next 23 hours: all inside the 24-hour window.
        projections::bench::insert_users_ending(
            &database.pool,
            users,
            chrono::Utc::now(),
            chrono::Duration::hours(23),
        )
        .await?;
        Ok(Self {
            server,
            database,
            bus,
            stop,
        })
    }

    /// A child `remotehunt scheduler run` against this part's servers; with the fake, it sends.
    fn scheduler(&self, telegram: Option<(&str, f64)>) -> anyhow::Result<Child> {
        let mut command = Command::new(std::env::current_exe()?);
        command
            .args(["scheduler", "run"])
            .env("NATS_URL", &self.server.url)
            .env("DATABASE_URL", &self.database.url)
            .env("EXPIRY_NOTICES_EVERY", "1h")
            .env("RUST_LOG", "error")
            .env_remove("MAIN_BOT_TOKEN")
            .env_remove("ADMIN_IDS")
            .stdout(Stdio::null());
        if let Some((url, rate)) = telegram {
            command
                .env("TELEGRAM_API_URL", url)
                .env("MAIN_BOT_TOKEN", MAIN.0)
                .env("NOTIFY_RATE", rate.to_string());
        }
        Ok(command.spawn()?)
    }

    /// Planned notices in NOTIFICATIONS.
    async fn planned(&self) -> anyhow::Result<u64> {
        Ok(self.bus.count_subject("rh.notifications.planned.>").await?)
    }
}

pub async fn scheduler(users: usize, sends: usize, rate: f64) -> anyhow::Result<()> {
    plan(users).await?;
    plan_killed(users).await?;
    send(sends, rate, None).await?;
    send(sends.min(2_000), rate, Some(0.5)).await?;
    Ok(())
}

/// 1: one expiry run over `users`, in-process.
async fn plan(users: usize) -> anyhow::Result<()> {
    let part = Part::start(users).await?;
    let runner = scheduler::runs::JobRunner {
        bus: part.bus.clone(),
        pool: part.database.pool.clone(),
        settings: scheduler::Settings::default(),
        main_bot_username: None,
    };
    let started = Instant::now();
    let counts = runner
        .run_job(Job::ExpiryNotices, "expiry-notices:1", chrono::Utc::now())
        .await?;
    let elapsed = started.elapsed();
    println!(
        "plan: {users} users ending inside the window → {} notices planned in {:.2} s (target < 10 s); counts {counts:?}",
        part.planned().await?,
        elapsed.as_secs_f64()
    );
    part.stop.cancel();
    Ok(())
}

/// 2: the scheduler SIGKILLed a third of the way through planning, then restarted and asked
/// again (as the next tick would): every notice planned exactly once.
async fn plan_killed(users: usize) -> anyhow::Result<()> {
    let part = Part::start(users).await?;
    let mut child = part.scheduler(None)?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    part.bus
        .trigger(Job::ExpiryNotices, "operator:bench")
        .await?;
    let kill_at = (users / 3) as u64;
    let deadline = Instant::now() + Duration::from_secs(120);
    while part.planned().await? < kill_at {
        anyhow::ensure!(
            Instant::now() < deadline,
            "planning never reached {kill_at}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill()?; // SIGKILL
    child.wait()?;
    let at_kill = part.planned().await?;
    let mut child = part.scheduler(None)?;
    // The killed run's tick comes back after its ack wait (30 s); the next tick, asked for here,
    // waits behind it (one tick at a time).
    tokio::time::sleep(Duration::from_secs(2)).await;
    // The read model must know what was planned before the kill, or the run plans it again
    // (harmlessly: once-per-subject ids) and the figure below would not show it.
    projections::wait_for(
        &part.database.pool,
        projections::Projection::Notifications.name(),
        part.bus
            .last_sequence(schemas::Area::Notifications.stream())
            .await?,
        Duration::from_secs(60),
    )
    .await?;
    part.bus
        .trigger(Job::ExpiryNotices, "operator:bench")
        .await?;
    let deadline = Instant::now() + Duration::from_secs(120);
    while part.planned().await? < users as u64 {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the restarted run did not plan every notice"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    child.kill()?;
    child.wait()?;
    let (notified, twice, ended) = notices_per_user(&part.bus).await?;
    println!(
        "plan, SIGKILLed at {at_kill} planned and restarted: {} planned; users notified: {notified} of {users}; a user planned twice for one kind and end: {twice}; «закончилась» besides the warning (their end passed between the two runs): {ended}",
        part.planned().await?
    );
    part.stop.cancel();
    Ok(())
}

/// 3 and 4: `sends` notices through the main bot at `rate`; with `kill_at`, the sender is
/// SIGKILLed after that share of them and restarted.
async fn send(sends: usize, rate: f64, kill_at: Option<f64>) -> anyhow::Result<()> {
    let part = Part::start(sends).await?;
    let fake = FakeTelegram::start().await?;
    fake.register_bot(MAIN.0, MAIN.1);
    for user in projections::bench::user_ids(&part.database.pool).await? {
        fake.user_says(MAIN.1, user, "/start")?;
    }
    let mut child = part.scheduler(Some((fake.url(), rate)))?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let asked = Instant::now();
    part.bus
        .trigger(Job::ExpiryNotices, "operator:bench")
        .await?;
    let kill_after = kill_at.map(|share| (sends as f64 * share) as usize);
    let mut killed = None;
    let mut last_progress = (0, Instant::now());
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let sent = fake.sent_by(MAIN.1).len();
        if let Some(after) = kill_after
            && killed.is_none()
            && sent >= after
        {
            child.kill()?; // SIGKILL
            child.wait()?;
            killed = Some(sent);
            child = part.scheduler(Some((fake.url(), rate)))?;
        }
        if sent != last_progress.0 {
            last_progress = (sent, Instant::now());
        }
        if sent >= sends || last_progress.1.elapsed() > Duration::from_secs(60) {
            break;
        }
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    child.kill()?;
    child.wait()?;
    let sent = fake.sent_by(MAIN.1);
    let mut per_user: HashMap<i64, usize> = HashMap::new();
    for message in &sent {
        *per_user.entry(message.chat_id).or_default() += 1;
    }
    let duplicates: usize = per_user.values().map(|n| n.saturating_sub(1)).sum();
    let (claimed, recorded) = claims(&part.bus).await?;
    let unconfirmed = claimed.saturating_sub(recorded);
    let lost = sends.saturating_sub(per_user.len());
    let warm_up = Duration::from_secs(2);
    let too_many_after = fake
        .too_many_requests_at(MAIN.1)
        .iter()
        .filter(|(at, _)| *at > asked + warm_up)
        .count();
    match killed {
        None => {
            let mut times: Vec<Instant> = sent.iter().map(|m| m.at).collect();
            times.sort();
            let span =
                times.last().copied().unwrap_or(asked) - times.first().copied().unwrap_or(asked);
            let sustained = times.len().saturating_sub(1) as f64 / span.as_secs_f64().max(1e-9);
            println!(
                "send: {} of {sends} notices sent at a sustained {sustained:.1} msg/s = {:.0}% of the {rate} configured (target >= 90%); 429s after the first {} s: {too_many_after}; duplicates: {duplicates}",
                sent.len(),
                100.0 * sustained / rate,
                warm_up.as_secs()
            );
        }
        Some(at) => println!(
            "send, SIGKILLed after {at} sends and restarted: {} of {sends} reached their user; duplicates: {duplicates}; not sent: {lost}, of which claimed and unconfirmed at the kill: {unconfirmed}",
            per_user.len()
        ),
    }
    part.stop.cancel();
    Ok(())
}

/// Users with a planned notice, users planned twice for one topic (cannot happen: the ids are
/// the topic), and users told both (warned, then told it ended).
async fn notices_per_user(bus: &Bus) -> anyhow::Result<(usize, usize, usize)> {
    let mut per_user: HashMap<i64, Vec<String>> = HashMap::new();
    for stored in bus
        .read_to_end(schemas::Area::Notifications.stream(), 1)
        .await?
    {
        if let Event::NotificationPlanned(plan) = stored.decode()?.envelope.event
            && let Some(user) = plan.topic.person()
        {
            per_user
                .entry(user)
                .or_default()
                .push(plan.notification_id());
        }
    }
    let twice = per_user
        .values()
        .filter(|ids| {
            let unique: std::collections::HashSet<&String> = ids.iter().collect();
            unique.len() < ids.len()
        })
        .count();
    let both = per_user.values().filter(|ids| ids.len() > 1).count();
    Ok((per_user.len(), twice, both))
}

/// Notifications claimed, and those with a recorded outcome.
async fn claims(bus: &Bus) -> anyhow::Result<(usize, usize)> {
    let (mut claimed, mut recorded) = (0, 0);
    for stored in bus
        .read_to_end(schemas::Area::Notifications.stream(), 1)
        .await?
    {
        match stored.decode()?.envelope.event {
            Event::NotificationClaimed(_) => claimed += 1,
            Event::NotificationSent(_)
            | Event::NotificationFailed(_)
            | Event::NotificationUnconfirmed(_) => recorded += 1,
            _ => {}
        }
    }
    Ok((claimed, recorded))
}
