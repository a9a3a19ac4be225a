//! The one path every message takes into the system, live or imported: store the raw message
//! (deterministic id, so re-reading stores nothing), then screen what is new and publish the
//! decision. Channels not yet in the catalog are added with the default rules.

use bus::Bus;
use schemas::{
    ChannelConfigured, ChannelKind, Envelope, Event, MessageDeleted, MessageEdited, MessageKey,
    MessageReceived, channel_key,
};

use crate::catalog::Catalog;
use crate::dedup::Deduper;
use crate::screen::Screener;

/// What the Telegram reader sees, as plain data (so the handler is tested without Telegram).
#[derive(Debug, Clone, PartialEq)]
pub enum Update {
    New(MessageReceived),
    Edited(MessageEdited),
    Deleted(MessageKey),
}

/// What one batch did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub messages: usize,
    /// Not stored before.
    pub new: usize,
    pub accepted: usize,
    pub rejected: usize,
    pub duplicates: usize,
    pub channels_added: usize,
    pub edits: usize,
    pub deletions: usize,
}

pub struct Ingestor {
    bus: Bus,
    screener: Screener,
    /// Last CATALOG sequence applied to the screener: rule changes published since are picked
    /// up before the next batch, without a restart.
    catalog_sequence: u64,
}

impl Ingestor {
    /// Loads the catalog from its stream and warms the dedup index with the accepted messages
    /// already stored.
    pub async fn start(bus: Bus) -> anyhow::Result<Self> {
        bus.ensure_streams().await?;
        let catalog = Catalog::default();
        let accepted: std::collections::HashSet<schemas::MessageKey> = decoded(&bus, "SCREENING")
            .await?
            .into_iter()
            .filter_map(|e| match e.event {
                Event::MessageAccepted(a) => Some(a.key),
                _ => None,
            })
            .collect();
        let mut screener = Screener::new(catalog, Deduper::default());
        for envelope in decoded(&bus, "MESSAGES").await? {
            if let Event::MessageReceived(message) = envelope.event
                && accepted.contains(&message.key)
            {
                screener.remember(&message);
            }
        }
        let mut ingestor = Self {
            bus,
            screener,
            catalog_sequence: 0,
        };
        ingestor.follow_catalog().await?;
        Ok(ingestor)
    }

    /// Applies catalog events published since the last look (new channels, changed rules).
    pub async fn follow_catalog(&mut self) -> anyhow::Result<()> {
        for message in self
            .bus
            .read_to_end("CATALOG", self.catalog_sequence + 1)
            .await?
        {
            if let Ok(stored) = message.decode() {
                self.screener.update_catalog(&stored.envelope.event);
            }
            self.catalog_sequence = message.sequence;
        }
        Ok(())
    }

    /// Adds a chat to the catalog (enabled, default rules) unless it is there already.
    pub async fn ensure_channel(
        &mut self,
        chat_id: i64,
        username: Option<&str>,
        title: &str,
        kind: ChannelKind,
    ) -> anyhow::Result<bool> {
        let known = self
            .screener
            .catalog()
            .channels
            .contains_key(&channel_key(chat_id, None))
            || username.is_some_and(|u| {
                self.screener
                    .catalog()
                    .channels
                    .contains_key(&channel_key(0, Some(u)))
            });
        if known {
            return Ok(false);
        }
        let event: Event = ChannelConfigured {
            chat_id,
            username: username.map(str::to_owned),
            title: title.to_owned(),
            kind,
            enabled: true,
        }
        .into();
        self.bus.publish(&Envelope::new(event.clone())).await?;
        self.screener.update_catalog(&event);
        Ok(true)
    }

    /// Stores the messages and screens the new ones, in posting order.
    pub async fn ingest(&mut self, mut messages: Vec<MessageReceived>) -> anyhow::Result<Report> {
        self.follow_catalog().await?;
        messages.sort_by_key(|m| (m.posted_at, m.key));
        let received: Vec<Envelope> = messages
            .into_iter()
            .map(|m| Envelope::with_id(m.key.event_id(), m.clone()).at(m.posted_at))
            .collect();
        let published = self.bus.publish_batch(&received).await?;
        let mut report = Report {
            messages: received.len(),
            ..Report::default()
        };
        let mut decisions = Vec::new();
        for (envelope, published) in received.iter().zip(&published) {
            if published.duplicate {
                continue;
            }
            report.new += 1;
            let Event::MessageReceived(message) = &envelope.event else {
                continue;
            };
            let decision = self.screener.screen(envelope, message)?;
            match decision.event {
                Event::MessageAccepted(_) => report.accepted += 1,
                Event::MessageRejected(_) => report.rejected += 1,
                _ => report.duplicates += 1,
            }
            decisions.push(decision);
        }
        self.bus.publish_batch(&decisions).await?;
        Ok(report)
    }
}

impl Ingestor {
    /// Handles a batch of live updates: new messages take the ingest path; edits and deletions
    /// become events with deterministic ids (an edit per edit time, a deletion once).
    pub async fn handle(&mut self, updates: Vec<Update>) -> anyhow::Result<Report> {
        let mut new = Vec::new();
        let mut changes = Vec::new();
        let (mut edits, mut deletions) = (0, 0);
        for update in updates {
            match update {
                Update::New(message) => new.push(message),
                Update::Edited(edit) => {
                    edits += 1;
                    let id = format!(
                        "{}:edit:{}",
                        edit.key.event_id(),
                        edit.edited_at.timestamp()
                    );
                    changes.push(Envelope::with_id(id, edit));
                }
                Update::Deleted(key) => {
                    deletions += 1;
                    changes.push(Envelope::with_id(
                        format!("{}:deleted", key.event_id()),
                        MessageDeleted { key },
                    ));
                }
            }
        }
        let mut report = if new.is_empty() {
            Report::default()
        } else {
            self.ingest(new).await?
        };
        self.bus.publish_batch(&changes).await?;
        report.edits = edits;
        report.deletions = deletions;
        Ok(report)
    }
}

async fn decoded(bus: &Bus, stream: &str) -> anyhow::Result<Vec<Envelope>> {
    Ok(bus
        .read_to_end(stream, 1)
        .await?
        .iter()
        .filter_map(|m| m.decode().ok().map(|s| s.envelope))
        .collect())
}
