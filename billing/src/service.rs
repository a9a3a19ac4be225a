//! The billing service: the webhook server and the poller that re-checks pending payments, so a
//! lost notification still activates.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::reconcile::Billing;

/// The pending YooKassa payments worth asking about (younger than two days).
async fn pending(pool: &PgPool) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "SELECT provider_payment_id FROM payments
         WHERE provider = 'yookassa' AND status = 'pending' AND provider_payment_id IS NOT NULL
           AND created_at > now() - interval '2 days'
         ORDER BY created_at",
    )
    .fetch_all(pool)
    .await
}

pub async fn poll(
    billing: Arc<Billing>,
    pool: PgPool,
    every: Duration,
    shutdown: CancellationToken,
) {
    while !shutdown.is_cancelled() {
        match pending(&pool).await {
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

pub async fn run(
    billing: Billing,
    pool: PgPool,
    listener: tokio::net::TcpListener,
    poll_every: Duration,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let billing = Arc::new(billing);
    tracing::info!(address = %listener.local_addr()?, path = crate::webhook::PATH, "billing webhook listening");
    let poller = tokio::spawn(poll(billing.clone(), pool, poll_every, shutdown.clone()));
    let stop = shutdown.clone();
    axum::serve(listener, crate::webhook::router(billing))
        .with_graceful_shutdown(async move { stop.cancelled().await })
        .await?;
    poller.await?;
    Ok(())
}
