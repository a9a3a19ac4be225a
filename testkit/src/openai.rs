//! A fake OpenAI-compatible server: `POST /v1/chat/completions` in the real wire format,
//! scriptable per test — answers, latency, 429 with Retry-After, 500, hangs, garbage — and a
//! record of every request it got.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

/// What the fake does with one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// 200 with this assistant message.
    Answer(String),
    /// 200 with this message, after a delay.
    Slow(String, Duration),
    /// 429 with `Retry-After` seconds.
    RateLimited { retry_after_secs: u64 },
    /// 500 with an OpenAI error body.
    ServerError,
    /// Never answers (the client must time out).
    Hang,
    /// 200 with a body that is not JSON.
    Garbage,
}

/// A request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub model: String,
    pub authorization: Option<String>,
    /// (role, content) in order.
    pub messages: Vec<(String, String)>,
}

type Responder = dyn Fn(&str) -> Reply + Send + Sync;

struct Script {
    queued: VecDeque<Reply>,
    /// Answers by the user message when nothing is queued.
    otherwise: Arc<Responder>,
    requests: Vec<Recorded>,
}

#[derive(Clone)]
pub struct FakeOpenAi {
    url: String,
    script: Arc<Mutex<Script>>,
    _server: Arc<ServerTask>,
}

pub(crate) struct ServerTask(pub(crate) tokio::task::JoinHandle<()>);

impl Drop for ServerTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl FakeOpenAi {
    /// Listens on a free local port; answers «нет» until told otherwise.
    pub async fn start() -> anyhow::Result<Self> {
        let script = Arc::new(Mutex::new(Script {
            queued: VecDeque::new(),
            otherwise: Arc::new(|_: &str| Reply::Answer("нет".into())),
            requests: Vec::new(),
        }));
        let app = axum::Router::new()
            .route("/v1/chat/completions", post(chat_completions))
            .with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let server = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                tracing::error!(%error, "fake OpenAI server stopped");
            }
        });
        Ok(Self {
            url: format!("http://{address}/v1"),
            script,
            _server: Arc::new(ServerTask(server)),
        })
    }

    /// The base URL to give as `OPENAI_BASE_URL`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Replies for the next requests, in order; after them, [`FakeOpenAi::answer_with`] applies.
    pub fn queue(&self, replies: impl IntoIterator<Item = Reply>) {
        self.lock().queued.extend(replies);
    }

    /// Queued replies not yet served.
    pub fn queued_left(&self) -> usize {
        self.lock().queued.len()
    }

    /// How to answer when nothing is queued, from the request's last user message.
    pub fn answer_with(&self, responder: impl Fn(&str) -> Reply + Send + Sync + 'static) {
        self.lock().otherwise = Arc::new(responder);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Script> {
        self.script
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

async fn chat_completions(
    State(script): State<Arc<Mutex<Script>>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let messages: Vec<(String, String)> = body["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            let content = match &m["content"] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (m["role"].as_str().unwrap_or_default().to_owned(), content)
        })
        .collect();
    let model = body["model"].as_str().unwrap_or_default().to_owned();
    let user = messages
        .iter()
        .rev()
        .find(|(role, _)| role == "user")
        .map(|(_, c)| c.clone())
        .unwrap_or_default();
    let reply = {
        let mut script = script.lock().unwrap_or_else(|p| p.into_inner());
        script.requests.push(Recorded {
            model: model.clone(),
            authorization: headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            messages,
        });
        match script.queued.pop_front() {
            Some(reply) => reply,
            None => (script.otherwise)(&user),
        }
    };
    match reply {
        Reply::Answer(text) => completion(&model, &text, &user),
        Reply::Slow(text, delay) => {
            tokio::time::sleep(delay).await;
            completion(&model, &text, &user)
        }
        Reply::RateLimited { retry_after_secs } => (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, retry_after_secs.to_string())],
            Json(error_body(
                "Rate limit reached for requests",
                "requests",
                "rate_limit_exceeded",
            )),
        )
            .into_response(),
        Reply::ServerError => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(error_body(
                "The server had an error while processing your request.",
                "server_error",
                "",
            )),
        )
            .into_response(),
        Reply::Hang => {
            std::future::pending::<()>().await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        Reply::Garbage => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            "<html><body>502 Bad Gateway</body></html>",
        )
            .into_response(),
    }
}

fn completion(model: &str, text: &str, prompt: &str) -> Response {
    let prompt_tokens = prompt.chars().count() / 4 + 1;
    let completion_tokens = text.chars().count() / 4 + 1;
    Json(json!({
        "id": format!("chatcmpl-{}", uuid::Uuid::new_v4().simple()),
        "object": "chat.completion",
        "created": crate::unix_seconds(),
        "model": model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": text, "refusal": null},
            "logprobs": null,
            "finish_reason": "stop"
        }],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens
        }
    }))
    .into_response()
}

fn error_body(message: &str, kind: &str, code: &str) -> Value {
    json!({"error": {"message": message, "type": kind, "param": null, "code": if code.is_empty() { Value::Null } else { json!(code) }}})
}
