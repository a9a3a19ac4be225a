//! Importing Telegram Desktop exports over real NATS: the live path (raw events, rules, dedup),
//! idempotent re-import, nothing half-imported from a broken file, real posts in the array form.

#![allow(clippy::unwrap_used)] // tests may panic on broken set-up

mod common;

use bus::Bus;
use ingest::import::{import_bytes, import_file};
use schemas::Envelope;
use serde_json::{Value, json};

async fn bus() -> Bus {
    common::bus_with_catalog().await
}

/// A live post as the Telegram reader would hand it over.
fn live(chat_id: i64, message_id: i64, text: &str) -> schemas::MessageReceived {
    schemas::MessageReceived {
        key: schemas::MessageKey::new(chat_id, message_id),
        chat_username: None,
        chat_title: None,
        posted_at: chrono::Utc::now(),
        text: text.into(),
        links: vec![],
        has_media: false,
        author: Default::default(),
        contacts: vec![],
        link: None,
        source: schemas::MessageSource::Live,
    }
}

const DEMO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../demo/");

/// An export of real posts of one channel from the pool, with `text` in the array form.
fn real_export(channel: i64, limit: usize) -> Vec<u8> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/corpus/pool.jsonl"
    );
    let posts: Vec<Value> = std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|p| p["chat_id"] == channel && p["text"].is_string())
        .take(limit)
        .collect();
    let messages: Vec<Value> = posts
        .iter()
        .map(|p| {
            let date = p["date"].as_str().unwrap().replace(' ', "T");
            json!({"id": p["message_id"], "type": "message", "date": date, "from": "x", "from_id": "user1",
                   "text": [p["text"].as_str().unwrap(), {"type": "unknown_entity", "text": ""}]})
        })
        .collect();
    serde_json::to_vec(&json!({"name": "real", "type": "public_channel", "id": -channel - 1_000_000_000_000, "messages": messages})).unwrap()
}

/// How many events MESSAGES and SCREENING hold.
async fn stored(bus: &Bus) -> (u64, u64) {
    let count = async |area: schemas::Area| bus.last_sequence(area.stream()).await.unwrap();
    (
        count(schemas::Area::Messages).await,
        count(schemas::Area::Screening).await,
    )
}

#[tokio::test]
async fn an_export_goes_through_rules_and_dedup_and_imports_once() {
    // given the demo's two exports (the second cross-posts a vacancy of the first)
    let bus = bus().await;
    // when both are imported
    let design = import_file(
        bus.clone(),
        &std::path::Path::new(DEMO).join("design-jobs.json"),
        Some("demo_design_jobs"),
    )
    .await
    .unwrap();
    let dev = import_file(
        bus.clone(),
        &std::path::Path::new(DEMO).join("dev-freelance.json"),
        None,
    )
    .await
    .unwrap();
    // then raw events, decisions and catalog additions are stored
    assert_eq!(
        (
            design.messages,
            design.accepted,
            design.rejected,
            design.channels_added
        ),
        (3, 1, 2, 1)
    );
    assert_eq!((dev.accepted, dev.rejected, dev.duplicates), (1, 1, 1));
    assert_eq!(stored(&bus).await, (6, 6));
    let screening = bus
        .read_to_end(schemas::Area::Screening.stream(), 1)
        .await
        .unwrap();
    let duplicate = screening
        .iter()
        .find(|m| m.subject.starts_with("rh.screening.duplicate."))
        .unwrap();
    assert!(duplicate.subject.ends_with(".-1001000000002.202"));
    // and importing again adds nothing anywhere
    let again = import_file(
        bus.clone(),
        &std::path::Path::new(DEMO).join("design-jobs.json"),
        Some("demo_design_jobs"),
    )
    .await
    .unwrap();
    assert_eq!((again.new, again.channels_added), (0, 0));
    assert_eq!(stored(&bus).await, (6, 6));
    assert_eq!(
        bus.last_sequence(schemas::Area::Catalog.stream())
            .await
            .unwrap(),
        13 + 2
    );
}

#[tokio::test]
async fn a_broken_export_imports_nothing() {
    let bus = bus().await;
    let whole = std::fs::read(std::path::Path::new(DEMO).join("design-jobs.json")).unwrap();
    let error = import_bytes(bus.clone(), &whole[..whole.len() - 40], None)
        .await
        .unwrap_err();
    assert!(format!("{error:#}").contains("line"), "{error:#}");
    for stream in [
        schemas::Area::Messages.stream(),
        schemas::Area::Screening.stream(),
    ] {
        assert_eq!(bus.last_sequence(stream).await.unwrap(), 0, "{stream}");
    }
    assert_eq!(
        bus.last_sequence(schemas::Area::Catalog.stream())
            .await
            .unwrap(),
        13,
        "no channel added"
    );
}

#[tokio::test]
async fn real_posts_import_with_their_reposts_caught() {
    // given 100 real posts of a channel known for reposts, exported twice under two chats
    let bus = bus().await;
    let export = real_export(-1001995153153, 100);
    let report = import_bytes(bus.clone(), &export, Some("revacancy"))
        .await
        .unwrap();
    assert_eq!(report.new, report.messages);
    assert!(report.accepted > 50, "{report:?}");
    // when the same posts arrive from another chat (a cross-post of everything)
    let text = String::from_utf8(export)
        .unwrap()
        .replace("\"id\":1995153153", "\"id\":777");
    let cross = import_bytes(bus.clone(), text.as_bytes(), None)
        .await
        .unwrap();
    // then every post that was accepted the first time is a duplicate now, none re-accepted
    assert_eq!(cross.accepted, 0, "{cross:?}");
    assert_eq!(cross.duplicates, report.accepted, "{cross:?}");
}

#[tokio::test]
async fn a_rule_change_takes_effect_in_a_running_ingest() {
    use ingest::ingestor::Ingestor;
    use schemas::{ChannelRulesSet, RuleScope, Rules};
    // given a running ingest and a channel whose default rules stop a post
    let bus = bus().await;
    let mut ingestor = Ingestor::start(bus.clone()).await.unwrap();
    let post = |id: i64| live(-1005, id, &format!("Python разработчик, пост {id}"));
    assert_eq!(ingestor.ingest(vec![post(1)]).await.unwrap().rejected, 1);
    // when an admin gives the channel its own rules
    let rules = ChannelRulesSet {
        scope: RuleScope::Channel("-1005".into()),
        rules: Rules {
            require_any: vec!["python".into()],
            ..Rules::default()
        },
        admin_id: None,
    };
    bus.publish(&Envelope::new(rules)).await.unwrap();
    // then the next post is judged by them, without a restart
    let report = ingestor.ingest(vec![post(2)]).await.unwrap();
    assert_eq!(report.accepted, 1, "{report:?}");
    let decisions = bus
        .read_to_end(schemas::Area::Screening.stream(), 1)
        .await
        .unwrap();
    let last = decisions.last().unwrap().decode().unwrap();
    assert!(
        matches!(last.envelope.event, schemas::Event::MessageAccepted(ref a) if a.scope == "-1005" && a.rule == "require_any:python")
    );
}

#[tokio::test]
async fn live_updates_with_edits_and_deletions_are_stored_once() {
    use ingest::ingestor::{Ingestor, Update};
    use schemas::{MessageEdited, MessageKey};
    // given a running ingest and synthetic updates as the Telegram reader produces them
    let bus = bus().await;
    let mut ingestor = Ingestor::start(bus.clone()).await.unwrap();
    let key = MessageKey::new(-1007, 1);
    let at = chrono::Utc::now();
    let new = live(-1007, 1, "Ищем монтажёра на Reels, оплата 2000 за ролик");
    let edit = MessageEdited {
        key,
        edited_at: at + chrono::Duration::minutes(5),
        text: "Ищем монтажёра на Reels, оплата 3000 за ролик".into(),
        links: vec![],
        contacts: vec![],
    };
    let updates = vec![
        Update::New(new.clone()),
        Update::Edited(edit.clone()),
        Update::Deleted(key),
    ];
    // when they are handled, and handled again (a reconnect replays them)
    let first = ingestor.handle(updates.clone()).await.unwrap();
    let second = ingestor.handle(updates).await.unwrap();
    // then the message, its edit and its deletion are stored once each, and it was screened once
    assert_eq!(
        (first.new, first.accepted, first.edits, first.deletions),
        (1, 1, 1, 1)
    );
    assert_eq!(second.new, 0);
    let subjects: Vec<String> = bus
        .read_to_end(schemas::Area::Messages.stream(), 1)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.subject)
        .collect();
    assert_eq!(
        subjects,
        [
            "rh.messages.received.-1007.1",
            "rh.messages.edited.-1007.1",
            "rh.messages.deleted.-1007.1"
        ]
    );
    assert_eq!(
        bus.last_sequence(schemas::Area::Screening.stream())
            .await
            .unwrap(),
        1
    );
}

#[tokio::test]
async fn a_message_stored_before_a_crash_is_screened_on_the_retry() {
    use ingest::ingestor::{Ingestor, Update};
    // given a raw message stored by a run that crashed before screening it
    let bus = bus().await;
    let message = live(-1009, 1, "Ищем копирайтера, оплата 500 ₽ за текст");
    bus.publish(&Envelope::with_id(message.key.event_id(), message.clone()))
        .await
        .unwrap();
    // when ingest starts again and sees the message once more
    let mut ingestor = Ingestor::start(bus.clone()).await.unwrap();
    let report = ingestor
        .handle(vec![Update::New(message.clone())])
        .await
        .unwrap();
    // then it is screened now (though its raw event was not new), and only once
    assert_eq!((report.new, report.accepted), (0, 1));
    let again = ingestor.handle(vec![Update::New(message)]).await.unwrap();
    assert_eq!(again.accepted, 0);
    assert_eq!(
        bus.last_sequence(schemas::Area::Screening.stream())
            .await
            .unwrap(),
        1
    );
}

#[tokio::test]
async fn a_removed_channel_is_not_brought_back_by_an_import() {
    use schemas::ChannelRemoved;
    // given an imported channel that an operator then removed
    let bus = bus().await;
    let path = std::path::Path::new(DEMO).join("design-jobs.json");
    import_file(bus.clone(), &path, Some("demo_design_jobs"))
        .await
        .unwrap();
    bus.publish(&Envelope::new(ChannelRemoved {
        channel: "-1001000000001".into(),
        admin_id: None,
    }))
    .await
    .unwrap();
    let catalog_events = bus
        .last_sequence(schemas::Area::Catalog.stream())
        .await
        .unwrap();
    // when a newer export of it is imported
    let newer = std::fs::read_to_string(&path)
        .unwrap()
        .replace("\"id\": 101,", "\"id\": 111,");
    let report = import_bytes(bus.clone(), newer.as_bytes(), Some("demo_design_jobs"))
        .await
        .unwrap();
    // then the channel stays removed and its new post is rejected for that reason
    assert_eq!(
        (report.channels_added, report.new, report.rejected),
        (0, 1, 1),
        "{report:?}"
    );
    assert_eq!(
        bus.last_sequence(schemas::Area::Catalog.stream())
            .await
            .unwrap(),
        catalog_events
    );
    let last = bus
        .read_to_end(schemas::Area::Screening.stream(), 1)
        .await
        .unwrap()
        .pop()
        .unwrap()
        .decode()
        .unwrap();
    assert!(
        matches!(last.envelope.event, schemas::Event::MessageRejected(ref r) if r.rule == "channel_removed")
    );
}
