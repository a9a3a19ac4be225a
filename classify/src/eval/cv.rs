//! k-fold cross-validation: every post is scored by a model that never saw it, with folds
//! stratified by kind so each fold holds its share of the rare kinds.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use super::{Report, Thresholds};
use crate::local::{Example, LocalModel, Prediction, TrainOptions, stratified_folds};

/// Cross-validates on `examples` alone at the default thresholds.
pub fn cross_validate(examples: &[Example], folds: usize, options: &TrainOptions) -> Report {
    cross_validate_with(examples, &[], folds, options, &Thresholds::default())
}

/// Cross-validates on `examples`; `extra_training` (e.g. the spam set) joins every training
/// fold but is never scored. Extra posts whose text is also in `examples` are dropped, so a
/// held-out post cannot leak into training through the other file.
pub fn cross_validate_with(
    examples: &[Example],
    extra_training: &[Example],
    folds: usize,
    options: &TrainOptions,
    thresholds: &Thresholds,
) -> Report {
    let folds = folds.max(2);
    let key = |e: &Example| e.text.trim().to_lowercase();
    let scored: HashSet<String> = examples.iter().map(key).collect();
    let extra: Vec<&Example> = extra_training
        .iter()
        .filter(|e| !scored.contains(&key(e)))
        .collect();
    let assignment = stratified_folds(examples, folds, options.seed);
    let mut predictions: Vec<Option<Prediction>> = vec![None; examples.len()];
    let mut predicting = Duration::ZERO;
    for fold in 0..folds {
        let training: Vec<Example> = examples
            .iter()
            .zip(&assignment)
            .filter(|(_, f)| **f != fold)
            .map(|(e, _)| e)
            .chain(extra.iter().copied())
            .cloned()
            .collect();
        let model = LocalModel::train(&training, options);
        let started = Instant::now();
        for (i, e) in examples.iter().enumerate() {
            if assignment[i] == fold {
                predictions[i] = Some(model.predict(&e.text));
            }
        }
        predicting += started.elapsed();
    }
    let predictions: Vec<Prediction> = predictions.into_iter().flatten().collect();
    Report::from_predictions(examples, &predictions, thresholds, predicting)
}
