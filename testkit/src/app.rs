//! One set-up for every integration test that needs the system's backbone, zero2prod's
//! `spawn_app`: a NATS account of the test's own with every stream, a fresh database with the
//! migrations, and (by default) the projectors running into it, until `shutdown` is cancelled
//! or the test's runtime ends. Its fields are public, so a test's own harness may take them
//! apart.

use std::time::Duration;

use bus::Bus;
use schemas::Envelope;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::TestDatabase;

pub struct App {
    /// The bus's NATS URL with its credentials, for processes the test starts (a cluster's
    /// servers, comma-separated).
    pub nats_url: String,
    pub bus: Bus,
    pub db: TestDatabase,
    /// Stops the projectors, and whatever the test ties to it.
    pub shutdown: CancellationToken,
}

impl App {
    /// The backbone with the projectors running.
    pub async fn start() -> Self {
        Self::start_on(crate::database().await.expect("a fresh database")).await
    }

    /// The backbone with the projectors running into `db` (a database on a Postgres server of
    /// the test's own, which it may stop).
    pub async fn start_on(db: TestDatabase) -> Self {
        let app = Self::backbone(db).await;
        app.spawn_projectors();
        app
    }

    /// The backbone on a bus of the test's own (a cluster's), the projectors running into a
    /// fresh database. Streams are created with the bus's replicas, retried while the cluster
    /// elects its leaders.
    pub async fn start_on_bus(bus: Bus, nats_url: String) -> Self {
        let db = crate::database().await.expect("a fresh database");
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while let Err(error) = bus.ensure_streams().await {
            assert!(
                std::time::Instant::now() < deadline,
                "creating the streams: {error:#}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        projections::migrate(&db.pool).await.expect("migrating");
        let app = Self {
            nats_url,
            bus,
            db,
            shutdown: CancellationToken::new(),
        };
        app.spawn_projectors();
        app
    }

    /// Streams and a migrated database, nothing running (tests of the projectors themselves).
    pub async fn without_projectors() -> Self {
        Self::backbone(crate::database().await.expect("a fresh database")).await
    }

    async fn backbone(db: TestDatabase) -> Self {
        let nats = crate::nats();
        let client = nats
            .connect()
            .await
            .expect("connecting to the test nats-server");
        let bus = Bus::from_client(client);
        bus.ensure_streams().await.expect("creating the streams");
        projections::migrate(&db.pool).await.expect("migrating");
        Self {
            nats_url: nats.url_with_credentials(),
            bus,
            db,
            shutdown: CancellationToken::new(),
        }
    }

    /// The projectors, into this app's database until `shutdown`.
    fn spawn_projectors(&self) {
        tokio::spawn(projections::run(
            self.bus.clone(),
            self.db.pool.clone(),
            projections::Config::new(self.db.url.clone()),
            self.shutdown.clone(),
        ));
    }

    pub fn pool(&self) -> &PgPool {
        &self.db.pool
    }

    /// Publishes `events` and waits until the projection of each stream they went to has
    /// applied them (read your writes).
    pub async fn given(&self, events: &[Envelope]) {
        let published = self.bus.publish_batch(events).await.expect("publishing");
        for projection in projections::Projection::ALL {
            let last = published
                .iter()
                .filter(|p| p.stream == projection.stream())
                .map(|p| p.sequence)
                .max();
            if let Some(last) = last {
                let seen = projections::wait_for(
                    &self.db.pool,
                    projection.name(),
                    last,
                    Duration::from_secs(10),
                )
                .await
                .expect("reading the checkpoint");
                assert!(
                    seen,
                    "the {} projection did not reach {last}",
                    projection.name()
                );
            }
        }
    }
}
