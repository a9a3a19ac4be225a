//! The local model: save/load, the shipped model on posts we wrote, the metric arithmetic on a
//! hand-made table, and cross-validation on the labelled real posts of `../shared/corpus/`.

#![allow(clippy::unwrap_used)] // tests may panic on broken set-up

use std::time::Duration;

use classify::eval::{Report, Thresholds, cross_validate};
use classify::local::{
    Example, LocalModel, PostKind, Prediction, TrainOptions, read_jsonl, read_texts,
};

const DEV: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus/dev.jsonl");
const POOL: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/corpus/pool.jsonl"
);

fn example(text: &str, kind: PostKind, categories: &[&str]) -> Example {
    Example {
        text: text.into(),
        kind,
        categories: categories.iter().map(|c| c.to_string()).collect(),
    }
}

#[test]
fn a_trained_model_survives_saving_and_junk_is_refused() {
    // given a model trained on some real posts
    let dev = read_jsonl(DEV).unwrap();
    let model = LocalModel::train(&dev[..120], &TrainOptions::default());
    // when it is saved and loaded
    let loaded = LocalModel::from_bytes(&model.to_bytes()).unwrap();
    // then it predicts exactly the same and keeps its version
    assert_eq!(loaded.model_version(), model.model_version());
    for post in &dev[120..] {
        assert_eq!(loaded.predict(&post.text), model.predict(&post.text));
    }
    // and bytes that are not a model are an error, never a panic
    for junk in [&b""[..], b"not a model", &model.to_bytes()[..100]] {
        assert!(LocalModel::from_bytes(junk).is_err());
    }
}

#[test]
fn the_shipped_model_reads_posts_we_wrote() {
    let model = LocalModel::embedded().unwrap();
    let designer = model.predict(
        "Ищем графического дизайнера: логотип и фирменный стиль для кофейни, макеты в Figma. Бюджет 25 000 ₽, удалённо. Пишите @coffee_brand",
    );
    assert_eq!(designer.kind, PostKind::Vacancy);
    assert_eq!(
        designer.categories.first().map(|c| c.0.as_str()),
        Some("design")
    );
    let developer = model.predict(
        "Нужен backend-разработчик на Python (Django, PostgreSQL) для доработки API интернет-магазина. Оплата 80 000 ₽ за проект",
    );
    assert_eq!(developer.kind, PostKind::Vacancy);
    assert_eq!(
        developer.categories.first().map(|c| c.0.as_str()),
        Some("development")
    );
    let resume = model.predict(
        "#резюме Я копирайтер с опытом 4 года, пишу продающие тексты и статьи для блогов. Ищу постоянных заказчиков, портфолио по ссылке",
    );
    assert_eq!(resume.kind, PostKind::Resume);
    let scam = model.predict(
        "Заработок без вложений от 5000 в день! Нужен только телефон, пиши + в личку, всё расскажу",
    );
    assert_eq!(scam.kind, PostKind::Scam);
}

#[test]
fn the_lexicon_names_a_category_no_labelled_post_shows() {
    // given the labelled corpus without a single post of the assistant category
    let without_assistants: Vec<Example> = read_jsonl(DEV)
        .unwrap()
        .into_iter()
        .filter(|e| !e.categories.iter().any(|c| c == "assistant"))
        .collect();
    // when a model is trained on it
    let model = LocalModel::train(&without_assistants, &TrainOptions::default());
    // then a vacancy for a personal assistant is still filed under assistant, through the lexicon
    let prediction = model.predict(
        "Ищем личного помощника руководителя: почта, календарь, бронирование билетов. 40 000 ₽, удалённо",
    );
    assert_eq!(prediction.kind, PostKind::Vacancy, "{prediction:?}");
    assert_eq!(
        prediction.categories.first().map(|c| c.0.as_str()),
        Some("assistant"),
        "{prediction:?}"
    );
}

#[test]
fn metric_arithmetic_on_a_hand_made_table() {
    // given four gold posts and predictions with one wrong kind and one missed category
    let gold = [
        example("a", PostKind::Vacancy, &["design"]),
        example("b", PostKind::Vacancy, &["design", "texts"]),
        example("c", PostKind::Ad, &[]),
        example("d", PostKind::Resume, &["development"]),
    ];
    let predicted = |kind, categories: &[&str], confidence| Prediction {
        kind,
        kind_confidence: confidence,
        categories: categories.iter().map(|c| (c.to_string(), 0.9)).collect(),
        confidence,
    };
    let predictions = [
        predicted(PostKind::Vacancy, &["design"], 0.9),
        predicted(PostKind::Vacancy, &["design"], 0.9),
        predicted(PostKind::Vacancy, &[], 0.4),
        predicted(PostKind::Resume, &["development"], 0.9),
    ];
    // when scored
    let report = Report::from_predictions(
        &gold,
        &predictions,
        &Thresholds { confident: 0.5 },
        Duration::from_secs(1),
    );
    // then: 3 of 4 kinds right; vacancies 2 of 3 predicted are real, both real ones found;
    // categories: 3 true positives, 0 false, 1 missed → micro F1 = 6/7
    assert_eq!(report.kind_accuracy, 0.75);
    assert!((report.vacancy_precision - 2.0 / 3.0).abs() < 1e-9);
    assert_eq!(report.vacancy_recall, 1.0);
    assert!(
        (report.category_micro_f1 - 6.0 / 7.0).abs() < 1e-9,
        "{report:?}"
    );
    assert_eq!(report.llm_share, 0.25);
    assert_eq!(report.posts_per_second, 4.0);
}

/// The quality targets, by 5-fold cross-validation of the shipped training procedure
/// (labelled posts plus self-training on the unlabelled channel posts, minus copies of any
/// scored post). The lexicon and the training options were chosen by reading these posts'
/// errors, so these figures are somewhat optimistic; the held-out set is the real measure.
#[test]
fn cross_validation_on_the_labelled_corpus_meets_the_targets() {
    // given the labelled corpus and the unlabelled pool
    let dev = read_jsonl(DEV).unwrap();
    let pool = read_texts(POOL).unwrap();
    // when every post is scored by a model trained without it
    let report = cross_validate(
        &dev,
        &pool,
        5,
        &TrainOptions::default(),
        &Thresholds::default(),
    );
    println!("{}", serde_json::to_string(&report).unwrap());
    // then the figures hold the targets
    assert_eq!(report.posts, 299);
    assert!(report.kind_accuracy >= 0.93, "{report:?}");
    assert!(report.vacancy_recall >= 0.97, "{report:?}");
    assert!(report.vacancy_precision >= 0.90, "{report:?}");
    assert!(report.category_micro_f1 >= 0.80, "{report:?}");
    assert!(report.llm_share <= 0.25, "{report:?}");
}

#[test]
fn self_training_learns_from_the_unlabelled_posts_it_is_sure_of() {
    // given the labelled corpus, and unlabelled channel posts (ours) for a job title the
    // corpus never uses, in plain development vacancies
    let dev = read_jsonl(DEV).unwrap();
    let stacks = [
        "мобильное приложение на Dart для iOS и Android",
        "бэкенд на Python и Django, REST API",
        "интеграция с 1С и платёжным шлюзом",
        "доработка сайта на React и TypeScript",
        "Telegram-бот с базой PostgreSQL",
        "настройка CI/CD, Docker и Kubernetes",
        "парсер на Go и очереди RabbitMQ",
        "вёрстка лендинга, JavaScript, Git",
    ];
    let post = |i: usize| {
        format!(
            "Флаттерщик\nИщем разработчика: {}. Оплата {} 000 ₽, удалённо. Пишите @team{i}",
            stacks[i % stacks.len()],
            50 + 5 * i
        )
    };
    let unlabelled: Vec<String> = (0..40).filter(|i| i % 5 != 0).map(post).collect();
    let unseen: Vec<String> = (0..40).filter(|i| i % 5 == 0).map(post).collect();
    // when one model trains on the labelled posts alone and another also self-trains
    let options = TrainOptions::default();
    let alone = LocalModel::train(&dev, &options);
    let self_trained = LocalModel::train_with_unlabelled(&dev, &unlabelled, &options);
    // then the self-trained one is surer that posts like them, which neither saw, are
    // development vacancies
    let sureness = |model: &LocalModel| {
        let total: f32 = unseen
            .iter()
            .map(|post| model.predict(post))
            .filter(|p| p.kind == PostKind::Vacancy)
            .filter_map(|p| {
                p.categories
                    .first()
                    .filter(|(slug, _)| slug == "development")
                    .cloned()
            })
            .map(|(_, probability)| probability)
            .sum();
        total / unseen.len() as f32
    };
    let (before, after) = (sureness(&alone), sureness(&self_trained));
    println!("development vacancy: alone {before:.3}, self-trained {after:.3}");
    assert!(
        before >= 0.5,
        "the posts must look like development to the first model: {before}"
    );
    assert!(
        after > before + 0.02,
        "alone {before}, self-trained {after}"
    );
}
