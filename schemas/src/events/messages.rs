//! Raw Telegram messages as ingest saw them, with their edits and deletions. These are the facts
//! everything downstream is derived from, so they keep what a later model might want.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Payload;
use crate::{Aggregate, AggregateKind};

/// Identifies a Telegram message: chat id and message id within it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub struct MessageKey {
    pub chat_id: i64,
    pub message_id: i64,
}

impl MessageKey {
    pub fn new(chat_id: i64, message_id: i64) -> Self {
        Self {
            chat_id,
            message_id,
        }
    }

    /// `<chat>:<message>`, the aggregate id of the message.
    pub fn id(&self) -> String {
        format!("{}:{}", self.chat_id, self.message_id)
    }

    /// The deterministic event id of the message's first sighting, `tg:<chat>:<message>`.
    pub fn event_id(&self) -> String {
        format!("tg:{}:{}", self.chat_id, self.message_id)
    }

    fn aggregate(&self) -> Aggregate {
        Aggregate::new(AggregateKind::Message, self.id())
    }
}

/// Who wrote a post, as far as Telegram tells.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Author {
    pub user_id: Option<i64>,
    pub username: Option<String>,
    /// A channel post's author signature.
    pub signature: Option<String>,
}

impl Author {
    /// The key subscribers hide an author by: user id, else username, else signature.
    pub fn key(&self) -> Option<String> {
        if let Some(id) = self.user_id {
            return Some(format!("id:{id}"));
        }
        if let Some(username) = self.username.as_deref().filter(|u| !u.is_empty()) {
            return Some(format!("@{}", username.to_lowercase()));
        }
        self.signature
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(|s| format!("sig:{s}"))
    }
}

/// How a message reached us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageSource {
    Live,
    CatchUp,
    Import,
}

/// A message was seen for the first time. Event id: [`MessageKey::event_id`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MessageReceived {
    #[serde(flatten)]
    pub key: MessageKey,
    /// The chat's @username, if public, for links and display.
    pub chat_username: Option<String>,
    pub chat_title: Option<String>,
    /// When Telegram says it was posted.
    pub posted_at: DateTime<Utc>,
    /// Text or media caption with entities flattened to plain text; link targets kept in `links`.
    pub text: String,
    #[serde(default)]
    pub links: Vec<String>,
    #[serde(default)]
    pub has_media: bool,
    #[serde(default)]
    pub author: Author,
    /// @usernames, e-mails and phone numbers mentioned in the text.
    #[serde(default)]
    pub contacts: Vec<String>,
    /// `https://t.me/...` link to the post, when one can be built.
    pub link: Option<String>,
    pub source: MessageSource,
}

impl Payload for MessageReceived {
    fn aggregate(&self) -> Aggregate {
        self.key.aggregate()
    }
}

/// A message's text changed at the source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MessageEdited {
    #[serde(flatten)]
    pub key: MessageKey,
    pub edited_at: DateTime<Utc>,
    pub text: String,
    #[serde(default)]
    pub links: Vec<String>,
    #[serde(default)]
    pub contacts: Vec<String>,
}

impl Payload for MessageEdited {
    fn aggregate(&self) -> Aggregate {
        self.key.aggregate()
    }
}

/// A message was deleted at the source: no more copies of it may be sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MessageDeleted {
    #[serde(flatten)]
    pub key: MessageKey,
}

impl Payload for MessageDeleted {
    fn aggregate(&self) -> Aggregate {
        self.key.aggregate()
    }
}
