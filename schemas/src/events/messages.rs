//! Raw Telegram messages as ingest saw them, with their edits and deletions. These are the facts
//! everything downstream is derived from, so they keep what a later model might want.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Payload;
use crate::{Aggregate, AggregateKind, EventId};

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
    fn event_id(&self) -> Option<EventId> {
        Some(self.key.event_id())
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
    /// One per edit time: a second sighting of the same edit is the same event.
    fn event_id(&self) -> Option<EventId> {
        Some(format!(
            "{}:edit:{}",
            self.key.event_id(),
            self.edited_at.timestamp()
        ))
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
    fn event_id(&self) -> Option<EventId> {
        Some(format!("{}:deleted", self.key.event_id()))
    }
}

/// A message as it reads now, folded from its events in any order: the first sighting with the
/// latest edit (by edit time) applied, nothing once deleted at the source. The one definition
/// of "the message as it reads now" for classify, fan-out and learning.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MessageNow {
    received: Option<MessageReceived>,
    latest_edit: Option<MessageEdited>,
    deleted: bool,
}

impl MessageNow {
    /// Folds one event of this message in; other events change nothing.
    pub fn apply(&mut self, event: &crate::Event) {
        match event {
            crate::Event::MessageReceived(received) => self.received = Some(received.clone()),
            crate::Event::MessageEdited(edit)
                if self
                    .latest_edit
                    .as_ref()
                    .is_none_or(|latest| latest.edited_at <= edit.edited_at) =>
            {
                self.latest_edit = Some(edit.clone());
            }
            crate::Event::MessageDeleted(_) => self.deleted = true,
            _ => {}
        }
    }

    /// The message as it reads now; `None` when it was deleted or never seen.
    pub fn current(self) -> Option<MessageReceived> {
        if self.deleted {
            return None;
        }
        let mut message = self.received?;
        if let Some(edit) = self.latest_edit {
            message.text = edit.text;
            message.links = edit.links;
            message.contacts = edit.contacts;
        }
        Some(message)
    }

    /// Whether the first sighting is among the folded events.
    pub fn was_received(&self) -> bool {
        self.received.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 1, 12, minute, 0)
            .single()
            .unwrap_or_default()
    }

    fn received(text: &str) -> crate::Event {
        crate::Event::MessageReceived(MessageReceived {
            key: MessageKey::new(-100, 1),
            chat_username: None,
            chat_title: None,
            posted_at: at(0),
            text: text.into(),
            links: vec![],
            has_media: false,
            author: Author::default(),
            contacts: vec![],
            link: None,
            source: MessageSource::Live,
        })
    }

    fn edited(minute: u32, text: &str) -> crate::Event {
        crate::Event::MessageEdited(MessageEdited {
            key: MessageKey::new(-100, 1),
            edited_at: at(minute),
            text: text.into(),
            links: vec![format!("https://example.org/{minute}")],
            contacts: vec![],
        })
    }

    fn fold(events: &[crate::Event]) -> Option<MessageReceived> {
        let mut now = MessageNow::default();
        events.iter().for_each(|e| now.apply(e));
        now.current()
    }

    #[test]
    fn the_latest_edit_wins_whatever_order_the_events_come_in() {
        // given a message edited twice, its events folded in two orders
        let in_order = [received("v1"), edited(1, "v2"), edited(2, "v3")];
        let shuffled = [edited(2, "v3"), received("v1"), edited(1, "v2")];
        // then both read as the latest edit, with its links
        for events in [&in_order[..], &shuffled[..]] {
            let message = fold(events).expect("a message");
            assert_eq!(message.text, "v3");
            assert_eq!(message.links, ["https://example.org/2"]);
        }
    }

    #[test]
    fn a_deleted_or_never_seen_message_reads_as_nothing() {
        let deleted = crate::Event::MessageDeleted(MessageDeleted {
            key: MessageKey::new(-100, 1),
        });
        assert_eq!(fold(&[received("v1"), deleted]), None);
        assert_eq!(fold(&[edited(1, "v2")]), None);
        assert_eq!(fold(&[received("v1")]).map(|m| m.text), Some("v1".into()));
    }
}
