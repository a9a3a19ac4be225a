//! The main bot end to end: teloxide against the fake Bot API, events on real NATS, read models
//! by the real projectors in Postgres.

#![allow(clippy::unwrap_used)] // tests may panic on broken set-up

use std::time::Duration;

use bots::main_bot::{MainBot, MainBotConfig};
use schemas::{CategoryDefined, Envelope, Event};
use teloxide::Bot;
use testkit::FakeTelegram;
use testkit::eventually;

const TOKEN: &str = "2000:main-secret";
const USER: i64 = 501;

fn keyboard_labels(markup: &serde_json::Value) -> Vec<String> {
    markup["inline_keyboard"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row.as_array().into_iter().flatten())
        .map(|b| b["text"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn sign_up_trial_once_and_the_category_picker() {
    // given the pipeline's read models, a catalog, a fake Telegram and the main bot running
    let app = testkit::App::start().await;
    let (bus, db, shutdown) = (app.bus.clone(), &app.db, app.shutdown.clone());
    let categories = [("design", "Дизайн", 1), ("texts", "Тексты и переводы", 2)];
    let events: Vec<Envelope> = categories
        .iter()
        .map(|(slug, name, order)| {
            Envelope::new(CategoryDefined {
                slug: (*slug).into(),
                name: (*name).into(),
                order: *order,
            })
        })
        .collect();
    // the catalog read model is there before users come
    app.given(&events).await;
    let fake = FakeTelegram::start().await.unwrap();
    fake.register_bot(TOKEN, "rh_main_bot");
    let bot = Bot::new(TOKEN).set_api_url(url::Url::parse(fake.url()).unwrap());
    let config = MainBotConfig {
        poll_timeout: 1,
        category_bots: [("design".to_string(), "rh_design_bot".to_string())].into(),
        ..MainBotConfig::default()
    };
    let main_bot =
        tokio::spawn(MainBot::new(bot, bus.clone(), db.pool.clone(), config).run(shutdown.clone()));

    // when a user sends /start
    fake.user_says("rh_main_bot", USER, "/start").unwrap();
    // then they are greeted with their trial and the picker, nothing chosen yet
    eventually("the greeting", async || {
        !fake.sent_to("rh_main_bot", USER).is_empty()
    })
    .await;
    let greeting = fake.sent_to("rh_main_bot", USER)[0].clone();
    assert!(
        greeting.text.contains("Пробный период"),
        "{}",
        greeting.text
    );
    assert_eq!(
        keyboard_labels(greeting.reply_markup.as_ref().unwrap()),
        ["Дизайн", "Тексты и переводы", "📋 Моя подписка"]
    );
    let trial_ends = projections::read::users::access(&db.pool, USER)
        .await
        .unwrap()
        .expect("the user's row")
        .trial_ends_at;
    let left = trial_ends.unwrap() - chrono::Utc::now();
    assert!(left > chrono::Duration::hours(47) && left <= chrono::Duration::hours(48));

    // when they tap Дизайн
    fake.press("rh_main_bot", USER, greeting.message_id, "c:design")
        .unwrap();
    // then the same message shows the check mark at once, and the choice is an event
    eventually("the checked picker", async || {
        let message = &fake.sent_to("rh_main_bot", USER)[0];
        keyboard_labels(message.reply_markup.as_ref().unwrap())
            == ["✅ Дизайн", "Тексты и переводы", "📋 Моя подписка"]
    })
    .await;
    assert_eq!(
        fake.callback_answers("rh_main_bot")[0]["text"],
        "Добавлено: Дизайн"
    );
    // and it links the design bot, not started yet, under the unchanged greeting
    let picked = &fake.sent_to("rh_main_bot", USER)[0];
    assert!(picked.text.starts_with("Привет"), "{}", picked.text);
    assert!(
        picked
            .text
            .contains("👉 Дизайн: откройте https://t.me/rh_design_bot?start=go"),
        "{}",
        picked.text
    );

    // when the user starts the design bot (its event, as the category bot will publish it)
    let started = bus
        .publish(&Envelope::new(schemas::CategoryBotStarted {
            user_id: USER,
            category: "design".into(),
        }))
        .await
        .unwrap();
    let seen = projections::wait_for(&db.pool, "users", started.sequence, Duration::from_secs(10));
    assert!(seen.await.unwrap());

    // when they press a forged button and send /start again
    fake.press("rh_main_bot", USER, greeting.message_id, "c:casino")
        .unwrap();
    fake.user_says("rh_main_bot", USER, "/start").unwrap();
    eventually("the second greeting", async || {
        fake.sent_to("rh_main_bot", USER).len() == 2
    })
    .await;
    // then the forged press changed nothing, and there is still one trial, ever
    let again = &fake.sent_to("rh_main_bot", USER)[1];
    assert!(again.text.starts_with("С возвращением"), "{}", again.text);
    assert!(
        again.text.contains("✅ Дизайн: @rh_design_bot подключён"),
        "{}",
        again.text
    );
    assert_eq!(
        keyboard_labels(again.reply_markup.as_ref().unwrap()),
        ["✅ Дизайн", "Тексты и переводы", "📋 Моя подписка"]
    );
    let users = bus
        .read_to_end(schemas::Area::Users.stream(), 1)
        .await
        .unwrap();
    let count = |wanted: &str| {
        users
            .iter()
            .filter(|m| m.decode().unwrap().envelope.event.event_type() == wanted)
            .count()
    };
    assert_eq!(count("TrialStarted"), 1);
    assert_eq!(count("UserRegistered"), 1);
    assert_eq!(count("CategoriesChosen"), 1);
    assert!(users.iter().all(|m| !matches!(m.decode().unwrap().envelope.event, Event::CategoriesChosen(ref c) if c.categories.contains(&"casino".to_string()))));
    assert!(
        fake.callback_answers("rh_main_bot")[1]["text"]
            .as_str()
            .unwrap()
            .contains("устарела")
    );

    // when the user, who hid an author from a delivered post, opens "my subscription"
    let hidden = bus
        .publish(&Envelope::new(schemas::AuthorHidden {
            user_id: USER,
            author: "@boss".into(),
        }))
        .await
        .unwrap();
    let seen = projections::wait_for(&db.pool, "users", hidden.sequence, Duration::from_secs(10));
    assert!(seen.await.unwrap());
    fake.press("rh_main_bot", USER, again.message_id, "s")
        .unwrap();
    eventually("the subscription screen", async || {
        fake.sent_to("rh_main_bot", USER).len() == 3
    })
    .await;
    // then it shows the trial, the categories and the hidden author with an undo button
    let screen = fake.sent_to("rh_main_bot", USER)[2].clone();
    assert!(
        screen.text.starts_with("Пробный период до"),
        "{}",
        screen.text
    );
    assert!(screen.text.contains("Категории: Дизайн"), "{}", screen.text);
    assert!(
        screen.text.contains("Скрытые авторы: @boss"),
        "{}",
        screen.text
    );
    assert_eq!(
        keyboard_labels(screen.reply_markup.as_ref().unwrap()),
        ["Вернуть @boss"]
    );
    // when they undo it (and tap the stale button once more)
    fake.press("rh_main_bot", USER, screen.message_id, "u:@boss")
        .unwrap();
    eventually("the undo", async || {
        fake.sent_to("rh_main_bot", USER)[2]
            .text
            .contains("Скрытых авторов нет")
    })
    .await;
    fake.press("rh_main_bot", USER, screen.message_id, "u:@boss")
        .unwrap();
    eventually("the stale undo answered", async || {
        fake.callback_answers("rh_main_bot")
            .iter()
            .any(|a| a["text"] == "Этот автор уже не скрыт")
    })
    .await;
    // then the author is back, through exactly one event
    let unhidden = bus
        .read_to_end(schemas::Area::Users.stream(), 1)
        .await
        .unwrap()
        .iter()
        .filter(|m| m.decode().unwrap().envelope.event.event_type() == "AuthorUnhidden")
        .count();
    assert_eq!(unhidden, 1);

    shutdown.cancel();
    main_bot.await.unwrap().unwrap();
}
