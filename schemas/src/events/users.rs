//! Subscribers: sign-up, chosen categories, which category bots they started, trial and paid
//! periods, hidden authors and reports of wrong vacancies.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{MessageKey, Payload, validate_slug};
use crate::{Aggregate, AggregateKind, EventId};

fn user(user_id: i64) -> Aggregate {
    Aggregate::new(AggregateKind::User, user_id.to_string())
}

/// A Telegram user started the main bot for the first time. Version 2 added `source`; a
/// version 1 event reads as one without it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct UserRegistered {
    pub user_id: i64,
    pub username: Option<String>,
    pub first_name: String,
    pub language_code: Option<String>,
    /// Where the user came from: the deep link's `/start` payload (`ref_<user id>` for a
    /// referral, `channel` for the public channel, a campaign tag), `[A-Za-z0-9_-]`, ≤ 64.
    #[serde(default)]
    pub source: Option<String>,
}

impl UserRegistered {
    /// A `/start` payload as a source, when it is one (Telegram allows `[A-Za-z0-9_-]{1,64}`).
    pub fn source_of(payload: &str) -> Option<String> {
        let ok = (1..=64).contains(&payload.len())
            && payload
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| payload.to_owned())
    }
}

impl Payload for UserRegistered {
    fn aggregate(&self) -> Aggregate {
        user(self.user_id)
    }
    fn event_id(&self) -> Option<EventId> {
        Some(format!("tg:user:{}:registered", self.user_id))
    }
    fn validate(&self) -> Result<(), String> {
        match &self.source {
            Some(source) if UserRegistered::source_of(source).is_none() => Err(format!(
                "bad source {source:?}: use 1-64 of A-Z a-z 0-9 - _"
            )),
            _ => Ok(()),
        }
    }
}

/// The user's whole set of categories after a change (a set, so replays are idempotent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CategoriesChosen {
    pub user_id: i64,
    pub categories: Vec<String>,
}

impl Payload for CategoriesChosen {
    fn aggregate(&self) -> Aggregate {
        user(self.user_id)
    }
    fn validate(&self) -> Result<(), String> {
        self.categories.iter().try_for_each(|c| validate_slug(c))
    }
}

/// The user started a category's bot, so that bot may write to them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CategoryBotStarted {
    pub user_id: i64,
    pub category: String,
    /// Which of the category's bots (the numeric id in its token); absent on events recorded
    /// while the category had one bot, which means the first token `CATEGORY_BOT_TOKENS` lists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot_id: Option<i64>,
}

impl Payload for CategoryBotStarted {
    fn aggregate(&self) -> Aggregate {
        user(self.user_id)
    }
    fn validate(&self) -> Result<(), String> {
        validate_slug(&self.category)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BotStopReason {
    /// The user sent /stop.
    Paused,
    /// Telegram answered 403: blocked, or never started.
    Blocked,
}

/// A category bot may no longer write to the user until they start it again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CategoryBotStopped {
    pub user_id: i64,
    pub category: String,
    pub reason: BotStopReason,
    /// Which of the category's bots (the numeric id in its token); absent on events recorded
    /// while the category had one bot, which means the first token `CATEGORY_BOT_TOKENS` lists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot_id: Option<i64>,
}

impl Payload for CategoryBotStopped {
    fn aggregate(&self) -> Aggregate {
        user(self.user_id)
    }
    fn validate(&self) -> Result<(), String> {
        validate_slug(&self.category)
    }
}

/// The one trial a Telegram user ever gets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TrialStarted {
    pub user_id: i64,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

impl Payload for TrialStarted {
    fn aggregate(&self) -> Aggregate {
        user(self.user_id)
    }
    fn event_id(&self) -> Option<EventId> {
        Some(format!("tg:user:{}:trial", self.user_id))
    }
    fn validate(&self) -> Result<(), String> {
        if self.ends_at <= self.starts_at {
            return Err("trial ends before it starts".into());
        }
        Ok(())
    }
}

/// Why a paid period was extended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum ExtensionSource {
    Payment { payment_id: String },
    Grant { admin_id: i64, reason: String },
}

/// The user's paid access now runs until `until`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SubscriptionExtended {
    pub user_id: i64,
    /// Start of the added period (the old end when one was still running).
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
    #[serde(flatten)]
    pub source: ExtensionSource,
}

impl Payload for SubscriptionExtended {
    fn aggregate(&self) -> Aggregate {
        user(self.user_id)
    }
    /// A payment's days are added once; each grant is an event of its own.
    fn event_id(&self) -> Option<EventId> {
        match &self.source {
            ExtensionSource::Payment { payment_id } => {
                Some(format!("payment:{payment_id}:extended"))
            }
            ExtensionSource::Grant { .. } => None,
        }
    }
    fn validate(&self) -> Result<(), String> {
        if self.until <= self.from {
            return Err("extension ends before it starts".into());
        }
        Ok(())
    }
}

/// Paid access was cut back (a refund takes back the unused part).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SubscriptionRevoked {
    pub user_id: i64,
    /// The new end of access.
    pub until: DateTime<Utc>,
    pub reason: String,
    pub payment_id: Option<String>,
}

impl Payload for SubscriptionRevoked {
    fn aggregate(&self) -> Aggregate {
        user(self.user_id)
    }
    fn event_id(&self) -> Option<EventId> {
        self.payment_id
            .as_ref()
            .map(|payment_id| format!("payment:{payment_id}:revoked"))
    }
}

/// The user never wants posts by this author again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AuthorHidden {
    pub user_id: i64,
    /// [`crate::Author::key`] of the author.
    pub author: String,
}

impl Payload for AuthorHidden {
    fn aggregate(&self) -> Aggregate {
        user(self.user_id)
    }
}

/// The user took back hiding an author.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AuthorUnhidden {
    pub user_id: i64,
    pub author: String,
}

impl Payload for AuthorUnhidden {
    fn aggregate(&self) -> Aggregate {
        user(self.user_id)
    }
}

/// A report was sent to one admin: the message to edit when the report is decided.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ReportSentToAdmin {
    pub report_id: String,
    pub admin_id: i64,
    pub message_id: i32,
}

impl Payload for ReportSentToAdmin {
    fn aggregate(&self) -> Aggregate {
        Aggregate::new(AggregateKind::Report, &self.report_id)
    }
    fn event_id(&self) -> Option<EventId> {
        Some(format!("report:{}:sent:{}", self.report_id, self.admin_id))
    }
}

/// The main bot sent the user a new menu message: the one it keeps up to date (a category
/// bot started elsewhere redraws it). Older menus still work when tapped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MainMenuShown {
    pub user_id: i64,
    pub message_id: i32,
}

impl Payload for MainMenuShown {
    fn aggregate(&self) -> Aggregate {
        user(self.user_id)
    }
}

/// The user chose the time zone the bots show times in (an IANA name, e.g. `Europe/Moscow`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TimeZoneChosen {
    pub user_id: i64,
    pub zone: String,
}

impl Payload for TimeZoneChosen {
    fn aggregate(&self) -> Aggregate {
        user(self.user_id)
    }
    fn validate(&self) -> Result<(), String> {
        let ok = !self.zone.is_empty()
            && self.zone.len() <= 64
            && self
                .zone
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'+'));
        if ok {
            Ok(())
        } else {
            Err(format!("bad time zone {:?}", self.zone))
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportReason {
    NotVacancy,
    WrongCategory,
}

/// A subscriber says a delivered post is not a vacancy or not of its category.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VacancyReported {
    pub report_id: String,
    pub user_id: i64,
    #[serde(flatten)]
    pub key: MessageKey,
    pub category: Option<String>,
    pub reason: ReportReason,
}

impl VacancyReported {
    /// `<user>:<chat>:<message>`: one report per subscriber and post, and the reporter's id
    /// first, so the report's subjects carry it as a token.
    pub fn id_for(user_id: i64, key: &MessageKey) -> String {
        format!("{user_id}:{}", key.id())
    }
}

impl Payload for VacancyReported {
    fn aggregate(&self) -> Aggregate {
        Aggregate::new(AggregateKind::Report, &self.report_id)
    }
    fn event_id(&self) -> Option<EventId> {
        Some(format!("report:{}", self.report_id))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    Confirmed,
    Dismissed,
}

/// An admin decided on a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ReportResolved {
    pub report_id: String,
    pub admin_id: i64,
    pub resolution: Resolution,
}

impl Payload for ReportResolved {
    fn aggregate(&self) -> Aggregate {
        Aggregate::new(AggregateKind::Report, &self.report_id)
    }
    fn event_id(&self) -> Option<EventId> {
        Some(format!("report:{}:resolved", self.report_id))
    }
}

fn admin_login(token_hash: &str) -> Aggregate {
    Aggregate::new(AggregateKind::AdminLogin, token_hash)
}

/// A one-time link into the admin web UI was made for an admin. Only the token's SHA-256 is
/// recorded (hex): the token itself is in the link alone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AdminLoginLinkIssued {
    pub admin_id: i64,
    pub token_hash: String,
    pub expires_at: DateTime<Utc>,
    /// Who asked: `bot` (`/admin` in the main bot) or `cli` (the operator at the server).
    pub via: String,
}

impl Payload for AdminLoginLinkIssued {
    fn aggregate(&self) -> Aggregate {
        admin_login(&self.token_hash)
    }
    fn validate(&self) -> Result<(), String> {
        validate_token_hash(&self.token_hash)
    }
}

/// An admin logged in with a link: once per link, ever (a second use is a duplicate).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AdminLoggedIn {
    pub admin_id: i64,
    pub token_hash: String,
}

impl Payload for AdminLoggedIn {
    fn aggregate(&self) -> Aggregate {
        admin_login(&self.token_hash)
    }
    fn validate(&self) -> Result<(), String> {
        validate_token_hash(&self.token_hash)
    }
}

fn validate_token_hash(hash: &str) -> Result<(), String> {
    if hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err("a login token hash is 64 hex digits".into())
    }
}

/// API tokens are their own aggregate, named by their id.
fn api_token(token_id: uuid::Uuid) -> Aggregate {
    Aggregate::new(AggregateKind::ApiToken, token_id.to_string())
}

/// A bearer token for the content API (`/api/v1`) was made. Only its SHA-256 is recorded
/// (hex): the token itself was printed once, to whoever made it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ApiTokenIssued {
    pub token_id: uuid::Uuid,
    /// Who or what it is for, as the operator named it (a partner, the channel's site).
    pub name: String,
    pub token_hash: String,
    /// The admin who made it; `None` for the operator at the server (`remotehunt web token`).
    #[serde(default)]
    pub admin_id: Option<i64>,
}

impl Payload for ApiTokenIssued {
    fn aggregate(&self) -> Aggregate {
        api_token(self.token_id)
    }
    fn validate(&self) -> Result<(), String> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
            return Err("an API token's name is 1-64 printable characters".into());
        }
        validate_token_hash(&self.token_hash)
    }
}

/// An API token stops working: once per token, ever.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ApiTokenRevoked {
    pub token_id: uuid::Uuid,
    /// The admin who revoked it; `None` for the operator at the server.
    #[serde(default)]
    pub admin_id: Option<i64>,
}

impl Payload for ApiTokenRevoked {
    fn aggregate(&self) -> Aggregate {
        api_token(self.token_id)
    }
}
