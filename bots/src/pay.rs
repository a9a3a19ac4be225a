//! "Оплатить" in the main bot: the plans, then the provider, then the payment link or invoice.
//! The subscription switches on by itself when YooKassa reports the payment (the billing
//! service) or Telegram reports a Stars payment (here), and the user is told then. A monthly
//! plan can also be a Stars subscription that Telegram renews every 30 days; each renewal is a
//! payment of its own. Stars refunds (ours or Telegram's) take back the unused days.

use billing::activate::Refund;
use billing::refund::{stars_refund_id, user_news};
use bus::Bus;
use schemas::subscription::Plan;
use schemas::{Currency, Envelope, Money, PaymentCreated, Provider, StarsSubscriptionCharged};
use teloxide::prelude::*;
use teloxide::types::{
    InlineKeyboardButton, InlineKeyboardMarkup, LabeledPrice, PreCheckoutQuery, RefundedPayment,
    Seconds, SuccessfulPayment,
};

use crate::live_menu::{Place, draw};
use crate::main_bot::Payments;
use crate::menu::{Screen, button};
use crate::polling::patiently;
use fanout::card::escape;
use schemas::callback::MenuAction;

/// The only period Telegram offers for Stars subscriptions.
pub const STARS_SUBSCRIPTION_DAYS: u32 = 30;

/// What a plan costs in the ways to pay that are on offer.
pub fn price(plan: &Plan, payments: &Payments) -> String {
    match (payments.yookassa.is_some(), payments.stars) {
        (true, true) => format!("{} ₽ или {} ⭐", plan.rub, plan.stars),
        (true, false) => format!("{} ₽", plan.rub),
        (false, _) => format!("{} ⭐", plan.stars),
    }
}

/// The ways to pay that are on offer, in words (the help names them).
pub fn methods(payments: &Payments) -> String {
    let mut methods = Vec::new();
    if payments.yookassa.is_some() {
        methods.push("картой или СБП (ЮKassa)");
    }
    if payments.stars {
        methods.push("Telegram Stars");
    }
    methods.join(" или ")
}

/// The bot's side of one step of "Оплатить".
pub(crate) struct Shop<'a> {
    pub bot: &'a Bot,
    pub bus: &'a Bus,
    pub pool: &'a sqlx::PgPool,
    pub payments: &'a Payments,
}

impl Shop<'_> {
    /// Draws the step `action` names into the menu at `place` (an invoice is a message of its
    /// own); the note for the tap, or `None` when the action is not a payment step. A plan not on
    /// sale (any more) is a stale button.
    pub async fn show(
        &self,
        user_id: i64,
        action: &MenuAction,
        place: Place,
    ) -> anyhow::Result<Option<String>> {
        let payments = self.payments;
        let plan = |slug: &str| payments.plans.iter().find(|p| p.slug == slug);
        let stale = || Some("Этот тариф больше не продаётся — откройте /pay".to_owned());
        let screen = match action {
            MenuAction::Plans => {
                let mut rows: Vec<Vec<InlineKeyboardButton>> = payments
                    .plans
                    .iter()
                    .map(|p| {
                        vec![button(
                            format!("{} — {}", p.name, price(p, payments)),
                            &MenuAction::Provider(p.slug.clone()),
                        )]
                    })
                    .collect();
                rows.push(vec![button("← Назад", &MenuAction::Menu)]);
                Screen {
                    text: "<b>Оплата</b>\nВыберите срок подписки:".to_owned(),
                    keyboard: InlineKeyboardMarkup::new(rows),
                }
            }
            MenuAction::Provider(slug) => {
                let Some(plan) = plan(slug) else {
                    return Ok(stale());
                };
                let mut rows = Vec::new();
                if payments.yookassa.is_some() {
                    rows.push(vec![button(
                        format!("💳 {} ₽ картой или СБП (ЮKassa)", plan.rub),
                        &MenuAction::YooKassa(plan.slug.clone()),
                    )]);
                }
                if payments.stars {
                    rows.push(vec![button(
                        format!("⭐ {} Telegram Stars", plan.stars),
                        &MenuAction::Stars(plan.slug.clone()),
                    )]);
                    if plan.days == STARS_SUBSCRIPTION_DAYS {
                        rows.push(vec![button(
                            format!("🔁 {} ⭐ каждый месяц (автопродление)", plan.stars),
                            &MenuAction::StarsSubscription(plan.slug.clone()),
                        )]);
                    }
                }
                rows.push(vec![button("← Назад", &MenuAction::Plans)]);
                Screen {
                    text: format!(
                        "<b>{}</b> — {}, {}. Как оплатить?",
                        escape(&plan.name),
                        price(plan, payments),
                        fanout::wording::days(u64::from(plan.days))
                    ),
                    keyboard: InlineKeyboardMarkup::new(rows),
                }
            }
            MenuAction::YooKassa(slug) => {
                let (Some(plan), Some(yookassa)) = (plan(slug), &payments.yookassa) else {
                    return Ok(stale());
                };
                let checkout = billing::checkout::yookassa(
                    self.bus,
                    &yookassa.client,
                    user_id,
                    plan,
                    &yookassa.return_url,
                )
                .await?;
                let url = url::Url::parse(&checkout.confirmation_url)?;
                Screen {
                    text: format!(
                        "Счёт на {} ₽ за «{}». Подписка включится сама, как только оплата пройдёт.",
                        plan.rub,
                        escape(&plan.name)
                    ),
                    keyboard: InlineKeyboardMarkup::new([
                        vec![InlineKeyboardButton::url("Перейти к оплате", url)],
                        vec![button("← Назад", &MenuAction::Provider(plan.slug.clone()))],
                    ]),
                }
            }
            MenuAction::Stars(slug) => {
                let Some(plan) = plan(slug).filter(|_| payments.stars) else {
                    return Ok(stale());
                };
                let payment_id = stars_payment_created(self.bus, user_id, plan).await?;
                let price = LabeledPrice::new(plan.name.clone(), plan.stars);
                let invoice = self.bot.send_invoice(
                    ChatId(user_id),
                    format!("Подписка: {}", plan.name),
                    "Свежие заказы из фриланс-каналов в Telegram",
                    payment_id,
                    "XTR",
                    [price],
                );
                patiently(invoice).await?;
                return Ok(Some("Счёт — ниже".to_owned()));
            }
            MenuAction::StarsSubscription(slug) => {
                let Some(plan) =
                    plan(slug).filter(|p| payments.stars && p.days == STARS_SUBSCRIPTION_DAYS)
                else {
                    return Ok(stale());
                };
                let payment_id = stars_payment_created(self.bus, user_id, plan).await?;
                let price = LabeledPrice::new(plan.name.clone(), plan.stars);
                let period = Seconds::from_seconds(STARS_SUBSCRIPTION_DAYS * 24 * 60 * 60);
                let link = self
                    .bot
                    .create_invoice_link(
                        format!("Подписка: {} (автопродление)", plan.name),
                        "Свежие заказы из фриланс-каналов в Telegram, продлевается каждый месяц",
                        payment_id,
                        "XTR",
                        [price],
                    )
                    .subscription_period(period);
                let link = url::Url::parse(&patiently(link).await?)?;
                Screen {
                    text: format!(
                        "Подписка за {} ⭐ в месяц. Telegram продлевает её сама; отменить можно в «Моя подписка» или в настройках Telegram.",
                        plan.stars
                    ),
                    keyboard: InlineKeyboardMarkup::new([
                        vec![InlineKeyboardButton::url("⭐ Оформить подписку", link)],
                        vec![button("← Назад", &MenuAction::Provider(plan.slug.clone()))],
                    ]),
                }
            }
            _ => return Ok(None),
        };
        draw(self.bot, self.bus, self.pool, user_id, &screen, place).await?;
        Ok(Some(String::new()))
    }
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

/// Our id for a charge that is not its invoice's first (a renewal, a second charge): one per
/// Telegram charge, the same however often Telegram reports it.
fn charge_payment_id(charge: &str) -> String {
    let id = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, charge.as_bytes());
    format!("st-{id}")
}

/// The Stars payment our invoice's payload names, if it is one.
async fn stars_payment(bus: &Bus, payload: &str) -> anyhow::Result<Option<PaymentCreated>> {
    Ok(stars_invoice(bus, payload)
        .await?
        .map(|(created, _)| created))
}

/// The Stars payment our invoice's payload names and when we created it (one read).
async fn stars_invoice(
    bus: &Bus,
    payload: &str,
) -> anyhow::Result<Option<(PaymentCreated, chrono::DateTime<chrono::Utc>)>> {
    if !payload.starts_with("st-") || payload.contains(['.', '*', '>', ' ']) {
        return Ok(None);
    }
    let subject = <PaymentCreated as schemas::EventType>::subject_of(payload);
    Ok(bus.last_on_subject(&subject).await?.and_then(|stored| {
        let at = stored.envelope.occurred_at;
        match stored.envelope.event {
            schemas::Event::PaymentCreated(created) if created.provider == Provider::Stars => {
                Some((created, at))
            }
            _ => None,
        }
    }))
}

/// Whether a Stars payment of `total` by `user_id` for `payload` is the one we invoiced.
fn matches(created: &PaymentCreated, user_id: i64, currency: &str, total: u32) -> bool {
    created.user_id == user_id
        && currency == "XTR"
        && created.amount.currency == Currency::Xtr
        && created.amount.minor == i64::from(total)
}

/// How long a Stars invoice can be paid: an older one is refused at the pre-checkout (prices
/// and plans may have changed since).
pub const INVOICE_LIFETIME: chrono::Duration = chrono::Duration::hours(24);

/// Why a pre-checkout is refused, in the words the payer reads.
fn refusal(ours: bool, paid: bool, expired: bool) -> Option<&'static str> {
    if !ours {
        Some("Счёт устарел — откройте «Оплатить» ещё раз")
    } else if paid {
        Some("Этот счёт уже оплачен — подписка активна. Продлить её можно в «Оплатить»")
    } else if expired {
        Some("Счёт просрочен — откройте «Оплатить» и возьмите новый")
    } else {
        None
    }
}

/// Telegram asks before charging (answer within 10 s): only our own, untampered invoice, of
/// this payer, not paid yet and not expired, passes. (A subscription's renewals come without
/// asking.)
pub async fn pre_checkout(bot: &Bot, bus: &Bus, query: &PreCheckoutQuery) -> anyhow::Result<()> {
    let payload = &query.invoice_payload;
    let invoice = stars_invoice(bus, payload).await?;
    let ours = invoice.as_ref().is_some_and(|(created, _)| {
        matches(
            created,
            query.from.id.0 as i64,
            &query.currency,
            query.total_amount,
        )
    });
    // A second payment of one invoice would be charged for nothing: refuse it.
    let paid = ours && billing::ledger::succeeded(bus, payload).await?.is_some();
    let expired = ours
        && invoice
            .is_some_and(|(_, created_at)| chrono::Utc::now() - created_at > INVOICE_LIFETIME);
    let why = refusal(ours, paid, expired);
    let answer = bot.answer_pre_checkout_query(query.id.clone(), why.is_none());
    match why {
        None => answer.await?,
        Some(why) => {
            tracing::warn!(%payload, paid, expired, "pre-checkout refused");
            answer.error_message(why).await?
        }
    };
    Ok(())
}

/// Telegram charged the user: the payment's success and its days, once however often the
/// update comes. A subscription's renewal reuses the first invoice's payload: it becomes a
/// payment of its own, named after Telegram's charge.
pub async fn stars_paid(
    bot: &Bot,
    bus: &Bus,
    pool: &sqlx::PgPool,
    user_id: i64,
    payment: &SuccessfulPayment,
) -> anyhow::Result<()> {
    let charge = Charge {
        user_id,
        payload: &payment.invoice_payload,
        id: &payment.telegram_payment_charge_id.0,
        currency: &payment.currency,
        total: payment.total_amount,
        // Telegram names the month's end; a month from now if it did not.
        subscription_until: payment.is_recurring.then(|| {
            payment
                .subscription_expiration_date
                .unwrap_or_else(|| chrono::Utc::now() + STARS_SUBSCRIPTION_PERIOD)
        }),
    };
    let renewal = payment.is_recurring && !payment.is_first_recurring;
    settle_charge(bot, bus, pool, &charge, renewal).await?;
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
    /// For a subscription's charge (its first month or a renewal): when the month it paid
    /// for ends.
    pub subscription_until: Option<chrono::DateTime<chrono::Utc>>,
}

/// The one period Telegram allows a Stars subscription.
pub const STARS_SUBSCRIPTION_PERIOD: chrono::Duration =
    chrono::Duration::days(STARS_SUBSCRIPTION_DAYS as i64);

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

/// A charge's success and its days, once. The invoice's first charge pays the invoice's own
/// payment; any other charge — a subscription's renewal, or a second charge of a one-time
/// invoice that Telegram made despite the pre-checkout — becomes a payment of its own, named
/// after the charge, and gives its days too: money taken is never swallowed. The user is told
/// by whichever settling adds the days.
pub(crate) async fn settle_charge(
    bot: &Bot,
    bus: &Bus,
    pool: &sqlx::PgPool,
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
    let first_paid = billing::ledger::succeeded(bus, charge.payload).await?;
    let paid_by_another_charge = first_paid
        .as_ref()
        .is_some_and(|paid| paid.provider_payment_id != charge.id);
    if let Some(paid_until) = charge.subscription_until {
        // Recorded before the days, so «Моя подписка» knows it by the time the user is told.
        let first_charge_id = match first_paid {
            Some(first) if paid_by_another_charge => first.provider_payment_id,
            _ => charge.id.to_owned(),
        };
        let charged = StarsSubscriptionCharged {
            subscription_id: charge.payload.to_owned(),
            user_id: charge.user_id,
            plan: invoiced.plan.clone(),
            first_charge_id,
            charge_id: charge.id.to_owned(),
            stars: charge.total,
            paid_until,
        };
        bus.publish(&Envelope::new(charged)).await?;
    }
    let news = match (renewal, paid_by_another_charge) {
        (true, _) => "Подписка продлена!",
        (false, true) => {
            tracing::warn!(payload = %charge.payload, charge = %charge.id, "a second charge of a paid Stars invoice: recorded as a payment of its own");
            "Повторная оплата того же счёта засчитана: дни добавлены."
        }
        (false, false) => "Оплата прошла!",
    };
    let created = if renewal || paid_by_another_charge {
        let own = PaymentCreated {
            payment_id: charge_payment_id(charge.id),
            provider_payment_id: Some(charge.id.to_owned()),
            ..invoiced
        };
        bus.publish(&Envelope::new(own.clone())).await?;
        own
    } else {
        invoiced
    };
    let Some(extension) = billing::activate::payment_succeeded(bus, &created, charge.id).await?
    else {
        return Ok(Settled::Already);
    };
    let zone = fanout::wording::zone_of(pool, charge.user_id).await;
    let mut text = format!(
        "✅ {news} Подписка активна до {}.",
        fanout::wording::moment(extension.until, zone)
    );
    if let Some(paid_until) = charge.subscription_until {
        text.push_str(&format!(
            " Следующее списание — {}; отменить автопродление можно в «Моя подписка».",
            fanout::wording::moment(paid_until, zone)
        ));
    }
    patiently(bot.send_message(ChatId(charge.user_id), text)).await?;
    Ok(Settled::Activated)
}

/// Telegram refunded a Stars charge (through `billing refund`, or on its own): the refund
/// recorded and the unused days taken back, once; the user told.
pub async fn stars_refunded(
    bot: &Bot,
    bus: &Bus,
    pool: &sqlx::PgPool,
    user_id: i64,
    refunded: &RefundedPayment,
) -> anyhow::Result<()> {
    let charge = &refunded.telegram_payment_charge_id.0;
    settle_refund(bot, bus, pool, user_id, &refunded.invoice_payload, charge).await?;
    Ok(())
}

/// The refund of `charge` recorded and its unused days taken back, once; the user told by
/// whichever settling records it. False when it was recorded before or is not ours.
pub(crate) async fn settle_refund(
    bot: &Bot,
    bus: &Bus,
    pool: &sqlx::PgPool,
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
        let zone = fanout::wording::zone_of(pool, user_id).await;
        let text = user_news(&recorded, created.amount, zone);
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
    for payment_id in [charge_payment_id(charge), payload.to_owned()] {
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

    fn payments(yookassa: bool, stars: bool) -> Payments {
        Payments {
            plans: Vec::new(),
            yookassa: yookassa.then(|| crate::main_bot::YooKassaCheckout {
                client: billing::yookassa::YooKassa::new("http://127.0.0.1:9", "1", "s"),
                return_url: "https://t.me/rh_main_bot".into(),
            }),
            stars,
        }
    }

    #[test]
    fn plans_are_priced_in_the_currency_on_offer() {
        let week = Plan {
            slug: "week".into(),
            name: "1 неделя".into(),
            days: 7,
            rub: 199,
            stars: 100,
        };
        assert_eq!(price(&week, &payments(false, true)), "100 ⭐");
        assert_eq!(price(&week, &payments(true, false)), "199 ₽");
        assert_eq!(price(&week, &payments(true, true)), "199 ₽ или 100 ⭐");
        assert_eq!(
            methods(&payments(true, true)),
            "картой или СБП (ЮKassa) или Telegram Stars"
        );
    }
}
