//! Who is calling: the bearer token of `Authorization`, looked up by its SHA-256 in the read
//! model on every request. That is one primary-key read, cheap enough that no cache is kept,
//! so a revocation holds as soon as the users projection has applied it (milliseconds). Then
//! the token's own rate limit.

use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use projections::read;
use uuid::Uuid;

use super::errors::{ApiError, ErrorCode};
use super::tokens;
use crate::State;

/// A caller with a valid token that still had requests left this minute.
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    pub token_id: Uuid,
}

/// Requests per minute per token (GCRA: the minute's allowance may come at once, then one
/// every `60 s / n`). In-process: each copy of the web UI counts for itself.
pub struct Limiter {
    limiter: DefaultKeyedRateLimiter<Uuid>,
    clock: DefaultClock,
}

impl Limiter {
    pub fn per_minute(requests: u32) -> Self {
        let requests = NonZeroU32::new(requests).unwrap_or(NonZeroU32::MIN);
        Self {
            limiter: RateLimiter::keyed(Quota::per_minute(requests)),
            clock: DefaultClock::default(),
        }
    }

    fn check(&self, token_id: Uuid) -> Result<(), ApiError> {
        self.limiter
            .check_key(&token_id)
            .map_err(|not_until| ApiError::rate_limited(not_until.wait_time_from(self.clock.now())))
    }
}

/// The token in `Authorization: Bearer <token>`.
fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    let missing = || {
        ApiError::new(
            ErrorCode::MissingToken,
            "send the API token as `Authorization: Bearer <token>`",
        )
    };
    let value = headers.get(header::AUTHORIZATION).ok_or_else(missing)?;
    let (scheme, token) = value
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .ok_or_else(missing)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(missing());
    }
    Ok(token.trim())
}

impl FromRequestParts<State> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, web: &State) -> Result<Self, ApiError> {
        let presented = bearer(&parts.headers)?;
        let invalid = || ApiError::new(ErrorCode::InvalidToken, "this API token is not known");
        if !tokens::looks_like_token(presented) {
            return Err(invalid());
        }
        let token = read::api::token_by_hash(&web.pool, &tokens::token_hash(presented))
            .await?
            .ok_or_else(invalid)?;
        if token.revoked_at.is_some() {
            return Err(ApiError::new(
                ErrorCode::RevokedToken,
                "this API token was revoked: ask for a new one",
            ));
        }
        let limiter = parts
            .extensions
            .get::<Arc<Limiter>>()
            .ok_or_else(|| ApiError::new(ErrorCode::Internal, "no rate limiter configured"))?;
        limiter.check(token.token_id)?;
        Ok(Caller {
            token_id: token.token_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_let_in_until_its_minute_is_spent() {
        // given a limit of 3 a minute
        let limiter = Limiter::per_minute(3);
        let (one, other) = (Uuid::from_u128(1), Uuid::from_u128(2));
        // when one token asks 4 times, then the fourth is refused
        for _ in 0..3 {
            assert!(limiter.check(one).is_ok());
        }
        let refused = limiter.check(one).unwrap_err();
        assert_eq!(refused.code(), ErrorCode::RateLimited);
        // and another token is not held back by it
        assert!(limiter.check(other).is_ok());
    }

    #[test]
    fn only_a_bearer_header_carries_a_token() {
        let headers = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::AUTHORIZATION, value.parse().unwrap());
            headers
        };
        assert_eq!(bearer(&headers("Bearer abc")).unwrap(), "abc");
        assert_eq!(bearer(&headers("bearer  abc ")).unwrap(), "abc");
        for bad in ["Basic abc", "Bearer", "abc"] {
            assert_eq!(
                bearer(&headers(bad)).unwrap_err().code(),
                ErrorCode::MissingToken,
                "{bad}"
            );
        }
        assert_eq!(
            bearer(&HeaderMap::new()).unwrap_err().code(),
            ErrorCode::MissingToken
        );
    }
}
