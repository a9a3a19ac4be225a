//! The vacancy list's cursor: the last post of a page, in the list's order (posted at, chat,
//! message), for the next page to start after. A keyset rather than an offset, so posts that
//! arrive between two pages neither repeat nor push others out of the walk. Opaque to clients
//! (hex of a versioned text) so its insides may change; a cursor we did not make is refused.

use chrono::DateTime;
use projections::read::api::{After, Post};

const VERSION: &str = "v1";

/// The cursor of the page that starts after `post`.
pub fn after(post: &Post) -> String {
    encode(&After {
        posted_at: post.posted_at,
        chat_id: post.chat_id,
        message_id: post.message_id,
    })
}

pub fn encode(after: &After) -> String {
    // Microseconds: what Postgres stores, so the bound is exactly the row's value.
    hex::encode(format!(
        "{VERSION}:{}:{}:{}",
        after.posted_at.timestamp_micros(),
        after.chat_id,
        after.message_id
    ))
}

/// The position a cursor names; `None` for anything [`encode`] did not make.
pub fn decode(cursor: &str) -> Option<After> {
    let text = String::from_utf8(hex::decode(cursor).ok()?).ok()?;
    let mut parts = text.split(':');
    if parts.next()? != VERSION {
        return None;
    }
    let micros = parts.next()?.parse().ok()?;
    let chat_id = parts.next()?.parse().ok()?;
    let message_id = parts.next()?.parse().ok()?;
    if parts.next().is_some() {
        return None;
    }
    Some(After {
        posted_at: DateTime::from_timestamp_micros(micros)?,
        chat_id,
        message_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_names_the_position_it_was_made_from() {
        // given a position to microsecond precision
        let position = After {
            posted_at: DateTime::from_timestamp_micros(1_790_000_000_123_456).unwrap(),
            chat_id: -1001234567890,
            message_id: 42,
        };
        // when it is made into a cursor and read back, then it is the same position
        assert_eq!(decode(&encode(&position)), Some(position));
    }

    #[test]
    fn a_cursor_we_did_not_make_is_refused() {
        for cursor in [
            "",
            "zz",
            "' OR 1=1 --",
            &hex::encode("v2:1:2:3"),
            &hex::encode("v1:1:2"),
            &hex::encode("v1:1:2:3:4"),
            &hex::encode("v1:x:2:3"),
        ] {
            assert_eq!(decode(cursor), None, "{cursor}");
        }
    }
}
