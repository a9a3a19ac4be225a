//! Subject layout: `rh.<area>.<event>.<aggregate id>`. The area picks the stream, the event name
//! lets consumers filter by type, and the aggregate token makes `rh.<area>.*.<id>` one
//! aggregate's history. JetStream's "expected last subject sequence" guards one exact subject:
//! one event type of one aggregate.

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
}

impl Area {
    pub const ALL: [Area; 7] = [
        Area::Catalog,
        Area::Messages,
        Area::Screening,
        Area::Classifications,
        Area::Users,
        Area::Payments,
        Area::Deliveries,
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
        }
    }

    /// `rh.<area>.>`: every subject of this area.
    pub fn wildcard(self) -> String {
        format!("rh.{}.>", self.as_str())
    }

    pub fn subject(self, event_name: &str, aggregate_id: &str) -> String {
        format!(
            "rh.{}.{}.{}",
            self.as_str(),
            event_name,
            subject_token(aggregate_id)
        )
    }
}

/// Makes an aggregate id safe as one subject token: NATS splits on `.`, treats `*` and `>` as
/// wildcards and forbids whitespace, so those become `_`.
pub fn subject_token(id: &str) -> String {
    if id.is_empty() {
        return "_".to_owned();
    }
    id.chars()
        .map(|c| match c {
            '.' | '*' | '>' => '_',
            c if c.is_whitespace() || c.is_control() => '_',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregate_ids_become_single_safe_tokens() {
        // given ids with separators, wildcards and spaces
        // when they become subject tokens
        // then each stays one token without wildcards
        assert_eq!(subject_token("-100123:45"), "-100123:45");
        assert_eq!(subject_token("a.b c*>"), "a_b_c__");
        assert_eq!(subject_token(""), "_");
        assert_eq!(
            Area::Users.subject("trial_started", "42"),
            "rh.users.trial_started.42"
        );
    }
}
