//! A fresh Postgres database per test, dropped when the test is done, on the server named by
//! `DATABASE_URL` (default: the local one, user postgres, trust auth).

use anyhow::Context;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Connection, PgConnection};

/// The server-level URL test databases are created from.
pub fn admin_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

pub struct TestDatabase {
    pub name: String,
    pub url: String,
    pub pool: PgPool,
    /// The server-level URL it was created from, and is dropped through.
    admin: String,
}

/// Creates an empty database `rh_test_<random>` and connects to it.
pub async fn database() -> anyhow::Result<TestDatabase> {
    database_on(&admin_url(), PgPoolOptions::new().max_connections(8)).await
}

/// [`database`] on the server `admin` names, its pool built with `options`.
pub async fn database_on(admin: &str, options: PgPoolOptions) -> anyhow::Result<TestDatabase> {
    let admin = admin.to_owned();
    let name = format!("rh_test_{}", uuid::Uuid::new_v4().simple());
    let mut connection = PgConnection::connect(&admin)
        .await
        .with_context(|| format!("connecting to Postgres at {admin}"))?;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut connection)
        .await
        .context("creating a test database")?;
    let url = with_database(&admin, &name);
    let pool = options
        .connect(&url)
        .await
        .context("connecting to the test database")?;
    Ok(TestDatabase {
        name,
        url,
        pool,
        admin,
    })
}

/// Replaces the database path of a Postgres URL.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let base = match base.rfind('/') {
        Some(i) if i > "postgres://".len() => &base[..i],
        _ => base,
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let name = self.name.clone();
        let admin = self.admin.clone();
        // Drop runs inside the test's runtime; a separate thread with its own runtime may block.
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                if let Ok(mut connection) = PgConnection::connect(&admin).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut connection)
                        .await;
                }
            });
        })
        .join();
    }
}

/// Every row of `tables` as JSON, in a stable order: two read models are equal when their
/// snapshots are.
pub async fn snapshot(pool: &sqlx::PgPool, tables: &[&str]) -> anyhow::Result<String> {
    let mut out = String::new();
    for table in tables {
        let rows: String = sqlx::query_scalar(&format!(
            "SELECT coalesce(json_agg(t ORDER BY t::text), '[]')::text FROM {table} t"
        ))
        .fetch_one(pool)
        .await
        .with_context(|| format!("reading {table}"))?;
        out.push_str(table);
        out.push_str(": ");
        out.push_str(&rows);
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_name_is_swapped_in_the_url() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://u@h/db?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
    }
}
