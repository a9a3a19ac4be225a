//! Asking the LLM again about the posts whose local answer stood because it gave none
//! (`MessageClassified::llm_unavailable`). The classify service does it on its own ([`run`]):
//! it follows CLASSIFICATIONS for the posts whose latest classification is such a fallback
//! ([`Awaiting`]), and every few minutes — sooner once the LLM answers a live post — asks about
//! the oldest; once the LLM answers one, the rest follow, paced by the LLM's concurrency limit.
//! `remotehunt classify backfill --fallbacks` runs one such round by hand ([`backfill`]).
//!
//! An answer is a new `MessageClassified` (its id names the LLM and the prompt, not the
//! fallback), so the read models keep it as the latest, and fan-out's once-per-(user, post)
//! claims keep anyone who already has the card from getting it twice.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use bus::{Bus, ReadError};
use futures::StreamExt;
use schemas::{
    Area, ClassificationCorrected, Envelope, Event, EventType, MessageClassified, MessageKey,
};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::llm::LlmError;
use crate::service::ClassifyHandler;

/// The soonest a live post's LLM answer starts another round after the last one.
const MIN_GAP: Duration = Duration::from_secs(30);

/// The posts whose latest classification is a local answer that stood for the LLM, folded from
/// CLASSIFICATIONS: only those posts are held, oldest first.
#[derive(Debug, Default)]
pub struct Awaiting {
    /// The next CLASSIFICATIONS sequence to read.
    next: u64,
    /// Each waiting post by its fallback's sequence.
    by_sequence: BTreeMap<u64, MessageKey>,
    sequence_of: HashMap<MessageKey, u64>,
}

impl Awaiting {
    /// Folds what CLASSIFICATIONS stored since the last look (everything, the first time).
    pub async fn catch_up(&mut self, bus: &Bus) -> Result<(), ReadError> {
        let stream = Area::Classifications.stream();
        let last = bus.last_sequence(stream).await?;
        if last < self.next.max(1) {
            return Ok(());
        }
        let messages = bus.read_stream(stream, self.next).await?;
        futures::pin_mut!(messages);
        while let Some(message) = messages.next().await {
            let message = message?;
            self.next = message.sequence + 1;
            // What cannot be decoded was never a fallback of ours.
            if let Ok(stored) = message.decode() {
                self.apply(stored.sequence, &stored.envelope.event);
            }
            if message.sequence >= last || message.pending == 0 {
                break;
            }
        }
        Ok(())
    }

    fn apply(&mut self, sequence: u64, event: &Event) {
        match event {
            Event::MessageClassified(c) if c.llm_unavailable.is_some() => {
                self.settle(c.key);
                self.by_sequence.insert(sequence, c.key);
                self.sequence_of.insert(c.key, sequence);
            }
            Event::MessageClassified(MessageClassified { key, .. })
            | Event::ClassificationCorrected(ClassificationCorrected { key, .. }) => {
                self.settle(*key);
            }
            _ => {}
        }
    }

    /// The post needs no more asking (answered, corrected, deleted).
    fn settle(&mut self, key: MessageKey) {
        if let Some(sequence) = self.sequence_of.remove(&key) {
            self.by_sequence.remove(&sequence);
        }
    }

    pub fn len(&self) -> usize {
        self.by_sequence.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_sequence.is_empty()
    }

    fn oldest_first(&self) -> Vec<MessageKey> {
        self.by_sequence.values().copied().collect()
    }
}

/// What one round of asking again did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Round {
    /// Posts waiting when the round began.
    pub awaiting: usize,
    /// Answered and published.
    pub answered: usize,
    /// Needed no asking any more: answered elsewhere, corrected by an admin, deleted.
    pub settled: usize,
    /// The LLM answered junk about them again: they wait for the next round.
    pub junk: usize,
    /// Why the round stopped early: the LLM failed again (down, rate-limited).
    pub unavailable: Option<String>,
}

impl Round {
    /// Posts still waiting after the round.
    pub fn left(&self) -> usize {
        self.awaiting - self.answered - self.settled
    }
}

/// What asking about one post came to.
enum Asked {
    Answered,
    Settled,
    Junk,
    Unavailable(String),
}

/// One round over the waiting posts, oldest first: one at a time until the LLM answers one
/// (a post it only ever answers junk about is passed over), then the rest as many at once as
/// the LLM's concurrency allows, until it fails again. Only a failure of NATS is an error.
pub async fn round(handler: &ClassifyHandler, awaiting: &mut Awaiting) -> anyhow::Result<Round> {
    let mut report = Round {
        awaiting: awaiting.len(),
        ..Round::default()
    };
    let mut keys = awaiting.oldest_first().into_iter();
    let mut back = false;
    while !back && let Some(key) = keys.next() {
        match ask_again(handler, key).await? {
            Asked::Answered => {
                awaiting.settle(key);
                report.answered += 1;
                back = true;
            }
            Asked::Settled => {
                awaiting.settle(key);
                report.settled += 1;
            }
            Asked::Junk => report.junk += 1,
            Asked::Unavailable(error) => {
                report.unavailable = Some(error);
                return Ok(report);
            }
        }
    }
    // Half the LLM's limit, so live posts keep getting their share of it meanwhile.
    let width = handler
        .classifier()
        .llm()
        .map_or(1, |llm| llm.concurrency().div_ceil(2));
    let mut asking = JoinSet::new();
    let mut failed = None;
    loop {
        while report.unavailable.is_none() && failed.is_none() && asking.len() < width {
            let Some(key) = keys.next() else { break };
            let handler = handler.clone();
            asking.spawn(async move { (key, ask_again(&handler, key).await) });
        }
        let Some(done) = asking.join_next().await else {
            break;
        };
        let (key, asked) = done?;
        match asked {
            Ok(Asked::Answered) => {
                awaiting.settle(key);
                report.answered += 1;
            }
            Ok(Asked::Settled) => {
                awaiting.settle(key);
                report.settled += 1;
            }
            Ok(Asked::Junk) => report.junk += 1,
            Ok(Asked::Unavailable(error)) => report.unavailable = Some(error),
            Err(error) => failed = Some(error),
        }
    }
    match failed {
        Some(error) => Err(error),
        None => Ok(report),
    }
}

/// Asks the LLM about one waiting post, unless it needs no asking any more.
async fn ask_again(handler: &ClassifyHandler, key: MessageKey) -> anyhow::Result<Asked> {
    let bus = &handler.bus;
    let id = key.id();
    let latest = bus
        .last_on_subject(&MessageClassified::subject_of(&id))
        .await?;
    let Some(latest) = latest else {
        return Ok(Asked::Settled);
    };
    let waiting = matches!(&latest.envelope.event, Event::MessageClassified(c) if c.llm_unavailable.is_some());
    // Answered since (another copy of the service, a replay), or an admin decided.
    if !waiting || bus.has::<ClassificationCorrected>(&id).await? {
        return Ok(Asked::Settled);
    }
    let post = match handler.post(key).await {
        Ok(Some(post)) => post,
        Ok(None) | Err(ReadError::NotFound(_)) => return Ok(Asked::Settled),
        Err(error) => return Err(error.into()),
    };
    let catalog = handler.catalog().await?;
    let classifier = handler.classifier();
    match classifier
        .classify(key, &post.text, &post.contacts, &catalog)
        .await
    {
        Ok(classified) => {
            let event = Envelope::new(classified).caused_by(&latest.envelope);
            bus.publish(&event).await?;
            tracing::info!(key = %id, "asked again: the LLM answered");
            Ok(Asked::Answered)
        }
        Err(LlmError::Junk(junk)) => {
            tracing::info!(key = %id, %junk, "asked again: still no answer");
            Ok(Asked::Junk)
        }
        Err(error) => Ok(Asked::Unavailable(error.to_string())),
    }
}

/// The service's loop: a round whenever posts wait, every `every`, or as soon as the LLM answers
/// a live post (but not sooner than [`MIN_GAP`] after the last round).
pub async fn run(handler: ClassifyHandler, every: Duration, shutdown: CancellationToken) {
    let mut awaiting = Awaiting::default();
    let gap = every.min(MIN_GAP);
    loop {
        match awaiting.catch_up(&handler.bus).await {
            Err(error) => tracing::warn!(%error, "cannot read CLASSIFICATIONS; will look again"),
            Ok(()) if awaiting.is_empty() => {}
            Ok(()) => {
                let report = tokio::select! {
                    _ = shutdown.cancelled() => return,
                    report = round(&handler, &mut awaiting) => report,
                };
                match report {
                    Ok(r) => tracing::info!(
                        awaiting = r.awaiting,
                        answered = r.answered,
                        settled = r.settled,
                        junk = r.junk,
                        left = r.left(),
                        unavailable = r.unavailable.as_deref().unwrap_or(""),
                        "asked the LLM again about posts whose local answer stood"
                    ),
                    Err(error) => {
                        tracing::warn!(error = %format!("{error:#}"), "asking again failed; will retry");
                    }
                }
            }
        }
        let waiting = !awaiting.is_empty();
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
            _ = async {
                tokio::time::sleep(gap).await;
                handler.llm_answered.notified().await;
            }, if waiting => {}
        }
    }
}

/// One round by hand over every post waiting now (`remotehunt classify backfill --fallbacks`).
pub async fn backfill(handler: &ClassifyHandler) -> anyhow::Result<Round> {
    let mut awaiting = Awaiting::default();
    awaiting.catch_up(&handler.bus).await?;
    round(handler, &mut awaiting).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classified(id: i64, llm_unavailable: Option<&str>) -> Event {
        MessageClassified {
            key: MessageKey::new(-1, id),
            kind: schemas::PostKind::Vacancy,
            categories: vec![],
            confidence: 0.5,
            classifier: schemas::Classifier::Local,
            model: "local".into(),
            prompt_version: None,
            tokens: None,
            latency_ms: 0,
            budget: None,
            remote: None,
            contacts: vec![],
            title: None,
            llm_unavailable: llm_unavailable.map(str::to_owned),
        }
        .into()
    }

    #[test]
    fn only_posts_whose_latest_classification_stood_for_the_llm_wait_oldest_first() {
        // given three fallbacks, one answered later, one corrected, and one classified again
        // as a fallback after an answer
        let mut awaiting = Awaiting::default();
        let events = [
            classified(1, Some("timeout")),
            classified(2, Some("500")),
            classified(3, Some("429")),
            classified(1, None),
            ClassificationCorrected {
                key: MessageKey::new(-1, 2),
                kind: schemas::PostKind::Ad,
                categories: vec![],
                admin_id: 1,
                report_id: None,
            }
            .into(),
            classified(4, None),
            classified(4, Some("junk")),
        ];
        // when they are folded
        for (sequence, event) in (1..).zip(&events) {
            awaiting.apply(sequence, event);
        }
        // then 3 and 4 wait, in the order their fallbacks came
        let keys: Vec<i64> = awaiting
            .oldest_first()
            .iter()
            .map(|k| k.message_id)
            .collect();
        assert_eq!(keys, [3, 4]);
        assert_eq!(awaiting.len(), 2);
    }
}
