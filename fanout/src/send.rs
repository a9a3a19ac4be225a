//! A category's sender: drains the category's outbox (`send-<category>` consumer, pinned to one
//! process at a time) through the category's bots, each plan through the bot it names (the
//! user's; several bots send at once, each at its own pace). For each planned delivery: check
//! the user still wants it, then claim, send and record it through that bot's [`Dispatcher`]
//! (paced, once-only; a claim is once per (user, vacancy)), stopping the bot for a user who
//! blocked it.

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
    /// Send with `allow_paid_broadcast` (Telegram: up to 1,000 messages a second per bot, each
    /// over the free 30 paid in Stars from the bot's balance), at `paid_broadcast_rate`.
    pub paid_broadcast: bool,
    /// Sends per second per bot with paid broadcast on: a little under Telegram's 1,000.
    pub paid_broadcast_rate: f64,
}

impl SendConfig {
    /// What one bot may send per second, with paid broadcast or without.
    pub fn bot_rate(&self) -> f64 {
        if self.paid_broadcast {
            self.paid_broadcast_rate
        } else {
            self.per_bot_rate
        }
    }
}

impl Default for SendConfig {
    fn default() -> Self {
        Self {
            per_bot_rate: 28.5,
            chat_gap: Duration::from_millis(1_050),
            max_plan_age: chrono::Duration::days(1),
            max_retry_wait: Duration::from_secs(30),
            loud_per_minute: 5,
            paid_broadcast: false,
            paid_broadcast_rate: 950.0,
        }
    }
}

pub struct Sender {
    category: String,
    /// The category's bots, the first being the one a plan without a `bot_id` means.
    bots: Vec<BotSender>,
    bus: Bus,
    pool: PgPool,
    cards: Arc<Cards>,
    config: SendConfig,
    /// This process's id in claims.
    sender_id: String,
    /// (bot, user) for users who blocked one of the bots, and when we learnt it: plans made
    /// before are dropped.
    blocked: Mutex<HashMap<(i64, i64), DateTime<Utc>>>,
    /// When each chat's recent cards went out, for flood control (this sender is the only one
    /// of its category: its consumer is pinned; a user is in one chat of a category).
    loud: Mutex<crate::flood::Flood>,
}

/// One of the category's bots with its own pace.
struct BotSender {
    bot_id: i64,
    bot: Bot,
    dispatcher: Dispatcher,
}

/// Which bot a plan names: its `bot_id`, or the category's first when it names none.
fn bot_index(bots: &[BotSender], bot_id: Option<i64>) -> Option<usize> {
    match bot_id {
        None => (!bots.is_empty()).then_some(0),
        Some(id) => bots.iter().position(|b| b.bot_id == id),
    }
}

impl Sender {
    pub fn new(
        category: String,
        bots: Vec<crate::tokens::Shard>,
        bus: Bus,
        pool: PgPool,
        cards: Arc<Cards>,
        config: SendConfig,
    ) -> Self {
        let loud_per_minute = config.loud_per_minute;
        let paced = SendConfig {
            per_bot_rate: config.bot_rate(),
            ..config.clone()
        };
        let bots = bots
            .into_iter()
            .map(|shard| BotSender {
                dispatcher: Dispatcher::new(
                    bus.clone(),
                    format!("{category}/{}", shard.bot_id),
                    paced.clone(),
                ),
                bot_id: shard.bot_id,
                bot: shard.bot,
            })
            .collect();
        Self {
            category,
            bots,
            bus,
            pool,
            cards,
            config,
            sender_id: uuid::Uuid::now_v7().to_string(),
            blocked: Mutex::new(HashMap::new()),
            loud: Mutex::new(crate::flood::Flood::new(loud_per_minute)),
        }
    }

    fn blocked_since(&self, bot_id: i64, user_id: i64) -> Option<DateTime<Utc>> {
        self.blocked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&(bot_id, user_id))
            .copied()
    }

    /// Whether the user still wants this vacancy now: subscription running, this bot their
    /// bot of the category, started and not stopped, the author not hidden. Plans wait in the
    /// outbox; minds change.
    async fn still_wanted(
        &self,
        user_id: i64,
        bot: usize,
        author: Option<&str>,
    ) -> sqlx::Result<bool> {
        let which = (self.bots[bot].bot_id, bot == 0);
        projections::read::users::still_wanted(&self.pool, user_id, &self.category, which, author)
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
        let Some(bot) = bot_index(&self.bots, plan.bot_id) else {
            // A bot no longer configured: its users start another of the category's bots
            // when the main bot sends them there.
            tracing::warn!(user = plan.user_id, bot = ?plan.bot_id, category = %self.category, "planned through a bot not configured: not sent");
            return Ok(());
        };
        let bot_id = self.bots[bot].bot_id;
        if self
            .blocked_since(bot_id, plan.user_id)
            .is_some_and(|since| envelope.occurred_at <= since)
        {
            return Ok(());
        }
        let Some(sendable) = self.cards.get(key).await? else {
            return Ok(());
        };
        if !self
            .still_wanted(plan.user_id, bot, sendable.author.as_deref())
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
        let dispatcher = &self.bots[bot].dispatcher;
        let outcome = dispatcher
            .claim_and_send(plan.user_id, &claim, || {
                self.send(bot, plan.user_id, &sendable, silent)
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
                bot_id: Some(bot_id),
            }),
            Outcome::Unconfirmed(error) => {
                tracing::warn!(user = plan.user_id, category = %self.category, bot = bot_id, %error, "send unconfirmed: not sent again");
                Envelope::new(DeliveryUnconfirmed {
                    user_id: plan.user_id,
                    key,
                    category: self.category.clone(),
                    error,
                })
            }
            Outcome::Refused { error, blocked } => {
                tracing::info!(user = plan.user_id, category = %self.category, bot = bot_id, %error, "delivery refused");
                if blocked {
                    self.stopped_by(bot, plan.user_id, envelope).await;
                }
                Envelope::new(DeliveryFailed {
                    user_id: plan.user_id,
                    key,
                    category: self.category.clone(),
                    error,
                })
            }
        };
        dispatcher.record(&record.caused_by(envelope)).await;
        Ok(())
    }

    /// The card's request through bot `bot`; the dispatcher retries it as Telegram's answers
    /// require.
    fn send(
        &self,
        bot: usize,
        user_id: i64,
        sendable: &Sendable,
        silent: bool,
    ) -> impl std::future::Future<Output = Result<teloxide::types::Message, teloxide::RequestError>>
    {
        let card = &sendable.card;
        let keyboard = crate::card::keyboard(&card.buttons, card.link.as_deref());
        self.bots[bot]
            .bot
            .send_message(ChatId(user_id), card.html.clone())
            .parse_mode(ParseMode::Html)
            .reply_markup(keyboard)
            .disable_notification(silent)
            .allow_paid_broadcast(self.config.paid_broadcast)
            .into_future()
    }

    /// A 403: stop sending through this bot until the user starts it again.
    async fn stopped_by(&self, bot: usize, user_id: i64, cause: &Envelope) {
        let bot_id = self.bots[bot].bot_id;
        self.blocked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert((bot_id, user_id), Utc::now());
        let event = Envelope::new(CategoryBotStopped {
            user_id,
            category: self.category.clone(),
            reason: BotStopReason::Blocked,
            bot_id: Some(bot_id),
        })
        .caused_by(cause);
        self.bots[bot].dispatcher.record(&event).await;
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
        let Some(bot) = bot_index(&self.bots, plan.bot_id) else {
            tracing::warn!(user = plan.user_id, bot = ?plan.bot_id, category = %self.category, "a card to take back from a bot not configured: left");
            return Ok(());
        };
        let BotSender {
            bot_id,
            bot,
            dispatcher,
        } = &self.bots[bot];
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
            let delete = || bot.delete_message(chat, message).into_future();
            match dispatcher.change(plan.user_id, delete).await {
                Ok(_) | Err(Api(ApiError::MessageToDeleteNotFound)) => Some(Withdrawal::Deleted),
                Err(Api(ApiError::MessageCantBeDeleted)) => None,
                Err(error) => {
                    tracing::info!(user = plan.user_id, category = %self.category, bot = bot_id, %error, "a card could not be deleted");
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
                    bot.edit_message_text(chat, message, WITHDRAWN)
                        .reply_markup(teloxide::types::InlineKeyboardMarkup::default())
                        .into_future()
                };
                match dispatcher.change(plan.user_id, mark).await {
                    Ok(_) => Withdrawal::Marked,
                    Err(error) => {
                        tracing::info!(user = plan.user_id, category = %self.category, bot = bot_id, %error, "a card could not be marked withdrawn");
                        Withdrawal::Gone
                    }
                }
            }
        };
        dispatcher.record(&done(how)).await;
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
