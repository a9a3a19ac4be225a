//! The trained model and its predictions: one linear layer over the features with 17 outputs,
//! a softmax over the five kinds and an independent sigmoid per catalog category (a post may
//! belong to several), then the calibration fitted on held-out scores turns them into the
//! probabilities the router compares with its threshold.

use schemas::PostKind;
use serde::Serialize;

use super::features::{Features, Featurizer};
use super::hash::Fnv;
use super::{CATEGORIES, KINDS};

pub(crate) const OUTPUTS: usize = KINDS.len() + CATEGORIES.len();

/// What turns raw scores into decisions; fitted on held-out scores of the training data.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Calibration {
    /// Divides the kind scores (temperature scaling): a linear model trained to convergence
    /// is over-confident on posts unlike its training set.
    pub kind_temperature: f32,
    /// Added to the vacancy score: a missed vacancy never reaches a subscriber, while a
    /// false one is still checked by the LLM when unsure.
    pub vacancy_bias: f32,
    /// Category probability is `sigmoid(scale * score + shift)` (Platt scaling, shared by all
    /// categories: a dozen positives per category cannot fit one each).
    pub category_scale: f32,
    pub category_shift: f32,
    /// A category is listed from this probability on.
    pub category_threshold: f32,
    /// The best category of a vacancy or resume is listed from this lower probability on.
    pub category_floor: f32,
}

impl Default for Calibration {
    fn default() -> Self {
        Calibration {
            kind_temperature: 1.0,
            vacancy_bias: 0.0,
            category_scale: 1.0,
            category_shift: 0.0,
            category_threshold: 0.5,
            category_floor: 0.2,
        }
    }
}

/// The local model's answer for one post.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    pub kind: PostKind,
    /// Probability of `kind`, 0–1.
    pub kind_confidence: f32,
    /// Catalog slugs with their probabilities, most likely first.
    pub categories: Vec<(String, f32)>,
    /// What the router compares with its threshold: the kind's probability, and for vacancies
    /// and resumes (which are delivered by category) the lower of it and the best category's.
    pub confidence: f32,
}

/// A linear classifier over hashed text features and the lexicon; see [`super`].
#[derive(Debug, Clone)]
pub struct LocalModel {
    pub(crate) featurizer: Featurizer,
    /// `featurizer.rows() × OUTPUTS`, row-major: a feature's 17 weights share a cache line.
    pub(crate) weights: Vec<f32>,
    pub(crate) bias: [f32; OUTPUTS],
    pub(crate) calibration: Calibration,
    version: String,
}

impl LocalModel {
    pub(crate) fn from_parts(
        featurizer: Featurizer,
        weights: Vec<f32>,
        bias: [f32; OUTPUTS],
        calibration: Calibration,
    ) -> LocalModel {
        let mut model = LocalModel {
            featurizer,
            weights,
            bias,
            calibration,
            version: String::new(),
        };
        model.version = format!("local-{:012x}", model.fingerprint() >> 16);
        model
    }

    /// Names the model in events: `local-` and a hash of its weights and calibration.
    pub fn model_version(&self) -> &str {
        &self.version
    }

    pub fn predict(&self, text: &str) -> Prediction {
        self.decide(&self.scores(&self.featurizer.extract(text)))
    }

    /// Raw scores (logits) of every output for a feature vector.
    pub(crate) fn scores(&self, features: &Features) -> [f32; OUTPUTS] {
        scores(&self.weights, &self.bias, features)
    }

    pub(crate) fn decide(&self, scores: &[f32; OUTPUTS]) -> Prediction {
        let c = &self.calibration;
        let (kind_index, kind_confidence) = kind_decision(scores, c);
        let kind = KINDS[kind_index];
        let mut ranked: Vec<(usize, f32)> = scores[KINDS.len()..]
            .iter()
            .map(|&s| sigmoid(c.category_scale * s + c.category_shift))
            .enumerate()
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        let by_category = matches!(kind, PostKind::Vacancy | PostKind::Resume);
        let top = ranked.first().map_or(0.0, |&(_, p)| p);
        let categories = ranked
            .iter()
            .enumerate()
            .filter(|&(rank, &(_, p))| {
                p >= c.category_threshold || (by_category && rank == 0 && p >= c.category_floor)
            })
            .map(|(_, &(i, p))| (CATEGORIES[i].to_string(), p))
            .collect();
        let confidence = if by_category {
            kind_confidence.min(top)
        } else {
            kind_confidence
        };
        Prediction {
            kind,
            kind_confidence,
            categories,
            confidence,
        }
    }

    fn fingerprint(&self) -> u64 {
        let mut h = Fnv::new(0).bytes(&self.featurizer.hash_bits().to_le_bytes());
        for w in self.weights.iter().chain(&self.bias) {
            h = h.bytes(&w.to_bits().to_le_bytes());
        }
        let c = &self.calibration;
        for v in [
            c.kind_temperature,
            c.vacancy_bias,
            c.category_scale,
            c.category_shift,
            c.category_threshold,
            c.category_floor,
        ] {
            h = h.bytes(&v.to_bits().to_le_bytes());
        }
        h.value()
    }
}

pub(crate) fn scores(
    weights: &[f32],
    bias: &[f32; OUTPUTS],
    features: &Features,
) -> [f32; OUTPUTS] {
    let mut out = *bias;
    for &(row, value) in features {
        let start = row as usize * OUTPUTS;
        let Some(w) = weights.get(start..start + OUTPUTS) else {
            continue;
        };
        for (o, w) in out.iter_mut().zip(w) {
            *o += value * w;
        }
    }
    out
}

/// The kind with the highest calibrated probability, and that probability.
pub(crate) fn kind_decision(scores: &[f32; OUTPUTS], c: &Calibration) -> (usize, f32) {
    let mut logits = [0f32; KINDS.len()];
    for (k, l) in logits.iter_mut().enumerate() {
        *l = scores[k] / c.kind_temperature;
    }
    logits[0] += c.vacancy_bias;
    let probabilities = softmax(&logits);
    probabilities
        .iter()
        .copied()
        .enumerate()
        .fold(
            (0, f32::MIN),
            |best, (i, p)| if p > best.1 { (i, p) } else { best },
        )
}

pub(crate) fn softmax<const N: usize>(logits: &[f32; N]) -> [f32; N] {
    let max = logits.iter().copied().fold(f32::MIN, f32::max);
    let mut out = logits.map(|l| (l - max).exp());
    let sum: f32 = out.iter().sum();
    out.iter_mut().for_each(|p| *p /= sum);
    out
}

pub(crate) fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}
