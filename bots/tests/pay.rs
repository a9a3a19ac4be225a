//! Paying in the main bot with YooKassa, end to end: "Моя подписка" → "Оплатить" → a plan → the
//! provider → the payment link; the payer pays at the fake YooKassa, its notification reaches
//! the billing service, and the main bot tells the user their subscription is on.

#![allow(clippy::unwrap_used)] // tests may panic on broken set-up

use std::time::Duration;

use bots::main_bot::{MainBot, MainBotConfig, Payments};
use bus::Bus;
use schemas::Event;
use schemas::subscription::Plan;
use teloxide::Bot;
use testkit::eventually;
use testkit::{FakeTelegram, FakeYooKassa};
use tokio_util::sync::CancellationToken;

const MAIN: &str = "8000:main-secret";
const USER: i64 = 808;

fn buttons(message: &testkit::telegram::Sent) -> Vec<(String, String)> {
    message.reply_markup.as_ref().unwrap()["inline_keyboard"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|row| row.as_array().unwrap().iter())
        .map(|b| {
            let target = b.get("callback_data").or(b.get("url")).unwrap();
            (
                b["text"].as_str().unwrap().to_owned(),
                target.as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The read models, the fakes, the main bot with payments, and the billing service.
struct Shop {
    bus: Bus,
    db: testkit::TestDatabase,
    telegram: FakeTelegram,
    shop: FakeYooKassa,
    week: Plan,
    shutdown: CancellationToken,
    _nats: testkit::TestNats,
}

async fn open_shop() -> Shop {
    let nats = testkit::nats();
    let bus = Bus::from_client(nats.connect().await.unwrap());
    bus.ensure_streams().await.unwrap();
    let db = testkit::database().await.unwrap();
    projections::migrate(&db.pool).await.unwrap();
    let shutdown = CancellationToken::new();
    tokio::spawn(projections::run(
        bus.clone(),
        db.pool.clone(),
        projections::Config::new(db.url.clone()),
        shutdown.clone(),
    ));
    let telegram = FakeTelegram::start().await.unwrap();
    telegram.register_bot(MAIN, "rh_main_bot");
    let bot = Bot::new(MAIN).set_api_url(url::Url::parse(telegram.url()).unwrap());
    let shop = FakeYooKassa::start("506751", "test_secret").await.unwrap();
    let yookassa = billing::yookassa::YooKassa::new(shop.url(), "506751", "test_secret");
    let plans = ingest::catalog::CatalogFile::parse(include_str!("../../catalog.toml"))
        .unwrap()
        .plans;
    let week: Plan = plans.iter().find(|p| p.slug == "week").unwrap().clone();
    let config = MainBotConfig {
        poll_timeout: 1,
        payments: Some(Payments {
            plans,
            yookassa: yookassa.clone(),
            return_url: "https://t.me/rh_main_bot".into(),
        }),
        ..MainBotConfig::default()
    };
    tokio::spawn(
        MainBot::new(bot.clone(), bus.clone(), db.pool.clone(), config).run(shutdown.clone()),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    shop.set_webhook(&format!(
        "http://{}{}",
        listener.local_addr().unwrap(),
        billing::webhook::PATH
    ));
    let billing = billing::reconcile::Billing {
        bus: bus.clone(),
        yookassa,
        bot: Some(bot),
    };
    tokio::spawn(billing::service::run(
        billing,
        db.pool.clone(),
        listener,
        Duration::from_secs(30),
        shutdown.clone(),
    ));

    Shop {
        bus,
        db,
        telegram,
        shop,
        week,
        shutdown,
        _nats: nats,
    }
}

/// The main bot's "payment went through" messages to USER.
fn confirmations(telegram: &FakeTelegram) -> usize {
    telegram
        .sent_to("rh_main_bot", USER)
        .iter()
        .filter(|m| m.text.starts_with("✅ Оплата прошла"))
        .count()
}

/// Signs USER up and walks "Моя подписка" → "Оплатить" → the week, checking each screen: the
/// offer to pay, the catalog's plans; returns the providers screen.
async fn to_providers(telegram: &FakeTelegram) -> testkit::telegram::Sent {
    telegram.user_says("rh_main_bot", USER, "/start").unwrap();
    eventually("the greeting", async || {
        telegram.sent_to("rh_main_bot", USER).len() == 1
    })
    .await;
    let greeting = telegram.sent_to("rh_main_bot", USER)[0].message_id;
    telegram.press("rh_main_bot", USER, greeting, "s").unwrap();
    eventually("the subscription screen", async || {
        telegram.sent_to("rh_main_bot", USER).len() == 2
    })
    .await;
    let screen = telegram.sent_to("rh_main_bot", USER)[1].clone();
    assert!(screen.text.starts_with("Пробный период"), "{}", screen.text);
    // then it offers to pay; the plans come from the catalog, then the provider
    assert_eq!(buttons(&screen)[0], ("💳 Оплатить".into(), "p".into()));
    telegram
        .press("rh_main_bot", USER, screen.message_id, "p")
        .unwrap();
    eventually("the plans", async || {
        telegram.sent_to("rh_main_bot", USER).len() == 3
    })
    .await;
    let offer = telegram.sent_to("rh_main_bot", USER)[2].clone();
    assert_eq!(
        buttons(&offer),
        [
            ("1 неделя — 199 ₽".to_string(), "p:week".to_string()),
            ("2 недели — 349 ₽".to_string(), "p:two_weeks".to_string()),
            ("1 месяц — 599 ₽".to_string(), "p:month".to_string()),
        ]
    );
    telegram
        .press("rh_main_bot", USER, offer.message_id, "p:week")
        .unwrap();
    eventually("the providers", async || {
        telegram.sent_to("rh_main_bot", USER).len() == 4
    })
    .await;
    telegram.sent_to("rh_main_bot", USER)[3].clone()
}

#[tokio::test]
async fn a_trial_user_pays_for_a_week_in_the_main_bot() {
    // given the read models, the fakes, the main bot with payments, and the billing service
    let Shop {
        bus: _bus,
        db,
        telegram,
        shop,
        week,
        shutdown,
        _nats,
    } = open_shop().await;

    // when a user signs up and walks "Моя подписка" → "Оплатить" → a week
    let providers = to_providers(&telegram).await;
    telegram
        .press(
            "rh_main_bot",
            USER,
            providers.message_id,
            &buttons(&providers)[0].1,
        )
        .unwrap();
    // and a forged plan changes nothing
    telegram
        .press("rh_main_bot", USER, providers.message_id, "py:forever")
        .unwrap();
    eventually("the payment link", async || {
        telegram.sent_to("rh_main_bot", USER).len() == 5
    })
    .await;
    let link = telegram.sent_to("rh_main_bot", USER)[4].clone();
    assert!(link.text.contains("199 ₽"), "{}", link.text);
    assert!(
        buttons(&link)[0]
            .1
            .starts_with("https://yoomoney.ru/checkout")
    );
    assert_eq!(
        shop.payments().len(),
        1,
        "one payment, none for the forged plan"
    );

    // when the user pays and YooKassa notifies
    let payment = shop.payments()[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(shop.settle(&payment, true).await.unwrap(), 200);
    // then the main bot tells them, and the read model shows a week after the trial
    eventually("the confirmation", async || confirmations(&telegram) > 0).await;
    eventually("the paid period", async || {
        let row: Option<(Option<chrono::DateTime<chrono::Utc>>, Option<chrono::DateTime<chrono::Utc>>)> =
            sqlx::query_as("SELECT trial_ends_at, paid_until FROM users WHERE user_id = $1")
                .bind(USER)
                .fetch_optional(&db.pool)
                .await
                .unwrap();
        matches!(row, Some((Some(trial), Some(paid)))
            if (paid - trial - chrono::Duration::days(i64::from(week.days))).abs() < chrono::Duration::seconds(1))
    })
    .await;
    shutdown.cancel();
}

#[tokio::test]
async fn a_trial_user_pays_in_stars_once_and_a_tampered_checkout_is_refused() {
    // given the shop, and a user at the providers screen
    let Shop {
        bus,
        db: _db,
        telegram,
        week,
        shutdown,
        ..
    } = open_shop().await;
    let providers = to_providers(&telegram).await;
    assert_eq!(
        buttons(&providers)[1],
        ("⭐ 100 Telegram Stars".into(), "ps:week".into())
    );

    // when they choose Stars
    telegram
        .press("rh_main_bot", USER, providers.message_id, "ps:week")
        .unwrap();
    // then an XTR invoice for the week's Stars arrives
    eventually("the invoice", async || {
        !telegram.invoices("rh_main_bot").is_empty()
    })
    .await;
    let invoice = telegram.invoices("rh_main_bot")[0].clone();
    assert_eq!(invoice["amount"], i64::from(week.stars));
    let payload = invoice["payload"].as_str().unwrap().to_owned();

    // when a tampered checkout comes (another amount, another payload), then the real one
    telegram
        .pre_checkout("rh_main_bot", USER, &payload, 1)
        .unwrap();
    telegram
        .pre_checkout("rh_main_bot", USER, "st-forged", 100)
        .unwrap();
    telegram
        .pre_checkout("rh_main_bot", USER, &payload, 100)
        .unwrap();
    // then only the real one is answered ok
    eventually("three answers", async || {
        telegram.pre_checkout_answers("rh_main_bot").len() == 3
    })
    .await;
    let answers: Vec<bool> = telegram
        .pre_checkout_answers("rh_main_bot")
        .iter()
        .map(|a| a["ok"].as_bool().unwrap())
        .collect();
    assert_eq!(answers, [false, false, true]);

    // when Telegram reports the payment, twice
    telegram
        .successful_payment("rh_main_bot", USER, &payload, 100, "stxCHARGE1")
        .unwrap();
    telegram
        .successful_payment("rh_main_bot", USER, &payload, 100, "stxCHARGE1")
        .unwrap();
    // then the user is told once, and one payment activates one week
    eventually("the confirmation", async || confirmations(&telegram) > 0).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(confirmations(&telegram), 1);
    let events: Vec<Event> = bus
        .read_subject(&format!("rh.users.*.{USER}"))
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.envelope.event)
        .collect();
    let weeks = events
        .iter()
        .filter(|e| matches!(e, Event::SubscriptionExtended(x) if x.until - x.from == chrono::Duration::days(7)))
        .count();
    assert_eq!(weeks, 1);
    shutdown.cancel();
}
