//! A pinned consumer's pulls, kept going while its handlers are busy.
//!
//! The server unpins a client that has had no pull request waiting for the consumer's
//! `priority_timeout`, and the client only asks for more while it is being read. A sender whose
//! handlers all wait for the pacer stops reading, so the pin would move between two live copies
//! every few seconds and each would send at the bot's full rate. Here a task reads all the time;
//! what it takes ahead of the handlers waits in a queue (at most the consumer's
//! `max_ack_pending`), its `ack_wait` renewed while it waits so the server does not hand it out
//! again.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::jetstream::consumer::pull;
use async_nats::jetstream::{AckKind, Message};
use futures::StreamExt;
use tokio::sync::Notify;

pub(super) struct Inbox {
    shared: Arc<Shared>,
    reader: tokio::task::JoinHandle<()>,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    changed: Notify,
}

#[derive(Default)]
struct State {
    /// Taken from the server, not yet given to a handler, with when its ack_wait last began.
    waiting: VecDeque<(Instant, Message)>,
    /// Why the subscription ended, once it has.
    ended: Option<anyhow::Error>,
}

impl Inbox {
    /// Starts reading `messages`, renewing the ack_wait of what waits longer than a third of it.
    pub(super) fn start(mut messages: pull::Stream, ack_wait: Duration) -> Self {
        let shared = Arc::new(Shared::default());
        let renew_after = (ack_wait / 3).max(Duration::from_millis(100));
        let reader = tokio::spawn({
            let shared = shared.clone();
            async move {
                let mut renew = tokio::time::interval(renew_after);
                renew.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tokio::select! {
                        next = messages.next() => {
                            let mut state = shared.state.lock().expect("inbox lock");
                            match next {
                                Some(Ok(message)) => state.waiting.push_back((Instant::now(), message)),
                                Some(Err(error)) => state.ended = Some(error.into()),
                                None => state.ended = Some(anyhow::anyhow!("message stream ended")),
                            }
                            let ended = state.ended.is_some();
                            drop(state);
                            shared.changed.notify_one();
                            if ended {
                                return;
                            }
                        }
                        _ = renew.tick() => {
                            for message in shared.due_for_renewal(renew_after) {
                                // A lost renewal only means the server may hand it out again,
                                // which handlers allow.
                                let _ = message.ack_with(AckKind::Progress).await;
                            }
                        }
                    }
                }
            }
        });
        Self { shared, reader }
    }

    /// The next message, in the order the server gave them, or why the subscription ended.
    pub(super) async fn next(&self) -> Result<Message, anyhow::Error> {
        loop {
            {
                let mut state = self.shared.state.lock().expect("inbox lock");
                if let Some((_, message)) = state.waiting.pop_front() {
                    return Ok(message);
                }
                if let Some(error) = state.ended.take() {
                    return Err(error);
                }
            }
            // `notify_one` keeps a permit when nobody waits, so a message pushed between the
            // check above and this wait is not missed.
            self.shared.changed.notified().await;
        }
    }
}

impl Shared {
    /// The waiting messages whose ack_wait began `after` ago or longer, marked as renewed now.
    fn due_for_renewal(&self, after: Duration) -> Vec<Message> {
        let mut state = self.state.lock().expect("inbox lock");
        let now = Instant::now();
        state
            .waiting
            .iter_mut()
            .filter(|(since, _)| now.duration_since(*since) >= after)
            .map(|(since, message)| {
                *since = now;
                message.clone()
            })
            .collect()
    }
}

impl Drop for Inbox {
    /// What still waits is redelivered once its ack_wait runs out, to whoever holds the pin.
    fn drop(&mut self) {
        self.reader.abort();
    }
}
