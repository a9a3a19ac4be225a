//! Publishing typed events, each with the current `traceparent`. Events that may exist once per
//! subject are sent with "expected last subject sequence 0", which keeps them unique forever;
//! every other event carries its id as `Nats-Msg-Id`, so a retried publish is stored once within
//! the duplicate window.

use std::collections::VecDeque;

use async_nats::jetstream::context::{PublishAckFuture, PublishErrorKind};
use async_nats::jetstream::message::PublishMessage;
use bytes::Bytes;
use schemas::Envelope;

use crate::{Bus, headers};

/// How long a claim is tried again with the same envelope: longer than a cluster takes to
/// elect a new stream leader.
const CLAIM_PATIENCE: std::time::Duration = std::time::Duration::from_secs(30);

/// Publishes in flight while a batch is pipelined; acks are awaited oldest first.
const PIPELINE_WINDOW: usize = 4_096;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub stream: String,
    /// Stream sequence of the stored event (of the earlier copy for a duplicate).
    pub sequence: u64,
    /// The event was already stored; nothing new was written.
    pub duplicate: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// Another writer changed the aggregate since the expected sequence.
    #[error("{subject} changed concurrently (expected last sequence {expected})")]
    Conflict { subject: String, expected: u64 },
    #[error("publishing {event_type} on {subject}: {source}")]
    Nats {
        event_type: &'static str,
        subject: String,
        source: async_nats::jetstream::context::PublishError,
    },
    #[error("looking up the stored copy of {subject}: {reason}")]
    Lookup { subject: String, reason: String },
}

impl PublishError {
    /// Whether the publish may succeed later, decided again or not: NATS failing (any kind)
    /// or a rival writer. Our events and subjects are valid by construction, so a refusal by
    /// NATS is an outage, never the event's fault.
    pub fn is_transient(&self) -> bool {
        true
    }

    /// Timeouts and broken connections may succeed when retried with the same event id.
    pub fn is_retryable(&self) -> bool {
        matches!(self, PublishError::Nats { source, .. }
            if matches!(source.kind(), PublishErrorKind::TimedOut | PublishErrorKind::BrokenPipe | PublishErrorKind::MaxAckPending))
    }
}

/// What a publish expects of the subject's history.
#[derive(Debug, Clone)]
enum Expect {
    /// Whatever the event's registry entry says (once-per-subject or not).
    Default,
    /// Optimistic concurrency: the subject's last stored sequence must be this.
    LastSubjectSequence(u64),
    /// Optimistic concurrency over a whole aggregate: the last sequence stored on any subject
    /// matching the filter must be this.
    LastSequenceAcross { filter: String, sequence: u64 },
}

struct Outgoing {
    event_type: &'static str,
    subject: String,
    once: bool,
    expected: Option<u64>,
}

impl Bus {
    /// Publishes one event and waits for the stream's ack.
    #[tracing::instrument(skip_all, fields(event_id = %envelope.id, event_type = envelope.event_type()))]
    pub async fn publish(&self, envelope: &Envelope) -> Result<Published, PublishError> {
        let (outgoing, ack) = self
            .send(envelope, Expect::Default, traceparent().as_deref())
            .await?;
        self.settle(outgoing, ack.await).await
    }

    /// Publishes only if the subject's last stored event is still at `expected_last_sequence`
    /// (0: the subject must be empty). A concurrent writer makes this a
    /// [`PublishError::Conflict`]; reload and decide again.
    pub async fn publish_expecting(
        &self,
        envelope: &Envelope,
        expected_last_sequence: u64,
    ) -> Result<Published, PublishError> {
        let (outgoing, ack) = self
            .send(
                envelope,
                Expect::LastSubjectSequence(expected_last_sequence),
                traceparent().as_deref(),
            )
            .await?;
        self.settle(outgoing, ack.await).await
    }

    /// Publishes only if nothing matching `filter` (wildcards allowed, e.g. `rh.users.*.42`,
    /// one aggregate's history) was stored after `expected_last_sequence`: a decision taken
    /// over the whole history stays valid, whichever of its subjects a rival wrote to.
    pub async fn publish_expecting_across(
        &self,
        envelope: &Envelope,
        filter: &str,
        expected_last_sequence: u64,
    ) -> Result<Published, PublishError> {
        let expect = Expect::LastSequenceAcross {
            filter: filter.to_owned(),
            sequence: expected_last_sequence,
        };
        let (outgoing, ack) = self
            .send(envelope, expect, traceparent().as_deref())
            .await?;
        self.settle(outgoing, ack.await).await
    }

    /// Publishes `envelope` until NATS stores it, however long NATS is away: for a record of
    /// something already done outside (a message sent), where giving up would make the caller
    /// do it again. The same event each try, so it is stored once; only a rival writer's
    /// [`PublishError::Conflict`] ends it unstored.
    pub async fn publish_until_stored(
        &self,
        envelope: &Envelope,
    ) -> Result<Published, PublishError> {
        let mut wait = std::time::Duration::from_millis(50);
        loop {
            match self.publish(envelope).await {
                Err(PublishError::Nats { .. } | PublishError::Lookup { .. }) => {}
                done => return done,
            }
            tracing::warn!(
                event = envelope.event_type(),
                ?wait,
                "not stored yet; publishing the same event again"
            );
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(std::time::Duration::from_secs(2));
        }
    }

    /// Publishes a once-per-subject claim (a delivery's, a notification's) until NATS answers,
    /// and tells whether it is this very envelope that is stored: `true` when it was stored now
    /// or by an earlier try of this call whose answer was lost (a timeout, a cluster electing a
    /// new leader), `false` when someone else's claim was there first. Retrying with the same
    /// envelope and comparing the stored bytes keeps a lost answer from costing the send.
    pub async fn claim(&self, envelope: &Envelope) -> Result<bool, PublishError> {
        let mut wait = std::time::Duration::from_millis(50);
        let started = std::time::Instant::now();
        loop {
            match self.publish(envelope).await {
                Ok(published) if !published.duplicate => return Ok(true),
                Ok(_) => {
                    let stored = self.direct_last(&envelope.subject()).await.map_err(|e| {
                        PublishError::Lookup {
                            subject: envelope.subject(),
                            reason: e.to_string(),
                        }
                    })?;
                    return Ok(stored.is_some_and(|m| m.payload.as_ref() == envelope.to_json()));
                }
                Err(error @ PublishError::Conflict { .. }) => return Err(error),
                // NATS down for longer than an election: give the outage to the caller (it
                // retries the event); a claim stored meanwhile is then someone else's to us.
                Err(error) if started.elapsed() > CLAIM_PATIENCE => return Err(error),
                Err(error) => {
                    tracing::warn!(%error, ?wait, "claim not answered; trying the same claim again");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(std::time::Duration::from_secs(2));
                }
            }
        }
    }

    /// Publishes many events with acks pipelined (thousands in flight), in order; returns one
    /// result per event. Stops at the first error that is not a duplicate.
    pub async fn publish_batch(
        &self,
        envelopes: &[Envelope],
    ) -> Result<Vec<Published>, PublishError> {
        self.pipeline(
            envelopes.iter().map(|envelope| (envelope, None)),
            envelopes.len(),
        )
        .await
    }

    /// [`Bus::publish_batch`] with each event sent inside its own span (`spans[i]` for
    /// `envelopes[i]`), so its `traceparent` names that span: one trace per post, however many
    /// posts an import publishes at once.
    pub async fn publish_batch_traced(
        &self,
        envelopes: &[Envelope],
        spans: &[tracing::Span],
    ) -> Result<Vec<Published>, PublishError> {
        debug_assert_eq!(envelopes.len(), spans.len());
        self.pipeline(
            envelopes.iter().zip(spans.iter().map(Some)),
            envelopes.len(),
        )
        .await
    }

    async fn pipeline<'a>(
        &self,
        envelopes: impl Iterator<Item = (&'a Envelope, Option<&'a tracing::Span>)>,
        count: usize,
    ) -> Result<Vec<Published>, PublishError> {
        let mut results = Vec::with_capacity(count);
        let mut in_flight: VecDeque<(Outgoing, PublishAckFuture)> = VecDeque::new();
        // Events without a span of their own share the batch's trace: one context, not one
        // per event (a span per event would cost more than the publish).
        let mut batch_traceparent: Option<Option<String>> = None;
        for (envelope, span) in envelopes {
            if in_flight.len() >= PIPELINE_WINDOW
                && let Some((outgoing, ack)) = in_flight.pop_front()
            {
                results.push(self.settle(outgoing, ack.await).await?);
            }
            let own;
            let traceparent = match span {
                Some(span) => {
                    own = telemetry::traceparent(span);
                    own.as_deref()
                }
                None => batch_traceparent.get_or_insert_with(traceparent).as_deref(),
            };
            let sent = self.send(envelope, Expect::Default, traceparent).await?;
            in_flight.push_back(sent);
        }
        while let Some((outgoing, ack)) = in_flight.pop_front() {
            results.push(self.settle(outgoing, ack.await).await?);
        }
        Ok(results)
    }

    async fn send(
        &self,
        envelope: &Envelope,
        expect: Expect,
        traceparent: Option<&str>,
    ) -> Result<(Outgoing, PublishAckFuture), PublishError> {
        let subject = envelope.subject();
        let event_type = envelope.event_type();
        let once = envelope.event.once_per_subject();
        let mut message = PublishMessage::build()
            .payload(Bytes::from(envelope.to_json()))
            .header(headers::EVENT_TYPE, event_type);
        // A once-per-subject event is guarded forever by its subject (expected last subject
        // sequence 0); `Nats-Msg-Id` would repeat that check for the dedup window only, and the
        // server would keep every id of the window to do it.
        if !(once && matches!(expect, Expect::Default)) {
            message = message.message_id(&envelope.id);
        }
        if let Some(traceparent) = traceparent {
            message = message.header(headers::TRACEPARENT, traceparent);
        }
        let expected = match &expect {
            Expect::LastSubjectSequence(sequence) => Some(*sequence),
            Expect::LastSequenceAcross { filter, sequence } => {
                // nats-server >= 2.11 checks the expected sequence against this filter.
                message = message.header(
                    headers::EXPECTED_LAST_SUBJECT_SEQUENCE_SUBJECT,
                    filter.as_str(),
                );
                Some(*sequence)
            }
            Expect::Default if once => Some(0),
            Expect::Default => None,
        };
        if let Some(sequence) = expected {
            message = message.expected_last_subject_sequence(sequence);
        }
        let ack = self
            .js
            .send_publish(subject.clone(), message)
            .await
            .map_err(|source| PublishError::Nats {
                event_type,
                subject: subject.clone(),
                source,
            })?;
        let outgoing = Outgoing {
            event_type,
            subject,
            once: once && matches!(expect, Expect::Default),
            expected,
        };
        Ok((outgoing, ack))
    }

    async fn settle(
        &self,
        outgoing: Outgoing,
        ack: Result<
            async_nats::jetstream::publish::PublishAck,
            async_nats::jetstream::context::PublishError,
        >,
    ) -> Result<Published, PublishError> {
        match ack {
            Ok(ack) => Ok(Published {
                stream: ack.stream,
                sequence: ack.sequence,
                duplicate: ack.duplicate,
            }),
            Err(source)
                if source.kind() == PublishErrorKind::WrongLastSequence && outgoing.once =>
            {
                // A once-per-subject event is already stored (outside the duplicate window):
                // that is a duplicate, not a failure.
                let sequence = self.last_sequence_on(&outgoing.subject).await?;
                Ok(Published {
                    stream: stream_for_subject(&outgoing.subject).to_owned(),
                    sequence,
                    duplicate: true,
                })
            }
            Err(source) if source.kind() == PublishErrorKind::WrongLastSequence => {
                Err(PublishError::Conflict {
                    subject: outgoing.subject,
                    expected: outgoing.expected.unwrap_or_default(),
                })
            }
            Err(source) => Err(PublishError::Nats {
                event_type: outgoing.event_type,
                subject: outgoing.subject,
                source,
            }),
        }
    }

    /// Stream sequence of the last event stored on `subject`, 0 if none: the expected sequence
    /// for an optimistic-concurrency publish.
    pub async fn last_sequence_on(&self, subject: &str) -> Result<u64, PublishError> {
        match self.direct_last(subject).await {
            Ok(message) => Ok(message.map_or(0, |m| m.sequence)),
            Err(e) => Err(PublishError::Lookup {
                subject: subject.to_owned(),
                reason: e.to_string(),
            }),
        }
    }
}

/// The `traceparent` for what is published now: the current span's, or — outside any span (a
/// CLI command, a bot's answer) — a new trace's, so every stored event carries one.
fn traceparent() -> Option<String> {
    telemetry::current_traceparent()
        .or_else(|| telemetry::traceparent(&tracing::info_span!(parent: None, "publish")))
}

/// `rh.<area>.…` → the area's stream name.
pub(crate) fn stream_for_subject(subject: &str) -> &'static str {
    let area = subject.split('.').nth(1).unwrap_or_default();
    schemas::Area::ALL
        .into_iter()
        .find(|a| a.as_str() == area)
        .map(schemas::Area::stream)
        .unwrap_or("")
}
