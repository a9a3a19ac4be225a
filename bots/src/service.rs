//! The bots service as one entry point: the main bot (when it has a token), the reports to the
//! admins, and one category bot per token, run until one fails or `shutdown` fires. The CLI only
//! parses tokens and files into a [`BotsConfig`]; tests call [`run`] directly.
//!
//! Any number of copies may run: each bot is polled by the one copy holding its lease
//! ([`crate::polling`]), the others stand by for it, so every update is handled once.

use std::collections::BTreeMap;

use bus::Bus;
use sqlx::PgPool;
use teloxide::prelude::Requester;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::category_bot::CategoryBot;
use crate::main_bot::{MainBot, MainBotConfig, Payments, YooKassaCheckout};
use crate::reports::ReportsToAdmins;

/// Everything the bots service runs, already parsed.
#[derive(Clone)]
pub struct BotsConfig {
    /// The main bot, when its token is set.
    pub main: Option<MainBotSetup>,
    /// Category slug → its bots, the first being the one older events mean.
    pub category_bots: fanout::tokens::CategoryShards,
    /// Telegram ids of the admins, who judge reports; empty leaves reports waiting in USERS.
    pub admins: Vec<i64>,
    /// Seconds a getUpdates call waits for something to happen, for every bot.
    pub poll_timeout: u32,
}

/// The main bot and what its "Оплатить" flow sells.
#[derive(Clone)]
pub struct MainBotSetup {
    pub bot: teloxide::Bot,
    /// The YooKassa shop, when configured; its return URL is the bot's t.me link (asked with getMe).
    pub yookassa: Option<billing::yookassa::YooKassa>,
    /// The plans sold; read only when paying is on (YooKassa or Stars).
    pub plans: Vec<schemas::subscription::Plan>,
    /// Offer Telegram Stars in "Оплатить".
    pub stars: bool,
    /// Category slug → its bots' ids and @usernames (without the @), for the links the main
    /// bot shows.
    pub category_bot_usernames: crate::menu::CategoryBotLinks,
    /// Whom users write to when something is wrong (`SUPPORT_CONTACT`).
    pub support: Option<String>,
    /// The admin web UI's address, for `/admin`'s login links (`WEB_PUBLIC_URL`).
    pub web_public_url: Option<url::Url>,
    /// Personal Atom feeds in «Моя подписка» (`FEED_SECRET`).
    pub feeds: Option<crate::feeds::FeedLinks>,
}

impl BotsConfig {
    /// No bot at all: nothing to run.
    pub fn is_empty(&self) -> bool {
        self.main.is_none() && self.category_bots.is_empty()
    }
}

/// Runs every configured bot until one fails (which cancels the others) or `shutdown` fires.
pub async fn run(
    bus: Bus,
    pool: PgPool,
    config: BotsConfig,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let BotsConfig {
        main,
        category_bots,
        admins,
        poll_timeout,
    } = config;
    let mut tasks: JoinSet<anyhow::Result<()>> = JoinSet::new();
    let main_bot_username = match &main {
        Some(setup) => Some(setup.bot.get_me().await?.username().to_owned()),
        None => None,
    };
    if let Some(setup) = main {
        let MainBotSetup {
            bot: main,
            yookassa,
            plans,
            stars,
            category_bot_usernames,
            support,
            web_public_url,
            feeds,
        } = setup;
        let yookassa = yookassa.map(|client| YooKassaCheckout {
            client,
            return_url: format!(
                "https://t.me/{}",
                main_bot_username.as_deref().unwrap_or_default()
            ),
        });
        let payments = (yookassa.is_some() || stars).then(|| Payments {
            plans,
            yookassa,
            stars,
        });
        let config = MainBotConfig {
            category_bots: category_bot_usernames,
            admin_ids: admins.clone(),
            payments,
            poll_timeout,
            support,
            web_public_url,
            feeds,
            ..MainBotConfig::default()
        };
        let main_bot = MainBot::new(main.clone(), bus.clone(), pool.clone(), config);
        tasks.spawn(main_bot.run(shutdown.clone()));
        if admins.is_empty() {
            tracing::warn!("ADMIN_IDS is empty: reports wait in USERS until admins are set");
        } else {
            let reports = ReportsToAdmins {
                bot: main,
                bus: bus.clone(),
                pool: pool.clone(),
                admins,
            };
            let spec = bus::consume::ConsumerSpec::of(bus::consume::consumers::ADMIN_REPORTS);
            tasks.spawn(bus::consume::consume(
                bus.clone(),
                spec,
                reports,
                shutdown.clone(),
            ));
        }
        tracing::info!("main bot running");
    }
    let names: BTreeMap<String, String> = projections::read::catalog::active_categories(&pool)
        .await?
        .into_iter()
        .map(|c| (c.slug, c.name))
        .collect();
    for (category, shards) in category_bots {
        for (position, shard) in shards.into_iter().enumerate() {
            let category_bot = CategoryBot {
                name: names.get(&category).cloned().unwrap_or(category.clone()),
                category: category.clone(),
                bot_id: shard.bot_id,
                first_of_category: position == 0,
                bot: shard.bot,
                bus: bus.clone(),
                pool: pool.clone(),
                poll_timeout,
                main_bot_username: main_bot_username.clone(),
            };
            tasks.spawn(category_bot.run(shutdown.clone()));
        }
    }
    let mut outcome = Ok(());
    while let Some(result) = tasks.join_next().await {
        if let Err(error) = result.map_err(anyhow::Error::from).and_then(|r| r) {
            shutdown.cancel();
            outcome = Err(error);
        }
    }
    outcome
}
