//! The card each planned send shows, rendered once per vacancy and re-read every few seconds,
//! so an edit at the source shows in later copies and a deletion (or an admin's correction)
//! stops them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bus::{Bus, ReadError};
use schemas::{ClassificationCorrected, MessageClassified, MessageKey, PostKind};

use crate::card::{Card, render};

/// What a sender needs of a vacancy.
#[derive(Debug)]
pub struct Sendable {
    pub card: Card,
    /// `schemas::Author::key` of the post's author.
    pub author: Option<String>,
}

/// When a vacancy's card was loaded, and the card (`None`: not to be sent).
type Cached = (Instant, Option<Arc<Sendable>>);

pub struct Cards {
    bus: Bus,
    ttl: Duration,
    cache: Mutex<HashMap<MessageKey, Cached>>,
}

/// Vacancies kept before old entries are dropped.
const KEPT: usize = 1_000;

impl Cards {
    pub fn new(bus: Bus, ttl: Duration) -> Self {
        Self {
            bus,
            ttl,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The card, or `None` when the vacancy must not be sent (deleted, corrected, not a vacancy).
    pub async fn get(&self, key: MessageKey) -> Result<Option<Arc<Sendable>>, ReadError> {
        if let Some((loaded, card)) = self.lock().get(&key)
            && loaded.elapsed() < self.ttl
        {
            return Ok(card.clone());
        }
        let card = self.load(key).await?.map(Arc::new);
        let mut cache = self.lock();
        if cache.len() >= KEPT {
            let ttl = self.ttl;
            cache.retain(|_, (loaded, _)| loaded.elapsed() < ttl);
        }
        cache.insert(key, (Instant::now(), card.clone()));
        Ok(card)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<MessageKey, Cached>> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn load(&self, key: MessageKey) -> Result<Option<Sendable>, ReadError> {
        let Some(message) = self.bus.current_message(key).await? else {
            return Ok(None);
        };
        if self.bus.has::<ClassificationCorrected>(&key.id()).await? {
            return Ok(None);
        }
        let Some(classified) = self.bus.latest::<MessageClassified>(&key.id()).await? else {
            return Err(ReadError::NotFound(format!(
                "the classification of planned {}",
                key.id()
            )));
        };
        if classified.kind != PostKind::Vacancy {
            return Ok(None);
        }
        Ok(Some(Sendable {
            card: render(&message, &classified),
            author: message.author.key(),
        }))
    }
}
