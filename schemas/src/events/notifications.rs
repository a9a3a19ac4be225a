//! Messages the scheduler has the main bot send: expiry notices, the admins' daily report, the
//! public channel's daily pick, a failed job's alert. A notification goes planned → claimed →
//! sent (or failed, or unconfirmed), like a delivery; its id says what it is about, so planning
//! it again (a second tick, a second copy, a restart) is one notification. Planned ones wait in
//! an outbox, `rh.notifications.planned.<outbox>.>`; the rest are
//! `rh.notifications.<step>.<id tokens>`, so `rh.notifications.*.expiry.7.>` is everything told
//! to user 7 about their access.

use chrono::{DateTime, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Payload;
use crate::{Aggregate, AggregateKind, EventId};

/// Which queue a notification waits in: both are sent by the main bot, each paced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outbox {
    /// Private chats with users and admins.
    Main,
    /// The public channel.
    Channel,
}

impl Outbox {
    pub fn as_str(self) -> &'static str {
        match self {
            Outbox::Main => "main",
            Outbox::Channel => "channel",
        }
    }
}

/// Where a notification goes: a chat id, or a public channel's `@username`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ChatTarget {
    Id(i64),
    Username(String),
}

impl std::fmt::Display for ChatTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChatTarget::Id(id) => write!(f, "{id}"),
            ChatTarget::Username(name) => f.write_str(name),
        }
    }
}

/// Whose access an expiry notice is about, and which end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccessKind {
    Trial,
    Paid,
}

/// What a notification is about; also what makes its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Topic {
    /// The user's access ends at `ends_at` (within the warning window).
    ExpiryWarning {
        user_id: i64,
        access: AccessKind,
        ends_at: DateTime<Utc>,
    },
    /// The user's access ended at `ended_at`.
    AccessEnded {
        user_id: i64,
        access: AccessKind,
        ended_at: DateTime<Utc>,
    },
    /// One part of the daily report on `day` (Moscow time) to one admin: its chart, its text.
    AdminReport {
        admin_id: i64,
        day: NaiveDate,
        part: String,
    },
    /// One post of the public pick of `day`.
    PublicPick { day: NaiveDate, part: u32 },
    /// A job run failed: its alert to one admin.
    JobFailed { admin_id: i64, run_id: String },
    /// The admins decided on a user's report: the reporter hears what came of it.
    ReportOutcome { user_id: i64, report_id: String },
}

impl Topic {
    /// The notification's id, `<topic>:<…>`, which is also its subject's tail.
    pub fn notification_id(&self) -> String {
        match self {
            Topic::ExpiryWarning {
                user_id, ends_at, ..
            } => format!("expiry:{user_id}:warning:{}", ends_at.timestamp()),
            Topic::AccessEnded {
                user_id, ended_at, ..
            } => format!("expiry:{user_id}:ended:{}", ended_at.timestamp()),
            Topic::AdminReport {
                admin_id,
                day,
                part,
            } => format!("report:{admin_id}:{day}:{part}"),
            Topic::PublicPick { day, part } => format!("pick:{day}:{part}"),
            Topic::JobFailed { admin_id, run_id } => format!("job-failed:{admin_id}:{run_id}"),
            Topic::ReportOutcome { report_id, .. } => format!("report-outcome:{report_id}"),
        }
    }

    /// The user or admin it is sent to or about, if a person.
    pub fn person(&self) -> Option<i64> {
        match self {
            Topic::ExpiryWarning { user_id, .. } | Topic::AccessEnded { user_id, .. } => {
                Some(*user_id)
            }
            Topic::AdminReport { admin_id, .. } | Topic::JobFailed { admin_id, .. } => {
                Some(*admin_id)
            }
            Topic::ReportOutcome { user_id, .. } => Some(*user_id),
            Topic::PublicPick { .. } => None,
        }
    }
}

/// A button under a notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Button {
    pub label: String,
    #[serde(flatten)]
    pub action: ButtonAction,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ButtonAction {
    /// Opens a link (the main bot's deep link, the original post).
    Url(String),
    /// Presses a button of the main bot (callback data, 1–64 bytes).
    Callback(String),
}

/// What is sent: HTML text, or a PNG with an HTML caption (at most 1,024 characters).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Body {
    Text {
        html: String,
    },
    Photo {
        png_base64: String,
        caption_html: String,
    },
}

/// The scheduler decided the main bot sends this.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NotificationPlanned {
    pub topic: Topic,
    pub outbox: Outbox,
    pub chat: ChatTarget,
    pub body: Body,
    /// Rows of buttons.
    pub buttons: Vec<Vec<Button>>,
    /// The job run that planned it.
    pub run_id: String,
}

impl NotificationPlanned {
    pub fn notification_id(&self) -> String {
        self.topic.notification_id()
    }
}

/// Telegram's limits on one message: 4,096 characters of text, 1,024 of a caption.
pub const TEXT_LIMIT: usize = 4_096;
pub const CAPTION_LIMIT: usize = 1_024;

impl Payload for NotificationPlanned {
    fn aggregate(&self) -> Aggregate {
        Aggregate::new(
            AggregateKind::NotificationOutbox,
            format!("{}:{}", self.outbox.as_str(), self.notification_id()),
        )
    }
    fn event_id(&self) -> Option<EventId> {
        Some(format!("notification:{}:planned", self.notification_id()))
    }
    fn validate(&self) -> Result<(), String> {
        let too_long = match &self.body {
            Body::Text { html } => html.chars().count() > TEXT_LIMIT,
            Body::Photo { caption_html, .. } => caption_html.chars().count() > CAPTION_LIMIT,
        };
        if too_long {
            return Err(format!(
                "{} is longer than Telegram takes",
                self.notification_id()
            ));
        }
        Ok(())
    }
}

fn notification(notification_id: &str) -> Aggregate {
    Aggregate::new(AggregateKind::Notification, notification_id)
}

macro_rules! notification_step {
    ($(#[$doc:meta])* $ty:ident $step:literal { $($(#[$field_doc:meta])* pub $field:ident : $field_ty:ty),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
        pub struct $ty {
            pub notification_id: String,
            $($(#[$field_doc])* pub $field: $field_ty,)*
        }

        impl Payload for $ty {
            fn aggregate(&self) -> Aggregate {
                notification(&self.notification_id)
            }
            fn event_id(&self) -> Option<EventId> {
                Some(format!("notification:{}:{}", self.notification_id, $step))
            }
        }
    };
}

notification_step!(
    /// The sender is about to send it: once ever, so nothing sends it twice.
    NotificationClaimed "claimed" {
        /// The sending process (a random id per start).
        pub sender: String,
    }
);

notification_step!(
    /// Telegram took it.
    NotificationSent "sent" {
        pub sent_message_id: i64,
        pub sent_at: DateTime<Utc>,
    }
);

notification_step!(
    /// Telegram refused it for good (the user blocked the bot, the channel is gone).
    NotificationFailed "failed" {
        pub error: String,
    }
);

notification_step!(
    /// It left but no answer came: it may have arrived, and is not sent again.
    NotificationUnconfirmed "unconfirmed" {
        pub error: String,
    }
);
