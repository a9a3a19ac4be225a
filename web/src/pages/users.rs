//! Users: a search by id, @username or name; one user's access, categories, payments and whole
//! event history; granting days (`billing::activate::grant`, the CLI's grant, naming the admin)
//! and refunding a payment (`billing::refund::Refunds`, the CLI's `billing refund`: the money
//! goes back through its provider, then `PaymentRefunded` names the admin).

use axum::Form;
use axum::extract::{Path, Query, State as Extract};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use projections::read;
use serde::Deserialize;

use super::{Done, Failure, PAGE_SIZE, Paging, layout, moment, pager};
use crate::State;
use crate::session::{self, Admin};

/// How many of a user's latest events the page shows.
const HISTORY: usize = 200;

#[derive(Debug, Default, Deserialize)]
pub struct Search {
    #[serde(default)]
    q: String,
    #[serde(flatten)]
    paging: Paging,
}

fn access_text(
    trial: Option<chrono::DateTime<chrono::Utc>>,
    paid: Option<chrono::DateTime<chrono::Utc>>,
) -> String {
    let now = chrono::Utc::now();
    match (paid.filter(|p| *p > now), trial.filter(|t| *t > now)) {
        (Some(paid), _) => format!("оплачено до {}", moment(paid)),
        (None, Some(trial)) => format!("пробный до {}", moment(trial)),
        _ => "не активна".to_owned(),
    }
}

pub async fn list(
    Extract(web): Extract<State>,
    admin: Admin,
    Query(search): Query<Search>,
) -> Result<Response, Failure> {
    let q: String = search.q.chars().take(64).collect();
    let page = search.paging.number();
    let users = read::users::search(&web.pool, &q, PAGE_SIZE, search.paging.offset()).await?;
    let query = format!(
        "q={}&",
        url::form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>()
    );
    let body = html! {
        form method="get" action="/users" {
            input type="search" name="q" value=(q) placeholder="id, @username или имя";
            button type="submit" { "Найти" }
        }
        @if users.is_empty() { p.muted { "Никого не нашлось." } }
        @else {
            table {
                tr { th { "id" } th { "Имя" } th { "Доступ" } th { "С нами с" } }
                @for user in &users {
                    tr {
                        td { a href=(format!("/users/{}", user.user_id)) { (user.user_id) } }
                        td {
                            (user.first_name)
                            @if let Some(username) = &user.username { " @" (username) }
                        }
                        td { (access_text(user.trial_ends_at, user.paid_until)) }
                        td { (user.registered_at.map(moment).unwrap_or_default()) }
                    }
                }
            }
        }
        (pager("/users", &query, page, users.len()))
    };
    Ok(layout("Пользователи", Some(&admin), body).into_response())
}

pub async fn show(
    Extract(web): Extract<State>,
    admin: Admin,
    Path(user_id): Path<i64>,
    Query(shown): Query<Done>,
) -> Result<Response, Failure> {
    let Some(profile) = read::users::profile(&web.pool, user_id).await? else {
        let body = html! { p.muted { "Такого пользователя нет." } };
        return Ok((
            axum::http::StatusCode::NOT_FOUND,
            layout("Пользователь", Some(&admin), body),
        )
            .into_response());
    };
    let access = read::users::access(&web.pool, user_id)
        .await?
        .unwrap_or_default();
    let categories = read::users::chosen_categories(&web.pool, user_id).await?;
    let payments = read::payments::recent(&web.pool, Some(user_id), 20).await?;
    let history = web
        .bus
        .read_subject(&schemas::Area::Users.history(&user_id.to_string()))
        .await?;
    let title = match &profile.username {
        Some(username) => format!("{} (@{username})", profile.first_name),
        None => profile.first_name.clone(),
    };
    let body = html! {
        @match shown.done.as_deref() {
            Some("granted") => p.done { "✅ Дни добавлены." },
            Some("refunded") => p.done { "↩️ Деньги возвращены, неиспользованные дни сняты." },
            Some("refund-pending") => p.done { "↩️ ЮKassa приняла возврат и завершает его: он появится здесь с её уведомлением." },
            _ => {},
        }
        table {
            tr { th { "id" } td { (user_id) } }
            tr { th { "Доступ" } td id="access" { (access_text(access.trial_ends_at, access.paid_until)) } }
            tr { th { "Категории" } td { (if categories.is_empty() { "не выбраны".to_owned() } else { categories.join(", ") }) } }
        }
        h2 { "Добавить дни" }
        form method="post" action=(format!("/users/{user_id}/grant")) {
            input type="hidden" name="csrf" value=(admin.csrf);
            input type="number" name="days" min="1" max="365" value="7" required;
            input type="text" name="reason" maxlength="200" placeholder="причина" required;
            button type="submit" { "Добавить" }
        }
        h2 { "Платежи" }
        @if payments.is_empty() { p.muted { "Платежей нет." } }
        @else {
            table {
                tr { th { "Когда" } th { "План" } th { "Сумма" } th { "Статус" } th { "Возврат" } }
                @for payment in &payments {
                    tr {
                        td { (moment(payment.created_at)) }
                        td { (payment.plan) " · " (payment.provider) }
                        td { (payment.amount_minor) " " (payment.currency) }
                        td { (payment.status) @if payment.refunded_minor > 0 { " (возвращено " (payment.refunded_minor) ")" } }
                        td {
                            @if payment.status == "succeeded" && payment.refunded_minor < payment.amount_minor {
                                form method="post" action=(format!("/users/{user_id}/payments/{}/refund", payment.payment_id)) {
                                    input type="hidden" name="csrf" value=(admin.csrf);
                                    input type="text" name="reason" maxlength="200" placeholder="причина" required;
                                    label { input type="checkbox" name="sure" value="on" required; " да" }
                                    button type="submit" { "Вернуть деньги" }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { "История событий" }
        table.history {
            @for stored in history.iter().rev().take(HISTORY) {
                tr {
                    td { (moment(stored.envelope.occurred_at)) }
                    td { (stored.envelope.event.event_type()) }
                }
            }
        }
    };
    Ok(layout(&title, Some(&admin), body).into_response())
}

#[derive(Deserialize)]
pub struct GrantForm {
    #[serde(default)]
    csrf: String,
    days: String,
    reason: String,
}

pub async fn grant(
    Extract(web): Extract<State>,
    admin: Admin,
    headers: HeaderMap,
    Path(user_id): Path<i64>,
    Form(form): Form<GrantForm>,
) -> Result<Response, Failure> {
    if let Err(refused) = session::check_form(&admin, &headers, &web.config, &form.csrf) {
        return Ok(refused.into_response());
    }
    let reason = form.reason.trim();
    let days = form
        .days
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|d| (1..=365).contains(d));
    let (Some(days), false) = (days, reason.is_empty() || reason.chars().count() > 200) else {
        let body = html! { p.error { "Нужны дни от 1 до 365 и причина до 200 знаков." } };
        return Ok((
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            layout("Дни не добавлены", Some(&admin), body),
        )
            .into_response());
    };
    if read::users::profile(&web.pool, user_id).await?.is_none() {
        return Ok(Redirect::to(&format!("/users/{user_id}")).into_response());
    }
    billing::activate::grant(&web.bus, user_id, days, admin.admin_id, reason).await?;
    Ok(Redirect::to(&format!("/users/{user_id}?done=granted")).into_response())
}

#[derive(Deserialize)]
pub struct RefundForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    sure: Option<String>,
}

pub async fn refund(
    Extract(web): Extract<State>,
    admin: Admin,
    headers: HeaderMap,
    Path((user_id, payment_id)): Path<(i64, String)>,
    Form(form): Form<RefundForm>,
) -> Result<Response, Failure> {
    if let Err(refused) = session::check_form(&admin, &headers, &web.config, &form.csrf) {
        return Ok(refused.into_response());
    }
    let reason = form.reason.trim();
    if form.sure.is_none() || reason.is_empty() || reason.chars().count() > 200 {
        let body = html! { p.error { "Нужны причина до 200 знаков и галочка «да»." } };
        return Ok((
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            layout("Возврат не оформлен", Some(&admin), body),
        )
            .into_response());
    }
    let theirs = read::payments::recent(&web.pool, Some(user_id), i64::MAX)
        .await?
        .into_iter()
        .any(|p| p.payment_id == payment_id);
    if !theirs {
        return Ok(Redirect::to(&format!("/users/{user_id}")).into_response());
    }
    let refunds = billing::refund::Refunds {
        bus: &web.bus,
        yookassa: web.yookassa.as_ref(),
        bot: web.main_bot.as_ref(),
    };
    let request = billing::refund::RefundRequest {
        payment_id,
        admin_id: admin.admin_id,
        reason: reason.to_owned(),
    };
    match refunds.refund(&request).await {
        Ok(billing::refund::Requested::Refunded(_)) => {
            Ok(Redirect::to(&format!("/users/{user_id}?done=refunded")).into_response())
        }
        Ok(billing::refund::Requested::Pending { .. }) => {
            Ok(Redirect::to(&format!("/users/{user_id}?done=refund-pending")).into_response())
        }
        Err(error) => {
            // The provider refused or is unreachable, or is not configured here: nothing was
            // recorded, the admin may try again.
            tracing::warn!(%user_id, error = %format!("{error:#}"), "a refund from the web UI failed");
            let body = html! {
                p.error { "Возврат не прошёл: " (format!("{error:#}")) }
                p { a href=(format!("/users/{user_id}")) { "К пользователю" } }
            };
            Ok((
                axum::http::StatusCode::BAD_GATEWAY,
                layout("Возврат не прошёл", Some(&admin), body),
            )
                .into_response())
        }
    }
}
