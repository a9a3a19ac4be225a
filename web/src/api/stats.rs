//! `GET /stats/daily`: the dashboard's series (new users, paying subscribers, vacancies) and
//! revenue, per UTC day, the last `days` days up to today.

use axum::Json;
use axum::extract::State as Extract;
use chrono::{Days, NaiveDate, Utc};
use projections::read;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::Caller;
use super::errors::{ApiError, ErrorBody};
use super::extract::{ApiQuery, saturating};
use crate::State;

pub const DEFAULT_DAYS: i64 = 14;
pub const MAX_DAYS: i64 = 90;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// How many days, today included: 14 unless asked; clamped to 1..=90.
    #[serde(default, deserialize_with = "saturating")]
    pub days: Option<i64>,
}

/// What one day brought in one currency.
#[derive(Debug, Serialize, ToSchema)]
pub struct Revenue {
    /// ISO 4217 (`XTR` for Telegram Stars).
    pub currency: String,
    /// Payments that succeeded.
    pub payments: i64,
    /// Paid minus refunded, in minor units (kopecks; Stars are whole).
    pub net_minor: i64,
}

/// One UTC day.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatsDay {
    pub date: NaiveDate,
    /// Users who started the main bot that day.
    pub new_users: i64,
    /// Users with a paid period covering the day's end.
    pub paying_subscribers: i64,
    /// Posts classified as vacancies that day.
    pub vacancies: i64,
    /// Per currency; empty when nothing was paid.
    pub revenue: Vec<Revenue>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DailyStats {
    /// Oldest first, today last.
    pub days: Vec<StatsDay>,
}

/// Daily figures: users, paying subscribers, vacancies and revenue.
#[utoipa::path(
    get,
    path = "/api/v1/stats/daily",
    operation_id = "daily_stats",
    tag = "stats",
    params(StatsQuery),
    responses(
        (status = 200, description = "One entry per day", body = DailyStats),
        (status = 422, description = "`days` is not a whole number", body = ErrorBody),
    )
)]
pub async fn daily(
    _caller: Caller,
    Extract(web): Extract<State>,
    ApiQuery(query): ApiQuery<StatsQuery>,
) -> Result<Json<DailyStats>, ApiError> {
    let count = query.days.unwrap_or(DEFAULT_DAYS).clamp(1, MAX_DAYS) as u64;
    let today = Utc::now().date_naive();
    let dates: Vec<NaiveDate> = (0..count)
        .rev()
        .filter_map(|back| today.checked_sub_days(Days::new(back)))
        .collect();
    let bounds: Vec<_> = dates
        .iter()
        .filter_map(|date| {
            let start = date.and_hms_opt(0, 0, 0)?.and_utc();
            Some((start, start.checked_add_days(Days::new(1))?))
        })
        .collect();
    let chart = read::report::chart(&web.pool, &bounds).await?;
    let (first, last) = (dates.first().copied(), dates.last().copied());
    let revenue = match (first, last) {
        (Some(first), Some(last)) => read::api::revenue(&web.pool, first, last).await?,
        _ => Vec::new(),
    };
    let days = dates
        .iter()
        .zip(chart)
        .map(|(&date, figures)| StatsDay {
            date,
            new_users: figures.new_users,
            paying_subscribers: figures.paying_subscribers,
            vacancies: figures.vacancies,
            revenue: revenue
                .iter()
                .filter(|r| r.day == date)
                .map(|r| Revenue {
                    currency: r.currency.clone(),
                    payments: r.payments,
                    net_minor: r.net_minor,
                })
                .collect(),
        })
        .collect();
    Ok(Json(DailyStats { days }))
}
