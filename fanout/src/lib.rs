//! Fan-out: delivers classified vacancies to subscribers through one Telegram bot per category.
//!
//! * [`plan`]: the planner (the `fanout` consumer): who gets a vacancy, through which bot,
//!   written as `DeliveryPlanned` events into each bot's outbox.
//! * [`send`]: one sender per bot (its `send-<category>` consumer, pinned to one process):
//!   whether the user still wants the vacancy, then the dispatch.
//! * [`dispatch`]: the paced, once-only send every outbox drains through (also the
//!   scheduler's notifications): pacer, claim, send, record.
//! * [`audience`], [`subscribers`]: who should get a vacancy, from the read models.
//! * [`card`], [`cards`]: the delivered card (escaped, shortened, with its buttons).
//! * [`pacer`]: Telegram's per-bot and per-chat limits.
//! * [`flood`]: which cards ring the user's phone and which arrive silently.
//! * [`telegram`]: the Bot API client every bot uses and the one reading of its failures.
//! * [`tokens`]: bot tokens and admin ids from the environment, never shown.
//! * [`wording`]: times in the user's zone and Russian plurals, for every bot's messages.

pub mod audience;
pub mod card;
pub mod cards;
pub mod dispatch;
pub mod flood;
pub mod pacer;
pub mod plan;
pub mod send;
pub mod service;
pub mod subscribers;
pub mod telegram;
pub mod tokens;
pub mod wording;
