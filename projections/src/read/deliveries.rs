//! What was delivered to whom, for the category bots (whose buttons count), the demo and the
//! tests. The senders' own claims live in the event log; this is the read model of outcomes.

use chrono::{DateTime, Utc};
use schemas::MessageKey;
use sqlx::PgPool;

/// Whether `category`'s bot delivered the post `key` to the user.
pub async fn delivered(
    pool: &PgPool,
    user_id: i64,
    key: MessageKey,
    category: &str,
) -> sqlx::Result<bool> {
    sqlx::query_scalar::<_, bool>(
        "SELECT EXISTS (SELECT 1 FROM deliveries WHERE user_id = $1 AND chat_id = $2
                          AND message_id = $3 AND category = $4 AND delivered_at IS NOT NULL)",
    )
    .bind(user_id)
    .bind(key.chat_id)
    .bind(key.message_id)
    .bind(category)
    .fetch_one(pool)
    .await
}

/// Whether anything at all was delivered to the user.
pub async fn any_delivered_to(pool: &PgPool, user_id: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar::<_, bool>(
        "SELECT EXISTS (SELECT 1 FROM deliveries WHERE user_id = $1 AND delivered_at IS NOT NULL)",
    )
    .bind(user_id)
    .fetch_one(pool)
    .await
}

/// How many posts one category's bot delivered.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PerCategory {
    pub category: String,
    pub delivered: i64,
}

/// For each category, how many posts its bot delivered to the user, by category.
pub async fn delivered_per_category(pool: &PgPool, user_id: i64) -> sqlx::Result<Vec<PerCategory>> {
    sqlx::query_as::<_, PerCategory>(
        "SELECT category, count(*) AS delivered FROM deliveries
         WHERE user_id = $1 AND delivered_at IS NOT NULL GROUP BY category ORDER BY category",
    )
    .bind(user_id)
    .fetch_all(pool)
    .await
}

/// A card in a user's chat: who got a post, through which bot, as which message, when.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Recipient {
    pub user_id: i64,
    pub category: String,
    /// Which of the category's bots sent it (`None`: its first).
    pub bot_id: Option<i64>,
    pub sent_message_id: i64,
    pub delivered_at: DateTime<Utc>,
}

/// Everyone the post `key` was delivered to and not taken back from.
pub async fn recipients(pool: &PgPool, key: MessageKey) -> sqlx::Result<Vec<Recipient>> {
    sqlx::query_as::<_, Recipient>(
        "SELECT user_id, category, bot_id, sent_message_id, delivered_at FROM deliveries
         WHERE chat_id = $1 AND message_id = $2 AND sent_message_id IS NOT NULL
           AND delivered_at IS NOT NULL AND withdrawn_at IS NULL
         ORDER BY user_id",
    )
    .bind(key.chat_id)
    .bind(key.message_id)
    .fetch_all(pool)
    .await
}

/// A planned delivery and its outcome.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Delivery {
    pub user_id: i64,
    pub chat_id: i64,
    pub message_id: i64,
    /// The category whose bot sends it.
    pub category: String,
    /// When it was sent; `None` until then, or when it failed.
    pub delivered_at: Option<DateTime<Utc>>,
    /// Why it was not: Telegram's refusal, or `unconfirmed: …` for a send whose answer never
    /// came.
    pub error: Option<String>,
}

/// Every delivery, by delivery time.
pub async fn all(pool: &PgPool) -> sqlx::Result<Vec<Delivery>> {
    sqlx::query_as::<_, Delivery>(
        "SELECT user_id, chat_id, message_id, category, delivered_at, error FROM deliveries ORDER BY delivered_at",
    )
    .fetch_all(pool)
    .await
}
