//! `remotehunt bench backbone`: the bus's publish rate and the projection rebuild rate, each next
//! to the raw ceiling it is judged against, measured in one run on this machine. Starts its own
//! nats-server and a scratch database; leaves nothing behind.

use std::time::Instant;

use bytes::Bytes;
use chrono::{Duration, TimeZone, Utc};
use projections::Projection;
use schemas::{Author, Envelope, MessageKey, MessageReceived, MessageSource};

/// Text of a typical short post; with the envelope it makes a ~400-byte event.
const TEXT: &str = "Ищем дизайнера на лендинг, Figma, бюджет 15000, удалённо. Пишите в ЛС";

pub(crate) fn sample(n: usize, chat_offset: i64) -> Envelope {
    let key = MessageKey::new(
        -1_002_000_000_000 - chat_offset - (n % 150) as i64,
        n as i64,
    );
    let posted_at = Utc
        .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_default()
        + Duration::seconds(n as i64);
    Envelope::with_id(
        key.event_id(),
        MessageReceived {
            key,
            chat_username: Some("bench_channel".into()),
            chat_title: None,
            posted_at,
            text: TEXT.into(),
            links: vec![],
            has_media: false,
            author: Author {
                user_id: Some(n as i64 % 5000),
                username: None,
                signature: None,
            },
            contacts: vec![],
            link: Some(format!("https://t.me/bench_channel/{n}")),
            source: MessageSource::Import,
        },
    )
    .at(posted_at)
}

/// Turns of raw and bus publish.
const ROUNDS: usize = 3;

fn rate(count: usize, started: Instant) -> f64 {
    count as f64 / started.elapsed().as_secs_f64().max(1e-9)
}

pub async fn backbone(publish_events: usize, rebuild_events: usize) -> anyhow::Result<()> {
    let server = testkit::NatsServer::start()?;
    let database = testkit::database().await?;
    let bus = bus::Bus::connect(&server.url).await?;
    bus.ensure_streams().await?;
    projections::migrate(&database.pool).await?;
    let payload_size = sample(0, 0).to_json().len();
    println!(
        "nats-server {} (own, file storage); event size {payload_size} bytes",
        bus.server_version()
    );

    // The two rates swing together with what else the machine does: measured in turns, the
    // ratio is judged on the median round.
    let mut ratios = Vec::with_capacity(ROUNDS);
    for round in 0..ROUNDS {
        // Both sides start on an empty stream: a stream's per-subject state grows with it.
        if round > 0 {
            bus.jetstream()
                .delete_stream(schemas::Area::Messages.stream())
                .await?;
            bus.ensure_streams().await?;
        }
        let raw = raw_publish(
            &bus,
            publish_events,
            payload_size,
            RawShape::FewSubjects,
            round,
        )
        .await?;
        let events: Vec<Envelope> = (0..publish_events)
            .map(|n| sample(round * publish_events + n, 0))
            .collect();
        let started = Instant::now();
        bus.publish_batch(&events).await?;
        let bus_publish = rate(events.len(), started);
        ratios.push(bus_publish / raw);
        println!(
            "round {}: raw publish (bare async-nats, 150 subjects, acks awaited in windows of 1000) {raw:>7.0} msgs/s; bus publish (typed envelope, headers, once-guard, a subject each) {bus_publish:>7.0} events/s = {:.0}%",
            round + 1,
            100.0 * bus_publish / raw
        );
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "bus publish = {:.0}% of raw publish (median of {ROUNDS} rounds)",
        100.0 * ratios[ROUNDS / 2]
    );

    for shape in [
        RawShape::SubjectPerMessage,
        RawShape::WithOnceGuard,
        RawShape::WithMessageId,
        RawShape::WithBoth,
    ] {
        let rate = raw_publish(&bus, publish_events, payload_size, shape, 0).await?;
        println!("  raw, {:<52} {rate:>9.0} msgs/s", shape.describe());
    }

    // The rebuild stream: the last round's events, and more up to `rebuild_events`.
    let first = ROUNDS * publish_events;
    let last = first + rebuild_events.saturating_sub(publish_events);
    for chunk_start in (first..last).step_by(100_000) {
        let end = (chunk_start + 100_000).min(last);
        let chunk: Vec<Envelope> = (chunk_start..end).map(|n| sample(n, 0)).collect();
        bus.publish_batch(&chunk).await?;
    }
    let total = bus.last_sequence(schemas::Area::Messages.stream()).await? as usize;

    let raw_upsert = raw_upsert(&database.pool, rebuild_events.min(300_000)).await?;
    println!(
        "raw UNNEST upsert (2,000 rows + checkpoint per transaction):    {raw_upsert:>9.0} rows/s"
    );

    let config = projections::Config::new(database.url.clone());
    let started = Instant::now();
    let applied = projections::rebuild(&bus, &database.pool, Projection::Messages, &config).await?;
    let rebuild = rate(applied as usize, started);
    let rows = projections::read::vacancies::message_count(&database.pool).await?;
    println!(
        "projection rebuild ({applied} events of {total}, {rows} rows in messages): {rebuild:>9.0} events/s = {:.0}% of raw upsert",
        100.0 * rebuild / raw_upsert
    );
    crate::bench_durability::report(publish_events).await
}

/// What the raw publish sends besides the payload: the steps from bare messages to what the bus
/// sends, so the cost of each is visible.
#[derive(Debug, Clone, Copy)]
enum RawShape {
    FewSubjects,
    SubjectPerMessage,
    WithOnceGuard,
    WithMessageId,
    WithBoth,
}

impl RawShape {
    fn describe(self) -> &'static str {
        match self {
            RawShape::FewSubjects => "150 subjects",
            RawShape::SubjectPerMessage => "a subject per message (as the bus)",
            RawShape::WithOnceGuard => "... + expected-last-subject-sequence 0 (as the bus)",
            RawShape::WithMessageId => "... + Nats-Msg-Id instead (the bus's other events)",
            RawShape::WithBoth => "... + both (the bus before it dropped the msg id)",
        }
    }
}

async fn raw_publish(
    bus: &bus::Bus,
    count: usize,
    size: usize,
    shape: RawShape,
    round: usize,
) -> anyhow::Result<f64> {
    let js = bus.jetstream();
    let name = format!("BENCH_RAW_{}_{round}", shape as u8);
    js.create_stream(async_nats::jetstream::stream::Config {
        name: name.clone(),
        subjects: vec![format!("bench.{name}.>")],
        storage: async_nats::jetstream::stream::StorageType::File,
        ..Default::default()
    })
    .await?;
    let payload = Bytes::from(vec![b'x'; size]);
    let started = Instant::now();
    let mut acks = Vec::with_capacity(1000);
    for n in 0..count {
        use async_nats::jetstream::message::PublishMessage;
        let (subject, message) = match shape {
            RawShape::FewSubjects => (
                format!("bench.{name}.{}", n % 150),
                PublishMessage::build().payload(payload.clone()),
            ),
            RawShape::SubjectPerMessage => (
                format!("bench.{name}.{n}"),
                PublishMessage::build().payload(payload.clone()),
            ),
            RawShape::WithMessageId => (
                format!("bench.{name}.{n}"),
                PublishMessage::build()
                    .payload(payload.clone())
                    .message_id(format!("tg:-1002000000000:{n}")),
            ),
            RawShape::WithOnceGuard => (
                format!("bench.{name}.{n}"),
                PublishMessage::build()
                    .payload(payload.clone())
                    .expected_last_subject_sequence(0),
            ),
            RawShape::WithBoth => (
                format!("bench.{name}.{n}"),
                PublishMessage::build()
                    .payload(payload.clone())
                    .message_id(format!("tg:-1002000000000:{n}"))
                    .expected_last_subject_sequence(0),
            ),
        };
        acks.push(js.send_publish(subject, message).await?);
        if acks.len() == 1000 {
            for ack in acks.drain(..) {
                ack.await?;
            }
        }
    }
    for ack in acks {
        ack.await?;
    }
    Ok(rate(count, started))
}

/// The bus's raw publish ceiling on this machine (bare async-nats, 150 subjects, acks awaited
/// in windows of 1,000), for benchmarks that judge a rate against it.
pub(crate) async fn raw_ceiling(bus: &bus::Bus, count: usize) -> anyhow::Result<f64> {
    let size = sample(0, 0).to_json().len();
    raw_publish(bus, count, size, RawShape::FewSubjects, 99).await
}

/// The ceiling for a rebuild: the same rows, prepared in memory, upserted with UNNEST in
/// transactions of 2,000 rows with a checkpoint row each (`projections::bench`).
async fn raw_upsert(pool: &sqlx::PgPool, count: usize) -> anyhow::Result<f64> {
    projections::bench::create_raw_tables(pool).await?;
    let started = Instant::now();
    for start in (0..count).step_by(2_000) {
        let rows: Vec<MessageReceived> = (start..(start + 2_000).min(count))
            .filter_map(|n| match sample(n, 0).event {
                schemas::Event::MessageReceived(e) => Some(e),
                _ => None,
            })
            .collect();
        projections::bench::raw_upsert_batch(pool, &rows, (start + rows.len()) as i64).await?;
    }
    Ok(rate(count, started))
}

/// Rules and dedup are the per-message work of ingest before anything is published: measured
/// together, single-threaded, on real posts.
pub fn ingest(
    corpus: &std::path::Path,
    catalog: &std::path::Path,
    passes: usize,
) -> anyhow::Result<()> {
    use anyhow::Context;
    let catalog: toml::Table = toml::from_str(
        &std::fs::read_to_string(catalog)
            .with_context(|| format!("reading {}", catalog.display()))?,
    )?;
    let rules: schemas::Rules = catalog
        .get("rules")
        .cloned()
        .map(|r| r.try_into())
        .transpose()?
        .unwrap_or_default();
    let rules = ingest::rules::CompiledRules::compile(&rules)?;
    let text =
        std::fs::read_to_string(corpus).with_context(|| format!("reading {}", corpus.display()))?;
    let posts: Vec<(MessageKey, String)> = text
        .lines()
        .enumerate()
        .filter_map(|(n, line)| {
            let value: serde_json::Value = serde_json::from_str(line).ok()?;
            let text = value.get("text")?.as_str()?.to_owned();
            let chat = value.get("chat_id").and_then(|v| v.as_i64()).unwrap_or(0);
            let id = value
                .get("message_id")
                .and_then(|v| v.as_i64())
                .unwrap_or(n as i64);
            Some((MessageKey::new(chat, id), text))
        })
        .collect();
    let started = Instant::now();
    let passed = posts
        .iter()
        .filter(|(_, text)| rules.decide(text).accepted)
        .count();
    println!(
        "rules alone: {:.0} msgs/s ({passed} of {} pass)",
        rate(posts.len(), started),
        posts.len()
    );
    let mut dedup = ingest::dedup::Deduper::default();
    let start = Utc
        .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_default();
    let (mut accepted, mut duplicates) = (0usize, 0usize);
    let started = Instant::now();
    for pass in 0..passes {
        for (n, (key, text)) in posts.iter().enumerate() {
            let key = MessageKey::new(
                key.chat_id - pass as i64 * 1_000_000_000_000,
                key.message_id,
            );
            // As ingest's screening does: normalise once for rules and dedup.
            let normalised = ingest::text::normalise(text);
            if rules.decide_normalised(&normalised).accepted {
                accepted += 1;
                let at = start + Duration::days(pass as i64) + Duration::seconds(n as i64);
                duplicates += usize::from(dedup.check_normalised(key, &normalised, at).is_some());
            }
        }
    }
    let total = posts.len() * passes;
    println!(
        "rules + dedup, one thread: {total} messages in {:.2}s = {:.0} msgs/s ({accepted} passed the rules, {duplicates} duplicates)",
        started.elapsed().as_secs_f64(),
        rate(total, started)
    );
    Ok(())
}

/// Writes a `messages`-long export of one channel whose texts cycle through the corpus, then
/// imports it through ingest into an own nats-server: parse, raw events, rules, dedup, decisions.
pub async fn import(messages: usize, corpus: &std::path::Path) -> anyhow::Result<()> {
    use anyhow::Context;
    let texts: Vec<String> = std::fs::read_to_string(corpus)
        .with_context(|| format!("reading {}", corpus.display()))?
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v.get("text").and_then(|t| t.as_str()).map(str::to_owned))
        .collect();
    anyhow::ensure!(!texts.is_empty(), "no texts in {}", corpus.display());
    let start = 1_790_000_000i64;
    let export_messages: Vec<serde_json::Value> = (0..messages)
        .map(|n| {
            serde_json::json!({
                "id": n + 1, "type": "message", "date_unixtime": (start + n as i64 * 30).to_string(),
                "date": "2026-09-21T00:00:00", "from": "bench", "from_id": format!("user{}", n % 977),
                "text": texts[n % texts.len()],
            })
        })
        .collect();
    let export = serde_json::json!({"name": "bench", "type": "public_channel", "id": 1_999_000_001, "messages": export_messages});
    let file = tempfile::NamedTempFile::new()?;
    std::fs::write(file.path(), serde_json::to_vec(&export)?)?;
    let size = std::fs::metadata(file.path())?.len();

    let server = testkit::NatsServer::start()?;
    let bus = bus::Bus::connect(&server.url).await?;
    bus.ensure_streams().await?;
    let catalog = ingest::catalog::CatalogFile::parse(include_str!("../../catalog.toml"))?;
    ingest::catalog::apply_file(&bus, &catalog, false).await?;
    let started = Instant::now();
    let report = ingest::import::import_file(bus.clone(), file.path(), Some("bench")).await?;
    println!(
        "import of a {messages}-message export ({:.1} MB), end to end into the streams: {:.2}s = {:.0} msgs/s \
         ({} accepted, {} rejected, {} duplicates)",
        size as f64 / 1e6,
        started.elapsed().as_secs_f64(),
        rate(messages, started),
        report.accepted,
        report.rejected,
        report.duplicates
    );
    Ok(())
}

/// `remotehunt bench classify`: the local model over real posts on one core: throughput, and
/// the share the default threshold would send to the LLM on real (unlabelled) traffic.
pub fn classify(
    corpus: &std::path::Path,
    model: &classify::local::LocalModel,
    thresholds: &classify::eval::Thresholds,
    passes: usize,
) -> anyhow::Result<()> {
    use anyhow::Context;
    use classify::eval::Route;
    let text =
        std::fs::read_to_string(corpus).with_context(|| format!("reading {}", corpus.display()))?;
    let posts: Vec<String> = text
        .lines()
        .filter_map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).ok()?;
            Some(value.get("text")?.as_str()?.to_owned())
        })
        .filter(|t| !t.trim().is_empty())
        .collect();
    anyhow::ensure!(!posts.is_empty(), "{} holds no posts", corpus.display());
    let started = Instant::now();
    let mut to_llm = 0;
    for _ in 0..passes.max(1) {
        for post in &posts {
            let prediction = model.predict(post);
            to_llm += usize::from(thresholds.route(&prediction) == Route::Llm);
        }
    }
    let predicted = posts.len() * passes.max(1);
    println!(
        "local model {}: {predicted} predictions on one core, {:.0} posts/s; LLM share at threshold {}: {:.1}%",
        model.model_version(),
        rate(predicted, started),
        thresholds.confident,
        100.0 * to_llm as f64 / predicted as f64
    );
    Ok(())
}
