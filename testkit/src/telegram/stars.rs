//! Telegram Stars in the fake Bot API: `sendInvoice` and `createInvoiceLink` in XTR,
//! `answerPreCheckoutQuery`, and the payer's side: a pre-checkout query, then the
//! `successful_payment` message.

use serde_json::{Value, json};

use super::api::ApiError;
use super::state::World;
use crate::unix_seconds as unix_now;

/// Checks an invoice as Telegram does for Stars: XTR, no provider token, one price, a payload
/// of 1–128 bytes.
fn check_invoice(params: &Value) -> Result<(String, i64), ApiError> {
    if params["currency"].as_str() != Some("XTR") {
        return Err(ApiError::bad_request(
            "only XTR invoices are supported here",
        ));
    }
    if params["provider_token"]
        .as_str()
        .is_some_and(|t| !t.is_empty())
    {
        return Err(ApiError::bad_request(
            "provider_token must be empty for XTR",
        ));
    }
    let payload = params["payload"].as_str().unwrap_or_default();
    if payload.is_empty() || payload.len() > 128 {
        return Err(ApiError::bad_request("INVOICE_PAYLOAD_INVALID"));
    }
    let prices = params["prices"].as_array().cloned().unwrap_or_default();
    let [price] = prices.as_slice() else {
        return Err(ApiError::bad_request("XTR invoices take exactly one price"));
    };
    let amount = price["amount"]
        .as_i64()
        .filter(|a| *a > 0)
        .ok_or_else(|| ApiError::bad_request("bad price"))?;
    Ok((payload.to_owned(), amount))
}

pub fn send_invoice(world: &mut World, token: &str, params: &Value) -> Result<Value, ApiError> {
    let (payload, amount) = check_invoice(params)?;
    let chat_id = params["chat_id"]
        .as_i64()
        .ok_or_else(|| ApiError::bad_request("chat_id"))?;
    let user = world.user(chat_id);
    let bot = world
        .bot(token)
        .ok_or_else(|| ApiError::bad_request("bot not found"))?;
    let message_id = bot.next_message_id;
    bot.next_message_id += 1;
    bot.invoices.push(
        json!({"chat_id": chat_id, "payload": payload, "amount": amount,
                             "title": params["title"], "message_id": message_id}),
    );
    Ok(json!({
        "message_id": message_id, "from": bot.user_json(), "chat": user.chat_json(), "date": unix_now(),
        "invoice": {"title": params["title"], "description": params["description"],
                    "start_parameter": "", "currency": "XTR", "total_amount": amount},
    }))
}

pub fn create_invoice_link(
    world: &mut World,
    token: &str,
    params: &Value,
) -> Result<Value, ApiError> {
    let (payload, amount) = check_invoice(params)?;
    if let Some(period) = params["subscription_period"].as_i64()
        && period != 2_592_000
    {
        return Err(ApiError::bad_request("subscription_period must be 2592000"));
    }
    let bot = world
        .bot(token)
        .ok_or_else(|| ApiError::bad_request("bot not found"))?;
    bot.invoices.push(
        json!({"chat_id": null, "payload": payload, "amount": amount, "title": params["title"]}),
    );
    Ok(json!(format!(
        "https://t.me/$fake_invoice_{}",
        bot.invoices.len()
    )))
}

pub fn answer_pre_checkout(
    world: &mut World,
    token: &str,
    params: &Value,
) -> Result<Value, ApiError> {
    if params["ok"].as_bool() == Some(false) && params["error_message"].as_str().is_none() {
        return Err(ApiError::bad_request(
            "error_message is required when ok is false",
        ));
    }
    let bot = world
        .bot(token)
        .ok_or_else(|| ApiError::bad_request("bot not found"))?;
    bot.pre_checkout_answers.push(params.clone());
    Ok(json!(true))
}

/// The payer confirms: the bot gets a pre-checkout query (its id is returned).
pub fn pre_checkout(
    world: &mut World,
    token: &str,
    user_id: i64,
    payload: &str,
    amount: i64,
) -> Result<String, String> {
    let user = world.user(user_id);
    let bot = world.bot(token).ok_or("no bot")?;
    let id = format!("pcq{}", bot.next_update_id);
    bot.push_update(json!({"pre_checkout_query": {
        "id": id, "from": user.json(), "currency": "XTR", "total_amount": amount, "invoice_payload": payload,
    }}));
    Ok(id)
}

/// Telegram charged the payer: the bot gets the `successful_payment` message.
pub fn successful_payment(
    world: &mut World,
    token: &str,
    user_id: i64,
    payload: &str,
    amount: i64,
    charge_id: &str,
) -> Result<(), String> {
    let user = world.user(user_id);
    let bot = world.bot(token).ok_or("no bot")?;
    let message_id = bot.next_message_id;
    bot.next_message_id += 1;
    bot.push_update(json!({"message": {
        "message_id": message_id, "from": user.json(), "chat": user.chat_json(), "date": unix_now(),
        "successful_payment": {"currency": "XTR", "total_amount": amount, "invoice_payload": payload,
                               "telegram_payment_charge_id": charge_id, "provider_payment_charge_id": ""},
    }}));
    Ok(())
}
