//! A subscriber's access as pure functions over their events: trial → active → expired. A
//! payment (or an admin's grant) adds days after whatever access is still running, so nothing
//! paid for is lost; a refund takes back the unused part of that payment's period. Billing
//! decides with these and publishes the events they return; read models apply the same events.

use chrono::{DateTime, Duration, Utc};

use crate::{Event, ExtensionSource, SubscriptionExtended, SubscriptionRevoked};

/// A plan users can buy, from `catalog.toml`'s `[[plans]]`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    pub slug: String,
    pub name: String,
    pub days: u32,
    /// Price in roubles.
    pub rub: u32,
    /// Price in Telegram Stars.
    pub stars: u32,
}

/// What a user may receive, as their events say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Access {
    pub trial_ends_at: Option<DateTime<Utc>>,
    pub paid_until: Option<DateTime<Utc>>,
    /// Each payment's added period (payment id, from, until), for refunds; moved earlier when
    /// an earlier payment is refunded, as the access itself is.
    pub paid_periods: Vec<(String, DateTime<Utc>, DateTime<Utc>)>,
    /// Payments whose unused part was taken back.
    pub refunded: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Never had a trial or a paid period.
    None,
    Trial {
        until: DateTime<Utc>,
    },
    Active {
        until: DateTime<Utc>,
    },
    Expired {
        since: DateTime<Utc>,
    },
}

impl Access {
    /// Folds a user's events (others are ignored), oldest first.
    pub fn from_events<'a>(events: impl IntoIterator<Item = &'a Event>) -> Self {
        let mut access = Access::default();
        for event in events {
            access.apply(event);
        }
        access
    }

    pub fn apply(&mut self, event: &Event) {
        match event {
            Event::TrialStarted(trial) => self.trial_ends_at = Some(trial.ends_at),
            Event::SubscriptionExtended(extended) => {
                self.paid_until = Some(
                    self.paid_until
                        .map_or(extended.until, |u| u.max(extended.until)),
                );
                if let ExtensionSource::Payment { payment_id } = &extended.source {
                    self.paid_periods
                        .push((payment_id.clone(), extended.from, extended.until));
                }
            }
            Event::SubscriptionRevoked(revoked) => {
                if let (Some(payment_id), Some(paid_until)) = (&revoked.payment_id, self.paid_until)
                {
                    self.take_back(payment_id, paid_until - revoked.until);
                }
                self.paid_until = Some(revoked.until);
            }
            _ => {}
        }
    }

    /// A refunded payment's period loses its unused part, `taken`; periods after it move
    /// earlier by as much, as the access they stand for did.
    fn take_back(&mut self, payment_id: &str, taken: Duration) {
        self.refunded.push(payment_id.to_owned());
        let Some(end) = self
            .paid_periods
            .iter()
            .find(|(id, _, _)| id == payment_id)
            .map(|(_, _, until)| *until)
        else {
            return;
        };
        for (id, from, until) in &mut self.paid_periods {
            if id == payment_id {
                *until = (*until - taken).max(*from);
            } else if *from >= end {
                *from -= taken;
                *until -= taken;
            }
        }
    }

    /// Paid access wins over a trial running at the same time; the trial's end shows while no
    /// paid period runs.
    pub fn status(&self, at: DateTime<Utc>) -> Status {
        match (self.paid_until, self.trial_ends_at) {
            (Some(until), _) if until > at => Status::Active { until },
            (_, Some(until)) if until > at => Status::Trial { until },
            (None, None) => Status::None,
            (paid, trial) => Status::Expired {
                since: paid.into_iter().chain(trial).max().unwrap_or(at),
            },
        }
    }

    /// When access still running at `at` ends (paid or trial), or `at` when none runs.
    fn runs_until(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        [self.paid_until, self.trial_ends_at]
            .into_iter()
            .flatten()
            .fold(at, DateTime::max)
    }

    /// `days` more access after whatever still runs: the event to publish.
    pub fn extend(
        &self,
        user_id: i64,
        days: i64,
        at: DateTime<Utc>,
        source: ExtensionSource,
    ) -> Option<SubscriptionExtended> {
        if days <= 0 {
            return None;
        }
        let from = self.runs_until(at);
        Some(SubscriptionExtended {
            user_id,
            from,
            until: from + Duration::days(days),
            source,
        })
    }

    /// The refund of a payment takes back its period's part not yet used at `at`: the event to
    /// publish, or `None` when nothing is left to take (unknown or already refunded payment,
    /// period used up).
    pub fn refund(
        &self,
        user_id: i64,
        payment_id: &str,
        at: DateTime<Utc>,
    ) -> Option<SubscriptionRevoked> {
        if self.refunded.iter().any(|id| id == payment_id) {
            return None;
        }
        let (_, from, until) = self
            .paid_periods
            .iter()
            .find(|(id, _, _)| id == payment_id)?;
        let unused = *until - (*from).max(at);
        let paid_until = self.paid_until?;
        if unused <= Duration::zero() || paid_until <= at {
            return None;
        }
        Some(SubscriptionRevoked {
            user_id,
            until: (paid_until - unused).max(at),
            reason: "refund".into(),
            payment_id: Some(payment_id.to_owned()),
        })
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::TrialStarted;

    fn day(n: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0)
            .single()
            .unwrap_or_default()
            + Duration::days(n)
    }

    fn paid(id: &str) -> ExtensionSource {
        ExtensionSource::Payment {
            payment_id: id.into(),
        }
    }

    fn trial(from: i64, to: i64) -> Event {
        TrialStarted {
            user_id: 1,
            starts_at: day(from),
            ends_at: day(to),
        }
        .into()
    }

    /// Applies what `extend` returns, as billing would publish it.
    fn extended(access: &mut Access, days: i64, at: i64, source: ExtensionSource) {
        if let Some(event) = access.extend(1, days, day(at), source) {
            access.apply(&event.into());
        }
    }

    #[test]
    fn status_at_every_boundary() {
        // given a trial from day 0 to day 2 and a week paid on day 5
        let mut access = Access::from_events(&[trial(0, 2)]);
        let before_payment = access.clone();
        extended(&mut access, 7, 5, paid("p1"));
        for (at, expected) in [
            (day(-1), Status::Trial { until: day(2) }),
            (day(0), Status::Trial { until: day(2) }),
            (
                day(2) - Duration::seconds(1),
                Status::Trial { until: day(2) },
            ),
            (day(2), Status::Expired { since: day(2) }),
            (day(5), Status::Active { until: day(12) }),
            (
                day(12) - Duration::seconds(1),
                Status::Active { until: day(12) },
            ),
            (day(12), Status::Expired { since: day(12) }),
        ] {
            let status = if at < day(5) {
                before_payment.status(at)
            } else {
                access.status(at)
            };
            assert_eq!(status, expected, "at {at}");
        }
        assert_eq!(Access::default().status(day(0)), Status::None);
    }

    #[test]
    fn payments_and_grants_extend_from_the_end_of_what_still_runs() {
        // (trial end, earlier paid period, day of the payment, days bought) → the new period
        for (trial_end, earlier, at, days, from, until) in [
            (None, None, 0, 7, day(0), day(7)),     // first payment, no trial
            (Some(2), None, 1, 7, day(2), day(9)),  // during the trial: after it
            (Some(2), None, 4, 7, day(4), day(11)), // trial over: from now
            (Some(2), Some((1, 14)), 10, 7, day(14), day(21)), // active: from its end
            (Some(2), Some((1, 14)), 20, 30, day(20), day(50)), // expired: from now
            (None, Some((0, 7)), 7, 7, day(7), day(14)), // at the very end: contiguous
        ] {
            let mut access = Access::default();
            if let Some(end) = trial_end {
                access.apply(&trial(0, end));
            }
            if let Some((from, until)) = earlier {
                let event: Event = SubscriptionExtended {
                    user_id: 1,
                    from: day(from),
                    until: day(until),
                    source: paid("p0"),
                }
                .into();
                access.apply(&event);
            }
            let event = access.extend(1, days, day(at), paid("p1")).unwrap();
            assert_eq!(
                (event.from, event.until),
                (from, until),
                "payment on day {at}"
            );
        }
        // and a grant by an admin works the same way; zero or negative days grant nothing
        let grant = ExtensionSource::Grant {
            admin_id: 9,
            reason: "сбой доставки".into(),
        };
        let access = Access::from_events(&[trial(0, 2)]);
        let granted = access.extend(1, 3, day(1), grant.clone()).unwrap();
        assert_eq!((granted.from, granted.until), (day(2), day(5)));
        assert_eq!(access.extend(1, 0, day(1), grant), None);
    }

    #[test]
    fn a_refund_takes_back_only_the_unused_part_of_its_payment() {
        // given two stacked weeks: p1 days 0–7, p2 days 7–14
        let mut access = Access::default();
        extended(&mut access, 7, 0, paid("p1"));
        extended(&mut access, 7, 1, paid("p2"));
        assert_eq!(access.paid_until, Some(day(14)));
        for (payment, at, until) in [
            ("p1", 3, Some(day(10))),  // 4 unused days of p1 come off the end
            ("p2", 3, Some(day(7))),   // p2 not started: all of it
            ("p2", 10, Some(day(10))), // 4 unused days of p2: access ends now
            ("p1", 8, None),           // p1 used up: nothing to take
            ("nope", 3, None),         // unknown payment
            ("p2", 15, None),          // everything over already
        ] {
            let revoked = access.refund(1, payment, day(at));
            assert_eq!(
                revoked.as_ref().map(|r| r.until),
                until,
                "{payment} on day {at}"
            );
            if let Some(revoked) = revoked {
                assert_eq!(revoked.payment_id.as_deref(), Some(payment));
                let mut after = access.clone();
                after.apply(&revoked.into());
                assert!(after.paid_until >= Some(day(at)), "never before the refund");
            }
        }
    }

    #[test]
    fn refunds_one_after_another_take_back_what_each_still_holds() {
        // given three stacked weeks: p1 days 0–7, p2 7–14, p3 14–21
        let mut access = Access::default();
        for payment in ["p1", "p2", "p3"] {
            extended(&mut access, 7, 0, paid(payment));
        }
        // when p1 is refunded on day 3: 4 days off, p2 now 3–10, p3 10–17
        let first = access.refund(1, "p1", day(3)).unwrap();
        access.apply(&first.into());
        assert_eq!(access.paid_until, Some(day(17)));
        // then a second refund of p1 takes nothing
        assert_eq!(access.refund(1, "p1", day(3)), None);
        // and p2 refunded on day 5 takes its 5 unused days (5–10), not its old 7–14
        let second = access.refund(1, "p2", day(5)).unwrap();
        assert_eq!(second.until, day(12));
        access.apply(&second.into());
        // and p3, now 5–12, refunded on day 6: access ends then
        let third = access.refund(1, "p3", day(6)).unwrap();
        assert_eq!(third.until, day(6));
        access.apply(&third.into());
        assert_eq!(access.status(day(6)), Status::Expired { since: day(6) });
        assert_eq!(access.refunded, ["p1", "p2", "p3"]);
    }
}
