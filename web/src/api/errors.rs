//! Every answer of the content API that is not a success: `{"error": {"code", "message"}}`
//! with the status that says what went wrong, so a client branches on `code` (stable) and
//! shows `message` (for people, may change). Axum's own rejections (a bad query string, a bad
//! path) are turned into these by [`super::extract`], never answered as plain text.

use std::time::Duration;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// What an error answer carries.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    pub code: ErrorCode,
    /// What went wrong, for people.
    pub message: String,
}

/// Why a request failed; each code has one status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 401: no `Authorization: Bearer …` header.
    MissingToken,
    /// 401: the token is not one this API gave out.
    InvalidToken,
    /// 403: the token was revoked; asking again will not help.
    RevokedToken,
    /// 429: the token's requests per minute are spent; see `Retry-After`.
    RateLimited,
    /// 422: a query or path parameter is not what the document says.
    InvalidParameter,
    /// 404: no such post, or no such path.
    NotFound,
    /// 405: the API only reads.
    MethodNotAllowed,
    /// 500: ours; the details are in our logs.
    Internal,
}

impl ErrorCode {
    fn status(self) -> StatusCode {
        match self {
            ErrorCode::MissingToken | ErrorCode::InvalidToken => StatusCode::UNAUTHORIZED,
            ErrorCode::RevokedToken => StatusCode::FORBIDDEN,
            ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::InvalidParameter => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// A failed request, as handlers and extractors return it.
#[derive(Debug)]
pub struct ApiError {
    code: ErrorCode,
    message: String,
    /// For a 429: how long until the token may ask again.
    retry_after: Option<Duration>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidParameter, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    pub fn rate_limited(retry_after: Duration) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(
                ErrorCode::RateLimited,
                "too many requests with this token: wait for Retry-After seconds",
            )
        }
    }

    pub fn code(&self) -> ErrorCode {
        self.code
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        tracing::error!(%error, "the content API could not read the read models");
        Self::new(ErrorCode::Internal, "the read models could not be read")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.code.status();
        let mut response = (
            status,
            Json(ErrorBody {
                error: ErrorDetail {
                    code: self.code,
                    message: self.message,
                },
            }),
        )
            .into_response();
        let headers = response.headers_mut();
        // RFC 6750 §3: a missing token gets the bare challenge, a bad one says so.
        let challenge = match self.code {
            ErrorCode::MissingToken => Some(r#"Bearer realm="remotehunt""#),
            ErrorCode::InvalidToken => Some(r#"Bearer realm="remotehunt", error="invalid_token""#),
            _ => None,
        };
        if let Some(challenge) = challenge {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        if let Some(wait) = self.retry_after {
            // Whole seconds, rounded up: a client that waits that long is let in.
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
        }
        response
    }
}
