//! Subscribers as the bots and fan-out read them: access (trial and paid period), chosen
//! categories, the category bots they started, hidden authors. Holds the one definition of
//! "the user's access is running", in Rust ([`Access::running`]) and in SQL ([`running_sql`]).

use chrono::{DateTime, Utc};
use schemas::MessageKey;
use sqlx::PgPool;

/// A user's trial and paid period as the users read model holds them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, sqlx::FromRow)]
pub struct Access {
    pub trial_ends_at: Option<DateTime<Utc>>,
    pub paid_until: Option<DateTime<Utc>>,
}

/// What keeps a user's access running, and until when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Running {
    /// A paid period ends at this instant (it counts first: it outlasts the trial).
    Paid(DateTime<Utc>),
    /// The trial ends at this instant; nothing is paid beyond `now`.
    Trial(DateTime<Utc>),
}

impl Access {
    /// What keeps access running at `now`: a paid period ending after `now`, else a trial
    /// ending after `now`; `None` when neither does. [`running_sql`] is the same test in SQL.
    pub fn running(&self, now: DateTime<Utc>) -> Option<Running> {
        match (self.paid_until, self.trial_ends_at) {
            (Some(paid), _) if paid > now => Some(Running::Paid(paid)),
            (_, Some(trial)) if trial > now => Some(Running::Trial(trial)),
            _ => None,
        }
    }

    /// When the user's access ends, and whether a trial or a paid period ends then: the later
    /// of the two ends (a paid period counts when they are equal).
    pub fn ends(&self) -> Option<(schemas::AccessKind, DateTime<Utc>)> {
        use schemas::AccessKind;
        match (self.paid_until, self.trial_ends_at) {
            (Some(paid), Some(trial)) if trial > paid => Some((AccessKind::Trial, trial)),
            (Some(paid), _) => Some((AccessKind::Paid, paid)),
            (None, Some(trial)) => Some((AccessKind::Trial, trial)),
            (None, None) => None,
        }
    }

    /// Whether the user's access is running at `now`.
    pub fn is_running(&self, now: DateTime<Utc>) -> bool {
        self.running(now).is_some()
    }
}

/// [`Access::running`] as a SQL predicate over `users u` at the SQL expression `at` (`now()`,
/// or a parameter such as `$4`); a `NULL` end is not running, as `None` is not.
pub(crate) fn running_sql(at: &str) -> String {
    format!("(u.trial_ends_at > {at} OR u.paid_until > {at})")
}

/// The user's access; `None` when the read model has no such user.
pub async fn access(pool: &PgPool, user_id: i64) -> sqlx::Result<Option<Access>> {
    sqlx::query_as::<_, Access>("SELECT trial_ends_at, paid_until FROM users WHERE user_id = $1")
        .bind(user_id)
        .fetch_optional(pool)
        .await
}

/// How a user is named to admins: their first name and @username, as Telegram gave them.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Profile {
    pub first_name: String,
    pub username: Option<String>,
}

/// The user's profile; `None` when the read model has no such user.
pub async fn profile(pool: &PgPool, user_id: i64) -> sqlx::Result<Option<Profile>> {
    sqlx::query_as::<_, Profile>("SELECT first_name, username FROM users WHERE user_id = $1")
        .bind(user_id)
        .fetch_optional(pool)
        .await
}

/// The main bot's live menu message for the user, if it ever sent one.
pub async fn menu_message(pool: &PgPool, user_id: i64) -> sqlx::Result<Option<i32>> {
    let menu = sqlx::query_scalar::<_, Option<i32>>(
        "SELECT menu_message_id FROM users WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_optional(pool)
    .await?;
    Ok(menu.flatten())
}

/// The IANA time zone the user chose, if they did (the bots default to Moscow).
pub async fn time_zone(pool: &PgPool, user_id: i64) -> sqlx::Result<Option<String>> {
    let zone =
        sqlx::query_scalar::<_, Option<String>>("SELECT time_zone FROM users WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(pool)
            .await?;
    Ok(zone.flatten())
}

/// The category slugs the user chose (in no particular order).
pub async fn chosen_categories(pool: &PgPool, user_id: i64) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar::<_, String>("SELECT slug FROM user_categories WHERE user_id = $1")
        .bind(user_id)
        .fetch_all(pool)
        .await
}

/// The categories whose bot the user started and did not stop or block (in no particular order).
pub async fn started_bots(pool: &PgPool, user_id: i64) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar::<_, String>("SELECT category FROM user_bots WHERE user_id = $1 AND active")
        .bind(user_id)
        .fetch_all(pool)
        .await
}

/// The user's bot in a category: the one they started last, and whether it may write to them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct UserBot {
    /// `None`: recorded while the category had one bot, which is its first.
    pub bot_id: Option<i64>,
    /// Started and not stopped or blocked since.
    pub active: bool,
}

impl UserBot {
    /// Whether this is the bot `bot_id`, the category's first bot or another.
    pub fn is(&self, bot_id: i64, first_of_category: bool) -> bool {
        self.bot_id.map_or(first_of_category, |id| id == bot_id)
    }
}

/// The user's bot in `category`, `None` when they never started one of its bots.
pub async fn user_bot(
    pool: &PgPool,
    user_id: i64,
    category: &str,
) -> sqlx::Result<Option<UserBot>> {
    sqlx::query_as::<_, UserBot>(
        "SELECT bot_id, active FROM user_bots WHERE user_id = $1 AND category = $2",
    )
    .bind(user_id)
    .bind(category)
    .fetch_optional(pool)
    .await
}

/// The user's bot in every category where they started one.
pub async fn user_bots(pool: &PgPool, user_id: i64) -> sqlx::Result<Vec<(String, UserBot)>> {
    let rows: Vec<(String, Option<i64>, bool)> = sqlx::query_as(
        "SELECT category, bot_id, active FROM user_bots WHERE user_id = $1 ORDER BY category",
    )
    .bind(user_id)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(category, bot_id, active)| (category, UserBot { bot_id, active }))
        .collect())
}

/// How many users each of a category's bots may write to (`None`: its first, as recorded while
/// it had one bot).
pub async fn bot_loads(pool: &PgPool, category: &str) -> sqlx::Result<Vec<(Option<i64>, i64)>> {
    sqlx::query_as(
        "SELECT bot_id, count(*) FROM user_bots WHERE category = $1 AND active GROUP BY bot_id",
    )
    .bind(category)
    .fetch_all(pool)
    .await
}

/// The authors (`schemas::Author::key`) the user hid, alphabetically.
pub async fn hidden_authors(pool: &PgPool, user_id: i64) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar::<_, String>(
        "SELECT author FROM hidden_authors WHERE user_id = $1 AND hidden ORDER BY author",
    )
    .bind(user_id)
    .fetch_all(pool)
    .await
}

/// A hidden author with where they were last seen, for naming them to the user.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct HiddenAuthor {
    /// `schemas::Author::key`.
    pub author: String,
    /// The title of the chat of the author's latest post the read model holds.
    pub chat_title: Option<String>,
    /// The @username (without @) the author's latest post carried, if any.
    pub username: Option<String>,
}

/// The authors the user hid, alphabetically by key, each with the chat and @username of their
/// latest post.
pub async fn hidden_authors_seen(pool: &PgPool, user_id: i64) -> sqlx::Result<Vec<HiddenAuthor>> {
    sqlx::query_as::<_, HiddenAuthor>(
        "SELECT h.author, latest.chat_title, latest.author_username AS username
           FROM hidden_authors h
           LEFT JOIN LATERAL (SELECT m.chat_title, m.author_username FROM messages m
                               WHERE m.author_key = h.author
                               ORDER BY m.posted_at DESC LIMIT 1) latest ON true
          WHERE h.user_id = $1 AND h.hidden ORDER BY h.author",
    )
    .bind(user_id)
    .fetch_all(pool)
    .await
}

/// Whether the user hides `author` now.
pub async fn is_hidden(pool: &PgPool, user_id: i64, author: &str) -> sqlx::Result<bool> {
    sqlx::query_scalar::<_, bool>(
        "SELECT EXISTS (SELECT 1 FROM hidden_authors WHERE user_id = $1 AND author = $2 AND hidden)",
    )
    .bind(user_id)
    .bind(author)
    .fetch_one(pool)
    .await
}

/// Whether the user still wants a post from `author` through `category`'s bot `bot_id` now
/// (the database's clock): access running, that bot the user's in the category, started and
/// not stopped, the author not hidden. A post without a known author is hidden by nobody.
pub async fn still_wanted(
    pool: &PgPool,
    user_id: i64,
    category: &str,
    bot: (i64, bool),
    author: Option<&str>,
) -> sqlx::Result<bool> {
    let (bot_id, first_of_category) = bot;
    let sql = format!(
        "SELECT EXISTS (SELECT 1 FROM users u WHERE u.user_id = $1 AND {running})
            AND EXISTS (SELECT 1 FROM user_bots b WHERE b.user_id = $1 AND b.category = $2 AND b.active
                          AND (b.bot_id = $4 OR (b.bot_id IS NULL AND $5)))
            AND NOT EXISTS (SELECT 1 FROM hidden_authors h WHERE h.user_id = $1 AND h.author = $3 AND h.hidden)",
        running = running_sql("now()"),
    );
    sqlx::query_scalar::<_, bool>(&sql)
        .bind(user_id)
        .bind(category)
        .bind(author.unwrap_or_default())
        .bind(bot_id)
        .bind(first_of_category)
        .fetch_one(pool)
        .await
}

/// A user who may get a vacancy, with what fan-out's audience needs to decide.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Candidate {
    pub user_id: i64,
    pub trial_ends_at: Option<DateTime<Utc>>,
    pub paid_until: Option<DateTime<Utc>>,
    /// Every category the user chose.
    pub categories: Vec<String>,
    /// The categories whose bot the user started and did not stop or block.
    pub bots: Vec<String>,
    /// Which of each of those categories' bots (as `bots` lists them; `None`: its first).
    pub bot_ids: Vec<Option<i64>>,
    /// Author keys the user hid.
    pub hidden: Vec<String>,
    /// Whether the vacancy's original was already delivered to the user.
    pub received: bool,
}

/// The users whose access runs at `at` and who chose one of `categories`, by user id, with
/// whether `original` was delivered to them. One query however many subscribers.
pub async fn audience_candidates(
    pool: &PgPool,
    categories: &[String],
    original: MessageKey,
    at: DateTime<Utc>,
) -> sqlx::Result<Vec<Candidate>> {
    let sql = format!(
        "SELECT u.user_id, u.trial_ends_at, u.paid_until,
                ARRAY(SELECT slug FROM user_categories c WHERE c.user_id = u.user_id) AS categories,
                ARRAY(SELECT category FROM user_bots b WHERE b.user_id = u.user_id AND b.active ORDER BY category) AS bots,
                ARRAY(SELECT bot_id FROM user_bots b WHERE b.user_id = u.user_id AND b.active ORDER BY category) AS bot_ids,
                ARRAY(SELECT author FROM hidden_authors h WHERE h.user_id = u.user_id AND h.hidden) AS hidden,
                EXISTS (SELECT 1 FROM deliveries d WHERE d.user_id = u.user_id
                          AND d.chat_id = $2 AND d.message_id = $3 AND d.delivered_at IS NOT NULL) AS received
         FROM users u
         WHERE {running}
           AND EXISTS (SELECT 1 FROM user_categories c WHERE c.user_id = u.user_id AND c.slug = ANY($1))
         ORDER BY u.user_id",
        running = running_sql("$4"),
    );
    sqlx::query_as::<_, Candidate>(&sql)
        .bind(categories)
        .bind(original.chat_id)
        .bind(original.message_id)
        .bind(at)
        .fetch_all(pool)
        .await
}

/// A user as the demo prints them.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Overview {
    pub user_id: i64,
    /// The Telegram username, `""` when they have none.
    pub username: String,
    pub trial_ends_at: Option<DateTime<Utc>>,
    pub paid_until: Option<DateTime<Utc>>,
    /// Chosen category slugs, comma-separated alphabetically; `None` when none.
    pub categories: Option<String>,
    /// Categories whose bot they started, comma-separated; `None` when none.
    pub bots: Option<String>,
}

/// Every user, by user id.
pub async fn overview(pool: &PgPool) -> sqlx::Result<Vec<Overview>> {
    sqlx::query_as::<_, Overview>(
        "SELECT u.user_id, coalesce(u.username, '') AS username, u.trial_ends_at, u.paid_until,
                (SELECT string_agg(slug, ',' ORDER BY slug) FROM user_categories c WHERE c.user_id = u.user_id) AS categories,
                (SELECT string_agg(category, ',') FROM user_bots b WHERE b.user_id = u.user_id AND b.active) AS bots
         FROM users u ORDER BY u.user_id",
    )
    .fetch_all(pool)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn access_runs_while_a_paid_period_or_the_trial_has_not_ended() {
        // given a moment and ends around it
        let now = Utc::now();
        let (past, future, later) = (
            now - Duration::days(1),
            now + Duration::days(1),
            now + Duration::days(9),
        );
        let access = |trial, paid| Access {
            trial_ends_at: trial,
            paid_until: paid,
        };
        // then a paid period counts first, then the trial, and an end at `now` has ended
        assert_eq!(
            access(Some(future), Some(later)).running(now),
            Some(Running::Paid(later))
        );
        assert_eq!(
            access(Some(future), Some(past)).running(now),
            Some(Running::Trial(future))
        );
        assert_eq!(
            access(Some(later), Some(future)).running(now),
            Some(Running::Paid(future))
        );
        assert_eq!(access(Some(now), None).running(now), None);
        assert!(!access(None, None).is_running(now));
        assert!(!access(Some(past), Some(past)).is_running(now));
        assert_eq!(
            running_sql("now()"),
            "(u.trial_ends_at > now() OR u.paid_until > now())"
        );
    }
}

/// A user as the admin web UI lists them.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Listed {
    pub user_id: i64,
    pub username: Option<String>,
    pub first_name: String,
    pub registered_at: Option<DateTime<Utc>>,
    pub trial_ends_at: Option<DateTime<Utc>>,
    pub paid_until: Option<DateTime<Utc>>,
}

/// Users whose id is `query`, or whose @username or name starts with it (case-insensitive;
/// a leading @ is ignored); newest first, `limit` from `offset`. An empty query lists everyone.
pub async fn search(
    pool: &PgPool,
    query: &str,
    limit: i64,
    offset: i64,
) -> sqlx::Result<Vec<Listed>> {
    let query = query.trim().trim_start_matches('@');
    let id: Option<i64> = query.parse().ok();
    let prefix = format!("{}%", super::like_escaped(query));
    sqlx::query_as::<_, Listed>(
        "SELECT user_id, username, first_name, registered_at, trial_ends_at, paid_until
           FROM users
          WHERE $1 = '' OR user_id = $2 OR lower(username) LIKE lower($3) OR lower(first_name) LIKE lower($3)
          ORDER BY registered_at DESC NULLS LAST, user_id DESC
          LIMIT $4 OFFSET $5",
    )
    .bind(query)
    .bind(id)
    .bind(prefix)
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await
}
