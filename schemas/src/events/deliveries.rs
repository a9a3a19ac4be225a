//! What each subscriber is to be sent and was sent. A delivery goes planned → claimed → delivered
//! (or failed). The claim is a once-per-(user, vacancy) event written just before the send: a
//! second claim is refused by the stream, so no restart or second process can send it again.
//! Event ids are `delivery:<user>:<chat>:<message>[:<step>]`.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{MessageKey, Payload};
use crate::{Aggregate, AggregateKind, EventId};

/// `delivery:<user>:<chat>:<message>[:<step>]`.
fn delivery_id(user_id: i64, key: &MessageKey, step: Option<&str>) -> EventId {
    match step {
        Some(step) => format!("delivery:{user_id}:{}:{step}", key.id()),
        None => format!("delivery:{user_id}:{}", key.id()),
    }
}

fn delivery(user_id: i64, key: &MessageKey) -> Aggregate {
    Aggregate::new(AggregateKind::Delivery, format!("{user_id}:{}", key.id()))
}

/// Fan-out decided this subscriber gets the vacancy through this category's bot. Its subject is
/// in the bot's outbox (`rh.deliveries.planned.<category>.<user>.<chat>.<message>`; the outbox
/// is `rh.deliveries.planned.<category>.>`), which one sender at a time drains.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DeliveryPlanned {
    pub user_id: i64,
    #[serde(flatten)]
    pub key: MessageKey,
    pub category: String,
    /// Which of the category's bots (the numeric id in its token); absent on events recorded
    /// while the category had one bot, which means the first token `CATEGORY_BOT_TOKENS` lists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot_id: Option<i64>,
}

impl Payload for DeliveryPlanned {
    fn aggregate(&self) -> Aggregate {
        Aggregate::new(
            AggregateKind::Outbox,
            format!("{}:{}", self.category, delivery(self.user_id, &self.key).id),
        )
    }
    fn event_id(&self) -> Option<EventId> {
        Some(delivery_id(self.user_id, &self.key, Some("planned")))
    }
    fn validate(&self) -> Result<(), String> {
        super::validate_slug(&self.category)
    }
}

/// A sender is about to send this vacancy to this subscriber. Once per (user, vacancy), ever: a
/// claim without a later delivery or failure means the sender died mid-send, and the vacancy is
/// not sent again (a duplicate is worse than the rare loss).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DeliveryClaimed {
    pub user_id: i64,
    #[serde(flatten)]
    pub key: MessageKey,
    pub category: String,
    /// The sending process (a random id per start), for audits of interrupted sends.
    pub sender: String,
}

impl Payload for DeliveryClaimed {
    fn aggregate(&self) -> Aggregate {
        delivery(self.user_id, &self.key)
    }
    fn event_id(&self) -> Option<EventId> {
        Some(delivery_id(self.user_id, &self.key, Some("claimed")))
    }
}

/// A vacancy reached a subscriber through a category bot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VacancyDelivered {
    pub user_id: i64,
    #[serde(flatten)]
    pub key: MessageKey,
    /// The category whose bot sent it.
    pub category: String,
    /// Telegram's id of the sent message in the user's chat with that bot.
    pub sent_message_id: i64,
    pub delivered_at: DateTime<Utc>,
    /// Which of the category's bots (the numeric id in its token); absent on events recorded
    /// while the category had one bot, which means the first token `CATEGORY_BOT_TOKENS` lists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot_id: Option<i64>,
}

impl Payload for VacancyDelivered {
    fn aggregate(&self) -> Aggregate {
        delivery(self.user_id, &self.key)
    }
    fn event_id(&self) -> Option<EventId> {
        Some(delivery_id(self.user_id, &self.key, None))
    }
}

/// A send failed for good (blocked bot, deleted chat); retryable failures are not events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DeliveryFailed {
    pub user_id: i64,
    #[serde(flatten)]
    pub key: MessageKey,
    pub category: String,
    /// Telegram's error code and description.
    pub error: String,
}

impl Payload for DeliveryFailed {
    fn aggregate(&self) -> Aggregate {
        delivery(self.user_id, &self.key)
    }
    fn event_id(&self) -> Option<EventId> {
        Some(delivery_id(self.user_id, &self.key, Some("failed")))
    }
}

/// A send whose answer never came (the request left, then the connection timed out): the user
/// may or may not have it. Never sent again — a duplicate is worse — and counted, so operators
/// see how often Telegram left us guessing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DeliveryUnconfirmed {
    pub user_id: i64,
    #[serde(flatten)]
    pub key: MessageKey,
    pub category: String,
    /// What the client saw instead of an answer.
    pub error: String,
}

impl Payload for DeliveryUnconfirmed {
    fn aggregate(&self) -> Aggregate {
        delivery(self.user_id, &self.key)
    }
    fn event_id(&self) -> Option<EventId> {
        Some(delivery_id(self.user_id, &self.key, Some("unconfirmed")))
    }
}

/// A delivered card is to be taken back (an admin confirmed it is not a vacancy). Like a plan,
/// it waits in the bot's outbox (`rh.deliveries.withdrawal_planned.<category>.>`), so the
/// bot's one paced sender carries it out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DeliveryWithdrawalPlanned {
    pub user_id: i64,
    #[serde(flatten)]
    pub key: MessageKey,
    pub category: String,
    /// The card's message in the user's chat with that bot.
    pub sent_message_id: i64,
    /// When the card was delivered: Telegram lets a bot delete its messages for 48 hours.
    pub delivered_at: DateTime<Utc>,
    /// Which of the category's bots (the numeric id in its token); absent on events recorded
    /// while the category had one bot, which means the first token `CATEGORY_BOT_TOKENS` lists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot_id: Option<i64>,
}

impl Payload for DeliveryWithdrawalPlanned {
    fn aggregate(&self) -> Aggregate {
        Aggregate::new(
            AggregateKind::Outbox,
            format!("{}:{}", self.category, delivery(self.user_id, &self.key).id),
        )
    }
    fn event_id(&self) -> Option<EventId> {
        Some(delivery_id(
            self.user_id,
            &self.key,
            Some("withdrawal_planned"),
        ))
    }
}

/// How a card was taken back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Withdrawal {
    /// Deleted from the chat.
    Deleted,
    /// Too old to delete: edited to say it was withdrawn, its buttons gone.
    Marked,
    /// Not there any more (the user deleted it) or not ours to change: nothing to do.
    Gone,
}

/// A delivered card was taken back from the user's chat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DeliveryWithdrawn {
    pub user_id: i64,
    #[serde(flatten)]
    pub key: MessageKey,
    pub category: String,
    pub how: Withdrawal,
}

impl Payload for DeliveryWithdrawn {
    fn aggregate(&self) -> Aggregate {
        delivery(self.user_id, &self.key)
    }
    fn event_id(&self) -> Option<EventId> {
        Some(delivery_id(self.user_id, &self.key, Some("withdrawn")))
    }
}
