//! Reading a stream in order from a sequence, with no server-side state: projections keep their
//! position in Postgres, analysts and the DLQ tools read from wherever they like.

use async_nats::HeaderMap;
use async_nats::jetstream::consumer::{DeliverPolicy, pull::OrderedConfig};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use schemas::{DecodeError, Envelope};

use crate::Bus;

/// A stored message as it is, before decoding.
#[derive(Debug, Clone)]
pub struct RawStored {
    pub sequence: u64,
    pub subject: String,
    pub headers: Option<HeaderMap>,
    pub payload: Bytes,
    /// Messages after this one in the stream when it was delivered (0: caught up).
    pub pending: u64,
}

impl RawStored {
    pub fn decode(&self) -> Result<Stored, DecodeError> {
        Ok(Stored {
            sequence: self.sequence,
            envelope: Envelope::from_json(&self.payload)?,
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        crate::headers::get_ignore_case(self.headers.as_ref(), name)
    }
}

/// A decoded event with its stream sequence.
#[derive(Debug, Clone)]
pub struct Stored {
    pub sequence: u64,
    pub envelope: Envelope,
}

impl Bus {
    /// Every message of `stream` from `from_sequence` on (1 or 0: from the start), then new ones
    /// as they arrive. Gaps and reconnects are handled by the ordered consumer underneath.
    pub async fn read_stream(
        &self,
        stream: &str,
        from_sequence: u64,
    ) -> anyhow::Result<impl Stream<Item = anyhow::Result<RawStored>> + Send + use<>> {
        let deliver_policy = if from_sequence <= 1 {
            DeliverPolicy::All
        } else {
            DeliverPolicy::ByStartSequence {
                start_sequence: from_sequence,
            }
        };
        let stream = self.js.get_stream(stream).await?;
        let consumer = stream
            .create_consumer(OrderedConfig {
                deliver_policy,
                ..Default::default()
            })
            .await?;
        let messages = consumer.messages().await?;
        Ok(messages.map(|message| {
            let message = message?;
            let info = message.info().map_err(|e| anyhow::anyhow!("{e}"))?;
            let (sequence, pending) = (info.stream_sequence, info.pending);
            Ok(RawStored {
                sequence,
                pending,
                subject: message.subject.to_string(),
                headers: message.headers.clone(),
                payload: message.payload.clone(),
            })
        }))
    }

    /// The newest event stored on `subject` (a direct get: no consumer), `None` when there is
    /// none. How a handler looks up one aggregate's latest state, e.g. a message's raw event.
    pub async fn last_on_subject(&self, subject: &str) -> anyhow::Result<Option<Stored>> {
        Ok(match self.direct_last(subject).await? {
            Some(message) => Some(Stored {
                sequence: message.sequence,
                envelope: Envelope::from_json(&message.payload)?,
            }),
            None => None,
        })
    }

    /// A message as it reads now: its raw event with the latest edit applied, `None` once it
    /// was deleted at the source; an error when MESSAGES never stored it.
    pub async fn current_message(
        &self,
        key: schemas::MessageKey,
    ) -> anyhow::Result<Option<schemas::MessageReceived>> {
        use schemas::{Area, Event};
        let subject = |event: &str| Area::Messages.subject(event, &key.id());
        if self.direct_last(&subject("deleted")).await?.is_some() {
            return Ok(None);
        }
        let Some(received) = self.last_on_subject(&subject("received")).await? else {
            anyhow::bail!("no raw message {} in MESSAGES", key.id());
        };
        let Event::MessageReceived(mut message) = received.envelope.event else {
            anyhow::bail!("{} holds no MessageReceived", subject("received"));
        };
        if let Some(edit) = self.last_on_subject(&subject("edited")).await?
            && let Event::MessageEdited(edit) = edit.envelope.event
        {
            message.text = edit.text;
            message.links = edit.links;
            message.contacts = edit.contacts;
        }
        Ok(Some(message))
    }

    /// The newest raw message on `subject` by direct get, `None` when the subject is empty.
    pub(crate) async fn direct_last(
        &self,
        subject: &str,
    ) -> anyhow::Result<Option<async_nats::jetstream::message::StreamMessage>> {
        let stream = self
            .js
            .get_stream_no_info(crate::publish::stream_for_subject(subject))
            .await?;
        match stream.direct_get_last_for_subject(subject).await {
            Ok(message) => Ok(Some(message)),
            Err(e) if e.kind() == async_nats::jetstream::stream::DirectGetErrorKind::NotFound => {
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Every event stored on subjects matching `filter` (wildcards allowed), oldest first: one
    /// aggregate's history, e.g. `rh.users.*.42`.
    pub async fn read_subject(&self, filter: &str) -> anyhow::Result<Vec<Stored>> {
        let stream = self
            .js
            .get_stream(crate::publish::stream_for_subject(filter))
            .await?;
        let mut consumer = stream
            .create_consumer(OrderedConfig {
                deliver_policy: DeliverPolicy::All,
                filter_subject: filter.to_owned(),
                ..Default::default()
            })
            .await?;
        let mut out = Vec::new();
        if consumer.info().await?.num_pending == 0 {
            return Ok(out);
        }
        let mut messages = consumer.messages().await?;
        while let Some(message) = messages.next().await {
            let message = message?;
            let info = message.info().map_err(|e| anyhow::anyhow!("{e}"))?;
            let pending = info.pending;
            out.push(Stored {
                sequence: info.stream_sequence,
                envelope: Envelope::from_json(&message.payload)?,
            });
            if pending == 0 {
                break;
            }
        }
        Ok(out)
    }

    /// The sequence of the newest message in `stream` (0 when empty).
    pub async fn last_sequence(&self, stream: &str) -> anyhow::Result<u64> {
        let mut stream = self.js.get_stream(stream).await?;
        Ok(stream.info().await?.state.last_sequence)
    }

    /// Every message of `stream` from `from_sequence` to the current end, then stops.
    pub async fn read_to_end(
        &self,
        stream: &str,
        from_sequence: u64,
    ) -> anyhow::Result<Vec<RawStored>> {
        let state = self
            .js
            .get_stream(stream)
            .await?
            .info()
            .await?
            .state
            .clone();
        let last = state.last_sequence;
        let mut out = Vec::new();
        // Empty, purged, or nothing from here on: there is no message to wait for.
        if state.messages == 0 || from_sequence > last {
            return Ok(out);
        }
        let messages = self.read_stream(stream, from_sequence).await?;
        futures::pin_mut!(messages);
        while let Some(message) = messages.next().await {
            let message = message?;
            let done = message.sequence >= last || message.pending == 0;
            out.push(message);
            if done {
                break;
            }
        }
        Ok(out)
    }
}
