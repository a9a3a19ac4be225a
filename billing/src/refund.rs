//! An admin refunds a payment: the money goes back through the provider that took it
//! (YooKassa's refund API, Telegram's `refundStarPayment`), then the refund is recorded and the
//! unused part of the paid period taken back, once, and the user is told. Refunds made
//! elsewhere (YooKassa's dashboard, Telegram) arrive as notifications and updates and end in the
//! same record.

use bus::Bus;
use schemas::{Currency, Event, Money, Provider};
use teloxide::prelude::*;
use teloxide::types::TelegramTransactionId;

use crate::activate::{self, Refund, RefundRecorded};
use crate::ledger;
use crate::reconcile::tell;
use crate::yookassa::YooKassa;

/// What an admin asks for.
#[derive(Debug, Clone)]
pub struct RefundRequest {
    pub payment_id: String,
    pub admin_id: i64,
    pub reason: String,
}

#[derive(Debug, PartialEq)]
pub enum Requested {
    /// The money went back and the refund is recorded.
    Refunded(RefundRecorded),
    /// YooKassa accepted the refund but has not finished it; its `refund.succeeded`
    /// notification records it.
    Pending { refund_id: String },
}

/// What a refund needs: the bus, and each provider's client where configured.
pub struct Refunds<'a> {
    pub bus: &'a Bus,
    pub yookassa: Option<&'a YooKassa>,
    /// The main bot: Stars go back through it, and it tells the user.
    pub bot: Option<&'a Bot>,
}

impl Refunds<'_> {
    /// Refunds a succeeded payment in full. Asking again for a refunded payment changes nothing.
    pub async fn refund(&self, request: &RefundRequest) -> anyhow::Result<Requested> {
        let id = &request.payment_id;
        let created = ledger::created(self.bus, id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no payment {id}"))?;
        let succeeded = ledger::succeeded(self.bus, id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("payment {id} has not succeeded: nothing to refund"))?;
        if refunded_so_far(self.bus, id).await? >= created.amount.minor {
            tracing::info!(payment = %id, "refunded in full before: nothing more to do");
            let recorded = RefundRecorded {
                new: false,
                revoked: None,
            };
            return Ok(Requested::Refunded(recorded));
        }
        let charge = succeeded.provider_payment_id;
        let refund_id = match created.provider {
            Provider::Yookassa => {
                let yookassa = self.yookassa.ok_or_else(|| {
                    anyhow::anyhow!(
                        "{id} was paid with YooKassa: set YOOKASSA_SHOP_ID and YOOKASSA_SECRET_KEY"
                    )
                })?;
                // One refund per payment: the same key returns the same refund on a rerun.
                let refund = yookassa
                    .create_refund(
                        &format!("refund-{id}"),
                        &charge,
                        created.amount.minor,
                        &request.reason,
                    )
                    .await?;
                anyhow::ensure!(
                    refund.payment_id == charge,
                    "YooKassa answered with a refund of another payment"
                );
                match refund.status.as_str() {
                    "succeeded" => refund.id,
                    "pending" => {
                        return Ok(Requested::Pending {
                            refund_id: refund.id,
                        });
                    }
                    other => anyhow::bail!(
                        "YooKassa did not refund {id}: refund {} is {other}",
                        refund.id
                    ),
                }
            }
            Provider::Stars => {
                let bot = self.bot.ok_or_else(|| {
                    anyhow::anyhow!("{id} was paid in Stars: set MAIN_BOT_TOKEN to refund it")
                })?;
                let user = UserId(u64::try_from(created.user_id)?);
                match bot
                    .refund_star_payment(user, TelegramTransactionId(charge.clone()))
                    .await
                {
                    Ok(_) => {}
                    Err(error) if error.to_string().contains("CHARGE_ALREADY_REFUNDED") => {
                        tracing::info!(payment = %id, "Telegram had refunded it already");
                    }
                    Err(error) => anyhow::bail!("Telegram did not refund {id}: {error}"),
                }
                stars_refund_id(&charge)
            }
        };
        let refund = Refund {
            refund_id,
            amount: created.amount,
            admin_id: Some(request.admin_id),
            reason: Some(request.reason.clone()),
        };
        let recorded = activate::refund_succeeded(self.bus, &created, refund).await?;
        if recorded.new
            && let Some(bot) = self.bot
        {
            let zone = fanout::wording::zone_on_bus(self.bus, created.user_id).await;
            tell(
                bot,
                created.user_id,
                &user_news(&recorded, created.amount, zone),
                None,
            )
            .await;
        }
        Ok(Requested::Refunded(recorded))
    }
}

/// Our id for the refund of a Stars charge: Telegram refunds a charge once and gives the refund
/// no id of its own.
pub fn stars_refund_id(charge: &str) -> String {
    format!("stars:{charge}")
}

/// The user's news of a refund of `amount`, with times in `zone`.
pub fn user_news(recorded: &RefundRecorded, amount: Money, zone: chrono_tz::Tz) -> String {
    let amount = match amount.currency {
        Currency::Rub => format!("{} ₽", crate::yookassa::amount_value(amount.minor)),
        Currency::Xtr => format!("{} ⭐", amount.minor),
    };
    let access = match &recorded.revoked {
        Some(revoked) if revoked.until > chrono::Utc::now() => format!(
            "Подписка действует до {}.",
            fanout::wording::moment(revoked.until, zone)
        ),
        Some(_) => "Оплаченный период закончился.".to_owned(),
        None => "Оплаченный период уже был использован.".to_owned(),
    };
    format!("↩️ Возврат оформлен: {amount}. {access}")
}

/// Every refund recorded for a payment, in kopecks or Stars.
async fn refunded_so_far(bus: &Bus, payment_id: &str) -> anyhow::Result<i64> {
    let subject = <schemas::PaymentRefunded as schemas::EventType>::subject_of(payment_id);
    Ok(bus
        .read_subject(&subject)
        .await?
        .iter()
        .filter_map(|s| match &s.envelope.event {
            Event::PaymentRefunded(r) => Some(r.amount.minor),
            _ => None,
        })
        .sum())
}
