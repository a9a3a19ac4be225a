//! The envelope every event travels in. Its fields are what analysts, projectors and the DLQ need
//! without knowing the event's shape: identity (for dedup), type and version (for decoding and
//! upcasting), time, the aggregate it belongs to, and the causal chain.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::Event;

/// Deterministic where a producer can retry (`tg:<chat>:<msg>`), a UUIDv7 otherwise. It doubles
/// as the `Nats-Msg-Id` of events that are not once-per-subject, so a retried publish is stored
/// once (a once-per-subject event's subject does that forever).
pub type EventId = String;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AggregateKind {
    Category,
    Channel,
    ChannelRules,
    Message,
    User,
    Report,
    Payment,
    /// A Telegram Stars subscription (id: its invoice's payload).
    StarsSubscription,
    /// A one-time login link into the admin web UI (id: its token's SHA-256).
    AdminLogin,
    /// A bearer token of the content API (id: its uuid).
    ApiToken,
    /// A Telegram user account ingest reads with (id: its name).
    IngestAccount,
    Delivery,
    /// A category bot's queue of planned sends (id: `<category>:<user>:<chat>:<message>`).
    Outbox,
    /// A scheduler job (id: its name), whose ticks are its history.
    Job,
    /// One run of a job (id: `<job>:<tick>`).
    JobRun,
    /// A message the scheduler has the main bot send (id: what it is about).
    Notification,
    /// The main bot's queues of notifications (id: `<outbox>:<notification>`).
    NotificationOutbox,
}

/// The consistency boundary an event belongs to: its history is one subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Aggregate {
    pub kind: AggregateKind,
    pub id: String,
}

impl Aggregate {
    pub fn new(kind: AggregateKind, id: impl Into<String>) -> Self {
        Self {
            kind,
            id: id.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    pub id: EventId,
    pub occurred_at: DateTime<Utc>,
    pub correlation_id: Option<String>,
    pub causation_id: Option<String>,
    pub event: Event,
}

/// What goes over the wire. `type`, `version` and `aggregate` are derived from the event, so an
/// envelope can never claim a type its data does not have.
#[derive(Serialize)]
struct WireOut<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    event_type: &'static str,
    version: u32,
    occurred_at: DateTime<Utc>,
    aggregate: Aggregate,
    #[serde(skip_serializing_if = "Option::is_none")]
    correlation_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    causation_id: Option<&'a str>,
    data: &'a Event,
}

#[derive(Deserialize)]
struct WireIn<'a> {
    id: String,
    #[serde(rename = "type", borrow)]
    event_type: &'a str,
    version: u32,
    occurred_at: DateTime<Utc>,
    #[serde(default)]
    correlation_id: Option<String>,
    #[serde(default)]
    causation_id: Option<String>,
    #[serde(borrow)]
    data: &'a RawValue,
}

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("malformed envelope: {0}")]
    Envelope(serde_json::Error),
    #[error("unknown event type {0:?}")]
    UnknownType(String),
    #[error("unsupported version {version} of {event_type}")]
    UnknownVersion { event_type: String, version: u32 },
    #[error("malformed {event_type} data: {source}")]
    Data {
        event_type: String,
        source: serde_json::Error,
    },
    #[error("invalid {event_type}: {reason}")]
    Invalid {
        event_type: &'static str,
        reason: String,
    },
}

impl Envelope {
    /// A new envelope with the event's own id ([`crate::Payload::event_id`]): deterministic
    /// where a producer may publish it again, else a UUIDv7.
    pub fn new(event: impl Into<Event>) -> Self {
        let event = event.into();
        let id = event
            .event_id()
            .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
        Self::with_id(id, event)
    }

    /// A new envelope with a given id: sample data and tests. Services use [`Envelope::new`],
    /// so every producer of an event makes the same id.
    pub fn with_id(id: impl Into<EventId>, event: impl Into<Event>) -> Self {
        Self {
            id: id.into(),
            occurred_at: Utc::now(),
            correlation_id: None,
            causation_id: None,
            event: event.into(),
        }
    }

    pub fn at(mut self, occurred_at: DateTime<Utc>) -> Self {
        self.occurred_at = occurred_at;
        self
    }

    /// Marks this event as caused by `cause`, carrying the cause's correlation id along.
    pub fn caused_by(mut self, cause: &Envelope) -> Self {
        self.causation_id = Some(cause.id.clone());
        self.correlation_id = Some(
            cause
                .correlation_id
                .clone()
                .unwrap_or_else(|| cause.id.clone()),
        );
        self
    }

    pub fn event_type(&self) -> &'static str {
        self.event.event_type()
    }

    pub fn aggregate(&self) -> Aggregate {
        self.event.aggregate()
    }

    pub fn subject(&self) -> String {
        self.event.subject()
    }

    pub fn to_json(&self) -> Vec<u8> {
        let wire = WireOut {
            id: &self.id,
            event_type: self.event.event_type(),
            version: self.event.version(),
            occurred_at: self.occurred_at,
            aggregate: self.event.aggregate(),
            correlation_id: self.correlation_id.as_deref(),
            causation_id: self.causation_id.as_deref(),
            data: &self.event,
        };
        // Serialising plain data structs with string keys cannot fail.
        serde_json::to_vec(&wire).unwrap_or_default()
    }

    /// Decodes and validates; every way bytes can be wrong is a [`DecodeError`], never a panic.
    pub fn from_json(bytes: &[u8]) -> Result<Self, DecodeError> {
        let wire: WireIn<'_> = serde_json::from_slice(bytes).map_err(DecodeError::Envelope)?;
        let event = Event::decode(wire.event_type, wire.version, wire.data)?;
        event.validate()?;
        Ok(Self {
            id: wire.id,
            occurred_at: wire.occurred_at,
            correlation_id: wire.correlation_id,
            causation_id: wire.causation_id,
            event,
        })
    }
}
