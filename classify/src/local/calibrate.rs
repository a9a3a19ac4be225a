//! Fits the [`Calibration`] on scores of posts the weights were not trained on (inner folds):
//! scores of training posts are over-confident and would make every threshold too lax.

use super::CATEGORIES;
use super::model::{Calibration, OUTPUTS, kind_decision, sigmoid, softmax};

/// Missing a vacancy costs this many wrong kinds elsewhere when choosing the vacancy bias.
const MISSED_VACANCY_COST: f32 = 2.0;

/// A held-out post's raw scores and labels.
#[derive(Debug, Clone, Copy)]
pub struct Scored {
    pub scores: [f32; OUTPUTS],
    pub kind: usize,
    /// Category bits for vacancies and resumes, `None` for other kinds.
    pub categories: Option<u16>,
}

pub fn fit_calibration(held_out: &[Scored]) -> Calibration {
    let mut c = Calibration {
        kind_temperature: fit_temperature(held_out),
        ..Calibration::default()
    };
    c.vacancy_bias = fit_vacancy_bias(held_out, &c);
    let categorised: Vec<&Scored> = held_out.iter().filter(|s| s.categories.is_some()).collect();
    if !categorised.is_empty() {
        (c.category_scale, c.category_shift) = fit_platt(&categorised);
        (c.category_threshold, c.category_floor) = fit_listing(&categorised, &c);
    }
    c
}

fn kind_scores(s: &Scored) -> [f32; 5] {
    let mut k = [0f32; 5];
    k.copy_from_slice(&s.scores[..5]);
    k
}

fn fit_temperature(held_out: &[Scored]) -> f32 {
    let loss = |t: f32| -> f32 {
        held_out
            .iter()
            .map(|s| {
                -softmax(&kind_scores(s).map(|z| z / t))[s.kind]
                    .max(1e-6)
                    .ln()
            })
            .sum()
    };
    grid(0..=40, |i| 0.25 * 1.08f32.powi(i))
        .min_by(|a, b| loss(*a).total_cmp(&loss(*b)))
        .unwrap_or(1.0)
}

fn fit_vacancy_bias(held_out: &[Scored], c: &Calibration) -> f32 {
    let cost = |bias: f32| -> f32 {
        let c = Calibration {
            vacancy_bias: bias,
            ..c.clone()
        };
        held_out
            .iter()
            .map(|s| match (s.kind, kind_decision(&s.scores, &c).0) {
                (gold, predicted) if gold == predicted => 0.0,
                (0, _) => MISSED_VACANCY_COST,
                _ => 1.0,
            })
            .sum()
    };
    // Ties go to the smallest shift: the grid runs outwards from zero.
    grid(0..=60, |i| {
        if i % 2 == 0 {
            i as f32 * 0.05
        } else {
            -(i as f32 + 1.0) * 0.05
        }
    })
    .filter(|b| *b <= 3.0 && *b >= -1.5)
    .min_by(|a, b| cost(*a).total_cmp(&cost(*b)))
    .unwrap_or(0.0)
}

fn category_pairs<'a>(rows: &'a [&'a Scored]) -> impl Iterator<Item = (f32, bool)> + 'a {
    rows.iter().flat_map(|s| {
        let bits = s.categories.unwrap_or(0);
        (0..CATEGORIES.len()).map(move |c| (s.scores[5 + c], bits & (1 << c) != 0))
    })
}

fn fit_platt(rows: &[&Scored]) -> (f32, f32) {
    let loss = |a: f32, b: f32| -> f32 {
        category_pairs(rows)
            .map(|(z, y)| {
                let p = sigmoid(a * z + b).clamp(1e-6, 1.0 - 1e-6);
                -if y { p.ln() } else { (1.0 - p).ln() }
            })
            .sum()
    };
    let mut best = (1.0, 0.0, f32::MAX);
    for a in grid(0..=30, |i| 0.3 * 1.08f32.powi(i)) {
        for b in grid(0..=40, |i| -2.0 + 0.1 * i as f32) {
            let l = loss(a, b);
            if l < best.2 {
                best = (a, b, l);
            }
        }
    }
    (best.0, best.1)
}

/// The listing threshold and the floor for the best category that maximise micro-F1.
fn fit_listing(rows: &[&Scored], c: &Calibration) -> (f32, f32) {
    let probabilities: Vec<(Vec<f32>, u16)> = rows
        .iter()
        .map(|s| {
            let p = s.scores[5..]
                .iter()
                .map(|z| sigmoid(c.category_scale * z + c.category_shift))
                .collect();
            (p, s.categories.unwrap_or(0))
        })
        .collect();
    let f1 = |threshold: f32, floor: f32| -> f32 {
        let (mut tp, mut fp, mut fn_) = (0f32, 0f32, 0f32);
        for (p, gold) in &probabilities {
            let top = (0..p.len())
                .max_by(|a, b| p[*a].total_cmp(&p[*b]))
                .unwrap_or(0);
            for (i, &pi) in p.iter().enumerate() {
                let listed = pi >= threshold || (i == top && pi >= floor);
                match (listed, gold & (1 << i) != 0) {
                    (true, true) => tp += 1.0,
                    (true, false) => fp += 1.0,
                    (false, true) => fn_ += 1.0,
                    (false, false) => {}
                }
            }
        }
        2.0 * tp / (2.0 * tp + fp + fn_).max(1.0)
    };
    let mut best = (0.5, 0.2, f32::MIN);
    for threshold in grid(0..=12, |i| 0.2 + 0.05 * i as f32) {
        for floor in grid(0..=12, |i| 0.02 + 0.04 * i as f32).filter(|f| *f <= threshold) {
            let score = f1(threshold, floor);
            if score > best.2 + 1e-6 {
                best = (threshold, floor, score);
            }
        }
    }
    (best.0, best.1)
}

fn grid(
    range: std::ops::RangeInclusive<i32>,
    at: impl Fn(i32) -> f32,
) -> impl Iterator<Item = f32> {
    range.map(at)
}
