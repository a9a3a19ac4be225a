//! "Оплатить" in the main bot: the plans, then the provider, then the payment link. The
//! subscription switches on by itself when YooKassa reports the payment (the billing service),
//! and the user is told then.

use bus::Bus;
use schemas::subscription::Plan;
use schemas::{Area, Currency, Envelope, Event, Money, PaymentCreated, Provider};
use teloxide::prelude::*;
use teloxide::types::{
    InlineKeyboardButton, InlineKeyboardMarkup, LabeledPrice, PreCheckoutQuery, SuccessfulPayment,
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
}

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
            let keyboard = InlineKeyboardMarkup::new([
                [InlineKeyboardButton::callback(
                    "💳 Картой или СБП (ЮKassa)",
                    format!("py:{}", plan.slug),
                )],
                [InlineKeyboardButton::callback(
                    format!("⭐ {} Telegram Stars", plan.stars),
                    format!("ps:{}", plan.slug),
                )],
            ]);
            patiently(bot.send_message(chat, text).reply_markup(keyboard)).await?;
        }
        Step::YooKassa(slug) => {
            let Some(plan) = plan(&slug) else {
                return Ok(());
            };
            let checkout = billing::checkout::yookassa(
                bus,
                &payments.yookassa,
                user_id,
                plan,
                &payments.return_url,
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
            let Some(plan) = plan(&slug) else {
                return Ok(());
            };
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
            let id = format!("payment:{payment_id}:created");
            bus.publish(&Envelope::with_id(id, created)).await?;
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
    }
    Ok(())
}

/// The Stars payment our invoice's payload names, if it is one.
async fn stars_payment(bus: &Bus, payload: &str) -> anyhow::Result<Option<PaymentCreated>> {
    if !payload.starts_with("st-") {
        return Ok(None);
    }
    let subject = Area::Payments.subject("created", payload);
    Ok(match bus.last_on_subject(&subject).await? {
        Some(stored) => match stored.envelope.event {
            Event::PaymentCreated(created) if created.provider == Provider::Stars => Some(created),
            _ => None,
        },
        None => None,
    })
}

/// Whether a Stars payment of `total` by `user_id` for `payload` is the one we invoiced.
fn matches(created: &PaymentCreated, user_id: i64, currency: &str, total: u32) -> bool {
    created.user_id == user_id
        && currency == "XTR"
        && created.amount.currency == Currency::Xtr
        && created.amount.minor == i64::from(total)
}

/// Telegram asks before charging (answer within 10 s): only our own, untampered invoice passes.
pub async fn pre_checkout(bot: &Bot, bus: &Bus, query: &PreCheckoutQuery) -> anyhow::Result<()> {
    let created = stars_payment(bus, &query.invoice_payload).await?;
    let ok = created.is_some_and(|c| {
        matches(
            &c,
            query.from.id.0 as i64,
            &query.currency,
            query.total_amount,
        )
    });
    let answer = bot.answer_pre_checkout_query(query.id.clone(), ok);
    if ok {
        answer.await?;
    } else {
        tracing::warn!(payload = %query.invoice_payload, "pre-checkout refused: not our invoice");
        answer
            .error_message("Счёт устарел — откройте «Оплатить» ещё раз")
            .await?;
    }
    Ok(())
}

/// Telegram charged the user: the payment's success and its days, once however often the
/// update comes.
pub async fn stars_paid(
    bot: &Bot,
    bus: &Bus,
    user_id: i64,
    payment: &SuccessfulPayment,
) -> anyhow::Result<()> {
    let Some(created) = stars_payment(bus, &payment.invoice_payload).await? else {
        tracing::warn!(payload = %payment.invoice_payload, "a Stars payment for no invoice of ours");
        return Ok(());
    };
    if !matches(&created, user_id, &payment.currency, payment.total_amount) {
        tracing::warn!(payload = %payment.invoice_payload, "a Stars payment that does not match its invoice");
        return Ok(());
    }
    let charge = &payment.telegram_payment_charge_id.0;
    if let Some(extension) = billing::activate::payment_succeeded(bus, &created, charge).await? {
        let text = format!(
            "✅ Оплата прошла! Подписка активна до {} (UTC).",
            extension.until.format("%d.%m.%Y %H:%M")
        );
        patiently(bot.send_message(ChatId(user_id), text)).await?;
    }
    Ok(())
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
        for forged in ["p:year", "py:", "py:year", "pz:week", "p:week:1"] {
            assert_eq!(Step::parse(forged, &plans), None, "{forged}");
        }
    }
}
