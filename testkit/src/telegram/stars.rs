//! Telegram Stars in the fake Bot API: `sendInvoice` and `createInvoiceLink` in XTR (with a
//! 30-day subscription period), `answerPreCheckoutQuery`, `refundStarPayment`, and the payer's
//! side: a pre-checkout query, then the `successful_payment` message; a subscription's renewals;
//! a refund Telegram makes on its own (`refunded_payment`); `getStarTransactions`, Telegram's
//! own ledger of both, which stays complete when the updates are lost;
//! `editUserStarSubscription`, after which a canceled subscription is not renewed.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
    bot.invoices.push(json!({"chat_id": null, "payload": payload, "amount": amount,
                             "title": params["title"], "subscription_period": params["subscription_period"]}));
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

/// Telegram charged the payer: the bot gets the `successful_payment` message. A payment of a
/// subscription invoice is recurring: the first charge of its payload is the first recurring
/// one, later charges are renewals.
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
    let subscription = bot
        .invoices
        .iter()
        .any(|i| i["payload"] == payload && i["subscription_period"].is_i64());
    let first = !bot.charges.iter().any(|c| c["payload"] == payload);
    bot.charges.push(
        json!({"user_id": user_id, "payload": payload, "amount": amount,
                            "charge_id": charge_id, "refunded": false}),
    );
    let mut source = json!({"type": "user", "transaction_type": "invoice_payment",
                            "user": user.json(), "invoice_payload": payload});
    if subscription {
        source["subscription_period"] = json!(2_592_000);
    }
    bot.star_transactions.push(
        json!({"id": charge_id, "amount": amount, "date": unix_now(),
                                      "source": source}),
    );
    if bot.lose_payment_updates {
        return Ok(());
    }
    let mut paid = json!({"currency": "XTR", "total_amount": amount, "invoice_payload": payload,
                          "telegram_payment_charge_id": charge_id, "provider_payment_charge_id": ""});
    if subscription {
        paid["is_recurring"] = json!(true);
        paid["is_first_recurring"] = json!(first);
        paid["subscription_expiration_date"] = json!(unix_now() + 30 * 24 * 3600);
    }
    let message_id = bot.next_message_id;
    bot.next_message_id += 1;
    bot.push_update(json!({"message": {
        "message_id": message_id, "from": user.json(), "chat": user.chat_json(), "date": unix_now(),
        "successful_payment": paid,
    }}));
    Ok(())
}

/// A charge goes back to the payer: marked refunded, and the bot gets the `refunded_payment`
/// message, as Telegram sends it.
fn refund(world: &mut World, token: &str, user_id: i64, charge_id: &str) -> Result<(), ApiError> {
    let user = world.user(user_id);
    let bot = world
        .bot(token)
        .ok_or_else(|| ApiError::bad_request("bot not found"))?;
    let charge = bot
        .charges
        .iter_mut()
        .find(|c| c["charge_id"] == charge_id && c["user_id"] == user_id)
        .ok_or_else(|| ApiError::bad_request("CHARGE_NOT_FOUND"))?;
    if charge["refunded"] == true {
        return Err(ApiError::bad_request("CHARGE_ALREADY_REFUNDED"));
    }
    charge["refunded"] = json!(true);
    let receiver = json!({"type": "user", "transaction_type": "invoice_payment",
                          "user": user.json(), "invoice_payload": charge["payload"]});
    let transaction = json!({"id": charge_id, "amount": charge["amount"], "date": unix_now(),
                             "receiver": receiver});
    let refunded = json!({"currency": "XTR", "total_amount": charge["amount"],
                          "invoice_payload": charge["payload"], "telegram_payment_charge_id": charge_id});
    bot.star_transactions.push(transaction);
    if bot.lose_payment_updates {
        return Ok(());
    }
    let message_id = bot.next_message_id;
    bot.next_message_id += 1;
    bot.push_update(json!({"message": {
        "message_id": message_id, "from": user.json(), "chat": user.chat_json(), "date": unix_now(),
        "refunded_payment": refunded,
    }}));
    Ok(())
}

/// The user and the charge a Stars method names.
fn user_and_charge(params: &Value) -> Result<(i64, &str), ApiError> {
    let user_id = params["user_id"]
        .as_i64()
        .ok_or_else(|| ApiError::bad_request("user_id"))?;
    let charge_id = params["telegram_payment_charge_id"]
        .as_str()
        .ok_or_else(|| ApiError::bad_request("telegram_payment_charge_id"))?;
    Ok((user_id, charge_id))
}

/// `refundStarPayment`.
pub fn refund_star_payment(
    world: &mut World,
    token: &str,
    params: &Value,
) -> Result<Value, ApiError> {
    let (user_id, charge_id) = user_and_charge(params)?;
    refund(world, token, user_id, charge_id)?;
    Ok(json!(true))
}

/// `editUserStarSubscription`: the bot cancels a user's subscription (Telegram stops renewing
/// it; the paid month runs on) or allows it again, naming it by a charge of it.
pub fn edit_user_star_subscription(
    world: &mut World,
    token: &str,
    params: &Value,
) -> Result<Value, ApiError> {
    let (user_id, charge_id) = user_and_charge(params)?;
    let canceled = params["is_canceled"]
        .as_bool()
        .ok_or_else(|| ApiError::bad_request("is_canceled"))?;
    let bot = world
        .bot(token)
        .ok_or_else(|| ApiError::bad_request("bot not found"))?;
    let payload = bot
        .charges
        .iter()
        .find(|c| c["charge_id"] == charge_id && c["user_id"] == user_id)
        .and_then(|c| c["payload"].as_str())
        .map(str::to_owned)
        .ok_or_else(|| ApiError::bad_request("CHARGE_ID_INVALID"))?;
    let subscription = bot
        .invoices
        .iter()
        .any(|i| i["payload"] == payload.as_str() && i["subscription_period"].is_i64());
    if !subscription {
        return Err(ApiError::bad_request("SUBSCRIPTION_ID_INVALID"));
    }
    if canceled {
        bot.canceled_subscriptions.insert(payload);
    } else {
        bot.canceled_subscriptions.remove(&payload);
    }
    bot.star_subscription_edits.push(params.clone());
    Ok(json!(true))
}

/// `getStarTransactions`: `limit` (1–100, default 100) transactions after `offset`, oldest first.
pub fn star_transactions(
    world: &mut World,
    token: &str,
    params: &Value,
) -> Result<Value, ApiError> {
    let offset = params["offset"].as_u64().unwrap_or(0) as usize;
    let limit = params["limit"].as_u64().unwrap_or(100) as usize;
    if !(1..=100).contains(&limit) {
        return Err(ApiError::bad_request("limit must be between 1 and 100"));
    }
    let bot = world
        .bot(token)
        .ok_or_else(|| ApiError::bad_request("bot not found"))?;
    let page: Vec<Value> = bot
        .star_transactions
        .iter()
        .skip(offset)
        .take(limit)
        .cloned()
        .collect();
    Ok(json!({"transactions": page}))
}

/// Telegram refunds a charge on its own (a dispute, its support).
pub fn refund_by_telegram(
    world: &mut World,
    token: &str,
    user_id: i64,
    charge_id: &str,
) -> Result<(), String> {
    refund(world, token, user_id, charge_id).map_err(|e| e.description().to_owned())
}

/// What came of a payer's attempt to pay an invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Paid {
    /// Charged: Telegram's charge id.
    Charged(String),
    /// The bot refused the pre-checkout, with its message (or did not answer within 10 s).
    Refused(String),
}

/// The payer pays an invoice the bot issued, as Telegram runs it: the pre-checkout query, the
/// bot's answer within 10 s, then the charge and the `successful_payment` message.
pub async fn pay(
    world: &Arc<Mutex<World>>,
    token: &str,
    user_id: i64,
    payload: &str,
) -> Result<Paid, String> {
    let lock = || world.lock().unwrap_or_else(|p| p.into_inner());
    let (query_id, amount) = {
        let mut world = lock();
        let bot = world.bot(token).ok_or("no bot")?;
        let amount = bot
            .invoices
            .iter()
            .find(|i| i["payload"] == payload)
            .and_then(|i| i["amount"].as_i64())
            .ok_or_else(|| format!("the bot issued no invoice {payload}"))?;
        let query_id = pre_checkout(&mut world, token, user_id, payload, amount)?;
        (query_id, amount)
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let answer = {
            let mut world = lock();
            let bot = world.bot(token).ok_or("no bot")?;
            bot.pre_checkout_answers
                .iter()
                .find(|a| a["pre_checkout_query_id"] == query_id.as_str())
                .cloned()
        };
        match answer {
            Some(answer) if answer["ok"] == true => {
                let mut world = lock();
                let bot = world.bot(token).ok_or("no bot")?;
                let charge_id = format!("stxFAKE{}{}", bot.id, bot.charges.len() + 1);
                successful_payment(&mut world, token, user_id, payload, amount, &charge_id)?;
                return Ok(Paid::Charged(charge_id));
            }
            Some(answer) => {
                let message = answer["error_message"].as_str().unwrap_or_default();
                return Ok(Paid::Refused(message.to_owned()));
            }
            None => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    Ok(Paid::Refused("the bot did not answer within 10 s".into()))
}

/// Telegram renews a Stars subscription: a new charge for the same invoice, no pre-checkout.
pub fn renew(
    world: &mut World,
    token: &str,
    user_id: i64,
    payload: &str,
) -> Result<String, String> {
    let bot = world.bot(token).ok_or("no bot")?;
    let first = bot
        .charges
        .iter()
        .find(|c| c["payload"] == payload && c["user_id"] == user_id)
        .cloned()
        .ok_or("no subscription to renew")?;
    if bot.canceled_subscriptions.contains(payload) {
        return Err("the subscription is canceled: Telegram does not renew it".into());
    }
    let charge_id = format!("stxFAKE{}{}", bot.id, bot.charges.len() + 1);
    let amount = first["amount"].as_i64().unwrap_or_default();
    successful_payment(world, token, user_id, payload, amount, &charge_id)?;
    Ok(charge_id)
}
