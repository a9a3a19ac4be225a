//! Server-side sessions. The cookie holds a random id (HttpOnly, `SameSite=Strict`, `Secure`
//! under https); the table holds its SHA-256, the admin and the session's CSRF token. A session
//! unused for [`crate::WebConfig::session_idle`] is over. Every state-changing request must
//! come from the public URL's origin and, once logged in, carry the session's CSRF token.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use cookie::{Cookie, SameSite};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use crate::{State, WebConfig};

pub const COOKIE: &str = "rh_session";

/// A logged-in admin: who, and the token their forms must carry.
#[derive(Debug, Clone)]
pub struct Admin {
    pub admin_id: i64,
    pub csrf: String,
}

/// 32 random bytes, hex.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn hash(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}

/// Opens a session for `admin_id`: the cookie to set.
pub async fn open(pool: &PgPool, config: &WebConfig, admin_id: i64) -> sqlx::Result<String> {
    let value = random_token();
    sqlx::query(
        "INSERT INTO web_sessions (session_hash, admin_id, csrf_token) VALUES ($1, $2, $3)",
    )
    .bind(hash(&value))
    .bind(admin_id)
    .bind(random_token())
    .execute(pool)
    .await?;
    Ok(cookie(config, value).to_string())
}

/// Ends the session the cookie names; the cookie that clears it.
pub async fn close(pool: &PgPool, config: &WebConfig, value: &str) -> sqlx::Result<String> {
    sqlx::query("DELETE FROM web_sessions WHERE session_hash = $1")
        .bind(hash(value))
        .execute(pool)
        .await?;
    let mut gone = cookie(config, String::new());
    gone.make_removal();
    Ok(gone.to_string())
}

fn cookie(config: &WebConfig, value: String) -> Cookie<'static> {
    Cookie::build((COOKIE, value))
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(config.public_url.scheme() == "https")
        .path("/")
        .build()
}

/// The session cookie's value in a request, if any.
pub fn cookie_value(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|h| h.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == COOKIE)
        .map(|c| c.value().to_owned())
}

/// The admin a live session belongs to (touching it), or `None`.
async fn find(pool: &PgPool, config: &WebConfig, value: &str) -> sqlx::Result<Option<Admin>> {
    let row: Option<(i64, String)> = sqlx::query_as(
        "UPDATE web_sessions SET last_seen_at = now()
          WHERE session_hash = $1 AND last_seen_at > now() - make_interval(secs => $2)
          RETURNING admin_id, csrf_token",
    )
    .bind(hash(value))
    .bind(config.session_idle.as_secs_f64())
    .fetch_optional(pool)
    .await?;
    Ok(row
        .filter(|(admin_id, _)| config.admins.contains(admin_id))
        .map(|(admin_id, csrf)| Admin { admin_id, csrf }))
}

impl FromRequestParts<State> for Admin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, web: &State) -> Result<Self, Response> {
        let Some(value) = cookie_value(&parts.headers) else {
            return Err(Redirect::to("/login").into_response());
        };
        match find(&web.pool, &web.config, &value).await {
            Ok(Some(admin)) => Ok(admin),
            Ok(None) => Err(Redirect::to("/login").into_response()),
            Err(error) => {
                Err(crate::pages::Failure::from(anyhow::Error::from(error)).into_response())
            }
        }
    }
}

/// Whether a state-changing request comes from our own pages: its `Origin` is the public URL's.
pub fn same_origin(headers: &HeaderMap, config: &WebConfig) -> bool {
    let ours = config.public_url.origin().ascii_serialization();
    headers
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .is_some_and(|origin| origin == ours)
}

/// A form that carries nothing but the session's CSRF token (logout, «Запустить сейчас»).
#[derive(Debug, serde::Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

/// A refused form post: it did not come from our pages.
#[derive(Debug)]
pub struct Refused;

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        forbidden("Запрос отклонён: откройте страницу заново и повторите.")
    }
}

/// A form post is the admin's own: from our origin, with their session's CSRF token.
pub fn check_form(
    admin: &Admin,
    headers: &HeaderMap,
    config: &WebConfig,
    csrf: &str,
) -> Result<(), Refused> {
    let token_ok = !csrf.is_empty() && constant_time_eq(csrf.as_bytes(), admin.csrf.as_bytes());
    if same_origin(headers, config) && token_ok {
        Ok(())
    } else {
        tracing::warn!(
            admin = admin.admin_id,
            "a form post without our origin or CSRF token refused"
        );
        Err(Refused)
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A 403 page saying why.
pub fn forbidden(why: &str) -> Response {
    let page = crate::pages::layout("Доступ запрещён", None, maud::html! { p.error { (why) } });
    (StatusCode::FORBIDDEN, page).into_response()
}
