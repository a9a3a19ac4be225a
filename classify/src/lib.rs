//! Classify: sorts accepted posts into kinds and catalog categories with a local model and an
//! OpenAI-compatible LLM, consuming the `classify` durable consumer of `nats/`.
//!
//! * [`local`]: the local model: features, lexicon, training, the shipped default model.
//! * [`eval`]: accuracy, vacancy precision/recall, category F1, LLM share and throughput of a
//!   model on labelled posts, by cross-validation or on a held-out set; the routing threshold.
//! * [`extract`]: budget and remote from a post's text; [`title`]: its title.
//! * [`llm`]: the versioned prompt, the answer parser and the OpenAI-compatible client.
//! * [`decide`]: hybrid routing: the local model answers, doubtful posts go to the LLM.
//! * [`service`]: the `classify` consumer of SCREENING (`nats/consumers/SCREENING/classify.json`):
//!   one `MessageClassified` per post, model and prompt; NATS outages are retried, an LLM that
//!   gives no answer within the attempts lets the local answer stand, marked.
//! * [`reask`]: the posts whose local answer stood asked again once the LLM answers.
//! * [`learn`]: training examples from the log (the LLM's answers, admins' corrections) and
//!   backfill of stored posts with a new model or prompt.

pub mod decide;
pub mod eval;
pub mod extract;
pub mod learn;
pub mod llm;
pub mod local;
pub mod reask;
pub mod service;
pub mod title;
