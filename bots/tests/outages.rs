//! The bots' update loop under outages: an update whose handling failed because NATS was down
//! is retried until it goes through, never dropped; one that can never succeed is dead-lettered
//! where an admin sees it.

#![allow(clippy::unwrap_used)] // tests may panic on broken set-up

use std::time::Duration;

use bots::main_bot::{MainBot, MainBotConfig};
use bus::Bus;
use schemas::{Area, Event};
use teloxide::Bot;
use testkit::{FakeTelegram, NatsServer, eventually};
use tokio_util::sync::CancellationToken;

const TOKEN: &str = "2100:main-secret";
const USER: i64 = 601;

#[tokio::test]
async fn a_start_during_a_nats_outage_is_handled_once_nats_is_back() {
    // given the main bot on a nats-server of this test's own (so it can be killed), the read
    // models and a fake Telegram
    let mut server = NatsServer::start().unwrap();
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

    // when NATS goes down, a new user sends /start, and NATS comes back seconds later
    server.kill();
    fake.user_says("rh_main_bot", USER, "/start").unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        fake.sent_to("rh_main_bot", USER).is_empty(),
        "nothing can be answered while NATS is down"
    );
    server.restart().unwrap();

    // then the update was kept and handled: the user is registered with one trial and greeted
    eventually("the greeting after the outage", async || {
        !fake.sent_to("rh_main_bot", USER).is_empty()
    })
    .await;
    let history = bus
        .read_subject(&Area::Users.history(&USER.to_string()))
        .await
        .unwrap();
    let count = |f: fn(&Event) -> bool| history.iter().filter(|s| f(&s.envelope.event)).count();
    assert_eq!(count(|e| matches!(e, Event::UserRegistered(_))), 1);
    assert_eq!(count(|e| matches!(e, Event::TrialStarted(_))), 1);
    // and nothing was dead-lettered: an outage is a retry, not a poison
    assert!(bus.dead_letters().await.unwrap().is_empty());
    shutdown.cancel();
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
