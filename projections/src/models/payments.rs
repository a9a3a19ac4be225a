//! Payments and their status, for revenue reports and the "my subscription" screen.

use bus::Stored;
use schemas::{Event, Provider};
use sqlx::PgConnection;

use super::seq;

pub const TABLES: &[&str] = &["payments", "stars_subscriptions"];

pub async fn apply(tx: &mut PgConnection, batch: &[Stored]) -> sqlx::Result<()> {
    for stored in batch {
        let s = seq(stored);
        match &stored.envelope.event {
            Event::PaymentCreated(e) => {
                let provider = match e.provider {
                    Provider::Yookassa => "yookassa",
                    Provider::Stars => "stars",
                };
                sqlx::query(
                    "INSERT INTO payments (payment_id, user_id, plan, days, provider, amount_minor, currency, status,
                                           provider_payment_id, created_at, last_seq)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $9, $10)
                     ON CONFLICT (payment_id) DO NOTHING",
                )
                .bind(&e.payment_id).bind(e.user_id).bind(&e.plan).bind(e.days as i32).bind(provider)
                .bind(e.amount.minor).bind(e.amount.currency.as_str()).bind(&e.provider_payment_id)
                .bind(stored.envelope.occurred_at).bind(s)
                .execute(&mut *tx).await?;
            }
            Event::PaymentSucceeded(e) => {
                sqlx::query(
                    "UPDATE payments SET status = 'succeeded', paid_at = $2, provider_payment_id = $3, last_seq = $4
                     WHERE payment_id = $1 AND last_seq < $4",
                )
                .bind(&e.payment_id).bind(e.paid_at).bind(&e.provider_payment_id).bind(s)
                .execute(&mut *tx).await?;
            }
            Event::PaymentCanceled(e) => {
                sqlx::query("UPDATE payments SET status = 'canceled', last_seq = $2 WHERE payment_id = $1 AND last_seq < $2")
                    .bind(&e.payment_id).bind(s).execute(&mut *tx).await?;
            }
            Event::PaymentRefunded(e) => {
                sqlx::query(
                    "UPDATE payments SET status = 'refunded', refunded_minor = refunded_minor + $2,
                       refunded_at = $4, last_seq = $3
                     WHERE payment_id = $1 AND last_seq < $3",
                )
                .bind(&e.payment_id)
                .bind(e.amount.minor)
                .bind(s)
                .bind(stored.envelope.occurred_at)
                .execute(&mut *tx)
                .await?;
            }
            Event::StarsSubscriptionCharged(e) => {
                // The first charge starts the row; a renewal counts and moves the month's end
                // (never back: charges may be projected out of order after a reconcile).
                sqlx::query(
                    "INSERT INTO stars_subscriptions (subscription_id, user_id, plan, first_charge_id, stars,
                                                      charges, started_at, paid_until, last_seq)
                     VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $8)
                     ON CONFLICT (subscription_id) DO UPDATE SET
                       charges = stars_subscriptions.charges + 1,
                       paid_until = greatest(stars_subscriptions.paid_until, excluded.paid_until),
                       last_seq = excluded.last_seq
                     WHERE stars_subscriptions.last_seq < excluded.last_seq",
                )
                .bind(&e.subscription_id).bind(e.user_id).bind(&e.plan).bind(&e.first_charge_id)
                .bind(e.stars as i32).bind(stored.envelope.occurred_at).bind(e.paid_until).bind(s)
                .execute(&mut *tx).await?;
            }
            Event::StarsSubscriptionEdited(e) => {
                sqlx::query(
                    "UPDATE stars_subscriptions SET canceled = $2, edited_at = $3, last_seq = $4
                     WHERE subscription_id = $1 AND last_seq < $4",
                )
                .bind(&e.subscription_id)
                .bind(e.canceled)
                .bind(stored.envelope.occurred_at)
                .bind(s)
                .execute(&mut *tx)
                .await?;
            }
            _ => {}
        }
    }
    Ok(())
}
