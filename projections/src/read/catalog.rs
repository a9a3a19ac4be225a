//! The catalog as the read models hold it: categories, channels and their rules, and each
//! channel's yield (the `channel_yield` view), for the bots, the operators' CLI and the demo.

use sqlx::PgPool;

/// A category subscribers can choose.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Category {
    pub slug: String,
    /// What subscribers see, e.g. "Дизайн".
    pub name: String,
}

/// The categories not retired, in the catalog's order (`ord`, then slug).
pub async fn active_categories(pool: &PgPool) -> sqlx::Result<Vec<Category>> {
    sqlx::query_as::<_, Category>(
        "SELECT slug, name FROM categories WHERE NOT retired ORDER BY ord, slug",
    )
    .fetch_all(pool)
    .await
}

/// The categories whose vacancies go to paying subscribers before those on a trial.
pub async fn paid_first(pool: &PgPool) -> sqlx::Result<std::collections::HashSet<String>> {
    let slugs: Vec<String> =
        sqlx::query_scalar("SELECT slug FROM categories WHERE paid_first AND NOT retired")
            .fetch_all(pool)
            .await?;
    Ok(slugs.into_iter().collect())
}

/// A channel the reader is configured for.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Channel {
    /// The catalog's key of the channel.
    pub key: String,
    /// The public @username, without the @, if it has one.
    pub username: Option<String>,
    pub title: String,
    pub enabled: bool,
}

/// Every channel, by key.
pub async fn channels(pool: &PgPool) -> sqlx::Result<Vec<Channel>> {
    sqlx::query_as::<_, Channel>("SELECT key, username, title, enabled FROM channels ORDER BY key")
        .fetch_all(pool)
        .await
}

/// The rule set of one scope (global or a channel).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ScopeRules {
    pub scope: String,
    /// The rules as JSON, as Postgres prints `jsonb`.
    pub rules: String,
}

/// Every scope's rules, by scope.
pub async fn channel_rules(pool: &PgPool) -> sqlx::Result<Vec<ScopeRules>> {
    sqlx::query_as::<_, ScopeRules>(
        "SELECT scope, rules::text AS rules FROM channel_rules ORDER BY scope",
    )
    .fetch_all(pool)
    .await
}

/// What reading a channel brings: a row of the `channel_yield` view.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ChannelYield {
    pub chat_id: i64,
    /// The channel's @username, `""` when unknown.
    pub username: String,
    /// Messages read.
    pub seen: i64,
    /// Messages the rules accepted.
    pub passed_rules: i64,
    pub duplicates: i64,
    pub vacancies: i64,
    /// Reports of its posts.
    pub reports: i64,
}

/// Every channel's yield, the most vacancies first, then the most messages read.
pub async fn channel_yield(pool: &PgPool) -> sqlx::Result<Vec<ChannelYield>> {
    sqlx::query_as::<_, ChannelYield>(
        "SELECT chat_id, coalesce(username, '') AS username, seen, passed_rules, duplicates, vacancies, reports
         FROM channel_yield ORDER BY vacancies DESC, seen DESC",
    )
    .fetch_all(pool)
    .await
}
