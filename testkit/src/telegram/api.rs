//! The Bot API methods and the control routes. Requests come as a query string, a JSON body or
//! a multipart form (uploads); every send (`sendMessage`, `sendPhoto`) passes the same checks:
//! the chat exists (a user, or a channel by id or `@username`), the bot may write there, and no
//! send limit is broken.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::faults::Fault;
use super::multipart::{self, Form};
use super::send::{chat_id, chat_json, message_json, reply_markup, send_message, validate_text};
use super::state::{Bot, Channel, World};
use crate::unix_seconds as unix_now;

type Shared = Arc<Mutex<World>>;

const MAX_LONG_POLL: u64 = 50;
/// The Bot API takes uploads of up to 50 MB; axum's default limit of 2 MB would refuse a photo
/// Telegram takes.
const MAX_BODY: usize = 50 * 1024 * 1024;

pub fn router(world: Shared) -> axum::Router {
    axum::Router::new()
        .route("/{bot}/{method}", post(method).get(method))
        .route("/control/users/{user_id}/send", post(control_send))
        .route("/control/users/{user_id}/press", post(control_press))
        .route("/control/users/{user_id}/block", post(control_block))
        .route("/control/chats/{chat_id}/messages", get(control_messages))
        .route(
            "/control/users/{user_id}/stars/{action}",
            post(control_stars),
        )
        .route("/control/channels/{chat_id}", post(control_channel))
        .route("/control/channels/{chat_id}/admins", post(control_admin))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(world)
}

/// A Bot API error in Telegram's format.
pub(super) struct ApiError {
    code: u16,
    description: String,
    retry_after: Option<u64>,
}

impl ApiError {
    pub(super) fn bad_request(description: impl std::fmt::Display) -> Self {
        Self {
            code: 400,
            description: format!("Bad Request: {description}"),
            retry_after: None,
        }
    }

    pub(super) fn description(&self) -> &str {
        &self.description
    }

    pub(super) fn forbidden(description: &str) -> Self {
        Self {
            code: 403,
            description: format!("Forbidden: {description}"),
            retry_after: None,
        }
    }

    pub(super) fn too_many_requests(seconds: u64) -> Self {
        Self {
            code: 429,
            description: format!("Too Many Requests: retry after {seconds}"),
            retry_after: Some(seconds),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body =
            json!({"ok": false, "error_code": self.code, "description": self.description});
        if let Some(seconds) = self.retry_after {
            body["parameters"] = json!({"retry_after": seconds});
        }
        let status = StatusCode::from_u16(self.code).unwrap_or(StatusCode::BAD_REQUEST);
        (status, Json(body)).into_response()
    }
}

fn ok(result: Value) -> Response {
    Json(json!({"ok": true, "result": result})).into_response()
}

fn lock(world: &Shared) -> std::sync::MutexGuard<'_, World> {
    world.lock().unwrap_or_else(|p| p.into_inner())
}

async fn method(
    State(world): State<Shared>,
    Path((bot, method)): Path<(String, String)>,
    Query(query): Query<serde_json::Map<String, Value>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(token) = bot.strip_prefix("bot") else {
        return ApiError {
            code: 404,
            description: "Not Found".into(),
            retry_after: None,
        }
        .into_response();
    };
    let request = match read_request(&headers, query, &body) {
        Ok(request) => request,
        Err(error) => return error.into_response(),
    };
    if lock(&world).bot(token).is_none() {
        return ApiError {
            code: 401,
            description: "Unauthorized".into(),
            retry_after: None,
        }
        .into_response();
    }
    let fault = lock(&world).faults.next(&method);
    if let Some(refusal) = fault.and_then(super::faults::refusal) {
        return refusal;
    }
    let response = carry_out(world, token, &method, request).await;
    if let Some(Fault::LateAnswer(delay)) = fault {
        tokio::time::sleep(delay).await;
    }
    response
}

/// A request's parameters — from the query string, a JSON body or a multipart form (as teloxide
/// sends uploads) — and the files uploaded with it.
fn read_request(
    headers: &HeaderMap,
    query: serde_json::Map<String, Value>,
    body: &[u8],
) -> Result<Form, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    if multipart::is_multipart(content_type) {
        return multipart::parse(content_type, body).map_err(ApiError::bad_request);
    }
    if body.is_empty() {
        return Ok(Form::new(Value::Object(query)));
    }
    serde_json::from_slice(body)
        .map(Form::new)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON: {e}")))
}

/// Does what a method asks and answers as Telegram would.
async fn carry_out(world: Shared, token: &str, method: &str, request: Form) -> Response {
    let Form { params, files } = request;
    let result = match method.to_ascii_lowercase().as_str() {
        "getupdates" => return get_updates(world, token, &params).await,
        "getme" => Ok(me(&mut lock(&world), token)),
        "sendmessage" => send_message(&mut lock(&world), token, &params),
        "sendphoto" => super::media::send_photo(&mut lock(&world), token, &params, &files),
        "editmessagetext" => edit_message(&mut lock(&world), token, &params, true),
        "editmessagereplymarkup" => edit_message(&mut lock(&world), token, &params, false),
        "answercallbackquery" => {
            with_bot(&mut lock(&world), token, |bot| {
                bot.answered_callbacks.push(params.clone())
            });
            Ok(json!(true))
        }
        "deletemessage" => delete_message(&mut lock(&world), token, &params),
        "sendinvoice" => super::stars::send_invoice(&mut lock(&world), token, &params),
        "createinvoicelink" => super::stars::create_invoice_link(&mut lock(&world), token, &params),
        "getstartransactions" => super::stars::star_transactions(&mut lock(&world), token, &params),
        "refundstarpayment" => super::stars::refund_star_payment(&mut lock(&world), token, &params),
        "edituserstarsubscription" => {
            super::stars::edit_user_star_subscription(&mut lock(&world), token, &params)
        }
        "answerprecheckoutquery" => {
            super::stars::answer_pre_checkout(&mut lock(&world), token, &params)
        }
        "setmycommands" => {
            with_bot(&mut lock(&world), token, |bot| {
                let commands = params["commands"].clone();
                match &params["scope"] {
                    Value::Null => bot.commands = commands,
                    scope if scope["type"] == "default" => bot.commands = commands,
                    scope => {
                        bot.scoped_commands.insert(scope.to_string(), commands);
                    }
                }
            });
            Ok(json!(true))
        }
        "getmycommands" => {
            Ok(with_bot(&mut lock(&world), token, |bot| bot.commands.clone()).unwrap_or(json!([])))
        }
        "deletewebhook" | "setwebhook" | "close" | "logout" => Ok(json!(true)),
        "getwebhookinfo" => {
            Ok(json!({"url": "", "has_custom_certificate": false, "pending_update_count": 0}))
        }
        _ => Err(ApiError {
            code: 404,
            description: "Not Found: method not found".into(),
            retry_after: None,
        }),
    };
    match result {
        Ok(value) => ok(value),
        Err(error) => error.into_response(),
    }
}

fn with_bot<T>(world: &mut World, token: &str, f: impl FnOnce(&mut Bot) -> T) -> Option<T> {
    world.bot(token).map(f)
}

fn me(world: &mut World, token: &str) -> Value {
    let Some(bot) = world.bot(token) else {
        return Value::Null;
    };
    json!({
        "id": bot.id, "is_bot": true, "first_name": bot.first_name, "username": bot.username,
        "can_join_groups": true, "can_read_all_group_messages": false,
        "supports_inline_queries": false, "can_connect_to_business": false, "has_main_web_app": false
    })
}

async fn get_updates(world: Shared, token: &str, params: &Value) -> Response {
    let offset = int(&params["offset"]).unwrap_or(0);
    let limit = int(&params["limit"]).unwrap_or(100).clamp(1, 100) as usize;
    let timeout = int(&params["timeout"])
        .unwrap_or(0)
        .clamp(0, MAX_LONG_POLL as i64) as u64;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout);
    loop {
        let notify = {
            let mut world = lock(&world);
            let Some(bot) = world.bot(token) else {
                return ok(json!([]));
            };
            // Confirming an offset forgets everything before it, as Telegram does.
            bot.updates.retain(|(id, _)| *id >= offset);
            if !bot.updates.is_empty() || tokio::time::Instant::now() >= deadline {
                let batch: Vec<Value> = bot
                    .updates
                    .iter()
                    .take(limit)
                    .map(|(_, u)| u.clone())
                    .collect();
                return ok(Value::Array(batch));
            }
            bot.notify.clone()
        };
        let _ = tokio::time::timeout_at(deadline, notify.notified()).await;
    }
}

pub(super) fn int(value: &Value) -> Option<i64> {
    value.as_i64().or_else(|| value.as_str()?.parse().ok())
}

fn edit_message(
    world: &mut World,
    token: &str,
    params: &Value,
    with_text: bool,
) -> Result<Value, ApiError> {
    let chat_id = chat_id(world, params)?;
    let message_id = int(&params["message_id"])
        .ok_or_else(|| ApiError::bad_request("message to edit not found"))?;
    let text = params["text"].as_str().map(str::to_owned);
    let parse_mode = params["parse_mode"].as_str().map(str::to_owned);
    if with_text {
        validate_text(text.as_deref().unwrap_or_default(), parse_mode.as_deref())?;
    }
    let markup = reply_markup(params)?;
    let chat = chat_json(world, chat_id);
    let bot = world
        .bot(token)
        .ok_or_else(|| ApiError::bad_request("bot not found"))?;
    let index = bot
        .sent
        .iter()
        .position(|m| m.chat_id == chat_id && m.message_id == message_id && !m.deleted)
        .ok_or_else(|| ApiError::bad_request("message to edit not found"))?;
    let message = &mut bot.sent[index];
    if with_text && message.photo.is_some() {
        return Err(ApiError::bad_request(
            "there is no text in the message to edit",
        ));
    }
    let unchanged = (!with_text || text.as_deref() == Some(message.text.as_str()))
        && markup == message.reply_markup;
    if unchanged {
        return Err(ApiError::bad_request(
            "message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message",
        ));
    }
    if let Some(text) = text.filter(|_| with_text) {
        message.text = text;
        message.parse_mode = parse_mode;
    }
    message.reply_markup = markup;
    message.edits += 1;
    let sent = message.clone();
    Ok(message_json(bot, chat, &sent))
}

fn delete_message(world: &mut World, token: &str, params: &Value) -> Result<Value, ApiError> {
    let chat_id = chat_id(world, params)?;
    let message_id = int(&params["message_id"]).unwrap_or_default();
    let bot = world
        .bot(token)
        .ok_or_else(|| ApiError::bad_request("bot not found"))?;
    let message = bot
        .sent
        .iter_mut()
        .find(|m| m.chat_id == chat_id && m.message_id == message_id && !m.deleted)
        .ok_or_else(|| ApiError::bad_request("message to delete not found"))?;
    message.deleted = true;
    Ok(json!(true))
}

/// The token of a bot named by token or @username.
pub(super) fn token_of(world: &mut World, bot: &str) -> Result<String, String> {
    if world.bot(bot).is_some() {
        return Ok(bot.to_owned());
    }
    world
        .bot_by_username(bot)
        .map(|(token, _)| token)
        .ok_or_else(|| format!("no bot {bot}"))
}

pub fn find_bot<'a>(world: &'a mut World, bot: &str) -> Option<&'a mut Bot> {
    let token = token_of(world, bot).ok()?;
    world.bots.get_mut(&token)
}

pub fn user_says(world: &mut World, bot: &str, user_id: i64, text: &str) -> Result<i64, String> {
    let token = token_of(world, bot)?;
    let user = world.user(user_id);
    let bot = world.bots.get_mut(&token).ok_or("no bot")?;
    let bot_id = bot.id;
    let message_id = bot.next_message_id;
    bot.next_message_id += 1;
    let mut message = json!({
        "message_id": message_id, "from": user.json(), "chat": user.chat_json(),
        "date": unix_now(), "text": text,
    });
    if text.starts_with('/') {
        let length = text
            .split_whitespace()
            .next()
            .map_or(0, |c| c.encode_utf16().count());
        message["entities"] = json!([{"type": "bot_command", "offset": 0, "length": length}]);
    }
    let update = bot.push_update(json!({"message": message}));
    world.started.insert((bot_id, user_id));
    world.blocked.remove(&(bot_id, user_id));
    Ok(update)
}

/// A user presses a button under a message the bot sent them, or posted to a channel.
pub fn press(
    world: &mut World,
    bot: &str,
    user_id: i64,
    message_id: i64,
    data: &str,
) -> Result<i64, String> {
    let token = token_of(world, bot)?;
    let user = world.user(user_id);
    let sent = world
        .bots
        .get(&token)
        .ok_or("no bot")?
        .sent
        .iter()
        .find(|m| {
            m.message_id == message_id
                && !m.deleted
                && (m.chat_id == user_id || world.channels.contains_key(&m.chat_id))
        })
        .cloned()
        .ok_or_else(|| format!("the bot sent no message {message_id} to {user_id}"))?;
    let chat = chat_json(world, sent.chat_id);
    world.next_callback_id += 1;
    let callback_id = world.next_callback_id.to_string();
    let bot = world.bots.get_mut(&token).ok_or("no bot")?;
    let message = message_json(bot, chat, &sent);
    Ok(bot.push_update(json!({"callback_query": {
        "id": callback_id, "from": user.json(), "message": message,
        "chat_instance": format!("ci{user_id}"), "data": data,
    }})))
}

pub fn block(world: &mut World, bot: &str, user_id: i64) -> Result<(), String> {
    let token = token_of(world, bot)?;
    let bot_id = world.bots.get(&token).map(|b| b.id).ok_or("no bot")?;
    world.blocked.insert((bot_id, user_id));
    Ok(())
}

/// A public channel appears (or is renamed), keeping its admins.
pub fn create_channel(world: &mut World, id: i64, username: &str, title: &str) {
    let channel = world.channels.entry(id).or_insert_with(|| Channel {
        id,
        username: String::new(),
        title: String::new(),
        admins: Default::default(),
    });
    channel.username = username.trim_start_matches('@').to_owned();
    channel.title = title.to_owned();
}

/// The channel's owner makes a bot an admin: it may post there from now on.
pub fn make_channel_admin(world: &mut World, bot: &str, channel_id: i64) -> Result<(), String> {
    let token = token_of(world, bot)?;
    let bot_id = world.bots.get(&token).map(|b| b.id).ok_or("no bot")?;
    let channel = world
        .channels
        .get_mut(&channel_id)
        .ok_or_else(|| format!("no channel {channel_id}"))?;
    channel.admins.insert(bot_id);
    Ok(())
}

async fn control_send(
    State(world): State<Shared>,
    Path(user_id): Path<i64>,
    Json(body): Json<Value>,
) -> Response {
    let (bot, text) = (
        body["bot"].as_str().unwrap_or_default(),
        body["text"].as_str().unwrap_or_default(),
    );
    control_result(
        user_says(&mut lock(&world), bot, user_id, text).map(|id| json!({"update_id": id})),
    )
}

async fn control_press(
    State(world): State<Shared>,
    Path(user_id): Path<i64>,
    Json(body): Json<Value>,
) -> Response {
    let bot = body["bot"].as_str().unwrap_or_default();
    let message_id = int(&body["message_id"]).unwrap_or_default();
    let data = body["data"].as_str().unwrap_or_default();
    control_result(
        press(&mut lock(&world), bot, user_id, message_id, data).map(|id| json!({"update_id": id})),
    )
}

async fn control_block(
    State(world): State<Shared>,
    Path(user_id): Path<i64>,
    Json(body): Json<Value>,
) -> Response {
    let bot = body["bot"].as_str().unwrap_or_default();
    control_result(block(&mut lock(&world), bot, user_id).map(|()| json!(true)))
}

/// Body: `username`, `title`.
async fn control_channel(
    State(world): State<Shared>,
    Path(chat_id): Path<i64>,
    Json(body): Json<Value>,
) -> Response {
    let username = body["username"].as_str().unwrap_or_default();
    let title = body["title"].as_str().unwrap_or(username);
    create_channel(&mut lock(&world), chat_id, username, title);
    ok(json!(true))
}

/// Body: `bot`.
async fn control_admin(
    State(world): State<Shared>,
    Path(chat_id): Path<i64>,
    Json(body): Json<Value>,
) -> Response {
    let bot = body["bot"].as_str().unwrap_or_default();
    control_result(make_channel_admin(&mut lock(&world), bot, chat_id).map(|()| json!(true)))
}

async fn control_messages(
    State(world): State<Shared>,
    Path(chat_id): Path<i64>,
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let mut world = lock(&world);
    let bots: Vec<String> = match query.get("bot") {
        Some(bot) => vec![bot.clone()],
        None => world.bots.values().map(|b| b.username.clone()).collect(),
    };
    let mut messages = Vec::new();
    for name in bots {
        if let Some(bot) = find_bot(&mut world, &name) {
            for m in bot.sent.iter().filter(|m| m.chat_id == chat_id) {
                messages.push(
                    json!({"bot": bot.username, "message_id": m.message_id, "text": m.text,
                    "reply_markup": m.reply_markup, "deleted": m.deleted, "edits": m.edits,
                    "photo_bytes": m.photo.as_ref().map(Vec::len)}),
                );
            }
        }
    }
    ok(Value::Array(messages))
}

/// The payer's side of Stars: `pay` an invoice (pre-checkout, then the charge), Telegram's
/// `renew`al of a subscription, a `refund` Telegram makes on its own. Body: `bot`, and
/// `payload` or `charge_id`.
async fn control_stars(
    State(world): State<Shared>,
    Path((user_id, action)): Path<(i64, String)>,
    Json(body): Json<Value>,
) -> Response {
    let bot = body["bot"].as_str().unwrap_or_default();
    let payload = body["payload"].as_str().unwrap_or_default();
    let token = match token_of(&mut lock(&world), bot) {
        Ok(token) => token,
        Err(e) => return control_result(Err(e)),
    };
    let result = match action.as_str() {
        "pay" => super::stars::pay(&world, &token, user_id, payload)
            .await
            .map(|paid| match paid {
                super::stars::Paid::Charged(charge) => {
                    json!({"charged": true, "charge_id": charge})
                }
                super::stars::Paid::Refused(why) => json!({"charged": false, "error_message": why}),
            }),
        "renew" => super::stars::renew(&mut lock(&world), &token, user_id, payload)
            .map(|charge| json!({"charge_id": charge})),
        "refund" => {
            let charge = body["charge_id"].as_str().unwrap_or_default();
            super::stars::refund_by_telegram(&mut lock(&world), &token, user_id, charge)
                .map(|()| json!(true))
        }
        other => Err(format!("unknown action {other}")),
    };
    control_result(result)
}

fn control_result(result: Result<Value, String>) -> Response {
    match result {
        Ok(value) => ok(value),
        Err(description) => ApiError::bad_request(description).into_response(),
    }
}
