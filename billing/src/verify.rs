//! Whether a payment YooKassa reports may activate anything: pure, so every forgery is a table
//! row in the tests. Only what we read back from the API counts, checked against the payment we
//! created: its provider id, amount, currency and our payment id in the metadata.

use schemas::PaymentCreated;

use crate::yookassa::{Payment, Refund, amount_minor, amount_value};

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
    #[error("refund {0} is {1}, not succeeded")]
    RefundNotSucceeded(String, String),
    #[error("refund {0} returns {1} {2}, more than the payment's {3} RUB or not money")]
    WrongRefundAmount(String, String, String, String),
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

/// Whether a refund YooKassa reports is a finished refund of `payment` (itself verified as
/// ours) for no more than it took: the refunded kopecks.
pub fn verify_refund(
    refund: &Refund,
    payment: &Payment,
    created: &PaymentCreated,
) -> Result<i64, Rejection> {
    verify(payment, created)?;
    if refund.status != "succeeded" {
        return Err(Rejection::RefundNotSucceeded(
            refund.id.clone(),
            refund.status.clone(),
        ));
    }
    if refund.payment_id != payment.id {
        return Err(Rejection::NotOurs {
            provider: refund.payment_id.clone(),
            ours: created.payment_id.clone(),
        });
    }
    match amount_minor(&refund.amount.value) {
        Some(minor)
            if minor > 0 && minor <= created.amount.minor && refund.amount.currency == "RUB" =>
        {
            Ok(minor)
        }
        _ => Err(Rejection::WrongRefundAmount(
            refund.id.clone(),
            refund.amount.value.clone(),
            refund.amount.currency.clone(),
            amount_value(created.amount.minor),
        )),
    }
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

    fn refund(payment_id: &str, status: &str, value: &str, currency: &str) -> Refund {
        Refund {
            id: "rf-1".into(),
            payment_id: payment_id.into(),
            status: status.into(),
            amount: Amount {
                value: value.into(),
                currency: currency.into(),
            },
        }
    }

    #[test]
    fn only_a_finished_refund_of_our_paid_payment_counts_and_never_for_more() {
        let paid = payment("yk-1", "succeeded", "199.00", "RUB", Some("pay-1"));
        let full = refund("yk-1", "succeeded", "199.00", "RUB");
        assert_eq!(verify_refund(&full, &paid, &created()), Ok(19_900));
        let part = refund("yk-1", "succeeded", "50.5", "RUB");
        assert_eq!(verify_refund(&part, &paid, &created()), Ok(5_050));
        let unpaid = payment("yk-1", "pending", "199.00", "RUB", Some("pay-1"));
        for (refund, payment, why) in [
            (refund("yk-1", "pending", "199.00", "RUB"), &paid, "pending"),
            (
                refund("yk-1", "canceled", "199.00", "RUB"),
                &paid,
                "canceled",
            ),
            (
                refund("yk-2", "succeeded", "199.00", "RUB"),
                &paid,
                "another payment's",
            ),
            (
                refund("yk-1", "succeeded", "199.01", "RUB"),
                &paid,
                "more than paid",
            ),
            (refund("yk-1", "succeeded", "0.00", "RUB"), &paid, "nothing"),
            (
                refund("yk-1", "succeeded", "-1.00", "RUB"),
                &paid,
                "negative",
            ),
            (
                refund("yk-1", "succeeded", "1e3", "RUB"),
                &paid,
                "not a number",
            ),
            (
                refund("yk-1", "succeeded", "199.00", "USD"),
                &paid,
                "another currency",
            ),
            (
                refund("yk-1", "succeeded", "199.00", "RUB"),
                &unpaid,
                "an unpaid payment",
            ),
        ] {
            assert!(
                verify_refund(&refund, payment, &created()).is_err(),
                "{why}"
            );
        }
    }

    #[test]
    fn amounts_read_as_yookassa_writes_them() {
        for (value, minor) in [
            ("199.00", Some(19_900)),
            ("5", Some(500)),
            ("0.5", Some(50)),
            ("1.234", None),
            ("", None),
            ("1.", None),
            ("a.00", None),
            (".5", None),
        ] {
            assert_eq!(amount_minor(value), minor, "{value}");
        }
    }
}
