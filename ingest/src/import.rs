//! `remotehunt ingest import result.json`: backfill (and the demo) through the live path.

use std::path::Path;

use anyhow::Context;
use bus::Bus;

use crate::export;
use crate::ingestor::{Ingestor, Report};

/// Parses the whole export first (a broken file imports nothing), then ingests it.
pub async fn import_file(bus: Bus, path: &Path, username: Option<&str>) -> anyhow::Result<Report> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    import_bytes(bus, &bytes, username)
        .await
        .with_context(|| format!("importing {}", path.display()))
}

pub async fn import_bytes(
    bus: Bus,
    bytes: &[u8],
    username: Option<&str>,
) -> anyhow::Result<Report> {
    let chat = export::parse(bytes, username)?;
    let mut ingestor = Ingestor::start(bus).await?;
    let added = ingestor
        .ensure_channel(chat.chat_id, username, &chat.title, chat.kind)
        .await?;
    let mut report = ingestor.ingest(chat.messages).await?;
    report.channels_added = usize::from(added);
    Ok(report)
}
