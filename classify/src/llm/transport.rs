//! The HTTP transport under async-openai: one attempt per call (retries are the consumer's
//! job: nak with a growing delay, so a waiting post holds no task), and a 429's Retry-After
//! kept, which async-openai's own error would drop.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use async_openai::error::OpenAIError;
use async_openai::middleware::HttpRequestFactory;

/// A 429 from the endpoint, with how long it asked us to wait.
#[derive(Debug, thiserror::Error)]
#[error("rate limited (429){}", .retry_after.map(|d| format!(", retry after {d:?}")).unwrap_or_default())]
pub struct RateLimited {
    pub retry_after: Option<Duration>,
}

#[derive(Clone, Debug)]
pub struct SingleAttempt {
    http: reqwest::Client,
}

impl SingleAttempt {
    pub fn new(http: reqwest::Client) -> Self {
        Self { http }
    }
}

type Pending = Pin<Box<dyn Future<Output = Result<reqwest::Response, OpenAIError>> + Send>>;

impl tower::Service<HttpRequestFactory> for SingleAttempt {
    type Response = reqwest::Response;
    type Error = OpenAIError;
    type Future = Pending;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), OpenAIError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, factory: HttpRequestFactory) -> Pending {
        let http = self.http.clone();
        Box::pin(async move {
            let request = factory.build().await?;
            let response = http.execute(request).await?;
            if response.status() == reqwest::StatusCode::TOO_MANY_REQUESTS {
                let retry_after = response
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<f64>().ok())
                    .filter(|s| s.is_finite() && *s >= 0.0)
                    .map(Duration::from_secs_f64);
                return Err(OpenAIError::Boxed(Box::new(RateLimited { retry_after })));
            }
            Ok(response)
        })
    }
}
