//! Subject layout: `rh.<area>.<event>.<aggregate id tokens>`. The area picks the stream, the event
//! name lets consumers filter by type, and every `:`-separated part of the aggregate id is a token
//! of its own, so operators can filter on any of them: `rh.messages.*.-1001234567890.*` is one
//! channel's posts, `rh.deliveries.*.7.>` every delivery to user 7, `rh.users.*.7` user 7's
//! account history. JetStream's "expected last subject sequence" guards one exact subject: one
//! event type of one aggregate.

use serde::{Deserialize, Serialize};

/// The part of the system an event belongs to; each area is stored in one JetStream stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Area {
    Catalog,
    Messages,
    Screening,
    Classifications,
    Users,
    Payments,
    Deliveries,
    /// The scheduler's clock: job schedules and their ticks.
    Schedules,
    /// The scheduler's job runs.
    Jobs,
    /// What the scheduler has the main bot send.
    Notifications,
}

impl Area {
    pub const ALL: [Area; 10] = [
        Area::Catalog,
        Area::Messages,
        Area::Screening,
        Area::Classifications,
        Area::Users,
        Area::Payments,
        Area::Deliveries,
        Area::Schedules,
        Area::Jobs,
        Area::Notifications,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Area::Catalog => "catalog",
            Area::Messages => "messages",
            Area::Screening => "screening",
            Area::Classifications => "classifications",
            Area::Users => "users",
            Area::Payments => "payments",
            Area::Deliveries => "deliveries",
            Area::Schedules => "schedules",
            Area::Jobs => "jobs",
            Area::Notifications => "notifications",
        }
    }

    /// `rh.<area>.>`: every subject of this area.
    pub fn wildcard(self) -> String {
        format!("rh.{}.>", self.as_str())
    }

    /// The stream that stores this area's events.
    pub fn stream(self) -> &'static str {
        match self {
            Area::Catalog => "CATALOG",
            Area::Messages => "MESSAGES",
            Area::Screening => "SCREENING",
            Area::Classifications => "CLASSIFICATIONS",
            Area::Users => "USERS",
            Area::Payments => "PAYMENTS",
            Area::Deliveries => "DELIVERIES",
            Area::Schedules => "SCHEDULES",
            Area::Jobs => "JOBS",
            Area::Notifications => "NOTIFICATIONS",
        }
    }

    /// The area whose stream is named `stream`.
    pub fn of_stream(stream: &str) -> Option<Area> {
        Area::ALL.into_iter().find(|area| area.stream() == stream)
    }

    /// `rh.<area>.<event>.<aggregate id tokens>`: where one event type of one aggregate lives.
    pub fn subject(self, event_name: &str, aggregate_id: &str) -> String {
        let area = self.as_str();
        let mut subject =
            String::with_capacity(5 + area.len() + event_name.len() + aggregate_id.len());
        subject.push_str("rh.");
        subject.push_str(area);
        subject.push('.');
        subject.push_str(event_name);
        subject.push('.');
        push_tokens(&mut subject, aggregate_id);
        subject
    }

    /// `rh.<area>.*.<aggregate id tokens>`: every event of one aggregate, oldest first when read
    /// in stream order (e.g. a user's account history, which optimistic concurrency guards).
    pub fn history(self, aggregate_id: &str) -> String {
        self.subject("*", aggregate_id)
    }

    /// `rh.<area>.<event>.<prefix tokens>.>`: every subject of one event type whose aggregate id
    /// starts with `prefix` (e.g. one category bot's outbox).
    pub fn under(self, event_name: &str, prefix: &str) -> String {
        format!("{}.>", self.subject(event_name, prefix))
    }
}

/// The separator of an aggregate id's parts (`<chat>:<message>`); each part is its own subject
/// token.
pub const ID_SEPARATOR: char = ':';

/// An aggregate id as subject tokens: each `:`-separated part becomes one token, made safe by
/// [`subject_token`]. On every publish's path, so it writes into one string.
pub fn subject_tokens(aggregate_id: &str) -> String {
    let mut out = String::with_capacity(aggregate_id.len() + 1);
    push_tokens(&mut out, aggregate_id);
    out
}

fn push_tokens(out: &mut String, aggregate_id: &str) {
    for (index, part) in aggregate_id.split(ID_SEPARATOR).enumerate() {
        if index > 0 {
            out.push('.');
        }
        push_token(out, part);
    }
}

/// Makes one part of an aggregate id safe as one subject token: NATS splits on `.`, treats `*`
/// and `>` as wildcards and forbids whitespace, so those become `_`.
pub fn subject_token(id: &str) -> String {
    let mut out = String::with_capacity(id.len().max(1));
    push_token(&mut out, id);
    out
}

fn push_token(out: &mut String, part: &str) {
    if part.is_empty() {
        out.push('_');
        return;
    }
    out.extend(part.chars().map(|c| match c {
        '.' | '*' | '>' => '_',
        c if c.is_whitespace() || c.is_control() => '_',
        c => c,
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_part_of_an_aggregate_id_becomes_one_safe_token() {
        // given ids with parts, separators, wildcards and spaces
        // when they become subject tokens
        // then each part is one token without wildcards
        assert_eq!(subject_tokens("-100123:45"), "-100123.45");
        assert_eq!(subject_tokens("7:-100123:45"), "7.-100123.45");
        assert_eq!(subject_tokens("a.b c*>"), "a_b_c__");
        assert_eq!(subject_tokens(""), "_");
        assert_eq!(subject_tokens("a::b"), "a._.b");
        assert_eq!(
            Area::Users.subject("trial_started", "42"),
            "rh.users.trial_started.42"
        );
    }

    #[test]
    fn operators_filters_are_built_from_the_parts() {
        assert_eq!(Area::Users.history("42"), "rh.users.*.42");
        assert_eq!(
            Area::Deliveries.under("planned", "design"),
            "rh.deliveries.planned.design.>"
        );
        assert_eq!(
            Area::Messages.subject("received", "-100123:45"),
            "rh.messages.received.-100123.45"
        );
    }

    #[test]
    fn every_area_has_a_stream_and_back() {
        for area in Area::ALL {
            assert_eq!(Area::of_stream(area.stream()), Some(area));
        }
        assert_eq!(Area::of_stream("DLQ"), None);
    }
}
