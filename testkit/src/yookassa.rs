//! A fake YooKassa (API v3) for tests and development: `POST /v3/payments` with Basic auth and
//! `Idempotence-Key` semantics (same key, same answer), `GET /v3/payments/{id}`, payment
//! statuses, 54-FZ receipts checked as YooKassa checks them, refunds (`POST /v3/refunds`,
//! `GET /v3/refunds/{id}`), and control routes (and methods) that "pay" or cancel a payment,
//! refund one from the dashboard, and deliver the notification to the webhook, as YooKassa
//! would.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

#[derive(Default)]
struct Shop {
    shop_id: String,
    secret_key: String,
    /// By payment id.
    payments: HashMap<String, Value>,
    /// By refund id.
    refunds: HashMap<String, Value>,
    /// The status new refunds get (`succeeded` unless a test wants `pending`).
    refund_status: Option<String>,
    /// Idempotence key → (request body, answer).
    by_key: HashMap<String, (Value, Value)>,
    webhook: Option<String>,
    next_id: u64,
}

type Shared = Arc<Mutex<Shop>>;

#[derive(Clone)]
pub struct FakeYooKassa {
    url: String,
    shop: Shared,
    _server: Arc<crate::openai::ServerTask>,
}

fn lock(shop: &Shared) -> MutexGuard<'_, Shop> {
    shop.lock().unwrap_or_else(|p| p.into_inner())
}

fn error(status: StatusCode, code: &str, description: &str) -> Response {
    let body = json!({"type": "error", "id": uuid::Uuid::new_v4().to_string(),
                      "code": code, "description": description});
    (status, Json(body)).into_response()
}

fn unauthorized() -> Response {
    error(
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
        "Authentication error",
    )
}

fn authorized(shop: &Shop, headers: &HeaderMap) -> bool {
    use base64_encode as encode;
    let expected = format!(
        "Basic {}",
        encode(&format!("{}:{}", shop.shop_id, shop.secret_key))
    );
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == expected)
}

/// RFC 4648 base64, enough for Basic auth (no dependency for one header).
fn base64_encode(text: &str) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = text.as_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

async fn create(
    State(shop): State<Shared>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let mut shop = lock(&shop);
    let (key, request) = match new_request(&shop, &headers, &body, "payments") {
        Ok(fresh) => fresh,
        Err(answer) => return answer,
    };
    if let Some(receipt) = request.get("receipt")
        && let Err(why) = check_receipt(receipt, &request["amount"])
    {
        return error(StatusCode::BAD_REQUEST, "invalid_request", &why);
    }
    let amount = &request["amount"];
    if amount["value"].as_str().is_none() || amount["currency"].as_str().is_none() {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "amount is required",
        );
    }
    shop.next_id += 1;
    let id = format!("2f{:06}-000f-5000-9000-{:012}", shop.next_id, shop.next_id);
    let payment = json!({
        "id": id, "status": "pending", "paid": false,
        "amount": amount, "description": request["description"],
        "created_at": chrono::Utc::now().to_rfc3339(),
        "confirmation": {"type": "redirect",
                         "return_url": request["confirmation"]["return_url"],
                         "confirmation_url": format!("https://yoomoney.ru/checkout/payments/v2/contract?orderId={id}")},
        "metadata": request["metadata"], "test": true, "refundable": false,
    });
    let mut payment = payment;
    if request.get("receipt").is_some() {
        payment["receipt_registration"] = json!("pending");
    }
    shop.by_key.insert(key, (request, payment.clone()));
    shop.payments.insert(id, payment.clone());
    Json(payment).into_response()
}

/// The Idempotence-Key (scoped to the endpoint) and the request of an authorised fresh call, or
/// the answer YooKassa gives at once: 401 to a wrong shop, the earlier answer to a repeat, an
/// error to a bad one.
#[allow(clippy::result_large_err)] // an axum response, returned as is
fn new_request(
    shop: &Shop,
    headers: &HeaderMap,
    body: &[u8],
    endpoint: &str,
) -> Result<(String, Value), Response> {
    if !authorized(shop, headers) {
        return Err(unauthorized());
    }
    let Some(key) = headers.get("idempotence-key").and_then(|v| v.to_str().ok()) else {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Idempotence-Key is required",
        ));
    };
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Invalid JSON",
        ));
    };
    let key = format!("{endpoint}:{key}");
    if let Some((earlier, answer)) = shop.by_key.get(&key) {
        if *earlier != request {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Idempotence key duplicated with another request body",
            ));
        }
        return Err(Json(answer.clone()).into_response());
    }
    Ok((key, request))
}

/// Kopecks of an amount object, strictly as YooKassa writes them.
fn kopecks(amount: &Value) -> Option<i64> {
    let value = amount["value"].as_str()?;
    let (whole, fraction) = value.split_once('.')?;
    if fraction.len() != 2 {
        return None;
    }
    Some(whole.parse::<i64>().ok()? * 100 + fraction.parse::<i64>().ok()?)
}

/// A 54-FZ receipt as YooKassa checks it: a contact, items with a VAT code, summing to the
/// payment.
fn check_receipt(receipt: &Value, amount: &Value) -> Result<(), String> {
    let customer = &receipt["customer"];
    if customer["email"].as_str().is_none() && customer["phone"].as_str().is_none() {
        return Err("receipt.customer needs an email or a phone".into());
    }
    let items = receipt["items"].as_array().filter(|i| !i.is_empty());
    let items = items.ok_or("receipt.items is required")?;
    let mut total = 0;
    for item in items {
        let vat = item["vat_code"].as_i64().filter(|v| (1..=12).contains(v));
        let quantity: f64 = item["quantity"]
            .as_str()
            .and_then(|q| q.parse().ok())
            .ok_or("receipt item quantity")?;
        let price = kopecks(&item["amount"]).ok_or("receipt item amount")?;
        if vat.is_none() || item["description"].as_str().is_none_or(str::is_empty) {
            return Err("receipt item needs a description and a vat_code".into());
        }
        total += (price as f64 * quantity).round() as i64;
    }
    if Some(total) != kopecks(amount) {
        return Err("receipt items do not add up to the amount".into());
    }
    Ok(())
}

async fn create_refund(
    State(shop): State<Shared>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let mut shop = lock(&shop);
    let (key, request) = match new_request(&shop, &headers, &body, "refunds") {
        Ok(fresh) => fresh,
        Err(answer) => return answer,
    };
    let payment_id = request["payment_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    if let Some(receipt) = request.get("receipt")
        && let Err(why) = check_receipt(receipt, &request["amount"])
    {
        return error(StatusCode::BAD_REQUEST, "invalid_request", &why);
    }
    let status = shop.refund_status.clone();
    match refund(
        &mut shop,
        &payment_id,
        &request["amount"],
        status.as_deref(),
    ) {
        Ok(refund) => {
            shop.by_key.insert(key, (request, refund.clone()));
            Json(refund).into_response()
        }
        Err(why) => error(StatusCode::BAD_REQUEST, "invalid_request", &why),
    }
}

/// Checks that `asked` kopecks of a payment may still be refunded and, when `take`, counts them
/// as refunded.
fn refundable(shop: &mut Shop, payment_id: &str, asked: i64, take: bool) -> Result<(), String> {
    let payment = shop
        .payments
        .get_mut(payment_id)
        .ok_or_else(|| format!("payment {payment_id} not found"))?;
    let paid = kopecks(&payment["amount"]).unwrap_or_default();
    let refunded = kopecks(&payment["refunded_amount"]).unwrap_or_default();
    if payment["status"] != "succeeded" || asked <= 0 || asked > paid - refunded {
        return Err(format!(
            "payment {payment_id} cannot be refunded by that much"
        ));
    }
    if take {
        let total = refunded + asked;
        let value = format!("{}.{:02}", total / 100, total % 100);
        payment["refunded_amount"] = json!({"value": value, "currency": "RUB"});
    }
    Ok(())
}

/// Refunds `amount` of a succeeded payment, as the API or the dashboard would.
fn refund(
    shop: &mut Shop,
    payment_id: &str,
    amount: &Value,
    status: Option<&str>,
) -> Result<Value, String> {
    let asked = kopecks(amount).ok_or("amount is required")?;
    let status = status.unwrap_or("succeeded");
    refundable(shop, payment_id, asked, status == "succeeded")?;
    let id = format!(
        "rf{:06}-0015-5000-8000-{:012}",
        shop.refunds.len() + 1,
        shop.next_id
    );
    let refund = json!({
        "id": id, "payment_id": payment_id, "status": status,
        "amount": amount, "created_at": chrono::Utc::now().to_rfc3339(),
    });
    shop.refunds.insert(id, refund.clone());
    Ok(refund)
}

async fn read_refund(
    State(shop): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let shop = lock(&shop);
    if !authorized(&shop, &headers) {
        return unauthorized();
    }
    match shop.refunds.get(&id) {
        Some(refund) => Json(refund.clone()).into_response(),
        None => error(StatusCode::NOT_FOUND, "not_found", "Refund not found"),
    }
}

async fn read(State(shop): State<Shared>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let shop = lock(&shop);
    if !authorized(&shop, &headers) {
        return unauthorized();
    }
    match shop.payments.get(&id) {
        Some(payment) => Json(payment.clone()).into_response(),
        None => error(StatusCode::NOT_FOUND, "not_found", "Payment not found"),
    }
}

async fn control(
    State(shop): State<Shared>,
    Path((id, action)): Path<(String, String)>,
) -> Response {
    let result = match action.as_str() {
        "succeed" => settle(&shop, &id, true).await,
        "cancel" => settle(&shop, &id, false).await,
        "refund" => refund_in_dashboard(&shop, &id)
            .await
            .map(|(_, status)| status),
        _ => Err(anyhow::anyhow!("unknown action {action}")),
    };
    match result {
        Ok(status) => Json(json!({"webhook_status": status})).into_response(),
        Err(e) => error(StatusCode::NOT_FOUND, "not_found", &e.to_string()),
    }
}

impl FakeYooKassa {
    /// Listens on a free local port; the shop's credentials are `shop_id` / `secret_key`.
    pub async fn start(shop_id: &str, secret_key: &str) -> anyhow::Result<Self> {
        let shop = Arc::new(Mutex::new(Shop {
            shop_id: shop_id.into(),
            secret_key: secret_key.into(),
            ..Shop::default()
        }));
        let app = Router::new()
            .route("/v3/payments", post(create))
            .route("/v3/payments/{id}", get(read))
            .route("/v3/refunds", post(create_refund))
            .route("/v3/refunds/{id}", get(read_refund))
            .route("/control/payments/{id}/{action}", post(control))
            .with_state(shop.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let server = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                tracing::error!(%error, "fake YooKassa stopped");
            }
        });
        Ok(Self {
            url: format!("http://{address}/v3"),
            shop,
            _server: Arc::new(crate::openai::ServerTask(server)),
        })
    }

    /// The API base to give as `YOOKASSA_API_URL`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Where notifications go.
    pub fn set_webhook(&self, url: &str) {
        lock(&self.shop).webhook = Some(url.to_owned());
    }

    pub fn payments(&self) -> Vec<Value> {
        lock(&self.shop).payments.values().cloned().collect()
    }

    /// The payer pays (or the payment is canceled) without a notification: a lost webhook.
    pub fn settle_silently(&self, id: &str, paid: bool) -> anyhow::Result<Value> {
        settle_silently(&self.shop, id, paid)
    }

    /// The notification YooKassa sends for a payment as it stands.
    pub fn notification(&self, id: &str) -> anyhow::Result<Value> {
        notification(&self.shop, id)
    }

    /// Pays (or cancels) and delivers the notification to the webhook; its HTTP status.
    pub async fn settle(&self, id: &str, paid: bool) -> anyhow::Result<u16> {
        settle(&self.shop, id, paid).await
    }

    pub fn refunds(&self) -> Vec<Value> {
        lock(&self.shop).refunds.values().cloned().collect()
    }

    /// New refunds stay `pending` until [`FakeYooKassa::finish_refund`] (or succeed at once).
    pub fn refunds_pending(&self, pending: bool) {
        lock(&self.shop).refund_status = pending.then(|| "pending".to_owned());
    }

    /// A pending refund succeeds and its notification is delivered; the webhook's status.
    pub async fn finish_refund(&self, refund_id: &str) -> anyhow::Result<u16> {
        let body = {
            let mut shop = lock(&self.shop);
            let mut pending = shop
                .refunds
                .get(refund_id)
                .cloned()
                .ok_or_else(|| anyhow::anyhow!("no refund {refund_id}"))?;
            let payment_id = pending["payment_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let asked = kopecks(&pending["amount"]).unwrap_or_default();
            refundable(&mut shop, &payment_id, asked, true).map_err(anyhow::Error::msg)?;
            pending["status"] = json!("succeeded");
            shop.refunds.insert(refund_id.to_owned(), pending.clone());
            json!({"type": "notification", "event": "refund.succeeded", "object": pending})
        };
        send_notification(&self.shop, &body).await
    }

    /// An admin refunds the whole payment in YooKassa's dashboard: the refund and the webhook's
    /// status for its `refund.succeeded` notification.
    pub async fn refund_in_dashboard(&self, payment_id: &str) -> anyhow::Result<(Value, u16)> {
        refund_in_dashboard(&self.shop, payment_id).await
    }

    /// Posts a notification body (real or forged) to the webhook; its HTTP status.
    pub async fn send_notification(&self, body: &Value) -> anyhow::Result<u16> {
        send_notification(&self.shop, body).await
    }
}

async fn refund_in_dashboard(shop: &Shared, payment_id: &str) -> anyhow::Result<(Value, u16)> {
    let refund = {
        let mut shop = lock(shop);
        let amount = shop
            .payments
            .get(payment_id)
            .map(|p| p["amount"].clone())
            .ok_or_else(|| anyhow::anyhow!("no payment {payment_id}"))?;
        refund(&mut shop, payment_id, &amount, None).map_err(anyhow::Error::msg)?
    };
    let body = json!({"type": "notification", "event": "refund.succeeded", "object": refund});
    Ok((refund, send_notification(shop, &body).await?))
}

fn settle_silently(shop: &Shared, id: &str, paid: bool) -> anyhow::Result<Value> {
    let mut shop = lock(shop);
    let payment = shop
        .payments
        .get_mut(id)
        .ok_or_else(|| anyhow::anyhow!("no payment {id}"))?;
    if paid {
        payment["status"] = json!("succeeded");
        payment["paid"] = json!(true);
        payment["captured_at"] = json!(chrono::Utc::now().to_rfc3339());
        payment["refundable"] = json!(true);
    } else {
        payment["status"] = json!("canceled");
        payment["cancellation_details"] =
            json!({"party": "yoo_money", "reason": "expired_on_confirmation"});
    }
    payment.as_object_mut().map(|p| p.remove("confirmation"));
    Ok(payment.clone())
}

fn notification(shop: &Shared, id: &str) -> anyhow::Result<Value> {
    let shop = lock(shop);
    let payment = shop
        .payments
        .get(id)
        .ok_or_else(|| anyhow::anyhow!("no payment {id}"))?;
    let event = match payment["status"].as_str() {
        Some("succeeded") => "payment.succeeded",
        Some("canceled") => "payment.canceled",
        _ => "payment.waiting_for_capture",
    };
    Ok(json!({"type": "notification", "event": event, "object": payment}))
}

async fn settle(shop: &Shared, id: &str, paid: bool) -> anyhow::Result<u16> {
    settle_silently(shop, id, paid)?;
    let body = notification(shop, id)?;
    send_notification(shop, &body).await
}

async fn send_notification(shop: &Shared, body: &Value) -> anyhow::Result<u16> {
    let webhook = lock(shop)
        .webhook
        .clone()
        .ok_or_else(|| anyhow::anyhow!("no webhook set"))?;
    let response = reqwest::Client::new()
        .post(webhook)
        .json(body)
        .send()
        .await?;
    Ok(response.status().as_u16())
}

#[cfg(test)]
mod tests {
    use super::base64_encode;

    #[test]
    fn base64_of_basic_auth() {
        assert_eq!(base64_encode("shop:key"), "c2hvcDprZXk=");
        assert_eq!(base64_encode("ab"), "YWI=");
        assert_eq!(base64_encode("abc"), "YWJj");
    }
}
