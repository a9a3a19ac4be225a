//! Follows the catalog's channels assigned to one account: resolves each enabled one, catches
//! up on what was posted while we were down (from the newest id stored per chat), then hands
//! live updates to the [`Ingestor`] it shares with the other accounts' readers. Every channel is
//! swept again on a schedule (history newer than the newest stored id), so a live update
//! Telegram never sent is found within minutes. Telegram's FLOOD_WAIT is waited out (per
//! account: each reader has its own); an unreadable channel is reported once (an event) and
//! skipped while the others keep flowing; a channel moved to another account is left. When
//! Telegram will not let the account join more channels, that is an event the assignment acts
//! on; a revoked or banned account is an event too, and stops its reader with a clear error.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bus::Bus;
use schemas::{ChannelUnreadable, Envelope, IngestAccountFull, MessageSource};
use tokio_util::sync::CancellationToken;

use super::accounts::record_loss;
use super::{ChannelRef, Chat, Source, SourceError};
use crate::ingestor::{Ingestor, Update};

#[derive(Debug, Clone)]
pub struct ReaderOptions {
    /// At most this many of a channel's newest messages are read on catch-up.
    pub catch_up_limit: usize,
    /// How often the catalog is checked for new, changed or removed channels.
    pub catalog_poll: Duration,
    /// How long an unreadable channel is left alone before it is tried again.
    pub retry_unreadable: Duration,
    /// The longest pause between retries after errors Telegram gives no wait for.
    pub max_backoff: Duration,
    /// How often each channel's history is read again for what live updates missed.
    pub sweep_every: Duration,
    /// At most this many channels are swept between two looks at live updates.
    pub sweep_batch: usize,
}

impl Default for ReaderOptions {
    fn default() -> Self {
        Self {
            catch_up_limit: 500,
            catalog_poll: Duration::from_secs(10),
            retry_unreadable: Duration::from_secs(3600),
            max_backoff: Duration::from_secs(60),
            sweep_every: Duration::from_secs(300),
            sweep_batch: 20,
        }
    }
}

/// One ingestor for every account's reader: one dedup index sees every channel.
pub type SharedIngestor = Arc<tokio::sync::Mutex<Ingestor>>;

pub struct Reader<S> {
    /// The account's name: the reader follows the channels the catalog assigns it.
    account: String,
    source: S,
    ingestor: SharedIngestor,
    bus: Bus,
    options: ReaderOptions,
    /// Resolved catalog channels by catalog key: the chats whose updates we take.
    chats: HashMap<String, Chat>,
    /// When each followed channel was last read from its history.
    swept: HashMap<String, Instant>,
    /// The channels the catalog assigned this account at the last look (at first, those it
    /// had when the service started): one moved to another account is left.
    assigned: HashMap<String, ChannelRef>,
    /// When the catalog was last looked at: at most once per `catalog_poll`, however many
    /// live updates come in between.
    followed_at: Option<Instant>,
    /// Channels that failed to resolve, and when they may be tried again.
    resting: HashMap<String, Instant>,
    failures: u32,
}

impl<S: Source> Reader<S> {
    pub fn new(
        account: &str,
        ingestor: SharedIngestor,
        bus: Bus,
        source: S,
        options: ReaderOptions,
    ) -> Self {
        Self {
            account: account.to_owned(),
            source,
            ingestor,
            bus,
            options,
            chats: HashMap::new(),
            swept: HashMap::new(),
            assigned: HashMap::new(),
            followed_at: None,
            resting: HashMap::new(),
            failures: 0,
        }
    }

    /// Starts from the channels the catalog assigned the account before any reassignment: those
    /// it is in, and must leave once they move to another account.
    pub fn assumed_in(mut self, catalog: &crate::catalog::Catalog) -> Self {
        self.assigned = assigned_to(catalog, &self.account);
        self
    }

    /// Reads until cancelled. Returns an error only when reading cannot go on (the session was
    /// revoked, the account banned); everything else is retried.
    pub async fn run(mut self, cancel: CancellationToken) -> anyhow::Result<()> {
        while !cancel.is_cancelled() {
            if let Err(error) = self.follow_channels(&cancel).await {
                self.recover(error, &cancel).await?;
                continue;
            }
            if let Err(error) = self.sweep(&cancel).await {
                self.recover(error, &cancel).await?;
                continue;
            }
            let next = tokio::select! {
                () = cancel.cancelled() => break,
                () = tokio::time::sleep(self.options.catalog_poll) => continue,
                next = self.source.next_updates() => next,
            };
            match next {
                Ok(updates) => {
                    self.failures = 0;
                    let updates = self.watched_only(updates);
                    self.ingest(updates, &cancel).await;
                }
                Err(error) => self.recover(error, &cancel).await?,
            }
        }
        Ok(())
    }

    /// Picks up catalog changes: channels newly assigned to this account are resolved and
    /// caught up; disabled and removed ones are dropped, and those moved to another account left.
    async fn follow_channels(&mut self, cancel: &CancellationToken) -> Result<(), SourceError> {
        let fresh = self
            .followed_at
            .is_some_and(|at| at.elapsed() < self.options.catalog_poll);
        if fresh {
            return Ok(());
        }
        self.followed_at = Some(Instant::now());
        let (enabled, moved) = {
            let mut ingestor = self.ingestor.lock().await;
            ingestor.follow_catalog().await?;
            let catalog = ingestor.catalog();
            let assigned = assigned_to(catalog, &self.account);
            let moved: Vec<ChannelRef> = self
                .assigned
                .values()
                .filter(|c| !assigned.contains_key(&c.key))
                .filter(|c| catalog.assignments.contains_key(&c.key))
                .cloned()
                .collect();
            self.assigned = assigned;
            let enabled: HashMap<String, ChannelRef> = self
                .assigned
                .iter()
                .filter(|(key, _)| catalog.channels.get(*key).is_some_and(|c| c.enabled))
                .map(|(key, c)| (key.clone(), c.clone()))
                .collect();
            (enabled, moved)
        };
        self.chats.retain(|key, _| enabled.contains_key(key));
        self.swept.retain(|key, _| enabled.contains_key(key));
        for channel in moved {
            if let Err(error) = self.source.leave(&channel).await {
                tracing::warn!(account = %self.account, channel = %channel.key, %error, "could not leave a channel another account reads");
            }
        }
        let now = Instant::now();
        let mut pending: Vec<ChannelRef> = enabled
            .into_values()
            .filter(|c| !self.chats.contains_key(&c.key))
            .filter(|c| self.resting.get(&c.key).is_none_or(|until| *until <= now))
            .collect();
        // In key order, as the assignment keeps an account's first channels when it is full.
        pending.sort_by(|a, b| a.key.cmp(&b.key));
        for channel in pending {
            if cancel.is_cancelled() {
                break;
            }
            match self.open(&channel, cancel).await {
                Ok(chat) => {
                    self.resting.remove(&channel.key);
                    self.swept.insert(channel.key.clone(), Instant::now());
                    self.chats.insert(channel.key, chat);
                }
                Err(SourceError::AccountFull(reason)) => {
                    // Tried again soon: by then it has moved to another account, or this one
                    // has left a channel and has room.
                    self.report_full(&channel.key, &reason).await?;
                    self.resting
                        .insert(channel.key, now + self.options.catalog_poll);
                }
                Err(SourceError::Unreadable(reason)) => {
                    self.report_unreadable(&channel.key, &reason).await?;
                    self.resting
                        .insert(channel.key, now + self.options.retry_unreadable);
                }
                Err(SourceError::Other(error)) => {
                    tracing::warn!(channel = %channel.key, error = %error, "could not resolve channel; will retry");
                    self.resting
                        .insert(channel.key, now + self.options.catalog_poll);
                }
                Err(fatal) => return Err(fatal),
            }
        }
        Ok(())
    }

    /// Resolves a channel and reads what it missed.
    async fn open(
        &mut self,
        channel: &ChannelRef,
        cancel: &CancellationToken,
    ) -> Result<Chat, SourceError> {
        let chat = loop {
            match self.source.resolve(channel).await {
                Err(SourceError::FloodWait(wait)) => wait_out_flood(wait, cancel).await,
                other => break other?,
            }
        };
        self.catch_up(&chat, cancel).await?;
        Ok(chat)
    }

    /// Reads again the history of the channels swept longest ago, a batch at a time: what a
    /// live update should have brought and did not is stored now.
    async fn sweep(&mut self, cancel: &CancellationToken) -> Result<(), SourceError> {
        let now = Instant::now();
        let mut due: Vec<(Instant, String)> = self
            .swept
            .iter()
            .filter(|(_, at)| now.duration_since(**at) >= self.options.sweep_every)
            .map(|(key, at)| (*at, key.clone()))
            .collect();
        due.sort();
        for (_, key) in due.into_iter().take(self.options.sweep_batch) {
            if cancel.is_cancelled() {
                break;
            }
            let Some(chat) = self.chats.get(&key).cloned() else {
                continue;
            };
            self.catch_up(&chat, cancel).await?;
            self.swept.insert(key, Instant::now());
        }
        Ok(())
    }

    async fn catch_up(
        &mut self,
        chat: &Chat,
        cancel: &CancellationToken,
    ) -> Result<(), SourceError> {
        let after = self.ingestor.lock().await.last_message_id(chat.chat_id);
        let missed = loop {
            match self
                .source
                .history(chat, after, self.options.catch_up_limit)
                .await
            {
                Err(SourceError::FloodWait(wait)) => wait_out_flood(wait, cancel).await,
                other => break other?,
            }
        };
        let missed: Vec<Update> = missed
            .into_iter()
            .map(|update| match update {
                Update::New(mut message) => {
                    message.source = MessageSource::CatchUp;
                    Update::New(message)
                }
                other => other,
            })
            .collect();
        if !missed.is_empty() {
            tracing::info!(account = %self.account, chat = chat.chat_id, title = %chat.title, after, missed = missed.len(), "caught up");
        }
        self.ingest(missed, cancel).await;
        Ok(())
    }

    fn watched_only(&self, updates: Vec<Update>) -> Vec<Update> {
        let watched: HashSet<i64> = self.chats.values().map(|c| c.chat_id).collect();
        updates
            .into_iter()
            .filter(|update| {
                let chat_id = match update {
                    Update::New(m) => m.key.chat_id,
                    Update::Edited(e) => e.key.chat_id,
                    Update::Deleted(key) => key.chat_id,
                };
                watched.contains(&chat_id)
            })
            .collect()
    }

    /// Stores a batch, retrying while the bus is unavailable: what Telegram gave us once it
    /// may not give again (edits, deletions).
    async fn ingest(&mut self, updates: Vec<Update>, cancel: &CancellationToken) {
        if updates.is_empty() {
            return;
        }
        let mut delay = Duration::from_millis(200);
        loop {
            let stored = self.ingestor.lock().await.handle(updates.clone()).await;
            match stored {
                Ok(report) => {
                    tracing::debug!(?report, "ingested");
                    return;
                }
                Err(error) if !cancel.is_cancelled() => {
                    tracing::error!(error = %error, retry_in = ?delay, "could not store updates");
                    pause(delay, cancel).await;
                    delay = (delay * 2).min(self.options.max_backoff);
                }
                Err(_) => return,
            }
        }
    }

    async fn report_unreadable(&mut self, channel: &str, reason: &str) -> anyhow::Result<()> {
        tracing::warn!(channel, reason, "cannot read channel");
        let already = self
            .ingestor
            .lock()
            .await
            .catalog()
            .unreadable
            .get(channel)
            .is_some_and(|r| r == reason);
        if already {
            return Ok(());
        }
        let event = ChannelUnreadable {
            channel: channel.to_owned(),
            reason: reason.to_owned(),
        };
        self.bus.publish(&Envelope::new(event)).await?;
        Ok(())
    }

    /// Telegram will not let the account join more: the assignment gives the channel to
    /// another account and keeps this one at what it follows.
    async fn report_full(&mut self, channel: &str, reason: &str) -> anyhow::Result<()> {
        tracing::warn!(account = %self.account, channel, reason, following = self.chats.len(), "the account cannot join more channels");
        let event = IngestAccountFull {
            account: self.account.clone(),
            channel: channel.to_owned(),
            following: u32::try_from(self.chats.len()).unwrap_or(u32::MAX),
        };
        self.bus.publish(&Envelope::new(event)).await?;
        Ok(())
    }

    async fn recover(
        &mut self,
        error: SourceError,
        cancel: &CancellationToken,
    ) -> anyhow::Result<()> {
        if let Some((reason, detail)) = error.account_loss() {
            let max_backoff = self.options.max_backoff;
            record_loss(
                &self.bus,
                &self.account,
                reason,
                detail,
                cancel,
                max_backoff,
            )
            .await;
            return Err(error.into());
        }
        match error {
            SourceError::FloodWait(wait) => {
                wait_out_flood(wait, cancel).await;
                Ok(())
            }
            other => {
                self.failures += 1;
                let delay = backoff(self.failures, self.options.max_backoff);
                tracing::error!(error = %other, retry_in = ?delay, "reading Telegram failed");
                pause(delay, cancel).await;
                Ok(())
            }
        }
    }
}

/// The catalog's channels assigned to `account`, by key.
fn assigned_to(catalog: &crate::catalog::Catalog, account: &str) -> HashMap<String, ChannelRef> {
    catalog
        .assignments
        .iter()
        .filter(|(_, holder)| *holder == account)
        .filter_map(|(key, _)| {
            let channel = catalog.channels.get(key)?;
            let reference = ChannelRef {
                key: key.clone(),
                chat_id: channel.chat_id,
                username: channel.username.clone(),
            };
            Some((key.clone(), reference))
        })
        .collect()
}

fn backoff(failures: u32, max: Duration) -> Duration {
    Duration::from_millis(500)
        .saturating_mul(2u32.saturating_pow(failures.min(16)))
        .min(max)
}

pub(crate) async fn pause(wait: Duration, cancel: &CancellationToken) {
    tokio::select! {
        () = cancel.cancelled() => {}
        () = tokio::time::sleep(wait) => {}
    }
}

async fn wait_out_flood(wait: Duration, cancel: &CancellationToken) {
    tracing::warn!(?wait, "FLOOD_WAIT from Telegram; waiting");
    pause(wait, cancel).await;
}
