//! The admin web UI: `remotehunt web run` (and `all`, when `WEB_LISTEN` is set), and
//! `remotehunt web login-link --admin ID` for the operator at the server.

use clap::{Args, Subcommand};
use tokio_util::sync::CancellationToken;

use crate::bots::BotArgs;
use crate::ops::{connect_bus, connect_database};

#[derive(Args, Clone)]
pub struct WebArgs {
    /// Where the web UI listens (`remotehunt all` serves it only when this is set).
    #[arg(long, env = "WEB_LISTEN", global = true)]
    pub web_listen: Option<String>,
}

#[derive(Subcommand)]
pub enum WebCommand {
    /// Serves the admin web UI on WEB_LISTEN (default 127.0.0.1:8080).
    Run,
    /// Prints a one-time login link for an admin (valid 10 minutes).
    LoginLink {
        #[arg(long)]
        admin: i64,
    },
}

const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

pub async fn run(
    nats_url: &str,
    database_url: &str,
    args: &WebArgs,
    bots: &BotArgs,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let listen = args.web_listen.as_deref().unwrap_or(DEFAULT_LISTEN);
    let admins = bots.admins()?;
    if admins.is_empty() {
        tracing::warn!("ADMIN_IDS is empty: nobody can log in to the web UI");
    }
    let web = web::Web {
        bus: connect_bus(nats_url).await?,
        pool: connect_database(database_url).await?,
        config: web::WebConfig::new(bots.web_public_url()?, admins),
        main_bot: bots.main_bot()?,
    };
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| anyhow::anyhow!("WEB_LISTEN {listen}: {e}"))?;
    web::run(web, listener, shutdown).await
}

pub async fn execute(
    nats_url: &str,
    database_url: &str,
    args: &WebArgs,
    bots: &BotArgs,
    command: WebCommand,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    match command {
        WebCommand::Run => run(nats_url, database_url, args, bots, shutdown).await,
        WebCommand::LoginLink { admin } => {
            anyhow::ensure!(
                bots.admins()?.contains(&admin),
                "{admin} is not in ADMIN_IDS: the web UI would refuse the link"
            );
            let bus = connect_bus(nats_url).await?;
            bus.ensure_streams().await?;
            let link =
                ::bots::admin_login::issue(&bus, &bots.web_public_url()?, admin, "cli").await?;
            println!("{link}");
            Ok(())
        }
    }
}
