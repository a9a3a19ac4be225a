//! The rules backtest: replays a channel's stored messages through candidate rules, straight
//! from the event log, so an operator sees what a rule change would pass and stop before
//! publishing it. [`replay`] is pure; [`backtest`] reads MESSAGES and calls it.

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

/// Decides every `MessageReceived` of `channel` among `events` with `rules`; other events and
/// other channels are ignored.
pub fn replay<'a>(
    rules: &CompiledRules,
    channel: i64,
    events: impl IntoIterator<Item = &'a Event>,
) -> Report {
    let mut report = Report::default();
    for event in events {
        let Event::MessageReceived(received) = event else {
            continue;
        };
        if received.key.chat_id != channel {
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

/// Replays `channel`'s messages stored in MESSAGES through `rules`. A message that does not
/// decode is skipped: it could not have been screened either.
pub async fn backtest(
    bus: &bus::Bus,
    channel: i64,
    rules: &CompiledRules,
) -> anyhow::Result<Report> {
    let stored = bus.read_to_end(Area::Messages.stream(), 1).await?;
    let events: Vec<Event> = stored
        .iter()
        .filter_map(|message| message.decode().ok())
        .map(|stored| stored.envelope.event)
        .collect();
    Ok(replay(rules, channel, &events))
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
        let report = replay(&rules, -1, &events);
        // then the channel's three are seen, one passes
        assert_eq!(report.seen, 3);
        assert_eq!(report.passed(), 1);
        assert_eq!(report.passing[0].rule, "require_any:python");
        assert_eq!(report.passing[0].text, "Вакансия: нужен Python");
        assert_eq!(report.stopped.len(), 2);
    }
}
