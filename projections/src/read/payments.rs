//! Payments and revenue as the read models hold them: what the billing poller re-checks, what
//! admins list in the CLI, what the `revenue_daily` view adds up.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgPool;

/// The provider ids of the pending YooKassa payments worth asking about (younger than two
/// days), oldest first.
pub async fn pending_yookassa(pool: &PgPool) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar::<_, String>(
        "SELECT provider_payment_id FROM payments
         WHERE provider = 'yookassa' AND status = 'pending' AND provider_payment_id IS NOT NULL
           AND created_at > now() - interval '2 days'
         ORDER BY created_at",
    )
    .fetch_all(pool)
    .await
}

/// How many of the user's payments stand as `succeeded` (a refunded one no longer does).
pub async fn succeeded_count(pool: &PgPool, user_id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar::<_, i64>(
        "SELECT count(*) FROM payments WHERE user_id = $1 AND status = 'succeeded'",
    )
    .bind(user_id)
    .fetch_one(pool)
    .await
}

/// A payment as admins list it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Payment {
    /// Our id of the payment.
    pub payment_id: String,
    pub user_id: i64,
    /// The plan's slug.
    pub plan: String,
    pub provider: String,
    /// In the currency's minor units (kopecks; Stars are whole).
    pub amount_minor: i64,
    pub currency: String,
    pub status: String,
    pub refunded_minor: i64,
    pub created_at: DateTime<Utc>,
}

const PAYMENT_COLUMNS: &str = "payment_id, user_id, plan, provider, amount_minor, currency, status, refunded_minor, created_at";

/// The latest `limit` payments, newest first; only `user`'s when given.
pub async fn recent(pool: &PgPool, user: Option<i64>, limit: i64) -> sqlx::Result<Vec<Payment>> {
    let sql = format!(
        "SELECT {PAYMENT_COLUMNS} FROM payments WHERE ($1::bigint IS NULL OR user_id = $1)
         ORDER BY created_at DESC LIMIT $2"
    );
    sqlx::query_as::<_, Payment>(&sql)
        .bind(user)
        .bind(limit)
        .fetch_all(pool)
        .await
}

/// Every payment, oldest first.
pub async fn all(pool: &PgPool) -> sqlx::Result<Vec<Payment>> {
    let sql = format!("SELECT {PAYMENT_COLUMNS} FROM payments ORDER BY created_at");
    sqlx::query_as::<_, Payment>(&sql).fetch_all(pool).await
}

/// What one plan brought in through one provider on one day (UTC): a row of `revenue_daily`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RevenueDay {
    pub day: NaiveDate,
    pub plan: String,
    pub provider: String,
    pub currency: String,
    /// Succeeded payments.
    pub payments: i64,
    pub refunded_minor: i64,
    /// Paid minus refunded, in minor units.
    pub net_minor: i64,
}

/// Revenue per day, plan, provider and currency: the latest day first, then by plan.
pub async fn revenue_daily(pool: &PgPool) -> sqlx::Result<Vec<RevenueDay>> {
    sqlx::query_as::<_, RevenueDay>(
        "SELECT day, plan, provider, currency, payments,
                refunded_minor::bigint AS refunded_minor, net_minor::bigint AS net_minor
         FROM revenue_daily ORDER BY day DESC, plan",
    )
    .fetch_all(pool)
    .await
}

/// All revenue net of refunds, in minor units of whatever currencies; `None` when nothing was
/// ever paid.
pub async fn net_revenue_minor(pool: &PgPool) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar::<_, Option<i64>>("SELECT sum(net_minor)::bigint FROM revenue_daily")
        .fetch_one(pool)
        .await
}

/// A Telegram Stars subscription as the bot knows it: Telegram renews it on its own, so what
/// is known is its charges and what the user did through the bot.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StarsSubscription {
    /// Its invoice's payload.
    pub subscription_id: String,
    pub user_id: i64,
    pub plan: String,
    /// The charge `editUserStarSubscription` names it by.
    pub first_charge_id: String,
    pub stars: i32,
    /// The first month and each renewal.
    pub charges: i32,
    pub started_at: DateTime<Utc>,
    /// The paid month's end: Telegram's next charge is due then.
    pub paid_until: DateTime<Utc>,
    /// The user turned renewal off through the bot.
    pub canceled: bool,
}

const STARS_SUBSCRIPTION_COLUMNS: &str = "subscription_id, user_id, plan, first_charge_id, stars, charges, started_at, paid_until, canceled";

/// The user's latest Stars subscription whose month ended less than 30 days ago (older ones
/// are history, not news).
pub async fn stars_subscription(
    pool: &PgPool,
    user_id: i64,
) -> sqlx::Result<Option<StarsSubscription>> {
    let sql = format!(
        "SELECT {STARS_SUBSCRIPTION_COLUMNS} FROM stars_subscriptions
         WHERE user_id = $1 AND paid_until > now() - interval '30 days'
         ORDER BY paid_until DESC LIMIT 1"
    );
    sqlx::query_as::<_, StarsSubscription>(&sql)
        .bind(user_id)
        .fetch_optional(pool)
        .await
}

/// One Stars subscription by its id, whoever's it is.
pub async fn stars_subscription_by_id(
    pool: &PgPool,
    subscription_id: &str,
) -> sqlx::Result<Option<StarsSubscription>> {
    let sql = format!(
        "SELECT {STARS_SUBSCRIPTION_COLUMNS} FROM stars_subscriptions WHERE subscription_id = $1"
    );
    sqlx::query_as::<_, StarsSubscription>(&sql)
        .bind(subscription_id)
        .fetch_optional(pool)
        .await
}
