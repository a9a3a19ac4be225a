//! One-time links into the admin web UI. `/admin` in the main bot (or `remotehunt web
//! login-link` at the server) makes a random token, records only its SHA-256 as
//! `AdminLoginLinkIssued`, and hands out `<public url>/login/<token>`; the web UI spends the
//! token once (`AdminLoggedIn`, once per hash) within [`LINK_LIFETIME`].

use bus::Bus;
use rand::RngCore;
use schemas::{AdminLoginLinkIssued, Envelope};
use sha2::{Digest, Sha256};

/// How long a login link can be used.
pub const LINK_LIFETIME: chrono::Duration = chrono::Duration::minutes(10);

/// The hex SHA-256 a token is recorded under.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A fresh login link for `admin_id` under `public_url`, recorded on the bus. `via` says who
/// asked (`bot` or `cli`).
pub async fn issue(
    bus: &Bus,
    public_url: &url::Url,
    admin_id: i64,
    via: &str,
) -> anyhow::Result<url::Url> {
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    let token = hex::encode(secret);
    let issued = AdminLoginLinkIssued {
        admin_id,
        token_hash: token_hash(&token),
        expires_at: chrono::Utc::now() + LINK_LIFETIME,
        via: via.to_owned(),
    };
    bus.publish(&Envelope::new(issued)).await?;
    Ok(public_url.join(&format!("login/{token}"))?)
}
