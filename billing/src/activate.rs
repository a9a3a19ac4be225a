//! Turning a verified payment (or an admin's grant) into access, exactly once. The payment's
//! success is a once-per-payment event; the extension is published only if the user's history
//! holds none for that payment, with optimistic concurrency on the user's extension subject, so
//! a webhook and the poller racing, five copies of a notification or a crash between the two
//! events all end in one activation.

use bus::{Bus, PublishError};
use chrono::Utc;
use schemas::subscription::Access;
use schemas::{
    Area, Envelope, ExtensionSource, PaymentCreated, PaymentSucceeded, SubscriptionExtended,
};

/// The user's access as their events say now, and the sequence to expect on their extension
/// subject.
async fn access(bus: &Bus, user_id: i64) -> anyhow::Result<(Access, u64)> {
    let subject = Area::Users.subject("subscription_extended", &user_id.to_string());
    let expected = bus.last_sequence_on(&subject).await?;
    let history = bus.read_subject(&format!("rh.users.*.{user_id}")).await?;
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
    event_id: String,
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
        let envelope = Envelope::with_id(event_id.clone(), extension.clone());
        match bus.publish_expecting(&envelope, expected).await {
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
    let succeeded = Envelope::with_id(
        format!("payment:{}:succeeded", created.payment_id),
        PaymentSucceeded {
            payment_id: created.payment_id.clone(),
            user_id: created.user_id,
            provider: created.provider,
            provider_payment_id: provider_payment_id.to_owned(),
            amount: created.amount,
            paid_at: Utc::now(),
        },
    );
    bus.publish(&succeeded).await?;
    let payment_id = created.payment_id.clone();
    extend(
        bus,
        created.user_id,
        i64::from(created.days),
        ExtensionSource::Payment {
            payment_id: payment_id.clone(),
        },
        format!("payment:{payment_id}:extended"),
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
    let id = format!("grant:{}", uuid::Uuid::now_v7());
    extend(bus, user_id, days, source, id, |_| false)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the grant was not recorded"))
}
