//! The Telegram bots, over teloxide. Everything a bot decides is an event; what it shows comes
//! from the read models.
//!
//! * [`main_bot`]: `/start` registers the user and starts the trial (once per Telegram user,
//!   ever), the category picker (read-your-writes over the projection), "Моя подписка",
//!   `/help`, and the admins' verdicts on reports.
//! * [`category_bot`]: one per category: `/start`, `/stop`, and the buttons under each card.
//! * [`reports`]: sends subscribers' reports to the admins.
//! * [`polling`]: the long-polling loop and 429-patient replies every bot uses.
//! * [`stars_ledger`]: Telegram's star transactions held against ours: missed Stars payments
//!   and refunds settled later.
//! * [`service`]: the service's entry point, [`run`]: every configured bot until shutdown.

pub mod category_bot;
pub mod main_bot;
pub mod pay;
pub mod picker;
pub mod polling;
pub mod reports;
pub mod service;
pub mod stars_ledger;

pub use service::{BotsConfig, run};
