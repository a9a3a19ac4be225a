//! Postgres read models built from the event streams. One projector per stream; each applies
//! events in batches, in one transaction with its checkpoint (the last stream sequence applied),
//! so a crash anywhere leaves the tables as of a whole batch and a restart resumes exactly there.
//! Only this crate writes these tables; bots, fan-out, billing and the CLI read them, through
//! [`read`].

pub mod bench;
mod checkpoint;
mod database;
mod models;
pub mod read;
mod runner;

pub use checkpoint::{Behind, checkpoint, wait_for};
pub use database::{
    connect, create_database_if_missing, handler_error, is_transient, migrate, open,
};
pub use runner::{Config, Projection, ProjectorError, catch_up, rebuild, run, run_projection};
