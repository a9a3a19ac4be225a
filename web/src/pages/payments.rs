//! Payments, newest first, and revenue by day, plan and provider net of refunds.

use axum::extract::State as Extract;
use axum::response::{IntoResponse, Response};
use maud::html;
use projections::read;

use super::{Failure, layout, moment};
use crate::State;
use crate::session::Admin;

/// An amount as people read it: kopecks as roubles, Stars whole.
pub fn amount(minor: i64, currency: &str) -> String {
    match currency {
        "RUB" => format!("{}.{:02} ₽", minor / 100, minor.rem_euclid(100)),
        "XTR" => format!("{minor} ⭐"),
        other => format!("{minor} {other}"),
    }
}

pub async fn show(Extract(web): Extract<State>, admin: Admin) -> Result<Response, Failure> {
    let payments = read::payments::recent(&web.pool, None, 100).await?;
    let revenue = read::payments::revenue_daily(&web.pool).await?;
    let body = html! {
        h2 { "Выручка по дням" }
        @if revenue.is_empty() { p.muted { "Оплат ещё не было." } }
        @else {
            table {
                tr { th { "День" } th { "План" } th { "Провайдер" } th { "Оплат" } th { "Возвраты" } th { "Итого" } }
                @for day in revenue.iter().take(60) {
                    tr {
                        td { (day.day.format("%d.%m.%Y")) } td { (day.plan) } td { (day.provider) }
                        td { (day.payments) } td { (amount(day.refunded_minor, &day.currency)) }
                        td { (amount(day.net_minor, &day.currency)) }
                    }
                }
            }
        }
        h2 { "Последние платежи" }
        table {
            tr { th { "Когда" } th { "Кто" } th { "План" } th { "Сумма" } th { "Статус" } }
            @for payment in &payments {
                tr {
                    td { (moment(payment.created_at)) }
                    td { a href=(format!("/users/{}", payment.user_id)) { (payment.user_id) } }
                    td { (payment.plan) " · " (payment.provider) }
                    td { (amount(payment.amount_minor, &payment.currency)) }
                    td { (payment.status) }
                }
            }
        }
    };
    Ok(layout("Платежи", Some(&admin), body).into_response())
}
