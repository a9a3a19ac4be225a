//! A report end to end: two subscribers get a design card; one reports it as not a vacancy;
//! both admins get the report, everyone named in words; one admin confirms. Then both admins'
//! copies say so (formatting and link kept, buttons gone), the reporter is told, and the card
//! is taken back from every chat that got it through the design bot's paced sender — deleted
//! while Telegram allows, marked withdrawn after. Real NATS and Postgres, the real fan-out,
//! bots and notification sender, teloxide against the fake Bot API.

#![allow(clippy::unwrap_used)] // tests may panic on broken set-up

use bots::category_bot::CategoryBot;
use bots::main_bot::{MainBot, MainBotConfig};
use bots::reports::ReportsToAdmins;
use bus::consume::{ConsumerSpec, consume, consumers};
use schemas::{
    CategoryDefined, DeliveryWithdrawalPlanned, Envelope, Event, MessageKey, Withdrawal,
};
use teloxide::Bot;
use testkit::events::{subscriber, vacancy};
use testkit::telegram::Sent;
use testkit::{FakeTelegram, eventually};

const MAIN: &str = "7100:main-secret";
const DESIGN: &str = "7101:design-secret";
const REPORTER: i64 = 701;
const OTHER: i64 = 702;
const ADMINS: [i64; 2] = [9101, 9102];
const CHANNEL: i64 = -1_001_000_000_888;

/// The card of post `message_id` in `user`'s chat with the design bot.
fn card(fake: &FakeTelegram, user: i64, post: i64) -> Option<Sent> {
    fake.sent_to("rh_design_bot", user).into_iter().find(|m| {
        m.text
            .contains(&format!("https://t.me/jobs_channel/{post}"))
    })
}

fn report_copy(fake: &FakeTelegram, admin: i64) -> Option<Sent> {
    fake.sent_to("rh_main_bot", admin)
        .into_iter()
        .find(|m| m.text.contains("Жалоба"))
}

/// The catalog, two design subscribers, two admins, and every service running.
struct Harness {
    app: testkit::App,
    fake: FakeTelegram,
    services: tokio::task::JoinSet<anyhow::Result<()>>,
}

impl Harness {
    async fn stop(mut self) {
        self.app.shutdown.cancel();
        while let Some(result) = self.services.join_next().await {
            result.unwrap().unwrap();
        }
    }
}

async fn start() -> Harness {
    let app = testkit::App::start().await;
    let (bus, pool, shutdown) = (app.bus.clone(), app.db.pool.clone(), app.shutdown.clone());
    let mut given = vec![Envelope::new(CategoryDefined {
        slug: "design".into(),
        name: "Дизайн".into(),
        order: 1,
        paid_first: false,
        admin_id: None,
    })];
    given.extend(subscriber(REPORTER, &["design"], 2));
    given.extend(subscriber(OTHER, &["design"], 2));
    app.given(&given).await;
    let fake = FakeTelegram::start().await.unwrap();
    fake.register_bot(MAIN, "rh_main_bot");
    fake.register_bot(DESIGN, "rh_design_bot");
    let api = url::Url::parse(fake.url()).unwrap();
    let main_bot = Bot::new(MAIN).set_api_url(api.clone());
    let design_bot = Bot::new(DESIGN).set_api_url(api);
    let mut services = tokio::task::JoinSet::new();
    let fanout_config = fanout::service::FanoutConfig {
        plan: fanout::plan::PlanConfig { max_age: None },
        ..Default::default()
    };
    services.spawn(fanout::service::run(
        bus.clone(),
        pool.clone(),
        fanout::tokens::one_bot_each([("design".to_string(), design_bot.clone())].into()),
        fanout_config,
        shutdown.clone(),
    ));
    let config = MainBotConfig {
        poll_timeout: 1,
        category_bots: [(
            "design".to_string(),
            vec![(7101, "rh_design_bot".to_string())],
        )]
        .into(),
        admin_ids: ADMINS.to_vec(),
        ..MainBotConfig::default()
    };
    let main = MainBot::new(main_bot.clone(), bus.clone(), pool.clone(), config);
    services.spawn(main.run(shutdown.clone()));
    let design = CategoryBot {
        category: "design".into(),
        name: "Дизайн".into(),
        bot_id: 7101,
        first_of_category: true,
        bot: design_bot,
        bus: bus.clone(),
        pool: pool.clone(),
        poll_timeout: 1,
        main_bot_username: Some("rh_main_bot".into()),
    };
    services.spawn(design.run(shutdown.clone()));
    let reports = ReportsToAdmins {
        bot: main_bot.clone(),
        bus: bus.clone(),
        pool: pool.clone(),
        admins: ADMINS.to_vec(),
    };
    services.spawn(consume(
        bus.clone(),
        ConsumerSpec::of(consumers::ADMIN_REPORTS),
        reports,
        shutdown.clone(),
    ));
    let notifier = scheduler::notify::Notifier::new(
        main_bot,
        bus.clone(),
        fanout::send::SendConfig::default(),
    );
    let notify = ConsumerSpec {
        priority_group: Some(fanout::service::SENDER_GROUP.to_owned()),
        ..ConsumerSpec::of(consumers::NOTIFY)
    };
    services.spawn(consume(bus.clone(), notify, notifier, shutdown.clone()));
    for person in [REPORTER, OTHER, ADMINS[0], ADMINS[1]] {
        fake.user_says("rh_main_bot", person, "/help").unwrap();
        fake.user_says("rh_design_bot", person, "/help").unwrap();
    }

    Harness {
        app,
        fake,
        services,
    }
}

#[tokio::test]
async fn a_report_confirmed_by_one_of_two_admins_updates_both_tells_the_reporter_and_takes_the_card_back()
 {
    // given the catalog, two design subscribers, two admins, and every service running
    let harness = start().await;
    let (app, fake) = (&harness.app, &harness.fake);
    let bus = app.bus.clone();

    // when a post that is not a vacancy reaches both subscribers, and a real one too
    let spam = MessageKey::new(CHANNEL, 31);
    let real = MessageKey::new(CHANNEL, 32);
    let mut posts = vacancy(
        spam,
        "Курс «Заработок на фрилансе» со скидкой 90%",
        "promo",
        &["design"],
    );
    posts.extend(vacancy(
        real,
        "Нужен логотип для кофейни",
        "anna",
        &["design"],
    ));
    app.given(&posts).await;
    eventually("both cards in both chats", async || {
        [REPORTER, OTHER]
            .iter()
            .all(|u| card(fake, *u, 31).is_some() && card(fake, *u, 32).is_some())
    })
    .await;

    // when the reporter reports the spam card as not a vacancy
    let reported = card(fake, REPORTER, 31).unwrap();
    let key = spam.id();
    fake.press(
        "rh_design_bot",
        REPORTER,
        reported.message_id,
        &format!("r:{key}"),
    )
    .unwrap();
    fake.press(
        "rh_design_bot",
        REPORTER,
        reported.message_id,
        &format!("rn:{key}"),
    )
    .unwrap();
    // then each admin gets it, the reporter, the category and the channel named in words
    eventually("both admins' copies", async || {
        ADMINS.iter().all(|a| report_copy(fake, *a).is_some())
    })
    .await;
    let copy = report_copy(fake, ADMINS[1]).unwrap();
    for part in [
        "⚠️ Жалоба: <b>не вакансия</b>",
        "От: User 701 (@user701)",
        "Категория: Дизайн",
        "Канал: <a href=\"https://t.me/jobs_channel/31\">Вакансии</a>",
    ] {
        assert!(copy.text.contains(part), "{part}: {}", copy.text);
    }
    assert!(
        !copy.text.contains("-1001000000888"),
        "no raw ids: {}",
        copy.text
    );
    let report_id = format!("{REPORTER}:{key}");

    // when the first admin confirms, and the second presses too, late
    let first = report_copy(fake, ADMINS[0]).unwrap();
    fake.press(
        "rh_main_bot",
        ADMINS[0],
        first.message_id,
        &format!("ra:{report_id}"),
    )
    .unwrap();
    eventually("the first verdict", async || {
        fake.callback_answers("rh_main_bot").len() == 1
    })
    .await;
    fake.press(
        "rh_main_bot",
        ADMINS[1],
        copy.message_id,
        &format!("rd:{report_id}"),
    )
    .unwrap();
    // then both copies say it was confirmed and by whom, keep their formatting, lose their buttons
    eventually("both copies updated", async || {
        ADMINS.iter().all(|a| {
            report_copy(fake, *a)
                .is_some_and(|c| c.text.contains("<b>✅ Подтверждено: не вакансия"))
        })
    })
    .await;
    for admin in ADMINS {
        let updated = report_copy(fake, admin).unwrap();
        assert!(
            updated.text.contains("⚠️ Жалоба: <b>не вакансия</b>"),
            "{}",
            updated.text
        );
        assert!(
            updated
                .text
                .contains("<a href=\"https://t.me/jobs_channel/31\">")
        );
        assert!(updated.text.contains("Решение: "), "{}", updated.text);
        assert!(updated.buttons().is_empty(), "{:?}", updated.buttons());
    }
    eventually("the late admin's answer", async || {
        fake.callback_answers("rh_main_bot")
            .iter()
            .any(|a| a["text"] == "По этой жалобе уже решили")
    })
    .await;
    // and the reporter is told, once
    eventually("the reporter's news", async || {
        fake.sent_to("rh_main_bot", REPORTER)
            .iter()
            .any(|m| m.text.starts_with("✅ Спасибо! Модераторы проверили пост"))
    })
    .await;
    // and the spam card is gone from both chats; the real one stays
    eventually("the card taken back everywhere", async || {
        [REPORTER, OTHER]
            .iter()
            .all(|u| card(fake, *u, 31).is_some_and(|c| c.deleted))
    })
    .await;
    assert!(
        [REPORTER, OTHER]
            .iter()
            .all(|u| !card(fake, *u, 32).unwrap().deleted)
    );
    let withdrawn: Vec<Withdrawal> = bus
        .read_subject("rh.deliveries.withdrawn.>")
        .await
        .unwrap()
        .into_iter()
        .filter_map(|s| match s.envelope.event {
            Event::DeliveryWithdrawn(w) => Some(w.how),
            _ => None,
        })
        .collect();
    assert_eq!(withdrawn, [Withdrawal::Deleted, Withdrawal::Deleted]);

    // when a card older than Telegram lets a bot delete is to be taken back
    let old = card(fake, OTHER, 32).unwrap();
    bus.publish(&Envelope::new(DeliveryWithdrawalPlanned {
        user_id: OTHER,
        key: real,
        category: "design".into(),
        sent_message_id: old.message_id,
        delivered_at: chrono::Utc::now() - chrono::Duration::days(3),
        bot_id: None,
    }))
    .await
    .unwrap();
    // then it is edited to say it was withdrawn, its buttons gone
    eventually("the old card marked", async || {
        card_marked(fake, old.message_id)
    })
    .await;
    harness.stop().await;
}

fn card_marked(fake: &FakeTelegram, message_id: i64) -> bool {
    fake.sent_to("rh_design_bot", OTHER).iter().any(|m| {
        m.message_id == message_id && m.text.starts_with("🚫 Пост снят") && m.buttons().is_empty()
    })
}

#[tokio::test]
async fn hiding_a_channels_own_post_asks_first_and_can_be_undone() {
    // given a card of a post the channel published itself (signed with its own name)
    let harness = start().await;
    let (app, fake) = (&harness.app, &harness.fake);
    let own = MessageKey::new(CHANNEL, 41);
    app.given(&vacancy(
        own,
        "Ищем иллюстратора для книги",
        "Вакансии",
        &["design"],
    ))
    .await;
    eventually("the card", async || card(fake, OTHER, 41).is_some()).await;
    let shown = card(fake, OTHER, 41).unwrap();

    // when the subscriber taps «Скрыть автора»
    fake.press(
        "rh_design_bot",
        OTHER,
        shown.message_id,
        &format!("h:{}", own.id()),
    )
    .unwrap();
    // then nothing is hidden yet: the bot asks whether to hide the whole channel
    eventually("the question", async || {
        card(fake, OTHER, 41).is_some_and(|c| {
            c.buttons()
                .iter()
                .any(|(label, _)| label == "🙈 Скрыть весь канал «Вакансии»")
        })
    })
    .await;
    let hidden = |bus: bus::Bus| async move {
        bus.read_subject(&format!("rh.users.author_hidden.{OTHER}"))
            .await
            .unwrap()
            .len()
    };
    assert_eq!(hidden(app.bus.clone()).await, 0);

    // when they confirm, then undo it
    fake.press(
        "rh_design_bot",
        OTHER,
        shown.message_id,
        &format!("hc:{}", own.id()),
    )
    .unwrap();
    eventually("the undo button", async || {
        card(fake, OTHER, 41).is_some_and(|c| {
            c.buttons()
                .iter()
                .any(|(_, data)| data == &format!("hu:{}", own.id()))
        })
    })
    .await;
    assert_eq!(hidden(app.bus.clone()).await, 1);
    eventually("the hide in the read model", async || {
        projections::read::users::is_hidden(&app.db.pool, OTHER, "sig:Вакансии")
            .await
            .unwrap()
    })
    .await;
    fake.press(
        "rh_design_bot",
        OTHER,
        shown.message_id,
        &format!("hu:{}", own.id()),
    )
    .unwrap();
    // then the channel is back and the card has its buttons again, the link first
    eventually("the channel back", async || {
        !projections::read::users::is_hidden(&app.db.pool, OTHER, "sig:Вакансии")
            .await
            .unwrap()
    })
    .await;
    eventually("the card's buttons back", async || {
        card(fake, OTHER, 41).is_some_and(|c| {
            let buttons = c.buttons();
            buttons
                .first()
                .is_some_and(|(label, _)| label == "🔗 Открыть пост")
                && buttons
                    .iter()
                    .any(|(_, data)| data == &format!("h:{}", own.id()))
        })
    })
    .await;
    harness.stop().await;
}
