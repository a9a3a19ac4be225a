//! `remotehunt catalog apply|show|export`: the catalog file against the CATALOG stream.

use std::path::Path;

use anyhow::Context;
use bus::Bus;
use ingest::catalog::{Catalog, CatalogFile, Edited};
use schemas::Event;

use crate::ops::connect_bus;

/// The catalog as the CATALOG stream says it is now.
pub async fn current(bus: &Bus) -> anyhow::Result<Catalog> {
    Ok(ingest::catalog::load(bus).await?.0)
}

/// `remotehunt catalog apply FILE [--yes]`: shows what the file would change, warns where it
/// would undo an admin's change made in the web UI, asks, then publishes the differences.
pub async fn apply(nats_url: &str, path: &Path, yes: bool) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let file = CatalogFile::parse(&text).with_context(|| format!("in {}", path.display()))?;
    let bus = connect_bus(nats_url).await?;
    bus.ensure_streams().await?;
    let catalog = current(&bus).await?;
    let changes = catalog.changes_to(&file);
    if changes.is_empty() {
        println!("the catalog already matches {}", path.display());
        return Ok(());
    }
    println!("{} would change the catalog:", path.display());
    for change in &changes {
        println!("  {}", describe(&catalog, change));
    }
    let undone = catalog.undoing_admin_edits(&changes);
    for (change, admin) in &undone {
        let part = Edited::of(change)
            .map(|p| p.to_string())
            .unwrap_or_default();
        eprintln!("warning: this undoes admin {admin}'s change to {part} made in the web UI");
    }
    if !yes && !confirmed(changes.len())? {
        println!("nothing published");
        return Ok(());
    }
    let published = ingest::catalog::publish_changes(&bus, changes).await?;
    println!("{} change(s) published", published.len());
    Ok(())
}

/// Asks on the terminal; without one (a script), refuses: `--yes` says it outright.
fn confirmed(changes: usize) -> anyhow::Result<bool> {
    use std::io::{BufRead, IsTerminal, Write};
    anyhow::ensure!(
        std::io::stdin().is_terminal(),
        "not a terminal: pass --yes to publish the {changes} change(s) above"
    );
    print!("publish {changes} change(s)? [y/N] ");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "д" | "да"))
}

/// One line of the diff: `+` added, `~` changed, `-` removed.
fn describe(catalog: &Catalog, change: &Event) -> String {
    match change {
        Event::CategoryDefined(e) => {
            let sign = if catalog.categories.contains_key(&e.slug) {
                '~'
            } else {
                '+'
            };
            format!(
                "{sign} category {} «{}» (order {})",
                e.slug, e.name, e.order
            )
        }
        Event::CategoryRetired(e) => format!("- category {}", e.slug),
        Event::ChannelConfigured(e) => {
            let sign = if catalog.channels.contains_key(&e.key()) {
                '~'
            } else {
                '+'
            };
            let state = if e.enabled { "enabled" } else { "disabled" };
            format!(
                "{sign} channel {} «{}» {:?} {state}",
                e.key(),
                e.title,
                e.kind
            )
        }
        Event::ChannelRemoved(e) => format!("- channel {}", e.channel),
        Event::ChannelRulesSet(e) => {
            let rules = serde_json::to_string(&e.rules).unwrap_or_default();
            format!("~ rules of {}: {rules}", e.scope.key())
        }
        other => other.event_type().to_owned(),
    }
}

/// `remotehunt catalog export`: the catalog as the events say it is, as a TOML file that
/// `catalog apply` would find nothing to change in (the plans are the bots' catalog file's).
pub async fn export(
    nats_url: &str,
    plans: Vec<schemas::subscription::Plan>,
    out: Option<&Path>,
) -> anyhow::Result<()> {
    let bus = connect_bus(nats_url).await?;
    bus.ensure_streams().await?;
    let catalog = current(&bus).await?;
    let text = format!(
        "# The catalog as the CATALOG stream says it is, written by `remotehunt catalog export`\n\
         # on {}. `remotehunt catalog apply` with this file changes nothing.\n\n{}",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        catalog.to_file(plans).to_toml()?
    );
    match out {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?
        }
        None => print!("{text}"),
    }
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
    let report = ingest::backtest::backtest(&bus, &[channel], &rules).await?;
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
