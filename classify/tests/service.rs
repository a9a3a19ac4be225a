//! The classify service over real NATS, with the LLM played by the fake OpenAI-compatible
//! server: hybrid routing, the prompt it sends, every outage shape, the local answer standing
//! for an LLM that stays down and the LLM asked again once it is back (through fan-out to a
//! subscriber's chat), dead letters for what can never succeed, and nothing classified twice.

#![allow(clippy::unwrap_used)] // tests may panic on broken set-up

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bus::Bus;
use classify::decide::Classifier;
use classify::eval::Thresholds;
use classify::llm::{Llm, LlmConfig};
use classify::local::LocalModel;
use classify::reask::{Round, backfill};
use classify::service::{ClassifyHandler, ServiceConfig, run};
use fanout::plan::PlanConfig;
use fanout::service::FanoutConfig;
use schemas::{
    CategoryDefined, Classifier as Answerer, Envelope, Event, EventType, MessageAccepted,
    MessageClassified, MessageDeleted, MessageKey, MessageReceived, MessageSource, PostKind,
};
use secrecy::SecretString;
use teloxide::Bot;
use testkit::openai::Reply;
use testkit::{FakeOpenAi, FakeTelegram};
use tokio_util::sync::CancellationToken;

const CONFIDENT_VACANCY: &str = "Ищем UI/UX дизайнера в студию: дизайн лендинга и мобильного приложения в Figma. \
Оплата 60 000 ₽ за проект, удалённо. Портфолио присылайте @studio_hr";
const VAGUE_POST: &str = "Всем привет! Кто может помочь с одной задачей? Пишите в личку";

async fn bus_with_categories() -> Bus {
    let nats = testkit::nats();
    let bus = Bus::from_client(nats.connect().await.unwrap());
    bus.ensure_streams().await.unwrap();
    define_categories(&bus).await;
    bus
}

async fn define_categories(bus: &Bus) {
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
                paid_first: false,
                admin_id: None,
            })
        })
        .collect();
    bus.publish_batch(&events).await.unwrap();
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
        llm_patience: Duration::from_secs(600),
        reask_every: Duration::from_millis(300),
    }
}

/// The local model alone would never be sure: every post goes to the LLM.
fn always_asking(fake: &FakeOpenAi, timeout: Duration) -> Classifier {
    Classifier::new(
        LocalModel::embedded().unwrap(),
        Thresholds { confident: 1.1 },
        Some(llm(fake, timeout)),
    )
}

async fn classifications_of(bus: &Bus, key: MessageKey) -> Vec<Envelope> {
    bus.read_to_end(schemas::Area::Classifications.stream(), 1)
        .await
        .unwrap()
        .iter()
        .map(|m| m.decode().unwrap().envelope)
        .filter(|e| matches!(&e.event, Event::MessageClassified(c) if c.key == key))
        .collect()
}

fn classified(envelope: &Envelope) -> &MessageClassified {
    match &envelope.event {
        Event::MessageClassified(c) => c,
        other => panic!("not a classification: {other:?}"),
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

const DESIGN_BOT: &str = "4001:design-secret";

/// How many of `kind` DELIVERIES holds.
async fn deliveries(bus: &Bus, kind: &str) -> usize {
    bus.read_to_end(schemas::Area::Deliveries.stream(), 1)
        .await
        .unwrap()
        .iter()
        .filter(|m| m.decode().unwrap().envelope.event_type() == kind)
        .count()
}

/// Whether fan-out's planner has settled every classification stored.
async fn planned_everything(bus: &Bus) -> bool {
    let (stream, consumer) = bus::consume::consumers::FANOUT;
    let info = bus
        .jetstream()
        .get_stream(stream)
        .await
        .unwrap()
        .consumer_info(consumer)
        .await
        .unwrap();
    info.num_pending == 0 && info.num_ack_pending == 0
}

#[tokio::test]
async fn an_llm_down_for_long_lets_the_local_answer_stand_and_is_asked_again_once_back() {
    // given a design subscriber who started the design bot, and fan-out running
    let app = testkit::App::start().await;
    let bus = app.bus.clone();
    define_categories(&bus).await;
    app.given(&testkit::events::subscriber(1, &["design"], 2))
        .await;
    let telegram = FakeTelegram::start().await.unwrap();
    telegram.register_bot(DESIGN_BOT, "rh_design_bot");
    telegram.user_says("rh_design_bot", 1, "/start").unwrap();
    let bot = Bot::new(DESIGN_BOT).set_api_url(url::Url::parse(telegram.url()).unwrap());
    let fanout = tokio::spawn(fanout::service::run(
        bus.clone(),
        app.pool().clone(),
        fanout::tokens::one_bot_each(BTreeMap::from([("design".to_string(), bot)])),
        FanoutConfig {
            plan: PlanConfig { max_age: None },
            ..FanoutConfig::default()
        },
        app.shutdown.clone(),
    ));
    // and an LLM that answers nothing but 500s
    let fake = FakeOpenAi::start().await.unwrap();
    fake.answer_with(|_| Reply::ServerError);
    let key = accept(&bus, 1, CONFIDENT_VACANCY).await;

    // when the classifier has tried it three times
    let service = Running::start(
        &bus,
        always_asking(&fake, Duration::from_secs(2)),
        fast_retries(3),
    );
    eventually("the local answer", Duration::from_secs(20), async || {
        !classifications_of(&bus, key).await.is_empty()
    })
    .await;
    // then the local model's answer is published, marked with the LLM's last error
    let first = classifications_of(&bus, key).await;
    let stood = classified(&first[0]);
    assert_eq!(
        (
            stood.classifier,
            stood.kind,
            stood.prompt_version.as_deref()
        ),
        (Answerer::Local, PostKind::Vacancy, None)
    );
    assert_eq!(stood.categories[0].slug, "design");
    assert!(
        stood
            .llm_unavailable
            .as_deref()
            .is_some_and(|error| error.contains("500")),
        "{stood:?}"
    );
    assert!(fake.requests().len() >= 3);
    // and nothing is dead-lettered, and the card reaches the subscriber
    assert!(bus.dead_letters().await.unwrap().is_empty());
    eventually("the card", Duration::from_secs(20), async || {
        telegram.sent_to("rh_design_bot", 1).len() == 1
    })
    .await;

    // when the LLM is back
    fake.answer_with(|_| Reply::Answer("2) Дизайн".into()));
    // then the post is asked again, and the LLM's answer is a new classification caused by the
    // local one
    eventually("the LLM's answer", Duration::from_secs(20), async || {
        classifications_of(&bus, key).await.len() == 2
    })
    .await;
    let all = classifications_of(&bus, key).await;
    let answer = classified(&all[1]);
    assert_eq!(
        (answer.classifier, answer.llm_unavailable.as_deref()),
        (Answerer::Llm, None)
    );
    assert_eq!(answer.model, "fake-gpt");
    assert_eq!(answer.categories[0].slug, "design");
    assert_eq!(all[1].causation_id.as_deref(), Some(all[0].id.as_str()));
    assert_ne!(all[1].id, all[0].id);
    // and only once: later rounds find nothing waiting
    let asked = fake.requests().len();
    eventually(
        "fan-out's plan of the answer",
        Duration::from_secs(20),
        async || planned_everything(&bus).await,
    )
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(fake.requests().len(), asked);
    assert_eq!(classifications_of(&bus, key).await.len(), 2);
    // and the subscriber has the one card: one claim per (user, post)
    assert_eq!(telegram.sent_to("rh_design_bot", 1).len(), 1);
    assert_eq!(deliveries(&bus, "DeliveryClaimed").await, 1);
    assert!(bus.dead_letters().await.unwrap().is_empty());
    service.stop().await;
    app.shutdown.cancel();
    fanout.await.unwrap().unwrap();
}

#[tokio::test]
async fn an_llm_that_hangs_or_rate_limits_spends_the_attempts_then_the_local_answer_stands() {
    // given an LLM that rate-limits, hangs, then rate-limits again, and three attempts
    let bus = bus_with_categories().await;
    let fake = FakeOpenAi::start().await.unwrap();
    fake.queue([
        Reply::RateLimited {
            retry_after_secs: 1,
        },
        Reply::Hang,
        Reply::RateLimited {
            retry_after_secs: 1,
        },
    ]);
    let key = accept(&bus, 1, VAGUE_POST).await;
    let config = ServiceConfig {
        reask_every: Duration::from_secs(3600),
        ..fast_retries(3)
    };

    // when the classifier runs
    let started = Instant::now();
    let service = Running::start(
        &bus,
        always_asking(&fake, Duration::from_millis(500)),
        config,
    );
    eventually("the local answer", Duration::from_secs(20), async || {
        !classifications_of(&bus, key).await.is_empty()
    })
    .await;
    service.stop().await;

    // then after the three attempts (the Retry-After waited out) the local answer stands,
    // marked with the last failure, and nothing is dead-lettered
    assert_eq!(fake.requests().len(), 3);
    assert!(started.elapsed() >= Duration::from_secs(1));
    let all = classifications_of(&bus, key).await;
    assert_eq!(all.len(), 1);
    let stood = classified(&all[0]);
    assert_eq!(stood.classifier, Answerer::Local);
    assert_eq!(stood.model, LocalModel::embedded().unwrap().model_version());
    assert!(
        stood
            .llm_unavailable
            .as_deref()
            .is_some_and(|error| error.contains("rate limited")),
        "{stood:?}"
    );
    assert!(bus.dead_letters().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_post_waiting_past_the_patience_gets_the_local_answer_with_attempts_left() {
    // given an LLM that is down, a hundred attempts allowed, and a patience of one second
    let bus = bus_with_categories().await;
    let fake = FakeOpenAi::start().await.unwrap();
    fake.answer_with(|_| Reply::ServerError);
    let key = accept(&bus, 1, VAGUE_POST).await;
    let config = ServiceConfig {
        llm_patience: Duration::from_secs(1),
        reask_every: Duration::from_secs(3600),
        ..fast_retries(100)
    };

    // when the classifier runs
    let started = Instant::now();
    let service = Running::start(&bus, always_asking(&fake, Duration::from_secs(2)), config);
    eventually("the local answer", Duration::from_secs(20), async || {
        !classifications_of(&bus, key).await.is_empty()
    })
    .await;
    service.stop().await;

    // then the local answer stands once the second is over, long before the attempts are
    assert!(started.elapsed() >= Duration::from_secs(1));
    let asked = fake.requests().len();
    assert!((2..10).contains(&asked), "{asked} calls");
    let all = classifications_of(&bus, key).await;
    assert!(classified(&all[0]).llm_unavailable.is_some());
}

#[tokio::test]
async fn junk_answers_are_never_guesses_and_junk_again_changes_nothing() {
    // given an LLM that only talks junk: a body that is not JSON, then prose naming no category
    let bus = bus_with_categories().await;
    let fake = FakeOpenAi::start().await.unwrap();
    fake.queue([Reply::Garbage]);
    fake.answer_with(|_| Reply::Answer("Затрудняюсь ответить".into()));
    let local = LocalModel::embedded().unwrap().predict(VAGUE_POST);
    let key = accept(&bus, 1, VAGUE_POST).await;

    // when the classifier has tried twice
    let service = Running::start(
        &bus,
        always_asking(&fake, Duration::from_secs(2)),
        fast_retries(2),
    );
    eventually("the local answer", Duration::from_secs(20), async || {
        !classifications_of(&bus, key).await.is_empty()
    })
    .await;
    // and has asked again, and been answered junk again
    let asked = fake.requests().len();
    eventually("asking again", Duration::from_secs(20), async || {
        fake.requests().len() >= asked + 2
    })
    .await;
    service.stop().await;

    // then the one classification is the local model's own, marked with the junk
    let all = classifications_of(&bus, key).await;
    assert_eq!(all.len(), 1, "{all:?}");
    let stood = classified(&all[0]);
    assert_eq!(
        (stood.classifier, stood.kind, stood.tokens),
        (Answerer::Local, local.kind, None)
    );
    let known = ["development", "design", "texts"];
    let expected: Vec<&str> = local
        .categories
        .iter()
        .map(|(slug, _)| slug.as_str())
        .filter(|slug| known.contains(slug))
        .collect();
    let slugs: Vec<&str> = stood.categories.iter().map(|c| c.slug.as_str()).collect();
    assert_eq!(slugs, expected);
    assert!(
        stood
            .llm_unavailable
            .as_deref()
            .is_some_and(|error| error.contains("names no category")),
        "{stood:?}"
    );
    assert!(bus.dead_letters().await.unwrap().is_empty());
}

#[tokio::test]
async fn what_can_never_succeed_is_still_dead_lettered_while_the_llm_is_down() {
    // given an LLM that is down, an accepted post, an undecodable event, and an acceptance of
    // a message MESSAGES never stored
    let bus = bus_with_categories().await;
    let fake = FakeOpenAi::start().await.unwrap();
    fake.answer_with(|_| Reply::ServerError);
    let post = accept(&bus, 1, VAGUE_POST).await;
    let undecodable = MessageKey::new(-1_001_000_000_001, 2);
    bus.jetstream()
        .publish(
            MessageAccepted::subject_of(&undecodable.id()),
            "not an event".into(),
        )
        .await
        .unwrap()
        .await
        .unwrap();
    let never_stored = MessageKey::new(-1_001_000_000_001, 3);
    bus.publish(&Envelope::new(MessageAccepted {
        key: never_stored,
        rule: "require_any:ищем".into(),
        scope: "global".into(),
    }))
    .await
    .unwrap();

    // when the classifier runs with two attempts
    let service = Running::start(
        &bus,
        always_asking(&fake, Duration::from_secs(2)),
        fast_retries(2),
    );
    eventually(
        "two dead letters and the local answer",
        Duration::from_secs(20),
        async || {
            bus.dead_letters().await.unwrap().len() >= 2
                && !classifications_of(&bus, post).await.is_empty()
        },
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    service.stop().await;

    // then the two that can never succeed are dead letters, and the post the LLM failed on is
    // not
    let letters = bus.dead_letters().await.unwrap();
    assert_eq!(letters.len(), 2, "{letters:?}");
    let of = |key: MessageKey| {
        letters
            .iter()
            .find(|l| l.subject.ends_with(&schemas::subject_tokens(&key.id())))
    };
    assert!(
        of(undecodable).is_some_and(|l| l.reason.contains("undecodable")),
        "{letters:?}"
    );
    assert!(of(never_stored).is_some(), "{letters:?}");
    assert!(of(post).is_none());
    assert!(
        classified(&classifications_of(&bus, post).await[0])
            .llm_unavailable
            .is_some()
    );
}

#[tokio::test]
async fn backfill_of_fallbacks_asks_about_each_marked_post_once_the_llm_answers() {
    // given two posts whose local answers stood while the LLM answered 500s
    let bus = bus_with_categories().await;
    let fake = FakeOpenAi::start().await.unwrap();
    fake.answer_with(|_| Reply::ServerError);
    let kept = accept(&bus, 1, CONFIDENT_VACANCY).await;
    let deleted = accept(&bus, 2, VAGUE_POST).await;
    let config = ServiceConfig {
        reask_every: Duration::from_secs(3600),
        ..fast_retries(1)
    };
    let service = Running::start(&bus, always_asking(&fake, Duration::from_secs(2)), config);
    eventually("both local answers", Duration::from_secs(20), async || {
        classifications(&bus).await.len() == 2
    })
    .await;
    service.stop().await;
    let handler = ClassifyHandler::new(
        bus.clone(),
        always_asking(&fake, Duration::from_secs(2)),
        &ServiceConfig::default(),
    );

    // when a backfill of the fallbacks runs while the LLM is still down
    let round = backfill(&handler).await.unwrap();
    // then it stops at the first failure and both still wait
    assert_eq!((round.awaiting, round.answered, round.left()), (2, 0, 2));
    assert!(round.unavailable.is_some_and(|e| e.contains("500")));

    // when one post is deleted at the source, the LLM is back, and the backfill runs twice
    bus.publish(&Envelope::new(MessageDeleted { key: deleted }))
        .await
        .unwrap();
    fake.answer_with(|_| Reply::Answer("2) Дизайн".into()));
    let first = backfill(&handler).await.unwrap();
    let asked = fake.requests().len();
    let second = backfill(&handler).await.unwrap();

    // then the kept post is answered by the LLM, the deleted one needed no asking, and the
    // second run asks the LLM nothing
    assert_eq!(
        first,
        Round {
            awaiting: 2,
            answered: 1,
            settled: 1,
            junk: 0,
            unavailable: None,
        }
    );
    assert_eq!((second.answered, second.left()), (0, 0));
    assert_eq!(fake.requests().len(), asked);
    let answers = classifications_of(&bus, kept).await;
    assert_eq!(answers.len(), 2);
    assert_eq!(classified(&answers[1]).classifier, Answerer::Llm);
    assert_eq!(classifications_of(&bus, deleted).await.len(), 1);
}
