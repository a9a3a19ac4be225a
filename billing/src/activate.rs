//! Turning a verified payment (or an admin's grant) into access, and a refund into its end,
//! exactly once. The payment's success is a once-per-payment event; the extension (or the
//! revocation) is published only if the user's history holds none for that payment, with
//! optimistic concurrency over the user's whole history, so a webhook and the poller racing,
//! five copies of a notification, a refund racing a payment or a crash between two events all
//! end in one change, computed from what really happened before it.

use bus::{Bus, PublishError};
use chrono::Utc;
use schemas::subscription::Access;
use schemas::{
    Area, Envelope, Event, EventType, ExtensionSource, Money, PaymentCreated, PaymentRefunded,
    PaymentSucceeded, SubscriptionExtended, SubscriptionRevoked,
};

/// A user's account history: every event on their subjects (`rh.users.*.<id>`).
fn history_of(user_id: i64) -> String {
    Area::Users.history(&user_id.to_string())
}

/// The user's access as their events say now, and the last sequence of their history: what a
/// change decided from it must expect.
async fn access(bus: &Bus, user_id: i64) -> anyhow::Result<(Access, u64)> {
    let history = bus.read_subject(&history_of(user_id)).await?;
    let expected = history.last().map_or(0, |s| s.sequence);
    let events: Vec<_> = history.into_iter().map(|s| s.envelope.event).collect();
    Ok((Access::from_events(&events), expected))
}

/// Publishes `days` of access for `user_id` unless `already` says it exists; retries when
/// another writer extended the same user meanwhile. `None`: nothing new.
async fn extend(
    bus: &Bus,
    user_id: i64,
    days: i64,
    source: ExtensionSource,
    already: impl Fn(&Access) -> bool,
) -> anyhow::Result<Option<SubscriptionExtended>> {
    for _ in 0..10 {
        let (access, expected) = access(bus, user_id).await?;
        if already(&access) {
            return Ok(None);
        }
        let Some(extension) = access.extend(user_id, days, Utc::now(), source.clone()) else {
            return Ok(None);
        };
        let envelope = Envelope::new(extension.clone());
        match bus
            .publish_expecting_across(&envelope, &history_of(user_id), expected)
            .await
        {
            Ok(published) if published.duplicate => return Ok(None),
            Ok(_) => return Ok(Some(extension)),
            Err(PublishError::Conflict { .. }) => continue,
            Err(error) => return Err(error.into()),
        }
    }
    anyhow::bail!("user {user_id}'s access kept changing; try again")
}

/// A verified successful payment: its success event, then its days. `None` when it had
/// activated before.
pub async fn payment_succeeded(
    bus: &Bus,
    created: &PaymentCreated,
    provider_payment_id: &str,
) -> anyhow::Result<Option<SubscriptionExtended>> {
    let succeeded = Envelope::new(PaymentSucceeded {
        payment_id: created.payment_id.clone(),
        user_id: created.user_id,
        provider: created.provider,
        provider_payment_id: provider_payment_id.to_owned(),
        amount: created.amount,
        paid_at: Utc::now(),
    });
    bus.publish(&succeeded).await?;
    let payment_id = created.payment_id.clone();
    extend(
        bus,
        created.user_id,
        i64::from(created.days),
        ExtensionSource::Payment {
            payment_id: payment_id.clone(),
        },
        |access| {
            access
                .paid_periods
                .iter()
                .any(|(id, _, _)| *id == payment_id)
        },
    )
    .await
}

/// An admin gives a user days, naming themselves and why. Every grant is a new event.
pub async fn grant(
    bus: &Bus,
    user_id: i64,
    days: i64,
    admin_id: i64,
    reason: &str,
) -> anyhow::Result<SubscriptionExtended> {
    anyhow::ensure!(days > 0, "grant a positive number of days");
    let source = ExtensionSource::Grant {
        admin_id,
        reason: reason.to_owned(),
    };
    extend(bus, user_id, days, source, |_| false)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the grant was not recorded"))
}

/// A refund the provider confirmed.
#[derive(Debug, Clone)]
pub struct Refund {
    pub refund_id: String,
    pub amount: Money,
    pub admin_id: Option<i64>,
    pub reason: Option<String>,
}

/// What a confirmed refund changed.
#[derive(Debug, Clone, PartialEq)]
pub struct RefundRecorded {
    /// False when this refund had been recorded before.
    pub new: bool,
    /// Access taken back: `None` when the payment's period was used up or taken back before.
    pub revoked: Option<SubscriptionRevoked>,
}

/// A confirmed refund of `created`: its event once per refund id, then the unused part of the
/// payment's period taken back once per payment.
pub async fn refund_succeeded(
    bus: &Bus,
    created: &PaymentCreated,
    refund: Refund,
) -> anyhow::Result<RefundRecorded> {
    let new = record_refund(bus, created, refund).await?;
    let revoked = revoke(bus, created.user_id, &created.payment_id).await?;
    Ok(RefundRecorded { new, revoked })
}

/// `PaymentRefunded` unless the payment's refunds hold this one already; a payment may be
/// refunded in parts, so the check reads them all and expects none added meanwhile.
async fn record_refund(
    bus: &Bus,
    created: &PaymentCreated,
    refund: Refund,
) -> anyhow::Result<bool> {
    let subject = PaymentRefunded::subject_of(&created.payment_id);
    let event = PaymentRefunded {
        payment_id: created.payment_id.clone(),
        user_id: created.user_id,
        refund_id: refund.refund_id.clone(),
        amount: refund.amount,
        admin_id: refund.admin_id,
        reason: refund.reason,
    };
    for _ in 0..10 {
        let refunds = bus.read_subject(&subject).await?;
        let seen = refunds.iter().any(|s| {
            matches!(&s.envelope.event, Event::PaymentRefunded(r) if r.refund_id == refund.refund_id)
        });
        if seen {
            return Ok(false);
        }
        let expected = refunds.last().map_or(0, |s| s.sequence);
        let envelope = Envelope::new(event.clone());
        match bus.publish_expecting(&envelope, expected).await {
            Ok(published) => return Ok(!published.duplicate),
            Err(PublishError::Conflict { .. }) => continue,
            Err(error) => return Err(error.into()),
        }
    }
    anyhow::bail!(
        "payment {}'s refunds kept changing; try again",
        created.payment_id
    )
}

/// Takes back the unused part of `payment_id`'s period, once.
async fn revoke(
    bus: &Bus,
    user_id: i64,
    payment_id: &str,
) -> anyhow::Result<Option<SubscriptionRevoked>> {
    for _ in 0..10 {
        let (access, expected) = access(bus, user_id).await?;
        let Some(revoked) = access.refund(user_id, payment_id, Utc::now()) else {
            return Ok(None);
        };
        let envelope = Envelope::new(revoked.clone());
        match bus
            .publish_expecting_across(&envelope, &history_of(user_id), expected)
            .await
        {
            Ok(published) if published.duplicate => return Ok(None),
            Ok(_) => return Ok(Some(revoked)),
            Err(PublishError::Conflict { .. }) => continue,
            Err(error) => return Err(error.into()),
        }
    }
    anyhow::bail!("user {user_id}'s access kept changing; try again")
}
