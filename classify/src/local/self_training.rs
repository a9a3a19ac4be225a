//! Self-training: a first model labels unlabelled posts, the posts it is sure of join the
//! labelled ones at a lower weight, and the model is trained again. A few hundred labelled
//! posts cannot show every way a vacancy is worded; thousands of real channel posts can, and
//! the labelled posts alone still fit the calibration.

use std::collections::HashSet;

use super::train::train_with_pseudo;
use super::{Example, KINDS, LocalModel, TrainOptions};

impl LocalModel {
    /// Trains on `examples`, then again with the `unlabelled` posts a model trained on them
    /// is sure of (see the module's comment).
    pub fn train_with_unlabelled(
        examples: &[Example],
        unlabelled: &[String],
        options: &TrainOptions,
    ) -> LocalModel {
        let teacher = LocalModel::train(examples, options);
        let pseudo = pseudo_label(&teacher, examples, unlabelled, options);
        train_with_pseudo(examples, &pseudo, options)
    }
}

/// The unlabelled posts the teacher is sure of, most sure first within each kind, as many per
/// kind as [`TrainOptions::pseudo_per_labelled`] allows; texts already labelled, or repeated
/// (reposts), are taken once or not at all.
fn pseudo_label(
    teacher: &LocalModel,
    labelled: &[Example],
    unlabelled: &[String],
    options: &TrainOptions,
) -> Vec<Example> {
    let key = |text: &str| text.trim().to_lowercase();
    let mut seen: HashSet<String> = labelled.iter().map(|e| key(&e.text)).collect();
    let mut sure: Vec<(f32, Example)> = Vec::new();
    for text in unlabelled {
        if !seen.insert(key(text)) {
            continue;
        }
        let prediction = teacher.predict(text);
        if prediction.kind_confidence >= options.pseudo_confidence {
            sure.push((
                prediction.kind_confidence,
                Example {
                    text: text.clone(),
                    kind: prediction.kind,
                    categories: prediction.categories.into_iter().map(|(c, _)| c).collect(),
                },
            ));
        }
    }
    sure.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut out = Vec::new();
    for kind in KINDS {
        let labelled_of_kind = labelled.iter().filter(|e| e.kind == kind).count();
        let cap = (labelled_of_kind as f32 * options.pseudo_per_labelled) as usize;
        out.extend(
            sure.iter()
                .filter(|(_, e)| e.kind == kind)
                .take(cap)
                .map(|(_, e)| e.clone()),
        );
    }
    out
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

    #[test]
    fn given_reposts_and_labelled_texts_when_pseudo_labelled_then_each_new_text_once_within_the_caps()
     {
        // given a teacher trained on two vacancies and a resume
        let labelled = [
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
        ];
        let options = TrainOptions {
            calibration_folds: 0,
            pseudo_confidence: 0.0,
            pseudo_per_labelled: 1.0,
            ..TrainOptions::default()
        };
        let teacher = LocalModel::train(&labelled, &options);
        // when it labels a labelled text again, a repost twice and more new posts than the caps allow
        let unlabelled: Vec<String> = [
            "  ищем дизайнера логотипов, бюджет 20 000 ",
            "Требуется верстальщик, 50 000 за проект",
            "Требуется верстальщик, 50 000 за проект",
            "Нужен дизайнер баннеров, 5 000 за баннер",
            "Ищем монтажёра видео, 3 000 за ролик",
            "Нужен SMM-менеджер в кофейню, 40 000",
            "Я дизайнер, ищу проекты, портфолио в профиле",
            "Я разработчик, возьму заказ, портфолио в профиле",
        ]
        .map(String::from)
        .to_vec();
        let pseudo = pseudo_label(&teacher, &labelled, &unlabelled, &options);
        // then labelled texts are not taken again, reposts once, and each kind fills its cap
        // (one per labelled post of the kind) as far as the teacher's answers allow
        let texts: HashSet<String> = pseudo
            .iter()
            .map(|e| e.text.trim().to_lowercase())
            .collect();
        assert_eq!(texts.len(), pseudo.len(), "{pseudo:?}");
        assert!(!texts.contains("ищем дизайнера логотипов, бюджет 20 000"));
        let new_texts: HashSet<&String> = unlabelled[1..].iter().collect();
        for kind in KINDS {
            let cap = labelled.iter().filter(|e| e.kind == kind).count();
            let answered = new_texts
                .iter()
                .filter(|t| teacher.predict(t).kind == kind)
                .count();
            let taken = pseudo.iter().filter(|e| e.kind == kind).count();
            assert_eq!(taken, cap.min(answered), "{kind:?}: {pseudo:?}");
        }
    }
}
