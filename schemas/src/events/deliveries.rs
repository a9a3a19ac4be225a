//! What each subscriber was sent. Event ids are `delivery:<user>:<chat>:<message>`, so a send that
//! is retried after a crash records one delivery.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{MessageKey, Payload};
use crate::{Aggregate, AggregateKind};

fn delivery(user_id: i64, key: &MessageKey) -> Aggregate {
    Aggregate::new(AggregateKind::Delivery, format!("{user_id}:{}", key.id()))
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
}

impl Payload for VacancyDelivered {
    fn aggregate(&self) -> Aggregate {
        delivery(self.user_id, &self.key)
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
}
