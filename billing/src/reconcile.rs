//! What a YooKassa payment or refund means for us, read from the API (never from a
//! notification's body): a verified success activates, a cancellation is recorded, a verified
//! refund takes back the unused days, anything else waits. The webhook and the poller both come
//! here, so they agree and their races end in one change.

use bus::Bus;
use schemas::callback::MenuAction;
use schemas::{Currency, Envelope, Money, PaymentCanceled, PaymentCreated};
use teloxide::prelude::*;
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};

use crate::activate::{self, Refund, RefundRecorded};
use crate::ledger;
use crate::verify::{verify, verify_refund};
use crate::yookassa::{ApiError, Payment, YooKassa};

/// Billing's dependencies: the bus, the YooKassa client, and the main bot to tell users.
#[derive(Clone)]
pub struct Billing {
    pub bus: Bus,
    pub yookassa: YooKassa,
    pub bot: Option<Bot>,
}

#[derive(Debug, PartialEq)]
pub enum Outcome {
    Activated,
    AlreadyActive,
    Canceled,
    Refunded(RefundRecorded),
    Pending,
    /// Nothing to do, and why (unknown payment, not ours, forged amount, …).
    Ignored(String),
}

impl Billing {
    /// Reads the payment back from YooKassa and acts on what it says. An error means "try again
    /// later" (YooKassa or NATS unavailable).
    pub async fn reconcile(&self, provider_payment_id: &str) -> anyhow::Result<Outcome> {
        let (payment, created) = match self.payment_and_ours(provider_payment_id).await? {
            Ok(found) => found,
            Err(ignored) => return Ok(ignored),
        };
        match payment.status.as_str() {
            "succeeded" => {
                if let Err(rejection) = verify(&payment, &created) {
                    tracing::warn!(%rejection, "payment does not match ours: not activated");
                    return Ok(Outcome::Ignored(rejection.to_string()));
                }
                match activate::payment_succeeded(&self.bus, &created, &payment.id).await? {
                    Some(extension) => {
                        let text = format!(
                            "✅ Оплата прошла! Подписка активна до {}.",
                            fanout::wording::moment(
                                extension.until,
                                fanout::wording::zone_on_bus(&self.bus, created.user_id).await
                            )
                        );
                        self.tell(created.user_id, &text).await;
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
                // Told once: the cancellation is recorded once per payment.
                if !self.bus.publish(&Envelope::new(canceled)).await?.duplicate {
                    let text = "Оплата не прошла: платёж отменён, деньги не списаны. Можно попробовать ещё раз.";
                    let again = MenuAction::Provider(created.plan.clone());
                    self.tell_with_button(created.user_id, text, ("🔁 Оплатить ещё раз", &again))
                        .await;
                }
                Ok(Outcome::Canceled)
            }
            _ => Ok(Outcome::Pending),
        }
    }

    /// Reads a refund back from YooKassa and, when it is a finished refund of a payment of
    /// ours, records it and takes back the unused days. An error means "try again later".
    pub async fn reconcile_refund(&self, refund_id: &str) -> anyhow::Result<Outcome> {
        let refund = match self.yookassa.refund(refund_id).await {
            Ok(refund) => refund,
            Err(ApiError::Unavailable(error)) => anyhow::bail!("YooKassa unavailable: {error}"),
            Err(error) => return Ok(Outcome::Ignored(error.to_string())),
        };
        let (payment, created) = match self.payment_and_ours(&refund.payment_id).await? {
            Ok(found) => found,
            Err(ignored) => return Ok(ignored),
        };
        let minor = match verify_refund(&refund, &payment, &created) {
            Ok(minor) => minor,
            Err(rejection) if refund.status == "pending" => {
                tracing::info!(%rejection, "refund not finished yet");
                return Ok(Outcome::Pending);
            }
            Err(rejection) => {
                tracing::warn!(%rejection, "refund does not match our payment: nothing taken back");
                return Ok(Outcome::Ignored(rejection.to_string()));
            }
        };
        let refund = Refund {
            refund_id: refund.id,
            amount: Money {
                minor,
                currency: Currency::Rub,
            },
            admin_id: None,
            reason: None,
        };
        let amount = refund.amount;
        let recorded = activate::refund_succeeded(&self.bus, &created, refund).await?;
        if recorded.new {
            let zone = fanout::wording::zone_on_bus(&self.bus, created.user_id).await;
            let news = crate::refund::user_news(&recorded, amount, zone);
            self.tell(created.user_id, &news).await;
        }
        Ok(Outcome::Refunded(recorded))
    }

    /// The payment as YooKassa reports it and the one we created that it names, or why there is
    /// nothing to do.
    async fn payment_and_ours(
        &self,
        provider_payment_id: &str,
    ) -> anyhow::Result<Result<(Payment, PaymentCreated), Outcome>> {
        let payment = match self.yookassa.payment(provider_payment_id).await {
            Ok(payment) => payment,
            Err(ApiError::Unavailable(error)) => anyhow::bail!("YooKassa unavailable: {error}"),
            Err(error) => return Ok(Err(Outcome::Ignored(error.to_string()))),
        };
        let Some(ours) = payment.metadata("payment_id") else {
            let why = format!("{} has no payment id of ours", payment.id);
            return Ok(Err(Outcome::Ignored(why)));
        };
        match ledger::created(&self.bus, ours).await? {
            Some(created) => Ok(Ok((payment, created))),
            None => Ok(Err(Outcome::Ignored(format!(
                "we never created payment {ours}"
            )))),
        }
    }

    /// Tells the user what happened to their money, the moment it did.
    pub async fn tell(&self, user_id: i64, text: &str) {
        let Some(bot) = &self.bot else { return };
        tell(bot, user_id, text, None).await;
    }

    /// [`Billing::tell`] with one button of the main bot's menu under the text.
    async fn tell_with_button(
        &self,
        user_id: i64,
        text: &str,
        (label, action): (&str, &MenuAction),
    ) {
        let Some(bot) = &self.bot else { return };
        let keyboard =
            InlineKeyboardMarkup::new([[InlineKeyboardButton::callback(label, action.encode())]]);
        tell(bot, user_id, text, Some(keyboard)).await;
    }
}

/// Sends `text` to a user from the main bot. A user who just tapped "pay" may be within
/// Telegram's one message a second: wait out a 429, and retry Telegram's own failures (5xx,
/// error pages, connections that never opened) for a while, rather than leave them without
/// the news. The payment is recorded whatever happens here.
pub async fn tell(bot: &Bot, user_id: i64, text: &str, keyboard: Option<InlineKeyboardMarkup>) {
    let mut wait = std::time::Duration::from_millis(500);
    for _ in 0..6 {
        let mut request = bot.send_message(ChatId(user_id), text.to_owned());
        if let Some(keyboard) = &keyboard {
            request = request.reply_markup(keyboard.clone());
        }
        let error = match request.await {
            Ok(_) => return,
            Err(error) => error,
        };
        match fanout::telegram::classify(&error) {
            fanout::telegram::Failure::RetryAfter(delay) => tokio::time::sleep(delay).await,
            fanout::telegram::Failure::Transient(_) => {
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
            _ => {
                tracing::warn!(user = user_id, %error, "could not tell the user about their payment");
                return;
            }
        }
    }
    tracing::warn!(
        user = user_id,
        "Telegram kept failing: the user was not told about their payment"
    );
}
