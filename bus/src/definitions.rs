//! Stream and consumer definitions. The JSON files in `nats/` are the source of truth (operators
//! feed them to `nats stream add --config`); they are embedded in the binary so services can
//! ensure their streams exist anywhere, and applied idempotently by `remotehunt nats apply`.

use std::path::Path;

use anyhow::{Context, bail};
use async_nats::jetstream::{consumer, stream};
use futures::TryStreamExt;
use serde_json::Value;

use crate::Bus;

/// The stream dead letters go to.
pub const DLQ_STREAM: &str = "DLQ";

/// `nats/` as compiled into the binary: (path, contents).
const EMBEDDED: &[(&str, &str)] = &[
    (
        "streams/CATALOG.json",
        include_str!("../../nats/streams/CATALOG.json"),
    ),
    (
        "streams/MESSAGES.json",
        include_str!("../../nats/streams/MESSAGES.json"),
    ),
    (
        "streams/SCREENING.json",
        include_str!("../../nats/streams/SCREENING.json"),
    ),
    (
        "streams/CLASSIFICATIONS.json",
        include_str!("../../nats/streams/CLASSIFICATIONS.json"),
    ),
    (
        "streams/USERS.json",
        include_str!("../../nats/streams/USERS.json"),
    ),
    (
        "streams/PAYMENTS.json",
        include_str!("../../nats/streams/PAYMENTS.json"),
    ),
    (
        "streams/DELIVERIES.json",
        include_str!("../../nats/streams/DELIVERIES.json"),
    ),
    (
        "streams/SCHEDULES.json",
        include_str!("../../nats/streams/SCHEDULES.json"),
    ),
    (
        "streams/JOBS.json",
        include_str!("../../nats/streams/JOBS.json"),
    ),
    (
        "streams/NOTIFICATIONS.json",
        include_str!("../../nats/streams/NOTIFICATIONS.json"),
    ),
    (
        "streams/DLQ.json",
        include_str!("../../nats/streams/DLQ.json"),
    ),
    (
        "consumers/SCREENING/classify.json",
        include_str!("../../nats/consumers/SCREENING/classify.json"),
    ),
    (
        "consumers/CLASSIFICATIONS/fanout.json",
        include_str!("../../nats/consumers/CLASSIFICATIONS/fanout.json"),
    ),
    (
        "consumers/USERS/admin-reports.json",
        include_str!("../../nats/consumers/USERS/admin-reports.json"),
    ),
    (
        "consumers/USERS/main-menu.json",
        include_str!("../../nats/consumers/USERS/main-menu.json"),
    ),
    (
        "consumers/SCHEDULES/scheduler.json",
        include_str!("../../nats/consumers/SCHEDULES/scheduler.json"),
    ),
    (
        "consumers/NOTIFICATIONS/notify.json",
        include_str!("../../nats/consumers/NOTIFICATIONS/notify.json"),
    ),
];

/// `nats/templates/DELIVERIES/send.json`: one consumer per category bot, `{category}` filled in.
const SEND_TEMPLATE: &str = include_str!("../../nats/templates/DELIVERIES/send.json");

/// The durable consumer that drains one category bot's outbox (`send-<category>`), from
/// `nats/templates/DELIVERIES/send.json`. Categories come and go with the catalog, so these
/// consumers are made from a template when a sender first starts, not by `nats apply`.
pub fn send_consumer(category: &str) -> anyhow::Result<consumer::pull::Config> {
    schemas::validate_slug(category).map_err(anyhow::Error::msg)?;
    let text = SEND_TEMPLATE.replace("{category}", category);
    serde_json::from_str(&text).context("nats/templates/DELIVERIES/send.json is not a consumer")
}

/// `nats/templates/DLQ/replay.json`: a consumer's replay requests.
const REPLAY_TEMPLATE: &str = include_str!("../../nats/templates/DLQ/replay.json");

/// The durable consumer through which `consumer` of `stream` reads the replays operators ask
/// for (`replay-<consumer>` on DLQ), from `nats/templates/DLQ/replay.json`.
pub fn replay_consumer(stream: &str, consumer: &str) -> anyhow::Result<consumer::pull::Config> {
    let safe = |name: &str| {
        !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if !safe(stream) || !safe(consumer) {
        bail!("{stream}/{consumer} cannot name a replay consumer");
    }
    let text = REPLAY_TEMPLATE
        .replace("{stream}", stream)
        .replace("{consumer}", consumer);
    serde_json::from_str(&text).context("nats/templates/DLQ/replay.json is not a consumer")
}

#[derive(Debug, Clone)]
pub struct StreamDefinition {
    pub name: String,
    /// The file as written: only its keys are compared with the server's config.
    pub raw: Value,
    pub config: stream::Config,
}

#[derive(Debug, Clone)]
pub struct ConsumerDefinition {
    pub stream: String,
    pub name: String,
    pub raw: Value,
    pub config: consumer::pull::Config,
}

#[derive(Debug, Clone, Default)]
pub struct Definitions {
    pub streams: Vec<StreamDefinition>,
    pub consumers: Vec<ConsumerDefinition>,
}

impl Definitions {
    /// The definitions compiled into this binary.
    pub fn embedded() -> Self {
        // The embedded files are checked by a test; a broken one is a build defect.
        Self::parse(EMBEDDED.iter().map(|(p, c)| (p.to_string(), c.to_string())))
            .expect("embedded nats/ definitions are valid")
    }

    /// Reads `dir/streams/*.json` and `dir/consumers/<STREAM>/*.json`.
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir.join("streams"))
            .with_context(|| format!("reading {}", dir.join("streams").display()))?
        {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "json") {
                let name = format!("streams/{}", file_name(&path));
                files.push((name, std::fs::read_to_string(&path)?));
            }
        }
        if let Ok(streams) = std::fs::read_dir(dir.join("consumers")) {
            for stream in streams {
                let stream = stream?.path();
                for entry in std::fs::read_dir(&stream)? {
                    let path = entry?.path();
                    if path.extension().is_some_and(|e| e == "json") {
                        let name = format!("consumers/{}/{}", file_name(&stream), file_name(&path));
                        files.push((name, std::fs::read_to_string(&path)?));
                    }
                }
            }
        }
        files.sort();
        Self::parse(files)
    }

    fn parse(files: impl IntoIterator<Item = (String, String)>) -> anyhow::Result<Self> {
        let mut definitions = Definitions::default();
        for (path, text) in files {
            let raw: Value =
                serde_json::from_str(&text).with_context(|| format!("parsing {path}"))?;
            let parts: Vec<&str> = path.split('/').collect();
            match parts.as_slice() {
                ["streams", _] => {
                    let config: stream::Config = serde_json::from_value(raw.clone())
                        .with_context(|| format!("{path} is not a stream config"))?;
                    definitions.streams.push(StreamDefinition {
                        name: config.name.clone(),
                        raw,
                        config,
                    });
                }
                ["consumers", stream, _] => {
                    let config: consumer::pull::Config = serde_json::from_value(raw.clone())
                        .with_context(|| format!("{path} is not a pull consumer config"))?;
                    let Some(name) = config.durable_name.clone() else {
                        bail!("{path}: a consumer definition needs durable_name");
                    };
                    definitions.consumers.push(ConsumerDefinition {
                        stream: stream.to_string(),
                        name,
                        raw,
                        config,
                    });
                }
                _ => bail!("unexpected definition file {path}"),
            }
        }
        Ok(definitions)
    }

    /// Every stream kept in `replicas` copies, one per server of a cluster (consumers have no
    /// count of their own: they follow their stream's).
    pub fn with_replicas(mut self, replicas: usize) -> Self {
        for stream in &mut self.streams {
            stream.config.num_replicas = replicas;
            stream.raw["num_replicas"] = replicas.into();
        }
        self
    }

    pub fn consumer(&self, stream: &str, name: &str) -> Option<&ConsumerDefinition> {
        self.consumers
            .iter()
            .find(|c| c.stream == stream && c.name == name)
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Created,
    Updated,
    Unchanged,
}

/// What `apply` did to each stream and consumer.
#[derive(Debug, Clone, Default)]
pub struct ApplyReport {
    pub items: Vec<(String, Change)>,
}

impl ApplyReport {
    pub fn changed(&self) -> usize {
        self.items
            .iter()
            .filter(|(_, c)| *c != Change::Unchanged)
            .count()
    }
}

/// How an existing stream's replica count is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Replicas {
    /// Set to the definition's: an operator's `nats apply --replicas N`.
    Exactly,
    /// Raised to the definition's, never lowered: a service starting without `NATS_REPLICAS`
    /// on a cluster must not take copies away that an operator added.
    AtLeast,
}

impl Bus {
    /// Creates or updates every stream and consumer so the server matches `definitions`; a
    /// second run reports every item unchanged.
    pub async fn apply(&self, definitions: &Definitions) -> anyhow::Result<ApplyReport> {
        self.apply_with(definitions, Replicas::Exactly).await
    }

    /// Like [`Bus::apply`], but a stream that has more replicas than its definition keeps them.
    pub async fn apply_without_scaling_down(
        &self,
        definitions: &Definitions,
    ) -> anyhow::Result<ApplyReport> {
        self.apply_with(definitions, Replicas::AtLeast).await
    }

    async fn apply_with(
        &self,
        definitions: &Definitions,
        replicas: Replicas,
    ) -> anyhow::Result<ApplyReport> {
        let mut report = ApplyReport::default();
        let existing: Vec<String> = self
            .js
            .stream_names()
            .try_collect()
            .await
            .context("listing streams")?;
        for definition in &definitions.streams {
            let change = if !existing.contains(&definition.name) {
                self.js
                    .create_stream(definition.config.clone())
                    .await
                    .with_context(|| format!("creating stream {}", definition.name))?;
                Change::Created
            } else {
                let mut stream = self.js.get_stream(&definition.name).await?;
                let current_config = stream.info().await?.config.clone();
                let mut config = definition.config.clone();
                if replicas == Replicas::AtLeast {
                    config.num_replicas = config.num_replicas.max(current_config.num_replicas);
                }
                let current = serde_json::to_value(&current_config)?;
                let desired = serde_json::to_value(&config)?;
                if differs(&definition.raw, &desired, &current) {
                    self.js
                        .update_stream(config)
                        .await
                        .with_context(|| format!("updating stream {}", definition.name))?;
                    Change::Updated
                } else {
                    Change::Unchanged
                }
            };
            report
                .items
                .push((format!("stream {}", definition.name), change));
        }
        for definition in &definitions.consumers {
            let stream = self
                .js
                .get_stream(&definition.stream)
                .await
                .with_context(|| {
                    format!(
                        "stream {} of consumer {}",
                        definition.stream, definition.name
                    )
                })?;
            let change = match stream.consumer_info(&definition.name).await {
                Ok(info) => {
                    let current = serde_json::to_value(&info.config)?;
                    let desired =
                        serde_json::to_value(consumer::IntoConsumerConfig::into_consumer_config(
                            definition.config.clone(),
                        ))?;
                    if differs(&definition.raw, &desired, &current) {
                        stream
                            .update_consumer(definition.config.clone())
                            .await
                            .with_context(|| format!("updating consumer {}", definition.name))?;
                        Change::Updated
                    } else {
                        Change::Unchanged
                    }
                }
                Err(e)
                    if e.kind()
                        == async_nats::jetstream::context::ConsumerInfoErrorKind::NotFound =>
                {
                    stream
                        .create_consumer(definition.config.clone())
                        .await
                        .with_context(|| format!("creating consumer {}", definition.name))?;
                    Change::Created
                }
                Err(e) => return Err(e).context(format!("reading consumer {}", definition.name)),
            };
            report.items.push((
                format!("consumer {}/{}", definition.stream, definition.name),
                change,
            ));
        }
        Ok(report)
    }

    /// Applies the embedded definitions: what every service does at start-up. Streams it
    /// creates get the bus's replicas; existing ones keep more if they have them.
    pub async fn ensure_streams(&self) -> anyhow::Result<ApplyReport> {
        let definitions = Definitions::embedded().with_replicas(self.replicas);
        self.apply_with(&definitions, Replicas::AtLeast).await
    }
}

/// Whether any key the file sets differs between the desired and the current config (both
/// serialised by the same client types, so defaults look alike).
fn differs(raw: &Value, desired: &Value, current: &Value) -> bool {
    let Some(keys) = raw.as_object() else {
        return true;
    };
    keys.keys().any(|key| desired.get(key) != current.get(key))
}
