//! Subscribers: profile, chosen categories, which category bots may write to them, trial and
//! paid access, hidden authors and reports; and the content API's tokens (USERS holds the
//! admins' credentials too).

use bus::Stored;
use schemas::{BotStopReason, Event, ReportReason, Resolution};
use sqlx::PgConnection;

use super::seq;

pub const TABLES: &[&str] = &[
    "users",
    "user_categories",
    "user_bots",
    "hidden_authors",
    "reports",
    "report_copies",
    "api_tokens",
];

/// Makes sure the user row exists (events may name a user before a replay reaches sign-up).
async fn ensure_user(tx: &mut PgConnection, user_id: i64) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO users (user_id, last_seq) VALUES ($1, 0) ON CONFLICT DO NOTHING")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Advances the user's `last_seq`; false when this event was already applied.
async fn claim(tx: &mut PgConnection, user_id: i64, last_seq: i64) -> sqlx::Result<bool> {
    ensure_user(tx, user_id).await?;
    let claimed =
        sqlx::query("UPDATE users SET last_seq = $2 WHERE user_id = $1 AND last_seq < $2")
            .bind(user_id)
            .bind(last_seq)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    Ok(claimed == 1)
}

pub async fn apply(tx: &mut PgConnection, batch: &[Stored]) -> sqlx::Result<()> {
    for stored in batch {
        let s = seq(stored);
        let at = stored.envelope.occurred_at;
        // Events that change the user row itself apply once, guarded by its last_seq.
        let user_row = match &stored.envelope.event {
            Event::UserRegistered(e) => Some(e.user_id),
            Event::CategoriesChosen(e) => Some(e.user_id),
            Event::TrialStarted(e) => Some(e.user_id),
            Event::SubscriptionExtended(e) => Some(e.user_id),
            Event::SubscriptionRevoked(e) => Some(e.user_id),
            Event::MainMenuShown(e) => Some(e.user_id),
            Event::TimeZoneChosen(e) => Some(e.user_id),
            _ => None,
        };
        if let Some(user_id) = user_row
            && !claim(tx, user_id, s).await?
        {
            continue;
        }
        match &stored.envelope.event {
            Event::UserRegistered(e) => {
                sqlx::query("UPDATE users SET username = $2, first_name = $3, language_code = $4, registered_at = $5, source = $6 WHERE user_id = $1")
                    .bind(e.user_id).bind(&e.username).bind(&e.first_name).bind(&e.language_code).bind(at).bind(&e.source)
                    .execute(&mut *tx).await?;
            }
            Event::CategoriesChosen(e) => {
                sqlx::query("DELETE FROM user_categories WHERE user_id = $1")
                    .bind(e.user_id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("INSERT INTO user_categories (user_id, slug) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING")
                    .bind(e.user_id).bind(&e.categories).execute(&mut *tx).await?;
            }
            Event::CategoryBotStarted(e) => {
                set_bot(tx, e.user_id, &e.category, e.bot_id, true, None, s).await?;
            }
            Event::CategoryBotStopped(e) => {
                let reason = match e.reason {
                    BotStopReason::Paused => "paused",
                    BotStopReason::Blocked => "blocked",
                };
                set_bot(tx, e.user_id, &e.category, e.bot_id, false, Some(reason), s).await?;
            }
            Event::TrialStarted(e) => {
                sqlx::query(
                    "UPDATE users SET trial_started_at = $2, trial_ends_at = $3 WHERE user_id = $1",
                )
                .bind(e.user_id)
                .bind(e.starts_at)
                .bind(e.ends_at)
                .execute(&mut *tx)
                .await?;
            }
            Event::SubscriptionExtended(e) => {
                sqlx::query("UPDATE users SET paid_until = $2 WHERE user_id = $1")
                    .bind(e.user_id)
                    .bind(e.until)
                    .execute(&mut *tx)
                    .await?;
            }
            Event::SubscriptionRevoked(e) => {
                sqlx::query("UPDATE users SET paid_until = $2 WHERE user_id = $1")
                    .bind(e.user_id)
                    .bind(e.until)
                    .execute(&mut *tx)
                    .await?;
            }
            Event::MainMenuShown(e) => {
                sqlx::query("UPDATE users SET menu_message_id = $2 WHERE user_id = $1")
                    .bind(e.user_id)
                    .bind(e.message_id)
                    .execute(&mut *tx)
                    .await?;
            }
            Event::TimeZoneChosen(e) => {
                sqlx::query("UPDATE users SET time_zone = $2 WHERE user_id = $1")
                    .bind(e.user_id)
                    .bind(&e.zone)
                    .execute(&mut *tx)
                    .await?;
            }
            Event::AuthorHidden(e) => set_hidden(tx, e.user_id, &e.author, true, s).await?,
            Event::AuthorUnhidden(e) => set_hidden(tx, e.user_id, &e.author, false, s).await?,
            Event::VacancyReported(e) => {
                let reason = match e.reason {
                    ReportReason::NotVacancy => "not_vacancy",
                    ReportReason::WrongCategory => "wrong_category",
                };
                sqlx::query(
                    "INSERT INTO reports (report_id, user_id, chat_id, message_id, category, reason, last_seq)
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (report_id) DO NOTHING",
                )
                .bind(&e.report_id).bind(e.user_id).bind(e.key.chat_id).bind(e.key.message_id)
                .bind(&e.category).bind(reason).bind(s)
                .execute(&mut *tx).await?;
            }
            Event::ReportSentToAdmin(e) => {
                sqlx::query(
                    "INSERT INTO report_copies (report_id, admin_id, message_id, last_seq) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (report_id, admin_id) DO UPDATE SET message_id = excluded.message_id,
                       last_seq = excluded.last_seq
                     WHERE report_copies.last_seq < excluded.last_seq",
                )
                .bind(&e.report_id).bind(e.admin_id).bind(e.message_id).bind(s)
                .execute(&mut *tx).await?;
            }
            Event::ReportResolved(e) => {
                let resolution = match e.resolution {
                    Resolution::Confirmed => "confirmed",
                    Resolution::Dismissed => "dismissed",
                };
                sqlx::query("UPDATE reports SET resolution = $2, resolved_by = $3, last_seq = $4 WHERE report_id = $1 AND last_seq < $4")
                    .bind(&e.report_id).bind(resolution).bind(e.admin_id).bind(s)
                    .execute(&mut *tx).await?;
            }
            Event::ApiTokenIssued(e) => {
                sqlx::query(
                    "INSERT INTO api_tokens (token_id, name, token_hash, issued_by, issued_at, last_seq)
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (token_id) DO NOTHING",
                )
                .bind(e.token_id).bind(&e.name).bind(&e.token_hash).bind(e.admin_id).bind(at).bind(s)
                .execute(&mut *tx).await?;
            }
            Event::ApiTokenRevoked(e) => {
                sqlx::query(
                    "UPDATE api_tokens SET revoked_at = $2, revoked_by = $3, last_seq = $4
                     WHERE token_id = $1 AND last_seq < $4",
                )
                .bind(e.token_id)
                .bind(at)
                .bind(e.admin_id)
                .bind(s)
                .execute(&mut *tx)
                .await?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// A user has one bot per category: the one they started last. A stop from another of the
/// category's bots (one they left) changes nothing; a NULL bot is the category's first.
async fn set_bot(
    tx: &mut PgConnection,
    user_id: i64,
    category: &str,
    bot_id: Option<i64>,
    active: bool,
    reason: Option<&str>,
    last_seq: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO user_bots (user_id, category, active, reason, last_seq, bot_id) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (user_id, category) DO UPDATE SET active = excluded.active, reason = excluded.reason,
           last_seq = excluded.last_seq, bot_id = CASE WHEN excluded.active THEN excluded.bot_id ELSE user_bots.bot_id END
         WHERE user_bots.last_seq < excluded.last_seq
           AND (excluded.active OR excluded.bot_id IS NULL OR user_bots.bot_id IS NULL
                OR user_bots.bot_id = excluded.bot_id)",
    )
    .bind(user_id).bind(category).bind(active).bind(reason).bind(last_seq).bind(bot_id)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

async fn set_hidden(
    tx: &mut PgConnection,
    user_id: i64,
    author: &str,
    hidden: bool,
    last_seq: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO hidden_authors (user_id, author, hidden, last_seq) VALUES ($1, $2, $3, $4)
         ON CONFLICT (user_id, author) DO UPDATE SET hidden = excluded.hidden, last_seq = excluded.last_seq
         WHERE hidden_authors.last_seq < excluded.last_seq",
    )
    .bind(user_id).bind(author).bind(hidden).bind(last_seq)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
