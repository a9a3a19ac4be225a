//! The log as a teacher and as history: training examples from the LLM's past answers and
//! admins' corrections, and re-running a new model or prompt over stored posts.

use std::collections::HashMap;

use bus::Bus;
use chrono::{DateTime, Utc};
use schemas::{
    Area, Classifier as Answerer, Envelope, Event, MessageKey, MessageNow, MessageReceived,
};

use crate::decide::Classifier;
use crate::local::Example;

/// The stored messages as they read now ([`MessageNow`]): latest edit applied, deleted ones
/// left out.
async fn current_messages(bus: &Bus) -> anyhow::Result<HashMap<MessageKey, MessageReceived>> {
    let mut messages: HashMap<MessageKey, MessageNow> = HashMap::new();
    for raw in bus.read_to_end(Area::Messages.stream(), 1).await? {
        let Ok(stored) = raw.decode() else { continue };
        let key = match &stored.envelope.event {
            Event::MessageReceived(m) => m.key,
            Event::MessageEdited(e) => e.key,
            Event::MessageDeleted(d) => d.key,
            _ => continue,
        };
        messages
            .entry(key)
            .or_default()
            .apply(&stored.envelope.event);
    }
    Ok(messages
        .into_iter()
        .filter_map(|(key, now)| Some((key, now.current()?)))
        .collect())
}

/// Labelled examples from CLASSIFICATIONS: each post's latest LLM answer, overridden by an
/// admin's correction when there is one. Local answers are not taught back to the local model.
pub async fn examples_from_stream(bus: &Bus) -> anyhow::Result<Vec<Example>> {
    let mut labels: HashMap<MessageKey, (schemas::PostKind, Vec<String>, bool)> = HashMap::new();
    for raw in bus.read_to_end(Area::Classifications.stream(), 1).await? {
        let Ok(stored) = raw.decode() else { continue };
        match stored.envelope.event {
            Event::MessageClassified(c) if c.classifier == Answerer::Llm => {
                let corrected = labels
                    .get(&c.key)
                    .is_some_and(|(_, _, corrected)| *corrected);
                if !corrected {
                    let categories = c.categories.into_iter().map(|r| r.slug).collect();
                    labels.insert(c.key, (c.kind, categories, false));
                }
            }
            Event::ClassificationCorrected(c) => {
                labels.insert(c.key, (c.kind, c.categories, true));
            }
            _ => {}
        }
    }
    let messages = current_messages(bus).await?;
    let mut examples: Vec<(MessageKey, Example)> = labels
        .into_iter()
        .filter_map(|(key, (kind, categories, _))| {
            let text = messages.get(&key)?.text.clone();
            Some((
                key,
                Example {
                    text,
                    kind,
                    categories,
                },
            ))
        })
        .collect();
    examples.sort_by_key(|(key, _)| *key);
    Ok(examples.into_iter().map(|(_, e)| e).collect())
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BackfillReport {
    /// Accepted posts from the date on.
    pub considered: usize,
    pub classified: usize,
    /// Already classified by this configuration.
    pub current: usize,
}

/// Classifies again every accepted, non-deleted post from `since` on with `classifier`,
/// publishing new versioned events (ids name the model, so a second run adds nothing).
pub async fn backfill(
    bus: &Bus,
    classifier: &Classifier,
    catalog: &[crate::llm::PromptCategory],
    since: DateTime<Utc>,
) -> anyhow::Result<BackfillReport> {
    let messages = current_messages(bus).await?;
    let mut accepted: Vec<MessageKey> = Vec::new();
    for raw in bus.read_to_end(Area::Screening.stream(), 1).await? {
        if let Ok(stored) = raw.decode()
            && let Event::MessageAccepted(a) = stored.envelope.event
        {
            accepted.push(a.key);
        }
    }
    let mut latest: HashMap<MessageKey, schemas::MessageClassified> = HashMap::new();
    for raw in bus.read_to_end(Area::Classifications.stream(), 1).await? {
        if let Ok(stored) = raw.decode()
            && let Event::MessageClassified(c) = stored.envelope.event
        {
            latest.insert(c.key, c);
        }
    }
    let mut report = BackfillReport::default();
    let mut batch = Vec::new();
    for key in accepted {
        let Some(message) = messages.get(&key).filter(|m| m.posted_at >= since) else {
            continue;
        };
        report.considered += 1;
        if latest.get(&key).is_some_and(|c| classifier.is_current(c)) {
            report.current += 1;
            continue;
        }
        let classified = classifier
            .classify(key, &message.text, &message.contacts, catalog)
            .await?;
        batch.push(Envelope::new(classified));
        report.classified += 1;
        if batch.len() >= 500 {
            bus.publish_batch(&std::mem::take(&mut batch)).await?;
        }
    }
    bus.publish_batch(&batch).await?;
    Ok(report)
}
