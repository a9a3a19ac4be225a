//! The whole pipeline end to end, as the bots-and-delivery issue's "done when" reads: a user
//! starts the main bot, picks Дизайн and starts the design bot; a design vacancy is imported;
//! the user receives it once from the design bot; "Скрыть автора" stops the next post by that
//! author; a report reaches the admin, whose verdict becomes a correction. Real NATS, real
//! Postgres, teloxide against the fake Bot API, the local classifier.

#![allow(clippy::unwrap_used)] // tests may panic on broken set-up

use std::time::Duration;

use bots::category_bot::CategoryBot;
use bots::main_bot::{MainBot, MainBotConfig};
use bots::reports::ReportsToAdmins;
use bus::Bus;
use projections::read;
use schemas::{CategoryDefined, Envelope, Event};
use serde_json::json;
use teloxide::Bot;
use testkit::FakeTelegram;
use testkit::eventually;

const MAIN: &str = "3000:main-secret";
const DESIGN: &str = "3001:design-secret";
const USER: i64 = 601;
const ADMIN: i64 = 9001;
const CHANNEL: i64 = 1000000077;

/// A Telegram Desktop export of the channel with these (id, signature, text) posts, dated now.
fn export(posts: &[(i64, &str, &str)]) -> Vec<u8> {
    let now = chrono::Utc::now();
    let messages: Vec<_> = posts
        .iter()
        .map(|(id, author, text)| {
            json!({"id": id, "type": "message",
                   "date": now.format("%Y-%m-%dT%H:%M:%S").to_string(),
                   "date_unixtime": now.timestamp().to_string(),
                   "from": "Заказы для дизайнеров", "from_id": format!("channel{CHANNEL}"),
                   "author": author, "text": text})
        })
        .collect();
    serde_json::to_vec(
        &json!({"name": "Заказы для дизайнеров", "type": "public_channel",
                               "id": CHANNEL, "messages": messages}),
    )
    .unwrap()
}

async fn events(bus: &Bus, stream: &str) -> Vec<Event> {
    bus.read_to_end(stream, 1)
        .await
        .unwrap()
        .iter()
        .map(|m| m.decode().unwrap().envelope.event)
        .collect()
}

#[tokio::test]
async fn a_subscriber_gets_a_design_vacancy_once_hides_its_author_and_reports_a_post() {
    // given the whole pipeline: projectors, the local classifier, fan-out, the bots
    let app = testkit::App::start().await;
    let (bus, db, shutdown) = (app.bus.clone(), &app.db, app.shutdown.clone());
    let categories = [("design", "Дизайн", 1), ("texts", "Тексты и переводы", 2)];
    let catalog: Vec<Envelope> = categories
        .iter()
        .map(|(slug, name, order)| {
            Envelope::new(CategoryDefined {
                slug: (*slug).into(),
                name: (*name).into(),
                order: *order,
                paid_first: false,
                admin_id: None,
            })
        })
        .collect();
    app.given(&catalog).await;
    let mut services = tokio::task::JoinSet::new();
    let classifier = classify::decide::Classifier::embedded().unwrap();
    services.spawn(classify::service::run(
        bus.clone(),
        classifier,
        classify::service::ServiceConfig::default(),
        shutdown.clone(),
    ));
    let fake = FakeTelegram::start().await.unwrap();
    fake.register_bot(MAIN, "rh_main_bot");
    fake.register_bot(DESIGN, "rh_design_bot");
    let api = url::Url::parse(fake.url()).unwrap();
    let main_bot = Bot::new(MAIN).set_api_url(api.clone());
    let design_bot = Bot::new(DESIGN).set_api_url(api);
    let config = fanout::service::FanoutConfig {
        plan: fanout::plan::PlanConfig { max_age: None },
        ..Default::default()
    };
    services.spawn(fanout::service::run(
        bus.clone(),
        db.pool.clone(),
        fanout::tokens::one_bot_each([("design".to_string(), design_bot.clone())].into()),
        config,
        shutdown.clone(),
    ));
    let config = MainBotConfig {
        poll_timeout: 1,
        category_bots: [(
            "design".to_string(),
            vec![(3001, "rh_design_bot".to_string())],
        )]
        .into(),
        admin_ids: vec![ADMIN],
        ..MainBotConfig::default()
    };
    let main = MainBot::new(main_bot.clone(), bus.clone(), db.pool.clone(), config);
    services.spawn(main.run(shutdown.clone()));
    let design = CategoryBot {
        category: "design".into(),
        name: "Дизайн".into(),
        bot_id: 3001,
        first_of_category: true,
        bot: design_bot,
        bus: bus.clone(),
        pool: db.pool.clone(),
        poll_timeout: 1,
        main_bot_username: Some("rh_main_bot".into()),
    };
    services.spawn(design.run(shutdown.clone()));
    let reports = ReportsToAdmins {
        bot: main_bot,
        bus: bus.clone(),
        pool: db.pool.clone(),
        admins: vec![ADMIN],
    };
    services.spawn(bus::consume::consume(
        bus.clone(),
        bus::consume::ConsumerSpec::new(schemas::Area::Users.stream(), "admin-reports"),
        reports,
        shutdown.clone(),
    ));
    fake.user_says("rh_main_bot", ADMIN, "/help").unwrap();

    // when a user starts the main bot, picks Дизайн and starts the design bot
    fake.user_says("rh_main_bot", USER, "/start").unwrap();
    eventually("the greeting", async || {
        !fake.sent_to("rh_main_bot", USER).is_empty()
    })
    .await;
    let greeting = fake.sent_to("rh_main_bot", USER)[0].clone();
    fake.press("rh_main_bot", USER, greeting.message_id, "k1:design")
        .unwrap();
    eventually("the choice", async || {
        fake.callback_answers("rh_main_bot").len() == 1
    })
    .await;
    fake.user_says("rh_design_bot", USER, "/start").unwrap();
    eventually("the design bot's welcome", async || {
        fake.sent_to("rh_design_bot", USER).len() == 1
    })
    .await;
    assert!(
        fake.sent_to("rh_design_bot", USER)[0]
            .text
            .contains("Дизайн")
    );
    eventually("the design bot in the read model", async || {
        read::users::user_bot(&db.pool, USER, "design")
            .await
            .unwrap()
            .is_some_and(|bot| bot.active)
    })
    .await;

    // when a user whose trial is over starts the design bot
    let now = chrono::Utc::now();
    let mut expired: Vec<Envelope> = testkit::events::subscriber(603, &["design"], 2)
        .into_iter()
        .filter(|e| !matches!(e.event, Event::TrialStarted(_)))
        .collect();
    expired.push(Envelope::new(schemas::TrialStarted {
        user_id: 603,
        starts_at: now - chrono::Duration::days(3),
        ends_at: now - chrono::Duration::hours(1),
    }));
    app.given(&expired).await;
    fake.user_says("rh_design_bot", 603, "/start").unwrap();
    eventually("the expired user's answer", async || {
        fake.sent_to("rh_design_bot", 603).len() == 1
    })
    .await;
    // then they are told deliveries are paused until they pay, with a button to the main bot,
    // not «Готово!»
    let paused = fake.sent_to("rh_design_bot", 603)[0].clone();
    assert!(
        paused.text.starts_with("⏸ Подписка не активна"),
        "{}",
        paused.text
    );
    assert_eq!(
        paused.reply_markup.unwrap()["inline_keyboard"][0][0]["url"],
        "https://t.me/rh_main_bot?start=renew"
    );

    // and a design vacancy (with hostile HTML) is imported
    let vacancy = "#вакансия Ищем дизайнера для лендинга кофейни <script>alert(1)</script> & Co. \
                   Figma, 3 экрана, бюджет 15 000 ₽. Удалённо. Пишите @studio_lena";
    let report = ingest::import::import_bytes(
        bus.clone(),
        &export(&[(11, "studio_lena", vacancy)]),
        Some("design_orders"),
    )
    .await
    .unwrap();
    assert_eq!(report.accepted, 1);

    // then the user receives it once, from the design bot, escaped, with its two buttons under
    // a link to the original
    eventually("the delivery", async || {
        fake.sent_to("rh_design_bot", USER).len() == 2
    })
    .await;
    let card = fake.sent_to("rh_design_bot", USER)[1].clone();
    assert_eq!(card.parse_mode.as_deref(), Some("HTML"));
    assert!(card.text.contains("&lt;script&gt;"), "{}", card.text);
    assert!(card.text.contains("https://t.me/design_orders/11"));
    let buttons = card.reply_markup.clone().unwrap();
    assert_eq!(buttons["inline_keyboard"][0][0]["text"], "🔗 Открыть пост");
    assert_eq!(
        buttons["inline_keyboard"][0][0]["url"],
        "https://t.me/design_orders/11"
    );
    assert_eq!(
        buttons["inline_keyboard"][2][0]["callback_data"],
        "h:-1001000000077:11"
    );
    eventually("the delivery record", async || {
        read::deliveries::any_delivered_to(&db.pool, USER)
            .await
            .unwrap()
    })
    .await;

    // when another user forges the hide button, and the user presses a button for a post they
    // never got
    fake.user_says("rh_design_bot", 602, "/start").unwrap();
    eventually("the other user's welcome", async || {
        fake.sent_to("rh_design_bot", 602).len() == 1
    })
    .await;
    let theirs = fake.sent_to("rh_design_bot", 602)[0].message_id;
    fake.press("rh_design_bot", 602, theirs, "h:-1001000000077:11")
        .unwrap();
    fake.press(
        "rh_design_bot",
        USER,
        card.message_id,
        "h:-1001000000077:999",
    )
    .unwrap();
    // and the user presses "Скрыть автора" under the card
    fake.press(
        "rh_design_bot",
        USER,
        card.message_id,
        "h:-1001000000077:11",
    )
    .unwrap();
    eventually("three answers", async || {
        fake.callback_answers("rh_design_bot").len() == 3
    })
    .await;
    // then the forgeries were refused and the author is hidden for that user alone
    let answers = fake.callback_answers("rh_design_bot");
    assert!(answers[0]["text"].as_str().unwrap().contains("устарела"));
    assert!(answers[1]["text"].as_str().unwrap().contains("устарела"));
    assert!(answers[2]["text"].as_str().unwrap().contains("Автор скрыт"));
    let hidden: Vec<(i64, String)> = events(&bus, schemas::Area::Users.stream())
        .await
        .into_iter()
        .filter_map(|e| match e {
            Event::AuthorHidden(h) => Some((h.user_id, h.author)),
            _ => None,
        })
        .collect();
    assert_eq!(hidden, [(USER, "sig:studio_lena".to_string())]);
    eventually("the hidden author in the read model", async || {
        !read::users::hidden_authors(&db.pool, USER)
            .await
            .unwrap()
            .is_empty()
    })
    .await;

    // when that author posts again, and then somebody else
    let again = "#вакансия Нужен дизайнер: баннеры для кофейни в Figma, 5 штук, оплата 8 000 ₽, \
                 удалённо. Пишите @studio_lena";
    let other = "#вакансия Ищем UI/UX дизайнера на редизайн мобильного приложения доставки, \
                 Figma, бюджет 40 000 ₽, удалённо. Контакт @mobile_pm";
    ingest::import::import_bytes(
        bus.clone(),
        &export(&[(12, "studio_lena", again), (13, "mobile_pm", other)]),
        Some("design_orders"),
    )
    .await
    .unwrap();
    // then only the other author's post arrives
    eventually("the other author's post", async || {
        fake.sent_to("rh_design_bot", USER).len() == 3
    })
    .await;
    let next = fake.sent_to("rh_design_bot", USER)[2].clone();
    assert!(next.text.contains("mobile_pm"), "{}", next.text);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(fake.sent_to("rh_design_bot", USER).len(), 3);

    // when the user reports it as not a vacancy
    fake.press(
        "rh_design_bot",
        USER,
        next.message_id,
        "r:-1001000000077:13",
    )
    .unwrap();
    eventually("the reason question", async || {
        fake.callback_answers("rh_design_bot").len() == 4
    })
    .await;
    fake.press(
        "rh_design_bot",
        USER,
        next.message_id,
        "rn:-1001000000077:13",
    )
    .unwrap();
    // then the report reaches the admin with the post and the verdict buttons
    eventually("the admin's report", async || {
        fake.sent_to("rh_main_bot", ADMIN)
            .iter()
            .any(|m| m.text.contains("Жалоба"))
    })
    .await;
    let to_admin = fake
        .sent_to("rh_main_bot", ADMIN)
        .into_iter()
        .find(|m| m.text.contains("Жалоба"))
        .unwrap();
    assert!(to_admin.text.contains("mobile_pm"), "{}", to_admin.text);
    let report_id = format!("{USER}:-1001000000077:13");
    assert_eq!(
        to_admin.reply_markup.as_ref().unwrap()["inline_keyboard"][0][0]["callback_data"],
        format!("ra:{report_id}")
    );
    // when the user (not an admin) forges the verdict, then the admin confirms it
    let users_message = fake.sent_to("rh_main_bot", USER)[0].message_id;
    fake.press(
        "rh_main_bot",
        USER,
        users_message,
        &format!("ra:{report_id}"),
    )
    .unwrap();
    eventually("the report in the read model", async || {
        read::reports::exists(&db.pool, &report_id).await.unwrap()
    })
    .await;
    fake.press(
        "rh_main_bot",
        ADMIN,
        to_admin.message_id,
        &format!("ra:{report_id}"),
    )
    .unwrap();
    // then one verdict, by the admin, and the post's correction: not a vacancy
    eventually("the correction", async || {
        events(&bus, schemas::Area::Classifications.stream())
            .await
            .iter()
            .any(|e| matches!(e, Event::ClassificationCorrected(_)))
    })
    .await;
    let verdicts: Vec<_> = events(&bus, schemas::Area::Users.stream())
        .await
        .into_iter()
        .filter_map(|e| match e {
            Event::ReportResolved(r) => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(verdicts.len(), 1);
    assert_eq!(verdicts[0].admin_id, ADMIN);
    let correction = events(&bus, schemas::Area::Classifications.stream())
        .await
        .into_iter()
        .find_map(|e| match e {
            Event::ClassificationCorrected(c) => Some(c),
            _ => None,
        })
        .unwrap();
    assert_eq!(correction.kind, schemas::PostKind::Other);
    assert_eq!(correction.report_id.as_deref(), Some(report_id.as_str()));

    // and nothing was sent twice: one claim and one delivery per (user, post)
    let deliveries = events(&bus, schemas::Area::Deliveries.stream()).await;
    let delivered = deliveries
        .iter()
        .filter(|e| matches!(e, Event::VacancyDelivered(_)))
        .count();
    let claimed = deliveries
        .iter()
        .filter(|e| matches!(e, Event::DeliveryClaimed(_)))
        .count();
    // (the bot's own welcome and the first card may share a second: a 429 then is waited out)
    assert_eq!((claimed, delivered), (2, 2));

    shutdown.cancel();
    while let Some(result) = services.join_next().await {
        result.unwrap().unwrap();
    }
}
