//! The dashboard: today's figures (Moscow day) and the last 14 days as bars.

use axum::extract::State as Extract;
use axum::response::{IntoResponse, Response};
use chrono::{Days, Utc};
use maud::html;
use projections::read::report;

use super::{Failure, layout};
use crate::State;
use crate::session::Admin;

const CHART_DAYS: u64 = 14;

fn money(figures: &[report::Money]) -> String {
    if figures.is_empty() {
        return "—".to_owned();
    }
    figures
        .iter()
        .map(|m| match m.currency.as_str() {
            "RUB" => format!("{} ₽ ({})", m.minor / 100, m.count),
            "XTR" => format!("{} ⭐ ({})", m.minor, m.count),
            other => format!("{} {other} ({})", m.minor, m.count),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub async fn show(Extract(web): Extract<State>, admin: Admin) -> Result<Response, Failure> {
    let zone = chrono_tz::Europe::Moscow;
    let today = Utc::now().with_timezone(&zone).date_naive();
    let (start, _) = scheduler::runs::day_bounds(zone, today)?;
    let figures = report::day(&web.pool, start, Utc::now()).await?;
    let mut days = Vec::new();
    for back in (0..CHART_DAYS).rev() {
        let day = today - Days::new(back);
        days.push((day, scheduler::runs::day_bounds(zone, day)?));
    }
    let bounds: Vec<_> = days.iter().map(|(_, b)| *b).collect();
    let chart = report::chart(&web.pool, &bounds).await?;
    let widest = |f: fn(&report::ChartDay) -> i64| chart.iter().map(f).max().unwrap_or(0).max(1);
    let (users_max, paying_max, vacancies_max) = (
        widest(|d| d.new_users),
        widest(|d| d.paying_subscribers),
        widest(|d| d.vacancies),
    );
    let bar = |value: i64, max: i64| {
        let width = value * 100 / max;
        html! { span.bar style=(format!("width:{width}%")) {} " " (value) }
    };
    let body = html! {
        h2 { "Сегодня" }
        table {
            tr { th { "Новые пользователи" } td id="new-users" { (figures.new_users) } }
            tr { th { "Пробных начато" } td { (figures.trials_started) } }
            tr { th { "Платящих сейчас" } td id="paying" { (figures.active_paid) } }
            tr { th { "В пробном периоде" } td { (figures.active_trials) } }
            tr { th { "Оплаты" } td { (money(&figures.payments)) } }
            tr { th { "Возвраты" } td { (money(&figures.refunds)) } }
            tr { th { "Постов / принято / классифицировано" } td { (figures.posts_seen) " / " (figures.posts_accepted) " / " (figures.posts_classified) } }
            tr { th { "Доставлено / ошибок" } td { (figures.deliveries_sent) " / " (figures.deliveries_failed) } }
            tr { th { "Жалоб ждут решения" } td { a href="/reports" { (figures.reports_waiting) } } }
        }
        h2 { "14 дней" }
        table {
            tr { th { "День" } th { "Новые" } th { "Платящие" } th { "Вакансии" } }
            @for ((day, _), figures) in days.iter().zip(&chart) {
                tr {
                    td { (day.format("%d.%m")) }
                    td { (bar(figures.new_users, users_max)) }
                    td { (bar(figures.paying_subscribers, paying_max)) }
                    td { (bar(figures.vacancies, vacancies_max)) }
                }
            }
        }
    };
    Ok(layout("Сводка", Some(&admin), body).into_response())
}
