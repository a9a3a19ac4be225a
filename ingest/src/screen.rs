//! Screening: the decision ingest takes for each new message — rejected by the keyword rules of
//! its channel, a repost of an earlier message, or accepted for classification. Pure: the
//! catalog and the dedup index are given, nothing is read or written here.

use std::collections::HashMap;

use schemas::{
    DuplicateDetected, Envelope, Event, MessageAccepted, MessageReceived, MessageRejected,
    channel_key,
};

use crate::catalog::Catalog;
use crate::dedup::Deduper;
use crate::rules::{CompiledRules, RuleError};
use crate::text::normalise;

pub struct Screener {
    catalog: Catalog,
    /// Compiled rules by scope key, rebuilt when a scope's rules change.
    compiled: HashMap<String, CompiledRules>,
    dedup: Deduper,
}

impl Screener {
    pub fn new(catalog: Catalog, dedup: Deduper) -> Self {
        Self {
            catalog,
            compiled: HashMap::new(),
            dedup,
        }
    }

    /// Applies a catalog change (a new rule takes effect for the next message).
    pub fn update_catalog(&mut self, event: &Event) {
        if let Event::ChannelRulesSet(e) = event {
            self.compiled.remove(&e.scope.key());
        }
        self.catalog.apply(event);
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Remembers an earlier accepted message, so reposts of it are caught (start-up warm-up).
    pub fn remember(&mut self, message: &MessageReceived) {
        self.dedup
            .check(message.key, &message.text, message.posted_at);
    }

    fn channel_of(&self, message: &MessageReceived) -> String {
        let by_id = channel_key(message.key.chat_id, None);
        if self.catalog.channels.contains_key(&by_id) {
            return by_id;
        }
        message
            .chat_username
            .as_deref()
            .map(|u| channel_key(0, Some(u)))
            .filter(|key| {
                self.catalog.channels.contains_key(key) || self.catalog.removed.contains(key)
            })
            .unwrap_or(by_id)
    }

    /// Decides on a new message; the result is caused by `received`.
    pub fn screen(
        &mut self,
        received: &Envelope,
        message: &MessageReceived,
    ) -> Result<Envelope, RuleError> {
        let key = message.key;
        let channel = self.channel_of(message);
        let closed = if self.catalog.removed.contains(&channel) {
            Some("channel_removed")
        } else if self
            .catalog
            .channels
            .get(&channel)
            .is_some_and(|c| !c.enabled)
        {
            Some("channel_disabled")
        } else {
            None
        };
        if let Some(rule) = closed {
            let event = MessageRejected {
                key,
                rule: rule.into(),
                scope: channel,
            };
            return Ok(Envelope::new(event).caused_by(received));
        }
        let (scope, rules) = self.catalog.rules_for(&channel);
        let scope = scope.to_owned();
        if !self.compiled.contains_key(&scope) {
            self.compiled
                .insert(scope.clone(), CompiledRules::compile(&rules)?);
        }
        let normalised = normalise(&message.text);
        let decision = self.compiled[&scope].decide_normalised(&normalised);
        let envelope = if !decision.accepted {
            Envelope::new(MessageRejected {
                key,
                rule: decision.rule,
                scope,
            })
        } else if let Some(duplicate) =
            self.dedup
                .check_normalised(key, &normalised, message.posted_at)
        {
            let event = DuplicateDetected {
                key,
                original: duplicate.original,
                similarity: duplicate.similarity,
            };
            Envelope::new(event)
        } else {
            Envelope::new(MessageAccepted {
                key,
                rule: decision.rule,
                scope,
            })
        };
        Ok(envelope.caused_by(received))
    }
}
