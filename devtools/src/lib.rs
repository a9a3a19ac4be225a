//! The demo and the benchmarks. They run the real services against the fakes in `testkit`
//! (Telegram's Bot API, scratch servers and databases), so this crate — and with it every fake
//! — is linked into `remotehunt` only with the `dev-tools` feature (on by default, so the
//! README's commands work); `cargo build -p remotehunt --no-default-features` is the
//! production binary and links no fake.
//!
//! * [`demo`]: the whole pipeline on the built-in sample data against an in-process fake
//!   Telegram.
//! * [`bench`]: bus publish and projection rebuild against their raw ceilings, the cost of
//!   `sync_interval: always`, ingest, import and the local classifier.
//! * [`bench_bots`]: the main bot's replies when many users write at once.
//! * [`bench_delivery`]: fan-out and end-to-end latency against the fake Bot API.
//! * [`bench_throughput`]: posts a second from ingest through classification to the planner.
//! * [`bench_scheduler`]: expiry notices at scale: planning, the main bot's sender, kills.
//! * [`bench_web`]: the admin web UI and the content API over production-size read models.
//! * [`chaos`]: the system under faults, each scenario against a fault-free run.
//! * [`fake_telegram`]: `remotehunt dev telegram`, the fake Bot API for development.

mod backbone;
pub mod bench;
pub mod bench_bots;
pub mod bench_delivery;
mod bench_durability;
pub mod bench_scheduler;
pub mod bench_throughput;
pub mod bench_web;
pub mod chaos;
pub mod demo;
mod demo_live;
mod demo_scheduler;

/// Serves a fake Telegram Bot API on `listen` with the named bots (`TOKEN=username`) until
/// `shutdown`.
pub async fn fake_telegram(
    listen: &str,
    bots: &[String],
    shutdown: tokio_util::sync::CancellationToken,
) -> anyhow::Result<()> {
    let fake = testkit::FakeTelegram::start_on(listen).await?;
    for bot in bots {
        let (token, username) = bot
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("--bot takes TOKEN=username, got {bot:?}"))?;
        fake.register_bot(token, username);
    }
    println!("fake Telegram Bot API at {} (Ctrl-C stops it)", fake.url());
    shutdown.cancelled().await;
    Ok(())
}
