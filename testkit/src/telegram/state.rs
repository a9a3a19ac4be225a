//! What the fake Telegram remembers: bots, users, public channels and the bots that administer
//! them, who started or blocked which bot, the update queue of each bot, the messages and photos
//! each bot sent, and the send-rate windows.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::Notify;

/// Telegram's limits as the fake enforces them.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub enabled: bool,
    /// Messages a bot may send per second overall.
    pub per_bot_per_second: usize,
    /// Messages a bot may send per second overall with `allow_paid_broadcast` (Telegram:
    /// 1,000, the ones over the free limit paid in Stars).
    pub paid_broadcast_per_second: usize,
    /// Messages a bot may send to one private chat per second.
    pub per_chat_per_second: usize,
    /// Messages a bot may post to one channel per minute.
    pub per_channel_per_minute: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            enabled: true,
            per_bot_per_second: 30,
            paid_broadcast_per_second: 1000,
            per_chat_per_second: 1,
            per_channel_per_minute: 20,
        }
    }
}

/// How many messages a bot may send to one chat within a window.
#[derive(Debug, Clone, Copy)]
pub struct ChatPace {
    pub messages: usize,
    pub window: Duration,
}

impl Limits {
    /// A private chat: about one message a second.
    pub(crate) fn private_chat(&self) -> ChatPace {
        ChatPace {
            messages: self.per_chat_per_second,
            window: Duration::from_secs(1),
        }
    }

    /// A channel: Telegram allows about 20 posts a minute, not one a second.
    pub(crate) fn channel(&self) -> ChatPace {
        ChatPace {
            messages: self.per_channel_per_minute,
            window: Duration::from_secs(60),
        }
    }
}

/// A message a bot sent, as it stands now (edits applied, deletion marked).
#[derive(Debug, Clone, PartialEq)]
pub struct Sent {
    pub message_id: i64,
    pub chat_id: i64,
    /// The HTML (or plain) text the bot sent; a photo's caption (empty without one).
    pub text: String,
    /// A photo's bytes as uploaded (`None` for a text message). Empty for a photo sent by URL,
    /// which the fake does not download.
    pub photo: Option<Vec<u8>>,
    pub parse_mode: Option<String>,
    pub reply_markup: Option<Value>,
    pub deleted: bool,
    pub edits: usize,
    /// Sent with `disable_notification`: no sound, no vibration.
    pub silent: bool,
    /// Sent with link previews off (`link_preview_options.is_disabled`).
    pub no_preview: bool,
    /// When the fake accepted it.
    pub at: Instant,
}

impl Sent {
    /// Every inline button, row by row, as (label, callback data or URL).
    pub fn buttons(&self) -> Vec<(String, String)> {
        let Some(markup) = &self.reply_markup else {
            return Vec::new();
        };
        markup["inline_keyboard"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|row| row.as_array().into_iter().flatten())
            .map(|b| {
                let target = b.get("callback_data").or(b.get("url"));
                (
                    b["text"].as_str().unwrap_or_default().to_owned(),
                    target
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                )
            })
            .collect()
    }
}

pub struct Bot {
    pub id: i64,
    pub username: String,
    pub first_name: String,
    pub updates: VecDeque<(i64, Value)>,
    pub next_update_id: i64,
    pub notify: Arc<Notify>,
    pub sent: Vec<Sent>,
    pub next_message_id: i64,
    pub commands: Value,
    /// Commands set for a narrower scope (`setMyCommands` with `scope`): the scope's JSON → them.
    pub scoped_commands: std::collections::BTreeMap<String, Value>,
    pub answered_callbacks: Vec<Value>,
    /// Invoices sent or linked: chat, payload, amount in Stars.
    pub invoices: Vec<Value>,
    pub pre_checkout_answers: Vec<Value>,
    /// Stars charges: user, payload, amount, charge id, refunded.
    pub charges: Vec<Value>,
    /// `getStarTransactions`' list, oldest first: each charge (incoming) and refund (outgoing).
    pub star_transactions: Vec<Value>,
    /// `editUserStarSubscription` calls the fake accepted, in order.
    pub star_subscription_edits: Vec<Value>,
    /// The payloads of subscriptions the bot canceled: Telegram no longer renews them.
    pub canceled_subscriptions: std::collections::BTreeSet<String>,
    /// While set, charges and refunds happen but their updates never reach the bot (as when it
    /// was down longer than Telegram keeps updates).
    pub lose_payment_updates: bool,
    pub sends: VecDeque<Instant>,
    pub chat_sends: HashMap<i64, VecDeque<Instant>>,
    pub too_many_requests: usize,
    /// When each 429 was answered, and whether the per-chat limit (not the bot's) caused it.
    pub too_many_at: Vec<(Instant, bool)>,
    /// Sends admitted with `allow_paid_broadcast` (each paid in Stars beyond the free limit).
    pub paid_broadcasts: usize,
}

impl Bot {
    pub fn new(id: i64, username: String) -> Self {
        Self {
            id,
            first_name: username.clone(),
            username,
            updates: VecDeque::new(),
            next_update_id: 1,
            notify: Arc::new(Notify::new()),
            sent: Vec::new(),
            next_message_id: 1,
            commands: json!([]),
            scoped_commands: std::collections::BTreeMap::new(),
            answered_callbacks: Vec::new(),
            invoices: Vec::new(),
            pre_checkout_answers: Vec::new(),
            charges: Vec::new(),
            star_transactions: Vec::new(),
            star_subscription_edits: Vec::new(),
            canceled_subscriptions: std::collections::BTreeSet::new(),
            lose_payment_updates: false,
            sends: VecDeque::new(),
            chat_sends: HashMap::new(),
            too_many_requests: 0,
            too_many_at: Vec::new(),
            paid_broadcasts: 0,
        }
    }

    pub fn user_json(&self) -> Value {
        json!({"id": self.id, "is_bot": true, "first_name": self.first_name, "username": self.username})
    }

    pub fn push_update(&mut self, mut update: Value) -> i64 {
        let id = self.next_update_id;
        self.next_update_id += 1;
        update["update_id"] = json!(id);
        self.updates.push_back((id, update));
        self.notify.notify_waiters();
        id
    }

    /// `Some(seconds)` to wait when this send would break a limit (the bot's, or the chat's
    /// `pace`); records it otherwise.
    /// Counts a send against the limits, or answers how many seconds to wait. `paid`: sent
    /// with `allow_paid_broadcast`, whose limit per bot is the paid one.
    pub fn admit(
        &mut self,
        chat_id: i64,
        pace: ChatPace,
        limits: &Limits,
        paid: bool,
        now: Instant,
    ) -> Option<u64> {
        if !limits.enabled {
            return None;
        }
        let bot_window = Duration::from_secs(1);
        self.sends.retain(|t| now.duration_since(*t) < bot_window);
        let chat = self.chat_sends.entry(chat_id).or_default();
        chat.retain(|t| now.duration_since(*t) < pace.window);
        let oldest_wait = |queue: &VecDeque<Instant>, window: Duration| {
            queue.front().map_or(1, |t| {
                window
                    .saturating_sub(now.duration_since(*t))
                    .as_secs_f64()
                    .ceil()
                    .max(1.0) as u64
            })
        };
        if chat.len() >= pace.messages {
            self.too_many_requests += 1;
            self.too_many_at.push((now, true));
            return Some(oldest_wait(chat, pace.window));
        }
        let per_second = if paid {
            limits.paid_broadcast_per_second
        } else {
            limits.per_bot_per_second
        };
        if self.sends.len() >= per_second {
            self.too_many_requests += 1;
            self.too_many_at.push((now, false));
            return Some(oldest_wait(&self.sends, bot_window));
        }
        chat.push_back(now);
        self.sends.push_back(now);
        self.paid_broadcasts += usize::from(paid);
        None
    }
}

#[derive(Debug, Clone)]
pub struct User {
    pub id: i64,
    pub first_name: String,
    pub username: Option<String>,
}

impl User {
    pub fn json(&self) -> Value {
        json!({"id": self.id, "is_bot": false, "first_name": self.first_name,
               "username": self.username, "language_code": "ru"})
    }

    pub fn chat_json(&self) -> Value {
        json!({"id": self.id, "type": "private", "first_name": self.first_name, "username": self.username})
    }
}

/// A public channel; bots post to it only while they administer it.
#[derive(Debug, Clone)]
pub struct Channel {
    pub id: i64,
    /// Without the `@`.
    pub username: String,
    pub title: String,
    /// Ids of the bots that are its admins.
    pub admins: HashSet<i64>,
}

impl Channel {
    pub fn chat_json(&self) -> Value {
        json!({"id": self.id, "type": "channel", "title": self.title, "username": self.username})
    }
}

#[derive(Default)]
pub struct World {
    /// By token.
    pub bots: HashMap<String, Bot>,
    pub users: HashMap<i64, User>,
    /// By id.
    pub channels: HashMap<i64, Channel>,
    /// (bot id, user id): the user has written to the bot, so the bot may write to them.
    pub started: HashSet<(i64, i64)>,
    pub blocked: HashSet<(i64, i64)>,
    pub limits: Limits,
    pub next_callback_id: u64,
    /// Failures to play on the next requests (Telegram's 500, a proxy's page, late answers).
    pub faults: super::faults::Faults,
}

impl World {
    /// The bot for a token, created on first use when the token is well-formed
    /// (`<bot id>:<secret>`), as any token a test or the demo invents should work.
    pub fn bot(&mut self, token: &str) -> Option<&mut Bot> {
        let (id, secret) = token.split_once(':')?;
        let id: i64 = id.parse().ok()?;
        if secret.is_empty() {
            return None;
        }
        Some(
            self.bots
                .entry(token.to_owned())
                .or_insert_with(|| Bot::new(id, format!("bot{id}_bot"))),
        )
    }

    pub fn bot_by_username(&mut self, username: &str) -> Option<(String, &mut Bot)> {
        let username = username.trim_start_matches('@');
        self.bots
            .iter_mut()
            .find(|(_, b)| b.username.eq_ignore_ascii_case(username))
            .map(|(token, bot)| (token.clone(), bot))
    }

    pub fn channel_by_username(&self, username: &str) -> Option<&Channel> {
        let username = username.trim_start_matches('@');
        self.channels
            .values()
            .find(|c| c.username.eq_ignore_ascii_case(username))
    }

    pub fn user(&mut self, id: i64) -> User {
        self.users
            .entry(id)
            .or_insert_with(|| User {
                id,
                first_name: format!("User {id}"),
                username: Some(format!("user{id}")),
            })
            .clone()
    }
}
