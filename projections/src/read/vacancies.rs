//! Posts as the read models hold them: messages, their screening, their classification, for the
//! category bots (a post's author), the benchmarks (how many rows) and the demo.

use schemas::MessageKey;
use sqlx::PgPool;

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
