//! The supervised durable pull-consumer loop every service runs. One function decides each
//! message's fate — ack, nak with a growing delay, or dead-letter — so a bad event never stops a
//! consumer and a flaky dependency never loses one.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::AckKind;
use async_nats::jetstream::consumer::{self, IntoConsumerConfig, PullConsumer};
use futures::StreamExt;
use schemas::Envelope;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

mod pinned;

use crate::dead_letter::Origin;
use crate::definitions::{DLQ_STREAM, Definitions};
use crate::{Bus, ReadError, headers};

/// What a handler tells the loop when it could not handle an event.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// May work later (a timeout, an answer we could not read): redeliver after a growing
    /// delay, and dead-letter after the consumer's attempts.
    #[error("{0}")]
    Retryable(String),
    /// A service we run on is unavailable (NATS, Postgres, Telegram answering 5xx): redeliver
    /// after a growing delay until it is back, however long that takes — never dead-lettered,
    /// since the event is fine and waiting loses nothing.
    #[error("{0}")]
    Unavailable(String),
    /// May work after the given delay (a 429 with Retry-After).
    #[error("{0} (retry after {1:?})")]
    RetryAfter(String, Duration),
    /// Will never work: dead-letter it with this reason.
    #[error("{0}")]
    Poison(String),
}

/// The fate of one delivered message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fate {
    Ack,
    Retry(Duration),
    DeadLetter(String),
}

/// First redelivery delay; doubles per attempt up to [`MAX_RETRY_DELAY`].
pub const BASE_RETRY_DELAY: Duration = Duration::from_secs(1);
pub const MAX_RETRY_DELAY: Duration = Duration::from_secs(300);

/// Decides a message's fate from the handler's result and the delivery attempt (1-based).
pub fn fate(result: &Result<(), HandlerError>, attempt: i64, max_attempts: i64) -> Fate {
    fate_with_delay(result, attempt, max_attempts, BASE_RETRY_DELAY)
}

/// [`fate`] with another first redelivery delay (tests, and services whose dependency recovers
/// faster or slower than most).
pub fn fate_with_delay(
    result: &Result<(), HandlerError>,
    attempt: i64,
    max_attempts: i64,
    first_delay: Duration,
) -> Fate {
    match result {
        Ok(()) => Fate::Ack,
        Err(HandlerError::Poison(reason)) => Fate::DeadLetter(reason.clone()),
        Err(HandlerError::Unavailable(_)) => Fate::Retry(backoff(first_delay, attempt)),
        Err(error) if attempt >= max_attempts => {
            Fate::DeadLetter(format!("gave up after {attempt} attempts: {error}"))
        }
        Err(HandlerError::RetryAfter(_, delay)) => Fate::Retry((*delay).min(MAX_RETRY_DELAY)),
        Err(HandlerError::Retryable(_)) => Fate::Retry(backoff(first_delay, attempt)),
    }
}

/// The delay before redelivery `attempt` (1-based): doubling from `first_delay`, at most
/// [`MAX_RETRY_DELAY`].
fn backoff(first_delay: Duration, attempt: i64) -> Duration {
    let exponent = u32::try_from(attempt.clamp(1, 20) - 1).unwrap_or(0);
    first_delay
        .saturating_mul(2u32.saturating_pow(exponent))
        .min(MAX_RETRY_DELAY)
}

/// A publish that failed is NATS failing (our events and subjects are valid by construction):
/// waited out, never dead-lettered.
impl From<crate::PublishError> for HandlerError {
    fn from(error: crate::PublishError) -> Self {
        HandlerError::Unavailable(error.to_string())
    }
}

/// What a handler knows of a delivery besides the event.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub subject: String,
    pub stream_sequence: u64,
    /// When the stream stored it (for a fired schedule: the firing, not the schedule).
    pub stored_at: chrono::DateTime<chrono::Utc>,
    /// 1 on the first delivery.
    pub attempt: i64,
}

/// A service's reaction to one event. Must be idempotent: after a crash the same event comes
/// again.
pub trait Handler: Send + Sync + 'static {
    fn handle(
        &self,
        envelope: Envelope,
        delivery: &Delivery,
    ) -> impl Future<Output = Result<(), HandlerError>> + Send;
}

/// Which durable consumer to run and how.
#[derive(Debug, Clone)]
pub struct ConsumerSpec {
    pub stream: String,
    pub consumer: String,
    /// Attempts before a retryable failure is dead-lettered.
    pub max_attempts: i64,
    /// Events handled at once (acks may then complete out of order, which durable consumers
    /// allow).
    pub concurrency: usize,
    /// Delay before the first redelivery of a retryable failure; doubles per attempt.
    pub first_retry_delay: Duration,
    /// The consumer's config when it is not one of `nats/consumers` (made from a template).
    pub definition: Option<async_nats::jetstream::consumer::pull::Config>,
    /// For `pinned_client` consumers: the priority group to pull in. One pulling client of the
    /// group is pinned and gets every message; the others wait on standby.
    pub priority_group: Option<String>,
}

/// The durable consumers of `nats/consumers/`: (stream, name). Services name consumers only
/// through these, so a rename happens here and in `nats/` alone.
pub mod consumers {
    /// The classifier, on accepted posts.
    pub const CLASSIFY: (&str, &str) = ("SCREENING", "classify");
    /// Fan-out's planner, on classifications and corrections.
    pub const FANOUT: (&str, &str) = ("CLASSIFICATIONS", "fanout");
    /// The main bot's reports to the admins.
    pub const ADMIN_REPORTS: (&str, &str) = ("USERS", "admin-reports");
    /// The main bot's redraw of a user's live menu when they start a category bot.
    pub const MAIN_MENU: (&str, &str) = ("USERS", "main-menu");
    /// The scheduler, on every job's ticks.
    pub const SCHEDULER: (&str, &str) = ("SCHEDULES", "scheduler");
    /// The main bot's notification sender, on both outboxes (pinned in the `sender` group).
    pub const NOTIFY: (&str, &str) = ("NOTIFICATIONS", "notify");
}

impl ConsumerSpec {
    /// One of [`consumers`] with the default settings.
    pub fn of((stream, consumer): (&str, &str)) -> Self {
        Self::new(stream, consumer)
    }

    /// The sender of one category bot: `send-<category>` on DELIVERIES, made from
    /// `nats/templates/DELIVERIES/send.json`, pinned within `group`.
    pub fn sender(category: &str, group: &str) -> anyhow::Result<Self> {
        Ok(Self {
            definition: Some(crate::definitions::send_consumer(category)?),
            priority_group: Some(group.to_owned()),
            ..Self::new(
                schemas::Area::Deliveries.stream(),
                format!("send-{category}"),
            )
        })
    }

    pub fn new(stream: impl Into<String>, consumer: impl Into<String>) -> Self {
        Self {
            stream: stream.into(),
            consumer: consumer.into(),
            max_attempts: 8,
            concurrency: 1,
            first_retry_delay: BASE_RETRY_DELAY,
            definition: None,
            priority_group: None,
        }
    }
}

/// Runs `handler` over the durable consumer until `shutdown`, recreating the subscription (and
/// the consumer, from its definition in `nats/`) whenever it breaks. In-flight events finish
/// before it returns.
pub async fn consume<H: Handler>(
    bus: Bus,
    spec: ConsumerSpec,
    handler: H,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let handler = Arc::new(handler);
    let replays = tokio::spawn(serve_replays(
        bus.clone(),
        spec.clone(),
        handler.clone(),
        shutdown.clone(),
    ));
    let result = supervise(bus, spec, handler, Source::Stream, shutdown).await;
    let _ = replays.await;
    result
}

/// Where a consumer loop's messages come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// The consumer's own stream: each message is an event.
    Stream,
    /// The consumer's replay requests on the DLQ: each names an event of its stream by
    /// sequence, fetched and handled once more.
    Replays,
}

/// Hands dead letters that an operator replays (`remotehunt dlq replay`) back to this consumer:
/// the original stays where it was stored, once, so a replay never adds a second copy to the
/// source stream.
async fn serve_replays<H: Handler>(
    bus: Bus,
    spec: ConsumerSpec,
    handler: Arc<H>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let replays = ConsumerSpec {
        stream: DLQ_STREAM.to_owned(),
        consumer: replay_consumer_name(&spec.consumer),
        concurrency: 1,
        definition: Some(crate::definitions::replay_consumer(
            &spec.stream,
            &spec.consumer,
        )?),
        priority_group: None,
        ..spec.clone()
    };
    supervise(
        bus,
        SpecPair {
            own: spec,
            read: replays,
        },
        handler,
        Source::Replays,
        shutdown,
    )
    .await
}

/// The durable consumer that reads `consumer`'s replay requests.
pub fn replay_consumer_name(consumer: &str) -> String {
    format!("replay-{consumer}")
}

/// The consumer whose events are handled, and the consumer read (itself, or its replays).
#[derive(Debug, Clone)]
struct SpecPair {
    own: ConsumerSpec,
    read: ConsumerSpec,
}

impl From<ConsumerSpec> for SpecPair {
    fn from(spec: ConsumerSpec) -> Self {
        SpecPair {
            own: spec.clone(),
            read: spec,
        }
    }
}

async fn supervise<H: Handler>(
    bus: Bus,
    specs: impl Into<SpecPair>,
    handler: Arc<H>,
    source: Source,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let specs = specs.into();
    let spec = &specs.read;
    let permits = Arc::new(Semaphore::new(spec.concurrency.max(1)));
    let mut tasks = JoinSet::new();
    let mut backoff = Duration::from_millis(100);
    while !shutdown.is_cancelled() {
        match open(&bus, spec).await {
            Ok(consumer) => {
                backoff = Duration::from_millis(100);
                let result = pump(
                    &bus, &specs, source, &consumer, &handler, &permits, &mut tasks, &shutdown,
                )
                .await;
                if let Err(error) = result {
                    tracing::warn!(consumer = %spec.consumer, %error, "consumer subscription broke; recreating");
                }
            }
            Err(error) => {
                tracing::warn!(consumer = %spec.consumer, error = %format!("{error:#}"), "cannot open consumer; retrying");
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
    while tasks.join_next().await.is_some() {}
    Ok(())
}

/// Gets the durable consumer, creating it from its definition if it is missing (first start,
/// or deleted while we were disconnected).
async fn open(bus: &Bus, spec: &ConsumerSpec) -> anyhow::Result<PullConsumer> {
    let stream = bus.js.get_stream(&spec.stream).await?;
    match stream
        .get_consumer::<consumer::pull::Config>(&spec.consumer)
        .await
    {
        Ok(mut consumer) => {
            // A template that gained a subject (a sender's outbox that now also holds
            // withdrawals) updates a consumer made from its older version.
            if let Some(config) = &spec.definition
                && filters(&consumer.cached_info().config)
                    != filters(&config.clone().into_consumer_config())
            {
                tracing::info!(consumer = %spec.consumer, "updating consumer's subjects from its template");
                stream.update_consumer(config.clone()).await?;
                consumer = stream
                    .get_consumer(&spec.consumer)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            }
            Ok(consumer)
        }
        Err(error) => {
            if let Some(config) = &spec.definition {
                tracing::info!(consumer = %spec.consumer, "creating consumer from its template");
                return Ok(stream.create_consumer(config.clone()).await?);
            }
            let definitions = Definitions::embedded();
            let Some(definition) = definitions.consumer(&spec.stream, &spec.consumer) else {
                return Err(anyhow::anyhow!(
                    "consumer {}/{} is missing and has no definition in nats/: {error}",
                    spec.stream,
                    spec.consumer
                ));
            };
            tracing::info!(consumer = %spec.consumer, "creating consumer from its definition");
            Ok(stream.create_consumer(definition.config.clone()).await?)
        }
    }
}

/// A consumer's subject filters, one or many, in order.
fn filters(config: &consumer::Config) -> Vec<String> {
    if config.filter_subjects.is_empty() {
        Some(config.filter_subject.clone())
            .filter(|f| !f.is_empty())
            .into_iter()
            .collect()
    } else {
        config.filter_subjects.clone()
    }
}

#[allow(clippy::too_many_arguments)]
async fn pump<H: Handler>(
    bus: &Bus,
    specs: &SpecPair,
    source: Source,
    consumer: &PullConsumer,
    handler: &Arc<H>,
    permits: &Arc<Semaphore>,
    tasks: &mut JoinSet<()>,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    let spec = &specs.read;
    let pull = consumer
        .stream()
        // Buffer only what will be handled soon: a buffered message's ack_wait is running.
        .max_messages_per_batch((spec.concurrency * 2).clamp(1, 256));
    let mut messages = match &spec.priority_group {
        // Pulls expire well within the pin's timeout and are read all the time, busy or not,
        // so a live client keeps its pin and a dead one loses it quickly.
        Some(group) => Incoming::Pinned(pinned::Inbox::start(
            pull.group(group.clone())
                .heartbeat(Duration::from_millis(500))
                .expires(Duration::from_secs(2))
                .messages()
                .await?,
            consumer.cached_info().config.ack_wait,
        )),
        None => Incoming::Shared(Box::new(
            pull.heartbeat(Duration::from_secs(5))
                .expires(Duration::from_secs(30))
                .messages()
                .await?,
        )),
    };
    loop {
        let permit = tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            permit = permits.clone().acquire_owned() => permit?,
        };
        let message = tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            message = messages.next() => message?,
        };
        // Reap finished tasks so the set does not grow.
        while tasks.try_join_next().is_some() {}
        let bus = bus.clone();
        let own = specs.own.clone();
        let handler = handler.clone();
        let ack_wait = consumer.cached_info().config.ack_wait;
        tasks.spawn(async move {
            let handled = message.clone();
            let work = async move {
                match source {
                    Source::Stream => process(&bus, &own, handler.as_ref(), message).await,
                    Source::Replays => process_replay(&bus, &own, handler.as_ref(), message).await,
                }
            };
            while_in_progress(&handled, ack_wait, work).await;
            drop(permit);
        });
    }
}

/// Runs `work` on `message`, telling the server it is still in progress every third of its
/// ack wait: a handler that takes long (a send retried through Telegram's 5xx, a slow LLM) is
/// not handed to another copy meanwhile.
async fn while_in_progress(
    message: &async_nats::jetstream::Message,
    ack_wait: Duration,
    work: impl Future<Output = ()>,
) {
    let every = (ack_wait / 3).max(Duration::from_millis(100));
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    tokio::pin!(work);
    loop {
        tokio::select! {
            () = &mut work => return,
            _ = tick.tick() => {
                // A lost one only means the server may redeliver, which handlers allow.
                let _ = message.ack_with(AckKind::Progress).await;
            }
        }
    }
}

/// A subscription's messages: read as handlers are free, or (pinned) read all the time.
enum Incoming {
    Shared(Box<consumer::pull::Stream>),
    Pinned(pinned::Inbox),
}

impl Incoming {
    async fn next(&mut self) -> anyhow::Result<async_nats::jetstream::Message> {
        match self {
            Incoming::Shared(messages) => match messages.next().await {
                Some(message) => Ok(message?),
                None => Err(anyhow::anyhow!("message stream ended")),
            },
            Incoming::Pinned(inbox) => inbox.next().await,
        }
    }
}

/// An event of the consumer's stream as stored: delivered by the consumer, or fetched by
/// sequence for a replay.
struct Original {
    subject: String,
    sequence: u64,
    stored_at: chrono::DateTime<chrono::Utc>,
    headers: Option<HeaderMap>,
    payload: bytes::Bytes,
}

/// What to do with the message that brought an event, once it was handled.
enum Settle {
    Ack,
    Nak(Duration),
    /// Dead-lettered: never redeliver.
    Term,
}

async fn process<H: Handler>(
    bus: &Bus,
    spec: &ConsumerSpec,
    handler: &H,
    message: async_nats::jetstream::Message,
) {
    let (sequence, attempt, stored_at) = match message.info() {
        Ok(info) => (info.stream_sequence, info.delivered, utc(info.published)),
        Err(_) => (0, 1, chrono::Utc::now()),
    };
    let original = Original {
        subject: message.subject.to_string(),
        sequence,
        stored_at,
        headers: message.headers.clone(),
        payload: message.payload.clone(),
    };
    let settle = handle_original(bus, spec, handler, &original, attempt, None).await;
    settle_message(&message, settle).await;
}

/// A replay request: fetch the original it names from the consumer's stream and handle it as
/// if the consumer had just been given it. The request is acked only when that is settled, so
/// a crash mid-replay replays it again (handlers are idempotent).
async fn process_replay<H: Handler>(
    bus: &Bus,
    spec: &ConsumerSpec,
    handler: &H,
    request: async_nats::jetstream::Message,
) {
    let attempt = request.info().map_or(1, |info| info.delivered);
    let settle = match serde_json::from_slice::<crate::dead_letter::ReplayRequest>(&request.payload)
    {
        Err(error) => {
            // Not ours to guess at: the request itself goes where the operator looks.
            let origin = Origin {
                stream: DLQ_STREAM.to_owned(),
                consumer: replay_consumer_name(&spec.consumer),
                subject: request.subject.to_string(),
                sequence: request.info().map_or(0, |info| info.stream_sequence),
                replay_of: None,
            };
            let reason = format!("unreadable replay request: {error}");
            match dead_letter(bus, &origin, &request.payload, None, &reason).await {
                Ok(()) => Settle::Term,
                Err(_) => Settle::Nak(BASE_RETRY_DELAY),
            }
        }
        Ok(replay) => match bus.original(&spec.stream, replay.sequence).await {
            Ok(original) => {
                let span = tracing::info_span!("replay", consumer = %spec.consumer, dlq_sequence = replay.dlq_sequence, sequence = replay.sequence);
                handle_original(
                    bus,
                    spec,
                    handler,
                    &original,
                    attempt,
                    Some(replay.dlq_sequence),
                )
                .instrument(span)
                .await
            }
            Err(error) if error.is_retryable() => Settle::Nak(BASE_RETRY_DELAY),
            Err(error) => {
                // The original is gone (the stream's limits removed it): say so where the
                // operator looks, as a dead letter of the request itself.
                let origin = Origin {
                    stream: spec.stream.clone(),
                    consumer: spec.consumer.clone(),
                    subject: replay.subject.clone(),
                    sequence: replay.sequence,
                    replay_of: Some(replay.dlq_sequence),
                };
                let reason = format!(
                    "replay of dead letter #{} failed: {error}",
                    replay.dlq_sequence
                );
                match dead_letter(bus, &origin, &request.payload, None, &reason).await {
                    Ok(()) => Settle::Term,
                    Err(_) => Settle::Nak(BASE_RETRY_DELAY),
                }
            }
        },
    };
    settle_message(&request, settle).await;
}

/// Handles one event and decides its fate; dead-letters it when that is its fate.
async fn handle_original<H: Handler>(
    bus: &Bus,
    spec: &ConsumerSpec,
    handler: &H,
    original: &Original,
    attempt: i64,
    replay_of: Option<u64>,
) -> Settle {
    let origin = Origin {
        stream: spec.stream.clone(),
        consumer: spec.consumer.clone(),
        subject: original.subject.clone(),
        sequence: original.sequence,
        replay_of,
    };
    let span = tracing::info_span!(
        "handle",
        consumer = %spec.consumer,
        subject = %original.subject,
        stream_sequence = original.sequence,
        attempt,
        event_id = tracing::field::Empty,
        event_type = tracing::field::Empty,
    );
    if let Some(traceparent) =
        headers::get_ignore_case(original.headers.as_ref(), headers::TRACEPARENT)
    {
        telemetry::continue_trace(&span, traceparent);
    }
    let result = match Envelope::from_json(&original.payload) {
        Ok(envelope) => {
            span.record("event_id", envelope.id.as_str());
            span.record("event_type", envelope.event_type());
            let delivery = Delivery {
                subject: original.subject.clone(),
                stream_sequence: original.sequence,
                stored_at: original.stored_at,
                attempt,
            };
            handler
                .handle(envelope, &delivery)
                .instrument(span.clone())
                .await
        }
        Err(error) => Err(HandlerError::Poison(format!("undecodable event: {error}"))),
    };
    let _entered = span.enter();
    match fate_with_delay(&result, attempt, spec.max_attempts, spec.first_retry_delay) {
        Fate::Ack => Settle::Ack,
        Fate::Retry(delay) => {
            tracing::info!(?delay, error = %result.as_ref().err().map(|e| e.to_string()).unwrap_or_default(), "will retry");
            Settle::Nak(delay)
        }
        Fate::DeadLetter(reason) => {
            match dead_letter(
                bus,
                &origin,
                &original.payload,
                original.headers.as_ref(),
                &reason,
            )
            .await
            {
                Ok(()) => Settle::Term,
                // Not stored on the DLQ: keep the original and try again later.
                Err(error) => {
                    tracing::error!(error = %format!("{error:#}"), "dead-lettering failed; will redeliver");
                    Settle::Nak(BASE_RETRY_DELAY)
                }
            }
        }
    }
}

async fn settle_message(message: &async_nats::jetstream::Message, settle: Settle) {
    let acked = match settle {
        Settle::Ack => message.ack().await,
        Settle::Nak(delay) => message.ack_with(AckKind::Nak(Some(delay))).await,
        Settle::Term => message.ack_with(AckKind::Term).await,
    };
    if let Err(error) = acked {
        // The server redelivers after ack_wait; handlers are idempotent.
        tracing::warn!(%error, "acknowledging failed");
    }
}

impl Bus {
    /// The event stored at `sequence` in `stream`, as it was stored.
    async fn original(&self, stream: &str, sequence: u64) -> Result<Original, ReadError> {
        use async_nats::jetstream::stream::LastRawMessageErrorKind;
        let what = format!("{stream} sequence {sequence}");
        let handle =
            self.js
                .get_stream_no_info(stream)
                .await
                .map_err(|e| ReadError::Transport {
                    what: what.clone(),
                    reason: e.to_string(),
                })?;
        match handle.get_raw_message(sequence).await {
            Ok(message) => Ok(Original {
                subject: message.subject.to_string(),
                sequence: message.sequence,
                stored_at: utc(message.time),
                headers: Some(message.headers),
                payload: message.payload,
            }),
            Err(e) if e.kind() == LastRawMessageErrorKind::NoMessageFound => {
                Err(ReadError::NotFound(what))
            }
            Err(e) => Err(ReadError::Transport {
                what,
                reason: e.to_string(),
            }),
        }
    }
}

/// A NATS time as ours.
pub(crate) fn utc(time: time::OffsetDateTime) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(time.unix_timestamp(), time.nanosecond()).unwrap_or_default()
}

async fn dead_letter(
    bus: &Bus,
    origin: &Origin,
    payload: &bytes::Bytes,
    headers: Option<&HeaderMap>,
    reason: &str,
) -> anyhow::Result<()> {
    bus.dead_letter(origin, payload.clone(), headers, reason)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_is_acked() {
        assert_eq!(fate(&Ok(()), 1, 8), Fate::Ack);
    }

    #[test]
    fn poison_is_dead_lettered_at_once() {
        // given an event that can never be handled
        let result = Err(HandlerError::Poison("bad".into()));
        // when it fails on its first attempt
        // then it goes to the DLQ with its reason
        assert_eq!(fate(&result, 1, 8), Fate::DeadLetter("bad".into()));
    }

    #[test]
    fn retryable_failures_back_off_exponentially_up_to_a_cap() {
        let result = Err(HandlerError::Retryable("timeout".into()));
        assert_eq!(fate(&result, 1, 100), Fate::Retry(Duration::from_secs(1)));
        assert_eq!(fate(&result, 2, 100), Fate::Retry(Duration::from_secs(2)));
        assert_eq!(fate(&result, 4, 100), Fate::Retry(Duration::from_secs(8)));
        assert_eq!(fate(&result, 30, 100), Fate::Retry(MAX_RETRY_DELAY));
    }

    #[test]
    fn an_unavailable_service_is_waited_out_and_never_dead_lettered() {
        // given NATS or Postgres down for longer than any consumer's attempts
        let result = Err(HandlerError::Unavailable("connection refused".into()));
        // then every attempt is a retry, backing off to the cap
        assert_eq!(fate(&result, 1, 8), Fate::Retry(Duration::from_secs(1)));
        assert_eq!(fate(&result, 8, 8), Fate::Retry(Duration::from_secs(128)));
        assert_eq!(fate(&result, 1_000, 8), Fate::Retry(MAX_RETRY_DELAY));
    }

    #[test]
    fn retry_after_is_honoured() {
        let result = Err(HandlerError::RetryAfter(
            "429".into(),
            Duration::from_secs(17),
        ));
        assert_eq!(fate(&result, 3, 8), Fate::Retry(Duration::from_secs(17)));
    }

    #[test]
    fn retryable_failures_are_dead_lettered_after_the_last_attempt() {
        let result = Err(HandlerError::Retryable("timeout".into()));
        assert!(
            matches!(fate(&result, 8, 8), Fate::DeadLetter(reason) if reason.contains("8 attempts"))
        );
    }
}
