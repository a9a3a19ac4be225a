//! Looking payments up in the PAYMENTS stream, the record every decision is checked against.

use bus::Bus;
use schemas::{Area, Event, PaymentCreated, PaymentSucceeded};

/// The payment we created under `payment_id`, if we did.
pub async fn created(bus: &Bus, payment_id: &str) -> anyhow::Result<Option<PaymentCreated>> {
    let subject = Area::Payments.subject("created", payment_id);
    Ok(match bus.last_on_subject(&subject).await? {
        Some(stored) => match stored.envelope.event {
            Event::PaymentCreated(created) => Some(created),
            _ => None,
        },
        None => None,
    })
}

/// How `payment_id` succeeded, if it did.
pub async fn succeeded(bus: &Bus, payment_id: &str) -> anyhow::Result<Option<PaymentSucceeded>> {
    let subject = Area::Payments.subject("succeeded", payment_id);
    Ok(match bus.last_on_subject(&subject).await? {
        Some(stored) => match stored.envelope.event {
            Event::PaymentSucceeded(succeeded) => Some(succeeded),
            _ => None,
        },
        None => None,
    })
}
