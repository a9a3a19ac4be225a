//! Dead letters: events a consumer gave up on (undecodable, invalid, or out of attempts), kept
//! whole on the DLQ stream with the reason and where they came from, so nothing is lost and an
//! operator can replay them once the cause is fixed.

use async_nats::HeaderMap;
use async_nats::jetstream::message::PublishMessage;
use bytes::Bytes;

use crate::definitions::DLQ_STREAM;
use crate::read::RawStored;
use crate::{Bus, Published, headers};

/// Where a dead-lettered message came from.
#[derive(Debug, Clone)]
pub struct Origin {
    pub stream: String,
    pub consumer: String,
    pub subject: String,
    pub sequence: u64,
}

/// A dead letter as listed by `remotehunt dlq list`.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    /// Sequence in the DLQ stream: what `dlq replay` takes.
    pub dlq_sequence: u64,
    pub stream: String,
    pub consumer: String,
    pub subject: String,
    pub sequence: u64,
    pub reason: String,
    pub event_id: Option<String>,
    pub payload: Bytes,
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
        }
    }
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

impl Bus {
    /// Stores a message on the DLQ with its reason and origin. Idempotent per (stream, consumer,
    /// sequence), so a crash between dead-lettering and acking stores it once.
    pub async fn dead_letter(
        &self,
        origin: &Origin,
        payload: Bytes,
        original_headers: Option<&HeaderMap>,
        reason: &str,
    ) -> anyhow::Result<Published> {
        let subject = format!(
            "rh.dlq.{}.{}",
            schemas::subject_token(&origin.stream),
            schemas::subject_token(&origin.consumer)
        );
        let mut message = PublishMessage::build()
            .payload(payload.clone())
            .message_id(format!(
                "dlq:{}:{}:{}",
                origin.stream, origin.consumer, origin.sequence
            ))
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
        Ok(Published {
            stream: ack.stream,
            sequence: ack.sequence,
            duplicate: ack.duplicate,
        })
    }

    /// Every dead letter currently stored, oldest first.
    pub async fn dead_letters(&self) -> anyhow::Result<Vec<DeadLetter>> {
        Ok(self
            .read_to_end(DLQ_STREAM, 1)
            .await?
            .into_iter()
            .map(DeadLetter::from_stored)
            .collect())
    }

    /// Publishes a dead letter's original message again on its original subject, so its
    /// consumers see it once more. Idempotent per dead letter.
    pub async fn replay_dead_letter(&self, dlq_sequence: u64) -> anyhow::Result<Published> {
        let letter = self
            .dead_letters()
            .await?
            .into_iter()
            .find(|l| l.dlq_sequence == dlq_sequence)
            .ok_or_else(|| anyhow::anyhow!("no dead letter with DLQ sequence {dlq_sequence}"))?;
        if letter.subject.is_empty() {
            anyhow::bail!("dead letter {dlq_sequence} has no original subject");
        }
        let message = PublishMessage::build()
            .payload(letter.payload)
            .message_id(format!("replay:{dlq_sequence}"));
        let ack = self.js.send_publish(letter.subject, message).await?.await?;
        Ok(Published {
            stream: ack.stream,
            sequence: ack.sequence,
            duplicate: ack.duplicate,
        })
    }
}
