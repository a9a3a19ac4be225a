//! Billing: paid subscriptions through YooKassa and Telegram Stars.
//!
//! The service arrives with the billing issue; its events (`PaymentCreated`, …) are in `schemas`.
