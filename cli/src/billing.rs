//! `remotehunt billing run|grant`: YooKassa configuration, the webhook server and poller, and
//! admins' grants.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};
use tokio_util::sync::CancellationToken;

use crate::ops::{connect_bus, connect_database};

#[derive(Args, Clone)]
pub struct BillingArgs {
    /// The YooKassa shop id.
    #[arg(long, env = "YOOKASSA_SHOP_ID", global = true)]
    yookassa_shop_id: Option<String>,
    /// The YooKassa secret key (a secret: never logged).
    #[arg(
        long,
        env = "YOOKASSA_SECRET_KEY",
        hide_env_values = true,
        global = true
    )]
    yookassa_secret_key: Option<String>,
    /// The YooKassa API base (tests and the demo point it at a fake).
    #[arg(
        long,
        env = "YOOKASSA_API_URL",
        default_value = "https://api.yookassa.ru/v3",
        global = true
    )]
    yookassa_api_url: String,
    /// Where the webhook server listens; YooKassa posts to `/webhooks/yookassa` there.
    #[arg(
        long,
        env = "BILLING_LISTEN",
        default_value = "127.0.0.1:8081",
        global = true
    )]
    billing_listen: String,
}

impl BillingArgs {
    pub fn yookassa(&self) -> Option<billing::yookassa::YooKassa> {
        match (&self.yookassa_shop_id, &self.yookassa_secret_key) {
            (Some(shop), Some(key)) => Some(billing::yookassa::YooKassa::new(
                &self.yookassa_api_url,
                shop,
                key,
            )),
            _ => None,
        }
    }
}

#[derive(Subcommand)]
pub enum BillingCommand {
    /// The webhook server and the poller of pending payments, until SIGINT/SIGTERM.
    Run,
    /// Gives a user days of access, in an event naming the admin.
    Grant {
        user_id: i64,
        #[arg(long)]
        days: i64,
        #[arg(long)]
        reason: String,
        /// The admin's Telegram id.
        #[arg(long)]
        admin: i64,
    },
    /// Revenue by day, plan and provider (net of refunds), newest first.
    Revenue,
    /// The plans of a catalog file.
    Plans {
        #[arg(long, default_value = "catalog.toml")]
        catalog: PathBuf,
    },
}

pub async fn run(
    nats_url: &str,
    database_url: &str,
    args: &BillingArgs,
    bot: Option<teloxide::Bot>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let yookassa = args.yookassa().ok_or_else(|| {
        anyhow::anyhow!("YooKassa is not configured: set YOOKASSA_SHOP_ID and YOOKASSA_SECRET_KEY")
    })?;
    let bus = connect_bus(nats_url).await?;
    bus.ensure_streams().await?;
    let pool = connect_database(database_url).await?;
    let listener = tokio::net::TcpListener::bind(&args.billing_listen)
        .await
        .map_err(|e| anyhow::anyhow!("BILLING_LISTEN {}: {e}", args.billing_listen))?;
    let billing = billing::reconcile::Billing { bus, yookassa, bot };
    billing::service::run(billing, pool, listener, Duration::from_secs(30), shutdown).await
}

pub async fn execute(
    nats_url: &str,
    database_url: &str,
    args: &BillingArgs,
    bot: Option<teloxide::Bot>,
    command: BillingCommand,
) -> anyhow::Result<()> {
    match command {
        BillingCommand::Run => {
            run(
                nats_url,
                database_url,
                args,
                bot,
                crate::shutdown_on_signal(),
            )
            .await
        }
        BillingCommand::Grant {
            user_id,
            days,
            reason,
            admin,
        } => {
            let bus = connect_bus(nats_url).await?;
            let granted = billing::activate::grant(&bus, user_id, days, admin, &reason).await?;
            println!(
                "user {user_id}: access now until {} (granted {days} day(s) from {})",
                granted.until.format("%Y-%m-%d %H:%M UTC"),
                granted.from.format("%Y-%m-%d %H:%M UTC")
            );
            Ok(())
        }
        BillingCommand::Revenue => {
            let pool = connect_database(database_url).await?;
            let rows: Vec<(chrono::NaiveDate, String, String, String, i64, i64, i64)> = sqlx::query_as(
                "SELECT day, plan, provider, currency, payments, refunded_minor::bigint, net_minor::bigint
                 FROM revenue_daily ORDER BY day DESC, plan",
            )
            .fetch_all(&pool)
            .await?;
            println!("day         plan       provider  payments        net   refunded");
            for (day, plan, provider, currency, payments, refunded, net) in rows {
                println!(
                    "{day}  {plan:<10} {provider:<9} {payments:>8} {:>7}.{:02} {currency} {:>5}.{:02}",
                    net / 100,
                    net % 100,
                    refunded / 100,
                    refunded % 100
                );
            }
            Ok(())
        }
        BillingCommand::Plans { catalog } => {
            let text = std::fs::read_to_string(&catalog)?;
            let file = ingest::catalog::CatalogFile::parse(&text)?;
            for plan in file.plans {
                println!(
                    "{:<10} {:<10} {:>3} days {:>5} RUB {:>5} Stars",
                    plan.slug, plan.name, plan.days, plan.rub, plan.stars
                );
            }
            Ok(())
        }
    }
}
