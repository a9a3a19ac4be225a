//! The admin web UI: `remotehunt web run` (and `all`, when `WEB_LISTEN` is set),
//! `remotehunt web login-link --admin ID` for the operator at the server, and the content
//! API's tokens: `remotehunt web token create|revoke|list`.

use std::time::Duration;

use clap::{Args, Subcommand};
use tokio_util::sync::CancellationToken;

use crate::bots::BotArgs;
use crate::ops::{connect_bus, connect_database};

#[derive(Args, Clone)]
pub struct WebArgs {
    /// Where the web UI listens (`remotehunt all` serves it only when this is set).
    #[arg(long, env = "WEB_LISTEN", global = true)]
    pub web_listen: Option<String>,
    /// Requests each content API token may make a minute; more are answered 429.
    #[arg(
        long,
        env = "WEB_API_REQUESTS_PER_MINUTE",
        default_value_t = 120,
        global = true
    )]
    pub api_requests_per_minute: u32,
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
    /// Bearer tokens of the content API (/api/v1).
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
}

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Makes a token and prints it, once: only its SHA-256 is kept.
    Create {
        /// Who or what it is for (a partner, the channel's site); unique among active tokens.
        #[arg(long)]
        name: String,
        /// The admin making it (from ADMIN_IDS); none for the operator at the server.
        #[arg(long)]
        admin: Option<i64>,
    },
    /// Revokes a token: it is refused (403) from then on.
    Revoke {
        /// The token's id, or the name of the one active token so named.
        id_or_name: String,
        /// The admin revoking it (from ADMIN_IDS); none for the operator at the server.
        #[arg(long)]
        admin: Option<i64>,
    },
    /// Lists the tokens, revoked ones too.
    List,
}

const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

pub async fn run(
    nats_url: &str,
    database_url: &str,
    args: &WebArgs,
    bots: &BotArgs,
    yookassa: Option<billing::yookassa::YooKassa>,
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
        config: web::WebConfig {
            api_requests_per_minute: args.api_requests_per_minute,
            feeds: bots.feeds()?,
            ..web::WebConfig::new(bots.web_public_url()?, admins)
        },
        main_bot: bots.main_bot()?,
        yookassa,
        past_days: Default::default(),
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
    billing: &crate::billing::BillingArgs,
    command: WebCommand,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    match command {
        WebCommand::Run => {
            let yookassa = billing.yookassa()?;
            run(nats_url, database_url, args, bots, yookassa, shutdown).await
        }
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
        WebCommand::Token { command } => token(nats_url, database_url, bots, command).await,
    }
}

/// How long `token create` and `token revoke` wait for the read models to apply the change.
const PROJECTED_WITHIN: Duration = Duration::from_secs(5);

async fn token(
    nats_url: &str,
    database_url: &str,
    bots: &BotArgs,
    command: TokenCommand,
) -> anyhow::Result<()> {
    let pool = connect_database(database_url).await?;
    let admin_is_known = |admin: Option<i64>| -> anyhow::Result<()> {
        if let Some(admin) = admin {
            anyhow::ensure!(
                bots.admins()?.contains(&admin),
                "{admin} is not in ADMIN_IDS"
            );
        }
        Ok(())
    };
    match command {
        TokenCommand::Create { name, admin } => {
            admin_is_known(admin)?;
            let bus = connect_bus(nats_url).await?;
            bus.ensure_streams().await?;
            let issued = web::api::tokens::issue(&bus, &pool, &name, admin).await?;
            // The token alone on stdout (for a script to capture); the rest on stderr.
            println!("{}", issued.token);
            eprintln!(
                "token {} ({:?}) made: it is shown this once, keep it safe",
                issued.token_id, issued.name
            );
            warn_unless_projected(&pool, issued.sequence).await
        }
        TokenCommand::Revoke { id_or_name, admin } => {
            admin_is_known(admin)?;
            let bus = connect_bus(nats_url).await?;
            bus.ensure_streams().await?;
            let revoked = web::api::tokens::revoke(&bus, &pool, &id_or_name, admin).await?;
            let token = &revoked.token;
            if revoked.already {
                println!(
                    "token {} ({:?}) was already revoked",
                    token.token_id, token.name
                );
                return Ok(());
            }
            println!("token {} ({:?}) revoked", token.token_id, token.name);
            warn_unless_projected(&pool, revoked.sequence).await
        }
        TokenCommand::List => {
            let tokens = web::api::tokens::list(&pool).await?;
            if tokens.is_empty() {
                println!("no API tokens");
            }
            for t in tokens {
                let by = |admin: Option<i64>| {
                    admin.map_or("the operator".to_owned(), |a| format!("admin {a}"))
                };
                let state = match t.revoked_at {
                    Some(at) => format!(
                        "revoked {} by {}",
                        at.format("%Y-%m-%d %H:%M UTC"),
                        by(t.revoked_by)
                    ),
                    None => "active".to_owned(),
                };
                println!(
                    "{}  {:<24}  made {} by {}  {state}",
                    t.token_id,
                    t.name,
                    t.issued_at.format("%Y-%m-%d %H:%M UTC"),
                    by(t.issued_by)
                );
            }
            Ok(())
        }
    }
}

/// The API reads tokens from the read models: say so when the projectors are not keeping up.
async fn warn_unless_projected(pool: &sqlx::PgPool, sequence: u64) -> anyhow::Result<()> {
    let users = projections::Projection::Users.name();
    if !projections::wait_for(pool, users, sequence, PROJECTED_WITHIN).await? {
        eprintln!(
            "warning: the {users} projection has not applied this yet: the API follows once \
             `remotehunt projections run` (or `all`) catches up"
        );
    }
    Ok(())
}
