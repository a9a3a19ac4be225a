//! The main bot end to end: teloxide against the fake Bot API, events on real NATS, read models
//! by the real projectors in Postgres. One live menu per user that buttons edit in place, the
//! onboarding to category bots that updates that menu by itself, honest category bots, and
//! hidden authors named and undone whatever their key.

#![allow(clippy::unwrap_used)] // tests may panic on broken set-up

use std::time::Duration;

use bots::category_bot::CategoryBot;
use bots::main_bot::{MainBot, MainBotConfig};
use bus::Bus;
use schemas::callback::{MenuAction, author_ref};
use schemas::{CategoryDefined, Envelope, Event, MessageKey};
use teloxide::Bot;
use testkit::telegram::Sent;
use testkit::{FakeTelegram, eventually};
use tokio_util::sync::CancellationToken;

const MAIN: &str = "2000:main-secret";
const DESIGN: &str = "2001:design-secret";
const USER: i64 = 501;
const ADMIN: i64 = 90;

fn labels(message: &Sent) -> Vec<String> {
    message
        .buttons()
        .into_iter()
        .map(|(label, _)| label)
        .collect()
}

/// The design category's second bot, for tests of a category with several.
const DESIGN_TWO: (&str, &str, i64) = ("2002:design-two", "rh_design2_bot", 2002);

/// The read models with a catalog, the fake Bot API, the main bot and the design bot running.
struct Bots {
    app: testkit::App,
    bus: Bus,
    fake: FakeTelegram,
    shutdown: CancellationToken,
}

async fn start_bots() -> Bots {
    start_bots_with(&[(DESIGN, "rh_design_bot", 2001)], &[]).await
}

/// [`start_bots`] with these design bots (token, @username, id), `given` in the read models
/// before the bots start.
async fn start_bots_with(design_bots: &[(&str, &str, i64)], given: &[Envelope]) -> Bots {
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
                paid_first: false,
                admin_id: None,
            })
        })
        .collect();
    // the catalog read model is there before users come
    app.given(&events).await;
    app.given(given).await;
    let fake = FakeTelegram::start().await.unwrap();
    fake.register_bot(MAIN, "rh_main_bot");
    let api = url::Url::parse(fake.url()).unwrap();
    let links = design_bots
        .iter()
        .map(|(_, username, id)| (*id, username.to_string()))
        .collect();
    let config = MainBotConfig {
        poll_timeout: 1,
        category_bots: [("design".to_string(), links)].into(),
        admin_ids: vec![ADMIN],
        support: Some("@rh_support".into()),
        ..MainBotConfig::default()
    };
    let main = Bot::new(MAIN).set_api_url(api.clone());
    tokio::spawn(MainBot::new(main, bus.clone(), db.pool.clone(), config).run(shutdown.clone()));
    for (position, (token, username, id)) in design_bots.iter().enumerate() {
        fake.register_bot(token, username);
        let design = CategoryBot {
            category: "design".into(),
            name: "Дизайн".into(),
            bot_id: *id,
            first_of_category: position == 0,
            bot: Bot::new(*token).set_api_url(api.clone()),
            bus: bus.clone(),
            pool: db.pool.clone(),
            poll_timeout: 1,
            main_bot_username: Some("rh_main_bot".into()),
        };
        tokio::spawn(design.run(shutdown.clone()));
    }
    Bots {
        app,
        bus,
        fake,
        shutdown,
    }
}

impl Bots {
    fn main_chat(&self, user: i64) -> Vec<Sent> {
        self.fake.sent_to("rh_main_bot", user)
    }

    /// USER's events of one type on USERS.
    async fn count(&self, event_type: &str) -> usize {
        self.bus
            .read_subject(&format!("rh.users.*.{USER}"))
            .await
            .unwrap()
            .iter()
            .filter(|s| s.envelope.event.event_type() == event_type)
            .count()
    }

    fn answers(&self) -> Vec<String> {
        self.fake
            .callback_answers("rh_main_bot")
            .iter()
            .map(|a| a["text"].as_str().unwrap_or_default().to_owned())
            .collect()
    }
}

#[tokio::test]
async fn one_menu_edited_in_place_and_the_onboarding_updates_it_by_itself() {
    // given the main bot and the design bot
    let bots = start_bots().await;
    let fake = &bots.fake;

    // when a newcomer follows a referral link (`/start ref_42`)
    fake.user_says("rh_main_bot", USER, "/start ref_42")
        .unwrap();
    eventually("the greeting", async || bots.main_chat(USER).len() == 1).await;
    // then they are greeted with their trial and the picker straight away
    let menu = bots.main_chat(USER)[0].clone();
    assert!(menu.text.starts_with("Привет"), "{}", menu.text);
    assert!(menu.text.contains("Пробный период до"), "{}", menu.text);
    assert!(menu.text.contains("(МСК)"), "{}", menu.text);
    assert_eq!(labels(&menu), ["Дизайн", "Тексты и переводы", "✅ Готово"]);

    // when they tap Дизайн, and the same button again (a doubled tap)
    fake.press("rh_main_bot", USER, menu.message_id, "k1:design")
        .unwrap();
    fake.press("rh_main_bot", USER, menu.message_id, "k1:design")
        .unwrap();
    // then the same message shows the check mark, and only one choice is recorded
    eventually("both taps answered", async || bots.answers().len() == 2).await;
    assert_eq!(bots.answers(), ["Добавлено: Дизайн", "Дизайн уже выбрана"]);
    let picked = bots.main_chat(USER);
    assert_eq!(picked.len(), 1);
    assert_eq!(
        labels(&picked[0]),
        ["✅ Дизайн", "Тексты и переводы", "✅ Готово"]
    );
    assert_eq!(bots.count("CategoriesChosen").await, 1);

    // when they are done choosing
    fake.press("rh_main_bot", USER, menu.message_id, "m")
        .unwrap();
    // then the menu links the design bot with a start payload, as a button
    eventually("the main menu", async || {
        labels(&bots.main_chat(USER)[0]).contains(&"🗂 Категории".to_string())
    })
    .await;
    let main = bots.main_chat(USER)[0].clone();
    assert_eq!(
        main.buttons()[0],
        (
            "👉 Дизайн: открыть бота".to_string(),
            "https://t.me/rh_design_bot?start=from_main".to_string()
        )
    );
    assert!(main.text.contains("нажмите «Старт»"), "{}", main.text);

    // when the user starts the design bot from that link
    fake.user_says("rh_design_bot", USER, "/start from_main")
        .unwrap();
    // then the design bot confirms, and the main bot's menu updates itself, untouched
    eventually("the design bot's confirmation", async || {
        !fake.sent_to("rh_design_bot", USER).is_empty()
    })
    .await;
    let confirmed = &fake.sent_to("rh_design_bot", USER)[0];
    assert!(confirmed.text.starts_with("Готово!"), "{}", confirmed.text);
    eventually("the menu's check mark", async || {
        bots.main_chat(USER)[0].buttons()[0].0 == "✅ Дизайн — @rh_design_bot"
    })
    .await;
    assert!(!bots.main_chat(USER)[0].text.contains("нажмите «Старт»"));

    // when they look at «Моя подписка», the help, then come back
    for (data, shows) in [
        ("s", "<b>Моя подписка</b>"),
        ("h", "<b>Как это работает</b>"),
        ("m", "🎁 Пробный период до"),
    ] {
        fake.press("rh_main_bot", USER, menu.message_id, data)
            .unwrap();
        eventually(shows, async || {
            bots.main_chat(USER)[0].text.starts_with(shows)
        })
        .await;
    }
    // then it all happened in one message
    assert_eq!(bots.main_chat(USER).len(), 1);

    // when a forged button is pressed, and a retired category's
    fake.press("rh_main_bot", USER, menu.message_id, "c:design")
        .unwrap();
    fake.press("rh_main_bot", USER, menu.message_id, "k1:casino")
        .unwrap();
    // then both are refused without effect
    eventually("the refusals", async || {
        let answers = bots.answers();
        answers.iter().any(|a| a.contains("устарела"))
            && answers.iter().any(|a| a.contains("больше нет"))
    })
    .await;
    assert_eq!(bots.count("CategoriesChosen").await, 1);

    // when they write free text, then /start again
    fake.user_says("rh_main_bot", USER, "привет, есть заказы?")
        .unwrap();
    eventually("the short answer", async || bots.main_chat(USER).len() == 2).await;
    let short = bots.main_chat(USER)[1].clone();
    assert_eq!(
        short.buttons(),
        [("📋 Открыть меню".to_string(), "m".to_string())]
    );
    fake.user_says("rh_main_bot", USER, "/start").unwrap();
    eventually("the returning menu", async || {
        bots.main_chat(USER).len() == 3
    })
    .await;
    // then a returning user gets the menu with their bot connected, and one trial, ever
    let again = bots.main_chat(USER)[2].clone();
    assert!(again.text.starts_with("С возвращением"), "{}", again.text);
    assert_eq!(again.buttons()[0].0, "✅ Дизайн — @rh_design_bot");
    assert_eq!(bots.count("TrialStarted").await, 1);
    assert_eq!(bots.count("UserRegistered").await, 1);
    // and the registration says where they came from
    let registered = bots
        .bus
        .read_subject(&format!("rh.users.registered.{USER}"))
        .await
        .unwrap();
    assert!(matches!(
        &registered[0].envelope.event,
        Event::UserRegistered(r) if r.source.as_deref() == Some("ref_42")
    ));

    // and the command menu is set, with /jobs for admins only
    let names = |commands: serde_json::Value| -> Vec<String> {
        commands
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["command"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        names(fake.commands("rh_main_bot")),
        ["start", "menu", "subscription", "help"]
    );
    assert_eq!(
        names(fake.commands_in_chat("rh_main_bot", ADMIN)),
        ["start", "menu", "subscription", "help", "jobs"]
    );
    bots.shutdown.cancel();
}

#[tokio::test]
async fn category_bots_say_what_is_missing_instead_of_a_false_ready() {
    // given the bots, a stranger, and a user who chose only texts
    let bots = start_bots().await;
    let fake = &bots.fake;
    const STRANGER: i64 = 777;
    const TEXTS_ONLY: i64 = 778;
    bots.app
        .given(&testkit::events::subscriber(TEXTS_ONLY, &["texts"], 2))
        .await;

    // when each starts the design bot
    fake.user_says("rh_design_bot", STRANGER, "/start").unwrap();
    fake.user_says("rh_design_bot", TEXTS_ONLY, "/start")
        .unwrap();
    eventually("both answers", async || {
        !fake.sent_to("rh_design_bot", STRANGER).is_empty()
            && !fake.sent_to("rh_design_bot", TEXTS_ONLY).is_empty()
    })
    .await;
    // then neither is told «Готово!»: each learns what is missing, with the main bot a tap away
    let stranger = fake.sent_to("rh_design_bot", STRANGER)[0].clone();
    assert!(
        stranger.text.contains("сначала откройте главный бот"),
        "{}",
        stranger.text
    );
    assert_eq!(
        stranger.buttons(),
        [(
            "Открыть главный бот".to_string(),
            "https://t.me/rh_main_bot?start=start".to_string()
        )]
    );
    let texts_only = fake.sent_to("rh_design_bot", TEXTS_ONLY)[0].clone();
    assert!(
        texts_only.text.contains("не выбрана"),
        "{}",
        texts_only.text
    );
    assert_eq!(
        texts_only.buttons(),
        [(
            "Выбрать категории".to_string(),
            "https://t.me/rh_main_bot?start=categories".to_string()
        )]
    );

    // when the user follows that button to the main bot
    fake.user_says("rh_main_bot", TEXTS_ONLY, "/start categories")
        .unwrap();
    // then they land on the picker, their categories checked
    eventually("the picker", async || {
        !bots.main_chat(TEXTS_ONLY).is_empty()
    })
    .await;
    let picker = bots.main_chat(TEXTS_ONLY)[0].clone();
    assert!(
        picker.text.starts_with("<b>Категории</b>"),
        "{}",
        picker.text
    );
    assert_eq!(
        labels(&picker),
        ["Дизайн", "✅ Тексты и переводы", "✅ Готово"]
    );

    // when the stranger asks the design bot for help
    fake.user_says("rh_design_bot", STRANGER, "/help").unwrap();
    eventually("the help", async || {
        fake.sent_to("rh_design_bot", STRANGER).len() == 2
    })
    .await;
    // then it links back to the main bot
    let help = fake.sent_to("rh_design_bot", STRANGER)[1].clone();
    assert_eq!(help.buttons()[0].0, "Открыть главный бот");
    bots.shutdown.cancel();
}

#[tokio::test]
async fn a_hidden_author_with_a_long_key_is_named_and_undone() {
    // given a user who hid the author of a channel post signed with a long name (its key is
    // over 62 bytes, too long for callback data as it is)
    let bots = start_bots().await;
    let fake = &bots.fake;
    let signature = "Анастасия Константинопольская, ведущий менеджер проектов";
    let key = MessageKey::new(-1_001_000_000_555, 7);
    let author = format!("sig:{signature}");
    assert!(author.len() > 62);
    let mut events = testkit::events::subscriber(USER, &["design"], 2);
    events.extend(testkit::events::vacancy(
        key,
        "Ищем дизайнера логотипа",
        signature,
        &["design"],
    ));
    events.push(Envelope::new(schemas::AuthorHidden {
        user_id: USER,
        author: author.clone(),
    }));
    bots.app.given(&events).await;

    // when they open «Моя подписка»
    fake.user_says("rh_main_bot", USER, "/subscription")
        .unwrap();
    eventually("the subscription screen", async || {
        bots.main_chat(USER).len() == 1
    })
    .await;
    // then the author is named as the user saw them, with the channel, and can be brought back
    let screen = bots.main_chat(USER)[0].clone();
    assert!(
        screen
            .text
            .contains(&format!("• {signature} (подпись в «Вакансии»)")),
        "{}",
        screen.text
    );
    let undo = MenuAction::Unhide(author_ref(&author)).encode();
    let (label, data) = screen
        .buttons()
        .into_iter()
        .find(|(label, _)| label.starts_with("Вернуть"))
        .unwrap();
    assert_eq!(data, undo);
    assert!(label.ends_with('…'), "{label}");

    // when they tap it, and the same (now stale) button again
    fake.press("rh_main_bot", USER, screen.message_id, &undo)
        .unwrap();
    eventually("the undo", async || {
        bots.main_chat(USER)[0].text.contains("Скрытых авторов нет")
    })
    .await;
    fake.press("rh_main_bot", USER, screen.message_id, &undo)
        .unwrap();
    eventually("the stale undo answered", async || {
        bots.answers()
            .iter()
            .any(|a| a == "Этот автор уже не скрыт")
    })
    .await;
    // then the author is back, through exactly one event, and the screen stayed one message
    assert_eq!(bots.count("AuthorUnhidden").await, 1);
    assert_eq!(bots.main_chat(USER).len(), 1);
    let unhidden = bots
        .bus
        .read_subject(&format!("rh.users.author_unhidden.{USER}"))
        .await
        .unwrap();
    assert!(matches!(
        &unhidden[0].envelope.event,
        Event::AuthorUnhidden(e) if e.author == author
    ));
    bots.shutdown.cancel();
    tokio::time::sleep(Duration::from_millis(10)).await;
}

#[tokio::test]
async fn a_newcomer_is_sent_to_the_category_bot_with_fewest_users_and_stays_there() {
    // given design with two bots, the first with two users already
    let mut given = testkit::events::subscriber(601, &["design"], 2);
    given.extend(testkit::events::subscriber(602, &["design"], 2));
    let bots = start_bots_with(&[(DESIGN, "rh_design_bot", 2001), DESIGN_TWO], &given).await;
    let fake = &bots.fake;

    // when a newcomer signs up and picks design
    fake.user_says("rh_main_bot", USER, "/start").unwrap();
    eventually("the greeting", async || bots.main_chat(USER).len() == 1).await;
    let menu = bots.main_chat(USER)[0].message_id;
    fake.press("rh_main_bot", USER, menu, "k1:design").unwrap();
    eventually("the choice", async || bots.answers().len() == 1).await;
    fake.press("rh_main_bot", USER, menu, "m").unwrap();
    // then the menu opens the second design bot, the one with nobody yet
    let link = "https://t.me/rh_design2_bot?start=from_main".to_string();
    eventually("the link to the second bot", async || {
        bots.main_chat(USER)[0].buttons().first().map(|b| &b.1) == Some(&link)
    })
    .await;

    // when they start it
    fake.user_says(DESIGN_TWO.1, USER, "/start from_main")
        .unwrap();
    // then it confirms, the start names that bot, and the menu shows it as theirs
    eventually("the second bot's confirmation", async || {
        !fake.sent_to(DESIGN_TWO.1, USER).is_empty()
    })
    .await;
    assert!(
        fake.sent_to(DESIGN_TWO.1, USER)[0]
            .text
            .starts_with("Готово!")
    );
    let started = bots
        .bus
        .read_subject(&format!("rh.users.bot_started.{USER}"))
        .await
        .unwrap();
    assert!(matches!(
        started.as_slice(),
        [s] if matches!(&s.envelope.event, Event::CategoryBotStarted(b) if b.bot_id == Some(DESIGN_TWO.2))
    ));
    eventually("the menu's check mark", async || {
        bots.main_chat(USER)[0].buttons()[0].0 == "✅ Дизайн — @rh_design2_bot"
    })
    .await;

    // when the first bot gets more users than the second, and the user comes back
    let mut more = testkit::events::subscriber(603, &["design"], 2);
    more.extend(testkit::events::subscriber(604, &["design"], 2));
    bots.app.given(&more).await;
    fake.user_says("rh_main_bot", USER, "/start").unwrap();
    // then they stay on their bot
    eventually("the returning menu", async || {
        bots.main_chat(USER).len() == 2
    })
    .await;
    assert_eq!(
        bots.main_chat(USER)[1].buttons()[0].0,
        "✅ Дизайн — @rh_design2_bot"
    );
    assert!(fake.sent_to("rh_design_bot", USER).is_empty());
}
