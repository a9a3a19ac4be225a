//! Who gets a vacancy: every subscriber whose trial or paid period is active at send time, who
//! chose one of its categories and has started that category's bot (and not blocked it), has
//! not hidden its author and has not received it or a cross-post of it. One delivery each,
//! through the user's bot of the highest-ranked category of the vacancy the user chose; in a
//! fair order (see [`fair_order`]).

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};

use chrono::{DateTime, Utc};

/// A subscriber as the read models know them.
#[derive(Debug, Clone, Default)]
pub struct Subscriber {
    pub user_id: i64,
    pub trial_ends_at: Option<DateTime<Utc>>,
    pub paid_until: Option<DateTime<Utc>>,
    pub categories: HashSet<String>,
    /// Categories whose bot the user started and did not stop or block → which of the
    /// category's bots that is (`None`: its first).
    pub reachable_bots: HashMap<String, Option<i64>>,
    /// Author keys (`schemas::Author::key`).
    pub hidden_authors: HashSet<String>,
    /// Originals (first occurrences) of the vacancies already delivered to this user.
    pub received: HashSet<String>,
}

impl Subscriber {
    pub fn active_at(&self, at: DateTime<Utc>) -> bool {
        projections::read::users::Access {
            trial_ends_at: self.trial_ends_at,
            paid_until: self.paid_until,
        }
        .is_running(at)
    }
}

/// A vacancy as fan-out sees it.
#[derive(Debug, Clone)]
pub struct Vacancy {
    /// The first occurrence's id (`MessageKey::id`): cross-posts share it.
    pub original: String,
    /// Catalog slugs, most likely first.
    pub categories: Vec<String>,
    pub author: Option<String>,
}

/// Who gets a vacancy, through which bot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub user_id: i64,
    pub category: String,
    /// Which of the category's bots (`None`: its first).
    pub bot_id: Option<i64>,
    /// Paying now (not on a trial).
    pub paying: bool,
}

/// Each subscriber who should get it, in the order they get it (see [`fair_order`]).
pub fn audience(
    vacancy: &Vacancy,
    subscribers: &[Subscriber],
    at: DateTime<Utc>,
    paid_first: &HashSet<String>,
) -> Vec<Recipient> {
    let recipients = subscribers
        .iter()
        .filter(|s| s.active_at(at))
        .filter(|s| !s.received.contains(&vacancy.original))
        .filter(|s| {
            vacancy
                .author
                .as_ref()
                .is_none_or(|a| !s.hidden_authors.contains(a))
        })
        .filter_map(|s| {
            vacancy.categories.iter().find_map(|c| {
                let bot_id = s
                    .reachable_bots
                    .get(c)
                    .filter(|_| s.categories.contains(c))?;
                Some(Recipient {
                    user_id: s.user_id,
                    category: c.clone(),
                    bot_id: *bot_id,
                    paying: s.paid_until.is_some_and(|until| until > at),
                })
            })
        })
        .collect();
    fair_order(recipients, &vacancy.original, paid_first)
}

/// The order a vacancy's recipients get it in: shuffled by the vacancy, so the same users are
/// not always last; in the categories of `paid_first` (a catalog setting), paying users
/// before those on a trial. Deterministic, so a vacancy planned again is ordered alike.
pub fn fair_order(
    mut recipients: Vec<Recipient>,
    original: &str,
    paid_first: &HashSet<String>,
) -> Vec<Recipient> {
    let place = |r: &Recipient| {
        let mut hasher = std::hash::DefaultHasher::new();
        (original, r.user_id).hash(&mut hasher);
        let trial_waits = paid_first.contains(&r.category) && !r.paying;
        (trial_waits, hasher.finish())
    };
    recipients.sort_by_cached_key(place);
    recipients
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn set(items: &[&str]) -> HashSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn subscriber(user_id: i64, categories: &[&str], bots: &[&str]) -> Subscriber {
        Subscriber {
            user_id,
            trial_ends_at: Some(Utc::now() + Duration::days(1)),
            categories: set(categories),
            reachable_bots: bots.iter().map(|b| (b.to_string(), None)).collect(),
            ..Subscriber::default()
        }
    }

    fn users(recipients: &[Recipient]) -> Vec<i64> {
        recipients.iter().map(|r| r.user_id).collect()
    }

    #[test]
    fn who_gets_a_vacancy() {
        let now = Utc::now();
        let vacancy = Vacancy {
            original: "-100:1".into(),
            categories: vec!["design".into(), "smm".into()],
            author: Some("@boss".into()),
        };
        let mut expired = subscriber(5, &["design"], &["design"]);
        expired.trial_ends_at = Some(now - Duration::seconds(1));
        let mut paid = subscriber(6, &["design"], &["design"]);
        paid.trial_ends_at = Some(now - Duration::days(9));
        paid.paid_until = Some(now + Duration::days(3));
        let mut hid = subscriber(7, &["design"], &["design"]);
        hid.hidden_authors = set(&["@boss"]);
        let mut got_it = subscriber(8, &["design"], &["design"]);
        got_it.received = set(&["-100:1"]);
        let subscribers = [
            subscriber(1, &["design", "smm"], &["design", "smm"]), // both: highest-ranked bot
            subscriber(2, &["smm"], &["smm"]),                     // the second category
            subscriber(3, &["design", "smm"], &["smm"]),           // design bot not started
            subscriber(4, &["texts"], &["texts"]),                 // another category
            expired,
            paid,
            hid,
            got_it,
            subscriber(9, &["design"], &[]), // never started a bot
        ];
        let mut got: Vec<(i64, String)> = audience(&vacancy, &subscribers, now, &HashSet::new())
            .into_iter()
            .map(|r| (r.user_id, r.category))
            .collect();
        got.sort();
        assert_eq!(
            got,
            [
                (1, "design".to_string()),
                (2, "smm".to_string()),
                (3, "smm".to_string()),
                (6, "design".to_string())
            ]
        );
    }

    #[test]
    fn each_user_gets_it_through_their_own_bot_of_the_category() {
        let now = Utc::now();
        let vacancy = Vacancy {
            original: "-100:1".into(),
            categories: vec!["design".into()],
            author: None,
        };
        let mut on_second = subscriber(1, &["design"], &[]);
        on_second.reachable_bots = [("design".to_string(), Some(7002))].into();
        let on_first = subscriber(2, &["design"], &["design"]);
        let got = audience(&vacancy, &[on_second, on_first], now, &HashSet::new());
        let bots: HashMap<i64, Option<i64>> = got.iter().map(|r| (r.user_id, r.bot_id)).collect();
        assert_eq!(bots, [(1, Some(7002)), (2, None)].into());
    }

    #[test]
    fn the_order_changes_with_the_vacancy_and_paying_users_may_come_first() {
        let now = Utc::now();
        let subscribers: Vec<Subscriber> = (1..=40)
            .map(|id| {
                let mut s = subscriber(id, &["design"], &["design"]);
                if id % 4 == 0 {
                    s.paid_until = Some(now + Duration::days(3));
                }
                s
            })
            .collect();
        let vacancy = |original: &str| Vacancy {
            original: original.into(),
            categories: vec!["design".into()],
            author: None,
        };
        let fair = HashSet::new();
        let first = users(&audience(&vacancy("-100:1"), &subscribers, now, &fair));
        let second = users(&audience(&vacancy("-100:2"), &subscribers, now, &fair));
        // every subscriber once, in another order for another vacancy, the same order again
        // for the same one
        let mut sorted = first.clone();
        sorted.sort();
        assert_eq!(sorted, (1..=40).collect::<Vec<_>>());
        assert_ne!(first, second);
        assert_ne!(first.last(), second.last());
        assert_eq!(
            first,
            users(&audience(&vacancy("-100:1"), &subscribers, now, &fair))
        );
        assert_ne!(first, sorted, "not by user id");

        // when the category puts paying users first
        let paid_first: HashSet<String> = set(&["design"]);
        let got = users(&audience(
            &vacancy("-100:1"),
            &subscribers,
            now,
            &paid_first,
        ));
        // then the ten paying users lead, still shuffled among themselves
        assert!(got[..10].iter().all(|id| id % 4 == 0), "{got:?}");
        assert!(got[10..].iter().all(|id| id % 4 != 0));
        assert_ne!(got[..10], [4, 8, 12, 16, 20, 24, 28, 32, 36, 40]);
    }
}
