//! `POST /webhooks/yookassa`. YooKassa signs nothing, so the body is only a hint of which
//! payment to re-read: malformed JSON is a 400, an unknown event type or a payment that does
//! not check out is logged and answered 200 (so YooKassa stops retrying), a huge body is a 413,
//! and only "YooKassa or NATS unavailable" is a 500, which YooKassa retries.

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::routing::post;
use serde::Deserialize;

use crate::reconcile::Billing;

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

pub fn router(billing: Arc<Billing>) -> Router {
    Router::new()
        .route(PATH, post(notification))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(billing)
}

async fn notification(State(billing): State<Arc<Billing>>, body: axum::body::Bytes) -> StatusCode {
    let Ok(notification) = serde_json::from_slice::<Notification>(&body) else {
        tracing::warn!(bytes = body.len(), "malformed YooKassa notification");
        return StatusCode::BAD_REQUEST;
    };
    match notification.event.as_str() {
        "payment.succeeded" | "payment.canceled" | "payment.waiting_for_capture" => {
            match billing.reconcile(&notification.object.id).await {
                Ok(outcome) => {
                    tracing::info!(event = %notification.event, payment = %notification.object.id, ?outcome, "YooKassa notification");
                    StatusCode::OK
                }
                Err(error) => {
                    tracing::warn!(error = %format!("{error:#}"), "notification not handled; YooKassa will retry");
                    StatusCode::INTERNAL_SERVER_ERROR
                }
            }
        }
        other => {
            tracing::warn!(
                event = other,
                "YooKassa notification of a type we do not handle"
            );
            StatusCode::OK
        }
    }
}
