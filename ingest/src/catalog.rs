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
use serde::{Deserialize, Serialize};

use crate::rules::CompiledRules;

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("catalog file: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("catalog file: {0}")]
    Invalid(String),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryEntry {
    pub slug: String,
    pub name: String,
    /// Position in pickers; the file's order when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order: Option<i32>,
    /// Paying subscribers get each vacancy before those on a trial.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub paid_first: bool,
}

fn enabled_by_default() -> bool {
    true
}

fn is_zero(chat_id: &i64) -> bool {
    *chat_id == 0
}

fn channel_by_default() -> ChannelKind {
    ChannelKind::Channel
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelEntry {
    #[serde(default, skip_serializing_if = "is_zero")]
    pub chat_id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    pub title: String,
    #[serde(default = "channel_by_default")]
    pub kind: ChannelKind,
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
    /// The channel's own rules; without them the global ones apply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rules: Option<Rules>,
}

/// `catalog.toml` as written.
#[derive(Debug, Clone, Serialize, Deserialize)]
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
            admin_id: None,
        }
    }
}

/// The catalog as the events say it is now.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Catalog {
    /// Active categories by slug: (name, order, paid first).
    pub categories: BTreeMap<String, (String, i32, bool)>,
    /// Channels by key.
    pub channels: BTreeMap<String, ChannelConfigured>,
    /// Rules by scope key (`global` or a channel key); an empty set for a channel means "use
    /// the global rules".
    pub rules: BTreeMap<String, Rules>,
    /// Channels an operator removed: their messages are rejected and imports do not re-add them.
    pub removed: std::collections::BTreeSet<String>,
    /// Channels the reader could not read, with Telegram's reason; configuring one again clears it.
    pub unreadable: BTreeMap<String, String>,
    /// What an admin changed last in the web UI, by [`Edited`], with the admin's id: `catalog
    /// apply` warns before a file undoes it. A change from a file or an import clears it.
    pub edited_by_admin: BTreeMap<Edited, i64>,
    /// The Telegram accounts ingest reads with, by name.
    pub accounts: BTreeMap<String, IngestAccount>,
    /// Which account reads each channel, by channel key.
    pub assignments: BTreeMap<String, String>,
    /// Channels no account had room for.
    pub unassigned: std::collections::BTreeSet<String>,
}

/// An ingest account as the catalog knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestAccount {
    /// The cap it was added with.
    pub max_channels: u32,
    /// Why it stopped reading, with Telegram's answer; `None` while it reads.
    pub lost: Option<(schemas::AccountLoss, String)>,
    /// Telegram let it join no more than this many channels (`CHANNELS_TOO_MUCH`), and the
    /// channel it could not join.
    pub full: Option<(u32, String)>,
}

impl IngestAccount {
    pub fn is_live(&self) -> bool {
        self.lost.is_none()
    }

    /// How many channels it may be given: its cap, or fewer once Telegram said it is full.
    pub fn room(&self) -> usize {
        let full = self
            .full
            .as_ref()
            .map_or(u32::MAX, |(following, _)| *following);
        self.max_channels.min(full) as usize
    }
}

/// A part of the catalog an admin can change in the web UI.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Edited {
    Category(String),
    Channel(String),
    Rules(String),
}

impl std::fmt::Display for Edited {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Edited::Category(slug) => write!(f, "category {slug}"),
            Edited::Channel(key) => write!(f, "channel {key}"),
            Edited::Rules(scope) => write!(f, "rules of {scope}"),
        }
    }
}

impl Edited {
    /// The part of the catalog a catalog event changes (`None` for the reader's own news).
    pub fn of(event: &Event) -> Option<Self> {
        Some(match event {
            Event::CategoryDefined(e) => Edited::Category(e.slug.clone()),
            Event::CategoryRetired(e) => Edited::Category(e.slug.clone()),
            Event::ChannelConfigured(e) => Edited::Channel(e.key()),
            Event::ChannelRemoved(e) => Edited::Channel(e.channel.clone()),
            Event::ChannelRulesSet(e) => Edited::Rules(e.scope.key()),
            _ => return None,
        })
    }
}

/// The admin a catalog event names, if an admin made it.
fn admin_of(event: &Event) -> Option<i64> {
    match event {
        Event::CategoryDefined(e) => e.admin_id,
        Event::CategoryRetired(e) => e.admin_id,
        Event::ChannelConfigured(e) => e.admin_id,
        Event::ChannelRemoved(e) => e.admin_id,
        Event::ChannelRulesSet(e) => e.admin_id,
        _ => None,
    }
}

impl Catalog {
    pub fn apply(&mut self, event: &Event) {
        if let Some(edited) = Edited::of(event) {
            match admin_of(event) {
                Some(admin) => self.edited_by_admin.insert(edited, admin),
                None => self.edited_by_admin.remove(&edited),
            };
        }
        match event {
            Event::CategoryDefined(e) => {
                self.categories
                    .insert(e.slug.clone(), (e.name.clone(), e.order, e.paid_first));
            }
            Event::CategoryRetired(e) => {
                self.categories.remove(&e.slug);
            }
            Event::ChannelConfigured(e) => {
                self.removed.remove(&e.key());
                self.unreadable.remove(&e.key());
                // Who changed it is kept apart, so a file's entry compares equal to it.
                let channel = ChannelConfigured {
                    admin_id: None,
                    ..e.clone()
                };
                self.channels.insert(e.key(), channel);
            }
            Event::ChannelRemoved(e) => {
                self.channels.remove(&e.channel);
                self.assignments.remove(&e.channel);
                self.unassigned.remove(&e.channel);
                self.removed.insert(e.channel.clone());
            }
            Event::ChannelRulesSet(e) => {
                self.rules.insert(e.scope.key(), e.rules.clone());
            }
            Event::ChannelUnreadable(e) => {
                self.unreadable.insert(e.channel.clone(), e.reason.clone());
            }
            Event::IngestAccountAdded(e) => {
                let account = IngestAccount {
                    max_channels: e.max_channels,
                    lost: None,
                    full: None,
                };
                self.accounts.insert(e.account.clone(), account);
            }
            Event::IngestAccountLost(e) => {
                if let Some(account) = self.accounts.get_mut(&e.account) {
                    account.lost = Some((e.reason, e.detail.clone()));
                }
            }
            Event::IngestAccountFull(e) => {
                if let Some(account) = self.accounts.get_mut(&e.account) {
                    account.full = Some((e.following, e.channel.clone()));
                }
            }
            Event::ChannelAssigned(e) => match &e.account {
                Some(account) => {
                    self.unassigned.remove(&e.channel);
                    self.assignments.insert(e.channel.clone(), account.clone());
                }
                None => {
                    self.assignments.remove(&e.channel);
                    self.unassigned.insert(e.channel.clone());
                }
            },
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
        let mut listed: Vec<(&String, &(String, i32, bool))> = self.categories.iter().collect();
        listed.sort_by(|a, b| (a.1.1, a.0).cmp(&(b.1.1, b.0)));
        listed
            .into_iter()
            .map(|(slug, (name, _, _))| (slug.as_str(), name.as_str()))
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

    /// The catalog as a file that [`Catalog::changes_to`] finds nothing to change in: what
    /// `remotehunt catalog export` writes. The plans are not in the events, so they are given.
    pub fn to_file(&self, plans: Vec<schemas::subscription::Plan>) -> CatalogFile {
        let categories = self
            .active_categories()
            .into_iter()
            .map(|(slug, name)| CategoryEntry {
                slug: slug.to_owned(),
                name: name.to_owned(),
                order: Some(self.categories[slug].1),
                paid_first: self.categories[slug].2,
            })
            .collect();
        let channels = self
            .channels
            .iter()
            .map(|(key, channel)| ChannelEntry {
                chat_id: channel.chat_id,
                username: channel.username.clone(),
                title: channel.title.clone(),
                kind: channel.kind,
                enabled: channel.enabled,
                rules: self
                    .rules
                    .get(key)
                    .filter(|rules| **rules != Rules::default())
                    .cloned(),
            })
            .collect();
        CatalogFile {
            categories,
            rules: self.rules.get("global").cloned().unwrap_or_default(),
            channels,
            plans,
        }
    }

    /// Those of `changes` that would undo or overwrite an admin's change in the web UI, with
    /// the part changed and the admin: what `catalog apply` warns about before publishing.
    pub fn undoing_admin_edits<'a>(&self, changes: &'a [Event]) -> Vec<(&'a Event, i64)> {
        changes
            .iter()
            .filter_map(|change| {
                let edited = Edited::of(change)?;
                self.edited_by_admin
                    .get(&edited)
                    .map(|admin| (change, *admin))
            })
            .collect()
    }

    /// The events that make this catalog equal to `file`, in an order that applies cleanly.
    pub fn changes_to(&self, file: &CatalogFile) -> Vec<Event> {
        let mut events = Vec::new();
        for (position, category) in file.categories.iter().enumerate() {
            let wanted = (
                category.name.clone(),
                category.order.unwrap_or(position as i32),
                category.paid_first,
            );
            if self.categories.get(&category.slug) != Some(&wanted) {
                events.push(
                    CategoryDefined {
                        slug: category.slug.clone(),
                        name: wanted.0,
                        order: wanted.1,
                        paid_first: wanted.2,
                        admin_id: None,
                    }
                    .into(),
                );
            }
        }
        for slug in self.categories.keys() {
            if !file.categories.iter().any(|c| &c.slug == slug) {
                events.push(
                    CategoryRetired {
                        slug: slug.clone(),
                        admin_id: None,
                    }
                    .into(),
                );
            }
        }
        let global = self.rules.get("global").cloned().unwrap_or_default();
        if global != file.rules {
            events.push(
                ChannelRulesSet {
                    scope: RuleScope::Global,
                    rules: file.rules.clone(),
                    admin_id: None,
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
                        admin_id: None,
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
                        admin_id: None,
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

impl CatalogFile {
    /// The file as TOML, as [`CatalogFile::parse`] reads it.
    pub fn to_toml(&self) -> anyhow::Result<String> {
        Ok(toml::to_string_pretty(self)?)
    }
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
    publish_changes(bus, changes).await
}

/// Publishes catalog changes (from [`Catalog::changes_to`]) as one batch and returns them.
pub async fn publish_changes(
    bus: &bus::Bus,
    changes: Vec<Event>,
) -> anyhow::Result<Vec<schemas::Envelope>> {
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
    fn paying_first_is_a_category_setting_of_the_file() {
        // given the catalog of FILE
        let mut catalog = Catalog::default();
        for event in catalog.changes_to(&CatalogFile::parse(FILE).expect("parses")) {
            catalog.apply(&event);
        }
        // when design is set to serve paying subscribers first
        let edited = FILE.replacen(
            "name = \"Дизайн\"",
            "name = \"Дизайн\"\npaid_first = true",
            1,
        );
        let changes = catalog.changes_to(&CatalogFile::parse(&edited).expect("parses"));
        // then that is the one change, and the export keeps it
        assert!(
            matches!(changes.as_slice(), [Event::CategoryDefined(d)] if d.slug == "design" && d.paid_first),
            "{changes:?}"
        );
        catalog.apply(&changes[0]);
        let exported = catalog.to_file(Vec::new());
        assert!(
            exported
                .categories
                .iter()
                .any(|c| c.slug == "design" && c.paid_first)
        );
        assert!(
            exported
                .categories
                .iter()
                .any(|c| c.slug == "texts" && !c.paid_first)
        );
        assert!(catalog.changes_to(&exported).is_empty());
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
    fn an_exported_catalog_applies_as_no_change() {
        // given a catalog built from the file, then a channel added by an admin
        let mut catalog = Catalog::default();
        for event in catalog.changes_to(&CatalogFile::parse(FILE).expect("parses")) {
            catalog.apply(&event);
        }
        catalog.apply(&Event::from(ChannelConfigured {
            chat_id: -1001,
            username: None,
            title: "Добавлен в вебе".to_owned(),
            kind: ChannelKind::Group,
            enabled: false,
            admin_id: Some(7),
        }));
        // when it is exported and read back
        let text = catalog.to_file(Vec::new()).to_toml().expect("writes");
        let exported = CatalogFile::parse(&text).expect("reads back");
        // then applying it changes nothing
        assert!(catalog.changes_to(&exported).is_empty(), "{text}");
    }

    #[test]
    fn a_file_that_undoes_an_admins_edit_is_flagged() {
        // given the file's catalog, then an admin's rules for @jobs and a new channel
        let file = CatalogFile::parse(FILE).expect("parses");
        let mut catalog = Catalog::default();
        for event in catalog.changes_to(&file) {
            catalog.apply(&event);
        }
        catalog.apply(&Event::from(ChannelRulesSet {
            scope: RuleScope::Channel("@jobs".to_owned()),
            rules: Rules {
                forbid: vec!["#ищу".to_owned()],
                ..Rules::default()
            },
            admin_id: Some(7),
        }));
        catalog.apply(&Event::from(ChannelConfigured {
            chat_id: -1001,
            username: None,
            title: "Добавлен в вебе".to_owned(),
            kind: ChannelKind::Channel,
            enabled: true,
            admin_id: Some(8),
        }));
        // when the old file is compared again
        let changes = catalog.changes_to(&file);
        let flagged = catalog.undoing_admin_edits(&changes);
        // then both of the admins' changes are flagged, with who made them
        let flagged: Vec<(String, i64)> = flagged
            .iter()
            .map(|(event, admin)| (Edited::of(event).expect("catalog").to_string(), *admin))
            .collect();
        assert_eq!(
            flagged,
            [
                ("rules of @jobs".to_owned(), 7),
                ("channel -1001".to_owned(), 8)
            ]
        );
        // and once the file is applied, nothing is an admin's any more
        for event in &changes {
            catalog.apply(event);
        }
        assert!(catalog.edited_by_admin.is_empty());
    }

    #[test]
    fn active_categories_are_listed_by_order_then_slug() {
        // given categories defined out of order, one of them retired
        let events: Vec<Event> = vec![
            CategoryDefined {
                slug: "texts".to_owned(),
                name: "Тексты".to_owned(),
                order: 1,
                paid_first: false,
                admin_id: None,
            }
            .into(),
            CategoryDefined {
                slug: "design".to_owned(),
                name: "Дизайн".to_owned(),
                order: 1,
                paid_first: false,
                admin_id: None,
            }
            .into(),
            CategoryDefined {
                slug: "video".to_owned(),
                name: "Видео".to_owned(),
                order: 0,
                paid_first: false,
                admin_id: None,
            }
            .into(),
            CategoryRetired {
                slug: "texts".to_owned(),
                admin_id: None,
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
