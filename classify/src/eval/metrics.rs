//! The report's arithmetic, kept apart from models so it can be checked on a hand-made table.

use std::time::Duration;

use schemas::PostKind;
use serde::Serialize;

use super::{Route, Thresholds, per_second};
use crate::local::{CATEGORIES, Example, Prediction};

/// Precision, recall and F1 of one category over vacancies and resumes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CategoryScore {
    pub slug: String,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Gold vacancies and resumes with this category.
    pub support: usize,
}

/// Scores of a set of predictions against gold labels. The JSON keys are stable: scripts and
/// `remotehunt classify eval --json` read them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub posts: usize,
    pub kind_accuracy: f64,
    pub vacancy_precision: f64,
    pub vacancy_recall: f64,
    /// Over posts whose gold kind is vacancy or resume: predicted category set vs gold set.
    pub category_micro_f1: f64,
    /// Mean F1 of the categories that occur in the gold labels or the predictions.
    pub category_macro_f1: f64,
    pub per_category: Vec<CategoryScore>,
    /// Share of posts the router would send to the LLM.
    pub llm_share: f64,
    pub posts_per_second: f64,
}

#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    tp: usize,
    fp: usize,
    fn_: usize,
}

impl Counts {
    fn add(&mut self, predicted: bool, gold: bool) {
        match (predicted, gold) {
            (true, true) => self.tp += 1,
            (true, false) => self.fp += 1,
            (false, true) => self.fn_ += 1,
            (false, false) => {}
        }
    }

    fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }

    fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }

    fn f1(&self) -> f64 {
        ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn_)
    }
}

/// `0` when there is nothing to divide: no predictions means no precision to claim.
fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

impl Report {
    /// `gold[i]` is the truth for `predicted[i]`; extra entries of the longer slice are ignored.
    pub fn from_predictions(
        gold: &[Example],
        predicted: &[Prediction],
        thresholds: &Thresholds,
        elapsed: Duration,
    ) -> Report {
        let posts = gold.len().min(predicted.len());
        let pairs = || gold.iter().zip(predicted);
        let right_kind = pairs().filter(|(g, p)| g.kind == p.kind).count();
        let mut vacancy = Counts::default();
        let mut micro = Counts::default();
        let mut per = [Counts::default(); CATEGORIES.len()];
        for (g, p) in pairs() {
            vacancy.add(p.kind == PostKind::Vacancy, g.kind == PostKind::Vacancy);
            if !matches!(g.kind, PostKind::Vacancy | PostKind::Resume) {
                continue;
            }
            for (i, slug) in CATEGORIES.iter().enumerate() {
                let is_predicted = p.categories.iter().any(|(s, _)| s == slug);
                let is_gold = g.categories.iter().any(|s| s == slug);
                per[i].add(is_predicted, is_gold);
                micro.add(is_predicted, is_gold);
            }
        }
        let per_category: Vec<CategoryScore> = CATEGORIES
            .iter()
            .zip(&per)
            .map(|(slug, c)| CategoryScore {
                slug: slug.to_string(),
                precision: c.precision(),
                recall: c.recall(),
                f1: c.f1(),
                support: c.tp + c.fn_,
            })
            .collect();
        let seen: Vec<f64> = per
            .iter()
            .filter(|c| c.tp + c.fp + c.fn_ > 0)
            .map(Counts::f1)
            .collect();
        let to_llm = pairs()
            .filter(|(_, p)| thresholds.route(p) == Route::Llm)
            .count();
        Report {
            posts,
            kind_accuracy: ratio(right_kind, posts),
            vacancy_precision: vacancy.precision(),
            vacancy_recall: vacancy.recall(),
            category_micro_f1: micro.f1(),
            category_macro_f1: if seen.is_empty() {
                0.0
            } else {
                seen.iter().sum::<f64>() / seen.len() as f64
            },
            per_category,
            llm_share: ratio(to_llm, posts),
            posts_per_second: per_second(posts, elapsed),
        }
    }
}
