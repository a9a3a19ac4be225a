//! The one path every message takes into the system, live or imported: store the raw message
//! (deterministic id, so re-reading stores nothing), then screen what is new and publish the
//! decision. Channels not yet in the catalog are added with the default rules.

use std::collections::{HashMap, HashSet};

use bus::Bus;
use schemas::{
    Area, ChannelConfigured, ChannelKind, Envelope, Event, MessageDeleted, MessageEdited,
    MessageKey, MessageReceived, channel_key,
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
    /// Messages with a screening decision stored. A message is screened when it has none, not
    /// when its raw event was new: a crash between the two must not leave it unscreened.
    screened: HashSet<MessageKey>,
    /// Newest message id stored per chat: where a reader's catch-up resumes.
    last_ids: HashMap<i64, i64>,
}

impl Ingestor {
    /// Loads the catalog from its stream and warms the dedup index with the accepted messages
    /// already stored.
    pub async fn start(bus: Bus) -> anyhow::Result<Self> {
        bus.ensure_streams().await?;
        let catalog = Catalog::default();
        // Originals and their reposts, so repost chains keep resolving after a restart.
        let mut screened = HashSet::new();
        let mut remembered = HashSet::new();
        for envelope in decoded(&bus, Area::Screening).await? {
            match envelope.event {
                Event::MessageAccepted(e) => {
                    screened.insert(e.key);
                    remembered.insert(e.key);
                }
                Event::DuplicateDetected(e) => {
                    screened.insert(e.key);
                    remembered.insert(e.key);
                }
                Event::MessageRejected(e) => {
                    screened.insert(e.key);
                }
                _ => {}
            }
        }
        let mut last_ids = HashMap::new();
        let mut history: Vec<MessageReceived> = decoded(&bus, Area::Messages)
            .await?
            .into_iter()
            .filter_map(|e| match e.event {
                Event::MessageReceived(m) => {
                    note_last_id(&mut last_ids, m.key);
                    remembered.contains(&m.key).then_some(m)
                }
                _ => None,
            })
            .collect();
        history.sort_by_key(|m| (m.posted_at, m.key));
        let mut screener = Screener::new(catalog, Deduper::default());
        for message in &history {
            screener.remember(message);
        }
        let mut ingestor = Self {
            bus,
            screener,
            catalog_sequence: 0,
            screened,
            last_ids,
        };
        ingestor.follow_catalog().await?;
        Ok(ingestor)
    }

    /// Applies catalog events published since the last look (new channels, changed rules).
    pub async fn follow_catalog(&mut self) -> anyhow::Result<()> {
        for message in self
            .bus
            .read_to_end(Area::Catalog.stream(), self.catalog_sequence + 1)
            .await?
        {
            if let Ok(stored) = message.decode() {
                self.screener.update_catalog(&stored.envelope.event);
            }
            self.catalog_sequence = message.sequence;
        }
        Ok(())
    }

    pub fn catalog(&self) -> &crate::catalog::Catalog {
        self.screener.catalog()
    }

    /// The newest message id stored for a chat (0 when none): catch-up reads what is newer.
    pub fn last_message_id(&self, chat_id: i64) -> i64 {
        self.last_ids.get(&chat_id).copied().unwrap_or(0)
    }

    /// Adds a chat to the catalog (enabled, default rules) unless it is there already or an
    /// operator removed it.
    pub async fn ensure_channel(
        &mut self,
        chat_id: i64,
        username: Option<&str>,
        title: &str,
        kind: ChannelKind,
    ) -> anyhow::Result<bool> {
        let catalog = self.screener.catalog();
        let keys = [
            Some(channel_key(chat_id, None)),
            username.map(|u| channel_key(0, Some(u))),
        ];
        // Known, or removed by an operator (an import must not bring it back).
        let known = keys
            .iter()
            .flatten()
            .any(|key| catalog.channels.contains_key(key) || catalog.removed.contains(key));
        if known {
            return Ok(false);
        }
        let event: Event = ChannelConfigured {
            chat_id,
            username: username.map(str::to_owned),
            title: title.to_owned(),
            kind,
            enabled: true,
            admin_id: None,
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
        // Each post's way through the pipeline is one trace: its root span starts here.
        let spans: Vec<tracing::Span> = messages
            .iter()
            .map(|m| {
                tracing::info_span!(parent: None, "message", chat_id = m.key.chat_id, message_id = m.key.message_id)
            })
            .collect();
        let received: Vec<Envelope> = messages
            .into_iter()
            .map(|m| Envelope::new(m.clone()).at(m.posted_at))
            .collect();
        let published = self.bus.publish_batch_traced(&received, &spans).await?;
        let mut report = Report {
            messages: received.len(),
            ..Report::default()
        };
        let mut decisions = Vec::new();
        let mut decision_spans = Vec::new();
        for ((envelope, published), span) in received.iter().zip(&published).zip(&spans) {
            report.new += usize::from(!published.duplicate);
            let Event::MessageReceived(message) = &envelope.event else {
                continue;
            };
            note_last_id(&mut self.last_ids, message.key);
            if self.screened.contains(&message.key) {
                continue;
            }
            let decision = self.screener.screen(envelope, message)?;
            match decision.event {
                Event::MessageAccepted(_) => report.accepted += 1,
                Event::MessageRejected(_) => report.rejected += 1,
                _ => report.duplicates += 1,
            }
            decisions.push(decision);
            decision_spans.push(span.clone());
        }
        self.bus
            .publish_batch_traced(&decisions, &decision_spans)
            .await?;
        self.screened
            .extend(decisions.iter().filter_map(|d| screened_key(&d.event)));
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
                    changes.push(Envelope::new(edit));
                }
                Update::Deleted(key) => {
                    deletions += 1;
                    changes.push(Envelope::new(MessageDeleted { key }));
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

fn screened_key(event: &Event) -> Option<MessageKey> {
    match event {
        Event::MessageAccepted(e) => Some(e.key),
        Event::MessageRejected(e) => Some(e.key),
        Event::DuplicateDetected(e) => Some(e.key),
        _ => None,
    }
}

async fn decoded(bus: &Bus, area: Area) -> anyhow::Result<Vec<Envelope>> {
    Ok(bus
        .read_to_end(area.stream(), 1)
        .await?
        .iter()
        .filter_map(|m| m.decode().ok().map(|s| s.envelope))
        .collect())
}

fn note_last_id(last_ids: &mut HashMap<i64, i64>, key: MessageKey) {
    let last = last_ids.entry(key.chat_id).or_default();
    *last = (*last).max(key.message_id);
}
