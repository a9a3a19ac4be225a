//! `remotehunt ingest login|run`: the Telegram user accounts.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use ingest::telegram::accounts::{self, AccountsOptions, Connect as _};
use ingest::telegram::grammers::{Prompt, SINGLE_ACCOUNT, SessionFiles, login};
use ingest::telegram::reader::ReaderOptions;
use secrecy::SecretString;
use tokio_util::sync::CancellationToken;

/// The application's credentials (from my.telegram.org) and the accounts' session files.
#[derive(Args, Clone)]
pub struct TelegramArgs {
    /// The application's api_id from my.telegram.org.
    #[arg(long, env = "TELEGRAM_API_ID", global = true)]
    api_id: Option<i32>,
    /// The application's api_hash from my.telegram.org (a secret: never logged).
    #[arg(long, env = "TELEGRAM_API_HASH", hide_env_values = true, global = true)]
    api_hash: Option<String>,
    /// The session file (created owner-only by `ingest login`; a credential: keep it private).
    #[arg(
        long,
        env = "TELEGRAM_SESSION",
        default_value = "telegram.session",
        global = true
    )]
    session: PathBuf,
    /// Where `ingest login --account NAME` keeps each account's session (`NAME.session`).
    #[arg(
        long,
        env = "TELEGRAM_SESSIONS",
        default_value = "telegram-sessions",
        global = true
    )]
    sessions: PathBuf,
    /// At most this many channels are assigned to one account (Telegram allows 500, 1,000 with
    /// Premium).
    #[arg(
        long,
        env = "INGEST_CHANNELS_PER_ACCOUNT",
        default_value_t = 400,
        global = true
    )]
    channels_per_account: u32,
}

impl TelegramArgs {
    fn session_files(&self) -> anyhow::Result<SessionFiles> {
        let api_id = self
            .api_id
            .context("TELEGRAM_API_ID is not set (get one at https://my.telegram.org)")?;
        let api_hash = self
            .api_hash
            .clone()
            .context("TELEGRAM_API_HASH is not set (get one at https://my.telegram.org)")?;
        Ok(SessionFiles {
            api_id,
            api_hash: SecretString::from(api_hash),
            dir: self.sessions.clone(),
            single: self.session.clone(),
        })
    }

    /// Whether `remotehunt all` should start the readers: credentials and a signed-in account.
    pub fn configured(&self) -> bool {
        self.session_files()
            .is_ok_and(|files| !files.accounts().is_empty())
    }
}

struct Terminal;

impl Prompt for Terminal {
    fn ask(&mut self, question: &str) -> std::io::Result<String> {
        eprint!("{question}");
        std::io::stderr().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        Ok(answer.trim().to_owned())
    }

    fn ask_secret(&mut self, question: &str) -> std::io::Result<String> {
        rpassword::prompt_password(question)
    }
}

/// Signs `account` in (the single session file when none is named); a running reader picks it
/// up within seconds.
pub async fn run_login(
    args: &TelegramArgs,
    account: Option<&str>,
    phone: Option<String>,
) -> anyhow::Result<()> {
    let files = args.session_files()?;
    let config = match account {
        Some(account) => {
            schemas::validate_slug(account)
                .map_err(|e| anyhow::anyhow!("--account {account:?}: {e}"))?;
            std::fs::create_dir_all(&files.dir)
                .with_context(|| format!("creating {}", files.dir.display()))?;
            files.config(account)
        }
        None => files.config(SINGLE_ACCOUNT),
    };
    let who = login(&config, phone, &mut Terminal).await?;
    println!(
        "signed in as {who}; session stored in {} (owner-only)",
        config.session_path.display()
    );
    Ok(())
}

pub async fn run_reader(
    nats_url: &str,
    args: &TelegramArgs,
    reader: ReaderOptions,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let files = args.session_files()?;
    let bus = crate::ops::connect_bus(nats_url).await?;
    let options = AccountsOptions {
        channels_per_account: args.channels_per_account,
        reader,
    };
    accounts::run(bus, files, options, shutdown).await
}
