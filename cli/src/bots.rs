//! Bot configuration shared by the bot services: the Bot API address and the main bot's token.

use std::collections::BTreeMap;

use clap::Args;
use teloxide::prelude::Requester;

#[derive(Args, Clone)]
pub struct BotArgs {
    /// The Bot API base URL (a local fake in development: `remotehunt dev telegram`).
    #[arg(
        long,
        env = "TELEGRAM_API_URL",
        default_value = "https://api.telegram.org",
        global = true
    )]
    telegram_api_url: String,
    /// The main bot's token (a secret: never logged).
    #[arg(long, env = "MAIN_BOT_TOKEN", hide_env_values = true, global = true)]
    main_bot_token: Option<String>,
    /// One bot per category: `design=123:AA…,texts=456:BB…` (secrets: never logged).
    #[arg(
        long,
        env = "CATEGORY_BOT_TOKENS",
        hide_env_values = true,
        global = true
    )]
    category_bot_tokens: Option<String>,
    /// The same pairs in a file (one a line), instead of the variable.
    #[arg(long, env = "CATEGORY_BOT_TOKENS_FILE", global = true)]
    category_bot_tokens_file: Option<std::path::PathBuf>,
}

impl BotArgs {
    pub fn main_bot(&self) -> anyhow::Result<Option<teloxide::Bot>> {
        let Some(token) = &self.main_bot_token else {
            return Ok(None);
        };
        let token = fanout::tokens::BotToken::parse(token)
            .ok_or_else(|| anyhow::anyhow!("MAIN_BOT_TOKEN is not a bot token (<id>:<secret>)"))?;
        let url = url::Url::parse(&self.telegram_api_url)
            .map_err(|e| anyhow::anyhow!("TELEGRAM_API_URL {:?}: {e}", self.telegram_api_url))?;
        Ok(Some(teloxide::Bot::new(token.expose()).set_api_url(url)))
    }
}

impl BotArgs {
    /// Each category bot's @username, asked of Telegram with its token (getMe).
    pub async fn category_bot_usernames(&self) -> anyhow::Result<BTreeMap<String, String>> {
        let tokens = match (&self.category_bot_tokens, &self.category_bot_tokens_file) {
            (Some(spec), _) => fanout::tokens::category_tokens(spec)?,
            (None, Some(path)) => fanout::tokens::category_tokens_file(path)?,
            (None, None) => BTreeMap::new(),
        };
        let url = url::Url::parse(&self.telegram_api_url)?;
        let mut usernames = BTreeMap::new();
        for (category, token) in tokens {
            let bot = teloxide::Bot::new(token.expose()).set_api_url(url.clone());
            match bot.get_me().await {
                Ok(me) => {
                    usernames.insert(category, me.username().to_owned());
                }
                Err(error) => {
                    tracing::warn!(category, bot = ?token, %error, "category bot unreachable");
                }
            }
        }
        Ok(usernames)
    }
}

pub async fn run_main_bot(
    nats_url: &str,
    database_url: &str,
    bot: teloxide::Bot,
    args: &BotArgs,
    shutdown: tokio_util::sync::CancellationToken,
) -> anyhow::Result<()> {
    let bus = crate::ops::connect_bus(nats_url).await?;
    let pool = crate::ops::connect_database(database_url).await?;
    let config = bots::main_bot::MainBotConfig {
        category_bots: args.category_bot_usernames().await?,
        ..bots::main_bot::MainBotConfig::default()
    };
    tracing::info!("main bot running");
    bots::main_bot::MainBot::new(bot, bus, pool, config)
        .run(shutdown)
        .await
}
