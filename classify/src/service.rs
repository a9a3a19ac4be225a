//! The classify service: the `classify` durable consumer over accepted posts. For each one it
//! reads the raw message (and its latest edit) by subject, skips posts deleted at the source or
//! already classified by this configuration, classifies, and publishes `MessageClassified`
//! with an id derived from the message and the model, so a redelivery stores nothing twice.
//!
//! The LLM failing is retried (the consumer's naks with growing delays) only as long as the
//! service's patience lasts: on a post's last attempt the local model's answer is published
//! instead, marked `llm_unavailable`, so fan-out delivers it and no outside service left down
//! parks posts in the DLQ. [`crate::reask`] asks the LLM about those posts again once it answers.

use std::sync::Arc;
use std::time::Duration;

use bus::consume::{ConsumerSpec, Delivery, Handler, HandlerError, consume, consumers};
use bus::{Bus, ReadError};
use schemas::{Classifier as Answerer, Envelope, Event, MessageClassified, MessageKey};
use tokio::sync::{Mutex, Notify};
use tokio_util::sync::CancellationToken;

use crate::decide::Classifier;
use crate::llm::{LlmError, PromptCategory};

#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Posts handled at once (LLM calls are limited separately).
    pub concurrency: usize,
    /// Attempts at the LLM for a doubtful post; on the last one a failure lets the local
    /// answer stand (marked `llm_unavailable`) instead of failing again.
    pub max_attempts: i64,
    pub first_retry_delay: Duration,
    /// How long after its acceptance a post may wait for the LLM before the local answer
    /// stands, attempts left or not (a long Retry-After, an LLM that hangs on every call).
    pub llm_patience: Duration,
    /// How often the posts whose local answer stood are looked for and the LLM asked about
    /// them again (sooner once the LLM answers a live post).
    pub reask_every: Duration,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            // Each post waits on two reads and a publish: 128 in flight keep the local model
            // busy (bench throughput: 16 classified 543 posts/s, 128 kept up with ~1,400/s).
            concurrency: 128,
            // With the default 1 s doubling delays and a 60 s call timeout, 8 attempts wait
            // about as long as the patience below.
            max_attempts: 8,
            first_retry_delay: bus::consume::BASE_RETRY_DELAY,
            llm_patience: Duration::from_secs(10 * 60),
            reask_every: Duration::from_secs(5 * 60),
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
    let handler = ClassifyHandler::new(bus.clone(), classifier, &config);
    tracing::info!(model = %handler.classifier.local_model().model_version(), "classifier running");
    let stop = shutdown.child_token();
    // With no LLM there is nobody to ask again: the local answers are final.
    let reasking = handler.classifier.llm().is_some().then(|| {
        tokio::spawn(crate::reask::run(
            handler.clone(),
            config.reask_every,
            stop.clone(),
        ))
    });
    let consumed = consume(bus, spec, handler, stop.clone()).await;
    stop.cancel();
    if let Some(task) = reasking {
        let _ = task.await;
    }
    consumed
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

/// Cheap to clone: the consumer and the loop that asks the LLM again share one classifier,
/// one catalog and one LLM limit.
#[derive(Clone)]
pub struct ClassifyHandler {
    pub(crate) bus: Bus,
    classifier: Arc<Classifier>,
    categories: Arc<Mutex<Categories>>,
    patience: Patience,
    /// Told whenever the LLM answers a post: it is back, so the posts whose local answer stood
    /// need not wait for the next round.
    pub(crate) llm_answered: Arc<Notify>,
}

/// When a post has had its chances at the LLM.
#[derive(Debug, Clone, Copy)]
struct Patience {
    attempts: i64,
    within: Duration,
}

impl Patience {
    fn exhausted(&self, delivery: &Delivery) -> bool {
        let waited = (chrono::Utc::now() - delivery.stored_at).to_std();
        delivery.attempt >= self.attempts || waited.is_ok_and(|waited| waited >= self.within)
    }
}

/// The text to classify: the latest edit's, else the original's.
pub struct Post {
    pub text: String,
    pub contacts: Vec<String>,
}

impl ClassifyHandler {
    pub fn new(bus: Bus, classifier: Classifier, config: &ServiceConfig) -> Self {
        Self {
            bus,
            classifier: Arc::new(classifier),
            categories: Arc::new(Mutex::new(Categories::default())),
            patience: Patience {
                attempts: config.max_attempts,
                within: config.llm_patience,
            },
            llm_answered: Arc::new(Notify::new()),
        }
    }

    /// The active categories in catalog order, after applying catalog events published since
    /// the last look (at most once a second).
    pub async fn catalog(&self) -> Result<Vec<PromptCategory>, ReadError> {
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
    async fn handle(&self, envelope: Envelope, delivery: &Delivery) -> Result<(), HandlerError> {
        let Event::MessageAccepted(accepted) = &envelope.event else {
            return Ok(());
        };
        let key = accepted.key;
        // A read that fails on NATS is retried until NATS is back; only a raw message MESSAGES
        // never stored (or cannot decode) is dead-lettered.
        if let Some(earlier) = self.earlier(key).await?
            && self.classifier.is_current(&earlier)
        {
            return Ok(());
        }
        let Some(post) = self.post(key).await? else {
            return Ok(()); // deleted at the source: nothing to deliver
        };
        let catalog = self.catalog().await?;
        let answer = self
            .classifier
            .classify(key, &post.text, &post.contacts, &catalog)
            .await;
        let classified = match answer {
            Ok(classified) => {
                if classified.classifier == Answerer::Llm {
                    self.llm_answered.notify_one();
                }
                classified
            }
            // The LLM is down, rate-limited or talking junk, and this was the post's last
            // chance: the local answer is delivered now and the LLM asked again later.
            Err(error) if self.patience.exhausted(delivery) => {
                tracing::warn!(key = %key.id(), attempt = delivery.attempt, %error, "no answer from the LLM: the local answer stands");
                self.classifier
                    .fallback(key, &post.text, &post.contacts, &catalog, &error)
            }
            Err(error) => {
                return Err(match error {
                    LlmError::RateLimited(Some(wait)) => {
                        HandlerError::RetryAfter(error.to_string(), wait)
                    }
                    other => HandlerError::Retryable(other.to_string()),
                });
            }
        };
        let event = Envelope::new(classified).caused_by(&envelope);
        self.bus.publish(&event).await?;
        Ok(())
    }
}
