//! The event bus over NATS JetStream. This crate alone names streams, consumers and headers;
//! services publish and consume typed [`schemas::Envelope`]s.
//!
//! - [`Bus::publish`] / [`Bus::publish_batch`]: "once" events guarded by
//!   expected-last-subject-sequence 0, the others by `Nats-Msg-Id` dedup; pipelined acks,
//!   `traceparent` in headers.
//! - [`consume`]: a supervised durable pull-consumer loop with ack / nak-with-delay /
//!   dead-letter, recreated after reconnects or if the consumer vanishes.
//! - [`Bus::read_stream`]: an ordered read from a sequence, for projections and replays.
//! - [`definitions`]: the stream and consumer definitions of `nats/`, applied idempotently.
//! - [`schedules`]: the scheduler's clock (JetStream message schedules) and manual runs.

mod connection;
pub mod consume;
pub mod dead_letter;
pub mod definitions;
mod headers;
pub mod lease;
mod publish;
mod read;
pub mod schedules;
mod tail;

pub use connection::{Bus, ConnectError, MIN_SERVER_VERSION};
pub use consume::{Delivery, Fate, HandlerError, fate};
pub use dead_letter::DeadLetter;
pub use definitions::{ApplyReport, DLQ_STREAM};
pub use publish::{PublishError, Published};
pub use read::{RawStored, ReadError, Stored};
