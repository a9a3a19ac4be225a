//! Leases: one holder at a time for work only one process may do (a bot's long poll), with
//! fail-over in seconds when the holder dies.
//!
//! A lease is one key of the JetStream KV bucket [`BUCKET`], whose value names the holder. Every
//! write is a compare-and-swap on the key's revision (`Nats-Expected-Last-Subject-Sequence`)
//! carrying a per-message TTL (`Nats-TTL`), so the server itself removes the key of a holder that
//! stopped renewing, and two copies can never both win. The holder renews every third of the TTL
//! in the background; [`Lease::release`] deletes the key (only if it is still ours) so a standby
//! takes over at once.
//!
//! Safety over liveness: the holder counts its lease from the moment it *sent* its last confirmed
//! write, and gives it up ([`Lease::lost`] fires) a fifth of the TTL before the server could
//! expire that write. A standby can only win once the key is gone, so the two never overlap. An
//! outage shorter than that changes nothing; a longer one stops the holder, which takes the lease
//! back at once if nobody else did meanwhile (the key still names it).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::header::{NATS_EXPECTED_LAST_SUBJECT_SEQUENCE, NATS_MESSAGE_TTL};
use async_nats::jetstream::context::PublishErrorKind;
use async_nats::jetstream::kv::{self, Operation, Store};
use async_nats::jetstream::{self, stream::StorageType};
use bytes::Bytes;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::Bus;

/// The KV bucket (stream `KV_rh_leases`) that holds every lease, one key per lease.
pub const BUCKET: &str = "rh_leases";

/// How long the server keeps the marker it leaves where a lease expired.
const EXPIRY_MARKER_TTL: Duration = Duration::from_secs(60);

/// Wait between two tries of a renewal that failed.
const RENEWAL_RETRY: Duration = Duration::from_millis(250);

/// Longest a graceful release waits for the server.
const RELEASE_WAIT: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    #[error(
        "{0:?} is not a lease name: letters, digits and `-_=/.`, not starting or ending with `.`"
    )]
    InvalidName(String),
    /// NATS could not be asked (down, timed out, the bucket cannot be made); worth retrying.
    #[error("the lease bucket is unavailable: {0}")]
    Unavailable(String),
}

/// The timings a lease's TTL implies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Timing {
    /// The TTL the server applies, in whole seconds (`Nats-TTL` has no finer grain).
    seconds: u64,
    /// Time from one renewal to the next.
    renew_every: Duration,
    /// How long after sending a confirmed write the holder still counts the lease as its own.
    valid_for: Duration,
    /// How often a standby looks whether the lease is free.
    standby_check: Duration,
}

impl Timing {
    fn of(ttl: Duration) -> Self {
        let seconds = (ttl.as_secs() + u64::from(ttl.subsec_nanos() > 0)).max(1);
        let ttl = Duration::from_secs(seconds);
        Self {
            seconds,
            renew_every: ttl / 3,
            valid_for: ttl * 4 / 5,
            standby_check: (ttl / 10).clamp(Duration::from_millis(100), Duration::from_secs(1)),
        }
    }
}

/// A new holder id, unique to one holder: the host, the process and a random part (two
/// holders in one process are two).
pub fn new_holder() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".to_owned());
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("{host}/{}/{}", std::process::id(), &random[..8])
}

/// A lease this process holds until it is released, dropped or [lost](Lease::lost). Dropping
/// it stops the renewals without releasing (as a crash would): the key expires after the TTL.
pub struct Lease {
    name: String,
    holder: String,
    store: Store,
    state: Arc<Mutex<State>>,
    /// Fires when the lease is no longer held: lost, released or dropped.
    lost: CancellationToken,
    renewer: Option<JoinHandle<()>>,
}

/// The lease as its last confirmed write left it.
#[derive(Debug, Clone, Copy)]
struct State {
    /// The key's revision (stream sequence) the next compare-and-swap expects.
    revision: u64,
    /// Until when the lease is surely ours.
    valid_until: Instant,
}

impl State {
    fn read(state: &Mutex<State>) -> State {
        *state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn update(state: &Mutex<State>, change: impl FnOnce(&mut State)) {
        change(&mut state.lock().unwrap_or_else(PoisonError::into_inner));
    }
}

impl Lease {
    /// Waits until `holder` holds the lease `name` (a KV key such as `poller.2000`), creating the
    /// bucket if it is missing; NATS failures meanwhile are logged and waited out. `holder` must
    /// be unique to this holder (a process id and a random part): a key naming it is taken as its
    /// own. Cancel by dropping the future.
    pub async fn acquire(
        bus: &Bus,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<Lease, LeaseError> {
        if !is_valid_name(name) {
            return Err(LeaseError::InvalidName(name.to_owned()));
        }
        let timing = Timing::of(ttl);
        let mut store = None;
        let mut warned = false;
        loop {
            let attempt = match &store {
                Some(store) => Self::attempt(bus, store, name, holder, timing).await,
                None => match bucket(bus).await {
                    Ok(found) => {
                        store = Some(found);
                        continue;
                    }
                    Err(error) => Err(error),
                },
            };
            match attempt {
                Ok(Some(lease)) => return Ok(lease),
                Ok(None) => warned = false,
                Err(error) => {
                    if !warned {
                        tracing::warn!(lease = name, %error, "cannot ask for the lease; retrying");
                        warned = true;
                    }
                }
            }
            tokio::time::sleep(timing.standby_check).await;
        }
    }

    /// One attempt: the lease if it was free (or already named `holder`), `None` if another
    /// holder has it.
    pub async fn try_acquire(
        bus: &Bus,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<Option<Lease>, LeaseError> {
        if !is_valid_name(name) {
            return Err(LeaseError::InvalidName(name.to_owned()));
        }
        let store = bucket(bus).await?;
        Self::attempt(bus, &store, name, holder, Timing::of(ttl)).await
    }

    async fn attempt(
        bus: &Bus,
        store: &Store,
        name: &str,
        holder: &str,
        timing: Timing,
    ) -> Result<Option<Lease>, LeaseError> {
        let entry = store
            .entry(name)
            .await
            .map_err(|e| LeaseError::Unavailable(e.to_string()))?;
        let expected = match &entry {
            None => 0,
            Some(entry) if matches!(entry.operation, Operation::Delete | Operation::Purge) => {
                entry.revision
            }
            // Ours from before (a renewal we could not confirm in time): nobody else held it since.
            Some(entry) if entry.value == holder.as_bytes() => entry.revision,
            Some(_) => return Ok(None),
        };
        let sent = Instant::now();
        let revision = match write(bus, store, name, holder, expected, timing.seconds).await {
            Ok(revision) => revision,
            Err(WriteError::Taken) => return Ok(None),
            Err(WriteError::Unavailable(error)) => return Err(LeaseError::Unavailable(error)),
        };
        tracing::info!(lease = name, holder, "lease acquired");
        let state = Arc::new(Mutex::new(State {
            revision,
            valid_until: sent + timing.valid_for,
        }));
        let lost = CancellationToken::new();
        let renewer = tokio::spawn(
            Renewer {
                bus: bus.clone(),
                store: store.clone(),
                name: name.to_owned(),
                holder: holder.to_owned(),
                timing,
                state: state.clone(),
                lost: lost.clone(),
            }
            .run(sent),
        );
        Ok(Some(Lease {
            name: name.to_owned(),
            holder: holder.to_owned(),
            store: store.clone(),
            state,
            lost,
            renewer: Some(renewer),
        }))
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the lease is surely still ours right now.
    pub fn is_held(&self) -> bool {
        !self.lost.is_cancelled() && Instant::now() < State::read(&self.state).valid_until
    }

    /// A token that fires when the lease is no longer held (renewal failed past the safe time,
    /// another holder has the key, or it was released or dropped). Cancelling it yourself
    /// changes nothing for the lease.
    pub fn lost(&self) -> CancellationToken {
        self.lost.child_token()
    }

    /// Gives the lease up on a graceful shutdown: deletes the key if it is still ours, so a
    /// standby takes over at once. If NATS does not answer, the key expires by itself.
    pub async fn release(mut self) {
        if let Some(renewer) = self.renewer.take() {
            renewer.abort();
            let _ = renewer.await;
        }
        self.lost.cancel();
        let revision = State::read(&self.state).revision;
        let released = tokio::time::timeout(RELEASE_WAIT, async {
            match self
                .store
                .delete_expect_revision(&self.name, Some(revision))
                .await
            {
                Ok(()) => true,
                Err(error) if error.kind() == kv::UpdateErrorKind::WrongLastRevision => {
                    // A renewal cut short by the release may have landed after all.
                    match self.store.entry(&self.name).await {
                        Ok(Some(entry))
                            if entry.operation == Operation::Put
                                && entry.value == self.holder.as_bytes() =>
                        {
                            self.store
                                .delete_expect_revision(&self.name, Some(entry.revision))
                                .await
                                .is_ok()
                        }
                        _ => false,
                    }
                }
                Err(_) => false,
            }
        })
        .await
        .unwrap_or(false);
        if released {
            tracing::info!(lease = %self.name, "lease released");
        } else {
            tracing::warn!(lease = %self.name, "could not release the lease; it expires by itself");
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(renewer) = self.renewer.take() {
            renewer.abort();
        }
        self.lost.cancel();
    }
}

/// The background renewals of one lease.
struct Renewer {
    bus: Bus,
    store: Store,
    name: String,
    holder: String,
    timing: Timing,
    state: Arc<Mutex<State>>,
    lost: CancellationToken,
}

impl Renewer {
    /// Renews every `renew_every` after the last confirmed write (`sent` at first) until the
    /// lease is lost or this task is aborted.
    async fn run(self, mut last: Instant) {
        loop {
            let due = (last + self.timing.renew_every).min(State::read(&self.state).valid_until);
            tokio::select! {
                () = self.lost.cancelled() => return,
                () = tokio::time::sleep_until(due) => {}
            }
            match self.renew().await {
                Some(sent) => last = sent,
                None => {
                    self.lost.cancel();
                    return;
                }
            }
        }
    }

    /// One renewal, retried until it is confirmed (when it was sent) or the lease is gone
    /// (`None`).
    async fn renew(&self) -> Option<Instant> {
        let name = self.name.as_str();
        loop {
            let State {
                revision,
                valid_until,
            } = State::read(&self.state);
            if Instant::now() >= valid_until {
                tracing::warn!(
                    lease = name,
                    "the lease's renewal could not be confirmed in time; giving it up"
                );
                return None;
            }
            let sent = Instant::now();
            let write = write(
                &self.bus,
                &self.store,
                name,
                &self.holder,
                revision,
                self.timing.seconds,
            );
            match tokio::time::timeout_at(valid_until, write).await {
                Ok(Ok(revision)) => {
                    State::update(&self.state, |state| {
                        state.revision = revision;
                        state.valid_until = sent + self.timing.valid_for;
                    });
                    return Some(sent);
                }
                Ok(Err(WriteError::Taken)) => {
                    // An attempt whose answer never came may have landed: then the key still
                    // names us, at a newer revision.
                    match tokio::time::timeout_at(valid_until, self.store.entry(name)).await {
                        Ok(Ok(Some(entry)))
                            if entry.operation == Operation::Put
                                && entry.value == self.holder.as_bytes() =>
                        {
                            // (retried after the wait: a stale read must not spin)
                            State::update(&self.state, |state| state.revision = entry.revision);
                        }
                        Ok(Ok(_)) => {
                            tracing::warn!(lease = name, "the lease was taken by another holder");
                            return None;
                        }
                        Ok(Err(error)) => {
                            tracing::warn!(lease = name, %error, "reading the lease failed; retrying");
                        }
                        Err(_) => {}
                    }
                }
                Ok(Err(WriteError::Unavailable(error))) => {
                    tracing::warn!(lease = name, %error, "renewing the lease failed; retrying");
                }
                Err(_) => {}
            }
            let retry = (Instant::now() + RENEWAL_RETRY).min(valid_until);
            tokio::select! {
                () = self.lost.cancelled() => return None,
                () = tokio::time::sleep_until(retry) => {}
            }
        }
    }
}

enum WriteError {
    /// The key is not at the expected revision: someone else wrote it.
    Taken,
    Unavailable(String),
}

/// Writes `holder` as the key's value if the key is at `expected` (0: absent), to expire
/// `seconds` after the server stored it; the new revision.
async fn write(
    bus: &Bus,
    store: &Store,
    key: &str,
    holder: &str,
    expected: u64,
    seconds: u64,
) -> Result<u64, WriteError> {
    let mut headers = HeaderMap::new();
    headers.insert(
        NATS_EXPECTED_LAST_SUBJECT_SEQUENCE,
        expected.to_string().as_str(),
    );
    headers.insert(NATS_MESSAGE_TTL, seconds.to_string().as_str());
    let subject = format!(
        "{}{key}",
        store.put_prefix.as_ref().unwrap_or(&store.prefix)
    );
    let unavailable = |error: jetstream::context::PublishError| match error.kind() {
        PublishErrorKind::WrongLastSequence => WriteError::Taken,
        _ => WriteError::Unavailable(error.to_string()),
    };
    let ack = bus
        .js
        .publish_with_headers(subject, headers, Bytes::copy_from_slice(holder.as_bytes()))
        .await
        .map_err(unavailable)?
        .await
        .map_err(unavailable)?;
    Ok(ack.sequence)
}

/// The lease bucket, made if missing: file storage (a lease survives a server restart, so a
/// restart never hands it to a second holder), per-message TTLs.
async fn bucket(bus: &Bus) -> Result<Store, LeaseError> {
    let unavailable = |error: &dyn std::fmt::Display| LeaseError::Unavailable(error.to_string());
    let config = |replicas: usize| kv::Config {
        bucket: BUCKET.to_owned(),
        description: "remotehunt's leases: one holder at a time (a bot's long poll)".to_owned(),
        history: 1,
        storage: StorageType::File,
        num_replicas: replicas,
        limit_markers: Some(EXPIRY_MARKER_TTL),
        ..kv::Config::default()
    };
    let store = match bus.js.get_key_value(BUCKET).await {
        Ok(store) => store,
        Err(_) => match bus.js.create_key_value(config(bus.replicas())).await {
            Ok(store) => store,
            // Another copy may have made it meanwhile.
            Err(error) => bus
                .js
                .get_key_value(BUCKET)
                .await
                .map_err(|_| unavailable(&error))?,
        },
    };
    let info = store.stream.cached_info();
    if info.config.allow_message_ttl {
        return Ok(store);
    }
    // Made by hand without per-message TTLs, which a lease needs to expire.
    let replicas = info.config.num_replicas.max(bus.replicas());
    bus.js
        .update_key_value(config(replicas))
        .await
        .map_err(|e| unavailable(&e))
}

/// A KV key: letters, digits and `-_=/.`, not starting or ending with a dot.
fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && !name.ends_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_=/.".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ttl_becomes_whole_seconds_and_the_holder_stops_before_the_server_expires_it() {
        // given a five-second TTL
        let timing = Timing::of(Duration::from_secs(5));
        // then it renews every third of it and counts on a lease for four fifths of it
        assert_eq!(timing.seconds, 5);
        assert_eq!(timing.renew_every, Duration::from_secs(5) / 3);
        assert_eq!(timing.valid_for, Duration::from_secs(4));
        assert_eq!(timing.standby_check, Duration::from_millis(500));
        // and a TTL under a second or between seconds is rounded up, as the server needs
        assert_eq!(Timing::of(Duration::from_millis(300)).seconds, 1);
        assert_eq!(Timing::of(Duration::from_millis(2500)).seconds, 3);
    }

    #[test]
    fn lease_names_are_kv_keys() {
        assert!(is_valid_name("poller.2000"));
        assert!(is_valid_name("poller.main_bot-1"));
        assert!(!is_valid_name(""));
        assert!(!is_valid_name(".poller"));
        assert!(!is_valid_name("poller."));
        assert!(!is_valid_name("poller 1"));
        assert!(!is_valid_name("poller.*"));
    }

    #[test]
    fn every_holder_is_one_of_its_own() {
        assert_ne!(new_holder(), new_holder());
        assert!(new_holder().contains(&format!("/{}/", std::process::id())));
    }
}
