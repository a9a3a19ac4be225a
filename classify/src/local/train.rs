//! Training: stochastic gradient descent on the logistic losses (softmax over kinds, one sigmoid
//! per category) with L2 decay, then calibration fitted on held-out scores of inner folds, so
//! the probabilities mean on new posts what they say. Deterministic: the only randomness is a
//! seeded shuffle.

use schemas::PostKind;

use super::calibrate::{Scored, fit_calibration};
use super::features::{Features, Featurizer};
use super::lexicon::Evidence;
use super::model::{Calibration, LocalModel, OUTPUTS, Prediction, scores, softmax};
use super::{CATEGORIES, Example, KINDS, codec};

#[derive(Debug, Clone, PartialEq)]
pub struct TrainOptions {
    /// Seeds the shuffles of the training order and of the calibration folds.
    pub seed: u64,
    pub epochs: u32,
    pub learning_rate: f32,
    /// L2 penalty per example: keeps the weight of a word seen in one post small.
    pub l2: f32,
    /// The hashed block has `2^hash_bits` rows; the shipped model's size grows with it.
    pub hash_bits: u32,
    /// Inner folds whose held-out scores fit the calibration; below 2, defaults are used.
    pub calibration_folds: usize,
    /// Self-training keeps an unlabelled post only when the first model is this sure of it.
    pub pseudo_confidence: f32,
    /// ... and teaches a vacancy's or resume's categories only when it is this sure of the
    /// best one (the lower of that and the kind's probability).
    pub pseudo_category_confidence: f32,
    /// At most this many pseudo-labelled posts per labelled post of the same kind: job
    /// channels are mostly vacancies, and a flood of them would teach that everything is one.
    pub pseudo_per_labelled: f32,
    /// A pseudo-labelled post counts this much of a labelled one in the losses.
    pub pseudo_weight: f32,
    /// Where a category cue's weight for the category it names starts, and what the L2
    /// penalty pulls it back to: the lexicon is knowledge, and a category with six labelled
    /// posts cannot learn from them alone that "ассистент" means assistant.
    pub cue_prior: f32,
    /// The same for kind cues ("пиши + в лс" for scam): smaller, as a kind cue's words turn up
    /// in every kind of post ("оплата", "опыт").
    pub kind_cue_prior: f32,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            seed: 7,
            epochs: 12,
            learning_rate: 0.2,
            l2: 1e-4,
            hash_bits: 16,
            calibration_folds: 4,
            pseudo_confidence: 0.9,
            pseudo_category_confidence: 0.5,
            pseudo_per_labelled: 3.0,
            pseudo_weight: 0.5,
            cue_prior: 3.0,
            kind_cue_prior: 0.75,
        }
    }
}

impl LocalModel {
    /// Trains on labelled posts. Categories are learnt from vacancies and resumes only: other
    /// posts carry no category labels, which is not the same as "no category".
    pub fn train(examples: &[Example], options: &TrainOptions) -> LocalModel {
        let featurizer = Featurizer::new(options.hash_bits.clamp(8, 24));
        let labelled = Labelled::new(&featurizer, examples);
        let all: Vec<usize> = (0..examples.len()).collect();
        fit_calibrated(&featurizer, &labelled, &all, options, &|_| Vec::new())
    }
}

/// Labelled posts, featurised once.
pub(super) struct Labelled {
    pub features: Vec<Features>,
    pub targets: Vec<Target>,
}

impl Labelled {
    pub fn new(featurizer: &Featurizer, examples: &[Example]) -> Labelled {
        Labelled {
            features: examples
                .iter()
                .map(|e| featurizer.extract(&e.text))
                .collect(),
            targets: examples.iter().map(|e| Target::new(e, 1.0)).collect(),
        }
    }
}

/// What training adds to a subset of the labelled posts (self-training's pseudo-labelled
/// posts), decided from that subset alone.
pub(super) type Extra<'a> = dyn Fn(&[usize]) -> Vec<(&'a Features, Target)> + 'a;

/// Fits a model on the `subset` of `labelled` plus what `extra` adds for it, and the
/// calibration on held-out scores of inner folds of the subset, each inner model trained on
/// its own part plus what `extra` adds for that part: nothing derived from a held-out post's
/// label reaches the model that scores it, so the calibration measures the model against what
/// people said.
pub(super) fn fit_calibrated<'a>(
    featurizer: &Featurizer,
    labelled: &'a Labelled,
    subset: &[usize],
    options: &TrainOptions,
    extra: &Extra<'a>,
) -> LocalModel {
    let samples = |part: &[usize]| -> Vec<(&'a Features, Target)> {
        let mut out: Vec<(&Features, Target)> = part
            .iter()
            .map(|&i| (&labelled.features[i], labelled.targets[i]))
            .collect();
        out.extend(extra(part));
        out
    };
    let calibration = if options.calibration_folds >= 2 {
        let kinds: Vec<usize> = subset.iter().map(|&i| labelled.targets[i].kind).collect();
        let folds = stratified_by_kind(&kinds, options.calibration_folds, options.seed);
        let mut held_out = Vec::with_capacity(subset.len());
        for fold in 0..options.calibration_folds {
            let (mut train, mut test) = (Vec::new(), Vec::new());
            for (&i, &f) in subset.iter().zip(&folds) {
                if f == fold { &mut test } else { &mut train }.push(i);
            }
            let (weights, bias) = fit(featurizer, &samples(&train), options);
            held_out.extend(test.iter().map(|&i| Scored {
                scores: scores(&weights, &bias, &labelled.features[i]),
                kind: labelled.targets[i].kind,
                categories: labelled.targets[i].categories,
            }));
        }
        fit_calibration(&held_out)
    } else {
        Calibration::default()
    };
    let (weights, bias) = fit(featurizer, &samples(subset), options);
    // Round as the file format does, so a saved and reloaded model predicts the same.
    let weights = codec::quantised(&weights);
    LocalModel::from_parts(featurizer.clone(), weights, bias, calibration)
}

/// An example's labels as the losses need them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Target {
    pub kind: usize,
    /// How much the example counts in the losses.
    pub weight: f32,
    /// One bit per category; `None` when the post's kind carries no category labels.
    pub categories: Option<u16>,
}

impl Target {
    pub fn new(e: &Example, weight: f32) -> Target {
        Target::of(e.kind, e.categories.iter().map(String::as_str), weight)
    }

    /// A model's answer taken as labels.
    pub fn predicted(p: &Prediction, weight: f32) -> Target {
        Target::of(
            p.kind,
            p.categories.iter().map(|(slug, _)| slug.as_str()),
            weight,
        )
    }

    fn of<'s>(kind: PostKind, slugs: impl Iterator<Item = &'s str>, weight: f32) -> Target {
        let categories = matches!(kind, PostKind::Vacancy | PostKind::Resume).then(|| {
            slugs
                .filter_map(|slug| CATEGORIES.iter().position(|c| *c == slug))
                .fold(0u16, |bits, i| bits | 1 << i)
        });
        Target {
            kind: KINDS
                .iter()
                .position(|k| *k == kind)
                .unwrap_or(KINDS.len() - 1),
            weight,
            categories,
        }
    }
}

fn fit(
    featurizer: &Featurizer,
    samples: &[(&Features, Target)],
    options: &TrainOptions,
) -> (Vec<f32>, [f32; OUTPUTS]) {
    let mut weights = vec![0f32; featurizer.rows() * OUTPUTS];
    // (index into the weights, prior) of every lexicon cue and the output it speaks for.
    let priors: Vec<(usize, f32)> = featurizer
        .cue_evidence()
        .into_iter()
        .map(|cue| {
            let prior = match cue.evidence {
                Evidence::Category => options.cue_prior,
                Evidence::Kind(_) => options.kind_cue_prior,
            };
            (cue.row as usize * OUTPUTS + cue.output, prior)
        })
        .collect();
    for &(at, prior) in &priors {
        weights[at] = prior;
    }
    let mut bias = [0f32; OUTPUTS];
    let mut order: Vec<usize> = (0..samples.len()).collect();
    // The L2 penalty is per example, and a pseudo-labelled post is a fraction of one.
    let examples: f32 = samples.iter().map(|(_, t)| t.weight).sum();
    let mut rng = SplitMix(options.seed ^ 0x5eed);
    for epoch in 0..options.epochs {
        rng.shuffle(&mut order);
        let rate = options.learning_rate / (1.0 + epoch as f32 * 0.5);
        for &i in &order {
            let (features, target) = samples[i];
            let gradient = gradient(&scores(&weights, &bias, features), target);
            for &(row, value) in features {
                let start = row as usize * OUTPUTS;
                for (w, g) in weights[start..start + OUTPUTS].iter_mut().zip(&gradient) {
                    *w -= rate * g * value * target.weight;
                }
            }
            for (b, g) in bias.iter_mut().zip(&gradient) {
                *b -= rate * g * target.weight;
            }
        }
        // The per-step decay of every example at once: weights only touched by rare features
        // need no visit per step. It decays towards the prior, not zero.
        let decay = (1.0 - rate * options.l2).powf(examples);
        weights.iter_mut().for_each(|w| *w *= decay);
        for &(at, prior) in &priors {
            weights[at] += prior * (1.0 - decay);
        }
    }
    (weights, bias)
}

/// d(loss)/d(score) for every output.
fn gradient(scores: &[f32; OUTPUTS], target: Target) -> [f32; OUTPUTS] {
    let mut g = [0f32; OUTPUTS];
    let mut kind_scores = [0f32; KINDS.len()];
    kind_scores.copy_from_slice(&scores[..KINDS.len()]);
    for (k, p) in softmax(&kind_scores).into_iter().enumerate() {
        g[k] = p - f32::from(u8::from(k == target.kind));
    }
    if let Some(bits) = target.categories {
        for c in 0..CATEGORIES.len() {
            let y = f32::from(u8::from(bits & (1 << c) != 0));
            g[KINDS.len() + c] = super::model::sigmoid(scores[KINDS.len() + c]) - y;
        }
    }
    g
}

/// Assigns each example a fold so that every kind is spread evenly over the folds.
pub fn stratified_folds(examples: &[Example], folds: usize, seed: u64) -> Vec<usize> {
    let kinds: Vec<usize> = examples.iter().map(|e| Target::new(e, 1.0).kind).collect();
    stratified_by_kind(&kinds, folds, seed)
}

/// A fold for each kind index in `kinds`, every kind spread evenly over the folds.
fn stratified_by_kind(kinds: &[usize], folds: usize, seed: u64) -> Vec<usize> {
    let folds = folds.max(1);
    let mut assignment = vec![0; kinds.len()];
    let mut rng = SplitMix(seed);
    // Counts on across kinds, so the small kinds do not all start in fold 0.
    let mut next = 0;
    for kind in 0..KINDS.len() {
        let mut members: Vec<usize> = (0..kinds.len()).filter(|&i| kinds[i] == kind).collect();
        rng.shuffle(&mut members);
        for i in members {
            assignment[i] = next % folds;
            next += 1;
        }
    }
    assignment
}

/// SplitMix64: a small, well-mixed generator; enough for shuffles.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}
