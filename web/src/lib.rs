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
//!   dashboard, reports, vacancies, users (grant, refund), payments, channels and their rules
//!   (saved after a backtest), categories, dead letters, scheduler jobs, projections, the
//!   audit log.
//! * [`api`]: the content API under `/api/v1` (bearer tokens, an OpenAPI 3.1 document).
//! * [`feeds`]: subscribers' personal Atom feeds.

pub mod api;
pub mod feeds;
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
    /// Requests each content API token may make a minute (`/api/v1`); more are answered 429.
    pub api_requests_per_minute: u32,
    /// Subscribers' personal Atom feeds (`FEED_SECRET`); none without it.
    pub feeds: Option<bots::feeds::FeedLinks>,
}

impl WebConfig {
    pub fn new(public_url: url::Url, admins: Vec<i64>) -> Self {
        Self {
            public_url,
            admins,
            session_idle: Duration::from_secs(12 * 60 * 60),
            api_requests_per_minute: 120,
            feeds: None,
        }
    }
}

/// The web UI's dependencies. The main bot, when given, updates the admins' Telegram copies of
/// a report judged here, as its own buttons do, and refunds Stars payments.
pub struct Web {
    pub bus: Bus,
    pub pool: PgPool,
    pub config: WebConfig,
    pub main_bot: Option<teloxide::Bot>,
    /// The YooKassa shop, when configured: refunds of its payments go through it.
    pub yookassa: Option<billing::yookassa::YooKassa>,
    /// The dashboard's chart of the days before today, kept a few minutes.
    pub past_days: pages::dashboard::PastDays,
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
        .route("/feeds/{user_id}/{token}/{file}", get(feeds::serve))
        .route("/logout", post(login::log_out))
        .route("/reports", get(pages::reports::list))
        .route(
            "/reports/{report_id}/verdict",
            post(pages::reports::verdict),
        )
        .route("/users", get(pages::users::list))
        .route("/users/{user_id}", get(pages::users::show))
        .route("/users/{user_id}/grant", post(pages::users::grant))
        .route(
            "/users/{user_id}/payments/{payment_id}/refund",
            post(pages::users::refund),
        )
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
        .route(
            "/channels",
            get(pages::channels::list).post(pages::channels::add),
        )
        .route(
            "/channels/{key}",
            get(pages::channels::show).post(pages::channels::save),
        )
        .route("/channels/{key}/remove", post(pages::channels::remove))
        .route(
            "/channels/{key}/rules",
            get(pages::rules::show).post(pages::rules::test_or_save),
        )
        .route(
            "/categories",
            get(pages::categories::list).post(pages::categories::add),
        )
        .route("/categories/{slug}", post(pages::categories::save))
        .route("/categories/{slug}/retire", post(pages::categories::retire))
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
        .nest("/api/v1", api::router(&web.config))
        .route("/audit", get(pages::audit::show))
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
