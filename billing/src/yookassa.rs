//! The YooKassa API v3 client: create a payment (Basic auth with the shop id and secret key, an
//! `Idempotence-Key` per attempt, `capture: true`, a redirect back to the bot, metadata tying it
//! to our payment) and read one back. The secret key never leaves this struct's request headers.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Clone)]
pub struct YooKassa {
    api: String,
    shop_id: String,
    secret_key: String,
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

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("YooKassa has no payment {0}")]
    NotFound(String),
    /// Worth retrying: network, 5xx, 429.
    #[error("YooKassa unavailable: {0}")]
    Unavailable(String),
    #[error("YooKassa refused: {0}")]
    Refused(String),
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
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap_or_default(),
        }
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
        let body = json!({
            "amount": {"value": amount_value(amount_minor), "currency": "RUB"},
            "capture": true,
            "confirmation": {"type": "redirect", "return_url": return_url},
            "description": description,
            "metadata": metadata,
        });
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
        Self::answer(request.send().await, id).await
    }

    async fn answer(
        response: reqwest::Result<reqwest::Response>,
        what: &str,
    ) -> Result<Payment, ApiError> {
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
