//! Each job as an admin or operator sees it: its schedule, its last run and when it runs next.
//! `remotehunt scheduler status` prints it; the main bot's `/jobs` shows it.

use bus::Bus;
use chrono::{DateTime, Datelike, NaiveTime, TimeZone, Utc};
use projections::read::scheduler::JobRun;
use schemas::Job;
use sqlx::PgPool;

use crate::report::escape;

#[derive(Debug, Clone, PartialEq)]
pub struct JobStatus {
    pub job: Job,
    /// The stored schedule (`@every 10m`, `0 0 9 * * *` and its zone); `None` when none is set.
    pub schedule: Option<String>,
    pub last_run: Option<JobRun>,
    pub next_run: Option<DateTime<Utc>>,
}

pub async fn jobs(bus: &Bus, pool: &PgPool) -> anyhow::Result<Vec<JobStatus>> {
    let runs = projections::read::scheduler::recent_runs(pool, 1).await?;
    let now = Utc::now();
    let mut out = Vec::new();
    for job in Job::ALL {
        let stored = bus.schedule(job).await?;
        let next_run = stored.as_ref().and_then(|(schedule, stored_at)| {
            next_run(
                &schedule.spec,
                schedule.time_zone.as_deref(),
                *stored_at,
                now,
            )
        });
        let schedule = stored.map(|(schedule, _)| match schedule.time_zone {
            Some(zone) => format!("{} ({zone})", schedule.spec),
            None => schedule.spec,
        });
        out.push(JobStatus {
            job,
            schedule,
            last_run: runs.iter().find(|r| r.job == job.as_str()).cloned(),
            next_run,
        });
    }
    Ok(out)
}

/// When a schedule of the forms the settings write fires next after `now`: `@every <d>`
/// counts from when it was stored; a daily cron `s m h * * *` is read in its zone.
pub fn next_run(
    spec: &str,
    zone: Option<&str>,
    stored_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    if let Some(every) = spec.strip_prefix("@every ") {
        let step = crate::config::parse_duration(every).ok()?;
        if step <= chrono::Duration::zero() {
            return None;
        }
        let passed = (now - stored_at).num_milliseconds().max(0) / step.num_milliseconds();
        return Some(stored_at + step * (passed as i32 + 1));
    }
    let fields: Vec<&str> = spec.split_whitespace().collect();
    let [second, minute, hour, "*", "*", "*"] = fields.as_slice() else {
        return None;
    };
    let at = NaiveTime::from_hms_opt(
        hour.parse().ok()?,
        minute.parse().ok()?,
        second.parse().ok()?,
    )?;
    let zone: chrono_tz::Tz = zone.unwrap_or("UTC").parse().ok()?;
    let today = now.with_timezone(&zone).date_naive();
    [today, today.succ_opt()?]
        .into_iter()
        .filter_map(|day| zone.from_local_datetime(&day.and_time(at)).earliest())
        .map(|t| t.with_timezone(&Utc))
        .find(|t| *t > now)
}

/// The jobs for `/jobs`: each job's last run and outcome, and when it runs next (Moscow time).
pub fn html(jobs: &[JobStatus], zone: chrono_tz::Tz) -> String {
    let time = |t: DateTime<Utc>| {
        let local = t.with_timezone(&zone);
        format!(
            "{:02}.{:02} {}",
            local.day(),
            local.month(),
            local.format("%H:%M")
        )
    };
    let mut lines = vec!["🗓 <b>Задачи планировщика</b>".to_owned()];
    for status in jobs {
        let last = match &status.last_run {
            None => "ещё не запускалась".to_owned(),
            Some(run) => {
                let outcome = match (run.outcome.as_deref(), &run.error) {
                    (Some("succeeded"), _) => "✅".to_owned(),
                    (Some("failed"), Some(error)) => {
                        let short: String = error.chars().take(200).collect();
                        format!("❌ {}", escape(&short))
                    }
                    (Some("failed"), None) => "❌".to_owned(),
                    _ => "⏳ идёт".to_owned(),
                };
                format!("{} — {outcome}", time(run.tick_at))
            }
        };
        let next = status
            .next_run
            .map_or_else(|| "не запланирована".to_owned(), time);
        lines.push(format!(
            "\n<b>{}</b>\nПоследний запуск: {last}\nСледующий: {next}",
            status.job.title()
        ));
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    #[test]
    fn the_next_run_of_the_schedules_the_settings_write() {
        let now = at("2026-12-01T10:05:00Z");
        // @every counts from when the schedule was stored
        assert_eq!(
            next_run("@every 10m", None, at("2026-12-01T10:00:30Z"), now),
            Some(at("2026-12-01T10:10:30Z"))
        );
        // 09:00 Moscow is 06:00 UTC: passed today, so tomorrow
        assert_eq!(
            next_run("0 0 9 * * *", Some("Europe/Moscow"), now, now),
            Some(at("2026-12-02T06:00:00Z"))
        );
        // 15:00 Moscow is still ahead today
        assert_eq!(
            next_run("0 0 15 * * *", Some("Europe/Moscow"), now, now),
            Some(at("2026-12-01T12:00:00Z"))
        );
        assert_eq!(next_run("*/5 * * * * *", None, now, now), None);
    }
}
