//! `remotehunt classify run|train|eval|backfill [--fallbacks]`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use chrono::NaiveDate;
use clap::{Args, Subcommand};
use classify::decide::Classifier;
use classify::eval::{Report, Thresholds, cross_validate, evaluate};
use classify::llm::{Llm, LlmConfig};
use classify::local::{Example, LocalModel, TrainOptions, read_jsonl, read_texts};
use classify::service::{ClassifyHandler, ServiceConfig};
use secrecy::SecretString;
use tokio_util::sync::CancellationToken;

/// The classifier's configuration: the local model, its routing threshold and the LLM.
#[derive(Args, Clone)]
pub struct ClassifierArgs {
    /// A local model file from `classify train`; the shipped model when absent.
    #[arg(long = "local-model", env = "CLASSIFY_MODEL", global = true)]
    local_model: Option<PathBuf>,
    /// Local answers at least this confident are final; below it the LLM decides.
    #[arg(long, env = "CLASSIFY_CONFIDENT", global = true)]
    confident: Option<f32>,
    /// The LLM is used when an API key is set (any value for endpoints that need none).
    #[arg(long, env = "OPENAI_API_KEY", hide_env_values = true, global = true)]
    openai_api_key: Option<String>,
    #[arg(
        long,
        env = "OPENAI_BASE_URL",
        default_value = "https://api.openai.com/v1",
        global = true
    )]
    openai_base_url: String,
    #[arg(
        long,
        env = "OPENAI_MODEL",
        default_value = "gpt-4o-mini",
        global = true
    )]
    openai_model: String,
    /// Seconds before an LLM call is abandoned (and retried later).
    #[arg(long, env = "OPENAI_TIMEOUT", default_value_t = 60, global = true)]
    openai_timeout: u64,
    /// LLM calls in flight at once.
    #[arg(long, env = "OPENAI_CONCURRENCY", default_value_t = 4, global = true)]
    openai_concurrency: usize,
}

impl ClassifierArgs {
    pub fn local(&self) -> anyhow::Result<LocalModel> {
        match &self.local_model {
            Some(path) => {
                let bytes =
                    std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
                Ok(LocalModel::from_bytes(&bytes)
                    .with_context(|| format!("loading {}", path.display()))?)
            }
            None => Ok(LocalModel::embedded()?),
        }
    }

    pub fn thresholds(&self) -> Thresholds {
        match self.confident {
            Some(confident) => Thresholds { confident },
            None => Thresholds::default(),
        }
    }

    pub fn llm(&self) -> Option<Llm> {
        let key = self.openai_api_key.clone()?;
        let mut config = LlmConfig::new(
            self.openai_base_url.clone(),
            SecretString::from(key),
            self.openai_model.clone(),
        );
        config.timeout = Duration::from_secs(self.openai_timeout.max(1));
        config.concurrency = self.openai_concurrency.max(1);
        Some(Llm::new(&config))
    }

    pub fn classifier(&self) -> anyhow::Result<Classifier> {
        Ok(Classifier::new(
            self.local()?,
            self.thresholds(),
            self.llm(),
        ))
    }
}

#[derive(Subcommand)]
pub enum ClassifyCommand {
    /// Classifies accepted posts as they arrive, until stopped.
    Run {
        /// Attempts at the LLM before a doubtful post's local answer stands (marked, and the
        /// LLM asked again once it answers).
        #[arg(long, env = "CLASSIFY_MAX_ATTEMPTS", default_value_t = 8)]
        max_attempts: i64,
    },
    /// Trains a local model on labelled posts and/or the LLM's past answers in the log.
    Train {
        /// Labelled JSON lines (`text`, `kind`, `categories`; or `label` spam/ham).
        #[arg(long)]
        data: Vec<PathBuf>,
        /// Also learn from CLASSIFICATIONS: the LLM's answers and admins' corrections.
        #[arg(long)]
        from_stream: bool,
        /// Unlabelled posts (JSON lines with `text`, e.g. an export of the channels) to
        /// self-train on: the posts a first model is sure of join the training at a lower
        /// weight.
        #[arg(long)]
        unlabelled: Vec<PathBuf>,
        #[arg(long)]
        out: PathBuf,
    },
    /// Scores the local model on labelled posts.
    Eval {
        file: PathBuf,
        /// One JSON object with the figures instead of a table.
        #[arg(long)]
        json: bool,
        /// Score by k-fold cross-validation (training a model per fold on the file itself)
        /// instead of scoring the configured model.
        #[arg(long)]
        cross_validate: Option<usize>,
        /// With --cross-validate: each fold self-trains on these unlabelled posts, as
        /// `train --unlabelled` does (posts whose text is in FILE are left out of them).
        #[arg(long, requires = "cross_validate")]
        unlabelled: Vec<PathBuf>,
    },
    /// Classifies stored posts again with the configured model and prompt, or (--fallbacks)
    /// asks the LLM about the posts whose local answer stood while it gave none.
    Backfill {
        /// First posting day (YYYY-MM-DD) to reclassify.
        #[arg(
            long,
            required_unless_present = "fallbacks",
            conflicts_with = "fallbacks"
        )]
        since: Option<NaiveDate>,
        /// Ask the LLM about every post whose latest classification is a local answer that
        /// stood because the LLM gave none (the service does it on its own once the LLM
        /// answers).
        #[arg(long)]
        fallbacks: bool,
    },
}

pub async fn execute(
    nats_url: &str,
    args: &ClassifierArgs,
    command: ClassifyCommand,
) -> anyhow::Result<()> {
    match command {
        ClassifyCommand::Run { max_attempts } => {
            let config = ServiceConfig {
                max_attempts,
                ..ServiceConfig::default()
            };
            run(nats_url, args, config, crate::shutdown_on_signal()).await
        }
        ClassifyCommand::Train {
            data,
            from_stream,
            unlabelled,
            out,
        } => train(nats_url, &data, from_stream, &unlabelled, &out).await,
        ClassifyCommand::Eval {
            file,
            json,
            cross_validate,
            unlabelled,
        } => {
            let unlabelled = read_all_texts(&unlabelled)?;
            eval(args, &file, json, cross_validate, &unlabelled)
        }
        ClassifyCommand::Backfill { since, fallbacks } => {
            let bus = crate::ops::connect_bus(nats_url).await?;
            let handler =
                ClassifyHandler::new(bus.clone(), args.classifier()?, &ServiceConfig::default());
            if fallbacks {
                return backfill_fallbacks(&handler).await;
            }
            let since = since.context("--since or --fallbacks")?;
            let catalog = handler.catalog().await?;
            let classifier = handler.classifier();
            let since = since.and_hms_opt(0, 0, 0).context("midnight")?.and_utc();
            let report = classify::learn::backfill(&bus, classifier, &catalog, since).await?;
            println!(
                "{} posts since {since}: {} classified, {} already current ({})",
                report.considered,
                report.classified,
                report.current,
                classifier.local_model().model_version()
            );
            Ok(())
        }
    }
}

/// `classify backfill --fallbacks`: one round of asking the LLM again, told as it went.
async fn backfill_fallbacks(handler: &ClassifyHandler) -> anyhow::Result<()> {
    let Some(llm) = handler.classifier().llm() else {
        anyhow::bail!("no LLM to ask: set OPENAI_API_KEY");
    };
    let model = llm.model().to_owned();
    let round = classify::reask::backfill(handler).await?;
    println!(
        "{} posts awaited the LLM ({model}): {} answered, {} needed no asking, {} answered junk again, {} left",
        round.awaiting,
        round.answered,
        round.settled,
        round.junk,
        round.left()
    );
    if let Some(error) = round.unavailable {
        anyhow::bail!("the LLM still gives no answer: {error}");
    }
    Ok(())
}

pub async fn run(
    nats_url: &str,
    args: &ClassifierArgs,
    config: ServiceConfig,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let bus = crate::ops::connect_bus(nats_url).await?;
    let classifier = args.classifier()?;
    if args.openai_api_key.is_none() {
        tracing::info!("no OPENAI_API_KEY: the local model decides alone");
    }
    classify::service::run(bus, classifier, config, shutdown).await
}

async fn train(
    nats_url: &str,
    data: &[PathBuf],
    from_stream: bool,
    unlabelled: &[PathBuf],
    out: &Path,
) -> anyhow::Result<()> {
    let mut examples: Vec<Example> = Vec::new();
    for file in data {
        examples.extend(read_jsonl(file)?);
    }
    if from_stream {
        let bus = crate::ops::connect_bus(nats_url).await?;
        let learned = classify::learn::examples_from_stream(&bus).await?;
        println!("{} examples from the log", learned.len());
        examples.extend(learned);
    }
    anyhow::ensure!(
        !examples.is_empty(),
        "nothing to train on: give --data FILE and/or --from-stream"
    );
    let unlabelled = read_all_texts(unlabelled)?;
    let started = std::time::Instant::now();
    let model = if unlabelled.is_empty() {
        LocalModel::train(&examples, &TrainOptions::default())
    } else {
        println!("self-training on {} unlabelled posts", unlabelled.len());
        LocalModel::train_with_unlabelled(&examples, &unlabelled, &TrainOptions::default())
    };
    std::fs::write(out, model.to_bytes()).with_context(|| format!("writing {}", out.display()))?;
    println!(
        "trained {} on {} examples in {:.1}s → {}",
        model.model_version(),
        examples.len(),
        started.elapsed().as_secs_f64(),
        out.display()
    );
    Ok(())
}

fn read_all_texts(files: &[PathBuf]) -> anyhow::Result<Vec<String>> {
    let mut texts = Vec::new();
    for file in files {
        texts.extend(read_texts(file)?);
    }
    Ok(texts)
}

fn eval(
    args: &ClassifierArgs,
    file: &Path,
    json: bool,
    folds: Option<usize>,
    unlabelled: &[String],
) -> anyhow::Result<()> {
    let examples = read_jsonl(file)?;
    anyhow::ensure!(
        !examples.is_empty(),
        "{} holds no labelled posts",
        file.display()
    );
    let report = match folds {
        Some(folds) => cross_validate(
            &examples,
            unlabelled,
            folds,
            &TrainOptions::default(),
            &args.thresholds(),
        ),
        None => {
            if args.local_model.is_none() {
                eprintln!(
                    "note: the shipped model was trained on ../shared/corpus/dev.jsonl; on those posts \
                     use --cross-validate K for figures that never score a post the model saw"
                );
            }
            evaluate(&args.local()?, &examples, &args.thresholds())
        }
    };
    if json {
        println!("{}", summary_json(&report));
    } else {
        print_report(&report);
    }
    Ok(())
}

fn summary_json(report: &Report) -> serde_json::Value {
    serde_json::json!({
        "posts": report.posts,
        "kind_accuracy": report.kind_accuracy,
        "vacancy_precision": report.vacancy_precision,
        "vacancy_recall": report.vacancy_recall,
        "category_micro_f1": report.category_micro_f1,
        "category_macro_f1": report.category_macro_f1,
        "llm_share": report.llm_share,
        "posts_per_second": report.posts_per_second,
        "per_category": report.per_category,
    })
}

fn print_report(report: &Report) {
    println!("posts               {}", report.posts);
    println!("kind accuracy       {:.3}", report.kind_accuracy);
    println!("vacancy precision   {:.3}", report.vacancy_precision);
    println!("vacancy recall      {:.3}", report.vacancy_recall);
    println!("category micro-F1   {:.3}", report.category_micro_f1);
    println!("category macro-F1   {:.3}", report.category_macro_f1);
    println!("LLM share           {:.3}", report.llm_share);
    println!("posts/s             {:.0}", report.posts_per_second);
    println!(
        "\n{:<12} {:>9} {:>9} {:>9} {:>8}",
        "category", "precision", "recall", "F1", "support"
    );
    for c in &report.per_category {
        println!(
            "{:<12} {:>9.3} {:>9.3} {:>9.3} {:>8}",
            c.slug, c.precision, c.recall, c.f1, c.support
        );
    }
}
