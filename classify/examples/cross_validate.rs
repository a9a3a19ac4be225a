//! Prints the 5-fold cross-validation report of the local model on the labelled corpus as JSON.
//!
//! `cargo run -p classify --example cross_validate -- [--spam] [--epochs N] [--lr X] [--l2 X]
//! [--bits N] [--folds N] [--seed N] [--confident X]`; `--spam` adds the spam set to every
//! training fold (never to the scored posts).

use classify::eval::{Thresholds, cross_validate_with};
use classify::local::{TrainOptions, read_jsonl};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus");

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut options = TrainOptions::default();
    let mut thresholds = Thresholds::default();
    let (mut folds, mut spam) = (5, false);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "--spam" {
            spam = true;
            continue;
        }
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--epochs" => options.epochs = value.parse()?,
            "--lr" => options.learning_rate = value.parse()?,
            "--l2" => options.l2 = value.parse()?,
            "--bits" => options.hash_bits = value.parse()?,
            "--calibration-folds" => options.calibration_folds = value.parse()?,
            "--seed" => options.seed = value.parse()?,
            "--folds" => folds = value.parse()?,
            "--confident" => thresholds.confident = value.parse()?,
            _ => return Err(format!("unknown flag {flag}").into()),
        }
    }
    let dev = read_jsonl(format!("{CORPUS}/dev.jsonl"))?;
    let extra = if spam {
        read_jsonl(format!("{CORPUS}/spam.jsonl"))?
    } else {
        Vec::new()
    };
    let report = cross_validate_with(&dev, &extra, folds, &options, &thresholds);
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
