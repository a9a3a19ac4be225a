//! The planner: for each vacancy classified (the `fanout` consumer of CLASSIFICATIONS), decides
//! who gets it through which bot and writes one `DeliveryPlanned` per recipient into that bot's
//! outbox. Planning is idempotent: plan ids are deterministic, and the claim before each send
//! refuses a second copy whatever is planned twice.

use bus::{Bus, Delivery, HandlerError, consume::Handler};
use chrono::Utc;
use schemas::{
    ClassificationCorrected, DeliveryPlanned, DeliveryWithdrawalPlanned, Envelope, Event,
    EventType, MessageClassified, PostKind,
};
use sqlx::PgPool;

use crate::audience::{Vacancy, audience};
use crate::subscribers::candidates;

#[derive(Debug, Clone)]
pub struct PlanConfig {
    /// Posts older than this are not delivered (an imported archive, a backfill).
    pub max_age: Option<chrono::Duration>,
}

impl Default for PlanConfig {
    fn default() -> Self {
        Self {
            max_age: Some(chrono::Duration::days(2)),
        }
    }
}

pub struct Planner {
    bus: Bus,
    pool: PgPool,
    config: PlanConfig,
}

impl Planner {
    pub fn new(bus: Bus, pool: PgPool, config: PlanConfig) -> Self {
        Self { bus, pool, config }
    }

    /// The plan for one classification: empty when it is not (or no longer) a vacancy to send.
    /// A read NATS or Postgres could not answer is retried; a vacancy whose raw message was
    /// never stored is dead-lettered.
    pub async fn plan(
        &self,
        envelope: &Envelope,
        classified: &MessageClassified,
        stream_sequence: u64,
    ) -> Result<Vec<Envelope>, HandlerError> {
        let key = classified.key;
        if classified.kind != PostKind::Vacancy || classified.categories.is_empty() {
            return Ok(Vec::new());
        }
        // A newer classification or an admin's correction decides instead of this one.
        let newer = self
            .bus
            .last_on_subject(&MessageClassified::subject_of(&key.id()))
            .await?
            .is_some_and(|latest| latest.sequence > stream_sequence);
        let corrected = self.bus.has::<ClassificationCorrected>(&key.id()).await?;
        if newer || corrected {
            return Ok(Vec::new());
        }
        let Some(message) = self.bus.current_message(key).await? else {
            tracing::info!(key = %key.id(), "deleted at the source: not delivered");
            return Ok(Vec::new());
        };
        let now = Utc::now();
        if let Some(max_age) = self.config.max_age
            && now - message.posted_at > max_age
        {
            tracing::info!(key = %key.id(), posted_at = %message.posted_at, "too old to deliver");
            return Ok(Vec::new());
        }
        let categories: Vec<String> = classified
            .categories
            .iter()
            .map(|c| c.slug.clone())
            .collect();
        let subscribers = candidates(&self.pool, &categories, key, now)
            .await
            .map_err(projections::handler_error)?;
        let paid_first = projections::read::catalog::paid_first(&self.pool)
            .await
            .map_err(projections::handler_error)?;
        let vacancy = Vacancy {
            original: key.id(),
            categories,
            author: message.author.key(),
        };
        // Published in this order, so each bot's outbox drains in it.
        Ok(audience(&vacancy, &subscribers, now, &paid_first)
            .into_iter()
            .map(|recipient| {
                Envelope::new(DeliveryPlanned {
                    user_id: recipient.user_id,
                    key,
                    category: recipient.category,
                    bot_id: recipient.bot_id,
                })
                .caused_by(envelope)
            })
            .collect())
    }
}

impl Planner {
    /// An admin confirmed the post is not a vacancy: every card of it still in a chat is to be
    /// taken back, each through its bot's outbox (so its paced sender does it).
    async fn withdrawals(
        &self,
        envelope: &Envelope,
        corrected: &ClassificationCorrected,
    ) -> Result<Vec<Envelope>, HandlerError> {
        let recipients = projections::read::deliveries::recipients(&self.pool, corrected.key)
            .await
            .map_err(projections::handler_error)?;
        Ok(recipients
            .into_iter()
            .map(|r| {
                Envelope::new(DeliveryWithdrawalPlanned {
                    user_id: r.user_id,
                    key: corrected.key,
                    category: r.category,
                    sent_message_id: r.sent_message_id,
                    delivered_at: r.delivered_at,
                    bot_id: r.bot_id,
                })
                .caused_by(envelope)
            })
            .collect())
    }
}

impl Handler for Planner {
    async fn handle(&self, envelope: Envelope, delivery: &Delivery) -> Result<(), HandlerError> {
        if let Event::ClassificationCorrected(corrected) = &envelope.event
            && corrected.kind != PostKind::Vacancy
        {
            let plan = self.withdrawals(&envelope, corrected).await?;
            if !plan.is_empty() {
                self.bus.publish_batch(&plan).await?;
                tracing::info!(key = %corrected.key.id(), cards = plan.len(), "not a vacancy: cards to take back");
            }
            return Ok(());
        }
        let Event::MessageClassified(classified) = &envelope.event else {
            return Ok(());
        };
        let plan = self
            .plan(&envelope, classified, delivery.stream_sequence)
            .await?;
        if !plan.is_empty() {
            self.bus.publish_batch(&plan).await?;
            tracing::info!(key = %classified.key.id(), recipients = plan.len(), "vacancy planned");
        }
        Ok(())
    }
}
