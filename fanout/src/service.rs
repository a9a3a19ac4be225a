//! The fan-out service: the planner over CLASSIFICATIONS, and one sender per configured
//! category bot over its outbox. Several copies may run: planners share the `fanout`
//! consumer, and each bot's outbox is pinned to one of them at a time.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bus::Bus;
use bus::consume::{ConsumerSpec, consume};
use sqlx::PgPool;
use teloxide::Bot;
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

/// The priority group senders pull in (see `nats/templates/DELIVERIES/send.json`).
pub const SENDER_GROUP: &str = "sender";

pub async fn run(
    bus: Bus,
    pool: PgPool,
    bots: BTreeMap<String, Bot>,
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
    for (category, bot) in bots {
        let spec = ConsumerSpec {
            concurrency: SENDS_IN_FLIGHT,
            ..ConsumerSpec::sender(&category, SENDER_GROUP)?
        };
        let sender = Sender::new(
            category.clone(),
            bot,
            bus.clone(),
            pool.clone(),
            cards.clone(),
            config.send.clone(),
        );
        tracing::info!(bot = %category, "sender running");
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
