//! Reading streams: in order from a sequence with no server-side state (projections keep their
//! position in Postgres, analysts and the DLQ tools read from wherever they like), and one
//! aggregate's latest events by direct get. Every read returns a [`ReadError`] callers can
//! branch on: "never stored" and "cannot be decoded" are answers, "NATS is down" is a retry.

use async_nats::HeaderMap;
use async_nats::jetstream::consumer::{DeliverPolicy, pull::OrderedConfig};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use schemas::{DecodeError, Envelope, EventType, MessageKey, MessageNow, MessageReceived};

use crate::Bus;
use crate::consume::HandlerError;

/// Why a read gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// What must exist was never stored (a raw message a classification names).
    #[error("{0} is not stored")]
    NotFound(String),
    /// It is stored but is not what it should be: an undecodable or mistyped event.
    #[error("{what} cannot be read: {reason}")]
    Decode { what: String, reason: String },
    /// NATS did not answer (a lost connection, a timeout, a missing stream): try again.
    #[error("reading {what} from NATS: {reason}")]
    Transport { what: String, reason: String },
}

impl ReadError {
    /// Only NATS failing may end differently next time.
    pub fn is_retryable(&self) -> bool {
        matches!(self, ReadError::Transport { .. })
    }

    pub(crate) fn transport(what: impl Into<String>, error: impl std::fmt::Display) -> Self {
        ReadError::Transport {
            what: what.into(),
            reason: error.to_string(),
        }
    }

    pub(crate) fn decode(what: impl Into<String>, error: impl std::fmt::Display) -> Self {
        ReadError::Decode {
            what: what.into(),
            reason: error.to_string(),
        }
    }
}

/// A handler that could not read: a NATS outage is retried, never dead-lettered; a missing or
/// broken event will not heal and is dead-lettered with the reason.
impl From<ReadError> for HandlerError {
    fn from(error: ReadError) -> Self {
        if error.is_retryable() {
            HandlerError::Unavailable(error.to_string())
        } else {
            HandlerError::Poison(error.to_string())
        }
    }
}

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
    /// as they arrive. Gaps and reconnects are handled by the ordered consumer underneath, and a
    /// consumer lost with a cluster node is recreated (see `tail`).
    pub async fn read_stream(
        &self,
        stream: &str,
        from_sequence: u64,
    ) -> Result<impl Stream<Item = Result<RawStored, ReadError>> + Send + use<>, ReadError> {
        crate::tail::tail(self.js.clone(), stream.to_owned(), from_sequence).await
    }

    /// The newest event stored on `subject` (a direct get: no consumer), `None` when there is
    /// none.
    pub async fn last_on_subject(&self, subject: &str) -> Result<Option<Stored>, ReadError> {
        Ok(match self.direct_last(subject).await? {
            Some(message) => Some(Stored {
                sequence: message.sequence,
                envelope: Envelope::from_json(&message.payload)
                    .map_err(|e| ReadError::decode(subject, e))?,
            }),
            None => None,
        })
    }

    /// The newest `T` of one aggregate (e.g. a message's latest classification), `None` when it
    /// has none. The subject comes from the event registry, so callers name no subject.
    pub async fn latest<T: EventType>(&self, aggregate_id: &str) -> Result<Option<T>, ReadError> {
        let subject = T::subject_of(aggregate_id);
        let Some(stored) = self.last_on_subject(&subject).await? else {
            return Ok(None);
        };
        T::from_event(stored.envelope.event)
            .map(Some)
            .ok_or_else(|| ReadError::decode(&subject, format!("holds no {}", T::TYPE)))
    }

    /// Whether one aggregate has any `T` at all.
    pub async fn has<T: EventType>(&self, aggregate_id: &str) -> Result<bool, ReadError> {
        Ok(self
            .direct_last(&T::subject_of(aggregate_id))
            .await?
            .is_some())
    }

    /// A message as it reads now ([`MessageNow`]: its raw event with the latest edit applied),
    /// `None` once it was deleted at the source; [`ReadError::NotFound`] when MESSAGES never
    /// stored it.
    pub async fn current_message(
        &self,
        key: MessageKey,
    ) -> Result<Option<MessageReceived>, ReadError> {
        use schemas::{MessageDeleted, MessageEdited};
        let id = key.id();
        let mut now = MessageNow::default();
        if let Some(deleted) = self.latest::<MessageDeleted>(&id).await? {
            now.apply(&deleted.into());
        }
        if let Some(received) = self.latest::<MessageReceived>(&id).await? {
            now.apply(&received.into());
        }
        if let Some(edit) = self.latest::<MessageEdited>(&id).await? {
            now.apply(&edit.into());
        }
        if !now.was_received() {
            return Err(ReadError::NotFound(format!("raw message {id} in MESSAGES")));
        }
        Ok(now.current())
    }

    /// The newest raw message on `subject` by direct get, `None` when the subject is empty.
    pub(crate) async fn direct_last(
        &self,
        subject: &str,
    ) -> Result<Option<async_nats::jetstream::message::StreamMessage>, ReadError> {
        let stream = self
            .js
            .get_stream_no_info(crate::publish::stream_for_subject(subject))
            .await
            .map_err(|e| ReadError::transport(subject, e))?;
        match stream.direct_get_last_for_subject(subject).await {
            Ok(message) => Ok(Some(message)),
            Err(e) if e.kind() == async_nats::jetstream::stream::DirectGetErrorKind::NotFound => {
                Ok(None)
            }
            Err(e) => Err(ReadError::transport(subject, e)),
        }
    }

    /// Every event stored on subjects matching `filter` (wildcards allowed), oldest first: one
    /// aggregate's history, e.g. `rh.users.*.42`.
    pub async fn read_subject(&self, filter: &str) -> Result<Vec<Stored>, ReadError> {
        let transport = |e: &dyn std::fmt::Display| ReadError::transport(filter, e);
        let stream = self
            .js
            .get_stream(crate::publish::stream_for_subject(filter))
            .await
            .map_err(|e| transport(&e))?;
        let mut consumer = stream
            .create_consumer(OrderedConfig {
                deliver_policy: DeliverPolicy::All,
                filter_subject: filter.to_owned(),
                ..Default::default()
            })
            .await
            .map_err(|e| transport(&e))?;
        let mut out = Vec::new();
        if consumer
            .info()
            .await
            .map_err(|e| transport(&e))?
            .num_pending
            == 0
        {
            return Ok(out);
        }
        let mut messages = consumer.messages().await.map_err(|e| transport(&e))?;
        while let Some(message) = messages.next().await {
            let message = message.map_err(|e| transport(&e))?;
            let info = message.info().map_err(|e| ReadError::decode(filter, e))?;
            let pending = info.pending;
            out.push(Stored {
                sequence: info.stream_sequence,
                envelope: Envelope::from_json(&message.payload)
                    .map_err(|e| ReadError::decode(filter, e))?,
            });
            if pending == 0 {
                break;
            }
        }
        Ok(out)
    }

    /// The sequence of the newest message in `stream` (0 when empty).
    pub async fn last_sequence(&self, stream: &str) -> Result<u64, ReadError> {
        let transport = |e: &dyn std::fmt::Display| ReadError::transport(stream, e);
        let mut handle = self
            .js
            .get_stream(stream)
            .await
            .map_err(|e| transport(&e))?;
        Ok(handle
            .info()
            .await
            .map_err(|e| transport(&e))?
            .state
            .last_sequence)
    }

    /// Every message of `stream` from `from_sequence` to the current end, then stops.
    pub async fn read_to_end(
        &self,
        stream: &str,
        from_sequence: u64,
    ) -> Result<Vec<RawStored>, ReadError> {
        let transport = |e: &dyn std::fmt::Display| ReadError::transport(stream, e);
        let state = self
            .js
            .get_stream(stream)
            .await
            .map_err(|e| transport(&e))?
            .info()
            .await
            .map_err(|e| transport(&e))?
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

    /// How many messages of a stream match `filter` (wildcards allowed), counted by the server:
    /// a consumer that only counts, gone again at once.
    pub async fn count_subject(&self, filter: &str) -> Result<u64, ReadError> {
        use async_nats::jetstream::consumer;
        let transport = |e: &dyn std::fmt::Display| ReadError::transport(filter, e);
        let stream = self
            .js
            .get_stream_no_info(crate::publish::stream_for_subject(filter))
            .await
            .map_err(|e| transport(&e))?;
        let mut counter = stream
            .create_consumer(consumer::pull::Config {
                filter_subject: filter.to_owned(),
                deliver_policy: consumer::DeliverPolicy::All,
                ack_policy: consumer::AckPolicy::None,
                inactive_threshold: std::time::Duration::from_secs(5),
                ..Default::default()
            })
            .await
            .map_err(|e| transport(&e))?;
        let pending = counter.info().await.map_err(|e| transport(&e))?.num_pending;
        let name = counter.cached_info().name.clone();
        let _ = stream.delete_consumer(&name).await;
        Ok(pending)
    }
}
