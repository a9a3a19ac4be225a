//! Looking payments up in the PAYMENTS stream, the record every decision is checked against.

use bus::{Bus, ReadError};
use schemas::{PaymentCreated, PaymentSucceeded};

/// The payment we created under `payment_id`, if we did.
pub async fn created(bus: &Bus, payment_id: &str) -> Result<Option<PaymentCreated>, ReadError> {
    bus.latest::<PaymentCreated>(payment_id).await
}

/// How `payment_id` succeeded, if it did.
pub async fn succeeded(bus: &Bus, payment_id: &str) -> Result<Option<PaymentSucceeded>, ReadError> {
    bus.latest::<PaymentSucceeded>(payment_id).await
}
