//! The paced, once-only send every outbox drains through — a category bot's deliveries, the main
//! bot's notifications: wait for the pacer, **claim** (a once-ever event), pass the pacer's
//! departure check, send — retrying what changed nothing at Telegram (5xx, error pages,
//! connections that never opened) and waiting out 429s, never re-sending a send whose answer
//! never came — then record the outcome until NATS takes it. The claim comes after the pacer and
//! right before the send, so a crash leaves at most the sends in flight unconfirmed, and those
//! are never repeated.

use std::future::Future;
use std::time::Duration;

use bus::{Bus, HandlerError};
use schemas::Envelope;
use teloxide::RequestError;
use teloxide::types::Message;

use crate::pacer::Pacer;
use crate::send::SendConfig;
use crate::telegram::{self, Failure};

/// How one send ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Telegram took it: the message's id.
    Sent(i64),
    /// Telegram refused for good, and whether the chat blocked the bot (or never started it).
    Refused { error: String, blocked: bool },
    /// The request left but no answer came: it may have been delivered.
    Unconfirmed(String),
}

pub struct Dispatcher {
    bus: Bus,
    pacer: Pacer,
    config: SendConfig,
    /// Which bot or outbox, for the logs.
    label: String,
}

impl Dispatcher {
    pub fn new(bus: Bus, label: impl Into<String>, config: SendConfig) -> Self {
        Self {
            pacer: Pacer::new(config.per_bot_rate, config.chat_gap),
            bus,
            config,
            label: label.into(),
        }
    }

    /// Claims and sends to `chat`: `None` when the claim was taken already (sent, or being sent,
    /// by someone else), so nothing is sent twice.
    pub async fn claim_and_send<F, Fut>(
        &self,
        chat: i64,
        claim: &Envelope,
        send: F,
    ) -> Result<Option<Outcome>, HandlerError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<Message, RequestError>>,
    {
        self.pacer.ready(chat).await;
        if !self.bus.claim(claim).await? {
            return Ok(None);
        }
        // A claim that stalled (NATS slow or reconnecting) holds its send past the slot: the
        // pacer's departure check keeps the sends that come out together within the limits.
        Ok(Some(self.send(chat, send).await))
    }

    /// Sends until Telegram answers for good; the claim is ours, so nobody else will send it.
    async fn send<F, Fut>(&self, chat: i64, send: F) -> Outcome
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<Message, RequestError>>,
    {
        let mut failures = 0u32;
        loop {
            self.pacer.depart(chat).await;
            let error = match send().await {
                Ok(message) => return Outcome::Sent(i64::from(message.id.0)),
                Err(error) => error,
            };
            match telegram::classify(&error) {
                Failure::RetryAfter(wait) => {
                    tracing::warn!(bot = %self.label, ?wait, "429 from Telegram");
                    self.pacer.pause(wait);
                }
                Failure::Transient(error) => {
                    failures += 1;
                    let wait = self.retry_wait(failures);
                    tracing::warn!(bot = %self.label, %error, ?wait, failures, "send failed transiently; retrying");
                    tokio::time::sleep(wait).await;
                }
                Failure::Ambiguous(error) => return Outcome::Unconfirmed(error),
                Failure::Refused { error, blocked } => return Outcome::Refused { error, blocked },
            }
            self.pacer.ready(chat).await;
        }
    }

    /// Changes a message already sent (an edit, a delete) at the pacer's pace, waiting out
    /// 429s and retrying what changed nothing at Telegram. Only for requests that may be
    /// repeated harmlessly, so an answer that never came is tried again too; Telegram's
    /// refusal comes back as the error.
    pub async fn change<F, Fut, T>(&self, chat: i64, request: F) -> Result<T, RequestError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, RequestError>>,
    {
        let mut failures = 0u32;
        loop {
            self.pacer.ready(chat).await;
            self.pacer.depart(chat).await;
            let error = match request().await {
                Ok(done) => return Ok(done),
                Err(error) => error,
            };
            match telegram::classify(&error) {
                Failure::RetryAfter(wait) => self.pacer.pause(wait),
                Failure::Transient(_) | Failure::Ambiguous(_) => {
                    failures += 1;
                    let wait = self.retry_wait(failures);
                    tracing::warn!(bot = %self.label, %error, ?wait, failures, "changing a message failed; retrying");
                    tokio::time::sleep(wait).await;
                }
                Failure::Refused { .. } => return Err(error),
            }
        }
    }

    /// The wait before the next try after `failures` transient failures in a row.
    fn retry_wait(&self, failures: u32) -> Duration {
        Duration::from_millis(250)
            .saturating_mul(2u32.saturating_pow(failures.min(8)))
            .min(self.config.max_retry_wait)
    }

    /// Records what happened after a send. The send is done and cannot be undone, and a
    /// redelivered plan finds its claim and sends nothing, so this keeps trying until NATS
    /// takes the record (its id is deterministic: a retry stores it once).
    pub async fn record(&self, event: &Envelope) {
        let mut wait = Duration::from_millis(100);
        loop {
            match self.bus.publish(event).await {
                Ok(_) => return,
                Err(error) => {
                    tracing::warn!(%error, event_id = %event.id, ?wait, "recording a send failed; retrying");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(5));
                }
            }
        }
    }
}
