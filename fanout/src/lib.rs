//! Fan-out: delivers classified vacancies to subscribers through one Telegram bot per category,
//! consuming the `fanout` durable consumer of `nats/`.
//!
//! The service arrives with the bots-and-delivery issue; its events (`VacancyDelivered`, …) are
//! in `schemas`.
