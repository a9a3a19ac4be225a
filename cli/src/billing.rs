//! `remotehunt billing run|grant|refund|payments|revenue|plans`: YooKassa configuration, the
//! webhook server and poller, admins' grants and refunds, and what was paid.

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
    /// Accept notifications only from these networks: `yookassa` (YooKassa's documented ones)
    /// and/or addresses and CIDR networks, comma-separated. Unset: from anyone (each is
    /// re-read from the API anyway). Behind a reverse proxy, filter in the proxy instead.
    #[arg(long, env = "YOOKASSA_NOTIFICATION_NETWORKS", global = true)]
    yookassa_notification_networks: Option<billing::allowlist::Allowlist>,
    /// Send a 54-FZ receipt with each payment and refund, with this YooKassa `vat_code`
    /// (1: no VAT … 6: 20/120); needs YOOKASSA_RECEIPT_EMAIL.
    #[arg(long, env = "YOOKASSA_RECEIPT_VAT_CODE", global = true, value_parser = clap::value_parser!(u8).range(1..=12))]
    yookassa_receipt_vat_code: Option<u8>,
    /// The receipts' `tax_system_code`, when the shop has more than one tax system.
    #[arg(long, env = "YOOKASSA_RECEIPT_TAX_SYSTEM", global = true, value_parser = clap::value_parser!(u8).range(1..=6))]
    yookassa_receipt_tax_system: Option<u8>,
    /// Where receipts are sent (the bot does not ask payers for an address).
    #[arg(long, env = "YOOKASSA_RECEIPT_EMAIL", global = true)]
    yookassa_receipt_email: Option<String>,
}

impl BillingArgs {
    pub fn yookassa(&self) -> anyhow::Result<Option<billing::yookassa::YooKassa>> {
        let (Some(shop), Some(key)) = (&self.yookassa_shop_id, &self.yookassa_secret_key) else {
            return Ok(None);
        };
        let yookassa = billing::yookassa::YooKassa::new(&self.yookassa_api_url, shop, key);
        Ok(Some(match self.receipt()? {
            Some(receipt) => yookassa.with_receipt(receipt),
            None => yookassa,
        }))
    }

    fn receipt(&self) -> anyhow::Result<Option<billing::yookassa::ReceiptSettings>> {
        match (self.yookassa_receipt_vat_code, &self.yookassa_receipt_email) {
            (None, None) => Ok(None),
            (Some(vat_code), Some(email)) => Ok(Some(billing::yookassa::ReceiptSettings {
                vat_code,
                tax_system_code: self.yookassa_receipt_tax_system,
                email: email.clone(),
            })),
            _ => anyhow::bail!(
                "receipts need both YOOKASSA_RECEIPT_VAT_CODE and YOOKASSA_RECEIPT_EMAIL"
            ),
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
    /// Refunds a succeeded payment in full through the provider that took it (YooKassa, or
    /// Telegram Stars with MAIN_BOT_TOKEN), takes back the unused days and tells the user.
    Refund {
        /// Our payment id (see `billing payments`).
        payment_id: String,
        #[arg(long)]
        reason: String,
        /// The admin's Telegram id.
        #[arg(long)]
        admin: i64,
    },
    /// Payments, newest first: ids to refund, statuses, amounts.
    Payments {
        /// Only this user's.
        #[arg(long)]
        user: Option<i64>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
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
    let yookassa = args.yookassa()?.ok_or_else(|| {
        anyhow::anyhow!("YooKassa is not configured: set YOOKASSA_SHOP_ID and YOOKASSA_SECRET_KEY")
    })?;
    let bus = connect_bus(nats_url).await?;
    bus.ensure_streams().await?;
    let pool = connect_database(database_url).await?;
    let listener = tokio::net::TcpListener::bind(&args.billing_listen)
        .await
        .map_err(|e| anyhow::anyhow!("BILLING_LISTEN {}: {e}", args.billing_listen))?;
    let billing = billing::reconcile::Billing { bus, yookassa, bot };
    let settings = billing::service::Settings {
        poll_every: Duration::from_secs(30),
        allowlist: args.yookassa_notification_networks.clone(),
    };
    billing::service::run(billing, pool, listener, settings, shutdown).await
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
        BillingCommand::Refund {
            payment_id,
            reason,
            admin,
        } => {
            let bus = connect_bus(nats_url).await?;
            let yookassa = args.yookassa()?;
            let refunds = billing::refund::Refunds {
                bus: &bus,
                yookassa: yookassa.as_ref(),
                bot: bot.as_ref(),
            };
            let request = billing::refund::RefundRequest {
                payment_id: payment_id.clone(),
                admin_id: admin,
                reason,
            };
            match refunds.refund(&request).await? {
                billing::refund::Requested::Refunded(recorded) => {
                    let access = match &recorded.revoked {
                        Some(revoked) => format!(
                            "access now until {}",
                            revoked.until.format("%Y-%m-%d %H:%M UTC")
                        ),
                        None => "no unused days to take back".to_owned(),
                    };
                    let what = if recorded.new {
                        "refunded"
                    } else {
                        "was refunded before"
                    };
                    println!("{payment_id}: {what}; {access}");
                }
                billing::refund::Requested::Pending { refund_id } => println!(
                    "{payment_id}: YooKassa accepted refund {refund_id} and is finishing it; its notification records it"
                ),
            }
            Ok(())
        }
        BillingCommand::Payments { user, limit } => {
            let pool = connect_database(database_url).await?;
            let rows = projections::read::payments::recent(&pool, user, limit).await?;
            println!(
                "created           payment                                   user        plan       provider  status          amount  refunded"
            );
            for p in rows {
                println!(
                    "{}  {:<40}  {:<10}  {:<10} {:<9} {:<10} {:>11} {:>9}",
                    p.created_at.format("%Y-%m-%d %H:%M"),
                    p.payment_id,
                    p.user_id,
                    p.plan,
                    p.provider,
                    p.status,
                    money(p.amount_minor, &p.currency),
                    money(p.refunded_minor, &p.currency)
                );
            }
            Ok(())
        }
        BillingCommand::Revenue => {
            let pool = connect_database(database_url).await?;
            let rows = projections::read::payments::revenue_daily(&pool).await?;
            println!("day         plan       provider  payments          net   refunded");
            for row in rows {
                println!(
                    "{}  {:<10} {:<9} {:>8} {:>12} {:>10}",
                    row.day,
                    row.plan,
                    row.provider,
                    row.payments,
                    money(row.net_minor, &row.currency),
                    money(row.refunded_minor, &row.currency)
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

/// Kopecks as roubles, Stars as they are.
fn money(minor: i64, currency: &str) -> String {
    match currency {
        "RUB" => format!("{}.{:02} ₽", minor / 100, minor % 100),
        "XTR" => format!("{minor} ⭐"),
        other => format!("{minor} {other}"),
    }
}
