//! How every bot and sender talks to the Bot API: one way to build a client whose timeout is
//! longer than anything it waits for, and one reading of a failure, so that a 5xx, a proxy's
//! error page or a dropped connection is retried, an answer that never came is never sent again
//! blindly, and only Telegram's own refusals are final.

use std::time::Duration;

use teloxide::{ApiError, Bot, RequestError};

/// How long a long poll asks Telegram to hold `getUpdates` open.
pub const LONG_POLL_SECONDS: u32 = 25;

/// The HTTP client's limit for one request: longer than a long poll plus the 10 s teloxide
/// sleeps after a 5xx, so an idle poll is never cut off by our own client.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(LONG_POLL_SECONDS as u64 + 20);

/// A bot on `api_url` (Telegram's when `None`) whose HTTP client waits [`CLIENT_TIMEOUT`].
pub fn bot(token: &str, api_url: Option<url::Url>) -> anyhow::Result<Bot> {
    bot_with_timeout(token, api_url, CLIENT_TIMEOUT)
}

/// [`bot`] with another client timeout (tests of answers that come too late).
pub fn bot_with_timeout(
    token: &str,
    api_url: Option<url::Url>,
    timeout: Duration,
) -> anyhow::Result<Bot> {
    let client = teloxide::net::default_reqwest_settings()
        .timeout(timeout)
        .build()
        .map_err(|e| anyhow::anyhow!("building the Bot API client: {e}"))?;
    let bot = Bot::with_client(token, client);
    Ok(match api_url {
        Some(url) => bot.set_api_url(url),
        None => bot,
    })
}

/// What a failed Bot API request means for whoever sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Telegram's 429: wait exactly this long, then try again.
    RetryAfter(Duration),
    /// Nothing happened and trying again may work: a 5xx (Telegram's JSON `500` or a proxy's
    /// HTML error page), a connection that never opened.
    Transient(String),
    /// The request may have been carried out but its answer never came (a timeout after it
    /// left): a send must not be repeated blindly.
    Ambiguous(String),
    /// Telegram refused for good; `blocked` when the user blocked or never started the bot.
    Refused { error: String, blocked: bool },
}

/// Reads a failure. teloxide turns Telegram's JSON `500` into an API error with the HTTP
/// reason as its description, and a non-JSON body (a proxy's `502` page) into `InvalidJson`.
pub fn classify(error: &RequestError) -> Failure {
    match error {
        RequestError::RetryAfter(wait) => Failure::RetryAfter(wait.duration()),
        RequestError::Network(source) if source.is_timeout() => {
            Failure::Ambiguous(error.to_string())
        }
        RequestError::Network(_) | RequestError::Io(_) | RequestError::InvalidJson { .. } => {
            Failure::Transient(error.to_string())
        }
        RequestError::Api(ApiError::Unknown(text)) if is_server_error(text) => {
            Failure::Transient(error.to_string())
        }
        RequestError::Api(api) => Failure::Refused {
            error: api.to_string(),
            blocked: is_blocked(api),
        },
        RequestError::MigrateToChatId(_) => Failure::Refused {
            error: error.to_string(),
            blocked: false,
        },
    }
}

/// Whether a failed request may be sent again as it is (it changed nothing at Telegram).
pub fn is_transient(error: &RequestError) -> bool {
    matches!(
        classify(error),
        Failure::Transient(_) | Failure::RetryAfter(_)
    )
}

/// The descriptions of HTTP 5xx answers (the Bot API puts the reason phrase there).
fn is_server_error(description: &str) -> bool {
    const SERVER_ERRORS: [&str; 5] = [
        "Internal Server Error",
        "Bad Gateway",
        "Service Unavailable",
        "Gateway Timeout",
        "Server Error",
    ];
    SERVER_ERRORS
        .iter()
        .any(|reason| description.contains(reason))
}

/// Telegram's 403s (and teloxide's names for them): the user blocked the bot, never started it,
/// or is gone.
fn is_blocked(error: &ApiError) -> bool {
    match error {
        ApiError::BotBlocked
        | ApiError::CantInitiateConversation
        | ApiError::UserDeactivated
        | ApiError::BotKicked
        | ApiError::BotKickedFromSupergroup => true,
        ApiError::Unknown(text) => text.starts_with("Forbidden"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(text: &str) -> RequestError {
        RequestError::Api(ApiError::Unknown(text.to_owned()))
    }

    #[test]
    fn server_errors_and_error_pages_are_transient() {
        // given Telegram's JSON 500 and a proxy's HTML 502 as teloxide reports them
        let html = serde_json::from_str::<serde_json::Value>("<html>502 Bad Gateway</html>")
            .expect_err("not JSON");
        let page = RequestError::InvalidJson {
            source: std::sync::Arc::new(html),
            raw: "<html>502 Bad Gateway</html>".into(),
        };
        // then both may be sent again
        assert!(matches!(
            classify(&api("Internal Server Error")),
            Failure::Transient(_)
        ));
        assert!(matches!(classify(&page), Failure::Transient(_)));
    }

    #[test]
    fn refusals_are_final_and_403s_stop_the_bot() {
        assert_eq!(
            classify(&RequestError::Api(ApiError::BotBlocked)),
            Failure::Refused {
                error: ApiError::BotBlocked.to_string(),
                blocked: true
            }
        );
        assert!(matches!(
            classify(&api("Bad Request: chat not found")),
            Failure::Refused { blocked: false, .. }
        ));
        assert!(matches!(
            classify(&api("Forbidden: bot was blocked by the user")),
            Failure::Refused { blocked: true, .. }
        ));
    }

    #[test]
    fn a_429_waits_what_telegram_asked() {
        let error = RequestError::RetryAfter(teloxide::types::Seconds::from_seconds(7));
        assert_eq!(
            classify(&error),
            Failure::RetryAfter(Duration::from_secs(7))
        );
    }

    #[test]
    fn the_client_outwaits_a_long_poll() {
        assert!(CLIENT_TIMEOUT > Duration::from_secs(u64::from(LONG_POLL_SECONDS) + 10));
    }
}
