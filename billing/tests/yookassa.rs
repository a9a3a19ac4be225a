//! Paying with YooKassa end to end: real NATS and Postgres, the fake YooKassa and the fake Bot
//! API, the billing service's webhook and poller.

#![allow(clippy::unwrap_used)] // tests may panic on broken set-up

use std::time::Duration;

use billing::reconcile::Billing;
use billing::yookassa::YooKassa;
use bus::Bus;
use schemas::subscription::Plan;
use schemas::{Event, ExtensionSource};
use serde_json::json;
use testkit::eventually;
use testkit::{FakeTelegram, FakeYooKassa};
use tokio_util::sync::CancellationToken;

const MAIN: &str = "6000:main-secret";
const USER: i64 = 4242;

fn plan(slug: &str, days: u32, rub: u32) -> Plan {
    Plan {
        slug: slug.into(),
        name: slug.into(),
        days,
        rub,
        stars: 100,
    }
}

async fn user_events(bus: &Bus) -> Vec<Event> {
    bus.read_subject(&format!("rh.users.*.{USER}"))
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.envelope.event)
        .collect()
}

async fn extensions(bus: &Bus) -> Vec<schemas::SubscriptionExtended> {
    user_events(bus)
        .await
        .into_iter()
        .filter_map(|e| match e {
            Event::SubscriptionExtended(x) => Some(x),
            _ => None,
        })
        .collect()
}

async fn successes(bus: &Bus) -> usize {
    bus.read_to_end("PAYMENTS", 1)
        .await
        .unwrap()
        .iter()
        .filter(|m| {
            matches!(
                m.decode().unwrap().envelope.event,
                Event::PaymentSucceeded(_)
            )
        })
        .count()
}

#[tokio::test]
async fn pay_by_webhook_and_by_poller_once_each_and_forgeries_activate_nothing() {
    // given a user on a trial, the fakes, and the billing service
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
    bus.publish_batch(&testkit::events::subscriber(USER, &["design"], 2))
        .await
        .unwrap();
    let trial_end = schemas::subscription::Access::from_events(&user_events(&bus).await)
        .trial_ends_at
        .unwrap();
    let shop = FakeYooKassa::start("506751", "test_secret").await.unwrap();
    let telegram = FakeTelegram::start().await.unwrap();
    telegram.register_bot(MAIN, "rh_main_bot");
    telegram.user_says("rh_main_bot", USER, "/start").unwrap();
    let bot = teloxide::Bot::new(MAIN).set_api_url(url::Url::parse(telegram.url()).unwrap());
    let billing = Billing {
        bus: bus.clone(),
        yookassa: YooKassa::new(shop.url(), "506751", "test_secret"),
        bot: Some(bot),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let webhook = format!(
        "http://{}{}",
        listener.local_addr().unwrap(),
        billing::webhook::PATH
    );
    shop.set_webhook(&webhook);
    tokio::spawn(billing::service::run(
        billing.clone(),
        db.pool.clone(),
        listener,
        Duration::from_millis(200),
        shutdown.clone(),
    ));

    // when the user starts paying for a week
    let week = billing::checkout::yookassa(
        &bus,
        &billing.yookassa,
        USER,
        &plan("week", 7, 199),
        "https://t.me/rh_main_bot",
    )
    .await
    .unwrap();
    assert!(
        week.confirmation_url
            .starts_with("https://yoomoney.ru/checkout")
    );
    let payments = shop.payments();
    let yk_id = payments[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        payments[0]["amount"],
        json!({"value": "199.00", "currency": "RUB"})
    );
    assert_eq!(
        payments[0]["metadata"]["payment_id"],
        json!(week.payment_id)
    );

    // and a forged "succeeded" notification arrives before they pay
    let forged = json!({"type": "notification", "event": "payment.succeeded",
        "object": {"id": yk_id, "status": "succeeded", "paid": true,
                   "amount": {"value": "199.00", "currency": "RUB"},
                   "metadata": {"payment_id": week.payment_id}}});
    assert_eq!(shop.send_notification(&forged).await.unwrap(), 200);
    // then nothing activates: the API says the payment is still pending
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(successes(&bus).await, 0);

    // when they pay and YooKassa notifies
    assert_eq!(shop.settle(&yk_id, true).await.unwrap(), 200);
    // then the week starts after the trial, and the main bot tells them at once
    let extended = extensions(&bus).await;
    assert_eq!(extended.len(), 1);
    assert_eq!(extended[0].from, trial_end);
    assert_eq!(extended[0].until, trial_end + chrono::Duration::days(7));
    eventually("the user is told", async || {
        telegram
            .sent_to("rh_main_bot", USER)
            .iter()
            .any(|m| m.text.contains("Оплата прошла"))
    })
    .await;

    // when the same notification comes five more times, racing the poller
    let notification = shop.notification(&yk_id).unwrap();
    for _ in 0..5 {
        assert_eq!(shop.send_notification(&notification).await.unwrap(), 200);
    }
    // and bad notifications arrive: malformed, an unknown type, a huge body, an unknown payment
    assert_eq!(
        shop.send_notification(&json!("not an object"))
            .await
            .unwrap(),
        400
    );
    let unknown_type = json!({"event": "deal.closed", "object": {"id": yk_id}});
    assert_eq!(shop.send_notification(&unknown_type).await.unwrap(), 200);
    let huge = json!({"event": "payment.succeeded", "object": {"id": "x".repeat(100_000)}});
    assert_eq!(shop.send_notification(&huge).await.unwrap(), 413);
    let unknown = json!({"event": "payment.succeeded", "object": {"id": "no-such-payment"}});
    assert_eq!(shop.send_notification(&unknown).await.unwrap(), 200);
    tokio::time::sleep(Duration::from_millis(500)).await;
    // then there is still one success and one week
    assert_eq!(successes(&bus).await, 1);
    assert_eq!(extensions(&bus).await.len(), 1);

    // when they buy a month and the notification is lost
    let month = billing::checkout::yookassa(
        &bus,
        &billing.yookassa,
        USER,
        &plan("month", 30, 599),
        "https://t.me/rh_main_bot",
    )
    .await
    .unwrap();
    let month_id = shop
        .payments()
        .into_iter()
        .find(|p| p["metadata"]["payment_id"] == json!(month.payment_id))
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    shop.settle_silently(&month_id, true).unwrap();
    // then the poller activates it, from the end of the paid week
    eventually("the poller's activation", async || {
        extensions(&bus).await.len() == 2
    })
    .await;
    let extended = extensions(&bus).await;
    assert_eq!(extended[1].from, extended[0].until);
    assert_eq!(
        extended[1].until,
        extended[0].until + chrono::Duration::days(30)
    );
    assert_eq!(successes(&bus).await, 2);

    // when an admin grants three days
    let granted = billing::activate::grant(&bus, USER, 3, 9001, "компенсация за сбой")
        .await
        .unwrap();
    // then they follow the month, naming the admin
    assert_eq!(granted.from, extended[1].until);
    assert!(matches!(
        granted.source,
        ExtensionSource::Grant { admin_id: 9001, .. }
    ));

    // and the read models show both payments succeeded and access until the grant's end
    eventually("the read models", async || {
        let paid_until: Option<chrono::DateTime<chrono::Utc>> =
            sqlx::query_scalar("SELECT paid_until FROM users WHERE user_id = $1")
                .bind(USER)
                .fetch_one(&db.pool)
                .await
                .unwrap();
        let succeeded: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM payments WHERE user_id = $1 AND status = 'succeeded'",
        )
        .bind(USER)
        .fetch_one(&db.pool)
        .await
        .unwrap();
        // (Postgres keeps microseconds)
        let close = paid_until
            .is_some_and(|t| (t - granted.until).abs() < chrono::Duration::milliseconds(1));
        close && succeeded == 2
    })
    .await;
    // and the revenue read model shows what each plan brought in
    let revenue: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT plan, payments, net_minor::bigint FROM revenue_daily WHERE provider = 'yookassa' ORDER BY plan",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(
        revenue,
        [
            ("month".to_string(), 1, 59_900),
            ("week".to_string(), 1, 19_900)
        ]
    );
    shutdown.cancel();
}
