//! Reports waiting for a verdict, judged here as with the Telegram buttons: the same
//! `bots::reports::resolve` (the decision naming the admin, the correction, the reporter told),
//! then every admin's Telegram copy updated when the main bot is at hand.

use axum::Form;
use axum::extract::{Path, Query, State as Extract};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use bots::reports::{Verdict, parse_reason, reason_text};
use maud::html;
use projections::read;
use schemas::Resolution;
use serde::Deserialize;

use super::{Failure, PAGE_SIZE, Paging, layout, pager, safe_href};
use crate::State;
use crate::session::{self, Admin};

#[derive(Debug, Default, Deserialize)]
pub struct Listing {
    #[serde(flatten)]
    paging: Paging,
    /// What the last verdict did: a fixed code, never reflected text.
    #[serde(default)]
    done: Option<String>,
}

fn done_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "confirmed" => "✅ Жалоба подтверждена: пост исправлен, автор жалобы узнает итог.",
        "dismissed" => "✖️ Жалоба отклонена.",
        "already" => "По этой жалобе уже решили.",
        "unknown" => "Жалоба не найдена.",
        _ => return None,
    })
}

pub async fn list(
    Extract(web): Extract<State>,
    admin: Admin,
    Query(listing): Query<Listing>,
) -> Result<Response, Failure> {
    let page = listing.paging.number();
    let reports = read::reports::waiting(&web.pool, PAGE_SIZE, listing.paging.offset()).await?;
    let done = listing.done.as_deref().and_then(done_text);
    let body = html! {
        @if let Some(done) = done { p.done { (done) } }
        @if reports.is_empty() { p.muted { "Жалоб, ждущих решения, нет." } }
        @for report in &reports {
            div.card.report data-report=(report.report_id) {
                p {
                    b { (reason_text(parse_reason(&report.reason))) }
                    " · от пользователя " a href=(format!("/users/{}", report.user_id)) { (report.user_id) }
                    @if let Some(category) = &report.category { " · категория " (category) }
                }
                p.muted {
                    (report.chat_title.as_deref().unwrap_or("канал неизвестен"))
                    @if let Some(link) = report.link.as_deref().and_then(safe_href) {
                        " · " a href=(link) rel="noopener noreferrer" target="_blank" { "пост" }
                    }
                }
                div.post { (report.text.as_deref().unwrap_or("(текста поста нет в базе)")) }
                form method="post" action=(format!("/reports/{}/verdict", report.report_id)) {
                    input type="hidden" name="csrf" value=(admin.csrf);
                    button type="submit" name="resolution" value="confirmed" { "✅ Подтвердить" }
                    button type="submit" name="resolution" value="dismissed" { "✖️ Отклонить" }
                }
            }
        }
        (pager("/reports", "", page, reports.len()))
    };
    Ok(layout("Жалобы", Some(&admin), body).into_response())
}

#[derive(Deserialize)]
pub struct VerdictForm {
    #[serde(default)]
    csrf: String,
    resolution: String,
}

pub async fn verdict(
    Extract(web): Extract<State>,
    admin: Admin,
    headers: HeaderMap,
    Path(report_id): Path<String>,
    Form(form): Form<VerdictForm>,
) -> Result<Response, Failure> {
    if let Err(refused) = session::check_form(&admin, &headers, &web.config, &form.csrf) {
        return Ok(refused.into_response());
    }
    let resolution = match form.resolution.as_str() {
        "confirmed" => Resolution::Confirmed,
        "dismissed" => Resolution::Dismissed,
        _ => return Ok(Redirect::to("/reports").into_response()),
    };
    let (verdict, decided) =
        bots::reports::resolve(&web.bus, &web.pool, admin.admin_id, &report_id, resolution).await?;
    if let (Some(bot), Some(decided)) = (&web.main_bot, &decided) {
        bots::reports::update_copies(bot, &web.bus, &web.pool, &report_id, decided).await?;
    }
    let done = match verdict {
        Verdict::Recorded(Resolution::Confirmed) => "confirmed",
        Verdict::Recorded(Resolution::Dismissed) => "dismissed",
        Verdict::AlreadyResolved => "already",
        Verdict::UnknownReport => "unknown",
    };
    Ok(Redirect::to(&format!("/reports?done={done}")).into_response())
}
