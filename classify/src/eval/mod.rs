//! How good the local model is, in the terms the pipeline cares about: is the kind right, are
//! vacancies found (recall) without letting spam through (precision), are the categories right
//! (F1 over vacancies and resumes, which are delivered by category), and what share of posts
//! the router would still send to the LLM.

mod cv;
mod metrics;

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::local::{Example, LocalModel, Prediction};

pub use cv::{cross_validate, cross_validated_predictions};
pub use metrics::{CategoryScore, Report};

/// When the local model's answer is final.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Thresholds {
    /// A prediction at least this confident stays local; below it the LLM decides.
    pub confident: f32,
}

impl Default for Thresholds {
    /// Chosen on 5-fold cross-validation of the labelled corpus so that about a fifth of the
    /// posts go to the LLM (the budget is a quarter) while the local answers kept are right
    /// far more often than the average.
    fn default() -> Self {
        Thresholds { confident: 0.6 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    Local,
    Llm,
}

impl Thresholds {
    pub fn route(&self, prediction: &Prediction) -> Route {
        if prediction.confidence >= self.confident {
            Route::Local
        } else {
            Route::Llm
        }
    }
}

/// Scores `model` on labelled posts; the time spent predicting gives the throughput.
pub fn evaluate(model: &LocalModel, examples: &[Example], thresholds: &Thresholds) -> Report {
    let started = Instant::now();
    let predictions: Vec<Prediction> = examples.iter().map(|e| model.predict(&e.text)).collect();
    Report::from_predictions(examples, &predictions, thresholds, started.elapsed())
}

fn per_second(posts: usize, elapsed: Duration) -> f64 {
    let seconds = elapsed.as_secs_f64();
    if seconds > 0.0 {
        posts as f64 / seconds
    } else {
        0.0
    }
}
