//! Ingest: reads Telegram channels with a user account, applies per-channel keyword rules and
//! cross-post dedup, and publishes raw messages and screening decisions.
//!
//! Pure parts: the keyword-rule engine ([`rules`]), text normalisation ([`text`]), dedup
//! ([`dedup`]), the declarative catalog and the one fold of the CATALOG stream ([`catalog`]),
//! export parsing ([`export`]), contacts ([`contacts`]), the screening decision ([`screen`]) and
//! the rules backtest over stored messages ([`backtest`]), and which account reads which channel
//! ([`assignment`]). The path into the bus is
//! [`ingestor`]; [`import`] replays Telegram Desktop exports through it; [`telegram`] reads
//! the catalog's channels live with a user account and feeds it too.

pub mod assignment;
pub mod backtest;
pub mod catalog;
pub mod contacts;
pub mod dedup;
pub mod export;
pub mod import;
pub mod ingestor;
pub mod rules;
pub mod screen;
pub mod telegram;
pub mod text;
