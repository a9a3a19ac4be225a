//! Posts as the read models hold them: messages, their screening, their classification, for the
//! category bots (a post's author), the benchmarks (how many rows) and the demo.

use schemas::MessageKey;
use sqlx::{PgPool, Postgres, QueryBuilder};

/// The post's author key (`schemas::Author::key`); `None` when the post or its author is unknown.
pub async fn author(pool: &PgPool, key: MessageKey) -> sqlx::Result<Option<String>> {
    let author = sqlx::query_scalar::<_, Option<String>>(
        "SELECT author_key FROM messages WHERE chat_id = $1 AND message_id = $2",
    )
    .bind(key.chat_id)
    .bind(key.message_id)
    .fetch_optional(pool)
    .await?;
    Ok(author.flatten())
}

/// How many messages the messages read model holds (deleted ones too).
pub async fn message_count(pool: &PgPool) -> sqlx::Result<i64> {
    sqlx::query_scalar::<_, i64>("SELECT count(*) FROM messages")
        .fetch_one(pool)
        .await
}

/// A message and what screening made of it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Screened {
    pub chat_id: i64,
    pub message_id: i64,
    /// `accepted`, `rejected`, `duplicate`, or `-` when not screened yet.
    pub verdict: String,
    /// The rule that decided, `""` when none.
    pub rule: String,
    /// The text's first 60 characters.
    pub text_start: String,
}

/// Every message with its screening, oldest post first.
pub async fn screened(pool: &PgPool) -> sqlx::Result<Vec<Screened>> {
    sqlx::query_as::<_, Screened>(
        "SELECT m.chat_id, m.message_id, coalesce(s.verdict, '-') AS verdict, coalesce(s.rule, '') AS rule,
                left(m.text, 60) AS text_start
         FROM messages m LEFT JOIN screening s USING (chat_id, message_id) ORDER BY m.posted_at",
    )
    .fetch_all(pool)
    .await
}

/// A classified post in brief.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Classified {
    pub chat_id: i64,
    pub message_id: i64,
    /// `vacancy` or another post kind.
    pub kind: String,
    /// The title, `""` when none.
    pub title: String,
    /// Category slugs, most likely first, comma-separated; `None` when none.
    pub categories: Option<String>,
    /// The budget as JSON, as Postgres prints `jsonb`.
    pub budget: Option<String>,
}

/// Every classified post, by message id.
pub async fn classified(pool: &PgPool) -> sqlx::Result<Vec<Classified>> {
    sqlx::query_as::<_, Classified>(
        "SELECT v.chat_id, v.message_id, v.kind, coalesce(v.title, '') AS title,
                string_agg(c.slug, ',' ORDER BY c.rank) AS categories, v.budget::text AS budget
         FROM vacancies v LEFT JOIN vacancy_categories c USING (chat_id, message_id)
         GROUP BY v.chat_id, v.message_id, v.kind, v.title, v.budget ORDER BY v.message_id",
    )
    .fetch_all(pool)
    .await
}

/// What the admin web UI's vacancy list filters by; empty fields filter nothing.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Words the post's text contains (case-insensitive).
    pub text: String,
    /// A category slug.
    pub category: String,
    /// A kind (`vacancy`, `resume`, …).
    pub kind: String,
    /// A channel's chat id.
    pub chat_id: Option<i64>,
    /// Classified at or after this instant.
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    /// Classified before this instant.
    pub before: Option<chrono::DateTime<chrono::Utc>>,
}

/// A classified post as the admin web UI lists it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Found {
    pub chat_id: i64,
    pub message_id: i64,
    pub kind: String,
    pub confidence: f32,
    pub classifier: String,
    pub corrected: bool,
    pub classified_at: chrono::DateTime<chrono::Utc>,
    pub title: Option<String>,
    pub text: Option<String>,
    pub chat_title: Option<String>,
    pub link: Option<String>,
    /// Its categories, most likely first, comma-separated.
    pub categories: Option<String>,
}

const FOUND: &str =
    "SELECT v.chat_id, v.message_id, v.kind, v.confidence, v.classifier, v.corrected,
                v.classified_at, v.title, m.text, m.chat_title, m.link,
                (SELECT string_agg(c.slug, ',' ORDER BY c.rank) FROM vacancy_categories c
                  WHERE c.chat_id = v.chat_id AND c.message_id = v.message_id) AS categories
           FROM vacancies v
           LEFT JOIN messages m ON m.chat_id = v.chat_id AND m.message_id = v.message_id";

/// Classified posts matching `filter`, newest first, `limit` from `offset`. Every filter is
/// bound, never spliced; the text's LIKE wildcards match literally. Only the filters given are
/// in the SQL: a `($1 = '' OR …)` the planner cannot see through makes it hash every post of
/// a category (`bench web`: 140 ms for a page instead of 12 ms over 1,000,000 vacancies).
pub async fn search(
    pool: &PgPool,
    filter: &Filter,
    limit: i64,
    offset: i64,
) -> sqlx::Result<Vec<Found>> {
    let mut sql = QueryBuilder::<Postgres>::new(FOUND);
    sql.push(" WHERE true");
    if !filter.text.is_empty() {
        let text = format!("%{}%", super::like_escaped(&filter.text));
        sql.push(" AND m.text ILIKE ").push_bind(text);
    }
    if !filter.category.is_empty() {
        sql.push(
            " AND EXISTS (SELECT 1 FROM vacancy_categories c WHERE c.chat_id = v.chat_id
                 AND c.message_id = v.message_id AND c.slug = ",
        )
        .push_bind(&filter.category)
        .push(")");
    }
    if !filter.kind.is_empty() {
        sql.push(" AND v.kind = ").push_bind(&filter.kind);
    }
    if let Some(chat_id) = filter.chat_id {
        sql.push(" AND v.chat_id = ").push_bind(chat_id);
    }
    if let Some(since) = filter.since {
        sql.push(" AND v.classified_at >= ").push_bind(since);
    }
    if let Some(before) = filter.before {
        sql.push(" AND v.classified_at < ").push_bind(before);
    }
    sql.push(" ORDER BY v.classified_at DESC, v.chat_id, v.message_id LIMIT ")
        .push_bind(limit)
        .push(" OFFSET ")
        .push_bind(offset);
    sql.build_query_as::<Found>().fetch_all(pool).await
}

/// One classified post, as [`search`] lists it.
pub async fn one(pool: &PgPool, key: MessageKey) -> sqlx::Result<Option<Found>> {
    let sql = format!("{FOUND} WHERE v.chat_id = $1 AND v.message_id = $2");
    sqlx::query_as::<_, Found>(&sql)
        .bind(key.chat_id)
        .bind(key.message_id)
        .fetch_optional(pool)
        .await
}
