//! Decisions ingest takes before a post may cost a classification: keyword rules and cross-post
//! dedup. Each names what decided it, so an admin can see why a post went missing.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{MessageKey, Payload};
use crate::{Aggregate, AggregateKind, EventId};

/// One screening per message, whichever the verdict: a second screening of it is the same event.
fn screening_id(key: &MessageKey) -> EventId {
    format!("screen:{}", key.id())
}

/// The keyword rules let a message through to dedup and the classifier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MessageAccepted {
    #[serde(flatten)]
    pub key: MessageKey,
    /// The rule that let it through, e.g. `require_any:ваканс*`.
    pub rule: String,
    /// The rule set applied: `global` or a channel key.
    pub scope: String,
}

impl Payload for MessageAccepted {
    fn aggregate(&self) -> Aggregate {
        Aggregate::new(AggregateKind::Message, self.key.id())
    }
    fn event_id(&self) -> Option<EventId> {
        Some(screening_id(&self.key))
    }
}

/// The keyword rules stopped a message (a resume, an ad, spam).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MessageRejected {
    #[serde(flatten)]
    pub key: MessageKey,
    /// The rule that stopped it, e.g. `forbid:резюме`.
    pub rule: String,
    pub scope: String,
}

impl Payload for MessageRejected {
    fn aggregate(&self) -> Aggregate {
        Aggregate::new(AggregateKind::Message, self.key.id())
    }
    fn event_id(&self) -> Option<EventId> {
        Some(screening_id(&self.key))
    }
}

/// A message repeats one seen earlier (a cross-post or a repost): it is not classified again and
/// never delivered twice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DuplicateDetected {
    #[serde(flatten)]
    pub key: MessageKey,
    /// The first occurrence.
    pub original: MessageKey,
    /// Estimated Jaccard similarity of the two texts, 0–1.
    pub similarity: f32,
}

impl Payload for DuplicateDetected {
    fn aggregate(&self) -> Aggregate {
        Aggregate::new(AggregateKind::Message, self.key.id())
    }
    fn event_id(&self) -> Option<EventId> {
        Some(format!("dup:{}", self.key.id()))
    }
    fn validate(&self) -> Result<(), String> {
        if !(0.0..=1.0).contains(&self.similarity) {
            return Err(format!("similarity {} outside 0..1", self.similarity));
        }
        if self.original == self.key {
            return Err("a message cannot duplicate itself".into());
        }
        Ok(())
    }
}
