//! What a YooKassa payment means for us, read from the API (never from a notification's body):
//! a verified success activates, a cancellation is recorded, anything else waits. The webhook and
//! the poller both come here, so they agree and their races end in one activation.

use bus::Bus;
use schemas::{Area, Envelope, Event, PaymentCanceled, PaymentCreated};
use teloxide::prelude::*;

use crate::activate;
use crate::verify::verify;
use crate::yookassa::{ApiError, YooKassa};

/// Billing's dependencies: the bus, the YooKassa client, and the main bot to tell users.
#[derive(Clone)]
pub struct Billing {
    pub bus: Bus,
    pub yookassa: YooKassa,
    pub bot: Option<Bot>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Activated,
    AlreadyActive,
    Canceled,
    Pending,
    /// Nothing to do, and why (unknown payment, not ours, forged amount, …).
    Ignored(String),
}

impl Billing {
    /// Reads the payment back from YooKassa and acts on what it says. An error means "try again
    /// later" (YooKassa or NATS unavailable).
    pub async fn reconcile(&self, provider_payment_id: &str) -> anyhow::Result<Outcome> {
        let payment = match self.yookassa.payment(provider_payment_id).await {
            Ok(payment) => payment,
            Err(ApiError::Unavailable(error)) => anyhow::bail!("YooKassa unavailable: {error}"),
            Err(error) => return Ok(Outcome::Ignored(error.to_string())),
        };
        let Some(ours) = payment.metadata("payment_id") else {
            return Ok(Outcome::Ignored(format!(
                "{} has no payment id of ours",
                payment.id
            )));
        };
        let subject = Area::Payments.subject("created", ours);
        let created = match self.bus.last_on_subject(&subject).await? {
            Some(stored) => match stored.envelope.event {
                Event::PaymentCreated(created) => created,
                _ => {
                    return Ok(Outcome::Ignored(format!(
                        "{subject} holds no PaymentCreated"
                    )));
                }
            },
            None => return Ok(Outcome::Ignored(format!("we never created payment {ours}"))),
        };
        match payment.status.as_str() {
            "succeeded" => {
                if let Err(rejection) = verify(&payment, &created) {
                    tracing::warn!(%rejection, "payment does not match ours: not activated");
                    return Ok(Outcome::Ignored(rejection.to_string()));
                }
                match activate::payment_succeeded(&self.bus, &created, &payment.id).await? {
                    Some(extension) => {
                        self.tell(&created, extension.until).await;
                        Ok(Outcome::Activated)
                    }
                    None => Ok(Outcome::AlreadyActive),
                }
            }
            "canceled" => {
                let canceled = PaymentCanceled {
                    payment_id: created.payment_id.clone(),
                    user_id: created.user_id,
                    reason: "canceled at YooKassa".into(),
                };
                let id = format!("payment:{}:canceled", created.payment_id);
                self.bus.publish(&Envelope::with_id(id, canceled)).await?;
                Ok(Outcome::Canceled)
            }
            _ => Ok(Outcome::Pending),
        }
    }

    /// Tells the user their subscription is on, the moment it is.
    async fn tell(&self, created: &PaymentCreated, until: chrono::DateTime<chrono::Utc>) {
        let Some(bot) = &self.bot else { return };
        let text = format!(
            "✅ Оплата прошла! Подписка активна до {} (UTC).",
            until.format("%d.%m.%Y %H:%M")
        );
        // A user who just tapped "pay" may be within Telegram's one message a second: wait out
        // a 429 rather than leave them without the news.
        for _ in 0..3 {
            match bot
                .send_message(ChatId(created.user_id), text.clone())
                .await
            {
                Err(teloxide::RequestError::RetryAfter(wait)) => {
                    tokio::time::sleep(wait.duration()).await;
                }
                Err(error) => {
                    tracing::warn!(user = created.user_id, %error, "could not tell the user about their payment");
                    return;
                }
                Ok(_) => return,
            }
        }
    }
}
