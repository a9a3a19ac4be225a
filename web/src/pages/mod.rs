//! The pages and what they share: the layout (a nav and the logout form), errors as pages,
//! paging, the notes an action leaves, times in Moscow. maud escapes everything it is given,
//! so a post's `<script>` shows as text.

pub mod audit;
pub mod categories;
pub mod channels;
pub mod dashboard;
pub mod operations;
pub mod payments;
pub mod reports;
pub mod rules;
pub mod users;
pub mod vacancies;

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, html};
use serde::Deserialize;

use crate::session::Admin;

/// Rows on a list page.
pub const PAGE_SIZE: i64 = 50;
/// The last page anyone may ask for: a huge number is clamped, not a huge OFFSET.
pub const LAST_PAGE: i64 = 10_000;

const STYLE: &str = "
body{font-family:system-ui,sans-serif;margin:0 auto;max-width:60rem;padding:0 1rem 2rem;line-height:1.4}
nav{display:flex;flex-wrap:wrap;gap:.75rem;align-items:center;padding:.75rem 0;border-bottom:1px solid #ddd;margin-bottom:1rem}
nav form{margin-left:auto}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #eee;padding:.35rem;text-align:left;vertical-align:top}
.card{border:1px solid #ddd;border-radius:.5rem;padding:.75rem;margin:.75rem 0}
.post{white-space:pre-wrap;word-break:break-word;background:#fafafa;padding:.5rem;border-radius:.25rem}
.muted{color:#666}.error{color:#b00020}.done{background:#e8f5e9;padding:.5rem;border-radius:.25rem}
.bar{background:#4a7;height:.8rem;display:inline-block;vertical-align:middle}
button{padding:.4rem .8rem;margin:.15rem}input,select{padding:.35rem;margin:.15rem}
td code{word-break:break-all}
";

/// A whole page: the nav (when logged in) and `body`.
pub fn layout(title: &str, admin: Option<&Admin>, body: Markup) -> Html<String> {
    let page = html! {
        (DOCTYPE)
        html lang="ru" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — RemoteHunt" }
                style { (maud::PreEscaped(STYLE)) }
            }
            body {
                @if let Some(admin) = admin {
                    nav {
                        a href="/" { "Сводка" }
                        a href="/reports" { "Жалобы" }
                        a href="/vacancies" { "Вакансии" }
                        a href="/users" { "Пользователи" }
                        a href="/payments" { "Платежи" }
                        a href="/channels" { "Каналы" }
                        a href="/categories" { "Категории" }
                        a href="/dead-letters" { "Мёртвые письма" }
                        a href="/jobs" { "Задачи" }
                        a href="/projections" { "Проекции" }
                        a href="/audit" { "Журнал" }
                        form method="post" action="/logout" {
                            input type="hidden" name="csrf" value=(admin.csrf);
                            span.muted { "admin " (admin.admin_id) " " }
                            button type="submit" { "Выйти" }
                        }
                    }
                }
                h1 { (title) }
                (body)
            }
        }
    };
    Html(page.into_string())
}

/// A failure while serving a page: a transient one (NATS, Postgres) is 503, "try again".
#[derive(Debug)]
pub struct Failure(anyhow::Error);

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(error: E) -> Self {
        Self(error.into())
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        tracing::warn!(error = %format!("{:#}", self.0), "a web UI request failed");
        let page = layout(
            "Временная ошибка",
            None,
            html! { p.error { "Не удалось ответить: база или шина недоступны. Обновите страницу чуть позже." } },
        );
        (StatusCode::SERVICE_UNAVAILABLE, page).into_response()
    }
}

/// `?done=CODE`: what the action before the redirect did, a fixed code the page words (never
/// text reflected from the URL).
#[derive(Debug, Default, Deserialize)]
pub struct Done {
    #[serde(default)]
    pub done: Option<String>,
}

/// `?page=N` of a list: 1 when absent or nonsense, at most [`LAST_PAGE`].
#[derive(Debug, Default, Deserialize)]
pub struct Paging {
    #[serde(default)]
    pub page: Option<String>,
}

impl Paging {
    pub fn number(&self) -> i64 {
        self.page
            .as_deref()
            .and_then(|p| p.parse::<i64>().ok())
            .unwrap_or(1)
            .clamp(1, LAST_PAGE)
    }

    pub fn offset(&self) -> i64 {
        (self.number() - 1) * PAGE_SIZE
    }
}

/// «Назад / Дальше» under a list; `query` is the rest of the list's query string.
pub fn pager(path: &str, query: &str, page: i64, rows: usize) -> Markup {
    let link = |n: i64| format!("{path}?{query}page={n}");
    html! {
        p {
            @if page > 1 { a href=(link(page - 1)) { "← Назад" } " " }
            span.muted { "страница " (page) }
            @if rows as i64 == PAGE_SIZE && page < LAST_PAGE { " " a href=(link(page + 1)) { "Дальше →" } }
        }
    }
}

/// A form refused for what was typed in it (422), with the way back to the list.
pub fn not_saved(admin: &Admin, why: &str, back: &str, back_text: &str) -> Response {
    let body = html! { p.error { (why) } p { a href=(back) { (back_text) } } };
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        layout("Не сохранено", Some(admin), body),
    )
        .into_response()
}

/// A moment as admins read it (Moscow).
pub fn moment(at: DateTime<Utc>) -> String {
    let zone = chrono_tz::Europe::Moscow;
    format!("{} МСК", at.with_timezone(&zone).format("%d.%m.%Y %H:%M"))
}

/// A link target safe to put in `href`: only http(s) (a post's `javascript:` stays text).
pub fn safe_href(link: &str) -> Option<&str> {
    (link.starts_with("https://") || link.starts_with("http://")).then_some(link)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_clamped_and_links_are_only_web_links() {
        let page = |p: &str| Paging {
            page: Some(p.into()),
        };
        assert_eq!(page("99999999999999999999").number(), 1);
        assert_eq!(page("1000000").number(), LAST_PAGE);
        assert_eq!(page("-3").number(), 1);
        assert_eq!(page("2").offset(), PAGE_SIZE);
        assert_eq!(safe_href("javascript:alert(1)"), None);
        assert_eq!(safe_href("https://t.me/x/1"), Some("https://t.me/x/1"));
    }
}
