//! Classify: sorts accepted posts into kinds and catalog categories with a local model and an
//! OpenAI-compatible LLM, consuming the `classify` durable consumer of `nats/`.
//!
//! The service arrives with the classify issue; its events (`MessageClassified`, …) are in
//! `schemas` and its consumer definition in `nats/consumers/SCREENING/classify.json`.
