//! A category bot's sender: drains the bot's outbox (`send-<category>` consumer, pinned to one
//! process at a time). For each planned delivery: check the user still wants it, then claim,
//! send and record it through the [`Dispatcher`] (paced, once-only; a claim is once per
//! (user, vacancy)), stopping the bot for a user who blocked it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bus::{Bus, Delivery, HandlerError, consume::Handler};
use chrono::{DateTime, Utc};
use schemas::{
    BotStopReason, CategoryBotStopped, DeliveryClaimed, DeliveryFailed, DeliveryPlanned,
    DeliveryUnconfirmed, DeliveryWithdrawalPlanned, DeliveryWithdrawn, Envelope, Event,
    VacancyDelivered, Withdrawal,
};
use sqlx::PgPool;
use teloxide::prelude::*;
use teloxide::types::ParseMode;

use crate::cards::{Cards, Sendable};
use crate::dispatch::{Dispatcher, Outcome};

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
    /// Cards a user's phone rings for in one bot's chat per minute; the rest of that minute's
    /// cards arrive silently (`disable_notification`), none is held back or dropped.
    pub loud_per_minute: usize,
}

impl Default for SendConfig {
    fn default() -> Self {
        Self {
            per_bot_rate: 28.5,
            chat_gap: Duration::from_millis(1_050),
            max_plan_age: chrono::Duration::days(1),
            max_retry_wait: Duration::from_secs(30),
            loud_per_minute: 5,
        }
    }
}

pub struct Sender {
    category: String,
    bot: Bot,
    bus: Bus,
    pool: PgPool,
    cards: Arc<Cards>,
    dispatcher: Dispatcher,
    config: SendConfig,
    /// This process's id in claims.
    sender_id: String,
    /// Users who blocked this bot, and when we learnt it: plans made before are dropped.
    blocked: Mutex<HashMap<i64, DateTime<Utc>>>,
    /// When each chat's recent cards went out, for flood control (this sender is the only one
    /// of its bot: its consumer is pinned).
    loud: Mutex<crate::flood::Flood>,
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
        let loud_per_minute = config.loud_per_minute;
        Self {
            dispatcher: Dispatcher::new(bus.clone(), category.clone(), config.clone()),
            category,
            bot,
            bus,
            pool,
            cards,
            config,
            sender_id: uuid::Uuid::now_v7().to_string(),
            blocked: Mutex::new(HashMap::new()),
            loud: Mutex::new(crate::flood::Flood::new(loud_per_minute)),
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
        let Some(sendable) = self.cards.get(key).await? else {
            return Ok(());
        };
        if !self
            .still_wanted(plan.user_id, sendable.author.as_deref())
            .await
            .map_err(projections::handler_error)?
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
        let silent = !self
            .loud
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .ring(plan.user_id, std::time::Instant::now());
        let outcome = self
            .dispatcher
            .claim_and_send(plan.user_id, &claim, || {
                self.send(plan.user_id, &sendable, silent)
            })
            .await?;
        let Some(outcome) = outcome else {
            // Sent, or being sent, already: never twice.
            return Ok(());
        };
        let record = match outcome {
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
            Outcome::Refused { error, blocked } => {
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
        self.dispatcher.record(&record.caused_by(envelope)).await;
        Ok(())
    }

    /// The card's request; the dispatcher retries it as Telegram's answers require.
    fn send(
        &self,
        user_id: i64,
        sendable: &Sendable,
        silent: bool,
    ) -> impl std::future::Future<Output = Result<teloxide::types::Message, teloxide::RequestError>>
    {
        let card = &sendable.card;
        let keyboard = crate::card::keyboard(&card.buttons, card.link.as_deref());
        self.bot
            .send_message(ChatId(user_id), card.html.clone())
            .parse_mode(ParseMode::Html)
            .reply_markup(keyboard)
            .disable_notification(silent)
            .into_future()
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
        self.dispatcher.record(&event).await;
    }
}

impl Sender {
    /// Takes a card back: deleted while Telegram allows (48 hours), else edited to say it was
    /// withdrawn, its buttons gone. Once per card, however often the plan comes.
    async fn withdraw(
        &self,
        envelope: &Envelope,
        plan: &DeliveryWithdrawalPlanned,
    ) -> Result<(), HandlerError> {
        use teloxide::ApiError;
        use teloxide::RequestError::Api;
        let done = |how| {
            Envelope::new(DeliveryWithdrawn {
                user_id: plan.user_id,
                key: plan.key,
                category: self.category.clone(),
                how,
            })
            .caused_by(envelope)
        };
        if self
            .bus
            .has::<DeliveryWithdrawn>(&done(Withdrawal::Gone).aggregate().id)
            .await?
        {
            return Ok(());
        }
        let chat = ChatId(plan.user_id);
        let message = teloxide::types::MessageId(i32::try_from(plan.sent_message_id).unwrap_or(0));
        let deletable = Utc::now() - plan.delivered_at < DELETABLE_FOR;
        let deleted = if deletable {
            let delete = || self.bot.delete_message(chat, message).into_future();
            match self.dispatcher.change(plan.user_id, delete).await {
                Ok(_) | Err(Api(ApiError::MessageToDeleteNotFound)) => Some(Withdrawal::Deleted),
                Err(Api(ApiError::MessageCantBeDeleted)) => None,
                Err(error) => {
                    tracing::info!(user = plan.user_id, bot = %self.category, %error, "a card could not be deleted");
                    Some(Withdrawal::Gone)
                }
            }
        } else {
            None
        };
        let how = match deleted {
            Some(how) => how,
            None => {
                let mark = || {
                    self.bot
                        .edit_message_text(chat, message, WITHDRAWN)
                        .reply_markup(teloxide::types::InlineKeyboardMarkup::default())
                        .into_future()
                };
                match self.dispatcher.change(plan.user_id, mark).await {
                    Ok(_) => Withdrawal::Marked,
                    Err(error) => {
                        tracing::info!(user = plan.user_id, bot = %self.category, %error, "a card could not be marked withdrawn");
                        Withdrawal::Gone
                    }
                }
            }
        };
        self.dispatcher.record(&done(how)).await;
        Ok(())
    }
}

/// How long Telegram lets a bot delete its own message in a private chat (48 hours), with an
/// hour's margin.
const DELETABLE_FOR: chrono::Duration = chrono::Duration::hours(47);

/// What a withdrawn card too old to delete says instead.
const WITHDRAWN: &str = "🚫 Пост снят: модераторы решили, что это не вакансия.";

impl Handler for Sender {
    async fn handle(&self, envelope: Envelope, _delivery: &Delivery) -> Result<(), HandlerError> {
        match &envelope.event {
            Event::DeliveryPlanned(plan) if plan.category == self.category => {
                self.deliver(&envelope, plan).await
            }
            Event::DeliveryWithdrawalPlanned(plan) if plan.category == self.category => {
                self.withdraw(&envelope, plan).await
            }
            _ => Ok(()),
        }
    }
}
