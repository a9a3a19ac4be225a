//! Self-training: a first model labels unlabelled posts, the posts it is sure of join the
//! labelled ones at a lower weight, and the model is trained again. A few hundred labelled
//! posts cannot show every way a vacancy is worded; thousands of real channel posts can.
//!
//! Every model that gets pseudo-labelled posts — the final one, and each inner model whose
//! held-out scores fit the calibration — gets them from a teacher trained on its own labelled
//! part only, so a held-out post's label never reaches the model that scores it.

use std::collections::HashSet;

use super::features::{Features, Featurizer};
use super::text::repost_key;
use super::train::{Labelled, Target, fit_calibrated};
use super::{Example, KINDS, LocalModel, TrainOptions};

impl LocalModel {
    /// Trains on `examples`, then again with the `unlabelled` posts a model trained on them
    /// is sure of (see the module's comment).
    pub fn train_with_unlabelled(
        examples: &[Example],
        unlabelled: &[String],
        options: &TrainOptions,
    ) -> LocalModel {
        let featurizer = Featurizer::new(options.hash_bits.clamp(8, 24));
        let labelled = Labelled::new(&featurizer, examples);
        let candidates = Candidates::new(&featurizer, examples, unlabelled);
        let pseudo_labelled = |part: &[usize]| {
            let teacher = fit_calibrated(&featurizer, &labelled, part, options, &|_| Vec::new());
            let mut labelled_per_kind = [0; KINDS.len()];
            for &i in part {
                labelled_per_kind[labelled.targets[i].kind] += 1;
            }
            pseudo_label(&teacher, &candidates, labelled_per_kind, options)
                .into_iter()
                .map(|(candidate, target)| (&candidates.features[candidate], target))
                .collect()
        };
        let all: Vec<usize> = (0..examples.len()).collect();
        fit_calibrated(&featurizer, &labelled, &all, options, &pseudo_labelled)
    }
}

/// Unlabelled posts featurised once: copies of labelled posts left out, a repost taken once.
struct Candidates {
    features: Vec<Features>,
}

impl Candidates {
    fn new(featurizer: &Featurizer, labelled: &[Example], unlabelled: &[String]) -> Candidates {
        let mut seen: HashSet<String> = labelled.iter().map(|e| repost_key(&e.text)).collect();
        Candidates {
            features: unlabelled
                .iter()
                .filter(|text| seen.insert(repost_key(text)))
                .map(|text| featurizer.extract(text))
                .collect(),
        }
    }
}

/// The candidates the teacher is sure of the kind of, most sure first within each kind, as
/// many per kind as [`TrainOptions::pseudo_per_labelled`] allows: (candidate index,
/// pseudo-label). A vacancy or resume keeps its categories only when the teacher is sure
/// enough of the best one ([`TrainOptions::pseudo_category_confidence`]); otherwise it teaches
/// the kind alone, as an ad does, rather than a guess.
fn pseudo_label(
    teacher: &LocalModel,
    candidates: &Candidates,
    labelled_per_kind: [usize; KINDS.len()],
    options: &TrainOptions,
) -> Vec<(usize, Target)> {
    let mut sure: Vec<(f32, usize, Target)> = candidates
        .features
        .iter()
        .enumerate()
        .filter_map(|(i, features)| {
            let prediction = teacher.decide(&teacher.scores(features));
            (prediction.kind_confidence >= options.pseudo_confidence).then(|| {
                let mut target = Target::predicted(&prediction, options.pseudo_weight);
                if prediction.confidence < options.pseudo_category_confidence {
                    target.categories = None;
                }
                (prediction.kind_confidence, i, target)
            })
        })
        .collect();
    sure.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut taken = [0; KINDS.len()];
    sure.into_iter()
        .filter(|(_, _, target)| {
            let cap = labelled_per_kind[target.kind] as f32 * options.pseudo_per_labelled;
            taken[target.kind] += 1;
            taken[target.kind] as f32 <= cap
        })
        .map(|(_, i, target)| (i, target))
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use schemas::PostKind;

    fn post(text: &str, kind: PostKind, categories: &[&str]) -> Example {
        Example {
            text: text.into(),
            kind,
            categories: categories.iter().map(|c| c.to_string()).collect(),
        }
    }

    fn labelled() -> Vec<Example> {
        vec![
            post(
                "Ищем дизайнера логотипов, бюджет 20 000",
                PostKind::Vacancy,
                &["design"],
            ),
            post(
                "Нужен разработчик на Python, оплата 100 000",
                PostKind::Vacancy,
                &["development"],
            ),
            post(
                "Я копирайтер, ищу заказчиков, портфолио по ссылке",
                PostKind::Resume,
                &["texts"],
            ),
        ]
    }

    #[test]
    fn given_copies_of_labelled_posts_and_reposts_when_gathered_then_each_new_post_once() {
        let featurizer = Featurizer::new(10);
        let unlabelled = [
            "  ИЩЕМ дизайнера логотипов,\u{200b} бюджет 20 000!! ",
            "Требуется верстальщик, 50 000 за проект",
            "🔥 Требуется верстальщик,\n\n50 000 за проект",
            "Нужен дизайнер баннеров, 5 000 за баннер",
        ]
        .map(String::from);
        let candidates = Candidates::new(&featurizer, &labelled(), &unlabelled);
        assert_eq!(candidates.features.len(), 2);
        assert_eq!(candidates.features[0], featurizer.extract(&unlabelled[1]));
        assert_eq!(candidates.features[1], featurizer.extract(&unlabelled[3]));
    }

    #[test]
    fn given_a_teacher_when_pseudo_labelling_then_only_sure_answers_within_each_kinds_cap() {
        // given a teacher trained on two vacancies and a resume, and more new posts than the caps
        let options = TrainOptions {
            calibration_folds: 0,
            pseudo_confidence: 0.0,
            pseudo_per_labelled: 1.0,
            ..TrainOptions::default()
        };
        let teacher = LocalModel::train(&labelled(), &options);
        let featurizer = Featurizer::new(options.hash_bits);
        let unlabelled = [
            "Требуется верстальщик, 50 000 за проект",
            "Нужен дизайнер баннеров, 5 000 за баннер",
            "Ищем монтажёра видео, 3 000 за ролик",
            "Нужен SMM-менеджер в кофейню, 40 000",
            "Я дизайнер, ищу проекты, портфолио в профиле",
            "Я разработчик, возьму заказ, портфолио в профиле",
        ]
        .map(String::from);
        let candidates = Candidates::new(&featurizer, &labelled(), &unlabelled);
        let per_kind = [2, 1, 0, 0, 0];
        // when it labels them
        let pseudo = pseudo_label(&teacher, &candidates, per_kind, &options);
        // then each kind fills its cap (one per labelled post) as far as the answers allow,
        // most sure first, at the pseudo weight
        let answers: Vec<_> = candidates
            .features
            .iter()
            .map(|f| teacher.decide(&teacher.scores(f)))
            .collect();
        for (kind, cap) in per_kind.iter().enumerate() {
            let answered = answers.iter().filter(|p| KINDS[kind] == p.kind).count();
            let taken: Vec<f32> = pseudo
                .iter()
                .filter(|(_, t)| t.kind == kind)
                .map(|(i, _)| answers[*i].kind_confidence)
                .collect();
            assert_eq!(taken.len(), answered.min(*cap), "{kind}: {pseudo:?}");
            let left_out = (0..answers.len())
                .filter(|i| KINDS[kind] == answers[*i].kind && !pseudo.iter().any(|(c, _)| c == i))
                .map(|i| answers[i].kind_confidence);
            let least_taken = taken.iter().copied().fold(f32::MAX, f32::min);
            assert!(
                left_out.fold(0.0, f32::max) <= least_taken,
                "{kind}: {answers:?}"
            );
        }
        assert!(
            pseudo
                .iter()
                .all(|(_, t)| t.weight == options.pseudo_weight)
        );
        // and categories the teacher is less sure of than the threshold are not taught
        let choosier = TrainOptions {
            pseudo_category_confidence: 0.8,
            ..options.clone()
        };
        for (i, target) in pseudo_label(&teacher, &candidates, per_kind, &choosier) {
            let answer = &answers[i];
            let expected = Target::predicted(answer, choosier.pseudo_weight).categories;
            let sure = answer.confidence >= choosier.pseudo_category_confidence;
            assert_eq!(target.categories, expected.filter(|_| sure), "{answer:?}");
        }
        // and a teacher never that sure labels nothing
        let unsure = TrainOptions {
            pseudo_confidence: 1.01,
            ..options
        };
        assert!(pseudo_label(&teacher, &candidates, per_kind, &unsure).is_empty());
    }
}
