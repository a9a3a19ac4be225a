//! Ingest: reads Telegram channels with a user account, applies per-channel keyword rules and
//! cross-post dedup, and publishes raw messages and screening decisions.
//!
//! The service itself arrives with the ingest issue; until then this crate only fixes its place
//! in the workspace layout. Its events (`MessageReceived`, `MessageAccepted`, …) are in `schemas`.
