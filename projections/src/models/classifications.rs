//! Vacancies with their ranked categories: the latest classification of each post wins, and an
//! admin's correction overrides the classifiers.

use bus::Stored;
use schemas::{Classifier, Event};
use sqlx::PgConnection;

use super::seq;

pub const TABLES: &[&str] = &["vacancies", "vacancy_categories"];

pub async fn apply(tx: &mut PgConnection, batch: &[Stored]) -> sqlx::Result<()> {
    for stored in batch {
        let last_seq = seq(stored);
        let occurred_at = stored.envelope.occurred_at;
        let (key, categories): (schemas::MessageKey, Vec<(String, f32)>) = match &stored
            .envelope
            .event
        {
            Event::MessageClassified(e) => {
                let classifier = match e.classifier {
                    Classifier::Local => "local",
                    Classifier::Llm => "llm",
                };
                let applied = sqlx::query(
                    "INSERT INTO vacancies (chat_id, message_id, kind, confidence, classifier, model, prompt_version,
                                            title, budget, remote, corrected, classified_at, last_seq)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, false, $11, $12)
                     ON CONFLICT (chat_id, message_id) DO UPDATE SET kind = excluded.kind,
                       confidence = excluded.confidence, classifier = excluded.classifier, model = excluded.model,
                       prompt_version = excluded.prompt_version, title = excluded.title, budget = excluded.budget,
                       remote = excluded.remote, corrected = false, classified_at = excluded.classified_at,
                       last_seq = excluded.last_seq
                     WHERE vacancies.last_seq < excluded.last_seq AND NOT vacancies.corrected",
                )
                .bind(e.key.chat_id)
                .bind(e.key.message_id)
                .bind(e.kind.as_str())
                .bind(e.confidence)
                .bind(classifier)
                .bind(&e.model)
                .bind(&e.prompt_version)
                .bind(&e.title)
                .bind(e.budget.as_ref().map(sqlx::types::Json))
                .bind(e.remote)
                .bind(occurred_at)
                .bind(last_seq)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if applied == 0 {
                    continue;
                }
                (
                    e.key,
                    e.categories
                        .iter()
                        .map(|c| (c.slug.clone(), c.score))
                        .collect(),
                )
            }
            Event::ClassificationCorrected(e) => {
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
                .bind(occurred_at)
                .bind(last_seq)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if applied == 0 {
                    continue;
                }
                (
                    e.key,
                    e.categories.iter().map(|c| (c.clone(), 1.0)).collect(),
                )
            }
            _ => continue,
        };
        sqlx::query("DELETE FROM vacancy_categories WHERE chat_id = $1 AND message_id = $2")
            .bind(key.chat_id)
            .bind(key.message_id)
            .execute(&mut *tx)
            .await?;
        let mut seen = std::collections::HashSet::new();
        let categories: Vec<_> = categories
            .into_iter()
            .filter(|(slug, _)| seen.insert(slug.clone()))
            .collect();
        sqlx::query(
            "INSERT INTO vacancy_categories (chat_id, message_id, slug, rank, score)
             SELECT $1, $2, slug, rank, score FROM UNNEST($3::text[], $4::int[], $5::real[]) AS t(slug, rank, score)",
        )
        .bind(key.chat_id)
        .bind(key.message_id)
        .bind(categories.iter().map(|(s, _)| s.clone()).collect::<Vec<_>>())
        .bind((0..categories.len() as i32).collect::<Vec<_>>())
        .bind(categories.iter().map(|(_, score)| *score).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}
