//! Vacancies: search by text, filter by category, kind, channel and days; one post with its
//! classification and who got it; an admin's correction of its kind or categories
//! (`ClassificationCorrected` naming the admin: fan-out takes a non-vacancy back, the
//! classifier learns from it).

use axum::extract::{Path, Query, RawForm, State as Extract};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use projections::read;
use schemas::{ClassificationCorrected, Envelope, MessageKey, PostKind};
use serde::Deserialize;

use super::{Done, Failure, PAGE_SIZE, Paging, layout, moment, pager, safe_href};
use crate::State;
use crate::session::{self, Admin};

#[derive(Debug, Default, Deserialize)]
pub struct Search {
    #[serde(default)]
    q: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    channel: String,
    /// Classified on or after this Moscow day (`YYYY-MM-DD`, as `<input type=date>` sends it).
    #[serde(default)]
    from: String,
    /// Classified on or before this Moscow day.
    #[serde(default)]
    to: String,
    #[serde(flatten)]
    paging: Paging,
}

/// The start of a Moscow day written `YYYY-MM-DD`; nonsense filters nothing.
fn day_start(day: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    let date = chrono::NaiveDate::parse_from_str(day.trim(), "%Y-%m-%d").ok()?;
    let (start, _) = scheduler::runs::day_bounds(chrono_tz::Europe::Moscow, date).ok()?;
    Some(start)
}

fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

fn post_path(key: MessageKey) -> String {
    format!("/vacancies/{}/{}", key.chat_id, key.message_id)
}

pub async fn list(
    Extract(web): Extract<State>,
    admin: Admin,
    Query(search): Query<Search>,
) -> Result<Response, Failure> {
    let filter = read::vacancies::Filter {
        text: search.q.chars().take(100).collect(),
        category: search.category.chars().take(64).collect(),
        kind: search.kind.chars().take(16).collect(),
        chat_id: search.channel.trim().parse().ok(),
        since: day_start(&search.from),
        // Through the end of that day: the next day's start.
        before: day_start(&search.to).map(|start| start + chrono::Duration::days(1)),
    };
    let page = search.paging.number();
    let found =
        read::vacancies::search(&web.pool, &filter, PAGE_SIZE, search.paging.offset()).await?;
    let categories = read::catalog::active_categories(&web.pool).await?;
    let query = format!(
        "q={}&category={}&kind={}&channel={}&from={}&to={}&",
        encode(&filter.text),
        encode(&filter.category),
        encode(&filter.kind),
        filter.chat_id.map(|c| c.to_string()).unwrap_or_default(),
        encode(&search.from),
        encode(&search.to),
    );
    let body = html! {
        form method="get" action="/vacancies" {
            input type="search" name="q" value=(filter.text) placeholder="текст";
            select name="category" {
                option value="" { "все категории" }
                @for category in &categories {
                    option value=(category.slug) selected[category.slug == filter.category] { (category.name) }
                }
            }
            select name="kind" {
                option value="" { "все виды" }
                @for kind in PostKind::ALL {
                    option value=(kind.as_str()) selected[kind.as_str() == filter.kind] { (kind.as_str()) }
                }
            }
            input type="text" name="channel" value=(search.channel) placeholder="id канала" size="16";
            label { " с " input type="date" name="from" value=(search.from.chars().take(10).collect::<String>()); }
            label { " по " input type="date" name="to" value=(search.to.chars().take(10).collect::<String>()); }
            button type="submit" { "Найти" }
        }
        @if found.is_empty() { p.muted { "Ничего не нашлось." } }
        @for post in &found {
            div.card.vacancy {
                p {
                    a href=(post_path(MessageKey::new(post.chat_id, post.message_id))) { b { (post.kind) } }
                    " · " (post.categories.as_deref().unwrap_or("—"))
                    " · " (post.chat_title.as_deref().unwrap_or("канал неизвестен"))
                    " · " (moment(post.classified_at))
                    @if post.corrected { " · исправлено" }
                }
                div.post { (post.text.as_deref().unwrap_or("").chars().take(400).collect::<String>()) }
            }
        }
        (pager("/vacancies", &query, page, found.len()))
    };
    Ok(layout("Вакансии", Some(&admin), body).into_response())
}

pub async fn show(
    Extract(web): Extract<State>,
    admin: Admin,
    Path((chat_id, message_id)): Path<(i64, i64)>,
    Query(shown): Query<Done>,
) -> Result<Response, Failure> {
    let key = MessageKey::new(chat_id, message_id);
    let Some(post) = read::vacancies::one(&web.pool, key).await? else {
        let body = html! { p.muted { "Такого поста нет." } };
        return Ok((
            axum::http::StatusCode::NOT_FOUND,
            layout("Пост", Some(&admin), body),
        )
            .into_response());
    };
    let recipients = read::deliveries::recipients(&web.pool, key).await?;
    let categories = read::catalog::active_categories(&web.pool).await?;
    let chosen: Vec<&str> = post
        .categories
        .as_deref()
        .unwrap_or("")
        .split(',')
        .collect();
    let body = html! {
        @if shown.done.as_deref() == Some("corrected") { p.done { "✅ Исправлено." } }
        p.muted {
            (post.chat_title.as_deref().unwrap_or("канал неизвестен"))
            @if let Some(link) = post.link.as_deref().and_then(safe_href) {
                " · " a href=(link) rel="noopener noreferrer" target="_blank" { "пост" }
            }
        }
        div.post { (post.text.as_deref().unwrap_or("(текста нет в базе)")) }
        table {
            tr { th { "Вид" } td id="kind" { (post.kind) @if post.corrected { " (исправлено)" } } }
            tr { th { "Категории" } td { (post.categories.as_deref().unwrap_or("—")) } }
            tr { th { "Классификатор" } td { (post.classifier) " · уверенность " (format!("{:.2}", post.confidence)) } }
            tr { th { "Получили" } td { (recipients.len()) } }
        }
        h2 { "Исправить" }
        form method="post" action=(format!("{}/correct", post_path(key))) {
            input type="hidden" name="csrf" value=(admin.csrf);
            select name="kind" {
                @for kind in PostKind::ALL {
                    option value=(kind.as_str()) selected[kind.as_str() == post.kind] { (kind.as_str()) }
                }
            }
            @for category in &categories {
                label {
                    input type="checkbox" name="category" value=(category.slug) checked[chosen.contains(&category.slug.as_str())];
                    (category.name)
                }
            }
            button type="submit" { "Сохранить" }
        }
        @if !recipients.is_empty() {
            h2 { "Кому доставлено" }
            table {
                @for recipient in &recipients {
                    tr {
                        td { a href=(format!("/users/{}", recipient.user_id)) { (recipient.user_id) } }
                        td { (recipient.category) }
                        td { (moment(recipient.delivered_at)) }
                    }
                }
            }
        }
    };
    Ok(layout("Пост", Some(&admin), body).into_response())
}

/// «Сохранить»: the admin's correction. The form repeats `category`, so it is read as pairs.
pub async fn correct(
    Extract(web): Extract<State>,
    admin: Admin,
    headers: HeaderMap,
    Path((chat_id, message_id)): Path<(i64, i64)>,
    RawForm(form): RawForm,
) -> Result<Response, Failure> {
    let fields: Vec<(String, String)> = url::form_urlencoded::parse(&form).into_owned().collect();
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if let Err(refused) =
        session::check_form(&admin, &headers, &web.config, field("csrf").unwrap_or(""))
    {
        return Ok(refused.into_response());
    }
    let key = MessageKey::new(chat_id, message_id);
    if read::vacancies::one(&web.pool, key).await?.is_none() {
        return Ok(Redirect::to("/vacancies").into_response());
    }
    let Some(kind) = field("kind").and_then(PostKind::parse) else {
        return Ok(Redirect::to(&post_path(key)).into_response());
    };
    let active: Vec<String> = read::catalog::active_categories(&web.pool)
        .await?
        .into_iter()
        .map(|c| c.slug)
        .collect();
    let categories: Vec<String> = fields
        .iter()
        .filter(|(k, v)| k == "category" && active.contains(v))
        .map(|(_, v)| v.clone())
        .collect();
    let corrected = ClassificationCorrected {
        key,
        kind,
        categories,
        admin_id: admin.admin_id,
        report_id: None,
    };
    web.bus.publish(&Envelope::new(corrected)).await?;
    Ok(Redirect::to(&format!("{}?done=corrected", post_path(key))).into_response())
}
