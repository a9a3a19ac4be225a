//! A fake YooKassa (API v3) for tests and development: `POST /v3/payments` with Basic auth and
//! `Idempotence-Key` semantics (same key, same answer), `GET /v3/payments/{id}`, payment
//! statuses, and control routes (and methods) that "pay" or cancel a payment and deliver the
//! notification to the webhook, as YooKassa would.

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
    if !authorized(&shop, &headers) {
        return error(
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "Authentication error",
        );
    }
    let Some(key) = headers.get("idempotence-key").and_then(|v| v.to_str().ok()) else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Idempotence-Key is required",
        );
    };
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "invalid_request", "Invalid JSON");
    };
    if let Some((earlier, answer)) = shop.by_key.get(key) {
        if *earlier != request {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Idempotence key duplicated with another request body",
            );
        }
        return Json(answer.clone()).into_response();
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
    shop.by_key
        .insert(key.to_owned(), (request, payment.clone()));
    shop.payments.insert(id, payment.clone());
    Json(payment).into_response()
}

async fn read(State(shop): State<Shared>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let shop = lock(&shop);
    if !authorized(&shop, &headers) {
        return error(
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "Authentication error",
        );
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

    /// Posts a notification body (real or forged) to the webhook; its HTTP status.
    pub async fn send_notification(&self, body: &Value) -> anyhow::Result<u16> {
        send_notification(&self.shop, body).await
    }
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
