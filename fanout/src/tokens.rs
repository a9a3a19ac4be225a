//! Bot configuration every bot honours: `MAIN_BOT_TOKEN`, `CATEGORY_BOT_TOKENS`
//! (`design=123:AA…,texts=456:BB…`, or a file named by `CATEGORY_BOT_TOKENS_FILE`, one pair a
//! line or comma-separated; a category named again gets another bot, past one bot's 30
//! messages a second) and `ADMIN_IDS`. Tokens are secrets: no `Debug` or error message ever
//! shows one.

use std::collections::BTreeMap;
use std::path::Path;

#[derive(Clone, PartialEq, Eq)]
pub struct BotToken(String);

impl BotToken {
    /// A token as BotFather issues them: `<bot id>:<secret>`.
    pub fn parse(token: &str) -> Option<Self> {
        let token = token.trim();
        let (id, secret) = token.split_once(':')?;
        let valid = id.parse::<i64>().is_ok_and(|id| id > 0)
            && id.chars().all(|c| c.is_ascii_digit())
            && secret.len() >= 2
            && secret
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        valid.then(|| Self(token.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The bot's id, the public part of the token.
    pub fn bot_id(&self) -> &str {
        self.0.split_once(':').map_or("", |(id, _)| id)
    }

    /// The bot's id as Telegram's numbers go (what events name a category's bot by).
    pub fn id(&self) -> i64 {
        self.bot_id().parse().unwrap_or_default()
    }
}

impl std::fmt::Debug for BotToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BotToken({}:…)", self.bot_id())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("entry {0} is not category=token")]
    NotAPair(usize),
    #[error("the token for {0:?} is not a bot token (<id>:<secret>)")]
    BadToken(String),
    #[error("category {0:?} lists one token twice, or shares it with another category")]
    Duplicate(String),
    #[error("reading {path}: {reason}")]
    File { path: String, reason: String },
    #[error("ADMIN_IDS entry {0:?} is not a Telegram user id")]
    BadAdmin(String),
}

/// A category's bots in the order they are listed: the first is the one events recorded while
/// the category had one bot mean.
pub type CategoryTokens = BTreeMap<String, Vec<BotToken>>;

/// Parses `design=123:AA,texts=456:BB,design=789:CC` (commas or new lines; `#` starts a comment
/// line). A bot serves one category: the same token twice is an error.
pub fn category_tokens(spec: &str) -> Result<CategoryTokens, TokenError> {
    let mut tokens = CategoryTokens::new();
    let mut seen = std::collections::HashSet::new();
    let entries = spec
        .split([',', '\n'])
        .map(str::trim)
        .filter(|e| !e.is_empty() && !e.starts_with('#'));
    for (index, entry) in entries.enumerate() {
        let (category, token) = entry
            .split_once('=')
            .ok_or(TokenError::NotAPair(index + 1))?;
        let category = category.trim().to_lowercase();
        let token = BotToken::parse(token).ok_or_else(|| TokenError::BadToken(category.clone()))?;
        if !seen.insert(token.id()) {
            return Err(TokenError::Duplicate(category));
        }
        tokens.entry(category).or_default().push(token);
    }
    Ok(tokens)
}

pub fn category_tokens_file(path: &Path) -> Result<CategoryTokens, TokenError> {
    let text = std::fs::read_to_string(path).map_err(|e| TokenError::File {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    category_tokens(&text)
}

/// One of a category's bots, ready to call: users are spread over a category's shards, each
/// user always on the same one (the one they started), so a category sends as fast as all its
/// bots together.
#[derive(Clone, Debug)]
pub struct Shard {
    /// The numeric id in the bot's token.
    pub bot_id: i64,
    pub bot: teloxide::Bot,
}

impl Shard {
    /// A bot with its id read off its token (0 for a token that is not a bot's).
    pub fn of(bot: teloxide::Bot) -> Self {
        let bot_id = BotToken::parse(bot.token()).map_or(0, |t| t.id());
        Self { bot_id, bot }
    }
}

/// Category slug → its bots, the first being the one events without a `bot_id` mean.
pub type CategoryShards = BTreeMap<String, Vec<Shard>>;

/// One bot per category.
pub fn one_bot_each(bots: BTreeMap<String, teloxide::Bot>) -> CategoryShards {
    bots.into_iter()
        .map(|(category, bot)| (category, vec![Shard::of(bot)]))
        .collect()
}

/// Parses `ADMIN_IDS`: comma-separated Telegram user ids.
pub fn admin_ids(spec: &str) -> Result<Vec<i64>, TokenError> {
    spec.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|_| TokenError::BadAdmin(s.to_owned())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_from_env_or_file_and_never_shown() {
        let tokens = category_tokens(
            "design=123:AAbb-_9, texts = 456:CCdd\n# comment\nsmm=789:EEff\ndesign=124:GGhh",
        )
        .unwrap();
        assert_eq!(
            tokens.keys().collect::<Vec<_>>(),
            ["design", "smm", "texts"]
        );
        assert_eq!(tokens["design"][0].expose(), "123:AAbb-_9");
        assert_eq!(
            tokens["design"]
                .iter()
                .map(BotToken::id)
                .collect::<Vec<_>>(),
            [123, 124]
        );
        assert_eq!(format!("{:?}", tokens["design"][0]), "BotToken(123:…)");

        let secret = "999:TOPSECRET";
        for (spec, expected) in [
            ("design", TokenError::NotAPair(1)),
            ("design=nope", TokenError::BadToken("design".into())),
            (
                &format!("design={secret},design={secret}") as &str,
                TokenError::Duplicate("design".into()),
            ),
            (
                &format!("design={secret},texts={secret}"),
                TokenError::Duplicate("texts".into()),
            ),
            ("design=0:ab", TokenError::BadToken("design".into())),
        ] {
            let error = category_tokens(spec).unwrap_err();
            assert_eq!(error, expected);
            assert!(!error.to_string().contains("TOPSECRET"));
        }

        let dir = std::env::temp_dir().join(format!("rh-tokens-{}", std::process::id()));
        std::fs::write(&dir, "design=1:ab\nvideo=2:cd\n").unwrap();
        assert_eq!(category_tokens_file(&dir).unwrap().len(), 2);
        std::fs::remove_file(&dir).unwrap();
        assert!(category_tokens_file(&dir).is_err());
    }

    #[test]
    fn admin_ids_parse() {
        assert_eq!(admin_ids("1, 22,333").unwrap(), [1, 22, 333]);
        assert_eq!(admin_ids("").unwrap(), Vec::<i64>::new());
        assert_eq!(
            admin_ids("1,x").unwrap_err(),
            TokenError::BadAdmin("x".into())
        );
    }
}
