//! How times and counts read to a Russian-speaking user: every message a bot writes about a
//! moment or a number of days goes through here, so they all agree (the user's zone, Moscow
//! by default; «1 день», «2 дня», «5 дней»).

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// The zone a user sees times in until they choose another.
pub const DEFAULT_ZONE: Tz = chrono_tz::Europe::Moscow;

/// `03.12.2026 09:58 (МСК)`: a moment in `zone`, named so nobody has to guess the zone.
pub fn moment(at: DateTime<Utc>, zone: Tz) -> String {
    let local = at.with_timezone(&zone);
    format!("{} ({})", local.format("%d.%m.%Y %H:%M"), zone_label(zone))
}

/// The zone `user_id` chose, Moscow when they chose none or the read model cannot say: a time
/// in a message is not worth failing the message for.
pub async fn zone_of(pool: &sqlx::PgPool, user_id: i64) -> Tz {
    match projections::read::users::time_zone(pool, user_id).await {
        Ok(zone) => zone.and_then(|z| z.parse().ok()).unwrap_or(DEFAULT_ZONE),
        Err(error) => {
            tracing::warn!(user = user_id, %error, "the user's time zone is unknown; Moscow it is");
            DEFAULT_ZONE
        }
    }
}

/// The zone `user_id` chose, from their latest `TimeZoneChosen` on the bus: for services that
/// keep no read model (billing). Moscow when they chose none or the bus cannot say.
pub async fn zone_on_bus(bus: &bus::Bus, user_id: i64) -> Tz {
    match bus
        .latest::<schemas::TimeZoneChosen>(&user_id.to_string())
        .await
    {
        Ok(chosen) => chosen
            .and_then(|c| c.zone.parse().ok())
            .unwrap_or(DEFAULT_ZONE),
        Err(error) => {
            tracing::warn!(user = user_id, %error, "the user's time zone is unknown; Moscow it is");
            DEFAULT_ZONE
        }
    }
}

/// `МСК` for Moscow, otherwise the offset from UTC as people write it (`UTC+5`, `UTC−3:30`).
pub fn zone_label(zone: Tz) -> String {
    if zone == chrono_tz::Europe::Moscow {
        return "МСК".to_owned();
    }
    use chrono::Offset;
    let seconds = Utc::now()
        .with_timezone(&zone)
        .offset()
        .fix()
        .local_minus_utc();
    let (sign, seconds) = if seconds < 0 {
        ('−', -seconds)
    } else {
        ('+', seconds)
    };
    let (hours, minutes) = (seconds / 3600, seconds % 3600 / 60);
    match (hours, minutes) {
        (0, 0) => "UTC".to_owned(),
        (h, 0) => format!("UTC{sign}{h}"),
        (h, m) => format!("UTC{sign}{h}:{m:02}"),
    }
}

/// The Russian word for `n` things: `one` (1, 21, 101), `few` (2–4, 22–24) or `many` (the rest,
/// 11–14 included).
pub fn plural<'a>(n: u64, one: &'a str, few: &'a str, many: &'a str) -> &'a str {
    match (n % 10, n % 100) {
        (1, r) if r != 11 => one,
        (2..=4, r) if !(12..=14).contains(&r) => few,
        _ => many,
    }
}

/// `1 день`, `3 дня`, `30 дней`.
pub fn days(n: u64) -> String {
    format!("{n} {}", plural(n, "день", "дня", "дней"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn plurals_follow_russian_rules() {
        let cases = [
            (0, "0 дней"),
            (1, "1 день"),
            (2, "2 дня"),
            (4, "4 дня"),
            (5, "5 дней"),
            (11, "11 дней"),
            (12, "12 дней"),
            (14, "14 дней"),
            (21, "21 день"),
            (22, "22 дня"),
            (30, "30 дней"),
            (101, "101 день"),
            (111, "111 дней"),
            (365, "365 дней"),
        ];
        for (n, expected) in cases {
            assert_eq!(days(n), expected);
        }
    }

    #[test]
    fn moments_read_in_the_users_zone() {
        // given a moment in UTC
        let at = Utc.with_ymd_and_hms(2026, 12, 3, 6, 58, 0).unwrap();
        // then Moscow reads it three hours later, named МСК; other zones by their offset
        assert_eq!(moment(at, DEFAULT_ZONE), "03.12.2026 09:58 (МСК)");
        assert_eq!(
            moment(at, chrono_tz::Asia::Yekaterinburg),
            "03.12.2026 11:58 (UTC+5)"
        );
        assert_eq!(moment(at, chrono_tz::UTC), "03.12.2026 06:58 (UTC)");
        assert_eq!(zone_label(chrono_tz::Asia::Kolkata), "UTC+5:30");
    }
}
