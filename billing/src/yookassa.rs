//! The YooKassa API v3 client: create a payment (Basic auth with the shop id and secret key, an
//! `Idempotence-Key` per attempt, `capture: true`, a redirect back to the bot, metadata tying it
//! to our payment, an optional 54-FZ receipt) and read one back; refund one and read a refund
//! back. The secret key never leaves this struct's request headers.

use std::time::Duration;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

#[derive(Clone)]
pub struct YooKassa {
    api: String,
    shop_id: String,
    secret_key: String,
    receipt: Option<ReceiptSettings>,
    http: reqwest::Client,
}

impl std::fmt::Debug for YooKassa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "YooKassa({}, shop {})", self.api, self.shop_id)
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Amount {
    /// Two decimals, e.g. `"199.00"`.
    pub value: String,
    pub currency: String,
}

/// A payment as YooKassa reports it.
#[derive(Debug, Clone, Deserialize)]
pub struct Payment {
    pub id: String,
    pub status: String,
    #[serde(default)]
    pub paid: bool,
    pub amount: Amount,
    #[serde(default)]
    pub metadata: Option<serde_json::Map<String, Value>>,
    #[serde(default)]
    pub confirmation: Option<Value>,
}

impl Payment {
    pub fn metadata(&self, key: &str) -> Option<&str> {
        self.metadata.as_ref()?.get(key)?.as_str()
    }

    pub fn confirmation_url(&self) -> Option<&str> {
        self.confirmation
            .as_ref()?
            .get("confirmation_url")?
            .as_str()
    }
}

/// A refund as YooKassa reports it.
#[derive(Debug, Clone, Deserialize)]
pub struct Refund {
    pub id: String,
    pub payment_id: String,
    /// `pending`, `succeeded` or `canceled`.
    pub status: String,
    pub amount: Amount,
}

/// The 54-FZ receipt sent with each payment, when the shop fiscalises through YooKassa.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptSettings {
    /// YooKassa's `vat_code` (1: no VAT … 6: 20/120).
    pub vat_code: u8,
    /// YooKassa's `tax_system_code`, when the shop has more than one.
    pub tax_system_code: Option<u8>,
    /// Where receipts go (`customer.email`): the bot does not ask payers for an address.
    pub email: String,
}

impl ReceiptSettings {
    /// One service item for the whole amount, paid in full.
    fn receipt(&self, description: &str, amount_minor: i64) -> Value {
        let mut receipt = json!({
            "customer": {"email": self.email},
            "items": [{
                "description": description.chars().take(128).collect::<String>(),
                "quantity": "1.00",
                "amount": {"value": amount_value(amount_minor), "currency": "RUB"},
                "vat_code": self.vat_code,
                "payment_mode": "full_payment",
                "payment_subject": "service",
            }],
        });
        if let Some(code) = self.tax_system_code {
            receipt["tax_system_code"] = json!(code);
        }
        receipt
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("YooKassa has no {0}")]
    NotFound(String),
    /// Worth retrying: network, 5xx, 429.
    #[error("YooKassa unavailable: {0}")]
    Unavailable(String),
    #[error("YooKassa refused: {0}")]
    Refused(String),
}

/// YooKassa's amount back in kopecks: `"199.00"` → `19900`, `"5"` → `500`; `None` for
/// anything else.
pub fn amount_minor(value: &str) -> Option<i64> {
    let (whole, fraction) = value.split_once('.').unwrap_or((value, "0"));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !digits(fraction) || fraction.len() > 2 {
        return None;
    }
    let fraction: i64 = format!("{fraction:0<2}").parse().ok()?;
    whole
        .parse::<i64>()
        .ok()?
        .checked_mul(100)?
        .checked_add(fraction)
}

/// Kopecks as YooKassa writes amounts: `19900` → `"199.00"`.
pub fn amount_value(minor: i64) -> String {
    format!("{}.{:02}", minor / 100, minor % 100)
}

impl YooKassa {
    pub fn new(api: &str, shop_id: &str, secret_key: &str) -> Self {
        Self {
            api: api.trim_end_matches('/').to_owned(),
            shop_id: shop_id.to_owned(),
            secret_key: secret_key.to_owned(),
            receipt: None,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap_or_default(),
        }
    }

    /// Sends a 54-FZ receipt with every payment.
    pub fn with_receipt(mut self, receipt: ReceiptSettings) -> Self {
        self.receipt = Some(receipt);
        self
    }

    /// Creates a payment; the same `idempotence_key` returns the same payment (24 h).
    pub async fn create_payment(
        &self,
        idempotence_key: &str,
        amount_minor: i64,
        description: &str,
        return_url: &str,
        metadata: Value,
    ) -> Result<Payment, ApiError> {
        let mut body = json!({
            "amount": {"value": amount_value(amount_minor), "currency": "RUB"},
            "capture": true,
            "confirmation": {"type": "redirect", "return_url": return_url},
            "description": description,
            "metadata": metadata,
        });
        if let Some(receipt) = &self.receipt {
            body["receipt"] = receipt.receipt(description, amount_minor);
        }
        let request = self
            .http
            .post(format!("{}/payments", self.api))
            .basic_auth(&self.shop_id, Some(&self.secret_key))
            .header("Idempotence-Key", idempotence_key)
            .json(&body);
        Self::answer(request.send().await, idempotence_key).await
    }

    pub async fn payment(&self, id: &str) -> Result<Payment, ApiError> {
        let request = self
            .http
            .get(format!("{}/payments/{id}", self.api))
            .basic_auth(&self.shop_id, Some(&self.secret_key));
        Self::answer(request.send().await, &format!("payment {id}")).await
    }

    /// Refunds `amount_minor` of a payment; the same `idempotence_key` returns the same refund.
    /// With a receipt configured, the refund carries its receipt too.
    pub async fn create_refund(
        &self,
        idempotence_key: &str,
        payment_id: &str,
        amount_minor: i64,
        description: &str,
    ) -> Result<Refund, ApiError> {
        let mut body = json!({
            "payment_id": payment_id,
            "amount": {"value": amount_value(amount_minor), "currency": "RUB"},
            "description": description,
        });
        if let Some(receipt) = &self.receipt {
            body["receipt"] = receipt.receipt(description, amount_minor);
        }
        let request = self
            .http
            .post(format!("{}/refunds", self.api))
            .basic_auth(&self.shop_id, Some(&self.secret_key))
            .header("Idempotence-Key", idempotence_key)
            .json(&body);
        Self::answer(request.send().await, &format!("payment {payment_id}")).await
    }

    pub async fn refund(&self, id: &str) -> Result<Refund, ApiError> {
        let request = self
            .http
            .get(format!("{}/refunds/{id}", self.api))
            .basic_auth(&self.shop_id, Some(&self.secret_key));
        Self::answer(request.send().await, &format!("refund {id}")).await
    }

    async fn answer<T: DeserializeOwned>(
        response: reqwest::Result<reqwest::Response>,
        what: &str,
    ) -> Result<T, ApiError> {
        let response = response.map_err(|e| ApiError::Unavailable(e.to_string()))?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Err(ApiError::NotFound(what.to_owned()));
        }
        if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            return Err(ApiError::Unavailable(format!("HTTP {status}")));
        }
        let text = response
            .text()
            .await
            .map_err(|e| ApiError::Unavailable(e.to_string()))?;
        if !status.is_success() {
            return Err(ApiError::Refused(format!("HTTP {status}: {text}")));
        }
        serde_json::from_str(&text)
            .map_err(|e| ApiError::Refused(format!("unreadable answer: {e}")))
    }
}
