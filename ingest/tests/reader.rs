//! The live Telegram reader over real NATS, with Telegram scripted: catch-up from the newest
//! stored id, FLOOD_WAIT honoured, an unreadable channel reported while the others flow,
//! catalog changes picked up while running, and a revoked session reported as a lost account
//! until it signs in again.

#![allow(clippy::unwrap_used)] // tests may panic on broken set-up

mod common;

use std::time::{Duration, Instant};

use bus::Bus;
use common::telegram::{Telegram, vacancy};
use ingest::ingestor::{Ingestor, Update};
use ingest::telegram::SourceError;
use ingest::telegram::accounts::{self, AccountsOptions};
use ingest::telegram::reader::ReaderOptions;
use schemas::{
    AccountLoss, ChannelConfigured, ChannelKind, Envelope, Event, MessageKey, MessageReceived,
    MessageSource,
};
use tokio_util::sync::CancellationToken;

const DESIGN: i64 = -1_001_000_000_001;
const FLOODY: i64 = -1_001_000_000_002;
const LATER: i64 = -1_001_000_000_003;
const STRANGER: i64 = -1_001_000_000_099;

/// The one account these tests read with.
const ACCOUNT: &str = "main";

fn channel(chat_id: i64, username: Option<&str>) -> Envelope {
    Envelope::new(ChannelConfigured {
        chat_id,
        username: username.map(str::to_owned),
        title: format!("channel {chat_id}"),
        kind: ChannelKind::Channel,
        enabled: true,
        admin_id: None,
    })
}

/// The reading service with the one account, as `remotehunt ingest run` starts it.
fn start_reading(
    bus: &Bus,
    telegram: &Telegram,
    cancel: &CancellationToken,
) -> tokio::task::JoinHandle<anyhow::Result<()>> {
    let options = AccountsOptions {
        channels_per_account: 400,
        reader: options(),
    };
    telegram.world().sign_in(&[ACCOUNT]);
    tokio::spawn(accounts::run(
        bus.clone(),
        telegram.clone(),
        options,
        cancel.clone(),
    ))
}

async fn bus() -> Bus {
    common::bus_with_catalog().await
}

async fn received(bus: &Bus) -> Vec<MessageReceived> {
    bus.read_to_end(schemas::Area::Messages.stream(), 1)
        .await
        .unwrap()
        .iter()
        .filter_map(|m| match m.decode().unwrap().envelope.event {
            Event::MessageReceived(m) => Some(m),
            _ => None,
        })
        .collect()
}

async fn eventually<F: AsyncFn() -> bool>(what: &str, check: F) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn options() -> ReaderOptions {
    ReaderOptions {
        catch_up_limit: 3,
        catalog_poll: Duration::from_millis(100),
        retry_unreadable: Duration::from_secs(3600),
        max_backoff: Duration::from_millis(200),
        sweep_every: Duration::from_secs(3600),
        sweep_batch: 20,
    }
}

#[tokio::test]
async fn the_reader_catches_up_follows_live_updates_and_reports_what_it_cannot_read() {
    // given a catalog with a design channel (by id), a channel that answers FLOOD_WAIT once
    // (by username) and a private one; messages 1–2 of the design channel were stored before
    let bus = bus().await;
    bus.publish_batch(&[
        channel(DESIGN, None),
        channel(0, Some("floody_jobs")),
        channel(0, Some("closed_jobs")),
    ])
    .await
    .unwrap();
    Ingestor::start(bus.clone())
        .await
        .unwrap()
        .ingest(vec![vacancy(DESIGN, 1), vacancy(DESIGN, 2)])
        .await
        .unwrap();
    let telegram = Telegram::default();
    {
        let mut script = telegram.world();
        script.resolves.insert(DESIGN.to_string(), Ok(DESIGN));
        script.resolves.insert("@floody_jobs".into(), Ok(FLOODY));
        script
            .resolves
            .insert("@closed_jobs".into(), Err("CHANNEL_PRIVATE".into()));
        script.resolves.insert(LATER.to_string(), Ok(LATER));
        script
            .history
            .insert(DESIGN, (1..=4).map(|id| vacancy(DESIGN, id)).collect());
        script
            .history
            .insert(FLOODY, (1..=5).map(|id| vacancy(FLOODY, id)).collect());
        script.history.insert(LATER, vec![vacancy(LATER, 1)]);
        script.floods.insert(FLOODY, Duration::from_secs(1));
    }

    // when the reader runs
    let started = Instant::now();
    let cancel = CancellationToken::new();
    let running = start_reading(&bus, &telegram, &cancel);

    // then it catches up from the newest stored id, and only the newest `catch_up_limit` of a
    // channel never read before, after waiting out the FLOOD_WAIT
    eventually("catch-up", async || received(&bus).await.len() == 2 + 2 + 3).await;
    let stored = received(&bus).await;
    let ids = |chat: i64| -> Vec<i64> {
        stored
            .iter()
            .filter(|m| m.key.chat_id == chat)
            .map(|m| m.key.message_id)
            .collect()
    };
    assert_eq!(ids(DESIGN), [1, 2, 3, 4]);
    assert_eq!(ids(FLOODY), [3, 4, 5]);
    assert!(
        stored
            .iter()
            .filter(|m| m.key.message_id > 2)
            .all(|m| m.source == MessageSource::CatchUp)
    );
    {
        let script = telegram.world();
        let floody: Vec<_> = script
            .history_calls
            .iter()
            .filter(|(_, chat, ..)| *chat == FLOODY)
            .collect();
        assert_eq!(floody.len(), 2, "retried once after the flood wait");
        assert!(floody[1].3 - floody[0].3 >= Duration::from_secs(1));
        assert!(
            script
                .history_calls
                .iter()
                .any(|(_, chat, after, _)| *chat == DESIGN && *after == 2)
        );
    }
    // and the private channel is reported as an event naming Telegram's reason
    eventually("unreadable report", async || {
        let catalog = bus.read_to_end(schemas::Area::Catalog.stream(), 1).await.unwrap();
        catalog.iter().any(|m| {
            matches!(m.decode().unwrap().envelope.event,
                Event::ChannelUnreadable(ref e) if e.channel == "@closed_jobs" && e.reason == "CHANNEL_PRIVATE")
        })
    })
    .await;

    // when live updates arrive: a new post, its edit, a deletion, and a post in a chat that is
    // not in the catalog
    telegram.world().live_for(ACCOUNT).push_back(Ok(vec![
        Update::New(vacancy(DESIGN, 5)),
        Update::Edited(schemas::MessageEdited {
            key: MessageKey::new(DESIGN, 5),
            edited_at: chrono::Utc::now(),
            text: "Вакансия обновлена: ищем дизайнера, оплата 25 000 ₽".into(),
            links: vec![],
            contacts: vec![],
        }),
        Update::Deleted(MessageKey::new(DESIGN, 3)),
        Update::New(vacancy(STRANGER, 1)),
    ]));
    // then the catalog's are stored and the stranger's is not
    eventually("live updates", async || {
        bus.read_to_end(schemas::Area::Messages.stream(), 1)
            .await
            .unwrap()
            .iter()
            .any(|m| m.subject == format!("rh.messages.deleted.{DESIGN}.3"))
    })
    .await;
    let subjects: Vec<String> = bus
        .read_to_end(schemas::Area::Messages.stream(), 1)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.subject)
        .collect();
    assert!(subjects.contains(&format!("rh.messages.received.{DESIGN}.5")));
    assert!(subjects.contains(&format!("rh.messages.edited.{DESIGN}.5")));
    assert!(!subjects.iter().any(|s| s.contains(&STRANGER.to_string())));

    // when a channel is added to the catalog while the reader runs
    bus.publish(&channel(LATER, None)).await.unwrap();
    // then it is resolved and caught up without a restart
    eventually("new channel", async || {
        received(&bus).await.iter().any(|m| m.key.chat_id == LATER)
    })
    .await;

    // when Telegram says the session was revoked
    telegram
        .world()
        .live_for(ACCOUNT)
        .push_back(Err(SourceError::SessionRevoked(
            "AUTH_KEY_UNREGISTERED".into(),
        )));
    // then the account is reported lost with Telegram's answer, and the service waits for a
    // new sign-in instead of stopping
    eventually("the lost account", async || {
        let mut catalog = ingest::catalog::Catalog::default();
        catalog.follow(&bus, 0).await.unwrap();
        catalog.accounts[ACCOUNT].lost
            == Some((AccountLoss::Revoked, "AUTH_KEY_UNREGISTERED".into()))
    })
    .await;
    assert!(!running.is_finished());

    // when the account is signed in again and a post comes
    {
        let mut world = telegram.world();
        world.sign_in(&[ACCOUNT]);
        world
            .history
            .insert(DESIGN, (1..=7).map(|id| vacancy(DESIGN, id)).collect());
    }
    // then it reads again, from where it was
    eventually("reading again", async || {
        received(&bus)
            .await
            .iter()
            .any(|m| m.key == MessageKey::new(DESIGN, 7))
    })
    .await;
    assert!(started.elapsed() < Duration::from_secs(20));
    cancel.cancel();
    running.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_restarted_reader_reads_only_what_it_missed_and_network_errors_are_retried() {
    // given a reader that stored a channel's first two posts and stopped
    let bus = bus().await;
    bus.publish(&channel(DESIGN, None)).await.unwrap();
    let telegram = Telegram::default();
    {
        let mut script = telegram.world();
        script.resolves.insert(DESIGN.to_string(), Ok(DESIGN));
        script
            .history
            .insert(DESIGN, (1..=2).map(|id| vacancy(DESIGN, id)).collect());
    }
    let cancel = CancellationToken::new();
    let running = start_reading(&bus, &telegram, &cancel);
    eventually("first run", async || received(&bus).await.len() == 2).await;
    cancel.cancel();
    running.await.unwrap().unwrap();

    // when three more are posted while it is down, and the new run's first live call fails
    {
        let mut script = telegram.world();
        script
            .history
            .insert(DESIGN, (1..=5).map(|id| vacancy(DESIGN, id)).collect());
        script.history_calls.clear();
        script
            .live_for(ACCOUNT)
            .push_back(Err(SourceError::Other(anyhow::anyhow!("connection reset"))));
        script
            .live_for(ACCOUNT)
            .push_back(Ok(vec![Update::New(vacancy(DESIGN, 6))]));
    }
    let cancel = CancellationToken::new();
    let running = start_reading(&bus, &telegram, &cancel);

    // then it asks only for what is newer than post 2, stores each post once, and goes on
    // reading live updates after the network error
    eventually("catch-up and live", async || {
        received(&bus).await.len() == 6
    })
    .await;
    let calls = telegram.world().history_calls.clone();
    assert_eq!(calls.len(), 1);
    assert_eq!((calls[0].1, calls[0].2), (DESIGN, 2));
    let ids: Vec<i64> = received(&bus)
        .await
        .iter()
        .map(|m| m.key.message_id)
        .collect();
    assert_eq!(ids, [1, 2, 3, 4, 5, 6]);
    cancel.cancel();
    running.await.unwrap().unwrap();
}
