//! Fan-out: delivers classified vacancies to subscribers through one Telegram bot per category,
//! consuming the `fanout` durable consumer of `nats/`.
//!
//! * [`audience`]: who gets a vacancy, through which category bot.
//! * [`subscribers`]: the candidates for a vacancy, from the read models.
//! * [`tokens`]: bot tokens and admin ids from the environment, never shown.
//! * [`card`]: the delivered card (escaped, shortened, with its buttons' callback data).
//!
//! The service arrives with the rest of the bots-and-delivery issue; its events
//! (`VacancyDelivered`, …) are in `schemas`.

pub mod audience;
pub mod card;
pub mod subscribers;
pub mod tokens;
