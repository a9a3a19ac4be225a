//! The billing service: the webhook server and the poller that re-checks pending payments, so a
//! lost notification still activates.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::allowlist::Allowlist;
use crate::reconcile::Billing;

pub async fn poll(
    billing: Arc<Billing>,
    pool: PgPool,
    every: Duration,
    shutdown: CancellationToken,
) {
    while !shutdown.is_cancelled() {
        match projections::read::payments::pending_yookassa(&pool).await {
            Ok(ids) => {
                for id in ids {
                    match billing.reconcile(&id).await {
                        Ok(outcome) => tracing::debug!(payment = %id, ?outcome, "polled"),
                        Err(error) => {
                            tracing::warn!(payment = %id, error = %format!("{error:#}"), "poll failed")
                        }
                    }
                }
            }
            Err(error) => tracing::warn!(%error, "cannot list pending payments"),
        }
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(every) => {}
        }
    }
}

/// How the billing service runs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How often pending payments are re-checked.
    pub poll_every: Duration,
    /// Who may post notifications (`None`: anyone; they are re-read from the API anyway).
    pub allowlist: Option<Allowlist>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            poll_every: Duration::from_secs(30),
            allowlist: None,
        }
    }
}

pub async fn run(
    billing: Billing,
    pool: PgPool,
    listener: tokio::net::TcpListener,
    settings: Settings,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let billing = Arc::new(billing);
    tracing::info!(address = %listener.local_addr()?, path = crate::webhook::PATH, allowlist = settings.allowlist.is_some(), "billing webhook listening");
    let poller = tokio::spawn(poll(
        billing.clone(),
        pool,
        settings.poll_every,
        shutdown.clone(),
    ));
    let stop = shutdown.clone();
    let app = crate::webhook::router(billing, settings.allowlist)
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { stop.cancelled().await })
        .await?;
    poller.await?;
    Ok(())
}
