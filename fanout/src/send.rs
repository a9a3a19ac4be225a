//! A category bot's sender: drains the bot's outbox (`send-<category>` consumer, pinned to one
//! process at a time). For each planned delivery: check the user still wants it, wait for the
//! pacer, **claim** it (a once-per-(user, vacancy) event), send, then record the delivery or the
//! permanent failure. The claim comes after the pacer and right before the send, so a crash can
//! leave at most the sends in flight at that instant unconfirmed, and those are never repeated.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bus::{Bus, Delivery, HandlerError, consume::Handler};
use chrono::{DateTime, Utc};
use schemas::{
    BotStopReason, CategoryBotStopped, DeliveryClaimed, DeliveryFailed, DeliveryPlanned,
    DeliveryUnconfirmed, Envelope, Event, VacancyDelivered,
};
use sqlx::PgPool;
use teloxide::prelude::*;
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup, ParseMode};

use crate::cards::{Cards, Sendable};
use crate::pacer::Pacer;
use crate::telegram::{self, Failure};

#[derive(Debug, Clone)]
pub struct SendConfig {
    /// Sends per second per bot: a little under Telegram's 30.
    pub per_bot_rate: f64,
    /// Gap between two messages to one chat (Telegram: about one a second).
    pub chat_gap: Duration,
    /// Planned sends older than this are dropped (a bot configured long after its plans).
    pub max_plan_age: chrono::Duration,
    /// Longest wait between two tries of a send Telegram failed transiently (5xx, error
    /// pages, connections that never opened): those are retried until they go through.
    pub max_retry_wait: Duration,
}

impl Default for SendConfig {
    fn default() -> Self {
        Self {
            per_bot_rate: 28.5,
            chat_gap: Duration::from_millis(1_050),
            max_plan_age: chrono::Duration::days(1),
            max_retry_wait: Duration::from_secs(30),
        }
    }
}

pub struct Sender {
    category: String,
    bot: Bot,
    bus: Bus,
    pool: PgPool,
    cards: Arc<Cards>,
    pacer: Pacer,
    config: SendConfig,
    /// This process's id in claims.
    sender_id: String,
    /// Users who blocked this bot, and when we learnt it: plans made before are dropped.
    blocked: Mutex<HashMap<i64, DateTime<Utc>>>,
}

/// How one send ended.
enum Outcome {
    Sent(i64),
    /// Telegram refused for good: (error text, whether the user blocked or never started us).
    Refused(String, bool),
    /// The request left but no answer came: it may have been delivered.
    Unconfirmed(String),
}

fn retryable(error: impl std::fmt::Display) -> HandlerError {
    HandlerError::Retryable(error.to_string())
}

impl Sender {
    pub fn new(
        category: String,
        bot: Bot,
        bus: Bus,
        pool: PgPool,
        cards: Arc<Cards>,
        config: SendConfig,
    ) -> Self {
        Self {
            pacer: Pacer::new(config.per_bot_rate, config.chat_gap),
            category,
            bot,
            bus,
            pool,
            cards,
            config,
            sender_id: uuid::Uuid::now_v7().to_string(),
            blocked: Mutex::new(HashMap::new()),
        }
    }

    fn blocked_since(&self, user_id: i64) -> Option<DateTime<Utc>> {
        self.blocked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&user_id)
            .copied()
    }

    /// Whether the user still wants this vacancy now: subscription running, this bot started
    /// and not stopped, the author not hidden. Plans wait in the outbox; minds change.
    async fn still_wanted(&self, user_id: i64, author: Option<&str>) -> sqlx::Result<bool> {
        projections::read::users::still_wanted(&self.pool, user_id, &self.category, author).await
    }

    async fn deliver(
        &self,
        envelope: &Envelope,
        plan: &DeliveryPlanned,
    ) -> Result<(), HandlerError> {
        let key = plan.key;
        if Utc::now() - envelope.occurred_at > self.config.max_plan_age {
            return Ok(());
        }
        if self
            .blocked_since(plan.user_id)
            .is_some_and(|since| envelope.occurred_at <= since)
        {
            return Ok(());
        }
        let Some(sendable) = self
            .cards
            .get(key)
            .await
            .map_err(|e| retryable(format!("{e:#}")))?
        else {
            return Ok(());
        };
        if !self
            .still_wanted(plan.user_id, sendable.author.as_deref())
            .await
            .map_err(retryable)?
        {
            return Ok(());
        }
        let claim = Envelope::new(DeliveryClaimed {
            user_id: plan.user_id,
            key,
            category: self.category.clone(),
            sender: self.sender_id.clone(),
        })
        .caused_by(envelope);
        // A redelivered plan that was claimed before must not take a send slot.
        if self
            .bus
            .has::<DeliveryClaimed>(&claim.aggregate().id)
            .await?
        {
            return Ok(());
        }
        self.pacer.ready(plan.user_id).await;
        let claiming = std::time::Instant::now();
        if self.bus.publish(&claim).await.map_err(retryable)?.duplicate {
            // Sent, or being sent, already: never twice.
            return Ok(());
        }
        // A claim that stalled (NATS slow or reconnecting) spent the slot the pacer granted:
        // take a fresh one, or every stalled send would go out at once when NATS is back.
        if claiming.elapsed() > self.config.chat_gap.min(Duration::from_millis(500)) {
            self.pacer.ready(plan.user_id).await;
        }
        let record = match self.send(plan.user_id, &sendable).await {
            Outcome::Sent(sent_message_id) => Envelope::new(VacancyDelivered {
                user_id: plan.user_id,
                key,
                category: self.category.clone(),
                sent_message_id,
                delivered_at: Utc::now(),
            }),
            Outcome::Unconfirmed(error) => {
                tracing::warn!(user = plan.user_id, bot = %self.category, %error, "send unconfirmed: not sent again");
                Envelope::new(DeliveryUnconfirmed {
                    user_id: plan.user_id,
                    key,
                    category: self.category.clone(),
                    error,
                })
            }
            Outcome::Refused(error, blocked) => {
                tracing::info!(user = plan.user_id, bot = %self.category, %error, "delivery refused");
                if blocked {
                    self.stopped_by(plan.user_id, envelope).await;
                }
                Envelope::new(DeliveryFailed {
                    user_id: plan.user_id,
                    key,
                    category: self.category.clone(),
                    error,
                })
            }
        };
        self.record(&record.caused_by(envelope)).await;
        Ok(())
    }

    /// Sends, waiting out 429s and retrying what changed nothing at Telegram (5xx, error pages,
    /// connections that never opened) until it goes through: the claim is ours, so nobody else
    /// will send it. An answer that never came is not retried ([`Failure::Ambiguous`]).
    async fn send(&self, user_id: i64, sendable: &Sendable) -> Outcome {
        let card = &sendable.card;
        let keyboard = InlineKeyboardMarkup::new(card.buttons.iter().map(|button| {
            vec![InlineKeyboardButton::callback(
                button.label.clone(),
                button.callback_data.clone(),
            )]
        }));
        let mut failures = 0u32;
        loop {
            let request = self
                .bot
                .send_message(ChatId(user_id), card.html.clone())
                .parse_mode(ParseMode::Html)
                .reply_markup(keyboard.clone());
            let error = match request.await {
                Ok(message) => return Outcome::Sent(i64::from(message.id.0)),
                Err(error) => error,
            };
            match telegram::classify(&error) {
                Failure::RetryAfter(wait) => {
                    tracing::warn!(bot = %self.category, ?wait, "429 from Telegram");
                    self.pacer.pause(wait);
                }
                Failure::Transient(error) => {
                    failures += 1;
                    let wait = Duration::from_millis(250)
                        .saturating_mul(2u32.saturating_pow(failures.min(8)))
                        .min(self.config.max_retry_wait);
                    tracing::warn!(bot = %self.category, %error, ?wait, failures, "send failed transiently; retrying");
                    tokio::time::sleep(wait).await;
                }
                Failure::Ambiguous(error) => return Outcome::Unconfirmed(error),
                Failure::Refused { error, blocked } => return Outcome::Refused(error, blocked),
            }
            self.pacer.ready(user_id).await;
        }
    }

    /// A 403: stop sending through this bot until the user starts it again.
    async fn stopped_by(&self, user_id: i64, cause: &Envelope) {
        self.blocked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(user_id, Utc::now());
        let event = Envelope::new(CategoryBotStopped {
            user_id,
            category: self.category.clone(),
            reason: BotStopReason::Blocked,
        })
        .caused_by(cause);
        self.record(&event).await;
    }

    /// Records what happened after a send. The send is done and cannot be undone, and a
    /// redelivered plan finds its claim and sends nothing, so this keeps trying until NATS
    /// takes the record (its id is deterministic: a retry stores it once).
    async fn record(&self, event: &Envelope) {
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

impl Handler for Sender {
    async fn handle(&self, envelope: Envelope, _delivery: &Delivery) -> Result<(), HandlerError> {
        match &envelope.event {
            Event::DeliveryPlanned(plan) if plan.category == self.category => {
                self.deliver(&envelope, plan).await
            }
            _ => Ok(()),
        }
    }
}
