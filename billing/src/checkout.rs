//! Starting a YooKassa payment for a user and a plan: create it at YooKassa (our payment id as
//! the Idempotence-Key, in the metadata too), record `PaymentCreated` with YooKassa's id, and
//! hand back the confirmation link for the user. The link is sent only after the record exists,
//! so every payment a user can pay is one we know.

use bus::Bus;
use schemas::subscription::Plan;
use schemas::{Currency, Envelope, Money, PaymentCreated, Provider};
use serde_json::json;

use crate::yookassa::YooKassa;

pub struct Checkout {
    pub payment_id: String,
    pub confirmation_url: String,
}

pub async fn yookassa(
    bus: &Bus,
    yookassa: &YooKassa,
    user_id: i64,
    plan: &Plan,
    return_url: &str,
) -> anyhow::Result<Checkout> {
    let payment_id = format!("yk-{}", uuid::Uuid::now_v7());
    let amount_minor = i64::from(plan.rub) * 100;
    let metadata =
        json!({"payment_id": payment_id, "user_id": user_id.to_string(), "plan": plan.slug});
    let description = format!("Подписка remotehunt: {}", plan.name);
    let payment = yookassa
        .create_payment(
            &payment_id,
            amount_minor,
            &description,
            return_url,
            metadata,
        )
        .await?;
    let confirmation_url = payment
        .confirmation_url()
        .ok_or_else(|| anyhow::anyhow!("YooKassa gave no confirmation link for {}", payment.id))?
        .to_owned();
    let created = PaymentCreated {
        payment_id: payment_id.clone(),
        user_id,
        plan: plan.slug.clone(),
        days: plan.days,
        provider: Provider::Yookassa,
        amount: Money {
            minor: amount_minor,
            currency: Currency::Rub,
        },
        provider_payment_id: Some(payment.id),
    };
    bus.publish(&Envelope::new(created)).await?;
    Ok(Checkout {
        payment_id,
        confirmation_url,
    })
}
