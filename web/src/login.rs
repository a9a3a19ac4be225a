//! Logging in with a one-time link. Opening the link only shows a «Войти» button (a link
//! preview or a mail scanner fetching it spends nothing); the button's same-site POST spends
//! the token: `AdminLoggedIn` is once per token, so a second use is refused.

use axum::Form;
use axum::extract::{Path, State as Extract};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use schemas::{AdminLoggedIn, AdminLoginLinkIssued, Envelope};
use serde::Deserialize;

use crate::State;
use crate::pages::{Failure, layout};
use crate::session::{self, Admin, CsrfForm, forbidden, same_origin};

/// `/login` without a link: how to get one.
pub async fn explain() -> Response {
    let body = html! {
        p { "Отправьте " code { "/admin" } " главному боту: он пришлёт ссылку для входа на 10 минут." }
        p.muted { "На сервере: " code { "remotehunt web login-link --admin ID" } }
    };
    layout("Вход", None, body).into_response()
}

/// Why a link cannot be used, if it cannot.
async fn refusal(
    web: &State,
    token: &str,
) -> anyhow::Result<Result<AdminLoginLinkIssued, &'static str>> {
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(Err("Ссылка недействительна."));
    }
    let hash = bots::admin_login::token_hash(token);
    let Some(issued) = web.bus.latest::<AdminLoginLinkIssued>(&hash).await? else {
        return Ok(Err("Ссылка недействительна."));
    };
    if issued.expires_at <= chrono::Utc::now() {
        return Ok(Err("Ссылка просрочена — отправьте /admin боту ещё раз."));
    }
    if !web.config.admins.contains(&issued.admin_id) {
        return Ok(Err("Вы не администратор."));
    }
    if web.bus.has::<AdminLoggedIn>(&hash).await? {
        return Ok(Err(
            "Ссылка уже использована — отправьте /admin боту ещё раз.",
        ));
    }
    Ok(Ok(issued))
}

/// The link's page: a «Войти» button, nothing spent yet.
pub async fn confirm(
    Extract(web): Extract<State>,
    Path(token): Path<String>,
) -> Result<Response, Failure> {
    let mut response = match refusal(&web, &token).await? {
        Err(why) => forbidden(why),
        Ok(_) => layout(
            "Вход",
            None,
            html! {
                form method="post" action="/login" {
                    input type="hidden" name="token" value=(token);
                    button type="submit" { "Войти" }
                }
            },
        )
        .into_response(),
    };
    // The token is in this page's URL: never send it to another site as a referrer. (Not
    // `no-referrer`: under it a browser posts «Войти» with `Origin: null`, which we refuse.)
    response.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    Ok(response)
}

#[derive(Deserialize)]
pub struct LoginForm {
    token: String,
}

/// «Войти»: spends the token and opens a session.
pub async fn log_in(
    Extract(web): Extract<State>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, Failure> {
    if !same_origin(&headers, &web.config) {
        return Ok(forbidden("Запрос отклонён: войдите по ссылке из бота."));
    }
    let issued = match refusal(&web, &form.token).await? {
        Err(why) => return Ok(forbidden(why)),
        Ok(issued) => issued,
    };
    let logged_in = AdminLoggedIn {
        admin_id: issued.admin_id,
        token_hash: issued.token_hash,
    };
    // Two clicks racing: the second is a duplicate of the once-per-token event.
    if web.bus.publish(&Envelope::new(logged_in)).await?.duplicate {
        return Ok(forbidden(
            "Ссылка уже использована — отправьте /admin боту ещё раз.",
        ));
    }
    let cookie = session::open(&web.pool, &web.config, issued.admin_id).await?;
    tracing::info!(admin = issued.admin_id, "admin logged in to the web UI");
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to("/")).into_response())
}

/// «Выйти».
pub async fn log_out(
    Extract(web): Extract<State>,
    admin: Admin,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, Failure> {
    if let Err(refused) = session::check_form(&admin, &headers, &web.config, &form.csrf) {
        return Ok(refused.into_response());
    }
    let value = session::cookie_value(&headers).unwrap_or_default();
    let cookie = session::close(&web.pool, &web.config, &value).await?;
    Ok((
        StatusCode::SEE_OTHER,
        [
            (header::SET_COOKIE, cookie),
            (header::LOCATION, "/login".to_owned()),
        ],
    )
        .into_response())
}
