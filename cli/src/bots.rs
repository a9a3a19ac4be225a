//! Bot configuration shared by the bot services and fan-out: the Bot API address, the main bot's
//! token, one token per category bot, the admins. Runs the bots and the fan-out service.

use std::collections::BTreeMap;

use clap::Args;
use fanout::tokens::{BotToken, admin_ids, category_tokens, category_tokens_file};
use teloxide::prelude::Requester;
use tokio_util::sync::CancellationToken;

use crate::ops::{connect_bus, connect_database};

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
    /// The category bots: `design=123:AA…,texts=456:BB…` (secrets: never logged). Name a
    /// category again for another bot (`design=123:AA…,design=789:CC…`): its users are spread
    /// over its bots, each sending up to Telegram's 30 messages a second.
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
    /// Telegram user ids of the admins, comma-separated: they judge reports.
    #[arg(long, env = "ADMIN_IDS", default_value = "", global = true)]
    admin_ids: String,
    /// Category bots send with `allow_paid_broadcast`: up to 1,000 messages a second per bot,
    /// those over the free 30 paid from the bot's Stars balance (0.1 Star each).
    #[arg(long, env = "PAID_BROADCAST", default_value_t = false, action = clap::ArgAction::Set, global = true)]
    paid_broadcast: bool,
    /// Offer Telegram Stars in "Оплатить" (one-off, and a monthly subscription).
    #[arg(long, env = "STARS_PAYMENTS", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    stars_payments: bool,
    /// Whom users write to when something is wrong (an @username or a link), in the main bot's
    /// help.
    #[arg(long, env = "SUPPORT_CONTACT", global = true)]
    support_contact: Option<String>,
    /// The admin web UI's public address (`https://admin.example.org/`): login links and the
    /// cookies' `Secure` flag follow it.
    #[arg(
        long,
        env = "WEB_PUBLIC_URL",
        default_value = "http://127.0.0.1:8080/",
        global = true
    )]
    pub web_public_url: String,
    /// The catalog file whose `[[plans]]` the main bot sells (default: the bundled one).
    #[arg(long, env = "PLANS_CATALOG", global = true)]
    plans_catalog: Option<std::path::PathBuf>,
    /// Signs subscribers' personal Atom feed URLs (the main bot shows them, the web UI serves
    /// them); without it there are no feeds. Changing it retires every feed URL.
    #[arg(long, env = "FEED_SECRET", global = true, hide_env_values = true)]
    feed_secret: Option<String>,
}

impl BotArgs {
    fn bot(&self, token: &BotToken) -> anyhow::Result<teloxide::Bot> {
        let url = url::Url::parse(&self.telegram_api_url)
            .map_err(|e| anyhow::anyhow!("TELEGRAM_API_URL {:?}: {e}", self.telegram_api_url))?;
        fanout::telegram::bot(token.expose(), Some(url))
    }

    pub fn main_bot(&self) -> anyhow::Result<Option<teloxide::Bot>> {
        let Some(token) = &self.main_bot_token else {
            return Ok(None);
        };
        let token = BotToken::parse(token)
            .ok_or_else(|| anyhow::anyhow!("MAIN_BOT_TOKEN is not a bot token (<id>:<secret>)"))?;
        Ok(Some(self.bot(&token)?))
    }

    /// Each category's bots, one teloxide bot per token, in the order listed.
    pub fn category_bots(&self) -> anyhow::Result<fanout::tokens::CategoryShards> {
        let tokens = match (&self.category_bot_tokens, &self.category_bot_tokens_file) {
            (Some(spec), _) => category_tokens(spec)?,
            (None, Some(path)) => category_tokens_file(path)?,
            (None, None) => BTreeMap::new(),
        };
        tokens
            .iter()
            .map(|(category, tokens)| {
                let shards = tokens
                    .iter()
                    .map(|token| {
                        Ok(fanout::tokens::Shard {
                            bot_id: token.id(),
                            bot: self.bot(token)?,
                        })
                    })
                    .collect::<anyhow::Result<_>>()?;
                Ok((category.clone(), shards))
            })
            .collect()
    }

    /// How the category bots send: paid broadcast or not, the rest as Telegram's limits ask.
    pub fn send_config(&self) -> fanout::send::SendConfig {
        fanout::send::SendConfig {
            paid_broadcast: self.paid_broadcast,
            ..Default::default()
        }
    }

    pub fn web_public_url(&self) -> anyhow::Result<url::Url> {
        let mut url = url::Url::parse(&self.web_public_url)
            .map_err(|e| anyhow::anyhow!("WEB_PUBLIC_URL {:?}: {e}", self.web_public_url))?;
        // Links are joined onto it: a path without its trailing slash would lose its last part.
        if !url.path().ends_with('/') {
            url.set_path(&format!("{}/", url.path()));
        }
        Ok(url)
    }

    pub fn admins(&self) -> anyhow::Result<Vec<i64>> {
        Ok(admin_ids(&self.admin_ids)?)
    }

    /// Each category bot's @username, asked of Telegram with its token (getMe).
    pub async fn category_bot_usernames(&self) -> anyhow::Result<::bots::menu::CategoryBotLinks> {
        let mut usernames = ::bots::menu::CategoryBotLinks::new();
        for (category, shards) in self.category_bots()? {
            for shard in shards {
                match shard.bot.get_me().await {
                    Ok(me) => usernames
                        .entry(category.clone())
                        .or_default()
                        .push((shard.bot_id, me.username().to_owned())),
                    Err(error) => {
                        tracing::warn!(category, bot = shard.bot_id, %error, "category bot unreachable");
                    }
                }
            }
        }
        Ok(usernames)
    }

    pub fn plans(&self) -> anyhow::Result<Vec<schemas::subscription::Plan>> {
        let text = match &self.plans_catalog {
            Some(path) => std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("PLANS_CATALOG {}: {e}", path.display()))?,
            None => include_str!("../../catalog.toml").to_owned(),
        };
        let plans = ingest::catalog::CatalogFile::parse(&text)?.plans;
        anyhow::ensure!(!plans.is_empty(), "the catalog has no [[plans]] to sell");
        Ok(plans)
    }

    /// Personal feeds, when `FEED_SECRET` is set.
    pub fn feeds(&self) -> anyhow::Result<Option<::bots::feeds::FeedLinks>> {
        let Some(secret) = self.feed_secret.as_deref().filter(|s| !s.is_empty()) else {
            return Ok(None);
        };
        anyhow::ensure!(
            secret.len() >= 16,
            "FEED_SECRET: use at least 16 characters"
        );
        Ok(Some(::bots::feeds::FeedLinks::new(
            self.web_public_url()?,
            secret,
        )))
    }

    pub fn any_bot(&self) -> bool {
        self.main_bot_token.is_some()
            || self.category_bot_tokens.is_some()
            || self.category_bot_tokens_file.is_some()
    }

    /// Everything the bots service runs: the tokens and files parsed, the category bots' usernames
    /// asked of Telegram (only when the main bot runs: it links to them).
    pub async fn bots_config(
        &self,
        yookassa: Option<billing::yookassa::YooKassa>,
    ) -> anyhow::Result<::bots::BotsConfig> {
        let admins = self.admins()?;
        let main = match self.main_bot()? {
            Some(bot) => {
                // The plans are read only when something sells them.
                let plans = if yookassa.is_some() || self.stars_payments {
                    self.plans()?
                } else {
                    Vec::new()
                };
                Some(::bots::service::MainBotSetup {
                    bot,
                    yookassa,
                    plans,
                    stars: self.stars_payments,
                    category_bot_usernames: self.category_bot_usernames().await?,
                    support: self.support_contact.clone(),
                    web_public_url: Some(self.web_public_url()?),
                    feeds: self.feeds()?,
                })
            }
            None => None,
        };
        Ok(::bots::BotsConfig {
            main,
            category_bots: self.category_bots()?,
            admins,
            poll_timeout: fanout::telegram::LONG_POLL_SECONDS,
        })
    }
}

/// The main bot (when its token is set), every category bot, and the reports to the admins.
pub async fn run_bots(
    nats_url: &str,
    database_url: &str,
    args: &BotArgs,
    yookassa: Option<billing::yookassa::YooKassa>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.any_bot(),
        "no bot configured: set MAIN_BOT_TOKEN and CATEGORY_BOT_TOKENS (or CATEGORY_BOT_TOKENS_FILE)"
    );
    let config = args.bots_config(yookassa).await?;
    let bus = connect_bus(nats_url).await?;
    bus.ensure_streams().await?;
    let pool = connect_database(database_url).await?;
    ::bots::run(bus, pool, config, shutdown).await
}

/// The fan-out service: the planner, and a sender per category bot.
pub async fn run_fanout(
    nats_url: &str,
    database_url: &str,
    args: &BotArgs,
    config: fanout::service::FanoutConfig,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let bots = args.category_bots()?;
    if bots.is_empty() {
        tracing::warn!("no CATEGORY_BOT_TOKENS: vacancies are planned but nobody sends them");
    }
    let bus = connect_bus(nats_url).await?;
    let pool = connect_database(database_url).await?;
    tracing::info!(categories = bots.len(), "fan-out running");
    fanout::service::run(bus, pool, bots, config, shutdown).await
}
