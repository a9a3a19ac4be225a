//! Hybrid routing: the local model answers every post; a confident answer is final, a doubtful
//! one goes to the LLM when one is configured. With no LLM the local model decides alone; when
//! the LLM gives no answer for long, the local answer stands marked as such ([`Classifier::fallback`])
//! and the post is asked again later.

use std::time::Instant;

use schemas::{Classifier as Answerer, MessageClassified, MessageKey, PostKind, RankedCategory};

use crate::eval::{Route, Thresholds};
use crate::extract;
use crate::llm::{Answer, Llm, LlmError, PROMPT_VERSION, PromptCategory};
use crate::local::LocalModel;

/// How sure we take an LLM answer to be (it gives no probability).
const LLM_CONFIDENCE: f32 = 0.95;

/// The most of an LLM error an event keeps (a junk answer quotes the model).
const MAX_REASON: usize = 300;

pub struct Classifier {
    local: LocalModel,
    thresholds: Thresholds,
    llm: Option<Llm>,
}

impl Classifier {
    pub fn new(local: LocalModel, thresholds: Thresholds, llm: Option<Llm>) -> Self {
        Self {
            local,
            thresholds,
            llm,
        }
    }

    /// The embedded default: the shipped local model at the default thresholds, no LLM.
    pub fn embedded() -> Result<Self, crate::local::Error> {
        Ok(Self::new(
            LocalModel::embedded()?,
            Thresholds::default(),
            None,
        ))
    }

    pub fn local_model(&self) -> &LocalModel {
        &self.local
    }

    /// The LLM doubtful posts go to, when one is configured.
    pub fn llm(&self) -> Option<&Llm> {
        self.llm.as_ref()
    }

    /// Whether an earlier classification came from this configuration (the same local model,
    /// or the same LLM and prompt): then the post needs no new one. A local answer that stood
    /// because the LLM gave none is not final while there is an LLM to ask.
    pub fn is_current(&self, earlier: &MessageClassified) -> bool {
        if earlier.llm_unavailable.is_some() && self.llm.is_some() {
            return false;
        }
        match earlier.classifier {
            Answerer::Local => earlier.model == self.local.model_version(),
            Answerer::Llm => self.llm.as_ref().is_some_and(|llm| {
                earlier.model == llm.model()
                    && earlier.prompt_version.as_deref() == Some(PROMPT_VERSION)
            }),
        }
    }

    /// Classifies one post against the catalog's active categories (catalog order).
    pub async fn classify(
        &self,
        key: MessageKey,
        text: &str,
        contacts: &[String],
        catalog: &[PromptCategory],
    ) -> Result<MessageClassified, LlmError> {
        let started = Instant::now();
        let (mut classified, route) = self.local_answer(key, text, contacts, catalog);
        if let (Route::Llm, Some(llm)) = (route, &self.llm) {
            let verdict = llm.classify(catalog, text).await?;
            classified.classifier = Answerer::Llm;
            classified.model = llm.model().to_owned();
            classified.prompt_version = Some(PROMPT_VERSION.to_owned());
            classified.tokens = verdict.tokens;
            classified.confidence = LLM_CONFIDENCE;
            match verdict.answer {
                Answer::Categories(slugs) => {
                    classified.kind = PostKind::Vacancy;
                    classified.categories = slugs
                        .into_iter()
                        .enumerate()
                        .map(|(rank, slug)| RankedCategory {
                            slug,
                            score: (1.0 - 0.1 * rank as f32).max(0.1),
                        })
                        .collect();
                }
                Answer::No => {
                    // The LLM says only "not a vacancy"; the local model names which kind.
                    if classified.kind == PostKind::Vacancy {
                        classified.kind = PostKind::Other;
                    }
                    if classified.kind != PostKind::Resume {
                        classified.categories.clear();
                    }
                }
            }
        }
        classified.latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        Ok(classified)
    }

    /// The local model's answer, marked as standing because the LLM gave none: `error` is its
    /// last failure. Never a guess from the LLM's junk: only the local model speaks here.
    pub fn fallback(
        &self,
        key: MessageKey,
        text: &str,
        contacts: &[String],
        catalog: &[PromptCategory],
        error: &LlmError,
    ) -> MessageClassified {
        let started = Instant::now();
        let (mut classified, _) = self.local_answer(key, text, contacts, catalog);
        classified.llm_unavailable = Some(error.to_string().chars().take(MAX_REASON).collect());
        classified.latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        classified
    }

    /// The local model's answer and where it routes the post.
    fn local_answer(
        &self,
        key: MessageKey,
        text: &str,
        contacts: &[String],
        catalog: &[PromptCategory],
    ) -> (MessageClassified, Route) {
        let prediction = self.local.predict(text);
        let known = |slug: &str| catalog.iter().any(|c| c.slug == slug);
        let classified = MessageClassified {
            key,
            kind: prediction.kind,
            categories: prediction
                .categories
                .iter()
                .filter(|(slug, _)| known(slug))
                .map(|(slug, score)| RankedCategory {
                    slug: slug.clone(),
                    score: score.clamp(0.0, 1.0),
                })
                .collect(),
            confidence: prediction.confidence.clamp(0.0, 1.0),
            classifier: Answerer::Local,
            model: self.local.model_version().to_owned(),
            prompt_version: None,
            tokens: None,
            latency_ms: 0,
            budget: extract::budget(text),
            remote: extract::remote(text),
            contacts: contacts.to_vec(),
            title: crate::title::title_or_category(
                text,
                prediction
                    .categories
                    .iter()
                    .find_map(|(slug, _)| catalog.iter().find(|c| &c.slug == slug))
                    .map(|c| c.name.as_str()),
            ),
            llm_unavailable: None,
        };
        (classified, self.thresholds.route(&prediction))
    }
}
