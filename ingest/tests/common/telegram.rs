//! Telegram as a script for the readers' tests: one world of channels, their histories, and the
//! accounts reading them — which channels each has joined, the live updates Telegram would
//! push it, and faults (FLOOD_WAIT, revoked sessions, `CHANNELS_TOO_MUCH`).

// Each test binary uses a part of it.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use ingest::ingestor::Update;
use ingest::telegram::accounts::Connect;
use ingest::telegram::{ChannelRef, Chat, Source, SourceError};
use schemas::{ChannelKind, MessageKey, MessageReceived, MessageSource};

pub fn post(chat_id: i64, message_id: i64, text: &str) -> MessageReceived {
    MessageReceived {
        key: MessageKey::new(chat_id, message_id),
        chat_username: None,
        chat_title: Some("test".into()),
        posted_at: chrono::Utc::now() + chrono::Duration::seconds(message_id),
        text: text.into(),
        links: vec![],
        has_media: false,
        author: Default::default(),
        contacts: vec![],
        link: None,
        source: MessageSource::Live,
    }
}

pub fn vacancy(chat_id: i64, message_id: i64) -> MessageReceived {
    post(
        chat_id,
        message_id,
        &format!("Вакансия {message_id} в {chat_id}: ищем дизайнера на лендинг, оплата 20 000 ₽"),
    )
}

#[derive(Default)]
pub struct World {
    /// The signed-in accounts, each with its sign-in's number.
    pub accounts: BTreeMap<String, u64>,
    /// What a channel reference (`@name` or the chat id) resolves to; a chat id not listed
    /// resolves to itself, a username not listed is unknown.
    pub resolves: HashMap<String, Result<i64, String>>,
    pub history: HashMap<i64, Vec<MessageReceived>>,
    /// Calls to `history` that first answer FLOOD_WAIT, per chat.
    pub floods: HashMap<i64, Duration>,
    /// The chats each account is in.
    pub joined: HashMap<String, BTreeSet<i64>>,
    /// How many chats an account may be in before Telegram answers `CHANNELS_TOO_MUCH`.
    pub join_limits: HashMap<String, usize>,
    /// What each account's next `next_updates` calls answer, in order.
    pub live: HashMap<String, VecDeque<Result<Vec<Update>, SourceError>>>,
    /// Accounts whose session Telegram revoked: every call fails.
    pub revoked: HashSet<String>,
    /// (account, chat, after) of every history call, and when it was made.
    pub history_calls: Vec<(String, i64, i64, Instant)>,
    /// (account, chat) of every leave.
    pub left: Vec<(String, i64)>,
}

impl World {
    /// Signs accounts in (again: a new sign-in, and Telegram takes the session back).
    pub fn sign_in(&mut self, accounts: &[&str]) {
        for account in accounts {
            *self.accounts.entry((*account).to_owned()).or_default() += 1;
            self.revoked.remove(*account);
        }
    }

    /// Posts a message: in the chat's history, and live to every account in the chat.
    pub fn publish(&mut self, message: MessageReceived) {
        let chat = message.key.chat_id;
        self.history.entry(chat).or_default().push(message.clone());
        for (account, chats) in &self.joined {
            if chats.contains(&chat) && !self.revoked.contains(account) {
                self.live
                    .entry(account.clone())
                    .or_default()
                    .push_back(Ok(vec![Update::New(message.clone())]));
            }
        }
    }

    /// Posts a message whose live update Telegram never sends (as large monitors see).
    pub fn publish_unannounced(&mut self, message: MessageReceived) {
        let chat = message.key.chat_id;
        self.history.entry(chat).or_default().push(message);
    }

    pub fn live_for(&mut self, account: &str) -> &mut VecDeque<Result<Vec<Update>, SourceError>> {
        self.live.entry(account.to_owned()).or_default()
    }

    /// The accounts in each chat now.
    pub fn members(&self) -> HashMap<i64, Vec<String>> {
        let mut members: HashMap<i64, Vec<String>> = HashMap::new();
        for (account, chats) in &self.joined {
            for chat in chats {
                members.entry(*chat).or_default().push(account.clone());
            }
        }
        members
    }
}

#[derive(Clone, Default)]
pub struct Telegram(pub Arc<Mutex<World>>);

impl Telegram {
    pub fn world(&self) -> MutexGuard<'_, World> {
        self.0.lock().unwrap()
    }
}

/// The accounts' connections into the scripted world.
impl Connect for Telegram {
    type Source = ScriptedSource;

    fn accounts(&self) -> Vec<(String, u64)> {
        self.world().accounts.clone().into_iter().collect()
    }

    async fn connect(&self, account: &str) -> Result<ScriptedSource, SourceError> {
        if self.world().revoked.contains(account) {
            return Err(SourceError::SessionRevoked("AUTH_KEY_UNREGISTERED".into()));
        }
        Ok(ScriptedSource {
            account: account.to_owned(),
            world: self.0.clone(),
        })
    }
}

pub struct ScriptedSource {
    account: String,
    world: Arc<Mutex<World>>,
}

impl ScriptedSource {
    fn world(&self) -> Result<MutexGuard<'_, World>, SourceError> {
        let world = self.world.lock().unwrap();
        if world.revoked.contains(&self.account) {
            return Err(SourceError::SessionRevoked("AUTH_KEY_UNREGISTERED".into()));
        }
        Ok(world)
    }
}

impl Source for ScriptedSource {
    async fn resolve(&mut self, channel: &ChannelRef) -> Result<Chat, SourceError> {
        let key = channel
            .username
            .as_ref()
            .map(|u| format!("@{u}"))
            .unwrap_or(channel.chat_id.to_string());
        let mut world = self.world()?;
        let answer = match world.resolves.get(&key).cloned() {
            Some(answer) => answer,
            None if channel.chat_id != 0 => Ok(channel.chat_id),
            None => Err("USERNAME_NOT_OCCUPIED".into()),
        };
        let chat_id = answer.map_err(SourceError::Unreadable)?;
        let limit = world.join_limits.get(&self.account).copied();
        let joined = world.joined.entry(self.account.clone()).or_default();
        if !joined.contains(&chat_id) && limit.is_some_and(|limit| joined.len() >= limit) {
            return Err(SourceError::AccountFull("CHANNELS_TOO_MUCH".into()));
        }
        joined.insert(chat_id);
        Ok(Chat {
            chat_id,
            username: channel.username.clone(),
            title: key,
            kind: ChannelKind::Channel,
        })
    }

    async fn history(
        &mut self,
        chat: &Chat,
        after: i64,
        limit: usize,
    ) -> Result<Vec<Update>, SourceError> {
        let account = self.account.clone();
        let mut world = self.world()?;
        world
            .history_calls
            .push((account, chat.chat_id, after, Instant::now()));
        if let Some(wait) = world.floods.remove(&chat.chat_id) {
            return Err(SourceError::FloodWait(wait));
        }
        let mut newer: Vec<MessageReceived> = world
            .history
            .get(&chat.chat_id)
            .into_iter()
            .flatten()
            .filter(|m| m.key.message_id > after)
            .cloned()
            .collect();
        let skip = newer.len().saturating_sub(limit);
        newer.drain(..skip);
        Ok(newer.into_iter().map(Update::New).collect())
    }

    async fn leave(&mut self, channel: &ChannelRef) -> Result<(), SourceError> {
        let account = self.account.clone();
        let mut world = self.world()?;
        let chat_id = match world.resolves.get(&channel.key).cloned() {
            Some(Ok(chat_id)) => chat_id,
            _ => channel.chat_id,
        };
        let was_in = world
            .joined
            .get_mut(&account)
            .is_some_and(|joined| joined.remove(&chat_id));
        if was_in {
            world.left.push((account, chat_id));
        }
        Ok(())
    }

    async fn next_updates(&mut self) -> Result<Vec<Update>, SourceError> {
        loop {
            let next = {
                let mut world = self.world()?;
                let account = self.account.clone();
                world.live_for(&account).pop_front()
            };
            match next {
                Some(answer) => return answer,
                None => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    }
}
