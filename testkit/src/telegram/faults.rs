//! Faults the fake Bot API plays on request, the way Telegram and the proxies in front of it
//! fail: its own JSON `500`, a `429` with `retry_after`, a proxy's HTML `502` page, and an answer that comes too late for
//! the client although the method was carried out. Queued per method, consumed one request at a
//! time, and recorded, so a test can say "the third `sendMessage` gets a 500" and check what the
//! client then did.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// One way a request fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Telegram's JSON `500 Internal Server Error`; nothing was done.
    InternalError,
    /// A proxy's HTML `502 Bad Gateway` page; nothing was done.
    BadGatewayPage,
    /// Telegram's `429 Too Many Requests` with `parameters.retry_after` of this many seconds,
    /// whatever the rate was (flood control as Telegram applies it); nothing was done.
    TooManyRequests(u64),
    /// The method is carried out, then the answer waits this long (longer than the client's
    /// timeout: the client cannot know whether it happened).
    LateAnswer(Duration),
}

#[derive(Debug, Default)]
pub struct Faults {
    /// Per lower-case method name: what the next requests get (`None`: a normal answer).
    queued: HashMap<String, VecDeque<Option<Fault>>>,
    /// Faults played so far: (method, fault).
    pub played: Vec<(String, Fault)>,
}

impl Faults {
    /// The next requests of `method` get these, in order (`None`: answered normally).
    pub fn queue(&mut self, method: &str, plan: impl IntoIterator<Item = Option<Fault>>) {
        self.queued
            .entry(method.to_ascii_lowercase())
            .or_default()
            .extend(plan);
    }

    /// What this request of `method` gets; recorded when it is a fault.
    pub fn next(&mut self, method: &str) -> Option<Fault> {
        let method = method.to_ascii_lowercase();
        let fault = self.queued.get_mut(&method)?.pop_front().flatten()?;
        self.played.push((method, fault));
        Some(fault)
    }
}

/// The answer of a fault that does nothing.
pub fn refusal(fault: Fault) -> Option<Response> {
    match fault {
        Fault::InternalError => Some(
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                axum::Json(
                    json!({"ok": false, "error_code": 500, "description": "Internal Server Error"}),
                ),
            )
                .into_response(),
        ),
        Fault::BadGatewayPage => Some(
            (
                StatusCode::BAD_GATEWAY,
                [(header::CONTENT_TYPE, "text/html")],
                "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>",
            )
                .into_response(),
        ),
        Fault::TooManyRequests(seconds) => Some(
            (
                StatusCode::TOO_MANY_REQUESTS,
                axum::Json(json!({
                    "ok": false,
                    "error_code": 429,
                    "description": format!("Too Many Requests: retry after {seconds}"),
                    "parameters": {"retry_after": seconds},
                })),
            )
                .into_response(),
        ),
        Fault::LateAnswer(_) => None,
    }
}
