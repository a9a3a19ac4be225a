//! Billing: paid subscriptions through YooKassa, activated by themselves and never twice.
//!
//! * [`checkout`]: create a payment at YooKassa, record it, hand back the link.
//! * [`webhook`], [`service`]: notifications (trusted for nothing but a payment id) and the
//!   poller that re-checks pending payments; both go through [`reconcile`].
//! * [`verify`]: pure: does a payment read back from YooKassa match the one we created.
//! * [`activate`]: the payment's success and its days, exactly once; admins' grants.
//! * [`yookassa`]: the API v3 client.
//!
//! The lifecycle rules (trial → active → expired, extend, refund) are pure functions in
//! `schemas::subscription`.

pub mod activate;
pub mod allowlist;
pub mod checkout;
pub mod ledger;
pub mod reconcile;
pub mod refund;
pub mod service;
pub mod verify;
pub mod webhook;
pub mod yookassa;
