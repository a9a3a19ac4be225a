//! What every send (`sendMessage`, `sendPhoto`) goes through, and how a sent message is
//! described: the chat `chat_id` names (a user by id; a channel by id or `@username`), whether
//! the bot may write there (a user started it and did not block it; a channel has it as an
//! admin), Telegram's send limits (a channel's per minute), the text's parse mode and length,
//! the inline keyboard, and the Message JSON Telegram answers (a channel post comes from the
//! channel: `sender_chat`, no `from`).

use serde_json::{Value, json};

use super::api::{ApiError, int};
use super::html;
use super::state::{Bot, Channel, Sent, World};
use crate::unix_seconds as unix_now;

const MAX_TEXT: usize = 4096;

/// A chat a bot writes to.
enum Chat {
    User(i64),
    Channel(Channel),
}

/// The chat `chat_id` names: a channel by id or `@username`, else a user by id (users exist
/// once named; unknown groups and usernames do not).
fn find_chat(world: &World, chat_id: &Value) -> Result<Chat, ApiError> {
    let not_found = || ApiError::bad_request("chat not found");
    if let Some(username) = chat_id.as_str().and_then(|s| s.strip_prefix('@')) {
        return world
            .channel_by_username(username)
            .cloned()
            .map(Chat::Channel)
            .ok_or_else(not_found);
    }
    let id = int(chat_id).ok_or_else(not_found)?;
    match world.channels.get(&id) {
        Some(channel) => Ok(Chat::Channel(channel.clone())),
        None if id > 0 => Ok(Chat::User(id)),
        None => Err(not_found()),
    }
}

pub(super) fn chat_id(world: &World, params: &Value) -> Result<i64, ApiError> {
    Ok(match find_chat(world, &params["chat_id"])? {
        Chat::User(id) => id,
        Chat::Channel(channel) => channel.id,
    })
}

/// The `chat` of a message in this chat, as Telegram describes it.
pub(super) fn chat_json(world: &mut World, chat_id: i64) -> Value {
    match world.channels.get(&chat_id) {
        Some(channel) => channel.chat_json(),
        None => world.user(chat_id).chat_json(),
    }
}

/// The text as Telegram shows it: the parse mode's markup checked and stripped.
pub(super) fn parsed_text(text: &str, parse_mode: Option<&str>) -> Result<String, ApiError> {
    match parse_mode.map(str::to_ascii_lowercase).as_deref() {
        Some("html") => html::plain_text(text).map_err(ApiError::bad_request),
        None => Ok(text.to_owned()),
        Some(other) => Err(ApiError::bad_request(format!(
            "unsupported parse_mode {other}"
        ))),
    }
}

/// Checks a message's text against the parse mode and the length limit.
pub(super) fn validate_text(text: &str, parse_mode: Option<&str>) -> Result<(), ApiError> {
    let plain = parsed_text(text, parse_mode)?;
    if plain.trim().is_empty() {
        return Err(ApiError::bad_request("message text is empty"));
    }
    if plain.encode_utf16().count() > MAX_TEXT {
        return Err(ApiError::bad_request("message is too long"));
    }
    Ok(())
}

/// The request's `reply_markup`, checked.
pub(super) fn reply_markup(params: &Value) -> Result<Option<Value>, ApiError> {
    let markup = params.get("reply_markup").filter(|m| !m.is_null()).cloned();
    if let Some(markup) = &markup {
        validate_markup(markup)?;
    }
    Ok(markup)
}

fn validate_markup(markup: &Value) -> Result<(), ApiError> {
    let Some(rows) = markup.get("inline_keyboard") else {
        return Ok(());
    };
    for button in rows
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|r| r.as_array().into_iter().flatten())
    {
        if button["text"].as_str().is_none_or(str::is_empty) {
            return Err(ApiError::bad_request(
                "text buttons are unallowed in the inline keyboard",
            ));
        }
        if let Some(data) = button.get("callback_data") {
            let bytes = data.as_str().map_or(0, str::len);
            if !(1..=64).contains(&bytes) {
                return Err(ApiError::bad_request("BUTTON_DATA_INVALID"));
            }
        }
    }
    Ok(())
}

/// A message as Telegram describes it: from the bot, or in a channel from the channel itself
/// (`sender_chat`, no `from`); a text, or a photo with its caption.
pub(super) fn message_json(bot: &Bot, chat: Value, sent: &Sent) -> Value {
    let mut message = json!({"message_id": sent.message_id, "date": unix_now()});
    if chat["type"] == "channel" {
        message["sender_chat"] = chat.clone();
    } else {
        message["from"] = bot.user_json();
    }
    message["chat"] = chat;
    let plain = plain(&sent.text, sent.parse_mode.as_deref());
    match &sent.photo {
        Some(photo) => {
            message["photo"] = super::media::photo_json(photo);
            if !plain.is_empty() {
                message["caption"] = json!(plain);
            }
        }
        None => message["text"] = json!(plain),
    }
    if let Some(markup) = &sent.reply_markup {
        message["reply_markup"] = markup.clone();
    }
    message
}

/// Where a send goes, once the chat let the bot in.
pub(super) struct Destination {
    chat_id: i64,
    chat: Value,
}

/// The checks every send makes once its content passed: the chat exists; the bot may write
/// there (a user started it and did not block it since; a channel has it as an admin); and no
/// send limit is broken (a channel's is per minute). The send is counted against the limits.
pub(super) fn admit_send(
    world: &mut World,
    token: &str,
    params: &Value,
) -> Result<Destination, ApiError> {
    let chat = find_chat(world, &params["chat_id"])?;
    let (limits, bot_id) = (
        world.limits,
        world.bot(token).map(|b| b.id).unwrap_or_default(),
    );
    let (destination, pace) = match chat {
        Chat::Channel(channel) => {
            if !channel.admins.contains(&bot_id) {
                return Err(ApiError::forbidden(
                    "bot is not a member of the channel chat",
                ));
            }
            let chat = channel.chat_json();
            (
                Destination {
                    chat_id: channel.id,
                    chat,
                },
                limits.channel(),
            )
        }
        Chat::User(chat_id) => {
            let chat = world.user(chat_id).chat_json();
            if world.blocked.contains(&(bot_id, chat_id)) {
                return Err(ApiError::forbidden("bot was blocked by the user"));
            }
            if !world.started.contains(&(bot_id, chat_id)) {
                return Err(ApiError::forbidden(
                    "bot can't initiate conversation with a user",
                ));
            }
            (Destination { chat_id, chat }, limits.private_chat())
        }
    };
    let bot = world
        .bot(token)
        .ok_or_else(|| ApiError::bad_request("bot not found"))?;
    let paid = params["allow_paid_broadcast"] == true || params["allow_paid_broadcast"] == "true";
    if let Some(seconds) = bot.admit(
        destination.chat_id,
        pace,
        &limits,
        paid,
        std::time::Instant::now(),
    ) {
        return Err(ApiError::too_many_requests(seconds));
    }
    Ok(destination)
}

/// What a bot sends: a text, or a photo with `text` as its caption.
pub(super) struct Content {
    pub text: String,
    pub parse_mode: Option<String>,
    pub reply_markup: Option<Value>,
    pub photo: Option<Vec<u8>>,
    /// `disable_notification`: the user's phone does not ring.
    pub silent: bool,
    /// `link_preview_options.is_disabled`: Telegram fetches no preview of its links.
    pub no_preview: bool,
}

/// `disable_notification` as a JSON body (a bool) or a form field (a string) gives it.
pub(super) fn silent(params: &Value) -> bool {
    params["disable_notification"] == true || params["disable_notification"] == "true"
}

/// Records an admitted send and answers the message, as Telegram does.
pub(super) fn deliver(
    world: &mut World,
    token: &str,
    destination: Destination,
    content: Content,
) -> Result<Value, ApiError> {
    let bot = world
        .bot(token)
        .ok_or_else(|| ApiError::bad_request("bot not found"))?;
    let sent = Sent {
        message_id: bot.next_message_id,
        chat_id: destination.chat_id,
        text: content.text,
        photo: content.photo,
        parse_mode: content.parse_mode,
        reply_markup: content.reply_markup,
        deleted: false,
        edits: 0,
        silent: content.silent,
        no_preview: content.no_preview,
        at: std::time::Instant::now(),
    };
    bot.next_message_id += 1;
    let message = message_json(bot, destination.chat, &sent);
    bot.sent.push(sent);
    Ok(message)
}

pub(super) fn send_message(
    world: &mut World,
    token: &str,
    params: &Value,
) -> Result<Value, ApiError> {
    let text = params["text"].as_str().unwrap_or_default().to_owned();
    let parse_mode = params["parse_mode"].as_str().map(str::to_owned);
    validate_text(&text, parse_mode.as_deref())?;
    let reply_markup = reply_markup(params)?;
    let destination = admit_send(world, token, params)?;
    let content = Content {
        text,
        parse_mode,
        reply_markup,
        photo: None,
        silent: silent(params),
        no_preview: params["link_preview_options"]["is_disabled"] == true,
    };
    deliver(world, token, destination, content)
}

fn plain(text: &str, parse_mode: Option<&str>) -> String {
    match parse_mode {
        Some(_) => html::plain_text(text).unwrap_or_else(|_| text.to_owned()),
        None => text.to_owned(),
    }
}
