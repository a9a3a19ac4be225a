//! The read side of the read models: every query other crates make of these tables, typed.
//! Only this crate knows the tables' columns, so a migration changes one crate, and
//! `tests/read_models_only_here.rs` fails on read-model SQL anywhere else.
//!
//! Each function takes the pool and returns named rows; none writes (the projectors do).

pub mod api;
pub mod audit;
pub mod catalog;
pub mod deliveries;
pub mod payments;
pub mod report;
pub mod reports;
pub mod scheduler;
pub mod users;
pub mod vacancies;

/// `text` for a LIKE pattern with its own `%`, `_` and `\` matched literally.
fn like_escaped(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
