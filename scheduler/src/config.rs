//! The scheduler's settings, and the message schedules they decide: one source of truth, so the
//! schedules in SCHEDULES are always what the settings say.

use std::time::Duration;

use bus::schedules::Schedule;
use chrono::NaiveTime;
use chrono_tz::Tz;
use schemas::{ChatTarget, Job};

#[derive(Debug, Clone)]
pub struct Settings {
    /// The zone the daily jobs run in and notices show times in (`SCHEDULER_TIMEZONE`).
    pub timezone: Tz,
    /// How often expiry notices are planned (`@every`; at least a second).
    pub expiry_every: Duration,
    /// A warning goes out this long before access ends (`EXPIRY_NOTICE_BEFORE`).
    pub expiry_notice_before: chrono::Duration,
    /// «…закончилась» goes only to users whose access ended this recently: a first deploy does
    /// not tell everyone who ever expired.
    pub expiry_lookback: chrono::Duration,
    /// The daily report's time of day (`ADMIN_REPORT_AT`).
    pub admin_report_at: NaiveTime,
    /// The public pick's time of day (`PUBLIC_PICK_AT`).
    pub public_pick_at: NaiveTime,
    /// Telegram ids of the admins (`ADMIN_IDS`): the report and failed runs go to them.
    pub admins: Vec<i64>,
    /// Where the daily pick is posted (`PUBLIC_CHANNEL`: an id or `@username`); no pick when
    /// unset.
    pub public_channel: Option<ChatTarget>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            timezone: chrono_tz::Europe::Moscow,
            expiry_every: Duration::from_secs(600),
            expiry_notice_before: chrono::Duration::hours(24),
            expiry_lookback: chrono::Duration::days(7),
            admin_report_at: NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default(),
            public_pick_at: NaiveTime::from_hms_opt(12, 0, 0).unwrap_or_default(),
            admins: Vec::new(),
            public_channel: None,
        }
    }
}

impl Settings {
    /// The message schedules these settings decide; the public pick only with a channel.
    pub fn schedules(&self) -> Vec<Schedule> {
        let daily = |job: Job, at: NaiveTime| Schedule {
            job,
            spec: daily_cron(at),
            time_zone: Some(self.timezone.name().to_owned()),
        };
        let mut schedules = vec![
            Schedule {
                job: Job::ExpiryNotices,
                spec: format!("@every {}", go_duration(self.expiry_every)),
                time_zone: None,
            },
            daily(Job::AdminReport, self.admin_report_at),
        ];
        if self.public_channel.is_some() {
            schedules.push(daily(Job::PublicPick, self.public_pick_at));
        }
        schedules
    }
}

/// A six-field cron (seconds first) firing daily at `at`.
fn daily_cron(at: NaiveTime) -> String {
    use chrono::Timelike;
    format!("{} {} {} * * *", at.second(), at.minute(), at.hour())
}

/// A duration as Go writes it for `@every` (`10m`, `90s`, `1h`).
fn go_duration(every: Duration) -> String {
    let seconds = every.as_secs().max(1);
    match seconds {
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// Parses `24h`, `90m`, `45s`, `2d` (and sums like `1h30m`).
pub fn parse_duration(text: &str) -> Result<chrono::Duration, String> {
    let mut total = chrono::Duration::zero();
    let mut number = String::new();
    let mut any = false;
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let n: i64 = number
            .parse()
            .map_err(|_| format!("{text:?}: a number must come before {c:?}"))?;
        number.clear();
        total += match c {
            'd' => chrono::Duration::days(n),
            'h' => chrono::Duration::hours(n),
            'm' => chrono::Duration::minutes(n),
            's' => chrono::Duration::seconds(n),
            other => return Err(format!("{text:?}: unknown unit {other:?} (use d, h, m, s)")),
        };
        any = true;
    }
    if !number.is_empty() || !any {
        return Err(format!("{text:?} is not a duration such as 24h or 90m"));
    }
    Ok(total)
}

/// `09:00` → 09:00.
pub fn parse_time_of_day(text: &str) -> Result<NaiveTime, String> {
    NaiveTime::parse_from_str(text.trim(), "%H:%M")
        .map_err(|_| format!("{text:?} is not a time of day such as 09:00"))
}

/// `-1001234567890` or `@channel`.
pub fn parse_chat(text: &str) -> Result<ChatTarget, String> {
    let text = text.trim();
    if let Ok(id) = text.parse::<i64>() {
        return Ok(ChatTarget::Id(id));
    }
    if text.len() > 1 && text.starts_with('@') {
        return Ok(ChatTarget::Username(text.to_owned()));
    }
    Err(format!("{text:?} is neither a chat id nor an @username"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_decide_the_schedules() {
        let settings = Settings {
            public_channel: Some(ChatTarget::Username("@jobs".into())),
            ..Settings::default()
        };
        let schedules = settings.schedules();
        assert_eq!(schedules[0].spec, "@every 10m");
        assert_eq!(schedules[0].time_zone, None);
        assert_eq!(schedules[1].spec, "0 0 9 * * *");
        assert_eq!(schedules[1].time_zone.as_deref(), Some("Europe/Moscow"));
        assert_eq!(schedules[2].spec, "0 0 12 * * *");
        // no channel, no pick
        assert_eq!(Settings::default().schedules().len(), 2);
    }

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(parse_duration("24h"), Ok(chrono::Duration::hours(24)));
        assert_eq!(parse_duration("90m"), Ok(chrono::Duration::minutes(90)));
        assert_eq!(parse_duration("1h30m"), Ok(chrono::Duration::minutes(90)));
        for bad in ["", "h", "24", "24x", "-1h"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(go_duration(Duration::from_secs(90)), "90s");
        assert_eq!(go_duration(Duration::from_secs(7200)), "2h");
    }

    #[test]
    fn chats_and_times_parse_strictly() {
        assert_eq!(parse_chat("-100123"), Ok(ChatTarget::Id(-100123)));
        assert_eq!(
            parse_chat("@jobs"),
            Ok(ChatTarget::Username("@jobs".into()))
        );
        assert!(parse_chat("jobs").is_err());
        assert_eq!(
            parse_time_of_day("09:30"),
            Ok(NaiveTime::from_hms_opt(9, 30, 0).unwrap_or_default())
        );
        assert!(parse_time_of_day("25:00").is_err());
    }
}
