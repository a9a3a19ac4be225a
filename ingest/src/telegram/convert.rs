//! Telegram's live messages as our raw events: the same shape an export import produces.

use chrono::{DateTime, Utc};
use grammers_client::message::Message;
use grammers_client::peer::Peer;
use grammers_client::session::types::{PeerId, PeerKind};
use grammers_client::tl;
use schemas::{Author, MessageEdited, MessageKey, MessageReceived, MessageSource};

use super::Chat;
use crate::contacts;

/// Link targets in a message: hidden links' URLs and bare links, in text order. Telegram's
/// entity offsets count UTF-16 code units.
pub fn links(text: &str, entities: &[tl::enums::MessageEntity]) -> Vec<String> {
    let utf16: Vec<u16> = text.encode_utf16().collect();
    let slice = |offset: i32, length: i32| {
        let start = usize::try_from(offset).ok()?;
        let end = start.checked_add(usize::try_from(length).ok()?)?;
        utf16.get(start..end).map(String::from_utf16_lossy)
    };
    entities
        .iter()
        .filter_map(|entity| match entity {
            tl::enums::MessageEntity::TextUrl(e) => Some(e.url.clone()),
            tl::enums::MessageEntity::Url(e) => slice(e.offset, e.length),
            _ => None,
        })
        .collect()
}

/// A public chat's post link; private chats (no username) get the `t.me/c/` form members can open.
pub fn post_link(chat: &Chat, message_id: i64) -> String {
    match &chat.username {
        Some(username) => format!("https://t.me/{username}/{message_id}"),
        None => {
            let bare = chat.chat_id.unsigned_abs() % 1_000_000_000_000;
            format!("https://t.me/c/{bare}/{message_id}")
        }
    }
}

pub fn received(message: &Message, chat: &Chat, source: MessageSource) -> MessageReceived {
    let text = message.text().to_owned();
    let links = links(&text, message.fmt_entities().map_or(&[], Vec::as_slice));
    let key = MessageKey::new(chat.chat_id, i64::from(message.id()));
    MessageReceived {
        key,
        chat_username: chat.username.clone(),
        chat_title: Some(chat.title.clone()),
        posted_at: timestamp(message.date().as_second()),
        contacts: contacts::find(&text),
        text,
        links,
        has_media: message.media().is_some(),
        author: author(message),
        link: Some(post_link(chat, key.message_id)),
        source,
    }
}

pub fn edited(message: &Message, chat: &Chat) -> MessageEdited {
    let text = message.text().to_owned();
    MessageEdited {
        key: MessageKey::new(chat.chat_id, i64::from(message.id())),
        edited_at: timestamp(
            message
                .edit_date()
                .unwrap_or_else(|| message.date())
                .as_second(),
        ),
        links: links(&text, message.fmt_entities().map_or(&[], Vec::as_slice)),
        contacts: contacts::find(&text),
        text,
    }
}

fn author(message: &Message) -> Author {
    let user = match message.sender() {
        Some(Peer::User(user)) => Some(user),
        _ => None,
    };
    // The sender's id is known even when Telegram sent no user object with the message.
    let user_id = message
        .sender_id()
        .filter(|id| id.kind() == PeerKind::User)
        .map(PeerId::bare_id_unchecked);
    Author {
        user_id,
        username: user.and_then(|u| u.username()).map(str::to_owned),
        signature: message.post_author().map(str::to_owned),
    }
}

fn timestamp(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_and_bare_links_are_kept_counting_utf16_offsets() {
        // given a text with an emoji (two UTF-16 units) before a bare link, and a hidden link
        let text = "🔥 Сайт https://example.com и бриф тут";
        let bare_offset = "🔥 Сайт ".encode_utf16().count() as i32;
        let entities = vec![
            tl::enums::MessageEntity::Bold(tl::types::MessageEntityBold {
                offset: 0,
                length: 2,
            }),
            tl::enums::MessageEntity::Url(tl::types::MessageEntityUrl {
                offset: bare_offset,
                length: 19,
            }),
            tl::enums::MessageEntity::TextUrl(tl::types::MessageEntityTextUrl {
                offset: 34,
                length: 3,
                url: "https://example.org/brief".into(),
            }),
            // A forged entity past the end of the text is ignored, not a panic.
            tl::enums::MessageEntity::Url(tl::types::MessageEntityUrl {
                offset: 500,
                length: 10,
            }),
        ];
        // when the links are taken
        let links = links(text, &entities);
        // then both targets are there, in order
        assert_eq!(links, ["https://example.com", "https://example.org/brief"]);
    }

    #[test]
    fn post_links_for_public_and_private_chats() {
        let public = Chat {
            chat_id: -1_001_234_567_890,
            username: Some("design_jobs".into()),
            title: "Design".into(),
            kind: schemas::ChannelKind::Channel,
        };
        assert_eq!(post_link(&public, 7), "https://t.me/design_jobs/7");
        let private = Chat {
            username: None,
            ..public
        };
        assert_eq!(post_link(&private, 7), "https://t.me/c/1234567890/7");
    }
}
