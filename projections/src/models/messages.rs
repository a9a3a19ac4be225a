//! Raw messages: the text and source of every post. `MessageReceived` is the high-volume event
//! (and the one a rebuild is measured on), so runs of it go in as one array upsert.

use bus::Stored;
use chrono::{DateTime, Utc};
use schemas::{Event, MessageReceived, MessageSource};
use serde_json::Value;
use sqlx::PgConnection;

use super::{last_per_key, runs, seq};

pub const TABLES: &[&str] = &["messages"];

pub async fn apply(tx: &mut PgConnection, batch: &[Stored]) -> sqlx::Result<()> {
    let is_received = |s: &Stored| matches!(s.envelope.event, Event::MessageReceived(_));
    for (received, run) in runs(batch, is_received) {
        if received {
            insert_received(tx, run).await?;
            continue;
        }
        for stored in run {
            match &stored.envelope.event {
                Event::MessageEdited(e) => {
                    sqlx::query(
                        "UPDATE messages SET text = $3, links = $4, contacts = $5, edited_at = $6, last_seq = $7
                         WHERE chat_id = $1 AND message_id = $2 AND last_seq < $7",
                    )
                    .bind(e.key.chat_id)
                    .bind(e.key.message_id)
                    .bind(&e.text)
                    .bind(sqlx::types::Json(&e.links))
                    .bind(sqlx::types::Json(&e.contacts))
                    .bind(e.edited_at)
                    .bind(seq(stored))
                    .execute(&mut *tx)
                    .await?;
                }
                Event::MessageDeleted(e) => {
                    sqlx::query(
                        "UPDATE messages SET deleted = true, last_seq = $3
                         WHERE chat_id = $1 AND message_id = $2 AND last_seq < $3",
                    )
                    .bind(e.key.chat_id)
                    .bind(e.key.message_id)
                    .bind(seq(stored))
                    .execute(&mut *tx)
                    .await?;
                }
                _ => {}
            }
        }
    }
    Ok(())
}

fn source_name(source: MessageSource) -> &'static str {
    match source {
        MessageSource::Live => "live",
        MessageSource::CatchUp => "catch_up",
        MessageSource::Import => "import",
    }
}

#[derive(Default)]
struct Columns {
    chat_id: Vec<i64>,
    message_id: Vec<i64>,
    chat_username: Vec<Option<String>>,
    chat_title: Vec<Option<String>>,
    posted_at: Vec<DateTime<Utc>>,
    text: Vec<String>,
    links: Vec<Value>,
    contacts: Vec<Value>,
    author_key: Vec<Option<String>>,
    author_username: Vec<Option<String>>,
    link: Vec<Option<String>>,
    source: Vec<&'static str>,
    last_seq: Vec<i64>,
}

async fn insert_received(tx: &mut PgConnection, run: &[Stored]) -> sqlx::Result<()> {
    let rows: Vec<(&MessageReceived, i64)> =
        last_per_key(run.iter().filter_map(|s| match &s.envelope.event {
            Event::MessageReceived(e) => Some((e.key, (e, seq(s)))),
            _ => None,
        }));
    let mut c = Columns::default();
    for (e, last_seq) in rows {
        c.chat_id.push(e.key.chat_id);
        c.message_id.push(e.key.message_id);
        c.chat_username.push(e.chat_username.clone());
        c.chat_title.push(e.chat_title.clone());
        c.posted_at.push(e.posted_at);
        c.text.push(e.text.clone());
        c.links.push(Value::from(e.links.clone()));
        c.contacts.push(Value::from(e.contacts.clone()));
        c.author_key.push(e.author.key());
        c.author_username
            .push(e.author.username.clone().filter(|u| !u.is_empty()));
        c.link.push(e.link.clone());
        c.source.push(source_name(e.source));
        c.last_seq.push(last_seq);
    }
    sqlx::query(
        "INSERT INTO messages (chat_id, message_id, chat_username, chat_title, posted_at, text, links,
                               contacts, author_key, link, source, last_seq, author_username)
         SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::timestamptz[],
                              $6::text[], $7::jsonb[], $8::jsonb[], $9::text[], $10::text[], $11::text[], $12::bigint[],
                              $13::text[])
         ON CONFLICT (chat_id, message_id) DO UPDATE SET
           chat_username = excluded.chat_username, chat_title = excluded.chat_title,
           posted_at = excluded.posted_at, text = excluded.text, links = excluded.links,
           contacts = excluded.contacts, author_key = excluded.author_key, link = excluded.link,
           source = excluded.source, last_seq = excluded.last_seq,
           author_username = excluded.author_username
         WHERE messages.last_seq < excluded.last_seq",
    )
    .bind(c.chat_id)
    .bind(c.message_id)
    .bind(c.chat_username)
    .bind(c.chat_title)
    .bind(c.posted_at)
    .bind(c.text)
    .bind(c.links)
    .bind(c.contacts)
    .bind(c.author_key)
    .bind(c.link)
    .bind(c.source)
    .bind(c.last_seq)
    .bind(c.author_username)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
