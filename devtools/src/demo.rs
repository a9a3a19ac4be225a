//! `remotehunt demo`: the whole pipeline on sample data written by us, against a local fake
//! Telegram: applies streams, migrates, publishes the catalog, signs a sample subscriber up
//! through the bots' buttons, imports sample channel exports, classifies them with the local
//! model, fans the vacancies out through the category bots, and prints what each bot sent and
//! what the read models hold. Ids are deterministic, so running it again stores (and sends)
//! nothing twice.

use anyhow::Context;
use chrono::{DateTime, Duration, TimeZone, Utc};
use projections::Projection;
use schemas::*;

use ingest::catalog::CatalogFile;

const USER: i64 = 700000001;

/// Sample chat exports written for the demo: (file, public @username).
const EXPORTS: &[(&[u8], &str)] = &[
    (
        include_bytes!("../../demo/design-jobs.json"),
        "demo_design_jobs",
    ),
    (
        include_bytes!("../../demo/dev-freelance.json"),
        "demo_dev_jobs",
    ),
];

fn at(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0)
        .single()
        .unwrap_or_default()
        + Duration::minutes(minutes)
}

fn events() -> Vec<Envelope> {
    let mut out = Vec::new();
    let user_events: Vec<Event> = vec![
        UserRegistered {
            user_id: USER,
            username: Some("demo_freelancer".into()),
            first_name: "Аня".into(),
            language_code: Some("ru".into()),
            source: None,
        }
        .into(),
        TrialStarted {
            user_id: USER,
            starts_at: at(1),
            ends_at: at(1) + Duration::days(2),
        }
        .into(),
        CategoriesChosen {
            user_id: USER,
            categories: vec!["design".into(), "texts".into()],
        }
        .into(),
        CategoryBotStarted {
            user_id: USER,
            category: "design".into(),
            bot_id: None,
        }
        .into(),
    ];
    for (i, event) in user_events.into_iter().enumerate() {
        out.push(Envelope::with_id(format!("demo:user:{i}"), event).at(at(1)));
    }
    let payment_id = "demo-payment-1".to_string();
    let amount = Money {
        minor: 19_900,
        currency: Currency::Rub,
    };
    out.push(
        Envelope::with_id(
            "demo:payment:created",
            PaymentCreated {
                payment_id: payment_id.clone(),
                user_id: USER,
                plan: "week".into(),
                days: 7,
                provider: Provider::Yookassa,
                amount,
                provider_payment_id: Some("yk-demo-1".into()),
            },
        )
        .at(at(20)),
    );
    out.push(
        Envelope::with_id(
            "demo:payment:succeeded",
            PaymentSucceeded {
                payment_id: payment_id.clone(),
                user_id: USER,
                provider: Provider::Yookassa,
                provider_payment_id: "yk-demo-1".into(),
                amount,
                paid_at: at(21),
            },
        )
        .at(at(21)),
    );
    out.push(
        Envelope::with_id(
            "demo:subscription:1",
            SubscriptionExtended {
                user_id: USER,
                from: at(1) + Duration::days(2),
                until: at(1) + Duration::days(9),
                source: ExtensionSource::Payment { payment_id },
            },
        )
        .at(at(21)),
    );
    out
}

pub async fn run(nats_url: &str, database_url: &str) -> anyhow::Result<()> {
    let bus = bus::Bus::connect(nats_url).await?;
    let report = bus.ensure_streams().await?;
    println!(
        "== streams: {} created or updated, {} unchanged",
        report.changed(),
        report.items.len() - report.changed()
    );
    let pool = projections::open(database_url).await?;
    println!("== database migrated");

    let catalog = CatalogFile::parse(include_str!("../../catalog.toml"))?;
    // The demo's channels come from its imports, not from catalog.toml: keep them.
    let envelopes = ingest::catalog::apply_file(&bus, &catalog, true).await?;
    println!("== catalog.toml applied: {} change(s)", envelopes.len());

    let config = projections::Config::new(database_url);
    let stop_projectors = tokio_util::sync::CancellationToken::new();
    let projectors = tokio::spawn(projections::run(
        bus.clone(),
        pool.clone(),
        config.clone(),
        stop_projectors.clone(),
    ));
    let catalog_end = bus.last_sequence(schemas::Area::Catalog.stream()).await?;
    let caught_up = projections::wait_for(
        &pool,
        Projection::Catalog.name(),
        catalog_end,
        std::time::Duration::from_secs(30),
    );
    anyhow::ensure!(caught_up.await?, "the catalog projector did not catch up");
    let live = crate::demo_live::start(&bus, &pool).await?;
    for (bytes, username) in EXPORTS {
        let report = ingest::import::import_bytes(bus.clone(), bytes, Some(username)).await?;
        println!(
            "== imported @{username}: {} messages, {} new: {} accepted, {} rejected by rules, {} duplicates{}",
            report.messages,
            report.new,
            report.accepted,
            report.rejected,
            report.duplicates,
            if report.channels_added > 0 {
                "; channel added to the catalog"
            } else {
                ""
            }
        );
    }
    let today = todays_post();
    let report =
        ingest::import::import_bytes(bus.clone(), today.as_bytes(), Some(EXPORTS[0].1)).await?;
    println!(
        "== imported today's post in @{}: {} new (one a day, for the public pick)",
        EXPORTS[0].1, report.new
    );

    classify_accepted(&bus).await?;
    live.scheduler_jobs(&bus, &pool).await?;
    live.finish(&pool).await?;
    stop_projectors.cancel();
    projectors.await??;

    let events = events();
    let published = bus.publish_batch(&events).await?;
    let fresh = published.iter().filter(|p| !p.duplicate).count();
    println!(
        "== published {} sample events ({fresh} new, {} already stored)",
        events.len(),
        events.len() - fresh
    );

    // A malformed event, as a broken producer might send: it must be dead-lettered, not stop
    // the projector.
    let garbage = async_nats::jetstream::message::PublishMessage::build()
        .payload(bytes::Bytes::from_static(
            b"{\"type\":\"MessageReceived\",\"data\":42}",
        ))
        .message_id("demo:garbage");
    bus.jetstream()
        .send_publish("rh.messages.received.demo-garbage", garbage)
        .await?
        .await?;

    for projection in Projection::ALL {
        projections::catch_up(&bus, &pool, projection, &config)
            .await
            .with_context(|| format!("projecting {}", projection.name()))?;
    }
    println!("== projectors caught up\n");
    print_read_models(&pool).await?;
    println!("\n== dead letters");
    for letter in bus.dead_letters().await? {
        println!(
            "  #{} {} seq {} ({}): {}",
            letter.dlq_sequence, letter.stream, letter.sequence, letter.consumer, letter.reason
        );
    }
    Ok(())
}

/// Runs the classify service (local model, no LLM) until every accepted post is classified.
/// A vacancy posted now in the design channel, as an export of one message: one a day (its id
/// is the day's), so the public pick has something from the last 24 hours.
fn todays_post() -> String {
    let now = Utc::now();
    let day = now.timestamp() / 86_400;
    serde_json::json!({
        "name": "Демо: дизайн-вакансии",
        "type": "public_channel",
        "id": 1_000_000_001_i64,
        "messages": [{
            "id": 10_000 + day,
            "type": "message",
            "date": now.format("%Y-%m-%dT%H:%M:%S").to_string(),
            "date_unixtime": now.timestamp().to_string(),
            "from": "Демо: дизайн-вакансии",
            "from_id": "channel1000000001",
            "author": "demo_shop",
            "text": "#вакансия Нужен дизайнер карточек товаров для маркетплейса, бюджет 8 000 ₽, удалённо. Пишите @demo_shop"
        }]
    })
    .to_string()
}

async fn classify_accepted(bus: &bus::Bus) -> anyhow::Result<()> {
    use async_nats::jetstream::consumer::pull;
    let classifier = classify::decide::Classifier::embedded()?;
    let cancel = tokio_util::sync::CancellationToken::new();
    let service = tokio::spawn(classify::service::run(
        bus.clone(),
        classifier,
        classify::service::ServiceConfig::default(),
        cancel.clone(),
    ));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let stream = bus
            .jetstream()
            .get_stream(schemas::Area::Screening.stream())
            .await?;
        if let Ok(mut consumer) = stream.get_consumer::<pull::Config>("classify").await {
            let info = consumer.info().await?;
            if info.num_pending == 0
                && info.num_ack_pending == 0
                && info.delivered.stream_sequence > 0
            {
                break;
            }
        }
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "the classifier did not finish within 30 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    cancel.cancel();
    service.await??;
    println!("== classifier (local model, no LLM configured) classified every accepted post");
    Ok(())
}

async fn print_read_models(pool: &sqlx::PgPool) -> anyhow::Result<()> {
    use projections::read;
    println!("categories:");
    for category in read::catalog::active_categories(pool).await? {
        println!("  {:<12} {}", category.slug, category.name);
    }
    println!("channels:");
    for channel in read::catalog::channels(pool).await? {
        println!(
            "  {:<16} @{:<18} {} {}",
            channel.key,
            channel.username.unwrap_or_default(),
            channel.title,
            if channel.enabled { "" } else { "(disabled)" }
        );
    }
    println!("rules:");
    for rules in read::catalog::channel_rules(pool).await? {
        println!("  {:<8} {}", rules.scope, rules.rules);
    }
    println!("messages and screening:");
    for m in read::vacancies::screened(pool).await? {
        println!(
            "  {}:{:<4} {:<9} {:<20} {}…",
            m.chat_id, m.message_id, m.verdict, m.rule, m.text_start
        );
    }
    println!("vacancies:");
    for v in read::vacancies::classified(pool).await? {
        println!(
            "  {}:{:<4} {:<8} {:<26} [{}] {}",
            v.chat_id,
            v.message_id,
            v.kind,
            v.title,
            v.categories.unwrap_or_default(),
            v.budget.unwrap_or_default()
        );
    }
    println!("users:");
    for u in read::users::overview(pool).await? {
        println!(
            "  {} @{} trial until {} paid until {} categories [{}] bots started [{}]",
            u.user_id,
            u.username,
            fmt_time(u.trial_ends_at),
            fmt_time(u.paid_until),
            u.categories.unwrap_or_default(),
            u.bots.unwrap_or_default()
        );
    }
    println!("payments:");
    for p in read::payments::all(pool).await? {
        println!(
            "  {} user {} plan {} via {} {}.{:02} {} {}",
            p.payment_id,
            p.user_id,
            p.plan,
            p.provider,
            p.amount_minor / 100,
            p.amount_minor % 100,
            p.currency,
            p.status
        );
    }
    println!("deliveries:");
    for d in read::deliveries::all(pool).await? {
        println!(
            "  user {} got {}:{} via the {} bot at {}",
            d.user_id,
            d.chat_id,
            d.message_id,
            d.category,
            fmt_time(d.delivered_at)
        );
    }
    Ok(())
}

fn fmt_time(time: Option<DateTime<Utc>>) -> String {
    time.map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| "-".into())
}
