//! The long-polling loop every bot runs: `getUpdates` with an offset, each update handled to
//! the end before the next (so a user's rapid taps apply in order). A failed update is logged,
//! never retried: its effects are events, and the user can tap again.

use std::future::Future;
use std::time::Duration;

use teloxide::RequestError;
use teloxide::prelude::*;
use teloxide::requests::Output;
use teloxide::types::Update;
use tokio_util::sync::CancellationToken;

pub async fn poll<F, Fut>(
    bot: &Bot,
    name: &str,
    timeout_seconds: u32,
    shutdown: &CancellationToken,
    handle: F,
) where
    F: Fn(Update) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let mut offset = 0i32;
    while !shutdown.is_cancelled() {
        let request = bot.get_updates().offset(offset).timeout(timeout_seconds);
        let updates = tokio::select! {
            () = shutdown.cancelled() => break,
            updates = request => updates,
        };
        let updates = match updates {
            Ok(updates) => updates,
            Err(error) => {
                tracing::warn!(bot = name, %error, "getUpdates failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        for update in updates {
            offset = i32::try_from(update.id.0)
                .unwrap_or(i32::MAX)
                .saturating_add(1);
            if let Err(error) = handle(update).await {
                tracing::error!(bot = name, error = %format!("{error:#}"), "update failed");
            }
        }
    }
}

/// Sends a request, waiting out Telegram's 429s (`retry_after`) a few times: an answer to a
/// user's own action is worth a short wait, never worth dropping.
pub async fn patiently<R>(request: R) -> Result<Output<R>, RequestError>
where
    R: Request<Err = RequestError> + Clone,
{
    let mut attempts = 0;
    loop {
        match request.clone().send().await {
            Err(RequestError::RetryAfter(wait)) if attempts < 5 => {
                attempts += 1;
                tokio::time::sleep(wait.duration()).await;
            }
            other => return other,
        }
    }
}
