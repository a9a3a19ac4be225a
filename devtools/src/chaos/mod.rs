//! `remotehunt bench chaos`: the whole system — `remotehunt all` as child processes over real
//! NATS and Postgres, the fake Bot API with Telegram's limits, real posts entering ingest —
//! under one fault per scenario, each compared with a fault-free run of the same posts and
//! subscribers. Per scenario it prints what was lost, duplicated and extra (all must be zero;
//! sends in flight at a SIGKILL of the sender are counted as unconfirmed, sends to a user who
//! blocked the bot as refused), what proves the fault hit, and how long recovery took. It fails
//! unless every scenario is clean.

mod faults;
mod world;

use std::collections::BTreeSet;
use std::path::PathBuf;

use faults::Scenario;
use world::{Kind, Outcome, Setup, World};

pub struct ChaosConfig {
    /// JSON lines with a `text` field: the posts every run ingests.
    pub corpus: PathBuf,
    pub posts: usize,
    pub subscribers: usize,
    pub posts_per_second: f64,
    /// Scenario names to run; all when empty.
    pub only: Vec<String>,
}

/// The scenarios' names, for `--only`.
pub fn scenario_names() -> Vec<&'static str> {
    Scenario::ALL.iter().map(|s| s.name()).collect()
}

pub async fn chaos(config: ChaosConfig) -> anyhow::Result<()> {
    let texts: Vec<String> = std::fs::read_to_string(&config.corpus)?
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|post| post["text"].as_str().map(str::to_owned))
        .filter(|text| text.chars().count() > 40)
        .take(config.posts)
        .collect();
    anyhow::ensure!(!texts.is_empty(), "no posts in {}", config.corpus.display());
    let setup = Setup {
        texts,
        subscribers: config.subscribers,
        posts_per_second: config.posts_per_second,
    };
    let scenarios: Vec<Scenario> = Scenario::ALL
        .into_iter()
        .filter(|s| config.only.is_empty() || config.only.iter().any(|n| n == s.name()))
        .collect();
    anyhow::ensure!(
        !scenarios.is_empty(),
        "no scenario named {:?}; there are {}",
        config.only,
        scenario_names().join(", ")
    );
    println!(
        "{} posts from {} at {}/s, {} subscribers of two categories each; every scenario against a fault-free run",
        setup.texts.len(),
        config.corpus.display(),
        setup.posts_per_second,
        setup.subscribers
    );
    let mut baselines: Vec<(bool, Outcome)> = Vec::new();
    let mut failed = Vec::new();
    for scenario in scenarios {
        let llm = scenario.kind().llm;
        if !baselines.iter().any(|(with_llm, _)| *with_llm == llm) {
            let baseline = baseline(&setup, llm).await?;
            baselines.push((llm, baseline));
        }
        let (_, baseline) = baselines
            .iter()
            .find(|(with_llm, _)| *with_llm == llm)
            .expect("just made");
        let verdict = run(&setup, scenario, baseline).await?;
        println!("{}", verdict.line);
        for note in &verdict.notes {
            println!("    {note}");
        }
        if !verdict.clean {
            failed.push(scenario.name());
        }
    }
    anyhow::ensure!(
        failed.is_empty(),
        "scenarios with losses, duplicates or extras: {}",
        failed.join(", ")
    );
    println!("every scenario: 0 lost, 0 duplicated, 0 extra");
    Ok(())
}

async fn baseline(setup: &Setup, llm: bool) -> anyhow::Result<Outcome> {
    let kind = Kind {
        llm,
        copies: 1,
        ..Kind::default()
    };
    let mut world = World::start(setup, kind).await?;
    world.settle().await?;
    let outcome = world.outcome().await?;
    let _ = std::fs::remove_dir_all(world.stop());
    anyhow::ensure!(
        outcome.sent.values().all(|n| *n == 1),
        "the fault-free run sent something twice"
    );
    println!(
        "fault-free run{}: {} cards to {} chats in {:.1} s, {} over-limit 429s",
        if llm {
            " (every post through the LLM)"
        } else {
            ""
        },
        outcome.sent.len(),
        outcome
            .sent
            .keys()
            .map(|(_, chat, _)| *chat)
            .collect::<BTreeSet<_>>()
            .len(),
        outcome.elapsed.as_secs_f64(),
        outcome.over_limit
    );
    Ok(outcome)
}

struct Verdict {
    line: String,
    notes: Vec<String>,
    clean: bool,
}

async fn run(setup: &Setup, scenario: Scenario, baseline: &Outcome) -> anyhow::Result<Verdict> {
    let mut world = World::start(setup, scenario.kind()).await?;
    let played = scenario.play(&mut world, baseline.sent.len()).await?;
    world.settle().await?;
    let outcome = world.outcome().await?;
    let bot_faults = world.fake.faults_played().len();
    let llm_faults = world
        .llm
        .as_ref()
        .map_or(0, |llm| played.llm_faults.saturating_sub(llm.queued_left()));
    let logs = world.stop();

    let expected: BTreeSet<_> = baseline.sent.keys().cloned().collect();
    let duplicated: usize = outcome.sent.values().map(|n| n.saturating_sub(1)).sum();
    let extra = outcome
        .sent
        .keys()
        .filter(|k| !expected.contains(*k))
        .count();
    let missing: Vec<_> = expected
        .iter()
        .filter(|k| !outcome.sent.contains_key(*k))
        .collect();
    let unconfirmed = missing
        .iter()
        .filter(|k| outcome.claimed_unsent.contains(**k))
        .count();
    // A chat that refused a card (the user blocked the bot) is sent nothing more: every card
    // still due there counts as refused, not lost.
    let refusing: BTreeSet<(&String, i64)> = outcome
        .refused
        .iter()
        .map(|(bot, chat, _)| (bot, *chat))
        .collect();
    let refused = missing
        .iter()
        .filter(|(bot, chat, _)| refusing.contains(&(bot, *chat)))
        .filter(|k| !outcome.claimed_unsent.contains(**k))
        .count();
    let lost = missing.len() - unconfirmed - refused;
    let main_bot_differs = outcome.main_bot != baseline.main_bot;

    let mut notes = played.notes;
    let mut clean = lost == 0 && duplicated == 0 && extra == 0 && !main_bot_differs;
    if unconfirmed > 0 && !scenario.kills_senders() {
        clean = false;
        notes.push(format!(
            "{unconfirmed} unconfirmed without a kill of the sender"
        ));
    }
    if scenario.blocks_a_user() && refused == 0 {
        clean = false;
        notes.push("the blocked user was never refused: the fault did not hit".into());
    }
    if !scenario.blocks_a_user() && refused > 0 {
        clean = false;
        notes.push(format!("{refused} refused by Telegram"));
    }
    if bot_faults < played.bot_faults {
        clean = false;
        notes.push(format!(
            "the fake Bot API served {bot_faults} of the {} faults planned",
            played.bot_faults
        ));
    }
    if llm_faults < played.llm_faults {
        clean = false;
        notes.push(format!(
            "the fake LLM served {llm_faults} of the {} faults planned",
            played.llm_faults
        ));
    }
    if outcome.over_limit > 0 {
        clean = false;
        notes.push(format!(
            "{} 429s for going over Telegram's limits",
            outcome.over_limit
        ));
    }
    if main_bot_differs {
        notes.push(format!(
            "main bot's messages per player {:?}, fault-free {:?}",
            outcome.main_bot, baseline.main_bot
        ));
    }
    if clean {
        let _ = std::fs::remove_dir_all(&logs);
    } else {
        notes.push(format!(
            "logs of the remotehunt processes: {}",
            logs.display()
        ));
    }
    let line = format!(
        "{:<14} {} expected: {} lost, {} duplicated, {} extra, {} unconfirmed, {} refused; faults served: {} Bot API, {} LLM; {:.1} s{}",
        scenario.name(),
        expected.len(),
        lost,
        duplicated,
        extra,
        unconfirmed,
        refused,
        bot_faults,
        llm_faults,
        outcome.elapsed.as_secs_f64(),
        if clean { "" } else { "  FAILED" }
    );
    Ok(Verdict { line, notes, clean })
}
