//! "Оплатить" in the main bot: the plans, then the provider, then the payment link. The
//! subscription switches on by itself when YooKassa reports the payment (the billing service),
//! and the user is told then.

use bus::Bus;
use schemas::subscription::Plan;
use teloxide::prelude::*;
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};

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
            let keyboard = InlineKeyboardMarkup::new([[InlineKeyboardButton::callback(
                "💳 Картой или СБП (ЮKassa)",
                format!("py:{}", plan.slug),
            )]]);
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
