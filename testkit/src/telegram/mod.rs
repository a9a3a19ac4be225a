//! A fake Telegram Bot API server, driven by teloxide in tests and run by `remotehunt dev
//! telegram` for the demo. It speaks the Bot API's wire format — `{"ok":true,"result":…}`,
//! errors with `error_code`, `description` and `parameters.retry_after`, JSON or multipart
//! requests — with real long polling, Telegram's HTML rules and text limits, 64-byte callback
//! data, its send limits (429) and its 403s for users who blocked a bot or never started it.
//! `sendPhoto` takes uploads (PNG or JPEG, captions of at most 1024 characters), file ids and
//! URLs. Public channels ([`FakeTelegram::create_channel`]) take posts by id or `@username` from
//! the bots that administer them ([`FakeTelegram::make_channel_admin`]), about 20 a minute.
//! Control routes (and methods on [`FakeTelegram`]) play the users: send a message or command,
//! press a button, block a bot, read what a bot sent to a chat, pay in Stars
//! (`/control/users/{id}/stars/pay|renew|refund`), and own channels (`/control/channels/{id}`
//! with `username` and `title`, `/control/channels/{id}/admins` with `bot`).
//! Faults on request ([`Fault`]): Telegram's JSON `500`, a proxy's HTML `502`, late answers.

mod api;
mod faults;
pub mod html;
mod media;
mod multipart;
mod send;
mod stars;
mod state;

use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};

pub use faults::Fault;
pub use stars::Paid;
use state::World;
pub use state::{Limits, Sent};

#[derive(Clone)]
pub struct FakeTelegram {
    url: String,
    world: Arc<Mutex<World>>,
    _server: Arc<crate::openai::ServerTask>,
}

impl FakeTelegram {
    /// Listens on a free local port.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_on("127.0.0.1:0").await
    }

    pub async fn start_on(address: &str) -> anyhow::Result<Self> {
        let world = Arc::new(Mutex::new(World::default()));
        let listener = tokio::net::TcpListener::bind(address).await?;
        let address = listener.local_addr()?;
        let app = api::router(world.clone());
        let server = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                tracing::error!(%error, "fake Telegram server stopped");
            }
        });
        Ok(Self {
            url: format!("http://{address}"),
            world,
            _server: Arc::new(crate::openai::ServerTask(server)),
        })
    }

    /// The Bot API base URL to give as `TELEGRAM_API_URL`.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn lock(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Names a bot (tokens of the form `<id>:<secret>` also work unregistered).
    pub fn register_bot(&self, token: &str, username: &str) {
        let mut world = self.lock();
        if let Some(bot) = world.bot(token) {
            bot.username = username.trim_start_matches('@').to_owned();
            bot.first_name = bot.username.clone();
        }
    }

    pub fn set_limits(&self, limits: Limits) {
        self.lock().limits = limits;
    }

    /// The next requests of `method` (any bot) get these, in order; `None` answers normally.
    pub fn fail_next(&self, method: &str, plan: impl IntoIterator<Item = Option<Fault>>) {
        self.lock().faults.queue(method, plan);
    }

    /// The faults played so far, as (lower-case method, fault).
    pub fn faults_played(&self) -> Vec<(String, Fault)> {
        self.lock().faults.played.clone()
    }

    /// A user writes to a bot (by token or @username); commands get their entity. Writing to
    /// a bot lets it write back, and unblocks it.
    pub fn user_says(&self, bot: &str, user_id: i64, text: &str) -> anyhow::Result<i64> {
        api::user_says(&mut self.lock(), bot, user_id, text).map_err(anyhow::Error::msg)
    }

    /// A user presses an inline button under a bot's message.
    pub fn press(
        &self,
        bot: &str,
        user_id: i64,
        message_id: i64,
        data: &str,
    ) -> anyhow::Result<i64> {
        api::press(&mut self.lock(), bot, user_id, message_id, data).map_err(anyhow::Error::msg)
    }

    /// A user blocks a bot: its sends answer 403 until the user writes to it again.
    pub fn block(&self, bot: &str, user_id: i64) -> anyhow::Result<()> {
        api::block(&mut self.lock(), bot, user_id).map_err(anyhow::Error::msg)
    }

    /// A public channel appears (or is renamed): `id` like Telegram's (`-100…`), `username`
    /// with or without the `@`. Bots may post to it once they are its admins.
    pub fn create_channel(&self, id: i64, username: &str, title: &str) {
        api::create_channel(&mut self.lock(), id, username, title);
    }

    /// The channel's owner makes a bot (by token or @username) an admin of it: its posts
    /// there, by the channel's id or `@username`, go through from now on.
    pub fn make_channel_admin(&self, bot: &str, channel_id: i64) -> anyhow::Result<()> {
        api::make_channel_admin(&mut self.lock(), bot, channel_id).map_err(anyhow::Error::msg)
    }

    /// What a bot sent to a chat (a user's, or a channel's posts), oldest first, as it stands
    /// now; photos with their bytes.
    pub fn sent_to(&self, bot: &str, chat_id: i64) -> Vec<Sent> {
        self.sent_by(bot)
            .into_iter()
            .filter(|m| m.chat_id == chat_id)
            .collect()
    }

    /// Everything a bot sent.
    pub fn sent_by(&self, bot: &str) -> Vec<Sent> {
        let mut world = self.lock();
        api::find_bot(&mut world, bot)
            .map(|b| b.sent.clone())
            .unwrap_or_default()
    }

    /// Updates the bot has not confirmed yet (by asking for a later offset): still being
    /// handled, or not fetched. Telegram reports it as `pending_update_count`.
    pub fn unconfirmed_updates(&self, bot: &str) -> usize {
        let mut world = self.lock();
        api::find_bot(&mut world, bot).map_or(0, |b| b.updates.len())
    }

    /// 429s the bot got.
    pub fn too_many_requests(&self, bot: &str) -> usize {
        let mut world = self.lock();
        api::find_bot(&mut world, bot).map_or(0, |b| b.too_many_requests)
    }

    /// Sends the bot made with `allow_paid_broadcast`.
    pub fn paid_broadcasts(&self, bot: &str) -> usize {
        let mut world = self.lock();
        api::find_bot(&mut world, bot).map_or(0, |b| b.paid_broadcasts)
    }

    /// When each 429 to the bot was answered, and whether a chat's limit (not the bot's)
    /// caused it.
    pub fn too_many_requests_at(&self, bot: &str) -> Vec<(std::time::Instant, bool)> {
        let mut world = self.lock();
        api::find_bot(&mut world, bot)
            .map(|b| b.too_many_at.clone())
            .unwrap_or_default()
    }

    /// Invoices the bot sent (`chat_id`, `payload`, `amount` in Stars, `title`).
    pub fn invoices(&self, bot: &str) -> Vec<Value> {
        let mut world = self.lock();
        api::find_bot(&mut world, bot)
            .map(|b| b.invoices.clone())
            .unwrap_or_default()
    }

    /// The bot's answers to pre-checkout queries.
    pub fn pre_checkout_answers(&self, bot: &str) -> Vec<Value> {
        let mut world = self.lock();
        api::find_bot(&mut world, bot)
            .map(|b| b.pre_checkout_answers.clone())
            .unwrap_or_default()
    }

    /// The payer confirms a Stars invoice: the bot gets a pre-checkout query; its id.
    pub fn pre_checkout(
        &self,
        bot: &str,
        user_id: i64,
        payload: &str,
        amount: i64,
    ) -> anyhow::Result<String> {
        let mut world = self.lock();
        let token = api::token_of(&mut world, bot).map_err(anyhow::Error::msg)?;
        stars::pre_checkout(&mut world, &token, user_id, payload, amount)
            .map_err(anyhow::Error::msg)
    }

    /// Telegram charged the payer: the bot gets the `successful_payment` message.
    pub fn successful_payment(
        &self,
        bot: &str,
        user_id: i64,
        payload: &str,
        amount: i64,
        charge_id: &str,
    ) -> anyhow::Result<()> {
        let mut world = self.lock();
        let token = api::token_of(&mut world, bot).map_err(anyhow::Error::msg)?;
        stars::successful_payment(&mut world, &token, user_id, payload, amount, charge_id)
            .map_err(anyhow::Error::msg)
    }

    /// The payer pays an invoice the bot issued (by payload), as Telegram runs it: the
    /// pre-checkout query, the bot's answer, then the charge.
    pub async fn pay(&self, bot: &str, user_id: i64, payload: &str) -> anyhow::Result<Paid> {
        let token = api::token_of(&mut self.lock(), bot).map_err(anyhow::Error::msg)?;
        stars::pay(&self.world, &token, user_id, payload)
            .await
            .map_err(anyhow::Error::msg)
    }

    /// Telegram renews the user's Stars subscription paid with `payload`: the new charge's id.
    pub fn renew(&self, bot: &str, user_id: i64, payload: &str) -> anyhow::Result<String> {
        let mut world = self.lock();
        let token = api::token_of(&mut world, bot).map_err(anyhow::Error::msg)?;
        stars::renew(&mut world, &token, user_id, payload).map_err(anyhow::Error::msg)
    }

    /// The `editUserStarSubscription` calls the fake accepted from `bot`, in order.
    pub fn star_subscription_edits(&self, bot: &str) -> Vec<Value> {
        let mut world = self.lock();
        api::find_bot(&mut world, bot)
            .map(|b| b.star_subscription_edits.clone())
            .unwrap_or_default()
    }

    /// Telegram refunds a charge on its own (a dispute).
    pub fn refund_by_telegram(
        &self,
        bot: &str,
        user_id: i64,
        charge_id: &str,
    ) -> anyhow::Result<()> {
        let mut world = self.lock();
        let token = api::token_of(&mut world, bot).map_err(anyhow::Error::msg)?;
        stars::refund_by_telegram(&mut world, &token, user_id, charge_id)
            .map_err(anyhow::Error::msg)
    }

    /// While `lose` is set, Stars charges and refunds still happen (and are listed by
    /// `getStarTransactions`) but their updates never reach the bot.
    pub fn lose_payment_updates(&self, bot: &str, lose: bool) {
        let mut world = self.lock();
        if let Some(bot) = api::find_bot(&mut world, bot) {
            bot.lose_payment_updates = lose;
        }
    }

    /// Stars charges (`user_id`, `payload`, `amount`, `charge_id`, `refunded`).
    pub fn charges(&self, bot: &str) -> Vec<Value> {
        let mut world = self.lock();
        api::find_bot(&mut world, bot)
            .map(|b| b.charges.clone())
            .unwrap_or_default()
    }

    pub fn callback_answers(&self, bot: &str) -> Vec<Value> {
        let mut world = self.lock();
        api::find_bot(&mut world, bot)
            .map(|b| b.answered_callbacks.clone())
            .unwrap_or_default()
    }

    pub fn commands(&self, bot: &str) -> Value {
        let mut world = self.lock();
        api::find_bot(&mut world, bot).map_or(json!([]), |b| b.commands.clone())
    }

    /// The commands a bot set for one chat (`BotCommandScopeChat`), falling back to its
    /// default ones as Telegram shows them.
    pub fn commands_in_chat(&self, bot: &str, chat_id: i64) -> Value {
        let mut world = self.lock();
        let Some(bot) = api::find_bot(&mut world, bot) else {
            return json!([]);
        };
        bot.scoped_commands
            .iter()
            .find(|(scope, _)| {
                serde_json::from_str::<Value>(scope)
                    .is_ok_and(|s| s["type"] == "chat" && s["chat_id"] == chat_id)
            })
            .map_or_else(|| bot.commands.clone(), |(_, commands)| commands.clone())
    }
}
