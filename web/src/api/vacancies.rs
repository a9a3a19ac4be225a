//! `GET /vacancies` (filtered, newest first, a page after a cursor) and
//! `GET /vacancies/{chat_id}/{message_id}`. The shapes are the API's own, not the events': a
//! new event version (budget ranges, employment) adds fields here without breaking v1.

use axum::Json;
use axum::extract::State as Extract;
use chrono::{DateTime, Utc};
use projections::read::api::{self as read, Post, PostFilter};
use schemas::{MessageKey, PayPeriod, PostKind};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::Caller;
use super::cursor;
use super::errors::{ApiError, ErrorBody};
use super::extract::{ApiPath, ApiQuery, saturating};
use crate::State;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 100;

/// What the classifier made of a post.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Vacancy,
    Resume,
    Ad,
    Scam,
    Other,
}

impl From<Kind> for PostKind {
    fn from(kind: Kind) -> Self {
        match kind {
            Kind::Vacancy => PostKind::Vacancy,
            Kind::Resume => PostKind::Resume,
            Kind::Ad => PostKind::Ad,
            Kind::Scam => PostKind::Scam,
            Kind::Other => PostKind::Other,
        }
    }
}

impl From<PostKind> for Kind {
    fn from(kind: PostKind) -> Self {
        match kind {
            PostKind::Vacancy => Kind::Vacancy,
            PostKind::Resume => Kind::Resume,
            PostKind::Ad => Kind::Ad,
            PostKind::Scam => Kind::Scam,
            PostKind::Other => Kind::Other,
        }
    }
}

/// What the pay is counted per.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Once,
    Hour,
    Day,
    Month,
}

/// Budget or salary as the post states it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Budget {
    /// Whole units of `currency`.
    pub amount: i64,
    /// ISO 4217, e.g. `RUB`.
    pub currency: String,
    pub period: Period,
}

impl From<&schemas::Budget> for Budget {
    fn from(budget: &schemas::Budget) -> Self {
        Self {
            amount: budget.amount,
            currency: budget.currency.clone(),
            period: match budget.period {
                PayPeriod::Once => Period::Once,
                PayPeriod::Hour => Period::Hour,
                PayPeriod::Day => Period::Day,
                PayPeriod::Month => Period::Month,
            },
        }
    }
}

/// A classified post from a Telegram channel.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Vacancy {
    /// The channel's Telegram chat id; with `message_id` the post's key.
    pub chat_id: i64,
    pub message_id: i64,
    pub posted_at: DateTime<Utc>,
    /// When the post was last edited in the channel.
    pub edited_at: Option<DateTime<Utc>>,
    /// The channel's @username, without the @.
    pub channel_username: Option<String>,
    pub channel_title: Option<String>,
    /// The post on t.me.
    pub url: Option<String>,
    pub kind: Kind,
    /// A short title the classifier gave it.
    pub title: Option<String>,
    /// The post's text as it reads now.
    pub text: String,
    /// Category slugs, most likely first.
    pub categories: Vec<String>,
    pub budget: Option<Budget>,
    /// Remote work, as the classifier read it; `null` when it could not tell.
    pub remote: Option<bool>,
    pub classified_at: DateTime<Utc>,
}

impl From<Post> for Vacancy {
    fn from(post: Post) -> Self {
        Self {
            chat_id: post.chat_id,
            message_id: post.message_id,
            posted_at: post.posted_at,
            edited_at: post.edited_at,
            channel_username: post.chat_username,
            channel_title: post.chat_title,
            url: post.link,
            kind: PostKind::parse(&post.kind).map_or(Kind::Other, Kind::from),
            title: post.title,
            text: post.text,
            categories: post.categories,
            budget: post.budget.as_ref().map(|json| Budget::from(&json.0)),
            remote: post.remote,
            classified_at: post.classified_at,
        }
    }
}

/// A page of posts, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct VacancyPage {
    pub items: Vec<Vacancy>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Filters and paging of `GET /vacancies`; all filters are optional and combine with AND.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VacancyQuery {
    /// Only posts in this category (a slug, as `/categories` lists them).
    pub category: Option<String>,
    /// What the classifier made of the post: `vacancy` unless asked otherwise.
    pub kind: Option<Kind>,
    /// Only posts of this channel: its chat id, as `/channels` lists them.
    pub channel: Option<i64>,
    /// Only posts posted at or after this instant (RFC 3339, e.g. `2026-11-30T00:00:00Z`).
    pub since: Option<DateTime<Utc>>,
    /// Only posts whose stated budget is at least this many whole units, in the post's own
    /// currency and period (nothing is converted); posts without a budget are left out.
    #[serde(default, deserialize_with = "saturating")]
    pub min_budget: Option<i64>,
    /// Only remote (`true`) or only on-site (`false`) work, as the classifier read it; posts
    /// it could not tell are left out either way.
    pub remote: Option<bool>,
    /// Where the page starts: the `next_cursor` of the page before.
    pub cursor: Option<String>,
    /// Posts per page, 50 unless asked; clamped to 1..=100.
    #[serde(default, deserialize_with = "saturating")]
    pub limit: Option<i64>,
}

/// Classified posts, newest first.
///
/// A page after a cursor (keyset paging): walking `next_cursor` until it is `null` lists
/// every post once, even while new ones arrive. Posts deleted from their channel are left out.
#[utoipa::path(
    get,
    path = "/api/v1/vacancies",
    operation_id = "list_vacancies",
    tag = "vacancies",
    params(VacancyQuery),
    responses(
        (status = 200, description = "A page of posts", body = VacancyPage),
        (status = 422, description = "A parameter is not what this document says", body = ErrorBody),
    )
)]
pub async fn list(
    _caller: Caller,
    Extract(web): Extract<State>,
    ApiQuery(query): ApiQuery<VacancyQuery>,
) -> Result<Json<VacancyPage>, ApiError> {
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let after = match query.cursor.as_deref() {
        Some(text) => Some(
            cursor::decode(text)
                .ok_or_else(|| ApiError::invalid("cursor: not one this API gave out"))?,
        ),
        None => None,
    };
    let filter = PostFilter {
        kind: PostKind::from(query.kind.unwrap_or(Kind::Vacancy))
            .as_str()
            .to_owned(),
        category: query.category,
        chat_id: query.channel,
        since: query.since,
        min_budget: query.min_budget,
        remote: query.remote,
    };
    // One more than the page: whether there is a next page, without counting.
    let mut posts = read::posts(&web.pool, &filter, after, limit + 1).await?;
    let next_cursor = if posts.len() > limit as usize {
        posts.truncate(limit as usize);
        posts.last().map(cursor::after)
    } else {
        None
    };
    Ok(Json(VacancyPage {
        items: posts.into_iter().map(Vacancy::from).collect(),
        next_cursor,
    }))
}

/// One classified post, whatever its kind.
#[utoipa::path(
    get,
    path = "/api/v1/vacancies/{chat_id}/{message_id}",
    operation_id = "get_vacancy",
    tag = "vacancies",
    params(
        ("chat_id" = i64, Path, description = "The channel's Telegram chat id"),
        ("message_id" = i64, Path, description = "The post's id in the channel"),
    ),
    responses(
        (status = 200, description = "The post", body = Vacancy),
        (status = 404, description = "No classified post has this key (or it was deleted)", body = ErrorBody),
        (status = 422, description = "A path parameter is not a whole number", body = ErrorBody),
    )
)]
pub async fn one(
    _caller: Caller,
    Extract(web): Extract<State>,
    ApiPath((chat_id, message_id)): ApiPath<(i64, i64)>,
) -> Result<Json<Vacancy>, ApiError> {
    let key = MessageKey {
        chat_id,
        message_id,
    };
    let post = read::post(&web.pool, key)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no classified post {chat_id}/{message_id}")))?;
    Ok(Json(Vacancy::from(post)))
}
