//! Categories, channels and their keyword rules. Low volume: one statement per event.

use bus::Stored;
use schemas::{Event, channel_key};
use sqlx::PgConnection;

use super::seq;

pub const TABLES: &[&str] = &["categories", "channels", "channel_rules"];

pub async fn apply(tx: &mut PgConnection, batch: &[Stored]) -> sqlx::Result<()> {
    for stored in batch {
        let last_seq = seq(stored);
        match &stored.envelope.event {
            Event::CategoryDefined(e) => {
                sqlx::query(
                    "INSERT INTO categories (slug, name, ord, retired, last_seq, paid_first) VALUES ($1, $2, $3, false, $4, $5)
                     ON CONFLICT (slug) DO UPDATE SET name = excluded.name, ord = excluded.ord,
                       retired = false, last_seq = excluded.last_seq, paid_first = excluded.paid_first
                     WHERE categories.last_seq < excluded.last_seq",
                )
                .bind(&e.slug)
                .bind(&e.name)
                .bind(e.order)
                .bind(last_seq)
                .bind(e.paid_first)
                .execute(&mut *tx)
                .await?;
            }
            Event::CategoryRetired(e) => {
                sqlx::query(
                    "UPDATE categories SET retired = true, last_seq = $2 WHERE slug = $1 AND last_seq < $2",
                )
                .bind(&e.slug)
                .bind(last_seq)
                .execute(&mut *tx)
                .await?;
            }
            Event::ChannelConfigured(e) => {
                let kind = match e.kind {
                    schemas::ChannelKind::Channel => "channel",
                    schemas::ChannelKind::Group => "group",
                };
                sqlx::query(
                    "INSERT INTO channels (key, chat_id, username, title, kind, enabled, removed, last_seq)
                     VALUES ($1, $2, $3, $4, $5, $6, false, $7)
                     ON CONFLICT (key) DO UPDATE SET chat_id = excluded.chat_id, username = excluded.username,
                       title = excluded.title, kind = excluded.kind, enabled = excluded.enabled,
                       removed = false, unreadable = NULL, last_seq = excluded.last_seq
                     WHERE channels.last_seq < excluded.last_seq",
                )
                .bind(channel_key(e.chat_id, e.username.as_deref()))
                .bind(e.chat_id)
                .bind(&e.username)
                .bind(&e.title)
                .bind(kind)
                .bind(e.enabled)
                .bind(last_seq)
                .execute(&mut *tx)
                .await?;
            }
            Event::ChannelRemoved(e) => {
                sqlx::query(
                    "UPDATE channels SET removed = true, enabled = false, last_seq = $2 WHERE key = $1 AND last_seq < $2",
                )
                .bind(&e.channel)
                .bind(last_seq)
                .execute(&mut *tx)
                .await?;
            }
            Event::ChannelUnreadable(e) => {
                sqlx::query(
                    "UPDATE channels SET unreadable = $2, last_seq = $3 WHERE key = $1 AND last_seq < $3",
                )
                .bind(&e.channel)
                .bind(&e.reason)
                .bind(last_seq)
                .execute(&mut *tx)
                .await?;
            }
            Event::ChannelRulesSet(e) => {
                sqlx::query(
                    "INSERT INTO channel_rules (scope, rules, last_seq) VALUES ($1, $2, $3)
                     ON CONFLICT (scope) DO UPDATE SET rules = excluded.rules, last_seq = excluded.last_seq
                     WHERE channel_rules.last_seq < excluded.last_seq",
                )
                .bind(e.scope.key())
                .bind(sqlx::types::Json(&e.rules))
                .bind(last_seq)
                .execute(&mut *tx)
                .await?;
            }
            _ => {}
        }
    }
    Ok(())
}
