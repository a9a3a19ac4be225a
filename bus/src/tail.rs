//! Tailing a stream with an ordered consumer that starts over when it stalls.
//!
//! An ordered consumer is an R1 ephemeral on one node. When that node dies, the client finds
//! out only after two missed idle heartbeats (half a minute or more), and a projection that far
//! behind keeps every bot waiting for its own writes. So a reader that has been idle for a
//! while although the stream holds what it has not delivered recreates the consumer from the
//! next sequence it wants. Idle readers of a quiet stream only ask the stream's state now and
//! then.

use std::pin::Pin;
use std::time::Duration;

use async_nats::jetstream::Context;
use async_nats::jetstream::consumer::{DeliverPolicy, pull::OrderedConfig};
use futures::{Stream, StreamExt};

use crate::read::{RawStored, ReadError};

/// How long a reader waits for the next message before it looks whether it should have one.
const STALL_AFTER: Duration = Duration::from_secs(2);
/// The longest wait between looks, for a stream whose end holds nothing to deliver (deleted
/// messages count in its last sequence).
const MAX_STALL_AFTER: Duration = Duration::from_secs(30);

/// How long one attempt to recreate a reader may take.
const OPEN_TIMEOUT: Duration = Duration::from_secs(2);

type Messages = Pin<Box<dyn Stream<Item = Result<RawStored, ReadError>> + Send>>;

/// Every message of `stream` from `from_sequence` on, then new ones as they arrive; an error
/// ends it.
pub(crate) async fn tail(
    js: Context,
    stream: String,
    from_sequence: u64,
) -> Result<impl Stream<Item = Result<RawStored, ReadError>> + Send + use<>, ReadError> {
    let next = from_sequence.max(1);
    let messages = open(&js, &stream, next).await?;
    let tail = Tail {
        js,
        stream,
        next,
        behind: false,
        patience: STALL_AFTER,
        messages: Some(messages),
    };
    Ok(futures::stream::unfold(tail, Tail::next_message))
}

struct Tail {
    js: Context,
    stream: String,
    /// The next sequence this reader wants.
    next: u64,
    /// The last message delivered said more were stored after it.
    behind: bool,
    patience: Duration,
    /// `None` once an error of the consumer ended the read.
    messages: Option<Messages>,
}

impl Tail {
    async fn next_message(mut self) -> Option<(Result<RawStored, ReadError>, Self)> {
        loop {
            let messages = self.messages.as_mut()?;
            match tokio::time::timeout(self.patience, messages.next()).await {
                Ok(Some(Ok(message))) => {
                    self.next = message.sequence + 1;
                    self.behind = message.pending > 0;
                    self.patience = STALL_AFTER;
                    return Some((Ok(message), self));
                }
                Ok(Some(Err(error))) => {
                    self.messages = None;
                    return Some((Err(error), self));
                }
                Ok(None) => return None,
                Err(_idle) => {
                    if !self.behind && !holds_beyond(&self.js, &self.stream, self.next).await {
                        continue;
                    }
                    tracing::warn!(stream = %self.stream, next = self.next, "stream reader stalled; recreating its consumer");
                    self.patience = (self.patience * 2).min(MAX_STALL_AFTER);
                    self.messages = Some(reopen(&self.js, &self.stream, self.next).await);
                }
            }
        }
    }
}

/// Whether `stream` holds messages from `next` on, which an idle reader should have had (or
/// whose last ones were deleted). A stream that cannot be asked now (no leader yet) is asked
/// again after the next wait.
async fn holds_beyond(js: &Context, stream: &str, next: u64) -> bool {
    match js.get_stream(stream).await {
        Ok(stream) => stream.cached_info().state.last_sequence >= next,
        Err(_) => false,
    }
}

/// Opens the reader again, trying until the cluster answers: a node has just died, and the
/// stream may be electing a leader. As the ordered consumer itself does, it never gives up.
async fn reopen(js: &Context, name: &str, next: u64) -> Messages {
    let mut wait = Duration::from_millis(250);
    loop {
        // A request to a stream without a leader hangs until the client's timeout: ask again
        // sooner, the election takes a few seconds.
        let attempt = tokio::time::timeout(OPEN_TIMEOUT, open(js, name, next)).await;
        match attempt.unwrap_or_else(|_| Err(ReadError::transport(name, "timed out"))) {
            Ok(messages) => return messages,
            Err(error) => {
                tracing::warn!(stream = %name, next, %error, ?wait, "recreating a stream reader failed; retrying");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(5));
            }
        }
    }
}

async fn open(js: &Context, name: &str, next: u64) -> Result<Messages, ReadError> {
    let deliver_policy = if next <= 1 {
        DeliverPolicy::All
    } else {
        DeliverPolicy::ByStartSequence {
            start_sequence: next,
        }
    };
    let stream = js
        .get_stream_no_info(name)
        .await
        .map_err(|e| ReadError::transport(name, e))?;
    let consumer = stream
        .create_consumer(OrderedConfig {
            deliver_policy,
            ..Default::default()
        })
        .await
        .map_err(|e| ReadError::transport(name, e))?;
    let messages = consumer
        .messages()
        .await
        .map_err(|e| ReadError::transport(name, e))?;
    let name = name.to_owned();
    Ok(Box::pin(messages.map(move |message| {
        let message = message.map_err(|e| ReadError::transport(&name, e))?;
        let info = message.info().map_err(|e| ReadError::decode(&name, e))?;
        let (sequence, pending) = (info.stream_sequence, info.pending);
        Ok(RawStored {
            sequence,
            pending,
            subject: message.subject.to_string(),
            headers: message.headers.clone(),
            payload: message.payload.clone(),
        })
    })))
}
