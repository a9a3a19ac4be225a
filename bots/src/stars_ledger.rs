//! Telegram's own record of the Stars it moved (`getStarTransactions`) held against ours: a
//! charge whose `successful_payment` we never handled (the bot was down past the 24 hours
//! Telegram keeps an update, or the update could never be handled) is settled now as if the
//! update had come, and so is a refund whose `refunded_payment` we missed. Telegram lists the
//! transactions oldest first, so a subscription's first charge is settled before its renewals;
//! every settling is once, so walking the list again (a restart, a second copy) changes nothing.

use std::time::Duration;

use bus::Bus;
use teloxide::prelude::*;
use teloxide::types::{StarTransaction, TransactionPartner, TransactionPartnerUserKind};
use tokio_util::sync::CancellationToken;

use crate::pay::{Charge, Settled, settle_charge, settle_refund};
use crate::polling::patiently;

/// Transactions asked for at once: the most the Bot API gives.
const PAGE: u8 = 100;

/// What one walk over the new transactions did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Reconciled {
    /// Transactions read.
    pub seen: usize,
    /// Charges we had missed, activated now.
    pub activated: usize,
    /// Refunds we had missed, recorded now.
    pub refunded: usize,
}

/// The walk over the bot's star transactions, remembering how far this process has read.
pub struct StarsLedger {
    bot: Bot,
    bus: Bus,
    /// The read models, for the user's time zone in the news.
    pool: sqlx::PgPool,
    /// Transactions already settled by this process: the next walk's offset.
    walked: u32,
}

impl StarsLedger {
    pub fn new(bot: Bot, bus: Bus, pool: sqlx::PgPool) -> Self {
        Self {
            bot,
            bus,
            pool,
            walked: 0,
        }
    }

    /// Walks every transaction after the ones walked before, settling what we missed. An error
    /// (Telegram or NATS unavailable) leaves the offset at the transaction that failed, so the
    /// next walk starts there.
    pub async fn reconcile(&mut self) -> anyhow::Result<Reconciled> {
        let mut reconciled = Reconciled::default();
        loop {
            let request = self
                .bot
                .get_star_transactions()
                .offset(self.walked)
                .limit(PAGE);
            let page = patiently(request).await?.transactions;
            for transaction in &page {
                match self.settle(transaction).await? {
                    Some(Effect::Activated) => reconciled.activated += 1,
                    Some(Effect::Refunded) => reconciled.refunded += 1,
                    None => {}
                }
                self.walked += 1;
                reconciled.seen += 1;
            }
            if page.len() < usize::from(PAGE) {
                return Ok(reconciled);
            }
        }
    }

    /// Walks now and then every `every` until shutdown; a failed walk is retried at the next.
    pub async fn run(mut self, every: Duration, shutdown: CancellationToken) {
        loop {
            match self.reconcile().await {
                Ok(reconciled) if reconciled.activated + reconciled.refunded > 0 => {
                    tracing::warn!(
                        ?reconciled,
                        "settled Stars transactions whose updates we missed"
                    )
                }
                Ok(reconciled) => tracing::debug!(?reconciled, "Stars transactions walked"),
                Err(error) => {
                    tracing::warn!(error = %format!("{error:#}"), "Stars reconciliation failed: retried at the next walk")
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(every) => {}
            }
        }
    }

    async fn settle(&self, transaction: &StarTransaction) -> anyhow::Result<Option<Effect>> {
        let charge_id = transaction.id.0.as_str();
        if let Some((user_id, payload, period)) = invoice_partner(transaction.source.as_ref()) {
            // One read decides: the invoice paid by this charge (settled), by another one (a
            // subscription's renewal, or a second charge of a one-time invoice), or not yet
            // (this is the first). Two reads could see the first charge settled in between and
            // take it for a renewal.
            let renewal = match billing::ledger::succeeded(&self.bus, payload).await? {
                Some(paid) if paid.provider_payment_id == charge_id => return Ok(None),
                Some(_) => period.is_some(),
                None => false,
            };
            let charge = Charge {
                user_id,
                payload,
                id: charge_id,
                currency: "XTR",
                total: transaction.amount,
                subscription_until: period.map(|period| transaction.date + period),
            };
            let settled = settle_charge(&self.bot, &self.bus, &self.pool, &charge, renewal).await?;
            return Ok((settled == Settled::Activated).then_some(Effect::Activated));
        }
        if let Some((user_id, payload, _)) = invoice_partner(transaction.receiver.as_ref()) {
            let new = settle_refund(
                &self.bot, &self.bus, &self.pool, user_id, payload, charge_id,
            )
            .await?;
            return Ok(new.then_some(Effect::Refunded));
        }
        Ok(None)
    }
}

enum Effect {
    Activated,
    Refunded,
}

/// The user and invoice payload of a transaction with a user over one of the bot's invoices.
/// The payer, the invoice's payload and, for a subscription's charge, its period.
fn invoice_partner(
    partner: Option<&TransactionPartner>,
) -> Option<(i64, &str, Option<chrono::Duration>)> {
    let Some(TransactionPartner::User(partner)) = partner else {
        return None;
    };
    let TransactionPartnerUserKind::InvoicePayment(invoice) = &partner.kind else {
        return None;
    };
    let payload = invoice.invoice_payload.as_deref()?;
    let period = invoice.subscription_period.map(|p| p.chrono_duration());
    Some((partner.user.id.0 as i64, payload, period))
}
