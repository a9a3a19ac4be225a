//! Set-up shared by ingest's integration tests.

pub mod telegram;

use bus::Bus;
use ingest::catalog::{Catalog, CatalogFile};
use schemas::Envelope;

/// A bus on a fresh NATS account with the shipped catalog (categories and default rules).
pub async fn bus_with_catalog() -> Bus {
    let nats = testkit::nats();
    let bus = Bus::from_client(nats.connect().await.expect("connects"));
    bus.ensure_streams().await.expect("streams");
    let file = CatalogFile::parse(include_str!("../../../catalog.toml")).expect("catalog parses");
    let changes: Vec<Envelope> = Catalog::default()
        .changes_to(&file)
        .into_iter()
        .map(Envelope::new)
        .collect();
    bus.publish_batch(&changes)
        .await
        .expect("catalog published");
    bus
}
