//! `remotehunt catalog apply|show`: the catalog file against the CATALOG stream.

use std::path::Path;

use anyhow::Context;
use bus::Bus;
use ingest::catalog::{Catalog, CatalogFile};
use schemas::Envelope;

use crate::ops::connect_bus;

/// The catalog as the CATALOG stream says it is now.
pub async fn current(bus: &Bus) -> anyhow::Result<Catalog> {
    let stored = bus.read_to_end(schemas::Area::Catalog.stream(), 1).await?;
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

/// Publishes the events that make the catalog match `file` and returns them. With
/// `keep_unlisted_channels`, channels missing from the file (added by imports) are kept.
pub async fn apply_file(
    bus: &Bus,
    file: &CatalogFile,
    keep_unlisted_channels: bool,
) -> anyhow::Result<Vec<Envelope>> {
    let mut changes = current(bus).await?.changes_to(file);
    if keep_unlisted_channels {
        changes.retain(|e| !matches!(e, schemas::Event::ChannelRemoved(_)));
    }
    let changes: Vec<Envelope> = changes.into_iter().map(Envelope::new).collect();
    bus.publish_batch(&changes).await?;
    Ok(changes)
}

pub async fn apply(nats_url: &str, path: &Path) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let file = CatalogFile::parse(&text).with_context(|| format!("in {}", path.display()))?;
    let bus = connect_bus(nats_url).await?;
    bus.ensure_streams().await?;
    let published = apply_file(&bus, &file, false).await?;
    for envelope in &published {
        println!("{:<18} {}", envelope.event_type(), envelope.aggregate().id);
    }
    println!("{} change(s) published", published.len());
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
        let unreadable = catalog
            .unreadable
            .get(key)
            .map(|reason| format!(" UNREADABLE: {reason}"))
            .unwrap_or_default();
        println!(
            "  {key:<16} {:<24} {:?} {} rules: {scope}{unreadable}",
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

/// `remotehunt catalog yield`: per channel, what reading it brings.
pub async fn channel_yield(database_url: &str) -> anyhow::Result<()> {
    let pool = crate::ops::connect_database(database_url).await?;
    let rows = projections::read::catalog::channel_yield(&pool).await?;
    println!(
        "{:<16} {:<20} {:>7} {:>7} {:>7} {:>9} {:>7}",
        "chat", "username", "seen", "passed", "dups", "vacancies", "reports"
    );
    for row in rows {
        println!(
            "{:<16} {:<20} {:>7} {:>7} {:>7} {:>9} {:>7}",
            row.chat_id,
            row.username,
            row.seen,
            row.passed_rules,
            row.duplicates,
            row.vacancies,
            row.reports
        );
    }
    Ok(())
}

/// `remotehunt rules test --channel ID FILE.toml`: replays a channel's stored messages through
/// candidate rules (a backtest straight from the event log) and shows what would pass.
pub async fn rules_test(
    nats_url: &str,
    channel: i64,
    path: &Path,
    examples: usize,
) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let table: toml::Table =
        toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    // Either a bare rule set or a catalog-style file with a [rules] table.
    let rules: schemas::Rules = match table.get("rules") {
        Some(rules) => rules.clone().try_into()?,
        None => toml::Value::Table(table).try_into()?,
    };
    let rules = ingest::rules::CompiledRules::compile(&rules)?;
    let bus = connect_bus(nats_url).await?;
    let stored = bus.read_to_end(schemas::Area::Messages.stream(), 1).await?;
    let (mut seen, mut passed) = (0usize, 0usize);
    let (mut passing, mut stopped) = (Vec::new(), Vec::new());
    for message in &stored {
        let Ok(decoded) = message.decode() else {
            continue;
        };
        let schemas::Event::MessageReceived(received) = decoded.envelope.event else {
            continue;
        };
        if received.key.chat_id != channel {
            continue;
        }
        seen += 1;
        let decision = rules.decide(&received.text);
        let example = format!("  {:<28} {}", decision.rule, one_line(&received.text, 90));
        if decision.accepted {
            passed += 1;
            passing.push(example);
        } else {
            stopped.push(example);
        }
    }
    println!(
        "channel {channel}: {seen} stored messages, {passed} would pass, {} would be stopped",
        seen - passed
    );
    println!("would pass:");
    passing.iter().take(examples).for_each(|e| println!("{e}"));
    println!("would be stopped:");
    stopped.iter().take(examples).for_each(|e| println!("{e}"));
    Ok(())
}

fn one_line(text: &str, width: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(width) {
        Some((cut, _)) => format!("{}…", &flat[..cut]),
        None => flat,
    }
}
