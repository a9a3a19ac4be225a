//! The content API's bearer tokens, made and revoked as events: `ApiTokenIssued` records only
//! the token's SHA-256, `ApiTokenRevoked` ends it. `remotehunt web token` calls these. The
//! token itself is handed to the caller once and is never stored, published or logged.

use std::fmt;

use anyhow::Context;
use bus::Bus;
use projections::read::api::{self as read, ApiToken};
use rand::RngCore;
use schemas::{ApiTokenIssued, ApiTokenRevoked, Envelope, Payload};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

/// Every token starts with this, so one pasted into the wrong place is recognisable (and
/// secret scanners can be taught it).
pub const PREFIX: &str = "rh_";

/// The hex SHA-256 a token is recorded and looked up under.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Whether `text` has a token's shape (`rh_` and 64 hex digits): anything else is refused
/// without a lookup.
pub fn looks_like_token(text: &str) -> bool {
    text.strip_prefix(PREFIX)
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A token just made. `Debug` leaves the token out, so logging this leaks nothing.
pub struct IssuedToken {
    pub token_id: Uuid,
    pub name: String,
    /// The bearer token: show it once, keep it nowhere.
    pub token: String,
    /// Where `ApiTokenIssued` was stored in USERS (to wait for the users projection).
    pub sequence: u64,
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("token_id", &self.token_id)
            .field("name", &self.name)
            .field("token", &"<redacted>")
            .field("sequence", &self.sequence)
            .finish()
    }
}

/// Makes a token named `name` (by `admin_id`, `None` for the operator at the server). A name
/// an active token already has is refused, so revoking by name is never ambiguous.
pub async fn issue(
    bus: &Bus,
    pool: &PgPool,
    name: &str,
    admin_id: Option<i64>,
) -> anyhow::Result<IssuedToken> {
    let name = name.trim();
    let tokens = read::tokens(pool).await.context("reading the API tokens")?;
    anyhow::ensure!(
        !tokens
            .iter()
            .any(|t| t.revoked_at.is_none() && t.name == name),
        "a token named {name:?} is active: revoke it first or choose another name"
    );
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    let token = format!("{PREFIX}{}", hex::encode(secret));
    let issued = ApiTokenIssued {
        token_id: Uuid::now_v7(),
        name: name.to_owned(),
        token_hash: token_hash(&token),
        admin_id,
    };
    issued.validate().map_err(anyhow::Error::msg)?;
    let token_id = issued.token_id;
    let published = bus.publish(&Envelope::new(issued)).await?;
    Ok(IssuedToken {
        token_id,
        name: name.to_owned(),
        token,
        sequence: published.sequence,
    })
}

/// What revoking did.
#[derive(Debug)]
pub struct Revoked {
    pub token: ApiToken,
    /// It had been revoked before: nothing new was recorded.
    pub already: bool,
    /// Where `ApiTokenRevoked` is stored in USERS.
    pub sequence: u64,
}

/// Revokes the token `id_or_name` names: its id, or the name of the one active token so named.
pub async fn revoke(
    bus: &Bus,
    pool: &PgPool,
    id_or_name: &str,
    admin_id: Option<i64>,
) -> anyhow::Result<Revoked> {
    let tokens = read::tokens(pool).await.context("reading the API tokens")?;
    let token = match Uuid::parse_str(id_or_name) {
        Ok(id) => tokens.into_iter().find(|t| t.token_id == id),
        Err(_) => {
            let mut named: Vec<ApiToken> = tokens
                .into_iter()
                .filter(|t| t.revoked_at.is_none() && t.name == id_or_name.trim())
                .collect();
            anyhow::ensure!(
                named.len() <= 1,
                "{} active tokens are named {id_or_name:?}: revoke one by its id",
                named.len()
            );
            named.pop()
        }
    }
    .with_context(|| format!("no active API token has the id or name {id_or_name:?}"))?;
    let revoked = ApiTokenRevoked {
        token_id: token.token_id,
        admin_id,
    };
    let published = bus.publish(&Envelope::new(revoked)).await?;
    Ok(Revoked {
        already: published.duplicate || token.revoked_at.is_some(),
        token,
        sequence: published.sequence,
    })
}

/// Every token, revoked ones too, oldest first.
pub async fn list(pool: &PgPool) -> sqlx::Result<Vec<ApiToken>> {
    read::tokens(pool).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_tokens_shape_looks_like_a_token() {
        // given a well-formed token and near misses
        let good = format!("{PREFIX}{}", "a1".repeat(32));
        // then only the token passes
        assert!(looks_like_token(&good));
        for bad in [
            "a1".repeat(32),
            format!("{PREFIX}{}", "a1".repeat(31)),
            format!("{PREFIX}{}", "zz".repeat(32)),
            format!("{PREFIX}{}'; DROP TABLE api_tokens; --", "a1".repeat(32)),
        ] {
            assert!(!looks_like_token(&bad), "{bad}");
        }
        // and its hash is the hex SHA-256 the events record
        assert_eq!(token_hash(&good).len(), 64);
    }

    #[test]
    fn an_issued_token_does_not_show_in_debug_output() {
        let issued = IssuedToken {
            token_id: Uuid::nil(),
            name: "partner".into(),
            token: format!("{PREFIX}{}", "b2".repeat(32)),
            sequence: 1,
        };
        assert!(!format!("{issued:?}").contains("b2b2"));
    }
}
