//! The local classifier: a linear model over hashed words and character n-grams plus a
//! hand-written profession lexicon, fast enough (thousands of posts a second on one core) to
//! see every accepted post, calibrated so that its confidence can decide which posts also need
//! the LLM. Pure: no I/O but reading corpus files ([`read_jsonl`], [`read_texts`]), no async.
//!
//! The shipped model (`classify/model/default.bin`, loaded by [`LocalModel::embedded`]) is
//! regenerated from the labelled corpus, self-training on the unlabelled channel posts, with
//! `remotehunt classify train --data ../shared/corpus/dev.jsonl
//! --unlabelled ../shared/corpus/pool.jsonl --out classify/model/default.bin`.

mod amounts;
mod calibrate;
mod codec;
mod cues;
mod data;
mod features;
mod hash;
mod lexicon;
mod model;
mod self_training;
mod text;
mod train;

pub use data::{Example, read_jsonl, read_texts};
pub use model::{LocalModel, Prediction};
pub use schemas::PostKind;
pub use text::repost_key;
pub use train::{TrainOptions, stratified_folds};

/// The kinds in the order of the model's outputs.
pub const KINDS: [PostKind; 5] = [
    PostKind::Vacancy,
    PostKind::Resume,
    PostKind::Ad,
    PostKind::Scam,
    PostKind::Other,
];

/// The default catalog's category slugs, in the order of the model's outputs.
pub const CATEGORIES: [&str; 12] = [
    "development",
    "design",
    "texts",
    "smm",
    "marketing",
    "video",
    "animation",
    "assistant",
    "sales",
    "management",
    "analytics",
    "testing",
];

static DEFAULT_MODEL: &[u8] = include_bytes!("../../model/default.bin");

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("reading {path}: {source}")]
    Read {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{path} line {line}: {reason}")]
    Parse {
        path: std::path::PathBuf,
        line: usize,
        reason: String,
    },
    #[error("invalid model: {0}")]
    Model(String),
}

impl LocalModel {
    /// The model shipped in the crate.
    pub fn embedded() -> Result<LocalModel, Error> {
        LocalModel::from_bytes(DEFAULT_MODEL)
    }
}
