//! The rules backtest: replays a channel's stored messages through candidate rules, straight
//! from the event log, so an operator sees what a rule change would pass and stop before
//! publishing it. [`replay`] and [`compare`] are pure; [`backtest`] reads MESSAGES and calls it.

use schemas::{Area, Event};

use crate::rules::CompiledRules;

/// What the candidate rules would do to one channel's stored messages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// The channel's stored messages (`MessageReceived`) replayed.
    pub seen: usize,
    /// The ones that would pass, in stream order.
    pub passing: Vec<Example>,
    /// The ones that would be stopped, in stream order.
    pub stopped: Vec<Example>,
}

impl Report {
    /// How many would pass.
    pub fn passed(&self) -> usize {
        self.passing.len()
    }
}

/// One replayed message and the rule that decided it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    /// The deciding rule, e.g. `forbid:резюме` or `require_any:ваканс*`.
    pub rule: String,
    /// The message's text as received.
    pub text: String,
}

/// Decides every `MessageReceived` of `channels` among `events` with `rules`; other events and
/// other channels are ignored. Several channels: the global rules, over every channel using them.
pub fn replay<'a>(
    rules: &CompiledRules,
    channels: &[i64],
    events: impl IntoIterator<Item = &'a Event>,
) -> Report {
    let mut report = Report::default();
    for event in events {
        let Event::MessageReceived(received) = event else {
            continue;
        };
        if !channels.contains(&received.key.chat_id) {
            continue;
        }
        report.seen += 1;
        let decision = rules.decide(&received.text);
        let example = Example {
            rule: decision.rule,
            text: received.text.clone(),
        };
        if decision.accepted {
            report.passing.push(example);
        } else {
            report.stopped.push(example);
        }
    }
    report
}

/// What changing a scope's rules would change: the messages whose verdict differs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comparison {
    pub seen: usize,
    /// How many pass the current rules.
    pub passing_now: usize,
    /// How many would pass the candidate rules.
    pub passing_then: usize,
    /// Stopped now, would pass (with the candidate's deciding rule), in stream order.
    pub newly_passing: Vec<Example>,
    /// Passing now, would be stopped (with the candidate's deciding rule), in stream order.
    pub newly_stopped: Vec<Example>,
}

/// Decides `channels`' messages among `events` with both rule sets: what the web UI shows
/// before an admin saves new rules.
pub fn compare<'a>(
    current: &CompiledRules,
    candidate: &CompiledRules,
    channels: &[i64],
    events: impl IntoIterator<Item = &'a Event>,
) -> Comparison {
    let mut comparison = Comparison::default();
    for event in events {
        let Event::MessageReceived(received) = event else {
            continue;
        };
        if !channels.contains(&received.key.chat_id) {
            continue;
        }
        comparison.seen += 1;
        let now = current.decide(&received.text);
        let then = candidate.decide(&received.text);
        comparison.passing_now += usize::from(now.accepted);
        comparison.passing_then += usize::from(then.accepted);
        let example = || Example {
            rule: then.rule.clone(),
            text: received.text.clone(),
        };
        match (now.accepted, then.accepted) {
            (false, true) => comparison.newly_passing.push(example()),
            (true, false) => comparison.newly_stopped.push(example()),
            _ => {}
        }
    }
    comparison
}

/// The events stored in MESSAGES, for [`replay`] and [`compare`]. A message that does not
/// decode is skipped: it could not have been screened either.
pub async fn stored_messages(bus: &bus::Bus) -> anyhow::Result<Vec<Event>> {
    let stored = bus.read_to_end(Area::Messages.stream(), 1).await?;
    Ok(stored
        .iter()
        .filter_map(|message| message.decode().ok())
        .map(|stored| stored.envelope.event)
        .collect())
}

/// Replays `channels`' messages stored in MESSAGES through `rules`.
pub async fn backtest(
    bus: &bus::Bus,
    channels: &[i64],
    rules: &CompiledRules,
) -> anyhow::Result<Report> {
    Ok(replay(rules, channels, &stored_messages(bus).await?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use schemas::{Author, MessageKey, MessageReceived, MessageSource, Rules};

    fn received(chat_id: i64, id: i64, text: &str) -> Event {
        Event::MessageReceived(MessageReceived {
            key: MessageKey::new(chat_id, id),
            chat_username: None,
            chat_title: None,
            posted_at: chrono::Utc::now(),
            text: text.to_owned(),
            links: Vec::new(),
            has_media: false,
            author: Author::default(),
            contacts: Vec::new(),
            link: None,
            source: MessageSource::Live,
        })
    }

    #[test]
    fn a_comparison_lists_only_the_messages_whose_verdict_changes() {
        // given a channel's messages, and rules that start forbidding «резюме»
        let events = [
            received(-1, 1, "Вакансия: нужен Python"),
            received(-1, 2, "Резюме: Python-разработчик"),
            received(-1, 3, "Ищем дизайнера"),
            received(-2, 4, "Резюме где-то ещё"),
        ];
        let current = CompiledRules::compile(&Rules::default()).expect("compiles");
        let candidate = CompiledRules::compile(&Rules {
            forbid: vec!["резюме".to_owned()],
            ..Rules::default()
        })
        .expect("compiles");
        // when they are compared
        let comparison = compare(&current, &candidate, &[-1], &events);
        // then only the channel's resume changes verdict, with the rule that stops it
        assert_eq!(
            (
                comparison.seen,
                comparison.passing_now,
                comparison.passing_then
            ),
            (3, 3, 2)
        );
        assert!(comparison.newly_passing.is_empty());
        assert_eq!(comparison.newly_stopped.len(), 1);
        assert_eq!(
            comparison.newly_stopped[0].text,
            "Резюме: Python-разработчик"
        );
        assert!(
            comparison.newly_stopped[0].rule.contains("резюме"),
            "{:?}",
            comparison.newly_stopped[0]
        );
    }

    #[test]
    fn only_the_channel_is_replayed_and_split_by_the_rules() {
        // given three messages of the channel and one of another
        let events = [
            received(-1, 1, "Вакансия: нужен Python"),
            received(-1, 2, "ищу работу"),
            received(-2, 3, "Вакансия: python где-то ещё"),
            received(-1, 4, "резюме"),
        ];
        let rules = CompiledRules::compile(&Rules {
            require_any: vec!["python".to_owned()],
            ..Rules::default()
        })
        .expect("rules compile");
        // when they are replayed
        let report = replay(&rules, &[-1], &events);
        // then the channel's three are seen, one passes
        assert_eq!(report.seen, 3);
        assert_eq!(report.passed(), 1);
        assert_eq!(report.passing[0].rule, "require_any:python");
        assert_eq!(report.passing[0].text, "Вакансия: нужен Python");
        assert_eq!(report.stopped.len(), 2);
    }
}
