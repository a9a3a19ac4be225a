//! The LLM path: any OpenAI-compatible chat-completions endpoint, asked the versioned
//! [`prompt`], its answer read by [`answer`]. Failures are classified for the consumer loop:
//! a 429 waits its Retry-After, timeouts, 5xx, network errors and junk answers are retried
//! with a growing delay, and after the configured attempts the local model's answer stands
//! (marked `llm_unavailable`) until the LLM answers again.

pub mod answer;
pub mod prompt;
pub mod transport;

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::types::chat::{
    ChatCompletionRequestSystemMessageArgs, ChatCompletionRequestUserMessageArgs,
    CreateChatCompletionRequestArgs,
};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Semaphore;

pub use answer::Answer;
pub use prompt::{PROMPT_VERSION, PromptCategory};

/// `OPENAI_BASE_URL`, `OPENAI_API_KEY`, `OPENAI_MODEL`, and how hard to push it.
#[derive(Debug, Clone)]
pub struct LlmConfig {
    pub base_url: String,
    pub api_key: SecretString,
    pub model: String,
    /// A call taking longer is abandoned and retried later.
    pub timeout: Duration,
    /// Calls in flight at once across this process.
    pub concurrency: usize,
}

impl LlmConfig {
    pub fn new(
        base_url: impl Into<String>,
        api_key: SecretString,
        model: impl Into<String>,
    ) -> Self {
        Self {
            base_url: base_url.into(),
            api_key,
            model: model.into(),
            timeout: Duration::from_secs(60),
            concurrency: 4,
        }
    }
}

/// Why a call gave no answer; each maps onto a consumer fate.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("LLM rate limited")]
    RateLimited(Option<Duration>),
    #[error("LLM call timed out after {0:?}")]
    Timeout(Duration),
    #[error("LLM endpoint error: {0}")]
    Endpoint(String),
    #[error(transparent)]
    Junk(#[from] answer::Junk),
}

/// What the model said, and what it cost.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmVerdict {
    pub answer: Answer,
    pub tokens: Option<u32>,
    pub latency: Duration,
}

#[derive(Clone)]
pub struct Llm {
    client: Client<OpenAIConfig>,
    model: String,
    timeout: Duration,
    /// The permits' number: calls in flight at once across this process.
    concurrency: usize,
    permits: Arc<Semaphore>,
}

impl std::fmt::Debug for Llm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Llm")
            .field("model", &self.model)
            .finish_non_exhaustive()
    }
}

impl Llm {
    pub fn new(config: &LlmConfig) -> Self {
        let openai = OpenAIConfig::new()
            .with_api_base(config.base_url.trim_end_matches('/'))
            .with_api_key(config.api_key.expose_secret());
        let http = reqwest::Client::new();
        let client =
            Client::with_config(openai).with_http_service(transport::SingleAttempt::new(http));
        Self {
            client,
            model: config.model.clone(),
            timeout: config.timeout,
            concurrency: config.concurrency.max(1),
            permits: Arc::new(Semaphore::new(config.concurrency.max(1))),
        }
    }

    pub fn model(&self) -> &str {
        &self.model
    }

    /// Calls in flight at once across this process (every caller shares the limit).
    pub fn concurrency(&self) -> usize {
        self.concurrency
    }

    /// Asks the model which categories a post belongs to.
    pub async fn classify(
        &self,
        categories: &[PromptCategory],
        post: &str,
    ) -> Result<LlmVerdict, LlmError> {
        let request = CreateChatCompletionRequestArgs::default()
            .model(&self.model)
            .temperature(0.0)
            .messages([
                ChatCompletionRequestSystemMessageArgs::default()
                    .content(prompt::SYSTEM)
                    .build()
                    .map_err(|e| LlmError::Endpoint(e.to_string()))?
                    .into(),
                ChatCompletionRequestUserMessageArgs::default()
                    .content(prompt::user_message(categories, post))
                    .build()
                    .map_err(|e| LlmError::Endpoint(e.to_string()))?
                    .into(),
            ])
            .build()
            .map_err(|e| LlmError::Endpoint(e.to_string()))?;
        // The wait for a permit is not part of the call's timeout.
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| LlmError::Endpoint(e.to_string()))?;
        let started = Instant::now();
        let response = tokio::time::timeout(self.timeout, self.client.chat().create(request))
            .await
            .map_err(|_| LlmError::Timeout(self.timeout))?
            .map_err(endpoint_error)?;
        let latency = started.elapsed();
        let text = response
            .choices
            .first()
            .and_then(|c| c.message.content.clone())
            .unwrap_or_default();
        Ok(LlmVerdict {
            answer: answer::parse(&text, categories)?,
            tokens: response.usage.map(|u| u.total_tokens),
            latency,
        })
    }
}

fn endpoint_error(error: OpenAIError) -> LlmError {
    if let OpenAIError::Boxed(boxed) = &error
        && let Some(limited) = boxed.downcast_ref::<transport::RateLimited>()
    {
        return LlmError::RateLimited(limited.retry_after);
    }
    LlmError::Endpoint(error.to_string())
}
