//! The real [`Source`]: a Telegram user account through grammers, and the login that creates
//! its session. Not exercised by tests (Telegram is out of reach here); everything it decides
//! is in pure functions below ([`classify_error`]) or in the tested reader.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use grammers_client::peer::Peer;
use grammers_client::session::types::{PeerId, PeerRef};
use grammers_client::update::Update as TelegramUpdate;
use grammers_client::{Client, InvocationError, SenderPool, SignInError, tl};
use grammers_mtsender::{SenderPoolFatHandle, UpdatesConfiguration};
use schemas::{ChannelKind, MessageKey, MessageSource};
use secrecy::{ExposeSecret, SecretString};

use super::session::FileSession;
use super::{ChannelRef, Chat, Source, SourceError, convert};
use crate::ingestor::Update;

/// The account's application credentials (my.telegram.org) and where its session lives.
#[derive(Debug, Clone)]
pub struct TelegramConfig {
    pub api_id: i32,
    pub api_hash: SecretString,
    pub session_path: PathBuf,
}

/// Every account signed in with `remotehunt ingest login`: a session file per account in a
/// directory (`NAME.session`), and a one-account set-up's single file as [`SINGLE_ACCOUNT`].
#[derive(Debug, Clone)]
pub struct SessionFiles {
    pub api_id: i32,
    pub api_hash: SecretString,
    pub dir: PathBuf,
    pub single: PathBuf,
}

/// The account name of the single session file (`TELEGRAM_SESSION`).
pub const SINGLE_ACCOUNT: &str = "main";

impl SessionFiles {
    /// Where an account's session lives.
    pub fn session_path(&self, account: &str) -> PathBuf {
        let in_dir = self.dir.join(format!("{account}.session"));
        if account == SINGLE_ACCOUNT && !in_dir.exists() {
            return self.single.clone();
        }
        in_dir
    }

    pub fn config(&self, account: &str) -> TelegramConfig {
        TelegramConfig {
            api_id: self.api_id,
            api_hash: self.api_hash.clone(),
            session_path: self.session_path(account),
        }
    }
}

/// When a file was last written, as a number that changes when it is written again.
fn modified(path: &std::path::Path) -> Option<u64> {
    let modified = std::fs::metadata(path).ok()?.modified().ok()?;
    let since = modified.duration_since(std::time::UNIX_EPOCH).ok()?;
    u64::try_from(since.as_nanos()).ok()
}

impl super::accounts::Connect for SessionFiles {
    type Source = GrammersSource;

    fn accounts(&self) -> Vec<(String, u64)> {
        let mut accounts: Vec<(String, u64)> = std::fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| {
                let path = entry.path();
                let name = path.file_name()?.to_str()?.strip_suffix(".session")?;
                schemas::validate_slug(name).ok()?;
                Some((name.to_owned(), modified(&path)?))
            })
            .collect();
        if !accounts.iter().any(|(name, _)| name == SINGLE_ACCOUNT)
            && let Some(signed_in) = modified(&self.single)
        {
            accounts.push((SINGLE_ACCOUNT.to_owned(), signed_in));
        }
        accounts.sort();
        accounts
    }

    async fn connect(&self, account: &str) -> Result<GrammersSource, SourceError> {
        GrammersSource::start(&self.config(account)).await
    }
}

/// Maps Telegram's errors onto what the reader does about them.
pub fn classify_error(error: InvocationError) -> SourceError {
    if let InvocationError::Rpc(rpc) = &error {
        let waits = ["FLOOD_WAIT", "FLOOD_PREMIUM_WAIT", "SLOWMODE_WAIT"];
        if rpc.code == 420 || waits.iter().any(|name| rpc.is(name)) {
            let seconds = rpc.value.unwrap_or(1).max(1);
            return SourceError::FloodWait(Duration::from_secs(u64::from(seconds)));
        }
        let revoked = [
            "AUTH_KEY_UNREGISTERED",
            "AUTH_KEY_INVALID",
            "AUTH_KEY_DUPLICATED",
            "SESSION_REVOKED",
            "SESSION_EXPIRED",
        ];
        if rpc.is("USER_DEACTIVATED*") {
            return SourceError::Banned(rpc.name.clone());
        }
        if rpc.code == 401 || revoked.iter().any(|name| rpc.is(name)) {
            return SourceError::SessionRevoked(rpc.name.clone());
        }
        let unreadable = [
            "CHANNEL_PRIVATE",
            "CHANNEL_INVALID",
            "CHANNEL_PUBLIC_GROUP_NA",
            "CHAT_FORBIDDEN",
            "CHAT_ID_INVALID",
            "USERNAME_NOT_OCCUPIED",
            "USERNAME_INVALID",
            "USER_BANNED_IN_CHANNEL",
            "INVITE_REQUEST_SENT",
        ];
        if rpc.is("CHANNELS_TOO_MUCH") {
            return SourceError::AccountFull(rpc.name.clone());
        }
        if unreadable.iter().any(|name| rpc.is(name)) {
            return SourceError::Unreadable(rpc.name.clone());
        }
    }
    SourceError::Other(anyhow::Error::new(error))
}

/// A connected account: the pool runner is a task; dropping this stops it.
pub struct Connection {
    pub client: Client,
    handle: SenderPoolFatHandle,
    updates: Option<tokio::sync::mpsc::Receiver<grammers_client::session::updates::UpdatesLike>>,
    runner: tokio::task::JoinHandle<()>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.handle.quit();
        self.runner.abort();
    }
}

pub fn connect(config: &TelegramConfig) -> anyhow::Result<Connection> {
    let session = Arc::new(FileSession::open(&config.session_path)?);
    let SenderPool {
        runner,
        updates,
        handle,
    } = SenderPool::new(session, config.api_id);
    let client = Client::new(handle.clone());
    let runner = tokio::spawn(runner.run());
    Ok(Connection {
        client,
        handle,
        updates: Some(updates),
        runner,
    })
}

/// Asks the operator for what a login needs.
pub trait Prompt {
    fn ask(&mut self, question: &str) -> std::io::Result<String>;
    /// Like [`Prompt::ask`], without echoing the answer.
    fn ask_secret(&mut self, question: &str) -> std::io::Result<String>;
}

/// Signs the account in (phone, code, 2FA password) and stores the session; returns who is
/// signed in. A session already signed in is kept as it is.
pub async fn login(
    config: &TelegramConfig,
    phone: Option<String>,
    prompt: &mut impl Prompt,
) -> anyhow::Result<String> {
    let connection = connect(config)?;
    let client = &connection.client;
    if !client
        .is_authorized()
        .await
        .context("connecting to Telegram")?
    {
        let phone = match phone {
            Some(phone) => phone,
            None => prompt.ask("Phone number (international format, e.g. +79991234567): ")?,
        };
        let token = client
            .request_login_code(phone.trim(), config.api_hash.expose_secret())
            .await
            .context("requesting the login code")?;
        let mut attempts = 0;
        loop {
            attempts += 1;
            let code = prompt.ask("Code Telegram sent you: ")?;
            match client.sign_in(&token, code.trim()).await {
                Ok(_) => break,
                Err(SignInError::InvalidCode) if attempts < 3 => {
                    eprintln!("That code is not right; try again.");
                    continue;
                }
                Err(SignInError::PasswordRequired(mut password_token)) => loop {
                    let hint = password_token.hint().unwrap_or("none").to_owned();
                    let password = prompt.ask_secret(&format!("2FA password (hint: {hint}): "))?;
                    match client.check_password(password_token, password.trim()).await {
                        Ok(_) => break,
                        Err(SignInError::InvalidPassword(retry)) => {
                            eprintln!("That password is not right; try again.");
                            password_token = retry;
                        }
                        Err(error) => return Err(anyhow::anyhow!("2FA: {error}")),
                    }
                },
                Err(SignInError::SignUpRequired) => anyhow::bail!(
                    "this phone has no Telegram account: sign up with an official app first"
                ),
                Err(error) => return Err(anyhow::anyhow!("sign-in: {error}")),
            }
            break;
        }
    }
    // Cache every dialog's access hash in the session: resolving channels by id and filling
    // gaps in updates need them.
    let mut dialogs = client.iter_dialogs();
    while dialogs.next().await?.is_some() {}
    let me = client.get_me().await?;
    Ok(me
        .username()
        .map(|u| format!("@{u}"))
        .unwrap_or_else(|| me.full_name()))
}

/// Reads through a signed-in account.
pub struct GrammersSource {
    connection: Connection,
    /// Updates forwarded by a task that owns grammers' stream: `UpdateStream::next` is not
    /// cancel-safe (an update fetched while building its peer map would be dropped), while a
    /// channel receive is, and the reader races it with its catalog poll.
    updates: tokio::sync::mpsc::Receiver<Result<TelegramUpdate, InvocationError>>,
    forwarder: tokio::task::JoinHandle<()>,
    /// Resolved chats by Bot API id, with the references calls need.
    chats: HashMap<i64, (Chat, PeerRef)>,
}

impl GrammersSource {
    /// Connects and checks the session is signed in.
    pub async fn start(config: &TelegramConfig) -> Result<Self, SourceError> {
        let mut connection = connect(config)?;
        if !connection
            .client
            .is_authorized()
            .await
            .map_err(classify_error)?
        {
            return Err(SourceError::SessionRevoked(format!(
                "the session at {} is not signed in",
                config.session_path.display()
            )));
        }
        let updates = connection
            .updates
            .take()
            .context("the updates channel was already taken")?;
        let mut stream = connection
            .client
            .stream_updates(updates, UpdatesConfiguration { catch_up: true })
            .await
            .map_err(|e| anyhow::anyhow!("starting the update stream: {e}"))?;
        let (sender, receiver) = tokio::sync::mpsc::channel(1024);
        let forwarder = tokio::spawn(async move {
            loop {
                let next = stream.next().await;
                let failed = next.is_err();
                if sender.send(next).await.is_err() {
                    break;
                }
                if failed {
                    // Let the reader back off before asking again.
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        });
        Ok(Self {
            connection,
            updates: receiver,
            forwarder,
            chats: HashMap::new(),
        })
    }

    async fn peer_by_id(&self, chat_id: i64) -> Result<Peer, SourceError> {
        let client = &self.connection.client;
        let id = PeerId::from_bot_api_dialog_id(chat_id)
            .ok_or_else(|| SourceError::Unreadable(format!("{chat_id} is not a chat id")))?;
        // The access hash comes from the session's cache (filled by login's dialog walk).
        let reference = client
            .resolve_peer(id.to_ambient_ref())
            .await
            .map_err(classify_error)?;
        Ok(reference)
    }
}

impl GrammersSource {
    async fn peer_of(&self, channel: &ChannelRef) -> Result<Peer, SourceError> {
        match &channel.username {
            Some(username) => self
                .connection
                .client
                .resolve_username(username)
                .await
                .map_err(classify_error)?
                .ok_or_else(|| SourceError::Unreadable("USERNAME_NOT_OCCUPIED".into())),
            None => self.peer_by_id(channel.chat_id).await,
        }
    }
}

fn chat_of(peer: &Peer) -> Option<Chat> {
    let kind = match peer {
        Peer::Channel(_) => ChannelKind::Channel,
        Peer::Group(_) => ChannelKind::Group,
        _ => return None,
    };
    Some(Chat {
        chat_id: peer.id().bot_api_dialog_id()?,
        username: peer.username().map(str::to_owned),
        title: peer.name().unwrap_or_default().to_owned(),
        kind,
    })
}

/// Whether the account is outside the chat (no live updates until it joins).
fn has_left(peer: &Peer) -> bool {
    match peer {
        Peer::Channel(channel) => channel.raw.left,
        Peer::Group(group) => match &group.raw {
            tl::enums::Chat::Channel(channel) => channel.left,
            tl::enums::Chat::Chat(chat) => chat.left,
            _ => true,
        },
        _ => false,
    }
}

impl Drop for GrammersSource {
    fn drop(&mut self) {
        self.forwarder.abort();
    }
}

impl Source for GrammersSource {
    async fn resolve(&mut self, channel: &ChannelRef) -> Result<Chat, SourceError> {
        let client = self.connection.client.clone();
        let peer = self.peer_of(channel).await?;
        let chat = chat_of(&peer)
            .ok_or_else(|| SourceError::Unreadable("not a channel or group".into()))?;
        let reference = peer
            .to_ref()
            .await
            .map_err(|e| SourceError::Other(anyhow::anyhow!("{e}")))?
            .ok_or_else(|| SourceError::Unreadable("no access hash for this chat".into()))?;
        if has_left(&peer) {
            client.join_chat(reference).await.map_err(classify_error)?;
            tracing::info!(chat = chat.chat_id, title = %chat.title, "joined");
        }
        self.chats.insert(chat.chat_id, (chat.clone(), reference));
        Ok(chat)
    }

    async fn leave(&mut self, channel: &ChannelRef) -> Result<(), SourceError> {
        let peer = self.peer_of(channel).await?;
        let Some(chat) = chat_of(&peer) else {
            return Ok(());
        };
        self.chats.remove(&chat.chat_id);
        if has_left(&peer) {
            return Ok(());
        }
        let reference = peer
            .to_ref()
            .await
            .map_err(|e| SourceError::Other(anyhow::anyhow!("{e}")))?
            .ok_or_else(|| SourceError::Unreadable("no access hash for this chat".into()))?;
        self.connection
            .client
            .delete_dialog(reference)
            .await
            .map_err(classify_error)?;
        tracing::info!(chat = chat.chat_id, title = %chat.title, "left: another account reads it");
        Ok(())
    }

    async fn history(
        &mut self,
        chat: &Chat,
        after: i64,
        limit: usize,
    ) -> Result<Vec<Update>, SourceError> {
        let (_, reference) = self
            .chats
            .get(&chat.chat_id)
            .ok_or_else(|| SourceError::Other(anyhow::anyhow!("{} not resolved", chat.chat_id)))?;
        let mut messages = self
            .connection
            .client
            .iter_messages(*reference)
            .limit(limit);
        let mut missed = Vec::new();
        // Newest first: stop at the last message we already have.
        while let Some(message) = messages.next().await.map_err(classify_error)? {
            if i64::from(message.id()) <= after {
                break;
            }
            if message.action().is_none() {
                missed.push(Update::New(convert::received(
                    &message,
                    chat,
                    MessageSource::CatchUp,
                )));
            }
        }
        missed.reverse();
        Ok(missed)
    }

    async fn next_updates(&mut self) -> Result<Vec<Update>, SourceError> {
        let update = self
            .updates
            .recv()
            .await
            .ok_or_else(|| SourceError::Other(anyhow::anyhow!("update stream closed")))?
            .map_err(classify_error)?;
        let chat_of_message = |message: &grammers_client::message::Message| {
            let chat_id = message.peer_id().bot_api_dialog_id()?;
            self.chats.get(&chat_id).map(|(chat, _)| chat.clone())
        };
        let updates = match update {
            TelegramUpdate::NewMessage(message) if message.action().is_none() => {
                chat_of_message(&message)
                    .map(|chat| {
                        Update::New(convert::received(&message, &chat, MessageSource::Live))
                    })
                    .into_iter()
                    .collect()
            }
            TelegramUpdate::MessageEdited(message) => chat_of_message(&message)
                .map(|chat| Update::Edited(convert::edited(&message, &chat)))
                .into_iter()
                .collect(),
            TelegramUpdate::MessageDeleted(deletion) => match deletion.channel_id() {
                // Deletions in basic groups do not say which chat they are from; catalog
                // chats are channels and supergroups, whose deletions do.
                Some(bare) => {
                    let chat_id = PeerId::channel_unchecked(bare).bot_api_dialog_id_unchecked();
                    deletion
                        .messages()
                        .iter()
                        .map(|id| Update::Deleted(MessageKey::new(chat_id, i64::from(*id))))
                        .collect()
                }
                None => Vec::new(),
            },
            _ => Vec::new(),
        };
        Ok(updates)
    }
}

#[cfg(test)]
mod tests {
    use grammers_mtsender::RpcError;

    use super::*;

    fn rpc(code: i32, message: &str) -> InvocationError {
        InvocationError::Rpc(RpcError::from(tl::types::RpcError {
            error_code: code,
            error_message: message.into(),
        }))
    }

    #[test]
    fn telegram_errors_map_to_what_the_reader_does() {
        let cases = [
            (420, "FLOOD_WAIT_31", "flood 31"),
            (420, "SLOWMODE_WAIT_5", "flood 5"),
            (401, "AUTH_KEY_UNREGISTERED", "revoked"),
            (401, "SESSION_REVOKED", "revoked"),
            (403, "USER_DEACTIVATED_BAN", "banned"),
            (400, "CHANNEL_PRIVATE", "unreadable"),
            (400, "USERNAME_NOT_OCCUPIED", "unreadable"),
            (400, "CHANNELS_TOO_MUCH", "full"),
            (500, "INTERNAL_SERVER_ERROR", "other"),
        ];
        for (code, message, expected) in cases {
            let got = match classify_error(rpc(code, message)) {
                SourceError::FloodWait(wait) => format!("flood {}", wait.as_secs()),
                SourceError::SessionRevoked(_) => "revoked".into(),
                SourceError::Unreadable(_) => "unreadable".into(),
                SourceError::Banned(_) => "banned".into(),
                SourceError::AccountFull(_) => "full".into(),
                SourceError::Other(_) => "other".into(),
            };
            assert_eq!(got, expected, "{code} {message}");
        }
    }
}
