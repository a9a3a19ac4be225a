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
//!
//! One poller per bot, however many copies run: a copy polls a bot only while it holds the bot's
//! lease ([`bus::lease`], `poller.<bot id>`); the others stand by and take over within seconds
//! of a crash, at once after a graceful shutdown. A copy whose lease is lost stops polling and
//! starting handlers, and confirms nothing more to Telegram, so the next holder gets the
//! unfinished updates again.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use bus::Bus;
use bus::dead_letter::Origin;
use bus::lease::Lease;
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

/// How long a poller's lease outlives a crashed holder: a standby copy takes a bot over within
/// about this, and a holder that cannot renew stops polling a fifth of it before then.
pub const LEASE_TTL: Duration = Duration::from_secs(5);

/// How long handlers still running when the lease was lost may finish: well inside the fifth of
/// [`LEASE_TTL`] the lease keeps between its holder giving up and anyone else taking it, so no
/// update is ever handled by two copies at once.
const HANDOVER_GRACE: Duration = Duration::from_millis(500);

/// Polls `bot` while this copy holds its lease (`poller.<bot id>`), standing by while another
/// copy does, until `shutdown` fires (which releases the lease, so a standby takes over at once).
/// A lost lease stops polling and leaves the batch in hand unconfirmed: the next holder starts
/// at offset 0 and Telegram hands it the same updates again.
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
    let lease_name = lease_name(bot, name);
    // One holder per poll loop: two copies in one process are two holders.
    let holder = bus::lease::new_holder();
    let pacer = fanout::pacer::Pacer::new(HANDLERS_PER_SECOND, Duration::ZERO);
    // Updates this copy handled that Telegram has not been told of yet (a batch cut short by a
    // lost lease): handed out again, they are not handled twice.
    let done = Mutex::new(BTreeSet::new());
    let poller = Poller {
        bot,
        bus,
        name,
        timeout_seconds,
        pacer: &pacer,
        done: &done,
    };
    while !shutdown.is_cancelled() {
        let acquired = tokio::select! {
            () = shutdown.cancelled() => return,
            lease = Lease::acquire(bus, &lease_name, &holder, LEASE_TTL) => lease,
        };
        let lease = match acquired {
            Ok(lease) => lease,
            Err(error) => {
                tracing::error!(bot = name, %error, "no lease for the bot's poller; not polling");
                return;
            }
        };
        tracing::info!(bot = name, lease = %lease_name, "this copy polls the bot");
        let lost = lease.lost();
        let stop = shutdown.child_token();
        let forward = tokio::spawn({
            let (lost, stop) = (lost.clone(), stop.clone());
            async move {
                lost.cancelled().await;
                stop.cancel();
            }
        });
        poller.run(&stop, &lost, &handle).await;
        forward.abort();
        if shutdown.is_cancelled() {
            lease.release().await;
            return;
        }
        tracing::warn!(bot = name, "this copy lost the bot's lease; standing by");
    }
}

/// One bot's polling, for as long as one lease lasts.
struct Poller<'a> {
    bot: &'a Bot,
    bus: &'a Bus,
    name: &'a str,
    timeout_seconds: u32,
    pacer: &'a fanout::pacer::Pacer,
    done: &'a Mutex<BTreeSet<u32>>,
}

impl Poller<'_> {
    /// Polls from offset 0 until `stop` fires (shutdown, or `lost`: the lease is gone).
    async fn run<F, Fut>(&self, stop: &CancellationToken, lost: &CancellationToken, handle: &F)
    where
        F: Fn(Update) -> Fut,
        Fut: Future<Output = anyhow::Result<()>>,
    {
        let name = self.name;
        let mut offset = 0i32;
        while !stop.is_cancelled() {
            let request = self
                .bot
                .get_updates()
                .offset(offset)
                .timeout(self.timeout_seconds);
            let updates = tokio::select! {
                () = stop.cancelled() => return,
                updates = request => updates,
            };
            let updates = match updates {
                Ok(updates) => updates,
                Err(error) => {
                    tracing::warn!(bot = name, %error, "getUpdates failed; retrying");
                    tokio::select! {
                        () = stop.cancelled() => return,
                        () = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                    continue;
                }
            };
            // That request told Telegram everything before `offset` is done.
            let offset_id = u32::try_from(offset).unwrap_or(0);
            self.lock_done().retain(|id| *id >= offset_id);
            let Some(last) = updates.last().map(|u| u.id.0) else {
                continue;
            };
            let fresh: Vec<Update> = {
                let done = self.lock_done();
                updates
                    .into_iter()
                    .filter(|u| !done.contains(&u.id.0))
                    .collect()
            };
            // The next getUpdates confirms the whole batch, so every update of it is finished
            // first (or the loop stops and Telegram hands the unfinished ones out again).
            let batch =
                futures::future::join_all(lanes(fresh).into_iter().map(|lane| async move {
                    for update in lane {
                        self.pacer.ready(0).await;
                        if stop.is_cancelled()
                            || !handle_to_the_end(self.bus, name, &update, handle, stop).await
                        {
                            return false;
                        }
                        self.lock_done().insert(update.id.0);
                    }
                    true
                }));
            let handover = async {
                lost.cancelled().await;
                tokio::time::sleep(HANDOVER_GRACE).await;
            };
            let handled = tokio::select! {
                handled = batch => handled,
                () = handover => {
                    tracing::warn!(bot = name, "handlers outlived the lost lease; stopped, unconfirmed");
                    return;
                }
            };
            if handled.contains(&false) {
                return;
            }
            offset = i32::try_from(last).unwrap_or(i32::MAX).saturating_add(1);
        }
    }

    fn lock_done(&self) -> std::sync::MutexGuard<'_, BTreeSet<u32>> {
        self.done.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The lease a bot's poller holds: `poller.<bot id>` (the token's public part, what Telegram's
/// one-poller-per-token rule is about), or `poller.<name>` for a token without one.
fn lease_name(bot: &Bot, name: &str) -> String {
    let id = bot
        .token()
        .split_once(':')
        .map(|(id, _)| id)
        .filter(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()));
    let key: String = match id {
        Some(id) => id.to_owned(),
        None => name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect(),
    };
    format!("poller.{key}")
}

/// Handles one update until it succeeds or is dead-lettered; `false` when `stop` (shutdown or a
/// lost lease) came first (the update stays unconfirmed at Telegram).
async fn handle_to_the_end<F, Fut>(
    bus: &Bus,
    name: &str,
    update: &Update,
    handle: &F,
    stop: &CancellationToken,
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
            return dead_letter(bus, name, update, &format!("{error:#}"), stop).await;
        }
        tracing::warn!(bot = name, update = update.id.0, attempt, ?wait, error = %format!("{error:#}"), "update failed; retrying");
        tokio::select! {
            () = stop.cancelled() => return false,
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
    stop: &CancellationToken,
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
                    () = stop.cancelled() => return false,
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
        if cause.downcast_ref::<projections::Behind>().is_some() {
            // The projectors are catching up (after an outage): the next try sees the write.
            return true;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_model_catching_up_is_waited_for_never_dead_lettered() {
        // given a handler that gave up waiting for its own write to be projected (the
        // projectors reconnecting after NATS or Postgres came back)
        let behind = anyhow::Error::from(projections::Behind {
            projection: "users".into(),
            sequence: 88,
        })
        .context("showing the menu");
        // then the update is tried again, and an error of unknown cause is not
        assert!(is_transient(&behind));
        assert!(!is_transient(&anyhow::anyhow!("something else")));
    }

    #[test]
    fn a_bots_lease_is_named_after_its_id_never_its_secret() {
        // given bots with Telegram's tokens, and one with a token of another shape
        let main = Bot::new("2000:main-secret");
        let odd = Bot::new("not-a-telegram-token");
        // then the lease names the bot's id, or else its name made a key
        assert_eq!(lease_name(&main, "main"), "poller.2000");
        assert!(!lease_name(&main, "main").contains("secret"));
        assert_eq!(lease_name(&odd, "design bot"), "poller.design_bot");
    }
}
