//! Follows the catalog's channels: resolves each enabled one, catches up on what was posted
//! while we were down (from the newest id stored per chat), then hands live updates to the
//! [`Ingestor`]. Telegram's FLOOD_WAIT is waited out; an unreadable channel is reported once
//! (an event) and skipped while the others keep flowing; a revoked session stops the reader
//! with a clear error, since nothing can be read until someone logs in again.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use bus::Bus;
use schemas::{ChannelUnreadable, Envelope, MessageSource};
use tokio_util::sync::CancellationToken;

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
}

impl Default for ReaderOptions {
    fn default() -> Self {
        Self {
            catch_up_limit: 500,
            catalog_poll: Duration::from_secs(10),
            retry_unreadable: Duration::from_secs(3600),
            max_backoff: Duration::from_secs(60),
        }
    }
}

pub struct Reader<S> {
    source: S,
    ingestor: Ingestor,
    bus: Bus,
    options: ReaderOptions,
    /// Resolved catalog channels by catalog key: the chats whose updates we take.
    chats: HashMap<String, Chat>,
    /// Channels that failed to resolve, and when they may be tried again.
    resting: HashMap<String, Instant>,
    failures: u32,
}

impl<S: Source> Reader<S> {
    pub async fn start(bus: Bus, source: S, options: ReaderOptions) -> anyhow::Result<Self> {
        let ingestor = Ingestor::start(bus.clone()).await?;
        Ok(Self {
            source,
            ingestor,
            bus,
            options,
            chats: HashMap::new(),
            resting: HashMap::new(),
            failures: 0,
        })
    }

    /// Reads until cancelled. Returns an error only when reading cannot go on (the session was
    /// revoked); everything else is retried.
    pub async fn run(mut self, cancel: CancellationToken) -> anyhow::Result<()> {
        while !cancel.is_cancelled() {
            if let Err(error) = self.follow_channels(&cancel).await {
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

    /// Picks up catalog changes: new channels are resolved and caught up, disabled and
    /// removed ones are dropped.
    async fn follow_channels(&mut self, cancel: &CancellationToken) -> Result<(), SourceError> {
        self.ingestor.follow_catalog().await?;
        let catalog = self.ingestor.catalog();
        let enabled: HashMap<String, ChannelRef> = catalog
            .channels
            .iter()
            .filter(|(_, c)| c.enabled)
            .map(|(key, c)| {
                let reference = ChannelRef {
                    key: key.clone(),
                    chat_id: c.chat_id,
                    username: c.username.clone(),
                };
                (key.clone(), reference)
            })
            .collect();
        self.chats.retain(|key, _| enabled.contains_key(key));
        let now = Instant::now();
        let pending: Vec<ChannelRef> = enabled
            .into_values()
            .filter(|c| !self.chats.contains_key(&c.key))
            .filter(|c| self.resting.get(&c.key).is_none_or(|until| *until <= now))
            .collect();
        for channel in pending {
            if cancel.is_cancelled() {
                break;
            }
            match self.open(&channel, cancel).await {
                Ok(chat) => {
                    self.resting.remove(&channel.key);
                    self.chats.insert(channel.key, chat);
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

    async fn catch_up(
        &mut self,
        chat: &Chat,
        cancel: &CancellationToken,
    ) -> Result<(), SourceError> {
        let after = self.ingestor.last_message_id(chat.chat_id);
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
        tracing::info!(chat = chat.chat_id, title = %chat.title, after, missed = missed.len(), "caught up");
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
            match self.ingestor.handle(updates.clone()).await {
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
        let already = self.ingestor.catalog().unreadable.get(channel);
        if already.is_some_and(|r| r == reason) {
            return Ok(());
        }
        let event = ChannelUnreadable {
            channel: channel.to_owned(),
            reason: reason.to_owned(),
        };
        self.bus.publish(&Envelope::new(event)).await?;
        Ok(())
    }

    async fn recover(
        &mut self,
        error: SourceError,
        cancel: &CancellationToken,
    ) -> anyhow::Result<()> {
        match error {
            SourceError::SessionRevoked(_) => Err(error.into()),
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

fn backoff(failures: u32, max: Duration) -> Duration {
    Duration::from_millis(500)
        .saturating_mul(2u32.saturating_pow(failures.min(16)))
        .min(max)
}

async fn pause(wait: Duration, cancel: &CancellationToken) {
    tokio::select! {
        () = cancel.cancelled() => {}
        () = tokio::time::sleep(wait) => {}
    }
}

async fn wait_out_flood(wait: Duration, cancel: &CancellationToken) {
    tracing::warn!(?wait, "FLOOD_WAIT from Telegram; waiting");
    pause(wait, cancel).await;
}
