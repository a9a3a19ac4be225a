//! Paying with YooKassa end to end: real NATS and Postgres, the fake YooKassa and the fake Bot
//! API, the billing service's webhook and poller.

#![allow(clippy::unwrap_used)] // tests may panic on broken set-up

use std::time::Duration;

use billing::reconcile::Billing;
use billing::refund::Requested;
use billing::service::Settings;
use billing::yookassa::{ReceiptSettings, YooKassa};
use bus::Bus;
use projections::read;
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
    bus.read_to_end(schemas::Area::Payments.stream(), 1)
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

/// A user on a trial, the fakes, and the billing service listening.
struct Setup {
    bus: Bus,
    db: testkit::TestDatabase,
    shop: FakeYooKassa,
    telegram: FakeTelegram,
    billing: Billing,
    trial_end: chrono::DateTime<chrono::Utc>,
    shutdown: CancellationToken,
}

/// The poller every 200 ms, anyone may notify.
fn quick_poller() -> Settings {
    Settings {
        poll_every: Duration::from_millis(200),
        allowlist: None,
    }
}

async fn setup(settings: Settings, receipt: Option<ReceiptSettings>) -> Setup {
    let testkit::App {
        nats_url: _,
        bus,
        db,
        shutdown,
    } = testkit::App::start().await;
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
    let mut yookassa = YooKassa::new(shop.url(), "506751", "test_secret");
    if let Some(receipt) = receipt {
        yookassa = yookassa.with_receipt(receipt);
    }
    let billing = Billing {
        bus: bus.clone(),
        yookassa,
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
        settings,
        shutdown.clone(),
    ));
    Setup {
        bus,
        db,
        shop,
        telegram,
        billing,
        trial_end,
        shutdown,
    }
}

/// Starts a payment for `plan` and returns (our id, YooKassa's id).
async fn checkout(setup: &Setup, plan: &Plan) -> (String, String) {
    let started = billing::checkout::yookassa(
        &setup.bus,
        &setup.billing.yookassa,
        USER,
        plan,
        "https://t.me/rh_main_bot",
    )
    .await
    .unwrap();
    let provider_id = setup
        .shop
        .payments()
        .into_iter()
        .find(|p| p["metadata"]["payment_id"] == json!(started.payment_id))
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (started.payment_id, provider_id)
}

#[tokio::test]
async fn pay_by_webhook_and_by_poller_once_each_and_forgeries_activate_nothing() {
    // given a user on a trial, the fakes, and the billing service
    let Setup {
        bus,
        db,
        shop,
        telegram,
        billing,
        trial_end,
        shutdown,
    } = setup(quick_poller(), None).await;

    // when the user, who reads times in Yekaterinburg, starts paying for a week
    let zone = schemas::TimeZoneChosen {
        user_id: USER,
        zone: "Asia/Yekaterinburg".into(),
    };
    bus.publish(&schemas::Envelope::new(zone)).await.unwrap();
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
    // then the week starts after the trial, and the main bot tells them at once, in their zone
    let extended = extensions(&bus).await;
    assert_eq!(extended.len(), 1);
    assert_eq!(extended[0].from, trial_end);
    assert_eq!(extended[0].until, trial_end + chrono::Duration::days(7));
    eventually("the user is told", async || {
        telegram
            .sent_to("rh_main_bot", USER)
            .iter()
            .any(|m| m.text.contains("Оплата прошла") && m.text.contains("(UTC+5)"))
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
    // and a payment created at YooKassa but never recorded (billing crashed in between, so no
    // link reached anyone) is somehow paid
    let orphan = billing
        .yookassa
        .create_payment(
            "yk-crashed-before-recording",
            19_900,
            "week",
            "https://t.me/rh_main_bot",
            json!({"payment_id": "yk-crashed-before-recording", "user_id": USER.to_string()}),
        )
        .await
        .unwrap();
    assert_eq!(shop.settle(&orphan.id, true).await.unwrap(), 200);
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
        let paid_until = read::users::access(&db.pool, USER)
            .await
            .unwrap()
            .expect("the user's row")
            .paid_until;
        let succeeded = read::payments::succeeded_count(&db.pool, USER)
            .await
            .unwrap();
        // (Postgres keeps microseconds)
        let close = paid_until
            .is_some_and(|t| (t - granted.until).abs() < chrono::Duration::milliseconds(1));
        close && succeeded == 2
    })
    .await;
    // and the revenue read model shows what each plan brought in
    let mut revenue: Vec<(String, i64, i64)> = read::payments::revenue_daily(&db.pool)
        .await
        .unwrap()
        .into_iter()
        .filter(|day| day.provider == "yookassa")
        .map(|day| (day.plan, day.payments, day.net_minor))
        .collect();
    revenue.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        revenue,
        [
            ("month".to_string(), 1, 59_900),
            ("week".to_string(), 1, 19_900)
        ]
    );
    shutdown.cancel();
}

async fn refunds_of(bus: &Bus, payment_id: &str) -> Vec<schemas::PaymentRefunded> {
    bus.read_subject(&format!("rh.payments.refunded.{payment_id}"))
        .await
        .unwrap()
        .into_iter()
        .filter_map(|s| match s.envelope.event {
            Event::PaymentRefunded(r) => Some(r),
            _ => None,
        })
        .collect()
}

fn access_now(events: &[Event]) -> schemas::subscription::Access {
    schemas::subscription::Access::from_events(events)
}

#[tokio::test]
async fn refunds_take_back_the_unused_days_once_whoever_starts_them() {
    // given a shop that sends 54-FZ receipts, and a user who bought a week and then a month
    let receipt = ReceiptSettings {
        vat_code: 1,
        tax_system_code: Some(2),
        email: "receipts@remotehunt.example".into(),
    };
    let setup = setup(quick_poller(), Some(receipt)).await;
    let (bus, shop) = (&setup.bus, &setup.shop);
    let (week, week_yk) = checkout(&setup, &plan("week", 7, 199)).await;
    let (month, month_yk) = checkout(&setup, &plan("month", 30, 599)).await;
    assert_eq!(shop.payments()[0]["receipt_registration"], "pending");
    assert_eq!(shop.settle(&week_yk, true).await.unwrap(), 200);
    assert_eq!(shop.settle(&month_yk, true).await.unwrap(), 200);
    let paid_until = access_now(&user_events(bus).await).paid_until.unwrap();
    assert_eq!(paid_until, setup.trial_end + chrono::Duration::days(37));

    // when an admin refunds the week (not started yet: the trial still runs)
    let refunds = billing::refund::Refunds {
        bus,
        yookassa: Some(&setup.billing.yookassa),
        bot: setup.billing.bot.as_ref(),
    };
    let request = billing::refund::RefundRequest {
        payment_id: week.clone(),
        admin_id: 9001,
        reason: "передумал".into(),
    };
    let requested = refunds.refund(&request).await.unwrap();
    // then YooKassa returned 199 ₽, the refund is recorded naming the admin, all 7 days go
    let Requested::Refunded(recorded) = requested else {
        panic!("{requested:?}")
    };
    assert!(recorded.new);
    assert_eq!(shop.refunds().len(), 1);
    assert_eq!(shop.refunds()[0]["amount"]["value"], "199.00");
    let recorded_refunds = refunds_of(bus, &week).await;
    assert_eq!(recorded_refunds.len(), 1);
    assert_eq!(recorded_refunds[0].admin_id, Some(9001));
    assert_eq!(recorded_refunds[0].amount.minor, 19_900);
    let revoked = recorded.revoked.unwrap();
    assert_eq!(revoked.until, paid_until - chrono::Duration::days(7));
    // and the user is told
    eventually("the user is told", async || {
        setup
            .telegram
            .sent_to("rh_main_bot", USER)
            .iter()
            .any(|m| m.text.starts_with("↩️ Возврат оформлен: 199.00 ₽"))
    })
    .await;

    // when the admin asks again, and YooKassa's notification of that refund comes three times
    let again = refunds.refund(&request).await.unwrap();
    let refund_id = shop.refunds()[0]["id"].as_str().unwrap().to_owned();
    let notification = json!({"type": "notification", "event": "refund.succeeded",
                              "object": shop.refunds()[0]});
    for _ in 0..3 {
        assert_eq!(shop.send_notification(&notification).await.unwrap(), 200);
    }
    // and a forged notification of a refund of the month that never happened
    let forged = json!({"event": "refund.succeeded",
                        "object": {"id": "no-such-refund", "payment_id": month_yk}});
    assert_eq!(shop.send_notification(&forged).await.unwrap(), 200);
    // then nothing changes: one refund at YooKassa, one recorded, one revocation
    assert_eq!(
        again,
        Requested::Refunded(billing::activate::RefundRecorded {
            new: false,
            revoked: None
        })
    );
    assert_eq!(shop.refunds().len(), 1);
    assert_eq!(refunds_of(bus, &week).await.len(), 1);
    assert_eq!(refunds_of(bus, &week).await[0].refund_id, refund_id);
    assert!(refunds_of(bus, &month).await.is_empty());
    let revocations = |events: Vec<Event>| {
        events
            .into_iter()
            .filter(|e| matches!(e, Event::SubscriptionRevoked(_)))
            .count()
    };
    assert_eq!(revocations(user_events(bus).await), 1);

    // when the month is refunded in YooKassa's dashboard
    let (_, status) = shop.refund_in_dashboard(&month_yk).await.unwrap();
    assert_eq!(status, 200);
    // then its notification records it (no admin) and access falls back to the trial's end
    assert_eq!(refunds_of(bus, &month).await.len(), 1);
    assert_eq!(refunds_of(bus, &month).await[0].admin_id, None);
    let access = access_now(&user_events(bus).await);
    assert_eq!(access.paid_until, Some(setup.trial_end));
    assert_eq!(revocations(user_events(bus).await), 2);

    // when YooKassa is slow to finish a refund of a third payment
    let (two_weeks, two_weeks_yk) = checkout(&setup, &plan("two_weeks", 14, 349)).await;
    assert_eq!(shop.settle(&two_weeks_yk, true).await.unwrap(), 200);
    shop.refunds_pending(true);
    let pending = refunds
        .refund(&billing::refund::RefundRequest {
            payment_id: two_weeks.clone(),
            ..request.clone()
        })
        .await
        .unwrap();
    // then nothing is taken back until it finishes
    let Requested::Pending { refund_id } = pending else {
        panic!("{pending:?}")
    };
    assert!(refunds_of(bus, &two_weeks).await.is_empty());
    assert_eq!(shop.finish_refund(&refund_id).await.unwrap(), 200);
    assert_eq!(refunds_of(bus, &two_weeks).await.len(), 1);
    assert_eq!(revocations(user_events(bus).await), 3);

    // and the read models show three refunded payments, net revenue zero
    eventually("the read models", async || {
        let mut rows: Vec<(String, i64, i64)> =
            read::payments::recent(&setup.db.pool, Some(USER), i64::MAX)
                .await
                .unwrap()
                .into_iter()
                .map(|p| (p.status, p.amount_minor, p.refunded_minor))
                .collect();
        rows.sort_by_key(|row| row.1);
        let net = read::payments::net_revenue_minor(&setup.db.pool)
            .await
            .unwrap();
        rows == [
            ("refunded".to_string(), 19_900, 19_900),
            ("refunded".to_string(), 34_900, 34_900),
            ("refunded".to_string(), 59_900, 59_900),
        ] && net == Some(0)
    })
    .await;
    setup.shutdown.cancel();
}

#[tokio::test]
async fn an_allowlist_refuses_notifications_from_elsewhere() {
    // given a billing service that takes notifications only from YooKassa's networks (and no
    // poller to make up for a refused one)
    let setup = setup_allowing("yookassa").await;
    let (week, week_yk) = checkout(&setup, &plan("week", 7, 199)).await;
    // when the payment succeeds and a notification comes from this machine
    let status = setup.shop.settle(&week_yk, true).await.unwrap();
    // then it is refused, and nothing activates
    assert_eq!(status, 403);
    assert_eq!(successes(&setup.bus).await, 0);
    assert!(
        billing::ledger::succeeded(&setup.bus, &week)
            .await
            .unwrap()
            .is_none()
    );
    setup.shutdown.cancel();

    // given one that also allows this machine
    let setup = setup_allowing("yookassa,127.0.0.1").await;
    let (_, week_yk) = checkout(&setup, &plan("week", 7, 199)).await;
    // then the same notification activates
    assert_eq!(setup.shop.settle(&week_yk, true).await.unwrap(), 200);
    assert_eq!(successes(&setup.bus).await, 1);
    setup.shutdown.cancel();
}

async fn setup_allowing(networks: &str) -> Setup {
    let settings = Settings {
        poll_every: Duration::from_secs(3600),
        allowlist: Some(networks.parse().unwrap()),
    };
    setup(settings, None).await
}
