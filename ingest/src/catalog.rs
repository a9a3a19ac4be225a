//! The catalog as a declarative file: `remotehunt catalog apply FILE` folds the CATALOG stream
//! into the current [`Catalog`], compares it with the file and publishes only the differences,
//! so a second run publishes nothing. [`Catalog`] is the one fold of the CATALOG stream: the
//! reader, the classifier and the CLI all read the catalog through it. Pure apart from [`load`]
//! and [`Catalog::follow`], which read the stream.

use std::collections::BTreeMap;

use schemas::{
    Area, CategoryDefined, CategoryRetired, ChannelConfigured, ChannelKind, ChannelRemoved,
    ChannelRulesSet, Event, RuleScope, Rules, channel_key, validate_slug,
};
use serde::Deserialize;

use crate::rules::CompiledRules;

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("catalog file: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("catalog file: {0}")]
    Invalid(String),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryEntry {
    pub slug: String,
    pub name: String,
    /// Position in pickers; the file's order when absent.
    pub order: Option<i32>,
}

fn enabled_by_default() -> bool {
    true
}

fn channel_by_default() -> ChannelKind {
    ChannelKind::Channel
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelEntry {
    #[serde(default)]
    pub chat_id: i64,
    pub username: Option<String>,
    pub title: String,
    #[serde(default = "channel_by_default")]
    pub kind: ChannelKind,
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
    /// The channel's own rules; without them the global ones apply.
    pub rules: Option<Rules>,
}

/// `catalog.toml` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogFile {
    #[serde(default)]
    pub categories: Vec<CategoryEntry>,
    /// The global default rules.
    #[serde(default)]
    pub rules: Rules,
    #[serde(default)]
    pub channels: Vec<ChannelEntry>,
    /// What subscribers can buy (billing reads them; the catalog events do not carry them).
    #[serde(default)]
    pub plans: Vec<schemas::subscription::Plan>,
}

impl CatalogFile {
    /// Parses and checks the file: valid unique slugs, channels with an id or a username, rules
    /// that compile.
    pub fn parse(text: &str) -> Result<Self, CatalogError> {
        let file: CatalogFile = toml::from_str(text)?;
        let mut slugs = std::collections::HashSet::new();
        for category in &file.categories {
            validate_slug(&category.slug).map_err(CatalogError::Invalid)?;
            if !slugs.insert(&category.slug) {
                return Err(CatalogError::Invalid(format!(
                    "category {} twice",
                    category.slug
                )));
            }
        }
        CompiledRules::compile(&file.rules)
            .map_err(|e| CatalogError::Invalid(format!("global rules: {e}")))?;
        let mut keys = std::collections::HashSet::new();
        for channel in &file.channels {
            let event = channel.configured();
            schemas::Payload::validate(&event).map_err(CatalogError::Invalid)?;
            if !keys.insert(event.key()) {
                return Err(CatalogError::Invalid(format!(
                    "channel {} twice",
                    event.key()
                )));
            }
            if let Some(rules) = &channel.rules {
                CompiledRules::compile(rules)
                    .map_err(|e| CatalogError::Invalid(format!("rules of {}: {e}", event.key())))?;
            }
        }
        Ok(file)
    }
}

impl ChannelEntry {
    fn configured(&self) -> ChannelConfigured {
        ChannelConfigured {
            chat_id: self.chat_id,
            username: self
                .username
                .as_ref()
                .map(|u| u.trim_start_matches('@').to_owned()),
            title: self.title.clone(),
            kind: self.kind,
            enabled: self.enabled,
        }
    }
}

/// The catalog as the events say it is now.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Catalog {
    /// Active categories by slug: (name, order).
    pub categories: BTreeMap<String, (String, i32)>,
    /// Channels by key.
    pub channels: BTreeMap<String, ChannelConfigured>,
    /// Rules by scope key (`global` or a channel key); an empty set for a channel means "use
    /// the global rules".
    pub rules: BTreeMap<String, Rules>,
    /// Channels an operator removed: their messages are rejected and imports do not re-add them.
    pub removed: std::collections::BTreeSet<String>,
    /// Channels the reader could not read, with Telegram's reason; configuring one again clears it.
    pub unreadable: BTreeMap<String, String>,
}

impl Catalog {
    pub fn apply(&mut self, event: &Event) {
        match event {
            Event::CategoryDefined(e) => {
                self.categories
                    .insert(e.slug.clone(), (e.name.clone(), e.order));
            }
            Event::CategoryRetired(e) => {
                self.categories.remove(&e.slug);
            }
            Event::ChannelConfigured(e) => {
                self.removed.remove(&e.key());
                self.unreadable.remove(&e.key());
                self.channels.insert(e.key(), e.clone());
            }
            Event::ChannelRemoved(e) => {
                self.channels.remove(&e.channel);
                self.removed.insert(e.channel.clone());
            }
            Event::ChannelRulesSet(e) => {
                self.rules.insert(e.scope.key(), e.rules.clone());
            }
            Event::ChannelUnreadable(e) => {
                self.unreadable.insert(e.channel.clone(), e.reason.clone());
            }
            _ => {}
        }
    }

    pub fn from_events<'a>(events: impl IntoIterator<Item = &'a Event>) -> Self {
        let mut catalog = Self::default();
        for event in events {
            catalog.apply(event);
        }
        catalog
    }

    /// Folds messages read from CATALOG, in stream order, and returns the last sequence among
    /// them (`None` when there were none). An undecodable message is skipped with a warning: the
    /// catalog is what the others say.
    pub fn apply_stored(&mut self, messages: &[bus::RawStored]) -> Option<u64> {
        let mut last = None;
        for message in messages {
            match message.decode() {
                Ok(stored) => self.apply(&stored.envelope.event),
                Err(error) => {
                    tracing::warn!(sequence = message.sequence, %error, "skipping an undecodable catalog event");
                }
            }
            last = Some(message.sequence);
        }
        last
    }

    /// Applies the catalog events published after `sequence` and returns the sequence of the
    /// last one applied (`sequence` itself when nothing is new).
    pub async fn follow(&mut self, bus: &bus::Bus, sequence: u64) -> Result<u64, bus::ReadError> {
        let news = bus
            .read_to_end(Area::Catalog.stream(), sequence + 1)
            .await?;
        Ok(self.apply_stored(&news).unwrap_or(sequence))
    }

    /// The active categories in catalog order (`order`, then slug), as `(slug, name)`: what
    /// pickers and prompts list.
    pub fn active_categories(&self) -> Vec<(&str, &str)> {
        let mut listed: Vec<(&String, &(String, i32))> = self.categories.iter().collect();
        listed.sort_by(|a, b| (a.1.1, a.0).cmp(&(b.1.1, b.0)));
        listed
            .into_iter()
            .map(|(slug, (name, _))| (slug.as_str(), name.as_str()))
            .collect()
    }

    /// The rules that apply to a channel: its own, else the global ones.
    pub fn rules_for<'a>(&'a self, channel: &'a str) -> (&'a str, Rules) {
        match self.rules.get(channel) {
            Some(rules) if *rules != Rules::default() => (channel, rules.clone()),
            _ => (
                "global",
                self.rules.get("global").cloned().unwrap_or_default(),
            ),
        }
    }

    /// The events that make this catalog equal to `file`, in an order that applies cleanly.
    pub fn changes_to(&self, file: &CatalogFile) -> Vec<Event> {
        let mut events = Vec::new();
        for (position, category) in file.categories.iter().enumerate() {
            let wanted = (
                category.name.clone(),
                category.order.unwrap_or(position as i32),
            );
            if self.categories.get(&category.slug) != Some(&wanted) {
                events.push(
                    CategoryDefined {
                        slug: category.slug.clone(),
                        name: wanted.0,
                        order: wanted.1,
                    }
                    .into(),
                );
            }
        }
        for slug in self.categories.keys() {
            if !file.categories.iter().any(|c| &c.slug == slug) {
                events.push(CategoryRetired { slug: slug.clone() }.into());
            }
        }
        let global = self.rules.get("global").cloned().unwrap_or_default();
        if global != file.rules {
            events.push(
                ChannelRulesSet {
                    scope: RuleScope::Global,
                    rules: file.rules.clone(),
                }
                .into(),
            );
        }
        for channel in &file.channels {
            let configured = channel.configured();
            let key = configured.key();
            if self.channels.get(&key) != Some(&configured) {
                events.push(configured.into());
            }
            let wanted = channel.rules.clone().unwrap_or_default();
            if self.rules.get(&key).cloned().unwrap_or_default() != wanted {
                events.push(
                    ChannelRulesSet {
                        scope: RuleScope::Channel(key),
                        rules: wanted,
                    }
                    .into(),
                );
            }
        }
        for key in self.channels.keys() {
            let in_file = file.channels.iter().any(|c| {
                channel_key(
                    c.chat_id,
                    c.username.as_deref().map(|u| u.trim_start_matches('@')),
                ) == *key
            });
            if !in_file {
                events.push(
                    ChannelRemoved {
                        channel: key.clone(),
                    }
                    .into(),
                );
            }
        }
        events
    }
}

/// The catalog as the CATALOG stream says it is now, with the stream's last sequence folded
/// (0 when the stream is empty); pass it to [`Catalog::follow`] to keep up.
pub async fn load(bus: &bus::Bus) -> anyhow::Result<(Catalog, u64)> {
    let mut catalog = Catalog::default();
    let last = catalog.follow(bus, 0).await?;
    Ok((catalog, last))
}

/// Publishes the events that make the catalog match `file` and returns them. With
/// `keep_unlisted_channels`, channels missing from the file (added by imports) are kept.
pub async fn apply_file(
    bus: &bus::Bus,
    file: &CatalogFile,
    keep_unlisted_channels: bool,
) -> anyhow::Result<Vec<schemas::Envelope>> {
    let (catalog, _) = load(bus).await?;
    let mut changes = catalog.changes_to(file);
    if keep_unlisted_channels {
        changes.retain(|e| !matches!(e, Event::ChannelRemoved(_)));
    }
    let changes: Vec<schemas::Envelope> = changes.into_iter().map(schemas::Envelope::new).collect();
    bus.publish_batch(&changes).await?;
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r##"
        [[categories]]
        slug = "design"
        name = "Дизайн"
        [[categories]]
        slug = "texts"
        name = "Тексты"
        [rules]
        require_any = ["ваканс*"]
        [[channels]]
        username = "@jobs"
        title = "Jobs"
        [channels.rules]
        forbid = ["#резюме"]
    "##;

    #[test]
    fn an_empty_catalog_gets_everything_then_nothing() {
        // given an empty catalog and a file
        let file = CatalogFile::parse(FILE).expect("parses");
        let mut catalog = Catalog::default();
        // when the changes are applied
        let changes = catalog.changes_to(&file);
        for event in &changes {
            catalog.apply(event);
        }
        // then the first diff defines everything and the second is empty
        let types: Vec<&str> = changes.iter().map(Event::event_type).collect();
        assert_eq!(
            types,
            [
                "CategoryDefined",
                "CategoryDefined",
                "ChannelRulesSet",
                "ChannelConfigured",
                "ChannelRulesSet"
            ]
        );
        assert!(catalog.changes_to(&file).is_empty());
        assert_eq!(catalog.rules_for("@jobs").0, "@jobs");
        assert_eq!(catalog.rules_for("@other").0, "global");
    }

    #[test]
    fn only_differences_are_emitted() {
        let mut catalog = Catalog::default();
        for event in catalog.changes_to(&CatalogFile::parse(FILE).expect("parses")) {
            catalog.apply(&event);
        }
        let edited = FILE.replace("name = \"Тексты\"", "name = \"Тексты и переводы\"").replace(
            "[[channels]]\n        username = \"@jobs\"\n        title = \"Jobs\"\n        [channels.rules]\n        forbid = [\"#резюме\"]",
            "",
        );
        let changes = catalog.changes_to(&CatalogFile::parse(&edited).expect("parses"));
        let types: Vec<&str> = changes.iter().map(Event::event_type).collect();
        assert_eq!(types, ["CategoryDefined", "ChannelRemoved"]);
    }

    #[test]
    fn active_categories_are_listed_by_order_then_slug() {
        // given categories defined out of order, one of them retired
        let events: Vec<Event> = vec![
            CategoryDefined {
                slug: "texts".to_owned(),
                name: "Тексты".to_owned(),
                order: 1,
            }
            .into(),
            CategoryDefined {
                slug: "design".to_owned(),
                name: "Дизайн".to_owned(),
                order: 1,
            }
            .into(),
            CategoryDefined {
                slug: "video".to_owned(),
                name: "Видео".to_owned(),
                order: 0,
            }
            .into(),
            CategoryRetired {
                slug: "texts".to_owned(),
            }
            .into(),
        ];
        // when they are folded
        let catalog = Catalog::from_events(&events);
        // then the active ones come by order, ties by slug
        assert_eq!(
            catalog.active_categories(),
            [("video", "Видео"), ("design", "Дизайн")]
        );
    }

    #[test]
    fn bad_files_are_clear_errors() {
        assert!(CatalogFile::parse("[[categories]]\nslug = \"Дизайн\"\nname = \"x\"").is_err());
        assert!(CatalogFile::parse("[rules]\nrequire_regex = \"(\"").is_err());
        assert!(CatalogFile::parse("[[channels]]\ntitle = \"no id\"").is_err());
        assert!(CatalogFile::parse("unknown = 1").is_err());
        let error = CatalogFile::parse("[[categories]]\nslug = 5").expect_err("type error");
        assert!(error.to_string().contains("line"), "{error}");
    }

    #[test]
    fn the_shipped_catalog_has_the_twelve_categories() {
        let file =
            CatalogFile::parse(include_str!("../../catalog.toml")).expect("catalog.toml parses");
        let slugs: Vec<&str> = file.categories.iter().map(|c| c.slug.as_str()).collect();
        assert_eq!(
            slugs,
            [
                "development",
                "design",
                "texts",
                "smm",
                "marketing",
                "video",
                "animation",
                "assistant",
                "sales",
                "management",
                "analytics",
                "testing"
            ]
        );
    }
}
