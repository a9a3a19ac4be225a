//! Classify: sorts accepted posts into kinds and catalog categories with a local model and an
//! OpenAI-compatible LLM, consuming the `classify` durable consumer of `nats/`.
//!
//! * [`local`]: the local model: features, lexicon, training, the shipped default model.
//! * [`eval`]: accuracy, vacancy precision/recall, category F1, LLM share and throughput of a
//!   model on labelled posts, by cross-validation or on a held-out set; the routing threshold.
//!
//! The service arrives with the classify issue; its events (`MessageClassified`, …) are in
//! `schemas` and its consumer definition in `nats/consumers/SCREENING/classify.json`.

pub mod decide;
pub mod eval;
pub mod extract;
pub mod learn;
pub mod llm;
pub mod local;
pub mod service;
