//! `POST /webhooks/yookassa`. YooKassa signs nothing, so the body is only a hint of which
//! payment or refund to re-read: malformed JSON is a 400, an unknown event type or a payment
//! that does not check out is logged and answered 200 (so YooKassa stops retrying), a huge body
//! is a 413, a sender outside the optional allowlist a 403, and only "YooKassa or NATS
//! unavailable" is a 500, which YooKassa retries.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::routing::post;
use serde::Deserialize;

use crate::allowlist::Allowlist;
use crate::reconcile::{Billing, Outcome};

pub const PATH: &str = "/webhooks/yookassa";

/// Real notifications are about 1–2 KB.
const BODY_LIMIT: usize = 64 * 1024;

#[derive(Deserialize)]
struct Notification {
    event: String,
    object: Object,
}

#[derive(Deserialize)]
struct Object {
    id: String,
}

#[derive(Clone)]
struct Webhook {
    billing: Arc<Billing>,
    allowlist: Option<Allowlist>,
}

/// The webhook; serve it with `into_make_service_with_connect_info::<SocketAddr>()` so the
/// allowlist sees who is calling.
pub fn router(billing: Arc<Billing>, allowlist: Option<Allowlist>) -> Router {
    Router::new()
        .route(PATH, post(notification))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(Webhook { billing, allowlist })
}

async fn notification(
    State(webhook): State<Webhook>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: axum::body::Bytes,
) -> StatusCode {
    if let Some(allowlist) = &webhook.allowlist
        && !allowlist.allows(peer.ip())
    {
        tracing::warn!(%peer, "YooKassa notification from outside the allowlist: refused");
        return StatusCode::FORBIDDEN;
    }
    let Ok(notification) = serde_json::from_slice::<Notification>(&body) else {
        tracing::warn!(bytes = body.len(), "malformed YooKassa notification");
        return StatusCode::BAD_REQUEST;
    };
    let billing = &webhook.billing;
    let id = notification.object.id.as_str();
    let outcome: anyhow::Result<Outcome> = match notification.event.as_str() {
        "payment.succeeded" | "payment.canceled" | "payment.waiting_for_capture" => {
            billing.reconcile(id).await
        }
        "refund.succeeded" => billing.reconcile_refund(id).await,
        other => {
            tracing::warn!(
                event = other,
                "YooKassa notification of a type we do not handle"
            );
            return StatusCode::OK;
        }
    };
    match outcome {
        Ok(outcome) => {
            tracing::info!(event = %notification.event, object = id, ?outcome, "YooKassa notification");
            StatusCode::OK
        }
        Err(error) => {
            tracing::warn!(error = %format!("{error:#}"), "notification not handled; YooKassa will retry");
            StatusCode::INTERNAL_SERVER_ERROR
        }
    }
}
