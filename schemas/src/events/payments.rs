//! Money: a payment's life at a provider (YooKassa or Telegram Stars). Event ids derive from the
//! provider's payment id, so a webhook, a poller and a retry all land on one event.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Payload;
use crate::{Aggregate, AggregateKind, EventId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    Yookassa,
    Stars,
}

/// An amount in minor units (kopecks for RUB, whole stars for XTR), never a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Money {
    pub minor: i64,
    /// `RUB` or `XTR`.
    pub currency: Currency,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum Currency {
    #[serde(rename = "RUB")]
    Rub,
    #[serde(rename = "XTR")]
    Xtr,
}

impl Currency {
    pub fn as_str(self) -> &'static str {
        match self {
            Currency::Rub => "RUB",
            Currency::Xtr => "XTR",
        }
    }
}

fn payment(payment_id: &str) -> Aggregate {
    Aggregate::new(AggregateKind::Payment, payment_id)
}

fn positive(amount: &Money) -> Result<(), String> {
    if amount.minor <= 0 {
        return Err(format!("non-positive amount {}", amount.minor));
    }
    Ok(())
}

/// We asked a provider for a payment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PaymentCreated {
    /// Our id for the attempt (also YooKassa's Idempotence-Key).
    pub payment_id: String,
    pub user_id: i64,
    /// Plan id from the catalog file, e.g. `week`.
    pub plan: String,
    /// Days of access the plan buys.
    pub days: u32,
    pub provider: Provider,
    pub amount: Money,
    pub provider_payment_id: Option<String>,
}

impl Payload for PaymentCreated {
    fn aggregate(&self) -> Aggregate {
        payment(&self.payment_id)
    }
    fn event_id(&self) -> Option<EventId> {
        Some(format!("payment:{}:created", self.payment_id))
    }
    fn validate(&self) -> Result<(), String> {
        positive(&self.amount)
    }
}

/// The provider confirmed the money arrived (after we re-read it from the provider).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PaymentSucceeded {
    pub payment_id: String,
    pub user_id: i64,
    pub provider: Provider,
    pub provider_payment_id: String,
    pub amount: Money,
    pub paid_at: DateTime<Utc>,
}

impl Payload for PaymentSucceeded {
    fn aggregate(&self) -> Aggregate {
        payment(&self.payment_id)
    }
    fn event_id(&self) -> Option<EventId> {
        Some(format!("payment:{}:succeeded", self.payment_id))
    }
    fn validate(&self) -> Result<(), String> {
        positive(&self.amount)
    }
}

/// The payment will never succeed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PaymentCanceled {
    pub payment_id: String,
    pub user_id: i64,
    pub reason: String,
}

impl Payload for PaymentCanceled {
    fn aggregate(&self) -> Aggregate {
        payment(&self.payment_id)
    }
    fn event_id(&self) -> Option<EventId> {
        Some(format!("payment:{}:canceled", self.payment_id))
    }
}

/// Money went back to the user (one event per refund; a payment may be refunded in parts).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PaymentRefunded {
    pub payment_id: String,
    pub user_id: i64,
    /// The provider's refund id (YooKassa's refund, or `stars:<charge id>`).
    pub refund_id: String,
    pub amount: Money,
    /// The admin who asked for it; `None` when the provider reported a refund made elsewhere
    /// (YooKassa's dashboard, Telegram).
    #[serde(default)]
    pub admin_id: Option<i64>,
    #[serde(default)]
    pub reason: Option<String>,
}

impl Payload for PaymentRefunded {
    fn aggregate(&self) -> Aggregate {
        payment(&self.payment_id)
    }
    fn event_id(&self) -> Option<EventId> {
        Some(format!("refund:{}", self.refund_id))
    }
    fn validate(&self) -> Result<(), String> {
        positive(&self.amount)
    }
}

fn stars_subscription(subscription_id: &str) -> Aggregate {
    Aggregate::new(AggregateKind::StarsSubscription, subscription_id)
}

/// Telegram charged a Stars subscription: its first month or a renewal, one event per charge.
/// Telegram renews on its own; this is what the bot knows of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StarsSubscriptionCharged {
    /// The subscription: the payload of its invoice, which every renewal repeats.
    pub subscription_id: String,
    pub user_id: i64,
    pub plan: String,
    /// The charge that started it: `editUserStarSubscription` names the subscription by it.
    pub first_charge_id: String,
    /// This charge.
    pub charge_id: String,
    pub stars: u32,
    /// When the month this charge paid for ends, and Telegram means to charge again.
    pub paid_until: DateTime<Utc>,
}

impl Payload for StarsSubscriptionCharged {
    fn aggregate(&self) -> Aggregate {
        stars_subscription(&self.subscription_id)
    }
    fn event_id(&self) -> Option<EventId> {
        Some(format!("stars-subscription:charge:{}", self.charge_id))
    }
    fn validate(&self) -> Result<(), String> {
        if self.stars == 0 {
            return Err("a charge of 0 stars".into());
        }
        Ok(())
    }
}

/// The user turned their Stars subscription's renewal off (or allowed it again) through the
/// bot, and Telegram accepted it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StarsSubscriptionEdited {
    pub subscription_id: String,
    pub user_id: i64,
    /// `true`: Telegram will not charge again; the paid month still runs.
    pub canceled: bool,
}

impl Payload for StarsSubscriptionEdited {
    fn aggregate(&self) -> Aggregate {
        stars_subscription(&self.subscription_id)
    }
}
