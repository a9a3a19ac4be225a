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
    Area, BotStopReason, CategoryBotStopped, DeliveryClaimed, DeliveryFailed, DeliveryPlanned,
    Envelope, Event, VacancyDelivered,
};
use sqlx::PgPool;
use teloxide::prelude::*;
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup, ParseMode};
use teloxide::{ApiError, RequestError};

use crate::cards::{Cards, Sendable};
use crate::pacer::Pacer;

#[derive(Debug, Clone)]
pub struct SendConfig {
    /// Sends per second per bot: a little under Telegram's 30.
    pub per_bot_rate: f64,
    /// Gap between two messages to one chat (Telegram: about one a second).
    pub chat_gap: Duration,
    /// Planned sends older than this are dropped (a bot configured long after its plans).
    pub max_plan_age: chrono::Duration,
    /// Network failures tolerated per send before it is recorded as failed.
    pub network_attempts: u32,
}

impl Default for SendConfig {
    fn default() -> Self {
        Self {
            per_bot_rate: 28.5,
            chat_gap: Duration::from_millis(1_050),
            max_plan_age: chrono::Duration::days(1),
            network_attempts: 8,
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
        sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM users u WHERE u.user_id = $1
                              AND (u.trial_ends_at > now() OR u.paid_until > now()))
                AND EXISTS (SELECT 1 FROM user_bots b WHERE b.user_id = $1 AND b.category = $2 AND b.active)
                AND NOT EXISTS (SELECT 1 FROM hidden_authors h WHERE h.user_id = $1 AND h.author = $3 AND h.hidden)",
        )
        .bind(user_id)
        .bind(&self.category)
        .bind(author.unwrap_or_default())
        .fetch_one(&self.pool)
        .await
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
        let claim_id = format!("delivery:{}:{}:claimed", plan.user_id, key.id());
        // A redelivered plan that was claimed before must not take a send slot.
        let claimed =
            Area::Deliveries.subject("claimed", &format!("{}:{}", plan.user_id, key.id()));
        if self
            .bus
            .last_on_subject(&claimed)
            .await
            .map_err(retryable)?
            .is_some()
        {
            return Ok(());
        }
        self.pacer.ready(plan.user_id).await;
        let claim = Envelope::with_id(
            claim_id,
            DeliveryClaimed {
                user_id: plan.user_id,
                key,
                category: self.category.clone(),
                sender: self.sender_id.clone(),
            },
        )
        .caused_by(envelope);
        if self.bus.publish(&claim).await.map_err(retryable)?.duplicate {
            // Sent, or being sent, already: never twice.
            return Ok(());
        }
        let record = match self.send(plan.user_id, &sendable).await {
            Outcome::Sent(sent_message_id) => Envelope::with_id(
                format!("delivery:{}:{}", plan.user_id, key.id()),
                VacancyDelivered {
                    user_id: plan.user_id,
                    key,
                    category: self.category.clone(),
                    sent_message_id,
                    delivered_at: Utc::now(),
                },
            ),
            Outcome::Refused(error, blocked) => {
                tracing::info!(user = plan.user_id, bot = %self.category, %error, "delivery refused");
                if blocked {
                    self.stopped_by(plan.user_id, envelope).await;
                }
                Envelope::with_id(
                    format!("delivery:{}:{}:failed", plan.user_id, key.id()),
                    DeliveryFailed {
                        user_id: plan.user_id,
                        key,
                        category: self.category.clone(),
                        error,
                    },
                )
            }
        };
        self.record(&record.caused_by(envelope)).await;
        Ok(())
    }

    /// Sends, waiting out 429s and retrying network failures: the claim is ours, so nobody
    /// else will send it.
    async fn send(&self, user_id: i64, sendable: &Sendable) -> Outcome {
        let card = &sendable.card;
        let keyboard = InlineKeyboardMarkup::new(card.buttons.iter().map(|button| {
            vec![InlineKeyboardButton::callback(
                button.label.clone(),
                button.callback_data.clone(),
            )]
        }));
        let mut network_failures = 0;
        loop {
            let request = self
                .bot
                .send_message(ChatId(user_id), card.html.clone())
                .parse_mode(ParseMode::Html)
                .reply_markup(keyboard.clone());
            match request.await {
                Ok(message) => return Outcome::Sent(i64::from(message.id.0)),
                Err(RequestError::RetryAfter(wait)) => {
                    tracing::warn!(bot = %self.category, wait = ?wait.duration(), "429 from Telegram");
                    self.pacer.pause(wait.duration());
                    self.pacer.ready(user_id).await;
                }
                Err(RequestError::Api(error)) => {
                    let blocked = is_blocked(&error);
                    return Outcome::Refused(error.to_string(), blocked);
                }
                Err(error) => {
                    network_failures += 1;
                    if network_failures >= self.config.network_attempts {
                        return Outcome::Refused(format!("gave up: {error}"), false);
                    }
                    let wait = Duration::from_millis(250 * 2u64.pow(network_failures.min(6)));
                    tracing::warn!(bot = %self.category, %error, ?wait, "send failed; retrying");
                    tokio::time::sleep(wait).await;
                    self.pacer.ready(user_id).await;
                }
            }
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

    /// Records what happened after a send. The send is done and cannot be undone, so this
    /// keeps trying for a while instead of handing the event back for redelivery.
    async fn record(&self, event: &Envelope) {
        let mut wait = Duration::from_millis(100);
        for _ in 0..12 {
            match self.bus.publish(event).await {
                Ok(_) => return,
                Err(error) => {
                    tracing::warn!(%error, event_id = %event.id, "recording a send failed; retrying");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(5));
                }
            }
        }
        tracing::error!(event_id = %event.id, "could not record a send: the message went out, its record is lost");
    }
}

/// Telegram's 403s (and teloxide's names for them): the user blocked the bot, never started it,
/// or is gone.
fn is_blocked(error: &ApiError) -> bool {
    match error {
        ApiError::BotBlocked
        | ApiError::CantInitiateConversation
        | ApiError::UserDeactivated
        | ApiError::BotKicked
        | ApiError::BotKickedFromSupergroup => true,
        ApiError::Unknown(text) => text.starts_with("Forbidden"),
        _ => false,
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
