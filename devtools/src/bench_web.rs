//! `remotehunt bench web`: the admin web UI and the content API over read models of
//! production size. Loads the users and vacancies as events through the projectors (never by
//! SQL), logs an admin in with a real login link, then times the pages an admin opens most
//! (the dashboard, a filtered vacancy list, a text search) and the API's vacancies endpoint,
//! one request at a time: p50, p95 and the slowest, with the indexes the queries use.

use std::time::{Duration, Instant};

use chrono::Utc;
use schemas::{
    CategoriesChosen, Currency, Envelope, Event, MessageKey, Money, PaymentCreated,
    PaymentSucceeded, Provider, TrialStarted, UserRegistered,
};

const CATEGORIES: [(&str, &str); 6] = [
    ("design", "Дизайн"),
    ("development", "Разработка"),
    ("texts", "Тексты"),
    ("marketing", "Маркетинг"),
    ("video", "Видео"),
    ("assistant", "Ассистенты"),
];
/// Events per published batch.
const BATCH: usize = 5_000;
/// Over how many days the users and the posts are spread (the chart shows the last 14).
const SPREAD_DAYS: i64 = 60;
const ADMIN: i64 = 1;

/// What a round of requests measured.
struct Timings(Vec<Duration>);

impl Timings {
    fn percentile(&self, q: f64) -> Duration {
        let mut sorted = self.0.clone();
        sorted.sort();
        let index = ((sorted.len() as f64 - 1.0) * q).round() as usize;
        sorted.get(index).copied().unwrap_or_default()
    }

    fn line(&self, what: &str, budget_ms: u128) -> String {
        let ms = |d: Duration| format!("{:.1}", d.as_secs_f64() * 1000.0);
        let p95 = self.percentile(0.95);
        format!(
            "{what}: {} requests, p50 {} ms, p95 {} ms, slowest {} ms (budget p95 < {budget_ms} ms: {})",
            self.0.len(),
            ms(self.percentile(0.5)),
            ms(p95),
            ms(self.percentile(1.0)),
            if p95.as_millis() < budget_ms {
                "met"
            } else {
                "MISSED"
            }
        )
    }
}

fn texts() -> Vec<String> {
    let corpus = std::path::Path::new("../shared/corpus/pool.jsonl");
    let from_corpus: Vec<String> = std::fs::read_to_string(corpus)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|post| post["text"].as_str().map(str::to_owned))
        .filter(|text| !text.trim().is_empty())
        .take(5_000)
        .collect();
    if from_corpus.is_empty() {
        // Without the corpus: posts of our own, of a typical length.
        (0..50)
            .map(|n| format!("Ищем специалиста №{n} на проект: лендинг, Figma, бюджет {} ₽, удалённо. Пишите в ЛС, пришлите портфолио и сроки.", 5_000 + n * 1_000))
            .collect()
    } else {
        from_corpus
    }
}

fn user_events(user_id: i64, now: chrono::DateTime<Utc>) -> Vec<Envelope> {
    let registered = now - chrono::Duration::minutes(user_id * 37 % (SPREAD_DAYS * 24 * 60));
    let slugs: Vec<String> = CATEGORIES
        .iter()
        .cycle()
        .skip(user_id as usize % CATEGORIES.len())
        .take(1 + user_id as usize % 3)
        .map(|(slug, _)| (*slug).to_owned())
        .collect();
    let mut events = vec![
        Envelope::new(UserRegistered {
            user_id,
            username: Some(format!("bench_user_{user_id}")),
            first_name: format!("Пользователь {user_id}"),
            language_code: Some("ru".into()),
            source: (user_id % 10 == 0).then(|| "channel".to_owned()),
        })
        .at(registered),
        Envelope::new(TrialStarted {
            user_id,
            starts_at: registered,
            ends_at: registered + chrono::Duration::days(3),
        })
        .at(registered),
        Envelope::new(CategoriesChosen {
            user_id,
            categories: slugs,
        })
        .at(registered),
    ];
    // One in ten pays, a day after signing up.
    if user_id % 10 == 3 {
        let paid_at = registered + chrono::Duration::days(1);
        let payment_id = format!("bench-{user_id}");
        let (provider, amount) = if user_id % 20 == 3 {
            (
                Provider::Stars,
                Money {
                    minor: 300,
                    currency: Currency::Xtr,
                },
            )
        } else {
            (
                Provider::Yookassa,
                Money {
                    minor: 49_000,
                    currency: Currency::Rub,
                },
            )
        };
        events.push(
            Envelope::new(PaymentCreated {
                payment_id: payment_id.clone(),
                user_id,
                plan: "month".into(),
                days: 30,
                provider,
                amount,
                provider_payment_id: None,
            })
            .at(paid_at),
        );
        events.push(
            Envelope::new(PaymentSucceeded {
                payment_id: payment_id.clone(),
                user_id,
                provider,
                provider_payment_id: format!("p-{payment_id}"),
                amount,
                paid_at,
            })
            .at(paid_at),
        );
    }
    events
}

fn vacancy_events(n: i64, texts: &[String], now: chrono::DateTime<Utc>) -> Vec<Envelope> {
    let chat_id = -1_003_000_000_000 - n % 150;
    let key = MessageKey::new(chat_id, n);
    let at = now - chrono::Duration::seconds(n * 5 % (SPREAD_DAYS * 86_400));
    // Each post ends in a tag of its own: what an admin searching for one post types.
    let text = format!("{}\n#job{n}", texts[n as usize % texts.len()]);
    let category = CATEGORIES[n as usize % CATEGORIES.len()].0;
    testkit::events::vacancy(key, &text, "HR", &[category])
        .into_iter()
        .map(|mut envelope| {
            if let Event::MessageReceived(received) = &mut envelope.event {
                received.posted_at = at;
            }
            envelope.at(at)
        })
        .collect()
}

async fn publish_all(
    bus: &bus::Bus,
    what: &str,
    count: i64,
    events_of: impl Fn(i64) -> Vec<Envelope>,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut batch = Vec::with_capacity(BATCH);
    let mut published = 0usize;
    for n in 1..=count {
        batch.extend(events_of(n));
        if batch.len() >= BATCH || n == count {
            bus.publish_batch(&batch).await?;
            published += batch.len();
            batch.clear();
        }
    }
    println!(
        "published {count} {what} as {published} events in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn time_requests(
    client: &reqwest::Client,
    url: &str,
    header: (&str, &str),
    count: usize,
) -> anyhow::Result<Timings> {
    let mut timings = Vec::with_capacity(count);
    for _ in 0..count {
        let started = Instant::now();
        let response = client.get(url).header(header.0, header.1).send().await?;
        let status = response.status();
        let body = response.bytes().await?;
        anyhow::ensure!(
            status.is_success(),
            "{url}: {status}: {}",
            String::from_utf8_lossy(&body)
        );
        timings.push(started.elapsed());
    }
    Ok(Timings(timings))
}

/// The admin's session cookie, through a login link as the main bot would send it.
async fn log_in(
    client: &reqwest::Client,
    bus: &bus::Bus,
    base: &url::Url,
) -> anyhow::Result<String> {
    let link = bots::admin_login::issue(bus, base, ADMIN, "bench").await?;
    let token = link
        .path()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    let response = client
        .post(format!("{base}login"))
        .header("origin", base.origin().ascii_serialization())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={token}"))
        .send()
        .await?;
    let cookie = response
        .headers()
        .get("set-cookie")
        .and_then(|c| c.to_str().ok())
        .and_then(|c| c.split(';').next())
        .ok_or_else(|| anyhow::anyhow!("logging in gave no session: {}", response.status()))?;
    Ok(cookie.to_owned())
}

pub async fn web(users: i64, vacancies: i64, requests: usize) -> anyhow::Result<()> {
    let crate::backbone::Backbone {
        server: _server,
        database,
        bus,
        stop,
    } = crate::backbone::Backbone::start().await?;
    let pool = database.pool.clone();
    let now = Utc::now();
    bus.publish_batch(&testkit::events::categories(&CATEGORIES))
        .await?;
    // Issued first, so it is projected with the rest.
    let token = web::api::tokens::issue(&bus, &pool, "bench", None)
        .await?
        .token;
    let texts = texts();
    publish_all(&bus, "users", users, |n| user_events(n, now)).await?;
    publish_all(&bus, "vacancies", vacancies, |n| {
        vacancy_events(n, &texts, now)
    })
    .await?;
    let started = Instant::now();
    for projection in projections::Projection::ALL {
        let last = bus.last_sequence(projection.stream()).await?;
        projections::wait_for(&pool, projection.name(), last, Duration::from_secs(3_600)).await?;
    }
    let counted = projections::bench::read_model_sizes(&pool).await?;
    println!(
        "projected in {:.0} s more: {} users, {} vacancies, {} payments in the read models",
        started.elapsed().as_secs_f64(),
        counted.0,
        counted.1,
        counted.2
    );
    // What autovacuum does on a running database between bulk loads: statistics, and the
    // visibility map that lets counts read indexes alone.
    sqlx::query("VACUUM ANALYZE").execute(&pool).await?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = url::Url::parse(&format!("http://{}/", listener.local_addr()?))?;
    let site = web::Web {
        bus: bus.clone(),
        pool: pool.clone(),
        config: web::WebConfig {
            // The measured requests are one caller's: the limiter must not be what is measured.
            api_requests_per_minute: u32::MAX,
            ..web::WebConfig::new(base.clone(), vec![ADMIN])
        },
        main_bot: None,
        yookassa: None,
        past_days: Default::default(),
    };
    tokio::spawn(web::run(site, listener, stop.clone()));
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let cookie = log_in(&client, &bus, &base).await?;
    let session = ("cookie", cookie.as_str());
    let bearer = format!("Bearer {token}");
    let api = ("authorization", bearer.as_str());

    // One warm-up request each: connections and Postgres' caches, as a running service has.
    let rounds = [
        ("dashboard", format!("{base}"), session, 150),
        (
            "vacancy list, category filter (50 rows)",
            format!("{base}vacancies?category=design&kind=vacancy"),
            session,
            50,
        ),
        (
            "vacancy list, text search (50 rows)",
            format!("{base}vacancies?q=%D0%B4%D0%B8%D0%B7%D0%B0%D0%B9%D0%BD"),
            session,
            50,
        ),
        (
            "vacancy list, text search for a rare word (one post)",
            format!("{base}vacancies?q=%23job{}", vacancies / 2),
            session,
            50,
        ),
        (
            "API /api/v1/vacancies?category=design (50 items)",
            format!("{base}api/v1/vacancies?category=design&limit=50"),
            api,
            50,
        ),
    ];
    for (what, url, header, budget) in &rounds {
        time_requests(&client, url, *header, 1).await?;
        let timings = time_requests(&client, url, *header, requests).await?;
        println!("{}", timings.line(what, *budget));
    }
    let indexes: Vec<(String,)> = sqlx::query_as(
        "SELECT indexname FROM pg_indexes WHERE tablename IN ('vacancies', 'vacancy_categories', 'messages', 'users', 'payments')
         ORDER BY indexname",
    )
    .fetch_all(&pool)
    .await?;
    let names: Vec<String> = indexes.into_iter().map(|(name,)| name).collect();
    println!("indexes: {}", names.join(", "));
    stop.cancel();
    Ok(())
}
