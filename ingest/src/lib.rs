//! Ingest: reads Telegram channels with a user account, applies per-channel keyword rules and
//! cross-post dedup, and publishes raw messages and screening decisions.
//!
//! This crate grows with the ingest issue. Today it holds the pure parts: the keyword-rule
//! engine ([`rules`]) and text normalisation ([`text`]).

pub mod catalog;
pub mod dedup;
pub mod rules;
pub mod text;
