//! The bus against a real nats-server (own account per test): dedup, once-events, optimistic
//! concurrency, idempotent apply, and the consumer loop's ack / retry / dead-letter / recovery.

#![allow(clippy::unwrap_used)] // tests may panic on broken set-up

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bus::consume::{ConsumerSpec, Handler, consume};
use bus::definitions::{Change, Definitions};
use bus::{Bus, Delivery, HandlerError, PublishError};
use chrono::Utc;
use schemas::*;
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

async fn bus() -> Bus {
    let nats = testkit::nats();
    let bus = Bus::from_client(nats.connect().await.expect("connect"));
    bus.ensure_streams().await.expect("streams");
    bus
}

fn accepted(message_id: i64) -> Envelope {
    testkit::events::accepted(MessageKey::new(-100, message_id))
}

#[tokio::test]
async fn connect_checks_the_server_and_applies_streams() {
    let nats = testkit::nats();
    let bus = Bus::connect(&nats.url_with_credentials())
        .await
        .expect("2.10+ server accepted");
    assert!(bus.server_version().starts_with('2'));
}

#[tokio::test]
async fn connecting_to_nothing_is_a_clear_error() {
    let error = Bus::connect("nats://127.0.0.1:1")
        .await
        .err()
        .expect("fails");
    assert!(error.to_string().contains("connecting to NATS"), "{error}");
}

#[tokio::test]
async fn nats_apply_creates_everything_then_changes_nothing() {
    // given an account with no streams
    let nats = testkit::nats();
    let bus = Bus::from_client(nats.connect().await.expect("connect"));
    let definitions =
        Definitions::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../nats"))
            .expect("nats/ loads");
    // when the definitions are applied twice
    let first = bus.apply(&definitions).await.expect("first apply");
    let second = bus.apply(&definitions).await.expect("second apply");
    // then the first run creates every stream and consumer and the second changes nothing
    assert_eq!(
        first.items.len(),
        definitions.streams.len() + definitions.consumers.len()
    );
    assert!(
        first.items.iter().all(|(_, c)| *c == Change::Created),
        "{:?}",
        first.items
    );
    assert_eq!(second.changed(), 0, "{:?}", second.items);
    // and the files on disk are exactly the definitions built into the binary
    let embedded = Definitions::embedded();
    assert_eq!(embedded.streams.len(), definitions.streams.len());
    assert_eq!(embedded.consumers.len(), definitions.consumers.len());
}

#[tokio::test]
async fn a_changed_definition_is_updated_in_place() {
    let bus = bus().await;
    let mut definitions = Definitions::embedded();
    let stream = definitions
        .streams
        .iter_mut()
        .find(|s| s.name == "DLQ")
        .expect("DLQ");
    stream.config.description = Some("changed".into());
    stream.raw["description"] = "changed".into();
    let report = bus.apply(&definitions).await.expect("apply");
    assert_eq!(report.changed(), 1, "{:?}", report.items);
    assert!(
        report
            .items
            .contains(&("stream DLQ".to_string(), Change::Updated))
    );
}

#[tokio::test]
async fn the_same_event_published_twice_is_stored_once() {
    let bus = bus().await;
    let event = accepted(1);
    let first = bus.publish(&event).await.expect("publish");
    let second = bus.publish(&event).await.expect("publish again");
    assert!(!first.duplicate);
    assert!(second.duplicate);
    assert_eq!(first.sequence, second.sequence);
    assert_eq!(bus.last_sequence("SCREENING").await.expect("seq"), 1);
}

#[tokio::test]
async fn a_once_event_is_unique_per_subject_even_with_another_id() {
    // given a trial already started (a retry after the dedup window would have another id)
    let bus = bus().await;
    let trial = TrialStarted {
        user_id: 7,
        starts_at: Utc::now(),
        ends_at: Utc::now() + chrono::Duration::days(2),
    };
    let first = bus
        .publish(&Envelope::new(trial.clone()))
        .await
        .expect("first trial");
    // when a second trial is published for the same user
    let second = bus
        .publish(&Envelope::new(trial))
        .await
        .expect("second trial");
    // then it is reported as the stored one, and the stream holds one
    assert!(second.duplicate);
    assert_eq!(second.sequence, first.sequence);
    assert_eq!(bus.last_sequence("USERS").await.expect("seq"), 1);
}

#[tokio::test]
async fn optimistic_concurrency_rejects_a_stale_writer() {
    let bus = bus().await;
    let choose = |categories: &[&str]| {
        Envelope::new(CategoriesChosen {
            user_id: 9,
            categories: categories.iter().map(|c| c.to_string()).collect(),
        })
    };
    let subject = choose(&[]).subject();
    // given two writers that both read the subject empty
    let expected = bus.last_sequence_on(&subject).await.expect("lookup");
    assert_eq!(expected, 0);
    bus.publish_expecting(&choose(&["design"]), expected)
        .await
        .expect("first writer wins");
    // when the second writes with the stale expectation
    let error = bus
        .publish_expecting(&choose(&["texts"]), expected)
        .await
        .expect_err("stale");
    // then it is a conflict, and a fresh read lets it through
    assert!(matches!(error, PublishError::Conflict { .. }), "{error}");
    let fresh = bus.last_sequence_on(&subject).await.expect("lookup");
    bus.publish_expecting(&choose(&["design", "texts"]), fresh)
        .await
        .expect("fresh writer");
}

#[tokio::test]
async fn optimistic_concurrency_across_an_aggregate_sees_a_write_to_another_subject() {
    let bus = bus().await;
    let history = "rh.users.*.11";
    let choose = Envelope::new(CategoriesChosen {
        user_id: 11,
        categories: vec!["design".into()],
    });
    let first = bus.publish(&choose).await.expect("first");
    // given a writer that decided over user 11's history as it stood at `first`
    let decided_at = first.sequence;
    // when a rival writes another of that user's subjects meanwhile
    bus.publish(&Envelope::new(TrialStarted {
        user_id: 11,
        starts_at: Utc::now(),
        ends_at: Utc::now(),
    }))
    .await
    .expect("rival");
    // then the writer's publish is a conflict, though its own subject did not move
    let stale = Envelope::new(CategoriesChosen {
        user_id: 11,
        categories: vec!["design".into(), "texts".into()],
    });
    let error = bus
        .publish_expecting_across(&stale, history, decided_at)
        .await
        .expect_err("stale");
    assert!(matches!(error, PublishError::Conflict { .. }), "{error}");
    // and after reading the history again it goes through
    let latest = bus.read_subject(history).await.expect("history");
    let fresh = latest.last().expect("events").sequence;
    bus.publish_expecting_across(&stale, history, fresh)
        .await
        .expect("fresh writer");
}

#[tokio::test]
async fn a_batch_is_published_in_order_with_duplicates_reported() {
    let bus = bus().await;
    let events: Vec<Envelope> = (0..5_000).map(accepted).collect();
    let published = bus.publish_batch(&events).await.expect("batch");
    assert_eq!(published.len(), 5_000);
    assert!(published.windows(2).all(|w| w[0].sequence < w[1].sequence));
    let again = bus.publish_batch(&events[..10]).await.expect("again");
    assert!(again.iter().all(|p| p.duplicate));
}

/// Records what it handled; fails as scripted.
#[derive(Clone, Default)]
struct Recorder {
    handled: Arc<Mutex<Vec<(String, i64)>>>,
    fail_first: Arc<AtomicUsize>,
}

impl Recorder {
    async fn has_handled(&self, id_suffix: &str) -> bool {
        self.handled
            .lock()
            .await
            .iter()
            .any(|(id, _)| id.ends_with(id_suffix))
    }
}

impl Handler for Recorder {
    async fn handle(&self, envelope: Envelope, delivery: &Delivery) -> Result<(), HandlerError> {
        if self.fail_first.load(Ordering::SeqCst) > 0 {
            self.fail_first.fetch_sub(1, Ordering::SeqCst);
            return Err(HandlerError::RetryAfter(
                "upstream busy".into(),
                Duration::from_millis(50),
            ));
        }
        self.handled
            .lock()
            .await
            .push((envelope.id, delivery.attempt));
        Ok(())
    }
}

/// Runs the consumer loop in the background; cancel the token to stop it.
fn start(
    bus: &Bus,
    spec: ConsumerSpec,
    recorder: &Recorder,
) -> (
    tokio::task::JoinHandle<anyhow::Result<()>>,
    CancellationToken,
) {
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(consume(
        bus.clone(),
        spec,
        recorder.clone(),
        shutdown.clone(),
    ));
    (task, shutdown)
}

async fn wait_until(mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..400 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("condition not met within 10 s");
}

#[tokio::test]
async fn a_poison_event_is_dead_lettered_and_the_next_one_flows() {
    // given a malformed event followed by a valid one on the classify consumer's subjects
    let bus = bus().await;
    let garbage = async_nats::jetstream::message::PublishMessage::build()
        .payload("{\"type\":\"MessageAccepted\"".into());
    bus.jetstream()
        .send_publish("rh.screening.accepted.x", garbage)
        .await
        .unwrap()
        .await
        .unwrap();
    bus.publish(&accepted(2)).await.expect("publish");
    // when the consumer runs
    let recorder = Recorder::default();
    let (task, shutdown) = start(&bus, ConsumerSpec::new("SCREENING", "classify"), &recorder);
    // then the valid event is handled and the garbage is on the DLQ with its reason and origin
    wait_until(async || recorder.handled.lock().await.len() == 1).await;
    wait_until(async || !bus.dead_letters().await.unwrap_or_default().is_empty()).await;
    let letters = bus.dead_letters().await.expect("dlq");
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].subject, "rh.screening.accepted.x");
    assert_eq!(letters[0].sequence, 1);
    assert_eq!(letters[0].consumer, "classify");
    assert!(
        letters[0].reason.contains("undecodable"),
        "{}",
        letters[0].reason
    );
    shutdown.cancel();
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn retryable_failures_are_redelivered_until_they_succeed() {
    let bus = bus().await;
    bus.publish(&accepted(3)).await.expect("publish");
    let recorder = Recorder::default();
    recorder.fail_first.store(2, Ordering::SeqCst);
    let (task, shutdown) = start(&bus, ConsumerSpec::new("SCREENING", "classify"), &recorder);
    wait_until(async || recorder.handled.lock().await.len() == 1).await;
    assert_eq!(
        recorder.handled.lock().await[0].1,
        3,
        "handled on the third attempt"
    );
    assert!(bus.dead_letters().await.expect("dlq").is_empty());
    shutdown.cancel();
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_replay_hands_the_original_back_once_and_never_stores_a_second_copy() {
    // given a handler that fails more often than the consumer retries
    let bus = bus().await;
    bus.publish(&accepted(4)).await.expect("publish");
    let stored_before = bus.last_sequence("SCREENING").await.unwrap();
    let recorder = Recorder::default();
    recorder.fail_first.store(3, Ordering::SeqCst);
    let mut spec = ConsumerSpec::new("SCREENING", "classify");
    spec.max_attempts = 3;
    let (task, shutdown) = start(&bus, spec, &recorder);
    // then it is dead-lettered after the third attempt, waiting for an operator
    wait_until(async || {
        !bus.unhandled_dead_letters()
            .await
            .unwrap_or_default()
            .is_empty()
    })
    .await;
    let letter = bus.dead_letters().await.expect("dlq").remove(0);
    assert!(
        letter.reason.contains("gave up after 3 attempts"),
        "{}",
        letter.reason
    );
    assert!(letter.handled.is_none());
    assert!(recorder.handled.lock().await.is_empty());

    // when the operator replays it (the cause is gone now), twice by mistake
    let first = bus
        .replay_dead_letter(letter.dlq_sequence, "ops-anna")
        .await
        .expect("replay");
    let second = bus
        .replay_dead_letter(letter.dlq_sequence, "ops-boris")
        .await
        .expect("replay again");
    // then the consumer that gave up handles it once more, once
    wait_until(async || recorder.handled.lock().await.len() == 1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(recorder.handled.lock().await.len(), 1);
    assert!(matches!(first, bus::dead_letter::Outcome::Done(ref h) if h.operator == "ops-anna"));
    assert!(
        matches!(second, bus::dead_letter::Outcome::AlreadyHandled(ref h) if h.operator == "ops-anna"),
        "{second:?}"
    );
    // and the source stream holds no second copy; the letter is handled, no longer waiting
    assert_eq!(bus.last_sequence("SCREENING").await.unwrap(), stored_before);
    assert!(bus.unhandled_dead_letters().await.unwrap().is_empty());
    let handled = bus.dead_letters().await.unwrap().remove(0).handled.unwrap();
    assert_eq!(handled.action, bus::dead_letter::Action::Replayed);

    // when another event is dead-lettered and an operator discards it instead
    recorder.fail_first.store(3, Ordering::SeqCst);
    bus.publish(&accepted(6)).await.expect("publish");
    wait_until(async || {
        !bus.unhandled_dead_letters()
            .await
            .unwrap_or_default()
            .is_empty()
    })
    .await;
    let other = bus.unhandled_dead_letters().await.unwrap().remove(0);
    bus.discard_dead_letter(other.dlq_sequence, "ops-anna", "a test event")
        .await
        .unwrap();
    // then it is handled without a replay, naming who and why, and a replay now does nothing
    assert!(bus.unhandled_dead_letters().await.unwrap().is_empty());
    let outcome = bus
        .replay_dead_letter(other.dlq_sequence, "ops-boris")
        .await
        .unwrap();
    assert!(
        matches!(outcome, bus::dead_letter::Outcome::AlreadyHandled(ref h)
        if h.action == bus::dead_letter::Action::Discarded && h.reason.as_deref() == Some("a test event"))
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(recorder.handled.lock().await.len(), 1);
    shutdown.cancel();
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn the_consumer_is_recreated_when_it_vanishes() {
    let bus = bus().await;
    let recorder = Recorder::default();
    let (task, shutdown) = start(&bus, ConsumerSpec::new("SCREENING", "classify"), &recorder);
    bus.publish(&accepted(5)).await.expect("publish");
    wait_until(async || recorder.handled.lock().await.len() == 1).await;
    // when an operator deletes the consumer under the running loop
    let stream = bus
        .jetstream()
        .get_stream("SCREENING")
        .await
        .expect("stream");
    stream.delete_consumer("classify").await.expect("delete");
    // then the loop recreates it from nats/ and keeps handling (the recreated consumer starts
    // from the stream's start, and handlers are idempotent)
    bus.publish(&accepted(6)).await.expect("publish");
    wait_until(async || recorder.has_handled(":6").await).await;
    shutdown.cancel();
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn the_consumer_survives_a_server_restart() {
    // given our own server and a running consumer
    let mut server = testkit::NatsServer::start().expect("server");
    let bus = Bus::connect(&server.url).await.expect("connect");
    bus.ensure_streams().await.expect("streams");
    let recorder = Recorder::default();
    let (task, shutdown) = start(&bus, ConsumerSpec::new("SCREENING", "classify"), &recorder);
    bus.publish(&accepted(7)).await.expect("publish");
    wait_until(async || recorder.handled.lock().await.len() == 1).await;
    // when the server is killed and started again on the same port and store
    server.restart().expect("restart");
    // then events published after the restart are handled
    let mut published = false;
    for _ in 0..100 {
        if bus.publish(&accepted(8)).await.is_ok() {
            published = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(published, "publish after restart");
    wait_until(async || recorder.has_handled(":8").await).await;
    shutdown.cancel();
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn traceparent_travels_from_producer_to_consumer() {
    use tracing_subscriber::layer::SubscriberExt;
    // given a subscriber with the OpenTelemetry layer, as services have
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
    let tracer = opentelemetry::trace::TracerProvider::tracer(&provider, "test");
    let subscriber =
        tracing_subscriber::registry().with(tracing_opentelemetry::layer().with_tracer(tracer));
    let _guard = tracing::subscriber::set_default(subscriber);
    let bus = bus().await;
    // when an event is published inside a span
    let span = tracing::info_span!("producer");
    let trace_id = telemetry::trace_id(&span).expect("trace id");
    {
        let _entered = span.enter();
        bus.publish(&accepted(9)).await.expect("publish");
    }
    // then the stored message carries that trace in a traceparent header
    let stored = bus.read_to_end("SCREENING", 1).await.expect("read");
    let traceparent = stored[0].header("traceparent").expect("traceparent header");
    assert!(
        traceparent.contains(&trace_id),
        "{traceparent} vs {trace_id}"
    );
    // and a consumer span continues it
    let consumer_span = tracing::info_span!("consumer");
    telemetry::continue_trace(&consumer_span, traceparent);
    assert_eq!(
        telemetry::trace_id(&consumer_span).as_deref(),
        Some(trace_id.as_str())
    );
}
