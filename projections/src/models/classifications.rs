//! Vacancies with their ranked categories: the latest classification of each post wins, and an
//! admin's correction overrides the classifiers.
//!
//! Classifications arrive a few thousand a second under load: a run of them is written with
//! three array statements (the vacancies, then their categories replaced), not three per event.

use bus::Stored;
use schemas::{ClassificationCorrected, Classifier, Event, MessageClassified, MessageKey};
use sqlx::PgConnection;

use super::{last_per_key, runs, seq};

pub const TABLES: &[&str] = &["vacancies", "vacancy_categories"];

pub async fn apply(tx: &mut PgConnection, batch: &[Stored]) -> sqlx::Result<()> {
    let is_classified = |s: &Stored| matches!(s.envelope.event, Event::MessageClassified(_));
    for (classified, run) in runs(batch, is_classified) {
        if classified {
            let applied = upsert_classified(tx, run).await?;
            replace_categories(tx, &applied).await?;
            continue;
        }
        for stored in run {
            if let Event::ClassificationCorrected(e) = &stored.envelope.event
                && let Some(applied) = upsert_corrected(tx, stored, e).await?
            {
                replace_categories(tx, &[applied]).await?;
            }
        }
    }
    Ok(())
}

/// A post whose row a classification or correction changed, with its categories to store.
struct Applied {
    key: MessageKey,
    categories: Vec<(String, f32)>,
}

#[derive(Default)]
struct Columns {
    chat_id: Vec<i64>,
    message_id: Vec<i64>,
    kind: Vec<&'static str>,
    confidence: Vec<f32>,
    classifier: Vec<&'static str>,
    model: Vec<String>,
    prompt_version: Vec<Option<String>>,
    title: Vec<Option<String>>,
    budget: Vec<Option<serde_json::Value>>,
    remote: Vec<Option<bool>>,
    classified_at: Vec<chrono::DateTime<chrono::Utc>>,
    last_seq: Vec<i64>,
}

/// Upserts the run's classifications (the last per post: the later one wins anyway), except
/// over a newer row or an admin's correction; returns the posts it changed.
async fn upsert_classified(tx: &mut PgConnection, run: &[Stored]) -> sqlx::Result<Vec<Applied>> {
    let rows: Vec<(&MessageClassified, &Stored)> =
        last_per_key(run.iter().filter_map(|s| match &s.envelope.event {
            Event::MessageClassified(e) => Some((e.key, (e, s))),
            _ => None,
        }));
    let mut c = Columns::default();
    for &(e, stored) in &rows {
        c.chat_id.push(e.key.chat_id);
        c.message_id.push(e.key.message_id);
        c.kind.push(e.kind.as_str());
        c.confidence.push(e.confidence);
        c.classifier.push(match e.classifier {
            Classifier::Local => "local",
            Classifier::Llm => "llm",
        });
        c.model.push(e.model.clone());
        c.prompt_version.push(e.prompt_version.clone());
        c.title.push(e.title.clone());
        c.budget
            .push(e.budget.as_ref().and_then(|b| serde_json::to_value(b).ok()));
        c.remote.push(e.remote);
        c.classified_at.push(stored.envelope.occurred_at);
        c.last_seq.push(seq(stored));
    }
    let changed: Vec<(i64, i64)> = sqlx::query_as(
        "INSERT INTO vacancies (chat_id, message_id, kind, confidence, classifier, model, prompt_version,
                                title, budget, remote, corrected, classified_at, last_seq)
         SELECT chat_id, message_id, kind, confidence, classifier, model, prompt_version, title, budget,
                remote, false, classified_at, last_seq
         FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::real[], $5::text[], $6::text[], $7::text[],
                     $8::text[], $9::jsonb[], $10::boolean[], $11::timestamptz[], $12::bigint[])
              AS t(chat_id, message_id, kind, confidence, classifier, model, prompt_version, title, budget,
                   remote, classified_at, last_seq)
         ON CONFLICT (chat_id, message_id) DO UPDATE SET kind = excluded.kind,
           confidence = excluded.confidence, classifier = excluded.classifier, model = excluded.model,
           prompt_version = excluded.prompt_version, title = excluded.title, budget = excluded.budget,
           remote = excluded.remote, corrected = false, classified_at = excluded.classified_at,
           last_seq = excluded.last_seq
         WHERE vacancies.last_seq < excluded.last_seq AND NOT vacancies.corrected
         RETURNING chat_id, message_id",
    )
    .bind(c.chat_id)
    .bind(c.message_id)
    .bind(c.kind)
    .bind(c.confidence)
    .bind(c.classifier)
    .bind(c.model)
    .bind(c.prompt_version)
    .bind(c.title)
    .bind(c.budget)
    .bind(c.remote)
    .bind(c.classified_at)
    .bind(c.last_seq)
    .fetch_all(&mut *tx)
    .await?;
    let changed: std::collections::HashSet<MessageKey> = changed
        .into_iter()
        .map(|(chat_id, message_id)| MessageKey::new(chat_id, message_id))
        .collect();
    Ok(rows
        .into_iter()
        .filter(|(e, _)| changed.contains(&e.key))
        .map(|(e, _)| Applied {
            key: e.key,
            categories: e
                .categories
                .iter()
                .map(|c| (c.slug.clone(), c.score))
                .collect(),
        })
        .collect())
}

/// An admin's correction: it wins over every classification before it.
async fn upsert_corrected(
    tx: &mut PgConnection,
    stored: &Stored,
    e: &ClassificationCorrected,
) -> sqlx::Result<Option<Applied>> {
    let applied = sqlx::query(
        "INSERT INTO vacancies (chat_id, message_id, kind, confidence, classifier, model, corrected, classified_at, last_seq)
         VALUES ($1, $2, $3, 1, 'admin', 'admin', true, $4, $5)
         ON CONFLICT (chat_id, message_id) DO UPDATE SET kind = excluded.kind, confidence = 1,
           corrected = true, last_seq = excluded.last_seq
         WHERE vacancies.last_seq < excluded.last_seq",
    )
    .bind(e.key.chat_id)
    .bind(e.key.message_id)
    .bind(e.kind.as_str())
    .bind(stored.envelope.occurred_at)
    .bind(seq(stored))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    Ok((applied > 0).then(|| Applied {
        key: e.key,
        categories: e.categories.iter().map(|c| (c.clone(), 1.0)).collect(),
    }))
}

/// Replaces the categories of the changed posts, in rank order (a slug named twice once).
async fn replace_categories(tx: &mut PgConnection, applied: &[Applied]) -> sqlx::Result<()> {
    if applied.is_empty() {
        return Ok(());
    }
    let chat_ids: Vec<i64> = applied.iter().map(|a| a.key.chat_id).collect();
    let message_ids: Vec<i64> = applied.iter().map(|a| a.key.message_id).collect();
    sqlx::query(
        "DELETE FROM vacancy_categories v USING UNNEST($1::bigint[], $2::bigint[]) AS t(chat_id, message_id)
         WHERE v.chat_id = t.chat_id AND v.message_id = t.message_id",
    )
    .bind(&chat_ids)
    .bind(&message_ids)
    .execute(&mut *tx)
    .await?;
    let (mut chat_id, mut message_id, mut slug, mut rank, mut score) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for post in applied {
        let mut seen = std::collections::HashSet::new();
        let unique = post.categories.iter().filter(|(s, _)| seen.insert(s));
        for (i, (s, value)) in unique.enumerate() {
            chat_id.push(post.key.chat_id);
            message_id.push(post.key.message_id);
            slug.push(s.clone());
            rank.push(i as i32);
            score.push(*value);
        }
    }
    sqlx::query(
        "INSERT INTO vacancy_categories (chat_id, message_id, slug, rank, score)
         SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::int[], $5::real[])",
    )
    .bind(chat_id)
    .bind(message_id)
    .bind(slug)
    .bind(rank)
    .bind(score)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
