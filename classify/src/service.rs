//! The classify service: the `classify` durable consumer over accepted posts. For each one it
//! reads the raw message (and its latest edit) by subject, skips posts deleted at the source or
//! already classified by this configuration, classifies, and publishes `MessageClassified`
//! with an id derived from the message and the model, so a redelivery stores nothing twice.

use std::sync::Arc;
use std::time::Duration;

use bus::consume::{ConsumerSpec, Delivery, Handler, HandlerError, consume, consumers};
use bus::{Bus, ReadError};
use schemas::{Envelope, Event, MessageClassified, MessageKey};
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

use crate::decide::Classifier;
use crate::llm::{LlmError, PromptCategory};

#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Posts handled at once (LLM calls are limited separately).
    pub concurrency: usize,
    /// Attempts before a post the LLM keeps failing on is dead-lettered.
    pub max_attempts: i64,
    pub first_retry_delay: Duration,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            concurrency: 16,
            max_attempts: 8,
            first_retry_delay: bus::consume::BASE_RETRY_DELAY,
        }
    }
}

pub async fn run(
    bus: Bus,
    classifier: Classifier,
    config: ServiceConfig,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    bus.ensure_streams().await?;
    let spec = ConsumerSpec {
        max_attempts: config.max_attempts,
        concurrency: config.concurrency,
        first_retry_delay: config.first_retry_delay,
        ..ConsumerSpec::of(consumers::CLASSIFY)
    };
    let handler = ClassifyHandler::new(bus.clone(), classifier);
    tracing::info!(model = %handler.classifier.local_model().model_version(), "classifier running");
    consume(bus, spec, handler, shutdown).await
}

/// How often the catalog is re-read: categories change rarely, posts arrive all the time.
const CATALOG_REFRESH: Duration = Duration::from_secs(1);

/// The catalog, followed from the CATALOG stream (only its categories are used here).
#[derive(Default)]
struct Categories {
    /// The last CATALOG sequence folded.
    sequence: u64,
    read_at: Option<std::time::Instant>,
    catalog: ingest::catalog::Catalog,
}

pub struct ClassifyHandler {
    bus: Bus,
    classifier: Arc<Classifier>,
    categories: Mutex<Categories>,
}

/// The text to classify: the latest edit's, else the original's.
pub struct Post {
    pub text: String,
    pub contacts: Vec<String>,
}

impl ClassifyHandler {
    pub fn new(bus: Bus, classifier: Classifier) -> Self {
        Self {
            bus,
            classifier: Arc::new(classifier),
            categories: Mutex::new(Categories::default()),
        }
    }

    /// The active categories in catalog order, after applying catalog events published since
    /// the last look (at most once a second).
    pub async fn catalog(&self) -> anyhow::Result<Vec<PromptCategory>> {
        let mut guard = self.categories.lock().await;
        let categories = &mut *guard;
        let fresh = categories
            .read_at
            .is_some_and(|at| at.elapsed() < CATALOG_REFRESH);
        if !fresh {
            categories.sequence = categories
                .catalog
                .follow(&self.bus, categories.sequence)
                .await?;
        }
        categories.read_at = Some(std::time::Instant::now());
        Ok(categories
            .catalog
            .active_categories()
            .into_iter()
            .map(|(slug, name)| PromptCategory {
                slug: slug.to_owned(),
                name: name.to_owned(),
            })
            .collect())
    }

    pub fn classifier(&self) -> &Classifier {
        &self.classifier
    }

    /// The message as it reads now, from MESSAGES; `None` once deleted at the source.
    pub async fn post(&self, key: MessageKey) -> Result<Option<Post>, ReadError> {
        Ok(self.bus.current_message(key).await?.map(|message| Post {
            text: message.text,
            contacts: message.contacts,
        }))
    }

    async fn earlier(&self, key: MessageKey) -> Result<Option<MessageClassified>, ReadError> {
        self.bus.latest::<MessageClassified>(&key.id()).await
    }
}

impl Handler for ClassifyHandler {
    async fn handle(&self, envelope: Envelope, _: &Delivery) -> Result<(), HandlerError> {
        let Event::MessageAccepted(accepted) = &envelope.event else {
            return Ok(());
        };
        let key = accepted.key;
        let retry = |e: anyhow::Error| HandlerError::Retryable(format!("{e:#}"));
        // A read that fails on NATS is retried; only a raw message MESSAGES never stored (or
        // cannot decode) is dead-lettered.
        if let Some(earlier) = self.earlier(key).await?
            && self.classifier.is_current(&earlier)
        {
            return Ok(());
        }
        let Some(post) = self.post(key).await? else {
            return Ok(()); // deleted at the source: nothing to deliver
        };
        let catalog = self.catalog().await.map_err(retry)?;
        let classified = self
            .classifier
            .classify(key, &post.text, &post.contacts, &catalog)
            .await
            .map_err(|error| match error {
                LlmError::RateLimited(Some(wait)) => {
                    HandlerError::RetryAfter(error.to_string(), wait)
                }
                other => HandlerError::Retryable(other.to_string()),
            })?;
        let event = Envelope::new(classified).caused_by(&envelope);
        self.bus.publish(&event).await?;
        Ok(())
    }
}
