//! Paying in the main bot with YooKassa, end to end: "Моя подписка" → "Оплатить" → a plan → the
//! provider → the payment link; the payer pays at the fake YooKassa, its notification reaches
//! the billing service, and the main bot tells the user their subscription is on.

#![allow(clippy::unwrap_used)] // tests may panic on broken set-up

use std::time::Duration;

use billing::refund::Requested;
use bots::main_bot::{MainBot, MainBotConfig, Payments, YooKassaCheckout};
use bus::Bus;
use projections::read;
use schemas::subscription::Plan;
use schemas::{Event, ExtensionSource};
use teloxide::Bot;
use testkit::eventually;
use testkit::telegram::Sent;
use testkit::{FakeTelegram, FakeYooKassa};
use tokio_util::sync::CancellationToken;

const MAIN: &str = "8000:main-secret";
const USER: i64 = 808;

/// The read models, the fakes, the main bot with payments, and the billing service.
struct Shop {
    bus: Bus,
    bot: Bot,
    db: testkit::TestDatabase,
    telegram: FakeTelegram,
    shop: FakeYooKassa,
    week: Plan,
    shutdown: CancellationToken,
}

/// With `yookassa` false, the main bot sells in Telegram Stars only.
async fn open_shop(yookassa_on: bool) -> Shop {
    let testkit::App {
        nats_url: _,
        bus,
        db,
        shutdown,
    } = testkit::App::start().await;
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
            yookassa: yookassa_on.then(|| YooKassaCheckout {
                client: yookassa.clone(),
                return_url: "https://t.me/rh_main_bot".into(),
            }),
            stars: true,
        }),
        // Telegram's star transactions walked often, racing the updates they back up.
        stars_reconcile_every: Duration::from_millis(300),
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
        bot: Some(bot.clone()),
    };
    tokio::spawn(billing::service::run(
        billing,
        db.pool.clone(),
        listener,
        billing::service::Settings::default(),
        shutdown.clone(),
    ));

    Shop {
        bus,
        bot,
        db,
        telegram,
        shop,
        week,
        shutdown,
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

/// The menu message's text once it starts with `prefix` (the screen a tap drew in place).
async fn screen(telegram: &FakeTelegram, message_id: i64, prefix: &str) -> Sent {
    eventually(prefix, async || {
        telegram
            .sent_to("rh_main_bot", USER)
            .iter()
            .any(|m| m.message_id == message_id && m.text.starts_with(prefix))
    })
    .await;
    telegram
        .sent_to("rh_main_bot", USER)
        .into_iter()
        .find(|m| m.message_id == message_id)
        .unwrap()
}

/// Signs USER up and walks "Моя подписка" → "Оплатить" → the plan in the one menu message,
/// checking each screen: the offer to pay, the catalog's plans priced in the currency on
/// offer; returns the providers screen.
async fn to_providers(telegram: &FakeTelegram, plan: &str) -> Sent {
    telegram.user_says("rh_main_bot", USER, "/start").unwrap();
    eventually("the greeting", async || {
        telegram.sent_to("rh_main_bot", USER).len() == 1
    })
    .await;
    let menu = telegram.sent_to("rh_main_bot", USER)[0].message_id;
    telegram.press("rh_main_bot", USER, menu, "s").unwrap();
    let subscription = screen(telegram, menu, "<b>Моя подписка</b>").await;
    assert!(
        subscription.text.contains("Пробный период до"),
        "{}",
        subscription.text
    );
    // then it offers to pay; the plans come from the catalog, then the provider
    assert_eq!(
        subscription.buttons()[0],
        ("💳 Оплатить".into(), "p".into())
    );
    telegram.press("rh_main_bot", USER, menu, "p").unwrap();
    let offer = screen(telegram, menu, "<b>Оплата</b>").await;
    let plans: Vec<(String, String)> = offer.buttons();
    let data: Vec<&str> = plans.iter().map(|(_, d)| d.as_str()).collect();
    assert_eq!(data, ["p:week", "p:two_weeks", "p:month", "m"]);
    assert!(plans[0].0.starts_with("1 неделя — "), "{plans:?}");
    telegram
        .press("rh_main_bot", USER, menu, &format!("p:{plan}"))
        .unwrap();
    eventually("the providers", async || {
        telegram.sent_to("rh_main_bot", USER)[0]
            .text
            .contains("Как оплатить?")
    })
    .await;
    assert_eq!(
        telegram.sent_to("rh_main_bot", USER).len(),
        1,
        "one menu, edited"
    );
    telegram.sent_to("rh_main_bot", USER)[0].clone()
}

#[tokio::test]
async fn a_trial_user_pays_for_a_week_in_the_main_bot() {
    // given the read models, the fakes, the main bot with payments, and the billing service
    let Shop {
        db,
        telegram,
        shop,
        week,
        shutdown,
        ..
    } = open_shop(true).await;

    // when a user signs up and walks "Моя подписка" → "Оплатить" → a week
    let providers = to_providers(&telegram, "week").await;
    assert_eq!(
        providers.buttons()[0],
        ("💳 199 ₽ картой или СБП (ЮKassa)".into(), "py:week".into())
    );
    assert!(
        providers.text.contains("199 ₽ или 100 ⭐"),
        "{}",
        providers.text
    );
    telegram
        .press("rh_main_bot", USER, providers.message_id, "py:week")
        .unwrap();
    // and a forged plan changes nothing
    telegram
        .press("rh_main_bot", USER, providers.message_id, "py:forever")
        .unwrap();
    let link = screen(&telegram, providers.message_id, "Счёт на 199 ₽").await;
    assert!(
        link.buttons()[0]
            .1
            .starts_with("https://yoomoney.ru/checkout")
    );
    eventually("both taps answered", async || {
        telegram.callback_answers("rh_main_bot").len() >= 5
    })
    .await;
    assert_eq!(
        shop.payments().len(),
        1,
        "one payment, none for the forged plan"
    );

    // when the payment is cancelled at YooKassa (the payer gave up, the bank said no)
    let first = shop.payments()[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(shop.settle(&first, false).await.unwrap(), 200);
    // then the user is told, with a button to try again
    eventually("the cancellation news", async || {
        texts_starting(&telegram, "Оплата не прошла") == 1
    })
    .await;
    let news = telegram
        .sent_to("rh_main_bot", USER)
        .into_iter()
        .find(|m| m.text.starts_with("Оплата не прошла"))
        .unwrap();
    assert_eq!(
        news.buttons(),
        [("🔁 Оплатить ещё раз".to_string(), "p:week".to_string())]
    );

    // when they try again from that message and pay
    telegram
        .press("rh_main_bot", USER, news.message_id, "p:week")
        .unwrap();
    screen(&telegram, news.message_id, "<b>1 неделя</b>").await;
    telegram
        .press("rh_main_bot", USER, news.message_id, "py:week")
        .unwrap();
    screen(&telegram, news.message_id, "Счёт на 199 ₽").await;
    eventually("the second payment", async || shop.payments().len() == 2).await;
    let payment = shop.payments()[1]["id"].as_str().unwrap().to_owned();
    assert_eq!(shop.settle(&payment, true).await.unwrap(), 200);
    // then the main bot tells them, and the read model shows a week after the trial
    eventually("the confirmation", async || confirmations(&telegram) > 0).await;
    eventually("the paid period", async || {
        let row = read::users::access(&db.pool, USER).await.unwrap();
        matches!(row, Some(read::users::Access { trial_ends_at: Some(trial), paid_until: Some(paid) })
            if (paid - trial - chrono::Duration::days(i64::from(week.days))).abs() < chrono::Duration::seconds(1))
    })
    .await;
    let confirmation = telegram
        .sent_to("rh_main_bot", USER)
        .into_iter()
        .find(|m| m.text.starts_with("✅ Оплата прошла"))
        .unwrap();
    assert!(
        confirmation.text.ends_with("(МСК)."),
        "{}",
        confirmation.text
    );
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
    } = open_shop(true).await;
    let providers = to_providers(&telegram, "week").await;
    assert_eq!(
        providers.buttons()[1],
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

    // when the user taps «Pay» on the same invoice again
    telegram
        .pre_checkout("rh_main_bot", USER, &payload, 100)
        .unwrap();
    // then Telegram is told not to charge: the invoice is paid, and the user why
    eventually("the fourth answer", async || {
        telegram.pre_checkout_answers("rh_main_bot").len() == 4
    })
    .await;
    let again = telegram.pre_checkout_answers("rh_main_bot")[3].clone();
    assert_eq!(again["ok"], false);
    assert!(
        again["error_message"]
            .as_str()
            .unwrap()
            .starts_with("Этот счёт уже оплачен"),
        "{again}"
    );

    // when Telegram charges the paid invoice a second time all the same (and says so twice)
    telegram
        .successful_payment("rh_main_bot", USER, &payload, 100, "stxCHARGE2")
        .unwrap();
    telegram
        .successful_payment("rh_main_bot", USER, &payload, 100, "stxCHARGE2")
        .unwrap();
    // then the money is not swallowed: a payment of its own, a second week, the user told once
    eventually("the second charge's week", async || {
        extensions(&bus).await.len() == 2
    })
    .await;
    eventually("the news", async || {
        texts_starting(&telegram, "✅ Повторная оплата того же счёта засчитана") == 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let weeks = extensions(&bus).await;
    assert_eq!(weeks.len(), 2);
    assert_eq!(weeks[1].from, weeks[0].until);
    assert_eq!(weeks[1].until - weeks[1].from, chrono::Duration::days(7));
    let ExtensionSource::Payment { payment_id: second } = &weeks[1].source else {
        panic!("{:?}", weeks[1].source)
    };
    assert_ne!(second, &payload);
    let succeeded = billing::ledger::succeeded(&bus, second)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(succeeded.provider_payment_id, "stxCHARGE2");
    assert_eq!(texts_starting(&telegram, "✅ Повторная оплата"), 1);
    shutdown.cancel();
}

#[tokio::test]
async fn a_whole_session_leaves_a_menu_an_invoice_and_a_confirmation() {
    // given a main bot that sells in Telegram Stars
    let Shop {
        bus: _bus,
        db: _db,
        telegram,
        shutdown,
        ..
    } = open_shop(false).await;

    // when a user signs up, looks around every screen, goes back, and pays for a week
    telegram.user_says("rh_main_bot", USER, "/start").unwrap();
    eventually("the greeting", async || {
        telegram.sent_to("rh_main_bot", USER).len() == 1
    })
    .await;
    let menu = telegram.sent_to("rh_main_bot", USER)[0].message_id;
    for (data, shows) in [
        ("m", "🎁 Пробный период до"),
        ("s", "<b>Моя подписка</b>"),
        ("z", "<b>Часовой пояс</b>"),
        ("z:Asia/Yekaterinburg", "<b>Моя подписка</b>"),
        ("h", "<b>Как это работает</b>"),
        ("m", "🎁 Пробный период до"),
        ("p", "<b>Оплата</b>"),
        ("p:week", "<b>1 неделя</b>"),
        ("p", "<b>Оплата</b>"),
        ("p:week", "<b>1 неделя</b>"),
    ] {
        telegram.press("rh_main_bot", USER, menu, data).unwrap();
        screen(&telegram, menu, shows).await;
    }
    // the chosen zone shows on «Моя подписка» and in the menu's times
    let now = screen(&telegram, menu, "<b>1 неделя</b>").await;
    assert!(now.text.contains("100 ⭐"), "{}", now.text);
    assert!(!now.text.contains('₽'), "Stars only: {}", now.text);
    telegram
        .press("rh_main_bot", USER, menu, "ps:week")
        .unwrap();
    let payload = first_invoice(&telegram).await;
    let paid = telegram.pay("rh_main_bot", USER, &payload).await.unwrap();
    assert!(matches!(paid, testkit::telegram::Paid::Charged(_)));
    eventually("the confirmation", async || confirmations(&telegram) == 1).await;

    // then the chat holds three messages from the bot: the menu, the invoice, the confirmation
    let sent = telegram.sent_to("rh_main_bot", USER);
    let invoices = telegram
        .invoices("rh_main_bot")
        .iter()
        .filter(|i| i["chat_id"] == USER)
        .count();
    assert_eq!(sent.len() + invoices, 3, "{sent:#?}");
    assert_eq!(sent[0].message_id, menu);
    assert!(sent[1].text.starts_with("✅ Оплата прошла"));
    // and the times read in the zone the user chose
    assert!(sent[1].text.contains("(UTC+5)"), "{}", sent[1].text);
    shutdown.cancel();
}

/// USER's paid periods, in order.
async fn extensions(bus: &Bus) -> Vec<schemas::SubscriptionExtended> {
    bus.read_subject(&format!("rh.users.*.{USER}"))
        .await
        .unwrap()
        .into_iter()
        .filter_map(|s| match s.envelope.event {
            Event::SubscriptionExtended(x) => Some(x),
            _ => None,
        })
        .collect()
}

async fn access(bus: &Bus) -> schemas::subscription::Access {
    let events: Vec<Event> = bus
        .read_subject(&format!("rh.users.*.{USER}"))
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.envelope.event)
        .collect();
    schemas::subscription::Access::from_events(&events)
}

fn texts_starting(telegram: &FakeTelegram, prefix: &str) -> usize {
    telegram
        .sent_to("rh_main_bot", USER)
        .iter()
        .filter(|m| m.text.starts_with(prefix))
        .count()
}

#[tokio::test]
async fn a_stars_subscription_renews_monthly_and_refunds_take_back_days_once() {
    // given a main bot that sells in Telegram Stars only, and a user at the month's providers
    let Shop {
        bus,
        bot,
        db: _db,
        telegram,
        shutdown,
        ..
    } = open_shop(false).await;
    let providers = to_providers(&telegram, "month").await;
    // then only Stars are offered: once, or every month
    assert_eq!(
        providers.buttons(),
        [
            ("⭐ 300 Telegram Stars".to_string(), "ps:month".to_string()),
            (
                "🔁 300 ⭐ каждый месяц (автопродление)".to_string(),
                "pr:month".to_string()
            ),
            ("← Назад".to_string(), "p".to_string()),
        ]
    );

    // when they choose the subscription (and a forged YooKassa choice comes too)
    telegram
        .press("rh_main_bot", USER, providers.message_id, "py:month")
        .unwrap();
    telegram
        .press("rh_main_bot", USER, providers.message_id, "pr:month")
        .unwrap();
    // then a 30-day subscription invoice link arrives, and nothing for the forged choice
    eventually("the subscription link", async || {
        texts_starting(&telegram, "Подписка за 300 ⭐ в месяц") == 1
    })
    .await;
    let invoices = telegram.invoices("rh_main_bot");
    assert_eq!(invoices.len(), 1);
    assert_eq!(invoices[0]["subscription_period"], 2_592_000);
    assert_eq!(invoices[0]["amount"], 300);
    let payload = invoices[0]["payload"].as_str().unwrap().to_owned();

    // when the payer pays through the fake's control route (pre-checkout, then the charge)
    let paid: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/control/users/{USER}/stars/pay", telegram.url()))
        .json(&serde_json::json!({"bot": "rh_main_bot", "payload": payload}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(paid["result"]["charged"], true, "{paid}");
    let first_charge = paid["result"]["charge_id"].as_str().unwrap().to_owned();
    // then a month is on and the user is told
    eventually("the first month", async || confirmations(&telegram) == 1).await;
    assert_eq!(extensions(&bus).await.len(), 1);

    // when Telegram renews it a month later, and reports the renewal twice
    let renewal_charge = telegram.renew("rh_main_bot", USER, &payload).unwrap();
    telegram
        .successful_payment("rh_main_bot", USER, &payload, 300, &renewal_charge)
        .unwrap();
    // then one more month follows the first, as a payment of its own; the user is told once
    eventually("the renewal", async || {
        texts_starting(&telegram, "✅ Подписка продлена!") == 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let months = extensions(&bus).await;
    assert_eq!(months.len(), 2);
    assert_eq!(months[1].from, months[0].until);
    assert_eq!(texts_starting(&telegram, "✅ Подписка продлена!"), 1);
    let ExtensionSource::Payment {
        payment_id: renewal,
    } = &months[1].source
    else {
        panic!("{:?}", months[1].source)
    };
    assert_ne!(renewal, &payload);

    // when an admin refunds the renewal
    let refunds = billing::refund::Refunds {
        bus: &bus,
        yookassa: None,
        bot: Some(&bot),
    };
    let request = billing::refund::RefundRequest {
        payment_id: renewal.clone(),
        admin_id: 77,
        reason: "двойное списание".into(),
    };
    let refunded = refunds.refund(&request).await.unwrap();
    // then Telegram returned the Stars, the month it paid for is taken back, the user is told
    // once: the command and Telegram's refunded_payment echo of it race to record it, and
    // whichever comes second changes nothing
    assert!(matches!(refunded, Requested::Refunded(_)), "{refunded:?}");
    eventually("the refund news", async || {
        texts_starting(&telegram, "↩️ Возврат оформлен: 300 ⭐") == 1
    })
    .await;
    let recorded = bus
        .read_subject(&format!("rh.payments.refunded.{renewal}"))
        .await
        .unwrap();
    assert_eq!(recorded.len(), 1);
    assert_eq!(access(&bus).await.paid_until, Some(months[0].until));

    // when Telegram refunds the first charge on its own (a dispute)
    telegram
        .refund_by_telegram("rh_main_bot", USER, &first_charge)
        .unwrap();
    // then the main bot records it and the first month goes too: back to the trial's end
    eventually("the second refund", async || {
        texts_starting(&telegram, "↩️ Возврат оформлен") == 2
    })
    .await;
    let after = access(&bus).await;
    assert_eq!(after.paid_until, Some(months[0].from));
    assert_eq!(after.refunded.len(), 2);

    // when the admin asks to refund the first payment again
    let again = billing::refund::RefundRequest {
        payment_id: payload.clone(),
        ..request
    };
    let Requested::Refunded(recorded) = refunds.refund(&again).await.unwrap() else {
        panic!("pending")
    };
    // then nothing more happens: no second refund at Telegram, no news
    assert!(!recorded.new);
    let charges = telegram.charges("rh_main_bot");
    assert_eq!(charges.len(), 3, "the first, the renewal and its repeat");
    assert!(
        charges
            .iter()
            .all(|c| c["refunded"] == true || c["charge_id"] == renewal_charge)
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(texts_starting(&telegram, "↩️ Возврат оформлен"), 2);
    shutdown.cancel();
}

/// The payload of the first invoice the main bot issued, once it has.
async fn first_invoice(telegram: &FakeTelegram) -> String {
    eventually("the invoice", async || {
        !telegram.invoices("rh_main_bot").is_empty()
    })
    .await;
    telegram.invoices("rh_main_bot")[0]["payload"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The notes the main bot answered USER's taps with, in order.
fn tap_notes(telegram: &FakeTelegram) -> Vec<String> {
    telegram
        .callback_answers("rh_main_bot")
        .iter()
        .map(|a| a["text"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn a_stars_subscription_shows_its_next_charge_and_its_renewal_is_canceled_in_the_menu() {
    // given a user who subscribed to the month in Stars
    let Shop {
        db,
        telegram,
        shutdown,
        ..
    } = open_shop(false).await;
    let menu = to_providers(&telegram, "month").await.message_id;
    telegram
        .press("rh_main_bot", USER, menu, "pr:month")
        .unwrap();
    let payload = first_invoice(&telegram).await;
    let testkit::telegram::Paid::Charged(first_charge) =
        telegram.pay("rh_main_bot", USER, &payload).await.unwrap()
    else {
        panic!("refused")
    };
    eventually("the first month", async || confirmations(&telegram) == 1).await;
    // then the confirmation names the next charge and where to cancel it
    let confirmation = telegram
        .sent_to("rh_main_bot", USER)
        .into_iter()
        .find(|m| m.text.starts_with("✅ Оплата прошла"))
        .unwrap();
    assert!(
        confirmation.text.contains("Следующее списание — ")
            && confirmation.text.contains("(МСК)")
            && confirmation.text.contains("«Моя подписка»"),
        "{}",
        confirmation.text
    );

    // when they open «Моя подписка»
    eventually("the subscription in the read model", async || {
        read::payments::stars_subscription(&db.pool, USER)
            .await
            .unwrap()
            .is_some()
    })
    .await;
    telegram.press("rh_main_bot", USER, menu, "s").unwrap();
    let screen_now = screen(&telegram, menu, "<b>Моя подписка</b>").await;
    // then it says the subscription renews, when and for how much, and offers to cancel
    assert!(
        screen_now
            .text
            .contains("⭐ Автопродление Stars: следующее списание")
            && screen_now.text.contains("300 ⭐"),
        "{}",
        screen_now.text
    );
    let cancel = format!("sr0:{payload}");
    assert!(
        screen_now
            .buttons()
            .contains(&("✖️ Отменить автопродление".to_owned(), cancel.clone())),
        "{:?}",
        screen_now.buttons()
    );

    // when another user presses a cancel naming this subscription (forged), and a made-up one
    const OTHER: i64 = 809;
    telegram.user_says("rh_main_bot", OTHER, "/start").unwrap();
    eventually("the other's menu", async || {
        !telegram.sent_to("rh_main_bot", OTHER).is_empty()
    })
    .await;
    let other_menu = telegram.sent_to("rh_main_bot", OTHER)[0].message_id;
    telegram
        .press("rh_main_bot", OTHER, other_menu, &cancel)
        .unwrap();
    telegram
        .press(
            "rh_main_bot",
            USER,
            menu,
            "sr0:st-00000000-0000-7000-8000-000000000000",
        )
        .unwrap();
    // then neither reaches Telegram
    eventually("both refused", async || {
        tap_notes(&telegram)
            .iter()
            .filter(|n| n.starts_with("Эта подписка не найдена"))
            .count()
            == 2
    })
    .await;
    assert!(telegram.star_subscription_edits("rh_main_bot").is_empty());

    // when the user cancels, with a doubled tap
    telegram.press("rh_main_bot", USER, menu, &cancel).unwrap();
    telegram.press("rh_main_bot", USER, menu, &cancel).unwrap();
    // then Telegram is asked once, by the first charge; the screen says the paid month stays
    // and offers to resume; the second tap says it is done already
    eventually("the second tap's note", async || {
        tap_notes(&telegram).contains(&"Автопродление уже отменено".to_owned())
    })
    .await;
    assert!(
        tap_notes(&telegram)
            .contains(&"Автопродление отменено — оплаченный месяц остаётся".to_owned())
    );
    let edits = telegram.star_subscription_edits("rh_main_bot");
    assert_eq!(edits.len(), 1, "{edits:?}");
    assert_eq!(edits[0]["user_id"], USER);
    assert_eq!(
        edits[0]["telegram_payment_charge_id"],
        first_charge.as_str()
    );
    assert_eq!(edits[0]["is_canceled"], true);
    let canceled = screen(&telegram, menu, "<b>Моя подписка</b>").await;
    assert!(
        canceled
            .text
            .contains("⭐ Автопродление отменено: оплачено до"),
        "{}",
        canceled.text
    );
    let resume = format!("sr1:{payload}");
    assert!(
        canceled
            .buttons()
            .contains(&("🔁 Возобновить автопродление".to_owned(), resume.clone()))
    );
    // and Telegram no longer renews it
    assert!(telegram.renew("rh_main_bot", USER, &payload).is_err());

    // when they resume it
    telegram.press("rh_main_bot", USER, menu, &resume).unwrap();
    eventually("resumed", async || {
        tap_notes(&telegram).contains(&"Автопродление снова включено".to_owned())
    })
    .await;
    // then Telegram renews it again, and the screen counts the month it paid for
    assert_eq!(
        telegram.star_subscription_edits("rh_main_bot")[1]["is_canceled"],
        false
    );
    telegram.renew("rh_main_bot", USER, &payload).unwrap();
    eventually("the renewal", async || {
        texts_starting(&telegram, "✅ Подписка продлена!") == 1
    })
    .await;
    let renewed = read::payments::stars_subscription(&db.pool, USER)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(renewed.charges, 2);
    assert_eq!(renewed.first_charge_id, first_charge);
    assert!(!renewed.canceled);
    shutdown.cancel();
}

#[tokio::test]
async fn stars_payments_whose_updates_were_lost_are_found_in_telegrams_own_ledger() {
    // given a main bot that sells in Telegram Stars, and a user with a monthly subscription link
    let Shop {
        bus,
        bot,
        db,
        telegram,
        shutdown,
        ..
    } = open_shop(false).await;
    let providers = to_providers(&telegram, "month").await;
    telegram
        .press("rh_main_bot", USER, providers.message_id, "pr:month")
        .unwrap();
    let payload = first_invoice(&telegram).await;

    // when the user pays but the bot never gets the payment's update (it was down longer than
    // Telegram keeps updates)
    telegram.lose_payment_updates("rh_main_bot", true);
    let testkit::telegram::Paid::Charged(first_charge) =
        telegram.pay("rh_main_bot", USER, &payload).await.unwrap()
    else {
        panic!("the bot refused its own invoice")
    };
    // then a walk over Telegram's star transactions finds it: a month on, the user told
    eventually("the missed payment activated", async || {
        confirmations(&telegram) == 1
    })
    .await;
    assert_eq!(extensions(&bus).await.len(), 1);

    // when Telegram renews the subscription and later refunds the first charge, both unseen
    let renewal_charge = telegram.renew("rh_main_bot", USER, &payload).unwrap();
    eventually("the missed renewal", async || {
        texts_starting(&telegram, "✅ Подписка продлена!") == 1
    })
    .await;
    telegram
        .refund_by_telegram("rh_main_bot", USER, &first_charge)
        .unwrap();
    // then the renewal is a second month of its own, and the refund takes the first month back
    eventually("the missed refund", async || {
        texts_starting(&telegram, "↩️ Возврат оформлен") == 1
    })
    .await;
    let months = extensions(&bus).await;
    assert_eq!(months.len(), 2);
    assert_eq!(months[1].from, months[0].until);
    let ExtensionSource::Payment { payment_id } = &months[1].source else {
        panic!("{:?}", months[1].source)
    };
    assert_ne!(payment_id, &payload, "the renewal is a payment of its own");
    let renewal = billing::ledger::succeeded(&bus, payment_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(renewal.provider_payment_id, renewal_charge);
    assert_eq!(access(&bus).await.refunded.len(), 1);

    // when more walks pass, and a restarted bot walks Telegram's list from the start
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let mut restarted =
        bots::stars_ledger::StarsLedger::new(bot.clone(), bus.clone(), db.pool.clone());
    let walked = restarted.reconcile().await.unwrap();
    // then nothing is settled twice and nobody is told twice
    assert_eq!(
        walked,
        bots::stars_ledger::Reconciled {
            seen: 3,
            activated: 0,
            refunded: 0
        }
    );
    assert_eq!(extensions(&bus).await.len(), 2);
    assert_eq!(confirmations(&telegram), 1);
    assert_eq!(texts_starting(&telegram, "✅ Подписка продлена!"), 1);
    assert_eq!(texts_starting(&telegram, "↩️ Возврат оформлен"), 1);
    shutdown.cancel();
}
