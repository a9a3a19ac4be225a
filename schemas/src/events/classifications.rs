//! What a post is (vacancy, resume, ad, …) and which categories it belongs to, as decided by the
//! local model or the LLM, and as corrected by an admin. The latest version per message wins.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{MessageKey, Payload, validate_slug};
use crate::{Aggregate, AggregateKind, EventId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PostKind {
    Vacancy,
    Resume,
    Ad,
    Scam,
    Other,
}

impl PostKind {
    pub const ALL: [PostKind; 5] = [
        PostKind::Vacancy,
        PostKind::Resume,
        PostKind::Ad,
        PostKind::Scam,
        PostKind::Other,
    ];

    /// The kind [`PostKind::as_str`] names.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PostKind::Vacancy => "vacancy",
            PostKind::Resume => "resume",
            PostKind::Ad => "ad",
            PostKind::Scam => "scam",
            PostKind::Other => "other",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Classifier {
    Local,
    Llm,
}

/// A category with the classifier's score for it; lists are ranked, most likely first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RankedCategory {
    pub slug: String,
    pub score: f32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PayPeriod {
    Once,
    Hour,
    Day,
    Month,
}

/// Budget or salary as stated in the post.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Budget {
    /// Whole units of `currency`.
    pub amount: i64,
    /// ISO 4217 code, e.g. `RUB`.
    pub currency: String,
    pub period: PayPeriod,
}

/// A post was classified. Version 2 added `llm_unavailable`; a version 1 event reads as one
/// the LLM answered or was never asked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MessageClassified {
    #[serde(flatten)]
    pub key: MessageKey,
    pub kind: PostKind,
    pub categories: Vec<RankedCategory>,
    /// Confidence in `kind` and the top category, 0–1.
    pub confidence: f32,
    pub classifier: Classifier,
    pub model: String,
    pub prompt_version: Option<String>,
    pub tokens: Option<u32>,
    pub latency_ms: u64,
    pub budget: Option<Budget>,
    pub remote: Option<bool>,
    #[serde(default)]
    pub contacts: Vec<String>,
    /// A short title for the delivered card.
    pub title: Option<String>,
    /// Set when the post was doubtful and the LLM gave no answer within the classifier's
    /// attempts (down, rate-limited, answering junk): the local model's answer stands, and the
    /// post is asked again once the LLM answers. Holds the LLM's last error.
    #[serde(default)]
    pub llm_unavailable: Option<String>,
}

impl Payload for MessageClassified {
    fn aggregate(&self) -> Aggregate {
        Aggregate::new(AggregateKind::Message, self.key.id())
    }
    /// One per message, model and prompt: a backfill with a new model is a new event, a replay is
    /// not. A local answer that stood for an unavailable LLM has an id of its own, so the answer
    /// that replaces it (the LLM's, or the local model's once it no longer doubts) is new.
    fn event_id(&self) -> Option<EventId> {
        Some(format!(
            "{}:classified:{}:{}{}",
            self.key.event_id(),
            self.model,
            self.prompt_version.as_deref().unwrap_or("-"),
            if self.llm_unavailable.is_some() {
                ":llm-unavailable"
            } else {
                ""
            }
        ))
    }
    fn validate(&self) -> Result<(), String> {
        if !(0.0..=1.0).contains(&self.confidence) {
            return Err(format!("confidence {} outside 0..1", self.confidence));
        }
        self.categories
            .iter()
            .try_for_each(|c| validate_slug(&c.slug))
    }
}

/// An admin confirmed a report and set the right answer: the classifier learns from it and the
/// post leaves the public pick.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ClassificationCorrected {
    #[serde(flatten)]
    pub key: MessageKey,
    pub kind: PostKind,
    pub categories: Vec<String>,
    pub admin_id: i64,
    pub report_id: Option<String>,
}

impl Payload for ClassificationCorrected {
    fn aggregate(&self) -> Aggregate {
        Aggregate::new(AggregateKind::Message, self.key.id())
    }
    /// A report's correction is made once, however often its verdict is retried.
    fn event_id(&self) -> Option<EventId> {
        self.report_id
            .as_ref()
            .map(|report| format!("report:{report}:correction"))
    }
    fn validate(&self) -> Result<(), String> {
        self.categories.iter().try_for_each(|c| validate_slug(c))
    }
}
