//! The content API under `/api/v1`: read-only JSON over `projections::read` for partners and
//! the public channel's site, described by an OpenAPI 3.1 document generated from this code
//! (`/api/v1/openapi.json`). Every other request carries a bearer token (`remotehunt web
//! token create`), limited per token and minute.
//!
//! * [`auth`]: the token from `Authorization`, its lookup by hash, the rate limit.
//! * [`tokens`]: making, revoking and listing tokens, as events (the CLI's calls).
//! * [`vacancies`], [`catalog`], [`stats`]: the endpoints.
//! * [`errors`], [`extract`]: every failure as `{"error": {"code", "message"}}`, axum's
//!   rejections included.
//! * [`doc`]: the OpenAPI document.

pub mod auth;
pub mod catalog;
pub mod cursor;
pub mod doc;
pub mod errors;
pub mod extract;
pub mod stats;
pub mod tokens;
pub mod vacancies;

use std::sync::Arc;

use axum::routing::get;
use axum::{Extension, Router};

use crate::{State, WebConfig};
use errors::{ApiError, ErrorCode};

/// The API's routes, to be nested under `/api/v1`.
pub fn router(config: &WebConfig) -> Router<State> {
    let limiter = Arc::new(auth::Limiter::per_minute(config.api_requests_per_minute));
    Router::new()
        .route("/vacancies", get(vacancies::list))
        .route("/vacancies/{chat_id}/{message_id}", get(vacancies::one))
        .route("/categories", get(catalog::categories))
        .route("/channels", get(catalog::channels))
        .route("/stats/daily", get(stats::daily))
        .route("/openapi.json", get(doc::document))
        .fallback(async || ApiError::not_found("no such path: see /api/v1/openapi.json"))
        .method_not_allowed_fallback(async || {
            ApiError::new(ErrorCode::MethodNotAllowed, "the API only answers GET")
        })
        .layer(Extension(limiter))
}
