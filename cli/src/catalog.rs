//! `remotehunt catalog apply|show`: the catalog file against the CATALOG stream.

use std::path::Path;

use anyhow::Context;
use bus::Bus;
use ingest::catalog::{Catalog, CatalogFile};
use schemas::Envelope;

use crate::ops::connect_bus;

/// The catalog as the CATALOG stream says it is now.
pub async fn current(bus: &Bus) -> anyhow::Result<Catalog> {
    let stored = bus.read_to_end("CATALOG", 1).await?;
    let events: Vec<schemas::Event> = stored
        .iter()
        .filter_map(|message| match message.decode() {
            Ok(stored) => Some(stored.envelope.event),
            Err(error) => {
                tracing::warn!(sequence = message.sequence, %error, "skipping an undecodable catalog event");
                None
            }
        })
        .collect();
    Ok(Catalog::from_events(&events))
}

/// Publishes the events that make the catalog match `file`; returns how many.
pub async fn apply_file(bus: &Bus, file: &CatalogFile) -> anyhow::Result<usize> {
    let changes: Vec<Envelope> = current(bus)
        .await?
        .changes_to(file)
        .into_iter()
        .map(Envelope::new)
        .collect();
    bus.publish_batch(&changes).await?;
    Ok(changes.len())
}

pub async fn apply(nats_url: &str, path: &Path) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let file = CatalogFile::parse(&text).with_context(|| format!("in {}", path.display()))?;
    let bus = connect_bus(nats_url).await?;
    bus.ensure_streams().await?;
    let before = current(&bus).await?;
    let changes = before.changes_to(&file);
    for event in &changes {
        println!("{:<18} {}", event.event_type(), event.aggregate().id);
    }
    let published = apply_file(&bus, &file).await?;
    println!("{published} change(s) published");
    Ok(())
}

pub async fn show(nats_url: &str) -> anyhow::Result<()> {
    let bus = connect_bus(nats_url).await?;
    bus.ensure_streams().await?;
    let catalog = current(&bus).await?;
    let mut categories: Vec<_> = catalog.categories.iter().collect();
    categories.sort_by_key(|(_, (_, order))| *order);
    println!("categories:");
    for (slug, (name, _)) in categories {
        println!("  {slug:<12} {name}");
    }
    println!("channels:");
    for (key, channel) in &catalog.channels {
        let (scope, _) = catalog.rules_for(key);
        println!(
            "  {key:<16} {:<24} {:?} {} rules: {scope}",
            channel.title,
            channel.kind,
            if channel.enabled {
                "enabled"
            } else {
                "disabled"
            }
        );
    }
    println!("rules:");
    for (scope, rules) in &catalog.rules {
        println!("  {scope}: {}", serde_json::to_string(rules)?);
    }
    Ok(())
}
