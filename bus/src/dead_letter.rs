//! Dead letters: events a consumer gave up on (undecodable, invalid, or out of attempts), kept
//! whole on the DLQ stream with the reason and where they came from, so nothing is lost and an
//! operator can replay them once the cause is fixed.
//!
//! The original stays in its source stream, so a replay never stores it there again (a second
//! copy would break once-per-subject events; one with the original `Nats-Msg-Id` would be
//! deduplicated away). A replay is a request on the DLQ, `rh.dlq.replay.<stream>.<consumer>.<n>`,
//! that the consumer which gave up reads (its `replay-<consumer>` durable consumer, made from
//! `nats/templates/DLQ/replay.json`); it fetches the original by sequence and handles it once
//! more. Each dead letter is handled once — replayed or discarded, whichever comes first —
//! recorded by `rh.dlq.handled.<n>` naming the operator; both subjects take one message ever.

use async_nats::HeaderMap;
use async_nats::jetstream::context::PublishErrorKind;
use async_nats::jetstream::message::PublishMessage;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::definitions::DLQ_STREAM;
use crate::read::RawStored;
use crate::{Bus, headers};

/// Where a dead-lettered message came from.
#[derive(Debug, Clone)]
pub struct Origin {
    pub stream: String,
    pub consumer: String,
    pub subject: String,
    pub sequence: u64,
    /// Set when it failed again after a replay of that dead letter: a new dead letter, not a
    /// repeat of the first.
    pub replay_of: Option<u64>,
}

/// A dead letter as listed by `remotehunt dlq list`.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    /// Sequence in the DLQ stream: what `dlq replay` and `dlq discard` take.
    pub dlq_sequence: u64,
    pub stream: String,
    pub consumer: String,
    pub subject: String,
    pub sequence: u64,
    pub reason: String,
    pub event_id: Option<String>,
    pub payload: Bytes,
    /// How an operator dealt with it; `None` while it waits.
    pub handled: Option<Handled>,
}

impl DeadLetter {
    fn from_stored(stored: RawStored) -> Self {
        let header = |name| stored.header(name).unwrap_or_default().to_owned();
        DeadLetter {
            dlq_sequence: stored.sequence,
            stream: header(headers::DLQ_STREAM),
            consumer: header(headers::DLQ_CONSUMER),
            subject: header(headers::DLQ_SUBJECT),
            sequence: header(headers::DLQ_SEQUENCE).parse().unwrap_or_default(),
            reason: header(headers::DLQ_REASON),
            event_id: stored.header(headers::DLQ_EVENT_ID).map(str::to_owned),
            payload: stored.payload,
            handled: None,
        }
    }

    /// Who can be handed it again: a durable consumer of a stream. Projectors re-apply their
    /// stream by a rebuild, and a bot's update comes from Telegram, not from a stream of ours.
    pub fn replayable(&self) -> Result<(), String> {
        if self.stream == UPDATES_SOURCE {
            return Err(format!(
                "#{} is a Telegram update of the {} bot: it cannot be handed back; the user can act again (discard it when dealt with)",
                self.dlq_sequence, self.consumer
            ));
        }
        if let Some(projection) = self.consumer.strip_prefix("projection-") {
            return Err(format!(
                "#{} was given up by the {projection} projector: fix the cause, then `remotehunt projections rebuild {projection}` and discard it",
                self.dlq_sequence
            ));
        }
        if schemas::Area::of_stream(&self.stream).is_none() || self.subject.is_empty() {
            return Err(format!(
                "#{} names no event of ours ({}/{})",
                self.dlq_sequence, self.stream, self.consumer
            ));
        }
        Ok(())
    }
}

/// The `stream` of dead letters that are Telegram updates a bot could not handle.
pub const UPDATES_SOURCE: &str = "telegram";

/// What ended a dead letter's wait.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Handed back to its consumer.
    Replayed,
    /// Marked handled without a replay.
    Discarded,
}

/// The record of an operator dealing with a dead letter (`rh.dlq.handled.<n>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handled {
    pub dlq_sequence: u64,
    pub action: Action,
    pub operator: String,
    #[serde(default)]
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

/// A replay request: the consumer fetches `sequence` of `stream` and handles it again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplayRequest {
    pub dlq_sequence: u64,
    pub stream: String,
    pub sequence: u64,
    pub subject: String,
}

/// How a `dlq replay` or `dlq discard` ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Done now.
    Done(Handled),
    /// It had been dealt with before (by this operator or another): nothing new.
    AlreadyHandled(Handled),
    /// Nothing to do, and why: no such dead letter, or one that cannot be handed back.
    Refused(String),
}

/// Header values may not contain line breaks; reasons are single-line and bounded.
fn header_safe(text: &str) -> String {
    let mut line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if line.len() > 1024 {
        let mut cut = 1024;
        while !line.is_char_boundary(cut) {
            cut -= 1;
        }
        line.truncate(cut);
    }
    line
}

const HANDLED_PREFIX: &str = "rh.dlq.handled.";
const REPLAY_PREFIX: &str = "rh.dlq.replay.";

impl Bus {
    /// Stores a message on the DLQ with its reason and origin. Idempotent per (stream, consumer,
    /// sequence, replay), so a crash between dead-lettering and acking stores it once.
    pub async fn dead_letter(
        &self,
        origin: &Origin,
        payload: Bytes,
        original_headers: Option<&HeaderMap>,
        reason: &str,
    ) -> anyhow::Result<crate::Published> {
        let subject = format!(
            "rh.dlq.{}.{}",
            schemas::subject_token(&origin.stream),
            schemas::subject_token(&origin.consumer)
        );
        let mut id = format!(
            "dlq:{}:{}:{}",
            origin.stream, origin.consumer, origin.sequence
        );
        if let Some(replayed) = origin.replay_of {
            id.push_str(&format!(":replay:{replayed}"));
        }
        let mut message = PublishMessage::build()
            .payload(payload.clone())
            .message_id(id)
            .header(headers::DLQ_SUBJECT, origin.subject.as_str())
            .header(headers::DLQ_STREAM, origin.stream.as_str())
            .header(headers::DLQ_SEQUENCE, origin.sequence.to_string().as_str())
            .header(headers::DLQ_CONSUMER, origin.consumer.as_str())
            .header(headers::DLQ_REASON, header_safe(reason).as_str());
        if let Some(id) = serde_json::from_slice::<serde_json::Value>(&payload)
            .ok()
            .and_then(|v| v.get("id").and_then(|id| id.as_str()).map(header_safe))
        {
            message = message.header(headers::DLQ_EVENT_ID, id.as_str());
        }
        if let Some(traceparent) = headers::get_ignore_case(original_headers, headers::TRACEPARENT)
        {
            message = message.header(headers::TRACEPARENT, traceparent);
        }
        let ack = self.js.send_publish(subject, message).await?.await?;
        tracing::warn!(
            stream = %origin.stream,
            consumer = %origin.consumer,
            sequence = origin.sequence,
            reason,
            "dead-lettered"
        );
        Ok(crate::Published {
            stream: ack.stream,
            sequence: ack.sequence,
            duplicate: ack.duplicate,
        })
    }

    /// Every dead letter stored, oldest first, with how it was handled.
    pub async fn dead_letters(&self) -> anyhow::Result<Vec<DeadLetter>> {
        let mut letters = Vec::new();
        let mut handled = std::collections::HashMap::new();
        for stored in self.read_to_end(DLQ_STREAM, 1).await? {
            if stored.subject.starts_with(HANDLED_PREFIX) {
                if let Ok(record) = serde_json::from_slice::<Handled>(&stored.payload) {
                    handled.insert(record.dlq_sequence, record);
                }
            } else if !stored.subject.starts_with(REPLAY_PREFIX) {
                letters.push(DeadLetter::from_stored(stored));
            }
        }
        for letter in &mut letters {
            letter.handled = handled.remove(&letter.dlq_sequence);
        }
        Ok(letters)
    }

    /// The dead letters nobody dealt with yet.
    pub async fn unhandled_dead_letters(&self) -> anyhow::Result<Vec<DeadLetter>> {
        let mut letters = self.dead_letters().await?;
        letters.retain(|letter| letter.handled.is_none());
        Ok(letters)
    }

    async fn dead_letter_at(&self, dlq_sequence: u64) -> anyhow::Result<Option<DeadLetter>> {
        Ok(self
            .dead_letters()
            .await?
            .into_iter()
            .find(|l| l.dlq_sequence == dlq_sequence))
    }

    /// The waiting dead letter at `dlq_sequence`, or the outcome that says why there is none.
    async fn waiting_letter(
        &self,
        dlq_sequence: u64,
    ) -> anyhow::Result<Result<DeadLetter, Outcome>> {
        Ok(match self.dead_letter_at(dlq_sequence).await? {
            None => Err(Outcome::Refused(format!(
                "no dead letter with DLQ sequence {dlq_sequence}"
            ))),
            Some(DeadLetter {
                handled: Some(handled),
                ..
            }) => Err(Outcome::AlreadyHandled(handled)),
            Some(letter) => Ok(letter),
        })
    }

    /// Hands a dead letter's original back to the consumer that gave up on it, once, however
    /// late or often it is asked, and marks the letter handled by `operator`.
    pub async fn replay_dead_letter(
        &self,
        dlq_sequence: u64,
        operator: &str,
    ) -> anyhow::Result<Outcome> {
        let letter = match self.waiting_letter(dlq_sequence).await? {
            Ok(letter) => letter,
            Err(outcome) => return Ok(outcome),
        };
        if let Err(why) = letter.replayable() {
            return Ok(Outcome::Refused(why));
        }
        let request = ReplayRequest {
            dlq_sequence,
            stream: letter.stream.clone(),
            sequence: letter.sequence,
            subject: letter.subject.clone(),
        };
        let subject = format!(
            "{REPLAY_PREFIX}{}.{}.{dlq_sequence}",
            schemas::subject_token(&letter.stream),
            schemas::subject_token(&letter.consumer)
        );
        // Once per dead letter, ever: a second request (a crash before the mark below, two
        // operators at once) is refused by the stream, so the consumer sees it once.
        self.publish_once(&subject, serde_json::to_vec(&request)?)
            .await?;
        self.mark_handled(dlq_sequence, Action::Replayed, operator, None)
            .await
    }

    /// Marks a dead letter handled without a replay (its cause was dealt with otherwise).
    pub async fn discard_dead_letter(
        &self,
        dlq_sequence: u64,
        operator: &str,
        reason: &str,
    ) -> anyhow::Result<Outcome> {
        if let Err(outcome) = self.waiting_letter(dlq_sequence).await? {
            return Ok(outcome);
        }
        self.mark_handled(dlq_sequence, Action::Discarded, operator, Some(reason))
            .await
    }

    async fn mark_handled(
        &self,
        dlq_sequence: u64,
        action: Action,
        operator: &str,
        reason: Option<&str>,
    ) -> anyhow::Result<Outcome> {
        let record = Handled {
            dlq_sequence,
            action,
            operator: operator.to_owned(),
            reason: reason.map(str::to_owned),
            at: Utc::now(),
        };
        let subject = format!("{HANDLED_PREFIX}{dlq_sequence}");
        if self
            .publish_once(&subject, serde_json::to_vec(&record)?)
            .await?
        {
            return Ok(Outcome::Done(record));
        }
        let earlier = self
            .dead_letter_at(dlq_sequence)
            .await?
            .and_then(|letter| letter.handled);
        Ok(Outcome::AlreadyHandled(earlier.unwrap_or(record)))
    }

    /// Publishes the only message `subject` may ever hold; `false` when it holds one already.
    async fn publish_once(&self, subject: &str, payload: Vec<u8>) -> anyhow::Result<bool> {
        let message = PublishMessage::build()
            .payload(payload.into())
            .message_id(subject)
            .expected_last_subject_sequence(0);
        match self
            .js
            .send_publish(subject.to_owned(), message)
            .await?
            .await
        {
            Ok(ack) => Ok(!ack.duplicate),
            Err(e) if e.kind() == PublishErrorKind::WrongLastSequence => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}
