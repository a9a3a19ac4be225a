//! `remotehunt catalog apply|show`: the catalog file against the CATALOG stream.

use std::path::Path;

use anyhow::Context;
use bus::Bus;
use ingest::catalog::{Catalog, CatalogFile};

use crate::ops::connect_bus;

/// The catalog as the CATALOG stream says it is now.
pub async fn current(bus: &Bus) -> anyhow::Result<Catalog> {
    Ok(ingest::catalog::load(bus).await?.0)
}

pub async fn apply(nats_url: &str, path: &Path) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let file = CatalogFile::parse(&text).with_context(|| format!("in {}", path.display()))?;
    let bus = connect_bus(nats_url).await?;
    bus.ensure_streams().await?;
    let published = ingest::catalog::apply_file(&bus, &file, false).await?;
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
    println!("categories:");
    for (slug, name) in catalog.active_categories() {
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
    let report = ingest::backtest::backtest(&bus, channel, &rules).await?;
    let line =
        |e: &ingest::backtest::Example| format!("  {:<28} {}", e.rule, one_line(&e.text, 90));
    println!(
        "channel {channel}: {} stored messages, {} would pass, {} would be stopped",
        report.seen,
        report.passed(),
        report.stopped.len()
    );
    println!("would pass:");
    report
        .passing
        .iter()
        .take(examples)
        .for_each(|e| println!("{}", line(e)));
    println!("would be stopped:");
    report
        .stopped
        .iter()
        .take(examples)
        .for_each(|e| println!("{}", line(e)));
    Ok(())
}

fn one_line(text: &str, width: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(width) {
        Some((cut, _)) => format!("{}…", &flat[..cut]),
        None => flat,
    }
}
