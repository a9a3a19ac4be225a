//! The fan-out service: the planner over CLASSIFICATIONS, and one sender per category over its
//! outbox, sending through all the category's bots. Several copies may run: planners share the
//! `fanout` consumer, and each category's outbox is pinned to one of them at a time.

use std::sync::Arc;
use std::time::Duration;

use bus::Bus;
use bus::consume::{ConsumerSpec, consume};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::cards::Cards;
use crate::plan::{PlanConfig, Planner};
use crate::send::{SendConfig, Sender};

#[derive(Debug, Clone, Default)]
pub struct FanoutConfig {
    pub plan: PlanConfig,
    pub send: SendConfig,
}

/// Sends handled at once per bot: enough to keep the pacer busy while some wait on their chat.
const SENDS_IN_FLIGHT: usize = 32;
/// With paid broadcast a bot sends 30 times as fast: this many keep it busy.
const PAID_SENDS_IN_FLIGHT: usize = 128;

/// The priority group senders pull in (see `nats/templates/DELIVERIES/send.json`).
pub const SENDER_GROUP: &str = "sender";

pub async fn run(
    bus: Bus,
    pool: PgPool,
    bots: crate::tokens::CategoryShards,
    config: FanoutConfig,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    bus.ensure_streams().await?;
    let mut services = tokio::task::JoinSet::new();
    let planner = Planner::new(bus.clone(), pool.clone(), config.plan.clone());
    let spec = ConsumerSpec {
        concurrency: 4,
        ..ConsumerSpec::of(bus::consume::consumers::FANOUT)
    };
    services.spawn(consume(bus.clone(), spec, planner, shutdown.clone()));
    let cards = Arc::new(Cards::new(bus.clone(), Duration::from_secs(3)));
    let per_bot = if config.send.paid_broadcast {
        PAID_SENDS_IN_FLIGHT
    } else {
        SENDS_IN_FLIGHT
    };
    for (category, shards) in bots {
        let spec = ConsumerSpec {
            concurrency: per_bot * shards.len().max(1),
            ..ConsumerSpec::sender(&category, SENDER_GROUP)?
        };
        tracing::info!(%category, bots = shards.len(), "sender running");
        let sender = Sender::new(
            category.clone(),
            shards,
            bus.clone(),
            pool.clone(),
            cards.clone(),
            config.send.clone(),
        );
        services.spawn(consume(bus.clone(), spec, sender, shutdown.clone()));
    }
    let mut outcome = Ok(());
    while let Some(result) = services.join_next().await {
        if let Err(error) = result.map_err(anyhow::Error::from).and_then(|r| r) {
            tracing::error!(error = %format!("{error:#}"), "fan-out task stopped");
            shutdown.cancel();
            outcome = Err(error);
        }
    }
    outcome
}
