//! `remotehunt bench throughput`: how many posts a second this machine takes from ingest
//! through the rules and dedup, the local classifier and fan-out's planner, sustained for a
//! while, next to the bus's raw publish ceiling measured in the same run. Everything runs here
//! at once, as `remotehunt all` would: ingest (one writer), the `classify` consumer, the planner
//! with subscribers in every category, the projectors, on its own nats-server and a scratch
//! database. Where the time goes: the CPU seconds of this process, of the nats-server and of
//! Postgres over the measured stretch.

use std::path::Path;
use std::time::{Duration, Instant};

use bus::Bus;
use schemas::{Area, MessageKey};

const CHANNEL: (i64, &str) = (-1_001_888_000_000, "throughput_jobs");
/// Posts per ingest call: what the live reader or an import hands over at once.
const BATCH: usize = 500;
/// Subscribers per category, so every vacancy is planned for someone.
const SUBSCRIBERS_PER_CATEGORY: usize = 5;
/// How far apart in posting time two passes over the corpus are: more than dedup's window.
const PASS_APART: chrono::TimeDelta = ingest::dedup::DEFAULT_WINDOW
    .checked_add(&chrono::TimeDelta::days(1))
    .expect("a day more");

pub async fn throughput(corpus: &Path, seconds: u64) -> anyhow::Result<()> {
    let texts: Vec<String> = std::fs::read_to_string(corpus)?
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|post| post["text"].as_str().map(str::to_owned))
        .filter(|text| text.chars().count() > 40)
        .collect();
    anyhow::ensure!(texts.len() > 100, "too few posts in {}", corpus.display());
    let crate::backbone::Backbone {
        server,
        database,
        bus,
        stop,
    } = crate::backbone::Backbone::start().await?;

    let ceiling = crate::bench::raw_ceiling(&bus, 100_000).await?;
    let catalog = ingest::catalog::CatalogFile::parse(include_str!("../../catalog.toml"))?;
    ingest::catalog::apply_file(&bus, &catalog, true).await?;
    let mut users = Vec::new();
    for (index, category) in catalog.categories.iter().enumerate() {
        for n in 0..SUBSCRIBERS_PER_CATEGORY {
            let user = 30_000_000 + (index * SUBSCRIBERS_PER_CATEGORY + n) as i64;
            users.extend(testkit::events::subscriber(user, &[&category.slug], 3));
        }
    }
    let published = bus.publish_batch(&users).await?;
    // The backbone's projectors are running: wait for them to show the subscribers.
    let last = published.iter().map(|p| p.sequence).max().unwrap_or(0);
    let projected = projections::wait_for(
        &database.pool,
        projections::Projection::Users.name(),
        last,
        Duration::from_secs(60),
    )
    .await?;
    anyhow::ensure!(projected, "the subscribers were never projected");

    let mut services = tokio::task::JoinSet::new();
    services.spawn(classify::service::run(
        bus.clone(),
        classify::decide::Classifier::embedded()?,
        classify::service::ServiceConfig::default(),
        stop.clone(),
    ));
    services.spawn(fanout::service::run(
        bus.clone(),
        database.pool.clone(),
        Default::default(),
        fanout::service::FanoutConfig {
            plan: fanout::plan::PlanConfig { max_age: None },
            ..Default::default()
        },
        stop.clone(),
    ));
    let mut ingestor = ingest::ingestor::Ingestor::start(bus.clone()).await?;
    ingestor
        .ensure_channel(
            CHANNEL.0,
            Some(CHANNEL.1),
            "Поток",
            schemas::ChannelKind::Channel,
        )
        .await?;
    println!(
        "nats-server {} (own, file storage); {} real posts from {}, each pass {} days after the last; {} subscribers; {seconds} s",
        bus.server_version(),
        texts.len(),
        corpus.display(),
        PASS_APART.num_days(),
        catalog.categories.len() * SUBSCRIBERS_PER_CATEGORY
    );
    println!(
        "raw publish ceiling (bare async-nats, acks in windows of 1,000): {ceiling:.0} msgs/s"
    );

    // Posts go in as fast as ingest takes them; the stages behind it are sampled each second.
    let feeding = tokio::spawn({
        let stop = stop.clone();
        async move {
            let mut n = 0usize;
            // A year back, so the ~20 passes of a minute's run are still in the past.
            let start = chrono::Utc::now() - chrono::TimeDelta::days(365);
            let mut report = ingest::ingestor::Report::default();
            while !stop.is_cancelled() {
                let batch: Vec<_> = (0..BATCH)
                    .map(|_| {
                        n += 1;
                        post(&texts, start, n)
                    })
                    .collect();
                let step = ingestor.ingest(batch).await?;
                report.messages += step.messages;
                report.accepted += step.accepted;
                report.rejected += step.rejected;
                report.duplicates += step.duplicates;
            }
            anyhow::Ok(report)
        }
    });
    let warm_up = Duration::from_secs(5);
    tokio::time::sleep(warm_up).await;
    let first = Sample::take(&bus, server.pid()).await?;
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let last = Sample::take(&bus, server.pid()).await?;
    stop.cancel();
    let report = feeding.await??;
    while services.join_next().await.is_some() {}

    let span = last.at.duration_since(first.at).as_secs_f64();
    let rate = |a: u64, b: u64| (b.saturating_sub(a)) as f64 / span;
    println!(
        "sustained over {span:.0} s after {} s of warm-up:",
        warm_up.as_secs()
    );
    println!(
        "  entered ingest (raw events)       {:>7.0} posts/s",
        rate(first.received, last.received)
    );
    println!(
        "  screened (rules + dedup)          {:>7.0} posts/s",
        rate(first.screened, last.screened)
    );
    println!(
        "  classified (local model)          {:>7.0} posts/s  = {:.0}% of the raw publish ceiling (target >= 2,000)",
        rate(first.classified, last.classified),
        100.0 * rate(first.classified, last.classified) / ceiling
    );
    println!(
        "  planned (DeliveryPlanned events)  {:>7.0} deliveries/s",
        rate(first.planned, last.planned)
    );
    println!(
        "ingest overall: {} posts, {} accepted, {} rejected by rules, {} duplicates",
        report.messages, report.accepted, report.rejected, report.duplicates
    );
    let cpu = |a: f64, b: f64| 100.0 * (b - a) / span;
    println!(
        "CPU over the stretch (200% = both cores): remotehunt (ingest, classify, planner, projectors) {:.0}%, nats-server {:.0}%, Postgres {:.0}%",
        cpu(first.own_cpu, last.own_cpu),
        cpu(first.nats_cpu, last.nats_cpu),
        cpu(first.postgres_cpu, last.postgres_cpu)
    );
    Ok(())
}

/// Post `n`: corpus post `n mod len`, one real post as a channel would carry it. Each pass over
/// the corpus is dated [`PASS_APART`] after the one before, past dedup's window, so a
/// post comes back as a vacancy reposted after two weeks does: new to dedup, classified again.
/// (Reposts within the corpus itself stay duplicates, as they are in the channels.)
fn post(
    texts: &[String],
    start: chrono::DateTime<chrono::Utc>,
    n: usize,
) -> schemas::MessageReceived {
    let pass = (n / texts.len()) as i32;
    let message_id = n as i64;
    schemas::MessageReceived {
        key: MessageKey::new(CHANNEL.0, message_id),
        chat_username: Some(CHANNEL.1.into()),
        chat_title: Some("Поток".into()),
        posted_at: start + PASS_APART * pass + chrono::TimeDelta::milliseconds(n as i64),
        text: texts[n % texts.len()].clone(),
        links: Vec::new(),
        has_media: false,
        author: schemas::Author {
            user_id: Some(message_id % 50_000),
            username: None,
            signature: None,
        },
        contacts: Vec::new(),
        link: Some(format!("https://t.me/{}/{message_id}", CHANNEL.1)),
        source: schemas::MessageSource::Live,
    }
}

/// Counts of each stage and CPU seconds so far.
struct Sample {
    at: Instant,
    received: u64,
    screened: u64,
    classified: u64,
    planned: u64,
    own_cpu: f64,
    nats_cpu: f64,
    postgres_cpu: f64,
}

impl Sample {
    async fn take(bus: &Bus, nats_pid: u32) -> anyhow::Result<Self> {
        Ok(Self {
            at: Instant::now(),
            received: bus.last_sequence(Area::Messages.stream()).await?,
            screened: bus.last_sequence(Area::Screening.stream()).await?,
            classified: bus.last_sequence(Area::Classifications.stream()).await?,
            planned: bus.count_subject("rh.deliveries.planned.>").await?,
            own_cpu: cpu_seconds(std::process::id()),
            nats_cpu: cpu_seconds(nats_pid),
            postgres_cpu: processes_named("postgres")
                .into_iter()
                .map(cpu_seconds)
                .sum(),
        })
    }
}

/// User + system CPU seconds of a process, from `/proc/<pid>/stat` (0 where unreadable).
fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the command (which may hold spaces) start after the last ')'.
    let Some(rest) = stat.rsplit(')').next() else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the command.
    (ticks(11) + ticks(12)) / 100.0
}

fn processes_named(name: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm.trim() == name)
        })
        .collect()
}
