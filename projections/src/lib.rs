//! Postgres read models built from the event streams. One projector per stream; each applies
//! events in batches, in one transaction with its checkpoint (the last stream sequence applied),
//! so a crash anywhere leaves the tables as of a whole batch and a restart resumes exactly there.
//! Only this crate writes these tables; bots and the scheduler read them.

mod checkpoint;
mod database;
mod models;
mod runner;

pub use checkpoint::{checkpoint, wait_for};
pub use database::{connect, create_database_if_missing, migrate};
pub use runner::{Config, Projection, ProjectorError, catch_up, rebuild, run, run_projection};
