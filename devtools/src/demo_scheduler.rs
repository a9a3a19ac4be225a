//! The demo's scheduler part: the scheduler runs beside the bots with an admin and a public
//! channel, and each job is asked for by hand (`scheduler trigger`'s path, the same as a
//! schedule's tick): an expiry notice to a user whose trial ends within the window, the admins'
//! daily report with its chart, the public channel's daily pick. A rerun on the same day finds
//! the report and the pick sent already and sends nothing twice.

use std::time::{Duration, Instant};

use bus::Bus;
use schemas::{ChatTarget, Job};
use sqlx::PgPool;
use testkit::FakeTelegram;
use testkit::telegram::Sent;
use tokio_util::sync::CancellationToken;

/// The demo's admin: gets the report.
pub const ADMIN: i64 = 700000003;
/// A user who just signed up: their two-day trial ends within the demo's three-day window.
pub const NEWCOMER: i64 = 700000004;
const CHANNEL: (i64, &str) = (-1_009_000_000_001, "rh_demo_jobs");

/// Starts the scheduler against the fake, with the main bot sending.
pub fn start(
    bus: &Bus,
    pool: &PgPool,
    fake: &FakeTelegram,
    main_bot: teloxide::Bot,
    main_username: &str,
    stop: &CancellationToken,
) -> anyhow::Result<tokio::task::JoinHandle<anyhow::Result<()>>> {
    fake.create_channel(CHANNEL.0, CHANNEL.1, "Вакансии дня (демо)");
    fake.make_channel_admin(main_username, CHANNEL.0)?;
    let settings = scheduler::Settings {
        // The demo asks for each run by hand; the schedules stay as in production.
        expiry_notice_before: chrono::Duration::days(3),
        admins: vec![ADMIN],
        public_channel: Some(ChatTarget::Id(CHANNEL.0)),
        ..scheduler::Settings::default()
    };
    Ok(tokio::spawn(scheduler::run(
        bus.clone(),
        pool.clone(),
        scheduler::SchedulerConfig::new(settings, Some(main_bot)),
        stop.clone(),
    )))
}

/// Asks for `job` now and waits for its run's outcome: its counts.
async fn trigger(bus: &Bus, pool: &PgPool, job: Job) -> anyhow::Result<serde_json::Value> {
    let tick = bus.trigger(job, "operator:demo").await?;
    let run_id = schemas::job_run_id(job, tick);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let runs = projections::read::scheduler::recent_runs(pool, 5).await?;
        if let Some(run) = runs
            .iter()
            .find(|r| r.run_id == run_id && r.outcome.is_some())
        {
            if let Some(error) = &run.error {
                anyhow::bail!("{job} failed: {error}");
            }
            return Ok(run.counts.clone());
        }
        anyhow::ensure!(Instant::now() < deadline, "{job} did not finish in 30 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// What the main bot sent `chat`, once `done` says it is all there (or after 10 s: a rerun
/// sends nothing).
async fn sent_to(
    fake: &FakeTelegram,
    bot: &str,
    chat: i64,
    done: impl Fn(&[Sent]) -> bool,
) -> Vec<Sent> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done(&fake.sent_to(bot, chat)) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    fake.sent_to(bot, chat)
}

fn any(sent: &[Sent], prefix: &str) -> bool {
    sent.iter().any(|m| m.text.starts_with(prefix))
}

fn first_lines(text: &str, lines: usize) -> String {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .take(lines)
        .collect::<Vec<_>>()
        .join(" / ")
}

/// The three jobs, each asked for once, and what reached Telegram.
pub async fn show(bus: &Bus, pool: &PgPool, fake: &FakeTelegram, bot: &str) -> anyhow::Result<()> {
    let counts = trigger(bus, pool, Job::ExpiryNotices).await?;
    println!("== scheduler: expiry notices run: {counts}");
    let sent = sent_to(fake, bot, NEWCOMER, |s| any(s, "⏳")).await;
    match sent.iter().find(|m| m.text.starts_with("⏳")) {
        Some(notice) => println!("  @{bot} → {NEWCOMER}: {}", first_lines(&notice.text, 1)),
        None => {
            println!("  (everyone due was told on an earlier run: once per user and end of access)")
        }
    }

    let counts = trigger(bus, pool, Job::AdminReport).await?;
    println!("== scheduler: admin report run: {counts}");
    let report = sent_to(fake, bot, ADMIN, |s| {
        s.iter().any(|m| m.photo.is_some())
            && s.iter()
                .any(|m| m.photo.is_none() && m.text.starts_with("📊"))
    })
    .await;
    match report.iter().find(|m| m.photo.is_some()) {
        Some(chart) => {
            let path = std::env::temp_dir().join("remotehunt-demo-report.png");
            std::fs::write(&path, chart.photo.as_deref().unwrap_or_default())?;
            println!(
                "  @{bot} → admin {ADMIN}: a chart ({}), caption: {}",
                path.display(),
                first_lines(&chart.text, 2)
            );
        }
        None => println!("  (sent on an earlier run today: once per admin per day)"),
    }
    if let Some(text) = report
        .iter()
        .find(|m| m.photo.is_none() && m.text.starts_with("📊"))
    {
        println!("  @{bot} → admin {ADMIN}: {}", first_lines(&text.text, 6));
    }

    let counts = trigger(bus, pool, Job::PublicPick).await?;
    println!("== scheduler: public pick run: {counts}");
    if counts["categories"] == 0 {
        println!("  (no vacancy of the last 24 hours to pick)");
        return Ok(());
    }
    match sent_to(fake, bot, CHANNEL.0, |s| !s.is_empty())
        .await
        .first()
    {
        Some(post) => println!("  @{bot} → @{}: {}", CHANNEL.1, first_lines(&post.text, 4)),
        None => println!("  (posted on an earlier run today: once per day)"),
    }
    Ok(())
}
