//! The Telegram bots, over teloxide. Everything a bot decides is an event; what it shows comes
//! from the read models.
//!
//! * [`main_bot`]: `/start` registers the user and starts the trial (once per Telegram user,
//!   ever), the live menu every button edits in place, and the admins' verdicts on reports.
//! * [`menu`]: the main bot's screens, pure; [`live_menu`]: reading them and drawing them into
//!   the user's one menu message; [`menu_refresh`]: the redraw when a category bot is started.
//! * [`admin_login`]: one-time login links into the admin web UI (`/admin`).
//! * [`category_bot`]: one per category: `/start`, `/stop`, and the buttons under each card.
//! * [`reports`]: sends subscribers' reports to the admins.
//! * [`polling`]: the long-polling loop and 429-patient replies every bot uses.
//! * [`pay`]: the shop and Stars charges; [`stars_renewal`]: cancelling a Stars subscription's
//!   renewal (or allowing it again).
//! * [`stars_ledger`]: Telegram's star transactions held against ours: missed Stars payments
//!   and refunds settled later.
//! * [`service`]: the service's entry point, [`run`]: every configured bot until shutdown.

pub mod admin_login;
pub mod category_bot;
pub mod feeds;
pub mod live_menu;
pub mod main_bot;
pub mod menu;
pub mod menu_refresh;
pub mod pay;
pub mod polling;
pub mod reports;
pub mod service;
pub mod stars_ledger;
pub mod stars_renewal;

pub use service::{BotsConfig, run};
