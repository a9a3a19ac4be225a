//! Screening verdicts: accepted, rejected by a rule, or a duplicate of an earlier post. Every
//! event is one row, so a whole batch is one array upsert.

use bus::Stored;
use schemas::Event;
use sqlx::PgConnection;

use super::{last_per_key, seq};

pub const TABLES: &[&str] = &["screening"];

struct Row {
    chat_id: i64,
    message_id: i64,
    verdict: &'static str,
    rule: Option<String>,
    scope: Option<String>,
    original: Option<(i64, i64)>,
    last_seq: i64,
}

fn row(stored: &Stored) -> Option<Row> {
    let last_seq = seq(stored);
    Some(match &stored.envelope.event {
        Event::MessageAccepted(e) => Row {
            chat_id: e.key.chat_id,
            message_id: e.key.message_id,
            verdict: "accepted",
            rule: Some(e.rule.clone()),
            scope: Some(e.scope.clone()),
            original: None,
            last_seq,
        },
        Event::MessageRejected(e) => Row {
            chat_id: e.key.chat_id,
            message_id: e.key.message_id,
            verdict: "rejected",
            rule: Some(e.rule.clone()),
            scope: Some(e.scope.clone()),
            original: None,
            last_seq,
        },
        Event::DuplicateDetected(e) => Row {
            chat_id: e.key.chat_id,
            message_id: e.key.message_id,
            verdict: "duplicate",
            rule: None,
            scope: None,
            original: Some((e.original.chat_id, e.original.message_id)),
            last_seq,
        },
        _ => return None,
    })
}

pub async fn apply(tx: &mut PgConnection, batch: &[Stored]) -> sqlx::Result<()> {
    let rows = last_per_key(
        batch
            .iter()
            .filter_map(row)
            .map(|r| ((r.chat_id, r.message_id), r)),
    );
    if rows.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO screening (chat_id, message_id, verdict, rule, scope, original_chat_id, original_message_id, last_seq)
         SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::bigint[])
         ON CONFLICT (chat_id, message_id) DO UPDATE SET verdict = excluded.verdict, rule = excluded.rule,
           scope = excluded.scope, original_chat_id = excluded.original_chat_id,
           original_message_id = excluded.original_message_id, last_seq = excluded.last_seq
         WHERE screening.last_seq < excluded.last_seq",
    )
    .bind(rows.iter().map(|r| r.chat_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.message_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.verdict).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.rule.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.scope.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.original.map(|o| o.0)).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.original.map(|o| o.1)).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.last_seq).collect::<Vec<_>>())
    .execute(&mut *tx)
    .await?;
    Ok(())
}
