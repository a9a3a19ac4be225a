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

/// The read-model database ready to use: created when missing, connected, migrated. What every
/// service and tool opens.
pub async fn open(url: &str) -> anyhow::Result<PgPool> {
    create_database_if_missing(url).await?;
    let pool = connect(url).await?;
    migrate(&pool).await?;
    Ok(pool)
}

/// Applies the read-model migrations (idempotent).
pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    let mut migrator = sqlx::migrate!("./migrations");
    // The web UI keeps its own tables (its sessions) in the same database, migrated by itself.
    migrator.set_ignore_missing(true);
    migrator.run(pool).await.context("running migrations")
}

/// A read-model failure as a consumer's verdict: Postgres unavailable is waited out, never
/// dead-lettered; anything else (a query that fails the same way each time) is retried a few
/// times, then dead-lettered with the reason.
pub fn handler_error(error: sqlx::Error) -> bus::consume::HandlerError {
    if is_transient(&error) {
        bus::consume::HandlerError::Unavailable(format!("Postgres: {error}"))
    } else {
        bus::consume::HandlerError::Retryable(format!("Postgres: {error}"))
    }
}

/// Whether a Postgres failure may go away by itself (the server restarting, a lost connection,
/// a full pool), as opposed to a query or a row that will fail the same way every time.
pub fn is_transient(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        // SQLSTATE classes 08 (connection), 53 (resources), 57 (operator intervention: the
        // server shutting down) and serialization failures / deadlocks.
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            code.starts_with("08")
                || code.starts_with("53")
                || code.starts_with("57")
                || code == "40001"
                || code == "40P01"
        }),
        _ => false,
    }
}
