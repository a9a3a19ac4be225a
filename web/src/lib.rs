//! The admin web UI. An admin sends `/admin` to the main bot and gets a one-time login link
//! ([`bots::admin_login`]); the link's page has a «Войти» button whose same-site POST spends the
//! token and opens a server-side session ([`session`]). Every page reads the read models
//! through `projections::read`; every action is the library call the bots and the CLI make
//! (a report's verdict is `bots::reports::resolve`, a grant is `billing::activate::grant`),
//! so each is an event naming the admin.
//!
//! * [`session`]: sessions, the cookie, CSRF tokens and the `Origin` check.
//! * [`login`]: the login link's page, logging in and out.
//! * [`pages`]: the pages, server-rendered with maud (escaped by default), no script: the
//!   dashboard, reports, users, payments, dead letters, scheduler jobs, projections.

pub mod login;
pub mod pages;
pub mod session;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::routing::{get, post};
use bus::Bus;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

/// What the web UI is told.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Where admins reach it (`WEB_PUBLIC_URL`): the only `Origin` a state-changing request may
    /// come from, and `Secure` cookies when it is https.
    pub public_url: url::Url,
    /// Who may log in (`ADMIN_IDS`).
    pub admins: Vec<i64>,
    /// A session unused this long is over.
    pub session_idle: Duration,
}

impl WebConfig {
    pub fn new(public_url: url::Url, admins: Vec<i64>) -> Self {
        Self {
            public_url,
            admins,
            session_idle: Duration::from_secs(12 * 60 * 60),
        }
    }
}

/// The web UI's dependencies. The main bot, when given, updates the admins' Telegram copies of
/// a report judged here, as its own buttons do.
pub struct Web {
    pub bus: Bus,
    pub pool: PgPool,
    pub config: WebConfig,
    pub main_bot: Option<teloxide::Bot>,
}

pub type State = Arc<Web>;

/// Applies the web UI's own migrations (its sessions table), idempotent.
pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    let mut migrator = sqlx::migrate!("./migrations");
    // The read models' migrations share the database and its migrations table.
    migrator.set_ignore_missing(true);
    migrator
        .run(pool)
        .await
        .context("running the web UI's migrations")
}

pub fn router(web: State) -> Router {
    Router::new()
        .route("/", get(pages::dashboard::show))
        .route("/login", get(login::explain).post(login::log_in))
        .route("/login/{token}", get(login::confirm))
        .route("/logout", post(login::log_out))
        .route("/reports", get(pages::reports::list))
        .route(
            "/reports/{report_id}/verdict",
            post(pages::reports::verdict),
        )
        .route("/users", get(pages::users::list))
        .route("/users/{user_id}", get(pages::users::show))
        .route("/users/{user_id}/grant", post(pages::users::grant))
        .route("/vacancies", get(pages::vacancies::list))
        .route(
            "/vacancies/{chat_id}/{message_id}",
            get(pages::vacancies::show),
        )
        .route(
            "/vacancies/{chat_id}/{message_id}/correct",
            post(pages::vacancies::correct),
        )
        .route("/payments", get(pages::payments::show))
        .route("/dead-letters", get(pages::operations::dead_letters))
        .route(
            "/dead-letters/{sequence}/replay",
            post(pages::operations::replay),
        )
        .route(
            "/dead-letters/{sequence}/discard",
            post(pages::operations::discard),
        )
        .route("/jobs", get(pages::operations::jobs))
        .route("/jobs/{job}/run", post(pages::operations::run_job))
        .route("/projections", get(pages::operations::projections))
        .with_state(web)
}

/// Serves the web UI on `listener` until `shutdown`.
pub async fn run(
    web: Web,
    listener: tokio::net::TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    migrate(&web.pool).await?;
    let address = listener.local_addr()?;
    tracing::info!(%address, public_url = %web.config.public_url, "admin web UI listening");
    let app = router(Arc::new(web));
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
        .context("serving the web UI")
}
