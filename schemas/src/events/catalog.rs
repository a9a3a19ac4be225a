//! The catalog: categories subscribers choose from, the channels ingest reads, and the keyword
//! rules that decide which posts reach the classifier. It changes only through these events.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Payload, validate_slug};
use crate::{Aggregate, AggregateKind};

/// A category was created or changed its display name or order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CategoryDefined {
    /// Stable identifier used in subjects, buttons and bot configuration, e.g. `design`.
    pub slug: String,
    /// Russian display name shown to subscribers, e.g. `Дизайн`.
    pub name: String,
    /// Position in pickers, ascending.
    pub order: i32,
    /// Each vacancy goes to paying subscribers before those on a trial (otherwise all in one
    /// shuffled order). Absent in version 1: off.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub paid_first: bool,
    /// The admin who made the change in the web UI; absent for the operator's catalog file,
    /// imports and the reader.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_id: Option<i64>,
}

impl Payload for CategoryDefined {
    fn aggregate(&self) -> Aggregate {
        Aggregate::new(AggregateKind::Category, &self.slug)
    }
    fn validate(&self) -> Result<(), String> {
        validate_slug(&self.slug)?;
        if self.name.trim().is_empty() {
            return Err("empty category name".into());
        }
        Ok(())
    }
}

/// A category left the catalog; subscribers' choices of it stop mattering.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CategoryRetired {
    pub slug: String,
    /// The admin who made the change in the web UI; absent for the operator's catalog file,
    /// imports and the reader.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_id: Option<i64>,
}

impl Payload for CategoryRetired {
    fn aggregate(&self) -> Aggregate {
        Aggregate::new(AggregateKind::Category, &self.slug)
    }
    fn validate(&self) -> Result<(), String> {
        validate_slug(&self.slug)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    Channel,
    Group,
}

/// A channel or chat was added to the catalog or changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ChannelConfigured {
    /// Telegram chat id (`-100…` for channels and supergroups); 0 while only the username is known.
    pub chat_id: i64,
    /// Public @username without the `@`, if any.
    pub username: Option<String>,
    pub title: String,
    pub kind: ChannelKind,
    pub enabled: bool,
    /// The admin who made the change in the web UI; absent for the operator's catalog file,
    /// imports and the reader.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_id: Option<i64>,
}

impl ChannelConfigured {
    /// The catalog key of a channel: its chat id when known, else its username.
    pub fn key(&self) -> String {
        channel_key(self.chat_id, self.username.as_deref())
    }
}

pub fn channel_key(chat_id: i64, username: Option<&str>) -> String {
    match (chat_id, username) {
        (0, Some(username)) => format!("@{}", username.to_lowercase()),
        (id, _) => id.to_string(),
    }
}

impl Payload for ChannelConfigured {
    fn aggregate(&self) -> Aggregate {
        Aggregate::new(AggregateKind::Channel, self.key())
    }
    fn validate(&self) -> Result<(), String> {
        if self.chat_id == 0 && self.username.as_deref().is_none_or(str::is_empty) {
            return Err("a channel needs a chat id or a username".into());
        }
        Ok(())
    }
}

/// A channel left the catalog: ingest stops reading it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ChannelRemoved {
    /// The key of [`ChannelConfigured::key`].
    pub channel: String,
    /// The admin who made the change in the web UI; absent for the operator's catalog file,
    /// imports and the reader.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_id: Option<i64>,
}

impl Payload for ChannelRemoved {
    fn aggregate(&self) -> Aggregate {
        Aggregate::new(AggregateKind::Channel, &self.channel)
    }
}

/// The reader cannot read a catalog channel (private, banned, no such username...). Kept as an
/// event so the catalog and the channel yield show it until an operator acts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ChannelUnreadable {
    /// The key of [`ChannelConfigured::key`].
    pub channel: String,
    /// What Telegram answered, e.g. `CHANNEL_PRIVATE`.
    pub reason: String,
}

impl Payload for ChannelUnreadable {
    fn aggregate(&self) -> Aggregate {
        Aggregate::new(AggregateKind::Channel, &self.channel)
    }
}

/// Why an ingest account stopped reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccountLoss {
    /// The session was signed out or revoked (`AUTH_KEY_UNREGISTERED`, `SESSION_REVOKED`…):
    /// `remotehunt ingest login --account NAME` brings it back.
    Revoked,
    /// Telegram deactivated or banned the account (`USER_DEACTIVATED_BAN`).
    Banned,
    /// The reader holding the ingest lease has no session for it (its file was removed).
    Removed,
}

/// A Telegram user account ingest reads channels with: signed in with `remotehunt ingest login
/// --account NAME`, or started again by the reader after it was lost. Channels are assigned to
/// it up to `max_channels`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct IngestAccountAdded {
    /// The account's name (a slug), as `--account` gave it.
    pub account: String,
    /// At most this many channels are assigned to it (`INGEST_CHANNELS_PER_ACCOUNT`).
    pub max_channels: u32,
}

impl Payload for IngestAccountAdded {
    fn aggregate(&self) -> Aggregate {
        Aggregate::new(AggregateKind::IngestAccount, &self.account)
    }
    fn validate(&self) -> Result<(), String> {
        validate_slug(&self.account)?;
        if self.max_channels == 0 {
            return Err("an account must be allowed at least one channel".into());
        }
        Ok(())
    }
}

/// An ingest account can no longer read; its channels move to the other accounts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct IngestAccountLost {
    pub account: String,
    pub reason: AccountLoss,
    /// What Telegram answered, e.g. `AUTH_KEY_UNREGISTERED`.
    pub detail: String,
}

impl Payload for IngestAccountLost {
    fn aggregate(&self) -> Aggregate {
        Aggregate::new(AggregateKind::IngestAccount, &self.account)
    }
    fn validate(&self) -> Result<(), String> {
        validate_slug(&self.account)
    }
}

/// Telegram refused to let an account join one more channel (`CHANNELS_TOO_MUCH`): it keeps
/// the channels it follows, and the one it could not join goes to another account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct IngestAccountFull {
    pub account: String,
    /// The channel it could not join (a catalog key).
    pub channel: String,
    /// How many channels it follows: its room from now on.
    pub following: u32,
}

impl Payload for IngestAccountFull {
    fn aggregate(&self) -> Aggregate {
        Aggregate::new(AggregateKind::IngestAccount, &self.account)
    }
    fn validate(&self) -> Result<(), String> {
        validate_slug(&self.account)
    }
}

/// Which ingest account reads a channel from now on. `account` absent: no account has room
/// for it, and it is not read until an admin adds an account or removes channels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ChannelAssigned {
    /// The key of [`ChannelConfigured::key`].
    pub channel: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
}

impl Payload for ChannelAssigned {
    fn aggregate(&self) -> Aggregate {
        Aggregate::new(AggregateKind::Channel, &self.channel)
    }
}

/// Where a rule set applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "scope", content = "channel", rename_all = "snake_case")]
pub enum RuleScope {
    /// The default for channels without rules of their own.
    Global,
    /// One channel, by its catalog key.
    Channel(String),
}

impl RuleScope {
    pub fn key(&self) -> String {
        match self {
            RuleScope::Global => "global".to_owned(),
            RuleScope::Channel(channel) => channel.clone(),
        }
    }
}

/// Keyword rules. Terms are words, phrases or `#hashtags`, matched case- and ё/е-insensitively
/// on word boundaries; a trailing `*` makes a prefix (`ваканс*`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Rules {
    /// At least one must be present (ignored when empty).
    #[serde(default)]
    pub require_any: Vec<String>,
    /// All must be present.
    #[serde(default)]
    pub require_all: Vec<String>,
    /// None may be present.
    #[serde(default)]
    pub forbid: Vec<String>,
    /// Optional regular expression that must match.
    #[serde(default)]
    pub require_regex: Option<String>,
    /// Optional regular expression that must not match.
    #[serde(default)]
    pub forbid_regex: Option<String>,
}

/// The rules of a scope were replaced as a whole.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ChannelRulesSet {
    #[serde(flatten)]
    pub scope: RuleScope,
    pub rules: Rules,
    /// The admin who made the change in the web UI; absent for the operator's catalog file,
    /// imports and the reader.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_id: Option<i64>,
}

impl Payload for ChannelRulesSet {
    fn aggregate(&self) -> Aggregate {
        Aggregate::new(AggregateKind::ChannelRules, self.scope.key())
    }
}
