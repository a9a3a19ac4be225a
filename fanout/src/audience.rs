//! Who gets a vacancy: every subscriber whose trial or paid period is active at send time, who
//! chose one of its categories and has started that category's bot (and not blocked it), has
//! not hidden its author and has not received it or a cross-post of it. One delivery each,
//! through the bot of the highest-ranked category of the vacancy the user chose.

use std::collections::HashSet;

use chrono::{DateTime, Utc};

/// A subscriber as the read models know them.
#[derive(Debug, Clone, Default)]
pub struct Subscriber {
    pub user_id: i64,
    pub trial_ends_at: Option<DateTime<Utc>>,
    pub paid_until: Option<DateTime<Utc>>,
    pub categories: HashSet<String>,
    /// Category bots the user started and did not stop or block.
    pub reachable_bots: HashSet<String>,
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

/// (user, category bot) for each subscriber who should get it.
pub fn audience(
    vacancy: &Vacancy,
    subscribers: &[Subscriber],
    at: DateTime<Utc>,
) -> Vec<(i64, String)> {
    subscribers
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
            vacancy
                .categories
                .iter()
                .find(|c| s.categories.contains(*c) && s.reachable_bots.contains(*c))
                .map(|c| (s.user_id, c.clone()))
        })
        .collect()
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
            reachable_bots: set(bots),
            ..Subscriber::default()
        }
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
        let got = audience(&vacancy, &subscribers, now);
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
}
