//! Real dependencies for tests, benchmarks and the demo: our own nats-server (never the machine's
//! one, which may be too old or someone else's) and fresh Postgres databases. Nothing here is a
//! mock; fakes of Telegram, OpenAI and YooKassa that speak their wire formats live beside it.
//! [`App::start`] brings up the backbone an integration test needs in one call.

mod app;
pub mod events;
mod nats;
mod nats_cluster;
pub mod openai;
mod postgres;
mod postgres_server;
pub mod telegram;
pub mod yookassa;

pub use app::App;
pub use nats::{NatsServer, TestNats, nats, nats_server_binary};
pub use nats_cluster::{ClusterNode, NatsCluster};
pub use openai::FakeOpenAi;
pub use postgres::{TestDatabase, admin_url, database, snapshot};
pub use postgres_server::PostgresServer;
pub use telegram::{FakeTelegram, Fault};
pub use yookassa::FakeYooKassa;

/// Seconds since the Unix epoch, as the fakes put them in their answers.
pub(crate) fn unix_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Polls `check` every 50 ms until it holds; panics naming `what` after 30 s. For tests whose
/// services settle asynchronously.
pub async fn eventually<F: AsyncFn() -> bool>(what: &str, check: F) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !check().await {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
