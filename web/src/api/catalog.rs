//! `GET /categories` and `GET /channels`: the catalog as the read models hold it, each channel
//! with what reading it has brought.

use axum::Json;
use axum::extract::State as Extract;
use projections::read;
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::Caller;
use super::errors::ApiError;
use crate::State;

/// A category posts are sorted into and subscribers choose.
#[derive(Debug, Serialize, ToSchema)]
pub struct Category {
    /// Stable: the `category` filter of `/vacancies` and the `categories` of a post.
    pub slug: String,
    /// What subscribers see, e.g. «Дизайн».
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryList {
    /// In the order subscribers see them.
    pub items: Vec<Category>,
}

/// The categories in use (retired ones are left out).
#[utoipa::path(
    get,
    path = "/api/v1/categories",
    operation_id = "list_categories",
    tag = "catalog",
    responses((status = 200, description = "The categories", body = CategoryList))
)]
pub async fn categories(
    _caller: Caller,
    Extract(web): Extract<State>,
) -> Result<Json<CategoryList>, ApiError> {
    let items = read::catalog::active_categories(&web.pool)
        .await?
        .into_iter()
        .map(|c| Category {
            slug: c.slug,
            name: c.name,
        })
        .collect();
    Ok(Json(CategoryList { items }))
}

/// What reading a channel has brought, over every message read from it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelYield {
    /// Messages read.
    pub seen: i64,
    /// Messages the keyword rules let through.
    pub passed_rules: i64,
    /// Messages that repeated an earlier post.
    pub duplicates: i64,
    /// Posts classified as vacancies.
    pub vacancies: i64,
    /// Subscribers' reports of its posts.
    pub reports: i64,
}

/// A channel or group the reader follows.
#[derive(Debug, Serialize, ToSchema)]
pub struct Channel {
    /// The catalog's key: the chat id, or `@username` while only that is known.
    pub key: String,
    /// The Telegram chat id (the `channel` filter of `/vacancies`); 0 while unknown.
    pub chat_id: i64,
    /// The public @username, without the @.
    pub username: Option<String>,
    pub title: String,
    /// Whether it is read now.
    pub enabled: bool,
    #[serde(rename = "yield")]
    #[schema(rename = "yield")]
    pub yields: ChannelYield,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelList {
    /// By key.
    pub items: Vec<Channel>,
}

/// The channels in the catalog, with their yield.
#[utoipa::path(
    get,
    path = "/api/v1/channels",
    operation_id = "list_channels",
    tag = "catalog",
    responses((status = 200, description = "The channels", body = ChannelList))
)]
pub async fn channels(
    _caller: Caller,
    Extract(web): Extract<State>,
) -> Result<Json<ChannelList>, ApiError> {
    let items = read::api::channels_with_yield(&web.pool)
        .await?
        .into_iter()
        .map(|c| Channel {
            key: c.key,
            chat_id: c.chat_id,
            username: c.username,
            title: c.title,
            enabled: c.enabled,
            yields: ChannelYield {
                seen: c.seen,
                passed_rules: c.passed_rules,
                duplicates: c.duplicates,
                vacancies: c.vacancies,
                reports: c.reports,
            },
        })
        .collect();
    Ok(Json(ChannelList { items }))
}
