//! Axum's `Query` and `Path` with their rejections answered as the API's JSON errors (422)
//! instead of axum's plain text, and whole numbers that saturate instead of failing, so a huge
//! `limit` is clamped like any other too-large one.

use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};

use super::errors::ApiError;

/// The query string as `T`, or a 422 saying which parameter is wrong.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(Self(value)),
            Err(rejection) => Err(ApiError::invalid(rejection.body_text())),
        }
    }
}

/// The path's parameters as `T`, or a 422 saying which is wrong.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(Self(value)),
            Err(rejection) => Err(ApiError::invalid(rejection.body_text())),
        }
    }
}

/// For `#[serde(deserialize_with)]` on an `Option<i64>`: a whole number, `i64::MAX` (or
/// `MIN`) when it has too many digits for one.
pub fn saturating<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    let Some(text) = Option::<String>::deserialize(deserializer)? else {
        return Ok(None);
    };
    parse_saturating(&text)
        .map(Some)
        .ok_or_else(|| D::Error::custom("expected a whole number"))
}

fn parse_saturating(text: &str) -> Option<i64> {
    if let Ok(number) = text.parse::<i64>() {
        return Some(number);
    }
    let (negative, digits) = match text.strip_prefix('-') {
        Some(digits) => (true, digits),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let whole = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    whole.then_some(if negative { i64::MIN } else { i64::MAX })
}

#[cfg(test)]
mod tests {
    use super::parse_saturating;

    #[test]
    fn whole_numbers_saturate_and_anything_else_is_refused() {
        // given numbers in range, out of range, and not numbers at all
        let cases = [
            ("50", Some(50)),
            ("-3", Some(-3)),
            ("+7", Some(7)),
            ("99999999999999999999999999", Some(i64::MAX)),
            ("-99999999999999999999999999", Some(i64::MIN)),
            ("abc", None),
            ("", None),
            ("1e3", None),
            ("5; DROP TABLE vacancies", None),
        ];
        for (text, expected) in cases {
            // when parsed, then in range they are themselves and beyond it the bound
            assert_eq!(parse_saturating(text), expected, "{text:?}");
        }
    }
}
