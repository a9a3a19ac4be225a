//! Header names this system reads and writes. `Nats-` names belong to the server; ours start
//! with `Rh-`.

use async_nats::HeaderMap;

pub const TRACEPARENT: &str = "traceparent";
pub const EVENT_TYPE: &str = "Rh-Event-Type";
pub const DLQ_SUBJECT: &str = "Rh-Dlq-Subject";
pub const DLQ_STREAM: &str = "Rh-Dlq-Stream";
pub const DLQ_SEQUENCE: &str = "Rh-Dlq-Sequence";
pub const DLQ_CONSUMER: &str = "Rh-Dlq-Consumer";
pub const DLQ_REASON: &str = "Rh-Dlq-Reason";
pub const DLQ_EVENT_ID: &str = "Rh-Dlq-Event-Id";

/// Looks a header up ignoring case: other clients send `Traceparent`, and NATS header names are
/// case-sensitive.
pub fn get_ignore_case<'a>(headers: Option<&'a HeaderMap>, name: &str) -> Option<&'a str> {
    let headers = headers?;
    headers
        .iter()
        .find(|(key, _)| AsRef::<str>::as_ref(key).eq_ignore_ascii_case(name))
        .and_then(|(_, values)| values.first())
        .map(|value| value.as_str())
}
/// With `Nats-Expected-Last-Subject-Sequence`: the filter whose last sequence is checked
/// (nats-server >= 2.11).
pub const EXPECTED_LAST_SUBJECT_SEQUENCE_SUBJECT: &str =
    "Nats-Expected-Last-Subject-Sequence-Subject";
