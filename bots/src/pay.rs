//! "Оплатить" in the main bot: the plans, then the provider, then the payment link or invoice.
//! The subscription switches on by itself when YooKassa reports the payment (the billing
//! service) or Telegram reports a Stars payment (here), and the user is told then. A monthly
//! plan can also be a Stars subscription that Telegram renews every 30 days; each renewal is a
//! payment of its own. Stars refunds (ours or Telegram's) take back the unused days.

use billing::activate::Refund;
use billing::refund::{stars_refund_id, user_news};
use bus::Bus;
use schemas::subscription::Plan;
use schemas::{Currency, Envelope, Money, PaymentCreated, Provider};
use teloxide::prelude::*;
use teloxide::types::{
    InlineKeyboardButton, InlineKeyboardMarkup, LabeledPrice, PreCheckoutQuery, RefundedPayment,
    Seconds, SuccessfulPayment,
};

use crate::main_bot::Payments;
use crate::polling::patiently;

/// Callback data of the "Оплатить" button.
pub const PAY: &str = "p";

/// Where the user is in the flow; parsed strictly from callback data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Choose a plan.
    Plans,
    /// Choose how to pay for this plan.
    Provider(String),
    /// Pay for this plan with YooKassa.
    YooKassa(String),
    /// Pay for this plan in Telegram Stars.
    Stars(String),
    /// Subscribe to this (30-day) plan in Telegram Stars, renewed by Telegram.
    StarsSubscription(String),
}

/// The only period Telegram offers for Stars subscriptions.
pub const STARS_SUBSCRIPTION_DAYS: u32 = 30;

impl Step {
    pub fn parse(data: &str, plans: &[Plan]) -> Option<Self> {
        if data == PAY {
            return Some(Step::Plans);
        }
        let known = |slug: &str| plans.iter().any(|p| p.slug == slug);
        if let Some(slug) = data.strip_prefix("p:").filter(|s| known(s)) {
            return Some(Step::Provider(slug.to_owned()));
        }
        if let Some(slug) = data.strip_prefix("ps:").filter(|s| known(s)) {
            return Some(Step::Stars(slug.to_owned()));
        }
        let monthly = |slug: &str| {
            plans
                .iter()
                .any(|p| p.slug == slug && p.days == STARS_SUBSCRIPTION_DAYS)
        };
        if let Some(slug) = data.strip_prefix("pr:").filter(|s| monthly(s)) {
            return Some(Step::StarsSubscription(slug.to_owned()));
        }
        data.strip_prefix("py:")
            .filter(|s| known(s))
            .map(|slug| Step::YooKassa(slug.to_owned()))
    }
}

pub async fn show(
    bot: &Bot,
    bus: &Bus,
    payments: &Payments,
    user_id: i64,
    step: Step,
) -> anyhow::Result<()> {
    let chat = ChatId(user_id);
    let plan = |slug: &str| payments.plans.iter().find(|p| p.slug == slug);
    match step {
        Step::Plans => {
            let rows = payments.plans.iter().map(|p| {
                vec![InlineKeyboardButton::callback(
                    format!("{} — {} ₽", p.name, p.rub),
                    format!("p:{}", p.slug),
                )]
            });
            let text = "Выберите срок подписки:";
            patiently(
                bot.send_message(chat, text)
                    .reply_markup(InlineKeyboardMarkup::new(rows)),
            )
            .await?;
        }
        Step::Provider(slug) => {
            let Some(plan) = plan(&slug) else {
                return Ok(());
            };
            let text = format!("{} — {} ₽. Как оплатить?", plan.name, plan.rub);
            let mut rows = Vec::new();
            if payments.yookassa.is_some() {
                rows.push([InlineKeyboardButton::callback(
                    "💳 Картой или СБП (ЮKassa)",
                    format!("py:{}", plan.slug),
                )]);
            }
            if payments.stars {
                rows.push([InlineKeyboardButton::callback(
                    format!("⭐ {} Telegram Stars", plan.stars),
                    format!("ps:{}", plan.slug),
                )]);
                if plan.days == STARS_SUBSCRIPTION_DAYS {
                    rows.push([InlineKeyboardButton::callback(
                        format!("🔁 {} ⭐ каждый месяц (автопродление)", plan.stars),
                        format!("pr:{}", plan.slug),
                    )]);
                }
            }
            let keyboard = InlineKeyboardMarkup::new(rows);
            patiently(bot.send_message(chat, text).reply_markup(keyboard)).await?;
        }
        Step::YooKassa(slug) => {
            let (Some(plan), Some(yookassa)) = (plan(&slug), &payments.yookassa) else {
                return Ok(());
            };
            let checkout = billing::checkout::yookassa(
                bus,
                &yookassa.client,
                user_id,
                plan,
                &yookassa.return_url,
            )
            .await?;
            let url = url::Url::parse(&checkout.confirmation_url)?;
            let text = format!(
                "Счёт на {} ₽ за «{}». Подписка включится сама, как только оплата пройдёт.",
                plan.rub, plan.name
            );
            let keyboard =
                InlineKeyboardMarkup::new([[InlineKeyboardButton::url("Перейти к оплате", url)]]);
            patiently(bot.send_message(chat, text).reply_markup(keyboard)).await?;
        }
        Step::Stars(slug) => {
            let Some(plan) = plan(&slug).filter(|_| payments.stars) else {
                return Ok(());
            };
            let payment_id = stars_payment_created(bus, user_id, plan).await?;
            let price = LabeledPrice::new(plan.name.clone(), plan.stars);
            let invoice = bot.send_invoice(
                chat,
                format!("Подписка: {}", plan.name),
                "Свежие заказы из фриланс-каналов в Telegram",
                payment_id,
                "XTR",
                [price],
            );
            patiently(invoice).await?;
        }
        Step::StarsSubscription(slug) => {
            let Some(plan) = plan(&slug).filter(|_| payments.stars) else {
                return Ok(());
            };
            let payment_id = stars_payment_created(bus, user_id, plan).await?;
            let price = LabeledPrice::new(plan.name.clone(), plan.stars);
            let period = Seconds::from_seconds(STARS_SUBSCRIPTION_DAYS * 24 * 60 * 60);
            let link = bot
                .create_invoice_link(
                    format!("Подписка: {} (автопродление)", plan.name),
                    "Свежие заказы из фриланс-каналов в Telegram, продлевается каждый месяц",
                    payment_id,
                    "XTR",
                    [price],
                )
                .subscription_period(period);
            let link = url::Url::parse(&patiently(link).await?)?;
            let text = format!(
                "Подписка за {} ⭐ в месяц. Telegram продлевает её сама; отменить можно в настройках Telegram.",
                plan.stars
            );
            let keyboard = InlineKeyboardMarkup::new([[InlineKeyboardButton::url(
                "⭐ Оформить подписку",
                link,
            )]]);
            patiently(bot.send_message(chat, text).reply_markup(keyboard)).await?;
        }
    }
    Ok(())
}

/// Records the Stars payment an invoice is about to ask for; its id is the invoice's payload.
async fn stars_payment_created(bus: &Bus, user_id: i64, plan: &Plan) -> anyhow::Result<String> {
    let payment_id = format!("st-{}", uuid::Uuid::now_v7());
    let created = PaymentCreated {
        payment_id: payment_id.clone(),
        user_id,
        plan: plan.slug.clone(),
        days: plan.days,
        provider: Provider::Stars,
        amount: Money {
            minor: i64::from(plan.stars),
            currency: Currency::Xtr,
        },
        provider_payment_id: None,
    };
    bus.publish(&Envelope::new(created)).await?;
    Ok(payment_id)
}

/// Our id for a renewal of a Stars subscription: one per Telegram charge, the same however
/// often Telegram reports it.
fn renewal_payment_id(charge: &str) -> String {
    let id = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, charge.as_bytes());
    format!("st-{id}")
}

/// The Stars payment our invoice's payload names, if it is one.
async fn stars_payment(bus: &Bus, payload: &str) -> anyhow::Result<Option<PaymentCreated>> {
    if !payload.starts_with("st-") || payload.contains(['.', '*', '>', ' ']) {
        return Ok(None);
    }
    Ok(billing::ledger::created(bus, payload)
        .await?
        .filter(|created| created.provider == Provider::Stars))
}

/// Whether a Stars payment of `total` by `user_id` for `payload` is the one we invoiced.
fn matches(created: &PaymentCreated, user_id: i64, currency: &str, total: u32) -> bool {
    created.user_id == user_id
        && currency == "XTR"
        && created.amount.currency == Currency::Xtr
        && created.amount.minor == i64::from(total)
}

/// Telegram asks before charging (answer within 10 s): only our own, untampered invoice that
/// is not paid yet passes. (A subscription's renewals come without asking.)
pub async fn pre_checkout(bot: &Bot, bus: &Bus, query: &PreCheckoutQuery) -> anyhow::Result<()> {
    let payload = &query.invoice_payload;
    let created = stars_payment(bus, payload).await?;
    let ours = created.is_some_and(|c| {
        matches(
            &c,
            query.from.id.0 as i64,
            &query.currency,
            query.total_amount,
        )
    });
    // A second payment of one invoice would be charged and give nothing: refuse it.
    let paid = ours && billing::ledger::succeeded(bus, payload).await?.is_some();
    let answer = bot.answer_pre_checkout_query(query.id.clone(), ours && !paid);
    if ours && !paid {
        answer.await?;
    } else if paid {
        tracing::warn!(%payload, "pre-checkout refused: the invoice is paid already");
        answer
            .error_message(
                "Этот счёт уже оплачен — подписка активна. Продлить её можно в «Оплатить»",
            )
            .await?;
    } else {
        tracing::warn!(%payload, "pre-checkout refused: not our invoice");
        answer
            .error_message("Счёт устарел — откройте «Оплатить» ещё раз")
            .await?;
    }
    Ok(())
}

/// Telegram charged the user: the payment's success and its days, once however often the
/// update comes. A subscription's renewal reuses the first invoice's payload: it becomes a
/// payment of its own, named after Telegram's charge.
pub async fn stars_paid(
    bot: &Bot,
    bus: &Bus,
    user_id: i64,
    payment: &SuccessfulPayment,
) -> anyhow::Result<()> {
    let charge = Charge {
        user_id,
        payload: &payment.invoice_payload,
        id: &payment.telegram_payment_charge_id.0,
        currency: &payment.currency,
        total: payment.total_amount,
    };
    let renewal = payment.is_recurring && !payment.is_first_recurring;
    settle_charge(bot, bus, &charge, renewal).await?;
    Ok(())
}

/// One charge Telegram made for one of our invoices, as its update or its star transaction
/// tells it.
pub(crate) struct Charge<'a> {
    pub user_id: i64,
    pub payload: &'a str,
    /// Telegram's charge id (`telegram_payment_charge_id`, the star transaction's id).
    pub id: &'a str,
    pub currency: &'a str,
    pub total: u32,
}

/// What settling a charge did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Settled {
    /// Days added now (and the user told).
    Activated,
    /// This charge was settled before.
    Already,
    /// Not a charge of ours, or not the invoice's amount or payer: nothing done.
    Ignored,
}

/// A charge's success and its days, once: a renewal becomes a payment of its own, named after
/// the charge. The user is told by whichever settling adds the days.
pub(crate) async fn settle_charge(
    bot: &Bot,
    bus: &Bus,
    charge: &Charge<'_>,
    renewal: bool,
) -> anyhow::Result<Settled> {
    let Some(invoiced) = stars_payment(bus, charge.payload).await? else {
        tracing::warn!(payload = %charge.payload, "a Stars payment for no invoice of ours");
        return Ok(Settled::Ignored);
    };
    if !matches(&invoiced, charge.user_id, charge.currency, charge.total) {
        tracing::warn!(payload = %charge.payload, "a Stars payment that does not match its invoice");
        return Ok(Settled::Ignored);
    }
    let created = if renewal {
        let renewal = PaymentCreated {
            payment_id: renewal_payment_id(charge.id),
            provider_payment_id: Some(charge.id.to_owned()),
            ..invoiced
        };
        bus.publish(&Envelope::new(renewal.clone())).await?;
        renewal
    } else {
        invoiced
    };
    let Some(extension) = billing::activate::payment_succeeded(bus, &created, charge.id).await?
    else {
        return Ok(Settled::Already);
    };
    let renewed = if created.payment_id == charge.payload {
        "Оплата прошла!"
    } else {
        "Подписка продлена!"
    };
    let text = format!(
        "✅ {renewed} Подписка активна до {} (UTC).",
        extension.until.format("%d.%m.%Y %H:%M")
    );
    patiently(bot.send_message(ChatId(charge.user_id), text)).await?;
    Ok(Settled::Activated)
}

/// Telegram refunded a Stars charge (through `billing refund`, or on its own): the refund
/// recorded and the unused days taken back, once; the user told.
pub async fn stars_refunded(
    bot: &Bot,
    bus: &Bus,
    user_id: i64,
    refunded: &RefundedPayment,
) -> anyhow::Result<()> {
    let charge = &refunded.telegram_payment_charge_id.0;
    settle_refund(bot, bus, user_id, &refunded.invoice_payload, charge).await?;
    Ok(())
}

/// The refund of `charge` recorded and its unused days taken back, once; the user told by
/// whichever settling records it. False when it was recorded before or is not ours.
pub(crate) async fn settle_refund(
    bot: &Bot,
    bus: &Bus,
    user_id: i64,
    payload: &str,
    charge: &str,
) -> anyhow::Result<bool> {
    let Some(created) = charged_payment(bus, payload, charge).await? else {
        tracing::warn!(%payload, "a Stars refund of no payment of ours");
        return Ok(false);
    };
    if created.user_id != user_id {
        tracing::warn!(payment = %created.payment_id, "a Stars refund for another user's payment");
        return Ok(false);
    }
    let refund = Refund {
        refund_id: stars_refund_id(charge),
        amount: created.amount,
        admin_id: None,
        reason: None,
    };
    let recorded = billing::activate::refund_succeeded(bus, &created, refund).await?;
    if recorded.new {
        let text = user_news(&recorded, created.amount);
        patiently(bot.send_message(ChatId(user_id), text)).await?;
    }
    Ok(recorded.new)
}

/// Our Stars payment that Telegram's `charge` paid: a renewal's own, or the invoice's first.
async fn charged_payment(
    bus: &Bus,
    payload: &str,
    charge: &str,
) -> anyhow::Result<Option<PaymentCreated>> {
    for payment_id in [renewal_payment_id(charge), payload.to_owned()] {
        let paid_by_charge = billing::ledger::succeeded(bus, &payment_id)
            .await?
            .is_some_and(|s| s.provider_payment_id == charge);
        if paid_by_charge {
            return stars_payment(bus, &payment_id).await;
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_parse_only_known_plans() {
        let plans = vec![Plan {
            slug: "week".into(),
            name: "1 неделя".into(),
            days: 7,
            rub: 199,
            stars: 100,
        }];
        assert_eq!(Step::parse("p", &plans), Some(Step::Plans));
        assert_eq!(
            Step::parse("p:week", &plans),
            Some(Step::Provider("week".into()))
        );
        assert_eq!(
            Step::parse("py:week", &plans),
            Some(Step::YooKassa("week".into()))
        );
        assert_eq!(
            Step::parse("ps:week", &plans),
            Some(Step::Stars("week".into()))
        );
        // a Stars subscription only for a 30-day plan (Telegram's only period)
        assert_eq!(Step::parse("pr:week", &plans), None);
        let month = Plan {
            slug: "month".into(),
            days: 30,
            ..plans[0].clone()
        };
        assert_eq!(
            Step::parse("pr:month", &[month]),
            Some(Step::StarsSubscription("month".into()))
        );
        for forged in ["p:year", "py:", "py:year", "pz:week", "p:week:1", "pr:year"] {
            assert_eq!(Step::parse(forged, &plans), None, "{forged}");
        }
    }
}
