//! The classify service over real NATS, with the LLM played by the fake OpenAI-compatible
//! server: hybrid routing, the prompt it sends, every outage shape, dead letters and replay,
//! and nothing classified twice.

#![allow(clippy::unwrap_used)] // tests may panic on broken set-up

use std::time::{Duration, Instant};

use bus::Bus;
use classify::decide::Classifier;
use classify::eval::Thresholds;
use classify::llm::{Llm, LlmConfig};
use classify::local::LocalModel;
use classify::service::{ServiceConfig, run};
use schemas::{
    CategoryDefined, Classifier as Answerer, Envelope, Event, MessageAccepted, MessageClassified,
    MessageDeleted, MessageKey, MessageReceived, MessageSource, PostKind,
};
use secrecy::SecretString;
use testkit::FakeOpenAi;
use testkit::openai::Reply;
use tokio_util::sync::CancellationToken;

const CONFIDENT_VACANCY: &str = "Ищем UI/UX дизайнера в студию: дизайн лендинга и мобильного приложения в Figma. \
Оплата 60 000 ₽ за проект, удалённо. Портфолио присылайте @studio_hr";
const VAGUE_POST: &str = "Всем привет! Кто может помочь с одной задачей? Пишите в личку";

async fn bus_with_categories() -> Bus {
    let nats = testkit::nats();
    let bus = Bus::from_client(nats.connect().await.unwrap());
    bus.ensure_streams().await.unwrap();
    let categories = [
        ("development", "Разработка"),
        ("design", "Дизайн"),
        ("texts", "Тексты и переводы"),
    ];
    let events: Vec<Envelope> = categories
        .iter()
        .enumerate()
        .map(|(order, (slug, name))| {
            Envelope::new(CategoryDefined {
                slug: (*slug).into(),
                name: (*name).into(),
                order: order as i32 + 1,
                admin_id: None,
            })
        })
        .collect();
    bus.publish_batch(&events).await.unwrap();
    bus
}

/// Stores a raw message and its acceptance, as ingest does.
async fn accept(bus: &Bus, message_id: i64, text: &str) -> MessageKey {
    let key = MessageKey::new(-1_001_000_000_001, message_id);
    let received = MessageReceived {
        key,
        chat_username: Some("jobs".into()),
        chat_title: Some("Jobs".into()),
        posted_at: chrono::Utc::now(),
        text: text.into(),
        links: vec![],
        has_media: false,
        author: Default::default(),
        contacts: vec!["@studio_hr".into()],
        link: None,
        source: MessageSource::Live,
    };
    bus.publish(&Envelope::with_id(key.event_id(), received))
        .await
        .unwrap();
    let accepted = MessageAccepted {
        key,
        rule: "require_any:ищем".into(),
        scope: "global".into(),
    };
    bus.publish(&Envelope::new(accepted)).await.unwrap();
    key
}

async fn classifications(bus: &Bus) -> Vec<MessageClassified> {
    bus.read_to_end(schemas::Area::Classifications.stream(), 1)
        .await
        .unwrap()
        .iter()
        .filter_map(|m| match m.decode().unwrap().envelope.event {
            Event::MessageClassified(c) => Some(c),
            _ => None,
        })
        .collect()
}

async fn eventually<F: AsyncFn() -> bool>(what: &str, within: Duration, check: F) {
    let deadline = Instant::now() + within;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn llm(fake: &FakeOpenAi, timeout: Duration) -> Llm {
    let mut config = LlmConfig::new(fake.url(), SecretString::from("test-key"), "fake-gpt");
    config.timeout = timeout;
    config.concurrency = 2;
    Llm::new(&config)
}

fn fast_retries(max_attempts: i64) -> ServiceConfig {
    ServiceConfig {
        concurrency: 4,
        max_attempts,
        first_retry_delay: Duration::from_millis(100),
    }
}

struct Running {
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Running {
    fn start(bus: &Bus, classifier: Classifier, config: ServiceConfig) -> Self {
        let cancel = CancellationToken::new();
        let task = tokio::spawn(run(bus.clone(), classifier, config, cancel.clone()));
        Self { cancel, task }
    }

    async fn stop(self) {
        self.cancel.cancel();
        self.task.await.unwrap().unwrap();
    }
}

#[tokio::test]
async fn without_an_llm_the_local_model_decides_alone_once_per_post() {
    // given two accepted posts, one deleted at the source before it was classified
    let bus = bus_with_categories().await;
    let vacancy = accept(&bus, 1, CONFIDENT_VACANCY).await;
    let deleted = accept(&bus, 2, VAGUE_POST).await;
    bus.publish(&Envelope::new(MessageDeleted { key: deleted }))
        .await
        .unwrap();
    let model = LocalModel::embedded().unwrap();
    let version = model.model_version().to_owned();

    // when the service runs with no LLM
    let service = Running::start(
        &bus,
        Classifier::new(model, Thresholds::default(), None),
        fast_retries(8),
    );
    eventually("a classification", Duration::from_secs(10), async || {
        !classifications(&bus).await.is_empty()
    })
    .await;
    // and runs again after a restart, the accepted events redelivered from scratch
    service.stop().await;
    bus.jetstream()
        .get_stream(schemas::Area::Screening.stream())
        .await
        .unwrap()
        .delete_consumer("classify")
        .await
        .unwrap();
    let again = Running::start(&bus, Classifier::embedded().unwrap(), fast_retries(8));
    tokio::time::sleep(Duration::from_secs(1)).await;
    again.stop().await;

    // then the vacancy has exactly one local classification with its structured fields, and
    // the deleted post none
    let all = classifications(&bus).await;
    assert_eq!(all.len(), 1, "{all:?}");
    let c = &all[0];
    assert_eq!(c.key, vacancy);
    assert_eq!(
        (c.classifier, c.model.as_str()),
        (Answerer::Local, version.as_str())
    );
    assert_eq!(c.kind, PostKind::Vacancy);
    assert_eq!(
        c.categories.first().map(|r| r.slug.as_str()),
        Some("design")
    );
    assert_eq!(c.budget.as_ref().map(|b| b.amount), Some(60_000));
    assert_eq!(c.remote, Some(true));
    assert_eq!(c.contacts, ["@studio_hr"]);
    assert!(
        c.title
            .as_deref()
            .is_some_and(|t| t.starts_with("Ищем UI/UX дизайнера"))
    );
}

#[tokio::test]
async fn a_doubtful_post_goes_to_the_llm_with_the_numbered_catalog() {
    // given an LLM that answers in prose, and a threshold no local answer reaches
    let bus = bus_with_categories().await;
    let fake = FakeOpenAi::start().await.unwrap();
    fake.answer_with(|_| {
        Reply::Answer("Это вакансия. Категории: 2) Дизайн, 3) Тексты и переводы.".into())
    });
    let key = accept(&bus, 1, CONFIDENT_VACANCY).await;
    let classifier = Classifier::new(
        LocalModel::embedded().unwrap(),
        Thresholds { confident: 1.1 },
        Some(llm(&fake, Duration::from_secs(5))),
    );

    // when the service runs
    let service = Running::start(&bus, classifier, fast_retries(8));
    eventually(
        "the LLM's classification",
        Duration::from_secs(10),
        async || !classifications(&bus).await.is_empty(),
    )
    .await;
    service.stop().await;

    // then the LLM's categories are the event's, with the prompt version and tokens
    let all = classifications(&bus).await;
    assert_eq!(all.len(), 1);
    let c = &all[0];
    assert_eq!(
        (c.key, c.classifier, c.kind),
        (key, Answerer::Llm, PostKind::Vacancy)
    );
    let slugs: Vec<&str> = c.categories.iter().map(|r| r.slug.as_str()).collect();
    assert_eq!(slugs, ["design", "texts"]);
    assert_eq!(c.model, "fake-gpt");
    assert_eq!(
        c.prompt_version.as_deref(),
        Some(classify::llm::PROMPT_VERSION)
    );
    assert!(c.tokens.is_some_and(|t| t > 0));
    // and the model was asked once, with our key, the catalog by number and the post
    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.model, "fake-gpt");
    assert_eq!(request.authorization.as_deref(), Some("Bearer test-key"));
    let user = &request.messages.last().unwrap().1;
    assert!(
        user.contains("1) Разработка\n2) Дизайн\n3) Тексты и переводы"),
        "{user}"
    );
    assert!(user.ends_with(CONFIDENT_VACANCY));
}

#[tokio::test]
async fn llm_outages_lose_nothing_and_confident_posts_keep_flowing() {
    // given a threshold between a confident and a doubtful post's local confidence
    let bus = bus_with_categories().await;
    let model = LocalModel::embedded().unwrap();
    let (sure, unsure) = (
        model.predict(CONFIDENT_VACANCY).confidence,
        model.predict(VAGUE_POST).confidence,
    );
    assert!(sure > unsure, "the test needs {sure} > {unsure}");
    let thresholds = Thresholds {
        confident: (sure + unsure) / 2.0,
    };
    // and an LLM that fails every way it can before it answers
    let fake = FakeOpenAi::start().await.unwrap();
    fake.queue([
        Reply::RateLimited {
            retry_after_secs: 1,
        },
        Reply::ServerError,
        Reply::Garbage,
        Reply::Answer("Затрудняюсь ответить".into()),
        Reply::Hang,
    ]);
    fake.answer_with(|_| Reply::Answer("1".into()));
    let doubtful = accept(&bus, 1, VAGUE_POST).await;
    let confident = accept(&bus, 2, CONFIDENT_VACANCY).await;
    let classifier = Classifier::new(model, thresholds, Some(llm(&fake, Duration::from_secs(1))));

    // when the service runs through the outage
    let started = Instant::now();
    let service = Running::start(&bus, classifier, fast_retries(20));
    // then the confident post is classified locally while the LLM is still failing
    eventually("the confident post", Duration::from_secs(10), async || {
        classifications(&bus)
            .await
            .iter()
            .any(|c| c.key == confident)
    })
    .await;
    assert!(
        classifications(&bus)
            .await
            .iter()
            .all(|c| c.key != doubtful)
    );
    // and the doubtful one is classified by the LLM once it answers, exactly once
    eventually("the doubtful post", Duration::from_secs(30), async || {
        classifications(&bus)
            .await
            .iter()
            .any(|c| c.key == doubtful)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    service.stop().await;
    let all = classifications(&bus).await;
    assert_eq!(all.len(), 2, "{all:?}");
    let llm_answer = all.iter().find(|c| c.key == doubtful).unwrap();
    assert_eq!(llm_answer.classifier, Answerer::Llm);
    assert_eq!(llm_answer.categories[0].slug, "development");
    // six calls: 429, 500, garbage, junk answer, hang (timed out), answer
    assert_eq!(fake.requests().len(), 6);
    // the 429's Retry-After (1 s) was honoured
    assert!(started.elapsed() >= Duration::from_secs(2));
}

#[tokio::test]
async fn a_post_the_llm_keeps_failing_is_dead_lettered_and_replayed() {
    // given an LLM that only fails, and two attempts allowed
    let bus = bus_with_categories().await;
    let fake = FakeOpenAi::start().await.unwrap();
    fake.answer_with(|_| Reply::ServerError);
    let key = accept(&bus, 1, VAGUE_POST).await;
    let classifier = |fake: &FakeOpenAi| {
        Classifier::new(
            LocalModel::embedded().unwrap(),
            Thresholds { confident: 1.1 },
            Some(llm(fake, Duration::from_secs(2))),
        )
    };
    let service = Running::start(&bus, classifier(&fake), fast_retries(2));

    // when it gives up
    eventually("a dead letter", Duration::from_secs(10), async || {
        !bus.dead_letters().await.unwrap().is_empty()
    })
    .await;
    // then the dead letter names the post and why, and nothing was classified
    let letters = bus.dead_letters().await.unwrap();
    assert_eq!(letters.len(), 1);
    let letter = &letters[0];
    assert_eq!(letter.consumer, "classify");
    assert!(
        letter.reason.contains("gave up after 2 attempts") && letter.reason.contains("500"),
        "{}",
        letter.reason
    );
    assert!(
        letter
            .subject
            .ends_with(&schemas::subject_tokens(&key.id()))
    );
    assert!(classifications(&bus).await.is_empty());

    // when the LLM is back and an operator replays it (twice, by mistake)
    fake.answer_with(|_| Reply::Answer("Нет.".into()));
    bus.replay_dead_letter(letter.dlq_sequence, "ops")
        .await
        .unwrap();
    bus.replay_dead_letter(letter.dlq_sequence, "ops")
        .await
        .unwrap();
    // then it is classified, once, as not a vacancy
    eventually("the replayed post", Duration::from_secs(10), async || {
        !classifications(&bus).await.is_empty()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    service.stop().await;
    let all = classifications(&bus).await;
    assert_eq!(all.len(), 1);
    assert_ne!(all[0].kind, PostKind::Vacancy);
    assert!(all[0].categories.is_empty());
}
