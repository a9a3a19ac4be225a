//! What the content API (`/api/v1` of `web`) reads: classified posts a page at a time after a
//! keyset cursor, catalog channels with their yield, revenue per day, and the API's bearer
//! tokens by the hash a request's token has.

use chrono::{DateTime, NaiveDate, Utc};
use schemas::{Budget, MessageKey};
use sqlx::types::{Json, Uuid};
use sqlx::{PgPool, Postgres, QueryBuilder};

/// A post in the API's order (newest first): a page starts right after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct After {
    pub posted_at: DateTime<Utc>,
    pub chat_id: i64,
    pub message_id: i64,
}

/// What the API's post list filters by; `None` filters nothing.
#[derive(Debug, Clone, Default)]
pub struct PostFilter {
    /// The classified kind (`vacancy`, `resume`, …): always one.
    pub kind: String,
    /// A category slug.
    pub category: Option<String>,
    /// A channel's chat id.
    pub chat_id: Option<i64>,
    /// Posted at or after.
    pub since: Option<DateTime<Utc>>,
    /// The stated budget's amount at least (its own currency and period): posts without a
    /// budget are left out.
    pub min_budget: Option<i64>,
    /// Remote work as the classifier read it: posts it could not tell are left out.
    pub remote: Option<bool>,
}

/// A classified post as the API shows it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Post {
    pub chat_id: i64,
    pub message_id: i64,
    pub posted_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
    pub chat_username: Option<String>,
    pub chat_title: Option<String>,
    /// The post's t.me link, when it has one.
    pub link: Option<String>,
    /// The text as it reads now (edits applied).
    pub text: String,
    pub kind: String,
    pub title: Option<String>,
    /// Category slugs, most likely first.
    pub categories: Vec<String>,
    pub budget: Option<Json<Budget>>,
    pub remote: Option<bool>,
    pub classified_at: DateTime<Utc>,
}

// Messages drive: walked in `messages_by_posted_at` order, each looked up in `vacancies` by
// key, so LIMIT stops the walk early. (Joined the plain way, the planner misjudges the
// two-column join by orders of magnitude and sorts every vacancy; `OFFSET 0` keeps the
// lateral a per-message lookup.) The post's own filters go between head and tail. A deleted
// post is not shown: its copies are being taken back.
const POST_HEAD: &str = "SELECT m.chat_id, m.message_id, m.posted_at, m.edited_at, m.chat_username,
        m.chat_title, m.link, m.text, v.kind, v.title, v.categories, v.budget, v.remote,
        v.classified_at
   FROM messages m
  CROSS JOIN LATERAL (
        SELECT v.kind, v.title, v.budget, v.remote, v.classified_at,
               ARRAY(SELECT c.slug FROM vacancy_categories c
                      WHERE c.chat_id = v.chat_id AND c.message_id = v.message_id
                      ORDER BY c.rank) AS categories
          FROM vacancies v
         WHERE v.chat_id = m.chat_id AND v.message_id = m.message_id";
const POST_TAIL: &str = " OFFSET 0) v
  WHERE NOT m.deleted";

/// Up to `limit` posts matching `filter`, newest first, after `after` when given (a keyset
/// page: no OFFSET, so page 10,000 costs what page 1 does). Every value is bound, never spliced.
pub async fn posts(
    pool: &PgPool,
    filter: &PostFilter,
    after: Option<After>,
    limit: i64,
) -> sqlx::Result<Vec<Post>> {
    let mut sql = QueryBuilder::<Postgres>::new(POST_HEAD);
    sql.push(" AND v.kind = ").push_bind(&filter.kind);
    if let Some(category) = &filter.category {
        sql.push(
            " AND EXISTS (SELECT 1 FROM vacancy_categories c WHERE c.chat_id = v.chat_id
                AND c.message_id = v.message_id AND c.slug = ",
        )
        .push_bind(category)
        .push(")");
    }
    if let Some(min_budget) = filter.min_budget {
        sql.push(" AND (v.budget->>'amount')::bigint >= ")
            .push_bind(min_budget);
    }
    if let Some(remote) = filter.remote {
        sql.push(" AND v.remote = ").push_bind(remote);
    }
    sql.push(POST_TAIL);
    if let Some(chat_id) = filter.chat_id {
        sql.push(" AND m.chat_id = ").push_bind(chat_id);
    }
    if let Some(since) = filter.since {
        sql.push(" AND m.posted_at >= ").push_bind(since);
    }
    if let Some(after) = after {
        sql.push(" AND (m.posted_at, m.chat_id, m.message_id) < (")
            .push_bind(after.posted_at)
            .push(", ")
            .push_bind(after.chat_id)
            .push(", ")
            .push_bind(after.message_id)
            .push(")");
    }
    sql.push(" ORDER BY m.posted_at DESC, m.chat_id DESC, m.message_id DESC LIMIT ")
        .push_bind(limit);
    sql.build_query_as::<Post>().fetch_all(pool).await
}

/// One classified post, whatever its kind; `None` when unknown, unclassified or deleted.
pub async fn post(pool: &PgPool, key: MessageKey) -> sqlx::Result<Option<Post>> {
    let sql = format!("{POST_HEAD}{POST_TAIL} AND m.chat_id = $1 AND m.message_id = $2");
    sqlx::query_as::<_, Post>(&sql)
        .bind(key.chat_id)
        .bind(key.message_id)
        .fetch_optional(pool)
        .await
}

/// A catalog channel and what reading it brought (zeros before its first message).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ChannelWithYield {
    pub key: String,
    /// 0 while only its username is known.
    pub chat_id: i64,
    pub username: Option<String>,
    pub title: String,
    pub enabled: bool,
    pub seen: i64,
    pub passed_rules: i64,
    pub duplicates: i64,
    pub vacancies: i64,
    pub reports: i64,
}

/// The channels in the catalog (not removed), by key, with their yield.
pub async fn channels_with_yield(pool: &PgPool) -> sqlx::Result<Vec<ChannelWithYield>> {
    sqlx::query_as::<_, ChannelWithYield>(
        "SELECT ch.key, ch.chat_id, ch.username, ch.title, ch.enabled,
                coalesce(y.seen, 0) AS seen, coalesce(y.passed_rules, 0) AS passed_rules,
                coalesce(y.duplicates, 0) AS duplicates, coalesce(y.vacancies, 0) AS vacancies,
                coalesce(y.reports, 0) AS reports
           FROM channels ch
           LEFT JOIN channel_yield y ON y.chat_id = ch.chat_id AND ch.chat_id <> 0
          WHERE NOT ch.removed
          ORDER BY ch.key",
    )
    .fetch_all(pool)
    .await
}

/// What one day (UTC) brought in one currency, net of refunds.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DayRevenue {
    pub day: NaiveDate,
    pub currency: String,
    /// Succeeded payments.
    pub payments: i64,
    /// Paid minus refunded, in minor units (kopecks; Stars are whole).
    pub net_minor: i64,
}

/// Revenue per day and currency over `[first, last]` (UTC days), oldest first; days without
/// payments have no rows.
pub async fn revenue(
    pool: &PgPool,
    first: NaiveDate,
    last: NaiveDate,
) -> sqlx::Result<Vec<DayRevenue>> {
    sqlx::query_as::<_, DayRevenue>(
        "SELECT day, currency, sum(payments)::bigint AS payments, sum(net_minor)::bigint AS net_minor
           FROM revenue_daily WHERE day >= $1 AND day <= $2
          GROUP BY day, currency ORDER BY day, currency",
    )
    .bind(first)
    .bind(last)
    .fetch_all(pool)
    .await
}

/// A bearer token of the API, without its hash.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ApiToken {
    pub token_id: Uuid,
    pub name: String,
    pub issued_by: Option<i64>,
    pub issued_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoked_by: Option<i64>,
}

const TOKEN: &str =
    "SELECT token_id, name, issued_by, issued_at, revoked_at, revoked_by FROM api_tokens";

/// The token whose SHA-256 (hex) is `token_hash`, revoked or not.
pub async fn token_by_hash(pool: &PgPool, token_hash: &str) -> sqlx::Result<Option<ApiToken>> {
    sqlx::query_as::<_, ApiToken>(&format!("{TOKEN} WHERE token_hash = $1"))
        .bind(token_hash)
        .fetch_optional(pool)
        .await
}

/// Every token, oldest first.
pub async fn tokens(pool: &PgPool) -> sqlx::Result<Vec<ApiToken>> {
    sqlx::query_as::<_, ApiToken>(&format!("{TOKEN} ORDER BY issued_at, token_id"))
        .fetch_all(pool)
        .await
}
