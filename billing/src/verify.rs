//! Whether a payment YooKassa reports may activate anything: pure, so every forgery is a table
//! row in the tests. Only what we read back from the API counts, checked against the payment we
//! created: its provider id, amount, currency and our payment id in the metadata.

use schemas::PaymentCreated;

use crate::yookassa::{Payment, amount_value};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("payment {0} is {1}, not succeeded")]
    NotSucceeded(String, String),
    #[error("payment {0} carries none of our payment ids")]
    NoMetadata(String),
    #[error("payment {provider} is not the one we created for {ours}")]
    NotOurs { provider: String, ours: String },
    #[error("payment {0} is for {1} {2}, we asked for {3} RUB")]
    WrongAmount(String, String, String, String),
}

pub fn verify(payment: &Payment, created: &PaymentCreated) -> Result<(), Rejection> {
    if payment.status != "succeeded" || !payment.paid {
        return Err(Rejection::NotSucceeded(
            payment.id.clone(),
            payment.status.clone(),
        ));
    }
    let ours = payment
        .metadata("payment_id")
        .ok_or_else(|| Rejection::NoMetadata(payment.id.clone()))?;
    if ours != created.payment_id
        || created.provider_payment_id.as_deref() != Some(payment.id.as_str())
    {
        return Err(Rejection::NotOurs {
            provider: payment.id.clone(),
            ours: ours.to_owned(),
        });
    }
    let expected = amount_value(created.amount.minor);
    if payment.amount.value != expected || payment.amount.currency != "RUB" {
        return Err(Rejection::WrongAmount(
            payment.id.clone(),
            payment.amount.value.clone(),
            payment.amount.currency.clone(),
            expected,
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yookassa::Amount;
    use schemas::{Currency, Money, Provider};
    use serde_json::json;

    fn created() -> PaymentCreated {
        PaymentCreated {
            payment_id: "pay-1".into(),
            user_id: 7,
            plan: "week".into(),
            days: 7,
            provider: Provider::Yookassa,
            amount: Money {
                minor: 19_900,
                currency: Currency::Rub,
            },
            provider_payment_id: Some("yk-1".into()),
        }
    }

    fn payment(id: &str, status: &str, value: &str, currency: &str, ours: Option<&str>) -> Payment {
        Payment {
            id: id.into(),
            status: status.into(),
            paid: status == "succeeded",
            amount: Amount {
                value: value.into(),
                currency: currency.into(),
            },
            metadata: ours.map(|o| {
                json!({"payment_id": o})
                    .as_object()
                    .cloned()
                    .unwrap_or_default()
            }),
            confirmation: None,
        }
    }

    #[test]
    fn only_the_payment_we_created_paid_in_full_activates() {
        let ok = payment("yk-1", "succeeded", "199.00", "RUB", Some("pay-1"));
        assert_eq!(verify(&ok, &created()), Ok(()));
        for (forged, why) in [
            (
                payment("yk-1", "pending", "199.00", "RUB", Some("pay-1")),
                "not paid yet",
            ),
            (
                payment("yk-1", "canceled", "199.00", "RUB", Some("pay-1")),
                "canceled",
            ),
            (
                payment("yk-1", "succeeded", "1.00", "RUB", Some("pay-1")),
                "another amount",
            ),
            (
                payment("yk-1", "succeeded", "199.00", "USD", Some("pay-1")),
                "another currency",
            ),
            (
                payment("yk-2", "succeeded", "199.00", "RUB", Some("pay-1")),
                "another payment",
            ),
            (
                payment("yk-1", "succeeded", "199.00", "RUB", Some("pay-9")),
                "another user's",
            ),
            (
                payment("yk-1", "succeeded", "199.00", "RUB", None),
                "no metadata",
            ),
        ] {
            assert!(verify(&forged, &created()).is_err(), "{why}");
        }
    }
}
