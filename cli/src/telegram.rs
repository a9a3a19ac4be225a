//! `remotehunt ingest login|run`: the Telegram user account.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use ingest::telegram::grammers::{GrammersSource, Prompt, TelegramConfig, login};
use ingest::telegram::reader::{Reader, ReaderOptions};
use secrecy::SecretString;
use tokio_util::sync::CancellationToken;

/// The account's application credentials (from my.telegram.org) and its session file.
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
}

impl TelegramArgs {
    fn config(&self) -> anyhow::Result<TelegramConfig> {
        let api_id = self
            .api_id
            .context("TELEGRAM_API_ID is not set (get one at https://my.telegram.org)")?;
        let api_hash = self
            .api_hash
            .clone()
            .context("TELEGRAM_API_HASH is not set (get one at https://my.telegram.org)")?;
        Ok(TelegramConfig {
            api_id,
            api_hash: SecretString::from(api_hash),
            session_path: self.session.clone(),
        })
    }

    /// Whether `remotehunt all` should start the reader: credentials and a session exist.
    pub fn configured(&self) -> bool {
        self.api_id.is_some() && self.api_hash.is_some() && self.session.exists()
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

pub async fn run_login(args: &TelegramArgs, phone: Option<String>) -> anyhow::Result<()> {
    let config = args.config()?;
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
    options: ReaderOptions,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let config = args.config()?;
    let bus = crate::ops::connect_bus(nats_url).await?;
    let source = GrammersSource::start(&config).await?;
    let reader = Reader::start(bus, source, options).await?;
    tracing::info!("reading Telegram");
    reader.run(shutdown).await
}
