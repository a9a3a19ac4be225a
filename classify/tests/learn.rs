//! Learning from the log and reclassifying history, over real NATS.

#![allow(clippy::unwrap_used)] // tests may panic on broken set-up

use bus::Bus;
use chrono::{TimeZone, Utc};
use classify::decide::Classifier;
use classify::learn::{backfill, examples_from_stream};
use classify::llm::PromptCategory;
use classify::local::PostKind;
use schemas::{
    ClassificationCorrected, Classifier as Answerer, Envelope, Event, MessageAccepted,
    MessageClassified, MessageDeleted, MessageEdited, MessageKey, MessageReceived, MessageSource,
    RankedCategory,
};

async fn bus() -> Bus {
    let nats = testkit::nats();
    let bus = Bus::from_client(nats.connect().await.unwrap());
    bus.ensure_streams().await.unwrap();
    bus
}

fn received(id: i64, day: u32, text: &str) -> Envelope {
    let key = MessageKey::new(-1_001_000_000_001, id);
    let at = Utc.with_ymd_and_hms(2026, 11, day, 10, 0, 0).unwrap();
    Envelope::with_id(
        key.event_id(),
        MessageReceived {
            key,
            chat_username: None,
            chat_title: None,
            posted_at: at,
            text: text.into(),
            links: vec![],
            has_media: false,
            author: Default::default(),
            contacts: vec![],
            link: None,
            source: MessageSource::Import,
        },
    )
}

fn classified_by_llm(id: i64, kind: PostKind, slugs: &[&str]) -> Envelope {
    Envelope::new(MessageClassified {
        key: MessageKey::new(-1_001_000_000_001, id),
        kind,
        categories: slugs
            .iter()
            .map(|s| RankedCategory {
                slug: (*s).into(),
                score: 0.9,
            })
            .collect(),
        confidence: 0.95,
        classifier: Answerer::Llm,
        model: "gpt".into(),
        prompt_version: Some("categories-v1".into()),
        tokens: Some(100),
        latency_ms: 900,
        budget: None,
        remote: None,
        contacts: vec![],
        title: None,
        llm_unavailable: None,
    })
}

#[tokio::test]
async fn the_llms_answers_and_admins_corrections_become_training_examples() {
    // given three posts the LLM classified, one of them corrected by an admin, one edited,
    // and one deleted
    let bus = bus().await;
    let key = |id| MessageKey::new(-1_001_000_000_001, id);
    bus.publish_batch(&[
        received(1, 1, "Ищем дизайнера логотипа"),
        received(2, 1, "Нужен монтажёр"),
        received(3, 1, "Курс по фигме"),
        Envelope::new(MessageEdited {
            key: key(2),
            edited_at: Utc::now(),
            text: "Нужен монтажёр роликов, 3000 ₽".into(),
            links: vec![],
            contacts: vec![],
        }),
        Envelope::new(MessageDeleted { key: key(3) }),
        classified_by_llm(1, PostKind::Vacancy, &["design"]),
        classified_by_llm(2, PostKind::Vacancy, &["design"]),
        classified_by_llm(3, PostKind::Ad, &[]),
        Envelope::new(ClassificationCorrected {
            key: key(2),
            kind: PostKind::Vacancy,
            categories: vec!["video".into()],
            admin_id: 1,
            report_id: None,
        }),
    ])
    .await
    .unwrap();
    // when examples are drawn from the log
    let examples = examples_from_stream(&bus).await.unwrap();
    // then each live post is an example; the correction wins; the edit's text is used
    assert_eq!(examples.len(), 2);
    assert_eq!(examples[0].text, "Ищем дизайнера логотипа");
    assert_eq!(examples[0].categories, ["design"]);
    assert_eq!(examples[1].text, "Нужен монтажёр роликов, 3000 ₽");
    assert_eq!(examples[1].categories, ["video"]);
}

#[tokio::test]
async fn backfill_reclassifies_from_a_date_once_per_model() {
    // given accepted posts from two days, one classified by an older model
    let bus = bus().await;
    let key = |id| MessageKey::new(-1_001_000_000_001, id);
    let accepted = |id| {
        Envelope::new(MessageAccepted {
            key: key(id),
            rule: "default".into(),
            scope: "global".into(),
        })
    };
    bus.publish_batch(&[
        received(1, 1, "Ищем дизайнера логотипа, бюджет 10 000 ₽"),
        received(2, 5, "Нужен Python-разработчик для бота, оплата 30 000 ₽"),
        received(3, 6, "Требуется копирайтер, 500 ₽ за текст"),
        accepted(1),
        accepted(2),
        accepted(3),
        classified_by_llm(2, PostKind::Vacancy, &["development"]),
    ])
    .await
    .unwrap();
    let catalog: Vec<PromptCategory> = [
        ("development", "Разработка"),
        ("design", "Дизайн"),
        ("texts", "Тексты и переводы"),
    ]
    .iter()
    .map(|(slug, name)| PromptCategory {
        slug: (*slug).into(),
        name: (*name).into(),
    })
    .collect();
    let classifier = Classifier::embedded().unwrap();
    let since = Utc.with_ymd_and_hms(2026, 11, 5, 0, 0, 0).unwrap();
    // when history from the 5th on is backfilled, twice
    let first = backfill(&bus, &classifier, &catalog, since).await.unwrap();
    let second = backfill(&bus, &classifier, &catalog, since).await.unwrap();
    // then the two later posts get a classification by this model, once
    assert_eq!(
        (first.considered, first.classified, first.current),
        (2, 2, 0)
    );
    assert_eq!((second.classified, second.current), (0, 2));
    let version = classifier.local_model().model_version().to_owned();
    let by_this_model: Vec<MessageKey> = bus
        .read_to_end(schemas::Area::Classifications.stream(), 1)
        .await
        .unwrap()
        .iter()
        .filter_map(|m| match m.decode().unwrap().envelope.event {
            Event::MessageClassified(c) if c.model == version => Some(c.key),
            _ => None,
        })
        .collect();
    assert_eq!(by_this_model, [key(2), key(3)]);
}
