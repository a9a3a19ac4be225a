//! The admins' daily report: one day's figures (a day is `[start, end)`, the caller's calendar
//! day in its time zone) and the per-day series of its chart.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

/// Payments or refunds of one provider in one currency.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Money {
    pub provider: String,
    pub currency: String,
    pub count: i64,
    pub minor: i64,
}

/// A channel and a count.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ChannelCount {
    pub chat_id: i64,
    pub title: String,
    pub vacancies: i64,
}

/// The day's figures. Counts of the state at the day's end ("active") read the state now where
/// the read models keep no history: the report runs the morning after.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Day {
    pub new_users: i64,
    /// The day's new users by where they came from (their deep link's payload), most first.
    pub sources: Vec<(String, i64)>,
    pub trials_started: i64,
    /// Users whose first payment fell on the day, after a trial.
    pub trials_converted: i64,
    pub payments: Vec<Money>,
    pub refunds: Vec<Money>,
    pub active_trials: i64,
    pub active_paid: i64,
    /// Users whose access ended on the day.
    pub expirations: i64,
    /// Category name → vacancies classified into it on the day.
    pub vacancies_per_category: Vec<(String, i64)>,
    pub posts_seen: i64,
    pub posts_accepted: i64,
    pub posts_classified: i64,
    pub classified_by_llm: i64,
    pub deliveries_sent: i64,
    pub deliveries_failed: i64,
    pub reports_waiting: i64,
    /// The five channels that gave the most vacancies on the day.
    pub top_channels: Vec<ChannelCount>,
    /// Enabled channels without a vacancy in the 7 days up to the day's end.
    pub silent_channels: Vec<String>,
}

/// A count over the day: `$1` is its start, `$2` its end.
async fn count(
    pool: &PgPool,
    sql: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(sql)
        .bind(start)
        .bind(end)
        .fetch_one(pool)
        .await
}

/// A count at one instant, `$1`.
async fn count_at(pool: &PgPool, sql: &str, at: DateTime<Utc>) -> sqlx::Result<i64> {
    sqlx::query_scalar(sql).bind(at).fetch_one(pool).await
}

pub async fn day(pool: &PgPool, start: DateTime<Utc>, end: DateTime<Utc>) -> sqlx::Result<Day> {
    let in_day = |column: &str| format!("{column} >= $1 AND {column} < $2");
    let new_users = count(
        pool,
        &format!(
            "SELECT count(*) FROM users WHERE {}",
            in_day("registered_at")
        ),
        start,
        end,
    )
    .await?;
    let sources = sqlx::query_as(&format!(
        "SELECT source, count(*) FROM users WHERE source IS NOT NULL AND {}
         GROUP BY source ORDER BY count(*) DESC, source LIMIT 10",
        in_day("registered_at")
    ))
    .bind(start)
    .bind(end)
    .fetch_all(pool)
    .await?;
    let trials_started = count(
        pool,
        &format!(
            "SELECT count(*) FROM users WHERE {}",
            in_day("trial_started_at")
        ),
        start,
        end,
    )
    .await?;
    // The day's payments that were their user's first (after a trial): the day's payments
    // only, each checked for an earlier one through `payments_by_user`.
    let trials_converted = count(
        pool,
        "SELECT count(DISTINCT p.user_id) FROM payments p
           JOIN users u ON u.user_id = p.user_id AND u.trial_started_at IS NOT NULL
          WHERE p.paid_at >= $1 AND p.paid_at < $2
            AND NOT EXISTS (SELECT 1 FROM payments q WHERE q.user_id = p.user_id AND q.paid_at < p.paid_at)",
        start,
        end,
    )
    .await?;
    let payments = sqlx::query_as(&format!(
        "SELECT provider, currency, count(*) AS count, sum(amount_minor)::bigint AS minor
         FROM payments WHERE {} GROUP BY 1, 2 ORDER BY 1, 2",
        in_day("paid_at")
    ))
    .bind(start)
    .bind(end)
    .fetch_all(pool)
    .await?;
    let refunds = sqlx::query_as(&format!(
        "SELECT provider, currency, count(*) AS count, sum(refunded_minor)::bigint AS minor
         FROM payments WHERE {} GROUP BY 1, 2 ORDER BY 1, 2",
        in_day("refunded_at")
    ))
    .bind(start)
    .bind(end)
    .fetch_all(pool)
    .await?;
    let active_trials = count_at(
        pool,
        "SELECT count(*) FROM users WHERE trial_started_at < $1 AND trial_ends_at > $1
           AND NOT coalesce(paid_until > $1, false)",
        end,
    )
    .await?;
    let active_paid = count_at(
        pool,
        "SELECT count(*) FROM users u WHERE u.paid_until > $1
           AND EXISTS (SELECT 1 FROM payments p WHERE p.user_id = u.user_id AND p.paid_at < $1)",
        end,
    )
    .await?;
    let expirations = count(
        pool,
        &format!(
            "SELECT count(*) FROM users WHERE {}",
            in_day("GREATEST(trial_ends_at, paid_until)")
        ),
        start,
        end,
    )
    .await?;
    let vacancies_per_category = sqlx::query_as(&format!(
        "SELECT c.name, count(*) FROM vacancies v
         JOIN vacancy_categories vc USING (chat_id, message_id)
         JOIN categories c ON c.slug = vc.slug
         WHERE v.kind = 'vacancy' AND {} GROUP BY c.name, c.ord ORDER BY c.ord",
        in_day("v.classified_at")
    ))
    .bind(start)
    .bind(end)
    .fetch_all(pool)
    .await?;
    let posts_seen = count(
        pool,
        &format!(
            "SELECT count(*) FROM messages WHERE {}",
            in_day("posted_at")
        ),
        start,
        end,
    )
    .await?;
    let posts_accepted = count(
        pool,
        &format!(
            "SELECT count(*) FROM messages m JOIN screening s USING (chat_id, message_id)
             WHERE s.verdict = 'accepted' AND {}",
            in_day("m.posted_at")
        ),
        start,
        end,
    )
    .await?;
    let posts_classified = count(
        pool,
        &format!(
            "SELECT count(*) FROM vacancies WHERE {}",
            in_day("classified_at")
        ),
        start,
        end,
    )
    .await?;
    let classified_by_llm = count(
        pool,
        &format!(
            "SELECT count(*) FROM vacancies WHERE classifier = 'llm' AND {}",
            in_day("classified_at")
        ),
        start,
        end,
    )
    .await?;
    let deliveries_sent = count(
        pool,
        &format!(
            "SELECT count(*) FROM deliveries WHERE {}",
            in_day("delivered_at")
        ),
        start,
        end,
    )
    .await?;
    let deliveries_failed = count(
        pool,
        &format!(
            "SELECT count(*) FROM deliveries WHERE delivered_at IS NULL AND {}",
            in_day("failed_at")
        ),
        start,
        end,
    )
    .await?;
    let reports_waiting =
        sqlx::query_scalar("SELECT count(*) FROM reports WHERE resolution IS NULL")
            .fetch_one(pool)
            .await?;
    // Counted first, named after: only the five winners' titles are looked up (the channel's,
    // else its latest post's).
    let top_channels = sqlx::query_as(&format!(
        "SELECT t.chat_id,
                coalesce((SELECT max(ch.title) FROM channels ch WHERE ch.chat_id = t.chat_id),
                         (SELECT coalesce(m.chat_title, m.chat_username) FROM messages m
                           WHERE m.chat_id = t.chat_id ORDER BY m.message_id DESC LIMIT 1),
                         t.chat_id::text) AS title,
                t.vacancies
         FROM (SELECT v.chat_id, count(*) AS vacancies FROM vacancies v
                WHERE v.kind = 'vacancy' AND {}
                GROUP BY v.chat_id ORDER BY vacancies DESC, v.chat_id LIMIT 5) t
         ORDER BY t.vacancies DESC, t.chat_id",
        in_day("v.classified_at")
    ))
    .bind(start)
    .bind(end)
    .fetch_all(pool)
    .await?;
    let silent_channels = sqlx::query_scalar(
        "SELECT ch.title FROM channels ch
         WHERE ch.enabled AND NOT ch.removed
           AND NOT EXISTS (SELECT 1 FROM vacancies v JOIN messages m USING (chat_id, message_id)
                           WHERE v.chat_id = ch.chat_id AND v.kind = 'vacancy'
                             AND m.posted_at >= $1 - interval '7 days' AND m.posted_at < $1)
         ORDER BY ch.title",
    )
    .bind(end)
    .fetch_all(pool)
    .await?;
    Ok(Day {
        new_users,
        sources,
        trials_started,
        trials_converted,
        payments,
        refunds,
        active_trials,
        active_paid,
        expirations,
        vacancies_per_category,
        posts_seen,
        posts_accepted,
        posts_classified,
        classified_by_llm,
        deliveries_sent,
        deliveries_failed,
        reports_waiting,
        top_channels,
        silent_channels,
    })
}

/// One day of the chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChartDay {
    pub new_users: i64,
    /// Users with a paid period (a succeeded payment's days) covering the day's end.
    pub paying_subscribers: i64,
    pub vacancies: i64,
    /// What the day's succeeded payments brought in, net of their refunds: kopecks of roubles.
    pub revenue_rub_minor: i64,
    /// The same in Telegram Stars.
    pub revenue_stars: i64,
}

/// Each day of the chart, `[start, end)` of `days`, in SQL: a row per day, in order.
const CHART_DAYS: &str =
    "unnest($1::timestamptz[], $2::timestamptz[]) WITH ORDINALITY AS d(start_at, end_at, n)";

/// The chart's figures for each `[start, end)` of `days`: two statements whatever the number
/// of days (a statement per figure and day was 56 round trips for a 14-day chart).
pub async fn chart(
    pool: &PgPool,
    days: &[(DateTime<Utc>, DateTime<Utc>)],
) -> sqlx::Result<Vec<ChartDay>> {
    let starts: Vec<DateTime<Utc>> = days.iter().map(|(start, _)| *start).collect();
    let ends: Vec<DateTime<Utc>> = days.iter().map(|(_, end)| *end).collect();
    let counts: Vec<(i64, i64, i64, i64)> = sqlx::query_as(&format!(
        "SELECT
           (SELECT count(*) FROM users u WHERE u.registered_at >= d.start_at AND u.registered_at < d.end_at),
           (SELECT count(*) FROM vacancies v
             WHERE v.kind = 'vacancy' AND v.classified_at >= d.start_at AND v.classified_at < d.end_at),
           (SELECT coalesce(sum(p.amount_minor - p.refunded_minor) FILTER (WHERE p.currency = 'RUB'), 0)::bigint
              FROM payments p WHERE p.paid_at >= d.start_at AND p.paid_at < d.end_at),
           (SELECT coalesce(sum(p.amount_minor - p.refunded_minor) FILTER (WHERE p.currency = 'XTR'), 0)::bigint
              FROM payments p WHERE p.paid_at >= d.start_at AND p.paid_at < d.end_at)
         FROM {CHART_DAYS} ORDER BY d.n"
    ))
    .bind(&starts)
    .bind(&ends)
    .fetch_all(pool)
    .await?;
    // Users with a paid period (a succeeded payment's days) covering the day's end.
    let paying: Vec<i64> = sqlx::query_scalar(&format!(
        "SELECT count(DISTINCT p.user_id) FROM {CHART_DAYS}
           LEFT JOIN payments p ON p.status = 'succeeded' AND p.paid_at < d.end_at
                               AND p.paid_at + p.days * interval '1 day' >= d.end_at
          GROUP BY d.n ORDER BY d.n"
    ))
    .bind(&starts)
    .bind(&ends)
    .fetch_all(pool)
    .await?;
    Ok(counts
        .into_iter()
        .zip(paying)
        .map(
            |((new_users, vacancies, revenue_rub_minor, revenue_stars), paying_subscribers)| {
                ChartDay {
                    new_users,
                    paying_subscribers,
                    vacancies,
                    revenue_rub_minor,
                    revenue_stars,
                }
            },
        )
        .collect())
}
