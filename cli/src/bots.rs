//! Bot configuration shared by the bot services: the Bot API address and the main bot's token.

use clap::Args;

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

pub async fn run_main_bot(
    nats_url: &str,
    database_url: &str,
    bot: teloxide::Bot,
    shutdown: tokio_util::sync::CancellationToken,
) -> anyhow::Result<()> {
    let bus = crate::ops::connect_bus(nats_url).await?;
    let pool = crate::ops::connect_database(database_url).await?;
    let config = bots::main_bot::MainBotConfig::default();
    tracing::info!("main bot running");
    bots::main_bot::MainBot::new(bot, bus, pool, config)
        .run(shutdown)
        .await
}
