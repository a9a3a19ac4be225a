//! The dashboard: today's figures (Moscow day) and the last 14 days as bars. The days before
//! today change little (a late correction, a refund), so their figures are kept for a few
//! minutes ([`PastDays`]); today's are counted on every load.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::DateTime;

use axum::extract::State as Extract;
use axum::response::{IntoResponse, Response};
use chrono::{Days, Utc};
use maud::html;
use projections::read::report;

use super::{Failure, layout};
use crate::State;
use crate::session::Admin;

const CHART_DAYS: u64 = 14;
/// How long a past day's figures are reused.
const PAST_DAY_FOR: Duration = Duration::from_secs(10 * 60);

type Bounds = (DateTime<Utc>, DateTime<Utc>);

/// The chart's days before today, counted at most every [`PAST_DAY_FOR`]: a 14-day chart over
/// a million vacancies is most of the dashboard's time (`remotehunt bench web`).
#[derive(Debug, Default)]
pub struct PastDays {
    counted: Mutex<HashMap<Bounds, (Instant, report::ChartDay)>>,
}

impl PastDays {
    /// The figures of `days` (the last is today, always counted afresh).
    pub async fn chart(
        &self,
        pool: &sqlx::PgPool,
        days: &[Bounds],
    ) -> sqlx::Result<Vec<report::ChartDay>> {
        let now = Utc::now();
        let kept = |bounds: &Bounds| -> Option<report::ChartDay> {
            let counted = self.counted.lock().unwrap_or_else(|e| e.into_inner());
            counted
                .get(bounds)
                .filter(|(at, _)| bounds.1 <= now && at.elapsed() < PAST_DAY_FOR)
                .map(|(_, figures)| *figures)
        };
        let missing: Vec<Bounds> = days.iter().filter(|b| kept(b).is_none()).copied().collect();
        let fresh = report::chart(pool, &missing).await?;
        let mut counted = self.counted.lock().unwrap_or_else(|e| e.into_inner());
        counted.retain(|_, (at, _)| at.elapsed() < PAST_DAY_FOR);
        for (bounds, figures) in missing.iter().zip(&fresh) {
            if bounds.1 <= now {
                counted.insert(*bounds, (Instant::now(), *figures));
            }
        }
        let mut fresh = missing.iter().zip(fresh);
        Ok(days
            .iter()
            .map(|bounds| match counted.get(bounds) {
                Some((_, figures)) if bounds.1 <= now => *figures,
                _ => fresh
                    .find(|(b, _)| *b == bounds)
                    .map(|(_, f)| f)
                    .unwrap_or_default(),
            })
            .collect())
    }
}

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
    let chart = web.past_days.chart(&web.pool, &bounds).await?;
    let widest = |f: fn(&report::ChartDay) -> i64| chart.iter().map(f).max().unwrap_or(0).max(1);
    let (users_max, paying_max, vacancies_max, rub_max, stars_max) = (
        widest(|d| d.new_users),
        widest(|d| d.paying_subscribers),
        widest(|d| d.vacancies),
        widest(|d| d.revenue_rub_minor),
        widest(|d| d.revenue_stars),
    );
    let bar = |value: i64, max: i64, shown: String| {
        let width = value.max(0) * 100 / max;
        html! { span.bar style=(format!("width:{width}%")) {} " " (shown) }
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
            tr { th { "День" } th { "Новые" } th { "Платящие" } th { "Вакансии" } th { "Выручка, ₽" } th { "Выручка, ⭐" } }
            @for ((day, _), figures) in days.iter().zip(&chart) {
                tr {
                    td { (day.format("%d.%m")) }
                    td { (bar(figures.new_users, users_max, figures.new_users.to_string())) }
                    td { (bar(figures.paying_subscribers, paying_max, figures.paying_subscribers.to_string())) }
                    td { (bar(figures.vacancies, vacancies_max, figures.vacancies.to_string())) }
                    td { (bar(figures.revenue_rub_minor, rub_max, (figures.revenue_rub_minor / 100).to_string())) }
                    td { (bar(figures.revenue_stars, stars_max, figures.revenue_stars.to_string())) }
                }
            }
        }
    };
    Ok(layout("Сводка", Some(&admin), body).into_response())
}
