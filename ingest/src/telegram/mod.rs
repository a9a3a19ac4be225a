//! The live Telegram reader: a user account (grammers) following the catalog's channels.
//!
//! The loop ([`reader`]) talks to Telegram through the [`Source`] port, so catch-up,
//! FLOOD_WAIT, unreadable channels and a revoked session are tested against a scripted source;
//! [`grammers`] is the real adapter, [`session`] keeps its credentials in an owner-only file.
//! [`accounts`] runs a reader per account, each on the channels the catalog assigns it.

pub mod accounts;
pub mod convert;
pub mod grammers;
pub mod reader;
pub mod session;

use std::time::Duration;

use schemas::ChannelKind;

use crate::ingestor::Update;

/// A catalog channel as the reader asks for it: by id, by @username, or both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelRef {
    /// Catalog key.
    pub key: String,
    /// Bot API id (`-100…`), 0 when only the username is known.
    pub chat_id: i64,
    pub username: Option<String>,
}

/// A channel Telegram resolved for us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chat {
    pub chat_id: i64,
    pub username: Option<String>,
    pub title: String,
    pub kind: ChannelKind,
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// Telegram asked us to wait (FLOOD_WAIT_X): retry the same call after it.
    #[error("FLOOD_WAIT: retry in {0:?}")]
    FloodWait(Duration),
    /// This channel cannot be read (private, banned, no such username); others can.
    #[error("channel unreadable: {0}")]
    Unreadable(String),
    /// The account's session is no longer valid: nothing can be read until a new login.
    #[error("the Telegram session is no longer valid ({0}): run `remotehunt ingest login` again")]
    SessionRevoked(String),
    /// Telegram deactivated or banned the account: it can read nothing, ever.
    #[error(
        "Telegram banned the account ({0}): sign another one in with `remotehunt ingest login`"
    )]
    Banned(String),
    /// The account is in as many channels as Telegram allows (`CHANNELS_TOO_MUCH`): it cannot
    /// join this one, nor any other.
    #[error("the account cannot join more channels ({0})")]
    AccountFull(String),
    /// Anything else (network, Telegram's internal errors): retried with a growing delay.
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl SourceError {
    /// Why the account can read no more, with Telegram's answer; `None` for errors it outlives.
    pub fn account_loss(&self) -> Option<(schemas::AccountLoss, &str)> {
        match self {
            SourceError::SessionRevoked(detail) => Some((schemas::AccountLoss::Revoked, detail)),
            SourceError::Banned(detail) => Some((schemas::AccountLoss::Banned, detail)),
            _ => None,
        }
    }
}

/// What the reader needs from Telegram.
pub trait Source: Send {
    /// Resolves a catalog channel (and joins what it must to read it).
    fn resolve(
        &mut self,
        channel: &ChannelRef,
    ) -> impl Future<Output = Result<Chat, SourceError>> + Send;

    /// Messages with ids above `after`, oldest first; at most `limit` (the newest ones).
    fn history(
        &mut self,
        chat: &Chat,
        after: i64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Update>, SourceError>> + Send;

    /// Leaves a chat another account reads now, freeing a place under Telegram's limit.
    fn leave(
        &mut self,
        channel: &ChannelRef,
    ) -> impl Future<Output = Result<(), SourceError>> + Send;

    /// The next live updates (new, edited, deleted messages in any chat the account sees);
    /// waits until there is at least one.
    fn next_updates(&mut self) -> impl Future<Output = Result<Vec<Update>, SourceError>> + Send;
}
