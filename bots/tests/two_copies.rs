//! Two copies of the bots service against the same bot tokens behave like one: each bot is
//! polled by the copy holding its lease, so every tap is handled once; the standby takes a
//! crashed copy's bots over within seconds, and a stopped copy's at once.

#![allow(clippy::unwrap_used)] // tests may panic on broken set-up

use std::time::{Duration, Instant};

use bots::{BotsConfig, service::MainBotSetup};
use bus::Bus;
use teloxide::Bot;
use testkit::{FakeTelegram, eventually};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

const MAIN: &str = "2300:main-secret";
const DESIGN: &str = "2301:design-secret";
const MAIN_BOT: &str = "rh_main_bot";
const DESIGN_BOT: &str = "rh_design_bot";
/// A user who tries the bots before the second copy starts.
const EARLY: i64 = 800;
/// The users who tap while both copies run.
const USERS: std::ops::Range<i64> = 801..813;

/// One `remotehunt all`'s bots: its own NATS connection, its own shutdown.
struct Copy {
    shutdown: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
}

struct World {
    app: testkit::App,
    fake: FakeTelegram,
}

impl World {
    async fn start() -> Self {
        let app = testkit::App::start().await;
        app.given(&testkit::events::categories(&[
            ("design", "Дизайн"),
            ("texts", "Тексты и переводы"),
        ]))
        .await;
        let fake = FakeTelegram::start().await.unwrap();
        fake.register_bot(MAIN, MAIN_BOT);
        fake.register_bot(DESIGN, DESIGN_BOT);
        Self { app, fake }
    }

    /// Starts a copy of the bots service, as a second process would.
    async fn copy(&self) -> Copy {
        let api = url::Url::parse(self.fake.url()).unwrap();
        let config = BotsConfig {
            main: Some(MainBotSetup {
                bot: Bot::new(MAIN).set_api_url(api.clone()),
                yookassa: None,
                plans: Vec::new(),
                stars: false,
                category_bot_usernames: [(
                    "design".to_owned(),
                    vec![(2301, DESIGN_BOT.to_owned())],
                )]
                .into(),
                support: None,
                web_public_url: None,
                feeds: None,
            }),
            category_bots: fanout::tokens::one_bot_each(
                [("design".to_owned(), Bot::new(DESIGN).set_api_url(api))].into(),
            ),
            admins: Vec::new(),
            poll_timeout: 1,
        };
        let bus = Bus::connect(&self.app.nats_url).await.unwrap();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(bots::run(
            bus,
            self.app.db.pool.clone(),
            config,
            shutdown.clone(),
        ));
        Copy { shutdown, task }
    }

    fn menu(&self, user: i64) -> Vec<testkit::telegram::Sent> {
        self.fake.sent_to(MAIN_BOT, user)
    }

    /// Starts `user` in the main bot; their menu message's id.
    async fn start_user(&self, user: i64) -> i64 {
        self.fake.user_says(MAIN_BOT, user, "/start").unwrap();
        eventually("the greeting", async || !self.menu(user).is_empty()).await;
        self.menu(user)[0].message_id
    }

    fn answers(&self) -> Vec<String> {
        self.fake
            .callback_answers(MAIN_BOT)
            .iter()
            .map(|a| a["text"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    async fn chosen(&self, user: i64) -> Vec<String> {
        let mut chosen = projections::read::users::chosen_categories(self.app.pool(), user)
            .await
            .unwrap();
        chosen.sort();
        chosen
    }

    /// Every message any bot sent, by bot and chat: none may be doubled.
    fn sent_count(&self, bot: &str, user: i64) -> usize {
        self.fake.sent_to(bot, user).len()
    }
}

/// What each user taps, in order, and the categories that leaves them with.
fn taps(user: i64) -> (Vec<&'static str>, Vec<&'static str>) {
    if user % 2 == 0 {
        (vec!["k1:design", "k1:texts", "k0:design"], vec!["texts"])
    } else {
        (vec!["k1:texts", "k1:design"], vec!["design", "texts"])
    }
}

#[tokio::test]
async fn two_copies_handle_every_tap_once_and_the_standby_takes_over_a_crash() {
    // given copy a running and answering both bots
    let world = World::start().await;
    let a = world.copy().await;
    world.start_user(EARLY).await;
    world.fake.user_says(DESIGN_BOT, EARLY, "/start").unwrap();
    eventually("the design bot's answer", async || {
        world.sent_count(DESIGN_BOT, EARLY) == 1
    })
    .await;
    // and copy b started beside it, on the same tokens
    let _b = world.copy().await;

    // when a dozen users start the main bot and choose categories, tapping fast
    let mut menus = Vec::new();
    for user in USERS {
        world.fake.user_says(MAIN_BOT, user, "/start").unwrap();
    }
    for user in USERS {
        eventually("every greeting", async || !world.menu(user).is_empty()).await;
        menus.push((user, world.menu(user)[0].message_id));
    }
    let mut presses = 0;
    for (user, menu) in &menus {
        for data in taps(*user).0 {
            world.fake.press(MAIN_BOT, *user, *menu, data).unwrap();
            presses += 1;
        }
    }

    // then every tap is answered once, and nothing is done twice
    eventually("every tap answered", async || {
        world.answers().len() >= presses
    })
    .await;
    // (a second poller would answer within its next long poll)
    tokio::time::sleep(Duration::from_secs(2)).await;
    let answers = world.answers();
    assert_eq!(answers.len(), presses, "{answers:#?}");
    assert!(
        answers.iter().all(|a| !a.contains("уже")),
        "a tap was handled twice: {answers:#?}"
    );
    // and each user has one menu, and exactly the categories they tapped
    for (user, _) in &menus {
        assert_eq!(world.sent_count(MAIN_BOT, *user), 1, "user {user}");
        let expected: Vec<String> = taps(*user).1.into_iter().map(String::from).collect();
        eventually("the chosen categories", async || {
            world.chosen(*user).await == expected
        })
        .await;
    }

    // when copy a crashes (no graceful release) and users go on tapping
    a.task.abort();
    let crashed = Instant::now();
    for (user, menu) in &menus {
        let data = if user % 2 == 0 {
            "k1:design"
        } else {
            "k0:texts"
        };
        world.fake.press(MAIN_BOT, *user, *menu, data).unwrap();
        world.fake.user_says(DESIGN_BOT, *user, "/start").unwrap();
    }

    // then copy b takes both bots over within seconds and answers each tap once
    let total = presses + menus.len();
    eventually("the taps after the crash", async || {
        world.answers().len() >= total
    })
    .await;
    let took = crashed.elapsed();
    assert!(took < Duration::from_secs(10), "took {took:?}");
    for (user, _) in &menus {
        eventually("the design bot's answers", async || {
            world.sent_count(DESIGN_BOT, *user) >= 1
        })
        .await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(world.answers().len(), total);
    for (user, _) in &menus {
        let expected = if user % 2 == 0 {
            vec!["design", "texts"]
        } else {
            vec!["design"]
        };
        eventually("the categories after the crash", async || {
            world.chosen(*user).await == expected
        })
        .await;
        assert_eq!(world.sent_count(MAIN_BOT, *user), 1, "user {user}");
        assert_eq!(world.sent_count(DESIGN_BOT, *user), 1, "user {user}");
    }
    world.app.shutdown.cancel();
}

#[tokio::test]
async fn a_stopped_copy_hands_its_bots_to_the_standby_at_once() {
    // given copy a polling, and copy b standing by
    let world = World::start().await;
    let a = world.copy().await;
    world.start_user(EARLY).await;
    let b = world.copy().await;

    // when copy a shuts down gracefully
    a.shutdown.cancel();
    a.task.await.unwrap().unwrap();
    let stopped = Instant::now();

    // then copy b answers the next user at once, not a lease's TTL later
    let user = USERS.start;
    world.start_user(user).await;
    let took = stopped.elapsed();
    assert!(took < Duration::from_secs(3), "took {took:?}");
    assert_eq!(world.sent_count(MAIN_BOT, user), 1);
    b.shutdown.cancel();
    b.task.await.unwrap().unwrap();
    world.app.shutdown.cancel();
}
