//! The Telegram bots, over teloxide. [`main_bot`]: `/start` registers the user and starts the
//! trial (once per Telegram user, ever), the category picker toggles choices and shows the new
//! state at once (read-your-writes over the projection), `/help`. Everything a bot decides is
//! an event; what it shows comes from the read models.

pub mod main_bot;
pub mod picker;
