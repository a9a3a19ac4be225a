//! k-fold cross-validation: every post is scored by a model that never saw it, with folds
//! stratified by kind so each fold holds its share of the rare kinds.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use super::{Report, Thresholds};
use crate::local::{Example, LocalModel, Prediction, TrainOptions, repost_key, stratified_folds};

/// Cross-validates on `examples`, each fold self-training on `unlabelled` when there are any
/// (as `classify train --unlabelled` does), scored at `thresholds`.
pub fn cross_validate(
    examples: &[Example],
    unlabelled: &[String],
    folds: usize,
    options: &TrainOptions,
    thresholds: &Thresholds,
) -> Report {
    let (predictions, predicting) =
        cross_validated_predictions(examples, &[], unlabelled, folds, options);
    Report::from_predictions(examples, &predictions, thresholds, predicting)
}

/// Each post's prediction by the model of the fold that held it out, in the order of
/// `examples`, and the time spent predicting. `extra_training` (e.g. the spam set) joins every
/// training fold but is never scored; with `unlabelled` posts each fold self-trains on them.
/// Extra and unlabelled posts that are copies of a post in `examples` (see [`repost_key`]) are
/// dropped, so a held-out post cannot reach training through another file.
pub fn cross_validated_predictions(
    examples: &[Example],
    extra_training: &[Example],
    unlabelled: &[String],
    folds: usize,
    options: &TrainOptions,
) -> (Vec<Prediction>, Duration) {
    let folds = folds.max(2);
    let scored: HashSet<String> = examples.iter().map(|e| repost_key(&e.text)).collect();
    let extra: Vec<&Example> = extra_training
        .iter()
        .filter(|e| !scored.contains(&repost_key(&e.text)))
        .collect();
    let unlabelled: Vec<String> = unlabelled
        .iter()
        .filter(|text| !scored.contains(&repost_key(text)))
        .cloned()
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
        let model = if unlabelled.is_empty() {
            LocalModel::train(&training, options)
        } else {
            LocalModel::train_with_unlabelled(&training, &unlabelled, options)
        };
        let started = Instant::now();
        for (i, e) in examples.iter().enumerate() {
            if assignment[i] == fold {
                predictions[i] = Some(model.predict(&e.text));
            }
        }
        predicting += started.elapsed();
    }
    (predictions.into_iter().flatten().collect(), predicting)
}
