//! Several Telegram accounts over real NATS, with Telegram scripted: channels shared evenly
//! under each account's cap, an account lost and its channels moved to the others as far as
//! they have room (the rest reported unassigned), nothing assigned missed or read twice; a
//! post whose live update never came found by the sweep; `CHANNELS_TOO_MUCH` moving a channel.

#![allow(clippy::unwrap_used)] // tests may panic on broken set-up

mod common;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use bus::Bus;
use common::telegram::{Telegram, vacancy};
use ingest::catalog::Catalog;
use ingest::telegram::accounts::{self, AccountsOptions};
use ingest::telegram::reader::ReaderOptions;
use schemas::{
    AccountLoss, ChannelConfigured, ChannelKind, Envelope, Event, MessageKey, MessageReceived,
    MessageSource,
};
use tokio_util::sync::CancellationToken;

fn chat(n: i64) -> i64 {
    -1_002_000_000_000 - n
}

fn channels(count: i64) -> Vec<Envelope> {
    (1..=count)
        .map(|n| {
            Envelope::new(ChannelConfigured {
                chat_id: chat(n),
                username: None,
                title: format!("channel {n}"),
                kind: ChannelKind::Channel,
                enabled: true,
                admin_id: None,
            })
        })
        .collect()
}

fn options(channels_per_account: u32) -> AccountsOptions {
    AccountsOptions {
        channels_per_account,
        reader: ReaderOptions {
            catch_up_limit: 100,
            catalog_poll: Duration::from_millis(100),
            retry_unreadable: Duration::from_secs(3600),
            max_backoff: Duration::from_millis(200),
            sweep_every: Duration::from_secs(2),
            sweep_batch: 1000,
        },
    }
}

fn start_reading(
    bus: &Bus,
    telegram: &Telegram,
    options: AccountsOptions,
    cancel: &CancellationToken,
) -> tokio::task::JoinHandle<anyhow::Result<()>> {
    tokio::spawn(accounts::run(
        bus.clone(),
        telegram.clone(),
        options,
        cancel.clone(),
    ))
}

async fn catalog(bus: &Bus) -> Catalog {
    let mut catalog = Catalog::default();
    catalog.follow(bus, 0).await.unwrap();
    catalog
}

/// Every stored message, by key, with how many times it was stored.
async fn received(bus: &Bus) -> BTreeMap<MessageKey, (usize, MessageReceived)> {
    let mut stored: BTreeMap<MessageKey, (usize, MessageReceived)> = BTreeMap::new();
    for message in bus
        .read_to_end(schemas::Area::Messages.stream(), 1)
        .await
        .unwrap()
    {
        if let Event::MessageReceived(m) = message.decode().unwrap().envelope.event {
            stored.entry(m.key).or_insert((0, m.clone())).0 += 1;
        }
    }
    stored
}

fn loads(catalog: &Catalog) -> BTreeMap<String, usize> {
    let mut loads = BTreeMap::new();
    for account in catalog.assignments.values() {
        *loads.entry(account.clone()).or_default() += 1;
    }
    loads
}

async fn eventually<F: AsyncFn() -> bool>(what: &str, check: F) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn three_accounts_share_900_channels_and_a_lost_account_s_channels_move_without_a_miss() {
    // given 900 channels with a post each, and three signed-in accounts allowed 400 each
    let bus = common::bus_with_catalog().await;
    bus.publish_batch(&channels(900)).await.unwrap();
    let telegram = Telegram::default();
    for n in 1..=900 {
        telegram.world().publish(vacancy(chat(n), 1));
    }

    // when ingest reads with them
    let cancel = CancellationToken::new();
    telegram.world().sign_in(&["a", "b", "c"]);
    let running = start_reading(&bus, &telegram, options(400), &cancel);

    // then each account reads 300, every channel is joined by one account and caught up
    eventually("900 caught up", async || received(&bus).await.len() == 900).await;
    let before = catalog(&bus).await;
    assert_eq!(
        loads(&before).into_values().collect::<Vec<_>>(),
        [300, 300, 300]
    );
    for account in ["a", "b", "c"] {
        assert_eq!(before.accounts[account].max_channels, 400);
    }
    {
        let world = telegram.world();
        let members = world.members();
        assert_eq!(members.len(), 900);
        for n in 1..=900 {
            let key = chat(n).to_string();
            assert_eq!(members[&chat(n)], [before.assignments[&key].clone()]);
        }
    }

    // when c's session is revoked, and at that moment every channel gets a second post
    {
        let mut world = telegram.world();
        world.revoked.insert("c".into());
        for n in 1..=900 {
            world.publish(vacancy(chat(n), 2));
        }
    }
    eventually("c reported lost", async || {
        catalog(&bus).await.accounts.get("c").is_some_and(|c| {
            c.lost
                .as_ref()
                .is_some_and(|(r, _)| *r == AccountLoss::Revoked)
        })
    })
    .await;

    // then c's channels go to a and b up to their cap, 100 are reported unassigned, and the
    // others stay where they were
    eventually("the move", async || {
        let now = catalog(&bus).await;
        loads(&now).get("a") == Some(&400) && loads(&now).get("b") == Some(&400)
    })
    .await;
    let after = catalog(&bus).await;
    assert!(!after.assignments.values().any(|a| a == "c"));
    assert_eq!(after.unassigned.len(), 100);
    for (channel, account) in &before.assignments {
        if account != "c" {
            assert_eq!(after.assignments.get(channel), Some(account));
        }
    }
    let unassigned_events = bus
        .read_to_end(schemas::Area::Catalog.stream(), 1)
        .await
        .unwrap()
        .iter()
        .filter(|m| {
            matches!(m.decode().unwrap().envelope.event,
                Event::ChannelAssigned(ref e) if e.account.is_none())
        })
        .count();
    assert_eq!(
        unassigned_events, 100,
        "each unassigned channel reported once"
    );

    // and every second post of an assigned channel is stored exactly once, the moved ones by
    // catching up (no live update reached their new account), none of the unassigned
    eventually("800 second posts", async || {
        received(&bus)
            .await
            .keys()
            .filter(|k| k.message_id == 2)
            .count()
            == 800
    })
    .await;
    let stored = received(&bus).await;
    assert!(stored.values().all(|(times, _)| *times == 1));
    for n in 1..=900 {
        let key = chat(n).to_string();
        let second = stored.get(&MessageKey::new(chat(n), 2));
        match (
            before.assignments[&key].as_str(),
            after.assignments.get(&key),
        ) {
            (_, None) => assert!(second.is_none(), "{key} is unassigned"),
            ("c", Some(_)) => assert_eq!(second.unwrap().1.source, MessageSource::CatchUp),
            (_, Some(_)) => assert!(second.is_some(), "{key} kept its account"),
        }
    }
    // and no channel is read by two live accounts
    {
        let world = telegram.world();
        let members = world.members();
        for (channel, account) in &after.assignments {
            let chat_id: i64 = channel.parse().unwrap();
            let live: Vec<&String> = members[&chat_id].iter().filter(|a| *a != "c").collect();
            assert_eq!(live, [account], "{channel}");
        }
    }

    // when a post's live update never comes
    let quiet = chat(1);
    telegram.world().publish_unannounced(vacancy(quiet, 3));
    // then the sweep finds it
    eventually("the sweep", async || {
        received(&bus)
            .await
            .contains_key(&MessageKey::new(quiet, 3))
    })
    .await;

    cancel.cancel();
    running.await.unwrap().unwrap();
}

#[tokio::test]
async fn an_account_signed_in_later_takes_its_share_and_a_full_account_hands_a_channel_on() {
    // given 30 channels read by one account
    let bus = common::bus_with_catalog().await;
    bus.publish_batch(&channels(30)).await.unwrap();
    let telegram = Telegram::default();
    for n in 1..=30 {
        telegram.world().publish(vacancy(chat(n), 1));
    }
    let cancel = CancellationToken::new();
    telegram.world().sign_in(&["a"]);
    let running = start_reading(&bus, &telegram, options(400), &cancel);
    eventually("30 caught up", async || received(&bus).await.len() == 30).await;
    assert_eq!(loads(&catalog(&bus).await)["a"], 30);
    cancel.cancel();
    running.await.unwrap().unwrap();

    // when the service restarts, and a second account that Telegram lets join only 10
    // channels is signed in while it runs
    let cancel = CancellationToken::new();
    let running = start_reading(&bus, &telegram, options(400), &cancel);
    eventually("a again", async || {
        telegram.world().history_calls.len() >= 60
    })
    .await;
    telegram.world().join_limits.insert("b".into(), 10);
    telegram.world().sign_in(&["b"]);

    // then b takes channels from a, is told it is full after 10, and the one it could not join
    // goes back to a, which takes the rest; a left every channel b reads
    eventually("b full", async || {
        catalog(&bus)
            .await
            .accounts
            .get("b")
            .is_some_and(|b| b.full.is_some())
    })
    .await;
    eventually("settled", async || {
        let now = catalog(&bus).await;
        loads(&now).get("b") == Some(&10) && loads(&now).get("a") == Some(&20)
    })
    .await;
    let now = catalog(&bus).await;
    let (following, refused) = now.accounts["b"].full.clone().unwrap();
    assert_eq!(following, 10);
    assert_eq!(now.assignments[&refused], "a");
    let one_member_each = || {
        let members: HashMap<i64, Vec<String>> = telegram.world().members();
        now.assignments.iter().all(|(channel, account)| {
            members[&channel.parse::<i64>().unwrap()] == [account.clone()]
        })
    };
    eventually("a left what b reads", async || one_member_each()).await;
    let left = telegram.world().left.clone();
    for (channel, _) in now
        .assignments
        .iter()
        .filter(|(_, account)| *account == "b")
    {
        let chat_id: i64 = channel.parse().unwrap();
        assert!(
            left.contains(&("a".to_owned(), chat_id)),
            "a left {channel}"
        );
    }

    // and every post was stored once
    for n in 1..=30 {
        telegram.world().publish(vacancy(chat(n), 2));
    }
    eventually("second posts", async || received(&bus).await.len() == 60).await;
    assert!(received(&bus).await.values().all(|(times, _)| *times == 1));
    cancel.cancel();
    running.await.unwrap().unwrap();
}
