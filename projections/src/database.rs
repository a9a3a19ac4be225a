//! Connecting, creating the database and running the embedded migrations.

use anyhow::Context;
use sqlx::migrate::MigrateDatabase;
use sqlx::postgres::{PgPool, PgPoolOptions};

/// Creates the database named in `url` if it does not exist yet.
pub async fn create_database_if_missing(url: &str) -> anyhow::Result<bool> {
    if sqlx::Postgres::database_exists(url)
        .await
        .context("checking whether the database exists")?
    {
        return Ok(false);
    }
    sqlx::Postgres::create_database(url)
        .await
        .context("creating the database")?;
    Ok(true)
}

pub async fn connect(url: &str) -> anyhow::Result<PgPool> {
    PgPoolOptions::new()
        .max_connections(16)
        .connect(url)
        .await
        .context("connecting to Postgres")
}

/// Applies the read-model migrations (idempotent).
pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    sqlx::migrate!("./migrations")
        .run(pool)
        .await
        .context("running migrations")
}
