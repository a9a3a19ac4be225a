//! The bots' update loop under outages: an update whose handling failed because NATS was down
//! is retried until it goes through, never dropped; one that can never succeed is dead-lettered
//! where an admin sees it.

#![allow(clippy::unwrap_used)] // tests may panic on broken set-up

use std::time::Duration;

use bots::main_bot::{MainBot, MainBotConfig};
use bus::Bus;
use schemas::{Area, Event};
use teloxide::Bot;
use testkit::{FakeTelegram, Fault, NatsServer, eventually};
use tokio_util::sync::CancellationToken;

const TOKEN: &str = "2100:main-secret";
const USER: i64 = 601;

/// The main bot on a nats-server of the test's own (so it can be killed), with the read models
/// and a fake Telegram.
struct MainBotOnItsOwnNats {
    server: NatsServer,
    bus: Bus,
    pool: sqlx::PgPool,
    fake: FakeTelegram,
    shutdown: CancellationToken,
    _db: testkit::TestDatabase,
}

impl MainBotOnItsOwnNats {
    async fn start() -> Self {
        let server = NatsServer::start().unwrap();
        let bus = Bus::connect(&server.url).await.unwrap();
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
        let fake = FakeTelegram::start().await.unwrap();
        fake.register_bot(TOKEN, "rh_main_bot");
        let bot = Bot::new(TOKEN).set_api_url(url::Url::parse(fake.url()).unwrap());
        let config = MainBotConfig {
            poll_timeout: 1,
            ..MainBotConfig::default()
        };
        tokio::spawn(MainBot::new(bot, bus.clone(), db.pool.clone(), config).run(shutdown.clone()));
        Self {
            server,
            bus,
            pool: db.pool.clone(),
            fake,
            shutdown,
            _db: db,
        }
    }

    fn greetings(&self) -> Vec<testkit::telegram::Sent> {
        self.fake.sent_to("rh_main_bot", USER)
    }
}

#[tokio::test]
async fn a_start_during_a_nats_outage_is_handled_once_nats_is_back() {
    // given the main bot on a nats-server that can be killed
    let mut app = MainBotOnItsOwnNats::start().await;

    // when NATS goes down, a new user sends /start, and NATS comes back seconds later
    app.server.kill();
    app.fake.user_says("rh_main_bot", USER, "/start").unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        app.greetings().is_empty(),
        "nothing can be answered while NATS is down"
    );
    app.server.restart().unwrap();

    // then the update was kept and handled: the user is registered with one trial and greeted
    eventually("the greeting after the outage", async || {
        !app.greetings().is_empty()
    })
    .await;
    let history = app
        .bus
        .read_subject(&Area::Users.history(&USER.to_string()))
        .await
        .unwrap();
    let count = |f: fn(&Event) -> bool| history.iter().filter(|s| f(&s.envelope.event)).count();
    assert_eq!(count(|e| matches!(e, Event::UserRegistered(_))), 1);
    assert_eq!(count(|e| matches!(e, Event::TrialStarted(_))), 1);
    // and nothing was dead-lettered: an outage is a retry, not a poison
    assert!(app.bus.dead_letters().await.unwrap().is_empty());
    app.shutdown.cancel();
}

#[tokio::test]
async fn nats_going_down_while_the_greeting_is_on_its_way_sends_no_second_one() {
    // given the main bot, and Telegram taking a second to answer its next message
    let mut app = MainBotOnItsOwnNats::start().await;
    app.fake.fail_next(
        "sendMessage",
        [Some(Fault::LateAnswer(Duration::from_secs(1)))],
    );

    // when a new user sends /start and NATS dies while the greeting is on its way, so the bot
    // cannot record the menu it sent (and loses its poller's lease); NATS is back 7 s later
    app.fake.user_says("rh_main_bot", USER, "/start").unwrap();
    eventually("the greeting on its way", async || {
        !app.greetings().is_empty()
    })
    .await;
    app.server.kill();
    tokio::time::sleep(Duration::from_secs(7)).await;
    app.server.restart().unwrap();

    // then the menu is recorded as the user's live one once NATS is back
    let greeting = app.greetings()[0].message_id;
    eventually("the live menu recorded", async || {
        projections::read::users::menu_message(&app.pool, USER)
            .await
            .unwrap()
            .map(i64::from)
            == Some(greeting)
    })
    .await;
    // and the user got the greeting once: the update was done when it went out
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(app.greetings().len(), 1, "{:?}", app.greetings());
    app.shutdown.cancel();
}

#[test]
fn outages_are_transient_and_bugs_are_not() {
    // given failures of each kind as a handler sees them
    let nats_down: anyhow::Error = bus::ReadError::Transport {
        what: "rh.users.*.1".into(),
        reason: "timed out".into(),
    }
    .into();
    let postgres_down: anyhow::Error = sqlx::Error::PoolTimedOut.into();
    let telegram_500: anyhow::Error =
        teloxide::RequestError::Api(teloxide::ApiError::Unknown("Internal Server Error".into()))
            .into();
    let broken: anyhow::Error = bus::ReadError::Decode {
        what: "rh.users.registered.1".into(),
        reason: "malformed".into(),
    }
    .into();
    let refused: anyhow::Error =
        teloxide::RequestError::Api(teloxide::ApiError::MessageNotModified).into();
    // then only the outages are retried, also behind context
    assert!(bots::polling::is_transient(
        &nats_down.context("registering")
    ));
    assert!(bots::polling::is_transient(&postgres_down));
    assert!(bots::polling::is_transient(&telegram_500));
    assert!(!bots::polling::is_transient(&broken));
    assert!(!bots::polling::is_transient(&refused));
    assert!(!bots::polling::is_transient(&anyhow::anyhow!("a bug")));
}
