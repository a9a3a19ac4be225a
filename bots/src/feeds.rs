//! Personal Atom feeds: «Моя подписка» gives a subscriber one feed URL per chosen category,
//! `<WEB_PUBLIC_URL>feeds/<user id>/<token>/<category>.atom`, which the web UI serves while
//! their access runs. The token is an HMAC of the user's id under `FEED_SECRET`, so nothing is
//! stored and no event carries it; rotating the secret retires every URL at once.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Where feeds are served and the secret their tokens are signed with.
#[derive(Clone)]
pub struct FeedLinks {
    /// The web UI's public address, ending in `/`.
    pub base: url::Url,
    secret: Vec<u8>,
}

impl std::fmt::Debug for FeedLinks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret stays out of logs.
        f.debug_struct("FeedLinks")
            .field("base", &self.base.as_str())
            .finish()
    }
}

/// Hex digits of a token: 128 bits are plenty against guessing.
const TOKEN_HEX: usize = 32;

impl FeedLinks {
    pub fn new(base: url::Url, secret: &str) -> Self {
        Self {
            base,
            secret: secret.as_bytes().to_vec(),
        }
    }

    fn mac(&self, user_id: i64) -> Hmac<Sha256> {
        // HMAC takes a key of any length.
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret).expect("any key length");
        mac.update(format!("feed:{user_id}").as_bytes());
        mac
    }

    /// The user's token in their feed URLs.
    pub fn token(&self, user_id: i64) -> String {
        let digest = self.mac(user_id).finalize().into_bytes();
        hex::encode(digest)[..TOKEN_HEX].to_owned()
    }

    /// Whether `token` is the user's (in constant time).
    pub fn verify(&self, user_id: i64, token: &str) -> bool {
        let Ok(given) = hex::decode(token) else {
            return false;
        };
        token.len() == TOKEN_HEX && self.mac(user_id).verify_truncated_left(&given).is_ok()
    }

    /// The user's feed of one category.
    pub fn url(&self, user_id: i64, category: &str) -> String {
        format!(
            "{}feeds/{user_id}/{}/{category}.atom",
            self.base,
            self.token(user_id)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links(secret: &str) -> FeedLinks {
        FeedLinks::new(url::Url::parse("https://rh.example/").unwrap(), secret)
    }

    #[test]
    fn a_token_is_the_users_own_and_the_secrets() {
        let feeds = links("s3cret");
        let token = feeds.token(42);
        assert_eq!(token.len(), TOKEN_HEX);
        assert!(feeds.verify(42, &token));
        assert!(!feeds.verify(43, &token));
        assert!(!links("other").verify(42, &token));
        assert!(!feeds.verify(42, &token[..30]));
        assert!(!feeds.verify(42, "zz"));
        assert_eq!(
            feeds.url(42, "design"),
            format!("https://rh.example/feeds/42/{token}/design.atom")
        );
        assert!(!format!("{feeds:?}").contains("s3cret"));
    }
}
