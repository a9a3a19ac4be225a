//! Telegram Desktop chat exports (`result.json`): `messages[]` with `text` as a string or an
//! array of parts, service messages, `from_id`. The whole file is parsed before anything is
//! published, so a truncated or malformed file imports nothing and says where it broke.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use schemas::{Author, ChannelKind, MessageKey, MessageReceived, MessageSource};
use serde::Deserialize;
use serde_json::Value;

use crate::contacts;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// serde_json's message carries the line and column.
    #[error("not a Telegram Desktop chat export: {0}")]
    Json(#[from] serde_json::Error),
    #[error("message {id}: {reason}")]
    Message { id: i64, reason: String },
}

#[derive(Deserialize)]
struct RawExport {
    name: Option<String>,
    #[serde(rename = "type")]
    chat_type: String,
    id: i64,
    messages: Vec<RawMessage>,
}

#[derive(Deserialize)]
struct RawMessage {
    id: i64,
    #[serde(rename = "type")]
    message_type: String,
    #[serde(default)]
    date: Option<String>,
    #[serde(default)]
    date_unixtime: Option<String>,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    from_id: Option<String>,
    /// A channel post's signature.
    #[serde(default)]
    author: Option<String>,
    #[serde(default)]
    text: Value,
    #[serde(default)]
    photo: Option<Value>,
    #[serde(default)]
    file: Option<Value>,
    #[serde(default)]
    media_type: Option<Value>,
}

/// An exported chat, ready to go through ingest like live messages.
#[derive(Debug, Clone)]
pub struct ExportedChat {
    /// Bot API style id: `-100…` for channels and supergroups.
    pub chat_id: i64,
    pub title: String,
    pub kind: ChannelKind,
    pub messages: Vec<MessageReceived>,
}

/// Parses an export. `username` (the chat's public @name, which exports omit) makes post links.
pub fn parse(bytes: &[u8], username: Option<&str>) -> Result<ExportedChat, ExportError> {
    let raw: RawExport = serde_json::from_slice(bytes)?;
    let (chat_id, kind) = chat_id(&raw.chat_type, raw.id).ok_or_else(|| ExportError::Message {
        id: 0,
        reason: format!("chat id {} out of range", raw.id),
    })?;
    let title = raw.name.unwrap_or_default();
    let mut messages = Vec::with_capacity(raw.messages.len());
    for message in raw.messages {
        if message.message_type != "message" {
            continue; // service messages: joins, pins, title changes
        }
        let posted_at = posted_at(&message).ok_or_else(|| ExportError::Message {
            id: message.id,
            reason: "no valid date".into(),
        })?;
        let (text, links) = flatten(&message.text);
        let link = match (username, kind) {
            (Some(username), _) => Some(format!("https://t.me/{username}/{}", message.id)),
            (None, ChannelKind::Channel) if chat_id < -1_000_000_000_000 => Some(format!(
                "https://t.me/c/{}/{}",
                -chat_id - 1_000_000_000_000,
                message.id
            )),
            _ => None,
        };
        messages.push(MessageReceived {
            key: MessageKey::new(chat_id, message.id),
            chat_username: username.map(str::to_owned),
            chat_title: Some(title.clone()),
            posted_at,
            contacts: contacts::find(&text),
            author: author(&message),
            has_media: message.photo.is_some()
                || message.file.is_some()
                || message.media_type.is_some(),
            text,
            links,
            link,
            source: MessageSource::Import,
        });
    }
    Ok(ExportedChat {
        chat_id,
        title,
        kind,
        messages,
    })
}

/// Exports give bare ids; the Bot API (and our catalog) use `-100<id>` for channels and
/// supergroups and `-<id>` for basic groups.
fn chat_id(chat_type: &str, id: i64) -> Option<(i64, ChannelKind)> {
    // Telegram ids fit in 52 bits; anything larger is a forged file.
    let id = id.checked_abs().filter(|id| *id < 1_000_000_000_000)?;
    Some(match chat_type {
        "public_channel" | "private_channel" => (-1_000_000_000_000 - id, ChannelKind::Channel),
        "public_supergroup" | "private_supergroup" => (-1_000_000_000_000 - id, ChannelKind::Group),
        "private_group" => (-id, ChannelKind::Group),
        _ => (id, ChannelKind::Group),
    })
}

fn posted_at(message: &RawMessage) -> Option<DateTime<Utc>> {
    if let Some(seconds) = message
        .date_unixtime
        .as_deref()
        .and_then(|s| s.parse::<i64>().ok())
    {
        return Utc.timestamp_opt(seconds, 0).single();
    }
    // Older exports: local time without a zone; taken as UTC.
    let date = message.date.as_deref()?;
    NaiveDateTime::parse_from_str(date, "%Y-%m-%dT%H:%M:%S")
        .ok()
        .map(|d| d.and_utc())
}

fn author(message: &RawMessage) -> Author {
    let user_id = message
        .from_id
        .as_deref()
        .and_then(|id| id.strip_prefix("user"))
        .and_then(|id| id.parse().ok());
    Author {
        user_id,
        username: None,
        signature: message
            .author
            .clone()
            .or_else(|| user_id.is_none().then(|| message.from.clone()).flatten()),
    }
}

/// Flattens `text` (a string, or an array of strings and entity objects) faithfully: every
/// part's text in order; link targets (`text_link`'s `href`, bare `link`s) kept in `links`.
/// Unknown entity types contribute their text.
pub fn flatten(text: &Value) -> (String, Vec<String>) {
    let mut out = String::new();
    let mut links = Vec::new();
    match text {
        Value::String(s) => out.push_str(s),
        Value::Array(parts) => {
            for part in parts {
                match part {
                    Value::String(s) => out.push_str(s),
                    Value::Object(entity) => {
                        let text = entity
                            .get("text")
                            .and_then(Value::as_str)
                            .unwrap_or_default();
                        out.push_str(text);
                        match entity.get("type").and_then(Value::as_str) {
                            Some("text_link") => {
                                if let Some(href) = entity.get("href").and_then(Value::as_str) {
                                    links.push(href.to_owned());
                                }
                            }
                            Some("link") => links.push(text.to_owned()),
                            _ => {}
                        }
                    }
                    _ => {}
                }
            }
        }
        _ => {}
    }
    (out, links)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXPORT: &str = r#"{
      "name": "Фриланс-вакансии", "type": "public_channel", "id": 1234567890,
      "messages": [
        {"id": 1, "type": "service", "date": "2026-11-01T10:00:00", "date_unixtime": "1793527200", "action": "pin_message", "text": ""},
        {"id": 2, "type": "message", "date": "2026-11-01T10:05:00", "date_unixtime": "1793527500", "from": "Фриланс-вакансии", "from_id": "channel1234567890",
         "author": "Лена", "text": "Ищем дизайнера, бюджет 15 000 ₽. Пишите @studio_lena"},
        {"id": 3, "type": "message", "date": "2026-11-01T10:06:00", "date_unixtime": "1793527560", "from": "Иван", "from_id": "user42",
         "text": ["Нужен ", {"type": "bold", "text": "разработчик"}, " — подробности ", {"type": "text_link", "text": "тут", "href": "https://example.org/job"},
                  ", сайт ", {"type": "link", "text": "https://example.com"}, " ", {"type": "custom_emoji", "text": "🔥", "document_id": "5"},
                  {"type": "some_future_entity", "text": "!"}]},
        {"id": 4, "type": "message", "date": "2026-11-01T10:07:00", "photo": "photos/1.jpg", "text": ""}
      ]
    }"#;

    #[test]
    fn an_export_becomes_raw_messages() {
        // given an export with a service message, a plain and an array text, and a photo
        // when it is parsed
        let chat = parse(EXPORT.as_bytes(), Some("freelance_jobs")).expect("parses");
        // then service messages are skipped and every message keeps its text, links and author
        assert_eq!(chat.chat_id, -1_001_234_567_890);
        assert_eq!(chat.kind, ChannelKind::Channel);
        assert_eq!(chat.messages.len(), 3);
        let plain = &chat.messages[0];
        assert_eq!(plain.author.signature.as_deref(), Some("Лена"));
        assert_eq!(plain.contacts, vec!["@studio_lena".to_string()]);
        assert_eq!(plain.link.as_deref(), Some("https://t.me/freelance_jobs/2"));
        let parts = &chat.messages[1];
        assert_eq!(
            parts.text,
            "Нужен разработчик — подробности тут, сайт https://example.com 🔥!"
        );
        assert_eq!(
            parts.links,
            vec![
                "https://example.org/job".to_string(),
                "https://example.com".to_string()
            ]
        );
        assert_eq!(parts.author.user_id, Some(42));
        let photo = &chat.messages[2];
        assert!(photo.has_media && photo.text.is_empty());
        assert_eq!(photo.posted_at.to_rfc3339(), "2026-11-01T10:07:00+00:00");
    }

    #[test]
    fn a_truncated_file_is_an_error_with_its_position() {
        let truncated = &EXPORT.as_bytes()[..EXPORT.len() / 2];
        let error = parse(truncated, None).expect_err("truncated");
        assert!(error.to_string().contains("line"), "{error}");
        assert!(parse(b"{\"messages\": 5}", None).is_err());
        assert!(parse(b"", None).is_err());
        let forged = r#"{"name": "x", "type": "public_channel", "id": -9223372036854775808, "messages": []}"#;
        assert!(parse(forged.as_bytes(), None).is_err());
    }
}
