//! A scratch backbone for a benchmark: its own nats-server with every stream, a fresh migrated
//! database, and the projectors running until `stop`.

use bus::Bus;

pub(crate) struct Backbone {
    pub server: testkit::NatsServer,
    pub database: testkit::TestDatabase,
    pub bus: Bus,
    pub stop: tokio_util::sync::CancellationToken,
}

impl Backbone {
    pub async fn start() -> anyhow::Result<Self> {
        let server = testkit::NatsServer::start()?;
        let database = testkit::database().await?;
        let bus = Bus::connect(&server.url).await?;
        bus.ensure_streams().await?;
        projections::migrate(&database.pool).await?;
        let stop = tokio_util::sync::CancellationToken::new();
        tokio::spawn(projections::run(
            bus.clone(),
            database.pool.clone(),
            projections::Config::new(database.url.clone()),
            stop.clone(),
        ));
        Ok(Self {
            server,
            database,
            bus,
            stop,
        })
    }
}
