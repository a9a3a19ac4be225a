//! Every ingest account at once: one [`Reader`] per account over one shared [`Ingestor`], and
//! the assignment of the catalog's channels to the accounts ([`crate::assignment`]), published
//! as `ChannelAssigned` events whenever an account is added, lost or full, or channels change.
//!
//! One process reads at a time, however many copies run: the one holding the `ingest.reader`
//! lease ([`bus::lease`]). It alone connects the accounts (a session used by two processes at
//! once would have Telegram split its updates), keeps the one dedup index, and assigns; the
//! others stand by and take over within seconds of a crash.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bus::Bus;
use bus::lease::Lease;
use schemas::{AccountLoss, Envelope, IngestAccountAdded, IngestAccountLost};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::reader::{Reader, ReaderOptions, SharedIngestor, pause};
use super::{Source, SourceError};
use crate::ingestor::Ingestor;

/// The lease the reading process holds.
pub const LEASE: &str = "ingest.reader";

/// How long the reading process's lease outlives it after a crash.
pub const LEASE_TTL: Duration = Duration::from_secs(5);

/// The signed-in accounts, and their connections to Telegram (opened only once this process
/// holds the lease).
pub trait Connect: Send + Sync + 'static {
    type Source: Source + 'static;
    /// The accounts signed in now, each with a number that changes when it signs in again
    /// (its session file's modification time): looked at every `catalog_poll`.
    fn accounts(&self) -> Vec<(String, u64)>;
    fn connect(
        &self,
        account: &str,
    ) -> impl Future<Output = Result<Self::Source, SourceError>> + Send;
}

#[derive(Debug, Clone)]
pub struct AccountsOptions {
    /// At most this many channels are assigned to one account (`INGEST_CHANNELS_PER_ACCOUNT`;
    /// Telegram allows 500, 1,000 with Premium).
    pub channels_per_account: u32,
    pub reader: ReaderOptions,
}

impl Default for AccountsOptions {
    fn default() -> Self {
        Self {
            channels_per_account: 400,
            reader: ReaderOptions::default(),
        }
    }
}

/// Reads with every account while this process holds the lease, until `cancel` fires. An
/// account signed in while it runs is picked up at the next look (every `catalog_poll`); one
/// that is lost stays an event until it is signed in again, and the others read on.
pub async fn run<C: Connect>(
    bus: Bus,
    connect: C,
    options: AccountsOptions,
    cancel: CancellationToken,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        !connect.accounts().is_empty(),
        "no Telegram account is signed in: run `remotehunt ingest login --account NAME`"
    );
    let connect = Arc::new(connect);
    let holder = bus::lease::new_holder();
    loop {
        let lease = tokio::select! {
            () = cancel.cancelled() => return Ok(()),
            lease = Lease::acquire(&bus, LEASE, &holder, LEASE_TTL) => lease?,
        };
        tracing::info!("this copy reads Telegram");
        let stop = cancel.child_token();
        let lost = lease.lost();
        let forward = tokio::spawn({
            let stop = stop.clone();
            async move {
                lost.cancelled().await;
                stop.cancel();
            }
        });
        let outcome = read_all(&bus, &connect, &options, &stop).await;
        forward.abort();
        if cancel.is_cancelled() || outcome.is_err() {
            lease.release().await;
            return outcome;
        }
        tracing::warn!("lost the ingest lease; standing by");
    }
}

/// Runs a reader per signed-in account until `stop`, and the assignment beside them.
async fn read_all<C: Connect>(
    bus: &Bus,
    connect: &Arc<C>,
    options: &AccountsOptions,
    stop: &CancellationToken,
) -> anyhow::Result<()> {
    let ingestor: SharedIngestor =
        Arc::new(tokio::sync::Mutex::new(Ingestor::start(bus.clone()).await?));
    mark_removed(bus, &ingestor, &connect.accounts()).await?;
    let mut assigner = None;
    let mut readers = JoinSet::new();
    // Each account's sign-in this process read with last: signing in again starts it anew.
    let mut started: HashMap<String, u64> = HashMap::new();
    let mut running: HashSet<String> = HashSet::new();
    while !stop.is_cancelled() {
        let new: Vec<(String, u64)> = connect
            .accounts()
            .into_iter()
            .filter(|(name, signed_in)| {
                !running.contains(name) && started.get(name) != Some(signed_in)
            })
            .collect();
        if !new.is_empty() {
            let names: Vec<String> = new.iter().map(|(name, _)| name.clone()).collect();
            announce(bus, &ingestor, &names, options.channels_per_account).await?;
            // Before any reassignment: what each account is in, to leave what moves away.
            let catalog = Arc::new(ingestor.lock().await.catalog().clone());
            for (account, signed_in) in new {
                started.insert(account.clone(), signed_in);
                running.insert(account.clone());
                let reading = Reading {
                    bus: bus.clone(),
                    ingestor: ingestor.clone(),
                    catalog: catalog.clone(),
                    options: options.reader.clone(),
                    stop: stop.clone(),
                };
                let connect = connect.clone();
                readers.spawn(async move {
                    let outcome = read_one(&account, &*connect, reading).await;
                    (account, outcome)
                });
            }
        }
        if assigner.is_none() {
            assigner = Some(tokio::spawn(assign_while_running(
                bus.clone(),
                ingestor.clone(),
                options.reader.catalog_poll,
                stop.clone(),
            )));
        }
        tokio::select! {
            () = stop.cancelled() => {}
            () = tokio::time::sleep(options.reader.catalog_poll) => {}
            Some(done) = readers.join_next() => {
                match done {
                    Ok((account, outcome)) => {
                        running.remove(&account);
                        // What its last connection wrote is not a new sign-in.
                        let now = connect.accounts().into_iter().find(|(name, _)| *name == account);
                        if let Some((_, signed_in)) = now {
                            started.insert(account.clone(), signed_in);
                        }
                        if let Err(error) = outcome {
                            tracing::error!(account, %error, "the account stopped reading");
                        }
                    }
                    Err(panicked) => tracing::error!(%panicked, "an account's reader panicked"),
                }
                if running.is_empty() && !stop.is_cancelled() {
                    tracing::error!("no Telegram account reads: sign one in with `remotehunt ingest login --account NAME`");
                }
            },
        }
    }
    while readers.join_next().await.is_some() {}
    if let Some(assigner) = assigner {
        assigner.abort();
    }
    Ok(())
}

/// What every account's reader shares.
struct Reading {
    bus: Bus,
    ingestor: SharedIngestor,
    /// The catalog before the reader's account was reassigned anything.
    catalog: Arc<crate::catalog::Catalog>,
    options: ReaderOptions,
    stop: CancellationToken,
}

/// Connects one account (network failures are retried) and reads with it.
async fn read_one<C: Connect>(account: &str, connect: &C, reading: Reading) -> anyhow::Result<()> {
    let Reading {
        bus,
        ingestor,
        catalog,
        options,
        stop,
    } = reading;
    let mut delay = Duration::from_millis(500);
    let source = loop {
        match connect.connect(account).await {
            Ok(source) => break source,
            Err(error) => {
                if let Some((reason, detail)) = error.account_loss() {
                    record_loss(&bus, account, reason, detail, &stop, options.max_backoff).await;
                    return Err(error.into());
                }
                tracing::error!(account, %error, retry_in = ?delay, "could not connect the account");
                pause(delay, &stop).await;
                if stop.is_cancelled() {
                    return Ok(());
                }
                delay = (delay * 2).min(options.max_backoff);
            }
        }
    };
    Reader::new(account, ingestor, bus, source, options)
        .assumed_in(&catalog)
        .run(stop)
        .await
}

/// Records the accounts this process starts reading with (again, if they were lost or their
/// cap changed).
async fn announce(
    bus: &Bus,
    ingestor: &SharedIngestor,
    accounts: &[String],
    channels_per_account: u32,
) -> anyhow::Result<()> {
    let mut ingestor = ingestor.lock().await;
    ingestor.follow_catalog().await?;
    let known = &ingestor.catalog().accounts;
    let events: Vec<Envelope> = accounts
        .iter()
        .filter(|account| {
            !known
                .get(*account)
                .is_some_and(|a| a.is_live() && a.max_channels == channels_per_account)
        })
        .map(|account| {
            Envelope::new(IngestAccountAdded {
                account: account.clone(),
                max_channels: channels_per_account,
            })
        })
        .collect();
    bus.publish_batch(&events).await?;
    ingestor.follow_catalog().await?;
    Ok(())
}

/// Records the live accounts the catalog knows that this process has no session for as
/// removed, so their channels move.
async fn mark_removed(
    bus: &Bus,
    ingestor: &SharedIngestor,
    signed_in: &[(String, u64)],
) -> anyhow::Result<()> {
    let mut ingestor = ingestor.lock().await;
    ingestor.follow_catalog().await?;
    let events: Vec<Envelope> = ingestor
        .catalog()
        .accounts
        .iter()
        .filter(|(name, account)| {
            account.is_live() && !signed_in.iter().any(|(signed, _)| signed == *name)
        })
        .map(|(name, _)| {
            Envelope::new(IngestAccountLost {
                account: name.clone(),
                reason: AccountLoss::Removed,
                detail: "no session for it on the reading copy".into(),
            })
        })
        .collect();
    bus.publish_batch(&events).await?;
    ingestor.follow_catalog().await?;
    Ok(())
}

/// Publishes the assignments the catalog calls for, now and after every look at it.
async fn assign_while_running(
    bus: Bus,
    ingestor: SharedIngestor,
    every: Duration,
    stop: CancellationToken,
) {
    while !stop.is_cancelled() {
        if let Err(error) = assign_once(&bus, &ingestor).await {
            tracing::error!(%error, "could not assign channels to accounts; will retry");
        }
        pause(every, &stop).await;
    }
}

async fn assign_once(bus: &Bus, ingestor: &SharedIngestor) -> anyhow::Result<()> {
    let changes = {
        let mut ingestor = ingestor.lock().await;
        ingestor.follow_catalog().await?;
        crate::assignment::rebalance(ingestor.catalog())
    };
    if changes.is_empty() {
        return Ok(());
    }
    let unassigned = changes.iter().filter(|c| c.account.is_none()).count();
    tracing::info!(
        moved = changes.len() - unassigned,
        unassigned,
        "channels assigned to accounts"
    );
    let events: Vec<Envelope> = changes.into_iter().map(Envelope::new).collect();
    bus.publish_batch(&events).await?;
    Ok(())
}

/// Records that an account can no longer read, so its channels move to the others; retried
/// while NATS is away, since the move depends on it.
pub(crate) async fn record_loss(
    bus: &Bus,
    account: &str,
    reason: AccountLoss,
    detail: &str,
    cancel: &CancellationToken,
    max_backoff: Duration,
) {
    tracing::error!(account, ?reason, detail, "the account can no longer read");
    let event = Envelope::new(IngestAccountLost {
        account: account.to_owned(),
        reason,
        detail: detail.to_owned(),
    });
    let mut delay = Duration::from_millis(200);
    while let Err(error) = bus.publish(&event).await {
        if cancel.is_cancelled() {
            return;
        }
        tracing::error!(%error, retry_in = ?delay, "could not record the lost account");
        pause(delay, cancel).await;
        delay = (delay * 2).min(max_backoff);
    }
}
