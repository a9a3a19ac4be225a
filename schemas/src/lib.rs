//! The vocabulary of remotehunt: every event, the envelope that carries it, and the subject it
//! travels on. Pure data and pure functions: no I/O, no async, no clients, so every other crate,
//! the JSON Schemas in `schemas/json/` and analysts' replays agree on one definition.

pub mod callback;
mod envelope;
pub mod events;
mod json_schema;
mod subject;
pub mod subscription;

pub use envelope::{Aggregate, AggregateKind, DecodeError, Envelope, EventId};
pub use events::*;
pub use json_schema::{EventSchema, event_schemas};
pub use subject::{Area, ID_SEPARATOR, subject_token, subject_tokens};
