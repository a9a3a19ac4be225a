//! The long-polling loop every bot runs: `getUpdates` with an offset; the updates of one batch
//! are handled at once for different users and in order for each user (so a user's rapid taps
//! apply in order, and a hundred users starting together do not wait for each other). Handlers
//! start at most [`HANDLERS_PER_SECOND`] a second per bot — each sends at most one message —
//! so replies stay under Telegram's 30 messages a second per bot.
//!
//! No update is dropped: a handler that failed for a transient reason (NATS, Postgres or
//! Telegram down) is retried with backoff until it succeeds, and the next `getUpdates` — the
//! one that tells Telegram the update is done — waits for it; a shutdown mid-retry leaves the
//! update unconfirmed, so Telegram hands it out again after the restart. An update that can
//! never succeed is dead-lettered with its reason (`remotehunt dlq list`), not only logged.

use std::future::Future;
use std::time::Duration;

use bus::Bus;
use bus::dead_letter::Origin;
use teloxide::RequestError;
use teloxide::prelude::*;
use teloxide::requests::Output;
use teloxide::types::Update;
use tokio_util::sync::CancellationToken;

/// Longest wait between two tries of an update whose handling failed transiently.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(30);

/// How many handlers a bot starts a second, a little under Telegram's 30 messages a second.
pub const HANDLERS_PER_SECOND: f64 = 28.5;

/// Whose update this is: updates of one user are handled in order; `0` for updates of nobody.
fn lane(update: &Update) -> i64 {
    update.from().map_or(0, |user| user.id.0 as i64)
}

/// The batch's updates by user, each user's in the order Telegram gave them.
fn lanes(updates: Vec<Update>) -> Vec<Vec<Update>> {
    let mut by_user: Vec<(i64, Vec<Update>)> = Vec::new();
    for update in updates {
        let user = lane(&update);
        match by_user.iter_mut().find(|(u, _)| *u == user) {
            Some((_, lane)) => lane.push(update),
            None => by_user.push((user, vec![update])),
        }
    }
    by_user.into_iter().map(|(_, lane)| lane).collect()
}

pub async fn poll<F, Fut>(
    bot: &Bot,
    bus: &Bus,
    name: &str,
    timeout_seconds: u32,
    shutdown: &CancellationToken,
    handle: F,
) where
    F: Fn(Update) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let mut offset = 0i32;
    let pacer = fanout::pacer::Pacer::new(HANDLERS_PER_SECOND, Duration::ZERO);
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
        let Some(last) = updates.last().map(|u| u.id.0) else {
            continue;
        };
        // The next getUpdates confirms the whole batch, so every update of it is finished
        // first (or the loop stops and Telegram hands the unfinished ones out again).
        let handled = futures::future::join_all(lanes(updates).into_iter().map(|lane| {
            let (handle, pacer) = (&handle, &pacer);
            async move {
                for update in lane {
                    pacer.ready(0).await;
                    if !handle_to_the_end(bus, name, &update, handle, shutdown).await {
                        return false;
                    }
                }
                true
            }
        }))
        .await;
        if handled.contains(&false) {
            return;
        }
        offset = i32::try_from(last).unwrap_or(i32::MAX).saturating_add(1);
    }
}

/// Handles one update until it succeeds or is dead-lettered; `false` when shutdown came first
/// (the update stays unconfirmed at Telegram).
async fn handle_to_the_end<F, Fut>(
    bus: &Bus,
    name: &str,
    update: &Update,
    handle: &F,
    shutdown: &CancellationToken,
) -> bool
where
    F: Fn(Update) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let mut wait = Duration::from_millis(200);
    let mut attempt = 1;
    loop {
        let error = match handle(update.clone()).await {
            Ok(()) => return true,
            Err(error) => error,
        };
        if is_user_gone(&error) {
            // Blocked the bot (or deleted the account) mid-flow: there is nobody to answer, and
            // whatever the update recorded before the reply stands.
            tracing::info!(
                bot = name,
                update = update.id.0,
                "the user cannot be written to; update done"
            );
            return true;
        }
        if !is_transient(&error) {
            tracing::error!(bot = name, update = update.id.0, error = %format!("{error:#}"), "update can never succeed; dead-lettering it");
            return dead_letter(bus, name, update, &format!("{error:#}"), shutdown).await;
        }
        tracing::warn!(bot = name, update = update.id.0, attempt, ?wait, error = %format!("{error:#}"), "update failed; retrying");
        tokio::select! {
            () = shutdown.cancelled() => return false,
            () = tokio::time::sleep(wait) => {}
        }
        wait = (wait * 2).min(MAX_RETRY_WAIT);
        attempt += 1;
    }
}

/// Stores the update on the DLQ with the reason, retrying while NATS is away.
async fn dead_letter(
    bus: &Bus,
    name: &str,
    update: &Update,
    reason: &str,
    shutdown: &CancellationToken,
) -> bool {
    let origin = Origin {
        stream: bus::dead_letter::UPDATES_SOURCE.to_owned(),
        consumer: name.to_owned(),
        subject: String::new(),
        sequence: u64::from(update.id.0),
        replay_of: None,
    };
    let payload = match serde_json::to_vec(update) {
        Ok(payload) => payload,
        Err(error) => format!(
            "{{\"update_id\":{},\"unserializable\":\"{error}\"}}",
            update.id.0
        )
        .into_bytes(),
    };
    let mut wait = Duration::from_millis(200);
    loop {
        match bus
            .dead_letter(&origin, payload.clone().into(), None, reason)
            .await
        {
            Ok(_) => return true,
            Err(error) => {
                tracing::warn!(bot = name, %error, "dead-lettering an update failed; retrying");
                tokio::select! {
                    () = shutdown.cancelled() => return false,
                    () = tokio::time::sleep(wait) => {}
                }
                wait = (wait * 2).min(MAX_RETRY_WAIT);
            }
        }
    }
}

/// Whether a handler's failure may go away by itself: NATS, Postgres or Telegram failing, not
/// the update or our logic.
pub fn is_transient(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        if let Some(error) = cause.downcast_ref::<bus::PublishError>() {
            return error.is_transient();
        }
        if let Some(error) = cause.downcast_ref::<bus::ReadError>() {
            return error.is_retryable();
        }
        if let Some(error) = cause.downcast_ref::<sqlx::Error>() {
            return projections::is_transient(error);
        }
        if let Some(error) = cause.downcast_ref::<RequestError>() {
            return fanout::telegram::is_transient(error);
        }
        if let Some(error) = cause.downcast_ref::<billing::yookassa::ApiError>() {
            return matches!(error, billing::yookassa::ApiError::Unavailable(_));
        }
        false
    })
}

/// Whether Telegram refused because the user blocked the bot or is gone.
pub fn is_user_gone(error: &anyhow::Error) -> bool {
    use teloxide::ApiError;
    error.chain().any(|cause| {
        matches!(
            cause.downcast_ref::<RequestError>(),
            Some(RequestError::Api(
                ApiError::BotBlocked
                    | ApiError::UserDeactivated
                    | ApiError::CantInitiateConversation
            ))
        )
    })
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
