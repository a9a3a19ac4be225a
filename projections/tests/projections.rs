//! Projectors against real NATS and Postgres: read models from events, rebuilds that equal the
//! original, redelivery that changes nothing, poison that is dead-lettered, read-your-writes.

#![allow(clippy::unwrap_used)] // tests may panic on broken set-up

use std::time::Duration;

use bus::Bus;
use chrono::{TimeZone, Utc};
use projections::{Config, Projection};
use schemas::*;
use tokio_util::sync::CancellationToken;

struct World {
    bus: Bus,
    db: testkit::TestDatabase,
    config: Config,
}

async fn world() -> World {
    let testkit::App { bus, db, .. } = testkit::App::without_projectors().await;
    let config = Config::new(db.url.clone());
    World { bus, db, config }
}

fn t(minute: i64) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0)
        .single()
        .expect("time")
        + chrono::Duration::minutes(minute)
}

fn received(chat_id: i64, message_id: i64, text: &str) -> Envelope {
    let key = MessageKey::new(chat_id, message_id);
    Envelope::with_id(
        key.event_id(),
        MessageReceived {
            key,
            chat_username: Some("jobs".into()),
            chat_title: None,
            posted_at: t(message_id),
            text: text.into(),
            links: vec![],
            has_media: false,
            author: Author {
                user_id: Some(5),
                username: None,
                signature: None,
            },
            contacts: vec![],
            link: None,
            source: MessageSource::Import,
        },
    )
}

impl World {
    async fn publish(&self, events: &[Envelope]) {
        self.bus.publish_batch(events).await.expect("publish");
    }

    async fn catch_up_all(&self) {
        for projection in Projection::ALL {
            projections::catch_up(&self.bus, &self.db.pool, projection, &self.config)
                .await
                .expect("catch up");
        }
    }

    async fn snapshot(&self) -> String {
        let tables: Vec<&str> = Projection::ALL
            .iter()
            .flat_map(|p| p.tables().iter().copied())
            .collect();
        testkit::snapshot(&self.db.pool, &tables)
            .await
            .expect("snapshot")
    }
}

fn a_day_of_events() -> Vec<Envelope> {
    let key = MessageKey::new(-100, 1);
    vec![
        Envelope::new(CategoryDefined {
            slug: "design".into(),
            name: "Дизайн".into(),
            order: 1,
            paid_first: false,
            admin_id: None,
        }),
        Envelope::new(CategoryDefined {
            slug: "texts".into(),
            name: "Тексты".into(),
            order: 2,
            paid_first: false,
            admin_id: None,
        }),
        Envelope::new(CategoryDefined {
            slug: "design".into(),
            name: "Дизайн и графика".into(),
            order: 1,
            paid_first: false,
            admin_id: None,
        }),
        Envelope::new(CategoryRetired {
            slug: "texts".into(),
            admin_id: None,
        }),
        Envelope::new(ChannelConfigured {
            chat_id: 0,
            username: Some("closed_jobs".into()),
            title: "Closed".into(),
            kind: ChannelKind::Channel,
            enabled: true,
            admin_id: None,
        }),
        Envelope::new(ChannelUnreadable {
            channel: "@closed_jobs".into(),
            reason: "CHANNEL_PRIVATE".into(),
        }),
        received(-100, 1, "Ищем дизайнера"),
        received(-100, 2, "Резюме: я дизайнер"),
        Envelope::new(MessageEdited {
            key,
            edited_at: t(30),
            text: "Ищем дизайнера, 10 000 ₽".into(),
            links: vec![],
            contacts: vec![],
        }),
        received(-100, 3, "Удалённый пост"),
        Envelope::new(MessageDeleted {
            key: MessageKey::new(-100, 3),
        }),
        Envelope::new(MessageAccepted {
            key,
            rule: "require_any:ищем".into(),
            scope: "global".into(),
        }),
        Envelope::new(MessageClassified {
            key,
            kind: PostKind::Vacancy,
            categories: vec![RankedCategory {
                slug: "design".into(),
                score: 0.8,
            }],
            confidence: 0.8,
            classifier: Classifier::Local,
            model: "m1".into(),
            prompt_version: None,
            tokens: None,
            latency_ms: 1,
            budget: None,
            remote: None,
            contacts: vec![],
            title: None,
            llm_unavailable: None,
        }),
        Envelope::new(UserRegistered {
            user_id: 7,
            username: Some("anya".into()),
            first_name: "Аня".into(),
            language_code: None,
            source: None,
        }),
        Envelope::new(CategoriesChosen {
            user_id: 7,
            categories: vec!["design".into(), "texts".into()],
        }),
        Envelope::new(CategoriesChosen {
            user_id: 7,
            categories: vec!["design".into()],
        }),
        Envelope::new(AuthorHidden {
            user_id: 7,
            author: "id:5".into(),
        }),
        Envelope::new(VacancyDelivered {
            user_id: 7,
            key,
            category: "design".into(),
            sent_message_id: 3,
            delivered_at: t(40),
            bot_id: Some(4002),
        }),
    ]
}

#[tokio::test]
async fn read_models_follow_the_events() {
    // given a day of events
    let w = world().await;
    w.publish(&a_day_of_events()).await;
    // when the projectors catch up
    w.catch_up_all().await;
    // then each read model holds the latest state
    let pool = &w.db.pool;
    let name: String = sqlx::query_scalar("SELECT name FROM categories WHERE slug = 'design'")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(name, "Дизайн и графика");
    let retired: bool = sqlx::query_scalar("SELECT retired FROM categories WHERE slug = 'texts'")
        .fetch_one(pool)
        .await
        .unwrap();
    assert!(retired);
    let unreadable: Option<String> =
        sqlx::query_scalar("SELECT unreadable FROM channels WHERE key = '@closed_jobs'")
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!(unreadable.as_deref(), Some("CHANNEL_PRIVATE"));
    let text: String = sqlx::query_scalar("SELECT text FROM messages WHERE message_id = 1")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(text, "Ищем дизайнера, 10 000 ₽");
    let deleted: bool = sqlx::query_scalar("SELECT deleted FROM messages WHERE message_id = 3")
        .fetch_one(pool)
        .await
        .unwrap();
    assert!(deleted);
    let chosen: Vec<String> =
        sqlx::query_scalar("SELECT slug FROM user_categories WHERE user_id = 7")
            .fetch_all(pool)
            .await
            .unwrap();
    assert_eq!(chosen, vec!["design".to_string()]);
    let categories: Vec<String> =
        sqlx::query_scalar("SELECT slug FROM vacancy_categories ORDER BY rank")
            .fetch_all(pool)
            .await
            .unwrap();
    assert_eq!(categories, vec!["design".to_string()]);
    let delivered: i64 = sqlx::query_scalar("SELECT count(*) FROM deliveries WHERE user_id = 7")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(delivered, 1);
    for projection in Projection::ALL {
        let end = w.bus.last_sequence(projection.stream()).await.unwrap();
        assert_eq!(
            projections::checkpoint(pool, projection.name())
                .await
                .unwrap(),
            end,
            "{}",
            projection.name()
        );
    }
}

/// A classification by `model` (the event id is the post's and the model's: one model
/// classifies a post once).
fn classified(key: MessageKey, model: &str, kind: PostKind, slugs: &[&str]) -> Envelope {
    Envelope::new(MessageClassified {
        key,
        kind,
        categories: slugs
            .iter()
            .map(|slug| RankedCategory {
                slug: (*slug).into(),
                score: 0.9,
            })
            .collect(),
        confidence: 0.9,
        classifier: Classifier::Local,
        model: model.into(),
        prompt_version: None,
        tokens: None,
        latency_ms: 1,
        budget: None,
        remote: None,
        contacts: vec![],
        title: None,
        llm_unavailable: None,
    })
}

#[tokio::test]
async fn the_latest_classification_wins_within_a_batch_and_a_correction_over_any() {
    // given one post classified by three models in a row, and another corrected by an admin
    // between two classifications
    let w = world().await;
    let (reclassified, corrected) = (MessageKey::new(-100, 1), MessageKey::new(-100, 2));
    w.publish(&[
        classified(reclassified, "m1", PostKind::Vacancy, &["texts"]),
        classified(corrected, "m1", PostKind::Vacancy, &["design"]),
        classified(reclassified, "m2", PostKind::Vacancy, &["design", "texts"]),
        classified(
            reclassified,
            "m3",
            PostKind::Vacancy,
            &["video", "design", "video"],
        ),
        Envelope::new(ClassificationCorrected {
            key: corrected,
            kind: PostKind::Vacancy,
            categories: vec!["texts".into()],
            admin_id: 1,
            report_id: None,
        }),
        classified(corrected, "m2", PostKind::Ad, &["design"]),
    ])
    .await;
    // when the projectors catch up
    w.catch_up_all().await;
    // then the first post has its last categories, in rank order and each once; the second
    // keeps the admin's answer
    let categories = |key: MessageKey| {
        sqlx::query_scalar::<_, String>(
            "SELECT slug FROM vacancy_categories WHERE chat_id = $1 AND message_id = $2 ORDER BY rank",
        )
        .bind(key.chat_id)
        .bind(key.message_id)
        .fetch_all(&w.db.pool)
    };
    assert_eq!(categories(reclassified).await.unwrap(), ["video", "design"]);
    assert_eq!(categories(corrected).await.unwrap(), ["texts"]);
    let (kind, is_corrected): (String, bool) =
        sqlx::query_as("SELECT kind, corrected FROM vacancies WHERE message_id = 2")
            .fetch_one(&w.db.pool)
            .await
            .unwrap();
    assert_eq!((kind.as_str(), is_corrected), ("vacancy", true));
}

#[tokio::test]
async fn a_rebuild_produces_the_same_tables() {
    let w = world().await;
    w.publish(&a_day_of_events()).await;
    w.catch_up_all().await;
    let before = w.snapshot().await;
    for projection in Projection::ALL {
        projections::rebuild(&w.bus, &w.db.pool, projection, &w.config)
            .await
            .expect("rebuild");
    }
    assert_eq!(w.snapshot().await, before);
}

#[tokio::test]
async fn redelivered_events_change_nothing() {
    // given read models that are up to date
    let w = world().await;
    w.publish(&a_day_of_events()).await;
    w.catch_up_all().await;
    let before = w.snapshot().await;
    // when every event is delivered again (checkpoints lost)
    sqlx::query("DELETE FROM projection_checkpoints")
        .execute(&w.db.pool)
        .await
        .unwrap();
    w.catch_up_all().await;
    // then no row changes
    assert_eq!(w.snapshot().await, before);
}

#[tokio::test]
async fn an_undecodable_event_is_dead_lettered_and_the_rest_is_applied() {
    // given a malformed event between two valid ones
    let w = world().await;
    w.publish(&[received(-100, 1, "первый")]).await;
    let garbage = async_nats::jetstream::message::PublishMessage::build()
        .payload("{\"id\":\"x\",\"type\":\"MessageReceived\",\"version\":1}".into());
    w.bus
        .jetstream()
        .send_publish("rh.messages.received.junk", garbage)
        .await
        .unwrap()
        .await
        .unwrap();
    w.publish(&[received(-100, 2, "второй")]).await;
    // when the projector catches up
    projections::catch_up(&w.bus, &w.db.pool, Projection::Messages, &w.config)
        .await
        .expect("catch up");
    // then both valid events are applied, and the bad one waits on the DLQ with its reason
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM messages")
        .fetch_one(&w.db.pool)
        .await
        .unwrap();
    assert_eq!(count, 2);
    assert_eq!(
        projections::checkpoint(&w.db.pool, "messages")
            .await
            .unwrap(),
        3
    );
    let letters = w.bus.dead_letters().await.unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(
        (letters[0].sequence, letters[0].consumer.as_str()),
        (2, "projection-messages")
    );
    assert!(
        letters[0].reason.contains("occurred_at") || letters[0].reason.contains("missing field"),
        "{}",
        letters[0].reason
    );
}

#[tokio::test]
async fn a_writer_reads_its_own_write() {
    // given running projectors
    let w = world().await;
    let shutdown = CancellationToken::new();
    let runner = tokio::spawn(projections::run(
        w.bus.clone(),
        w.db.pool.clone(),
        w.config.clone(),
        shutdown.clone(),
    ));
    // when a bot publishes a choice and waits for the projection to apply it
    let published = w
        .bus
        .publish(&Envelope::new(CategoriesChosen {
            user_id: 8,
            categories: vec!["design".into()],
        }))
        .await
        .unwrap();
    let projection = Projection::for_stream(&published.stream).expect("projection");
    let applied = projections::wait_for(
        &w.db.pool,
        projection.name(),
        published.sequence,
        Duration::from_secs(10),
    )
    .await
    .unwrap();
    // then the read model already shows it
    assert!(applied);
    let chosen: Vec<String> =
        sqlx::query_scalar("SELECT slug FROM user_categories WHERE user_id = 8")
            .fetch_all(&w.db.pool)
            .await
            .unwrap();
    assert_eq!(chosen, vec!["design".to_string()]);
    // and waiting for a sequence that never comes times out instead of hanging
    assert!(
        !projections::wait_for(
            &w.db.pool,
            "users",
            published.sequence + 100,
            Duration::from_millis(100)
        )
        .await
        .unwrap()
    );
    shutdown.cancel();
    runner.await.unwrap().unwrap();
}

#[tokio::test]
async fn two_projector_copies_apply_each_event_once() {
    // given two copies of the projector service on the same database
    let w = world().await;
    let shutdown = CancellationToken::new();
    let first = tokio::spawn(projections::run(
        w.bus.clone(),
        w.db.pool.clone(),
        w.config.clone(),
        shutdown.clone(),
    ));
    let second = tokio::spawn(projections::run(
        w.bus.clone(),
        w.db.pool.clone(),
        w.config.clone(),
        shutdown.clone(),
    ));
    // when events arrive
    let events: Vec<Envelope> = (1..=500).map(|n| received(-200, n, "пост")).collect();
    let published = w.bus.publish_batch(&events).await.unwrap();
    let last = published.last().unwrap().sequence;
    assert!(
        projections::wait_for(&w.db.pool, "messages", last, Duration::from_secs(20))
            .await
            .unwrap()
    );
    // then the read model equals a clean rebuild
    let live = testkit::snapshot(&w.db.pool, Projection::Messages.tables())
        .await
        .unwrap();
    shutdown.cancel();
    first.await.unwrap().unwrap();
    second.await.unwrap().unwrap();
    projections::rebuild(&w.bus, &w.db.pool, Projection::Messages, &w.config)
        .await
        .unwrap();
    assert_eq!(
        testkit::snapshot(&w.db.pool, Projection::Messages.tables())
            .await
            .unwrap(),
        live
    );
}
