//! Cross-post dedup on real posts from `../shared/corpus/`: real reposts across 151 channels,
//! edited reposts made from real vacancies, and distinct labelled posts that must stay apart.

#![allow(clippy::unwrap_used)] // tests may panic on broken set-up

use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use ingest::dedup::Deduper;
use schemas::MessageKey;
use serde_json::Value;

fn corpus(file: &str) -> Vec<Value> {
    let path = format!("{}/../../shared/corpus/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn date(post: &Value) -> DateTime<Utc> {
    NaiveDateTime::parse_from_str(post["date"].as_str().unwrap(), "%Y-%m-%d %H:%M:%S")
        .unwrap()
        .and_utc()
}

fn words(text: &str) -> String {
    let normalised = ingest::text::normalise(text);
    ingest::text::tokens(&normalised)
        .iter()
        .map(|t| t.word)
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn every_real_exact_repost_within_the_window_is_caught() {
    // given the real pool in posting order
    let mut posts: Vec<Value> = corpus("pool.jsonl")
        .into_iter()
        .filter(|p| p["text"].as_str().is_some_and(|t| !t.trim().is_empty()))
        .collect();
    posts.sort_by_key(date);
    let mut dedup = Deduper::default();
    let mut first_seen: HashMap<String, DateTime<Utc>> = HashMap::new();
    let (mut expected, mut caught) = (0, 0);
    for post in &posts {
        let text = post["text"].as_str().unwrap();
        let key = MessageKey::new(
            post["chat_id"].as_i64().unwrap(),
            post["message_id"].as_i64().unwrap(),
        );
        let at = date(post);
        let normal = words(text);
        // an exact repeat (same words) of a post seen at most 14 days earlier
        let is_repeat = !normal.is_empty()
            && first_seen
                .get(&normal)
                .is_some_and(|first| at - *first <= chrono::Duration::days(14));
        if !is_repeat && !normal.is_empty() {
            first_seen.insert(normal, at);
        }
        // when each is checked
        let duplicate = dedup.check(key, text, at);
        if is_repeat {
            expected += 1;
            caught += usize::from(duplicate.is_some());
        }
    }
    println!("exact reposts within 14 days: {expected}, caught {caught}");
    // then each is caught
    assert!(expected > 300, "the pool has real reposts ({expected})");
    assert_eq!(caught, expected);
}

#[test]
fn edited_reposts_of_real_vacancies_are_caught_and_distinct_posts_are_not() {
    let posts: Vec<String> = corpus("dev.jsonl")
        .into_iter()
        .filter(|p| p["kind"] == "vacancy")
        .map(|p| p["text"].as_str().unwrap().to_owned())
        .filter(|t| t.split_whitespace().count() >= 30)
        .collect();
    let at = DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::days(20_000);
    let mut dedup = Deduper::default();
    // given the distinct labelled vacancies: none may be taken for another
    let mut false_duplicates = 0;
    for (i, text) in posts.iter().enumerate() {
        false_duplicates += usize::from(
            dedup
                .check(MessageKey::new(1, i as i64), text, at)
                .is_some(),
        );
    }
    // when each is reposted elsewhere with a prefix, hashtags and one word changed
    let mut caught = 0;
    for (i, text) in posts.iter().enumerate() {
        let mut words: Vec<&str> = text.split_whitespace().collect();
        let middle = words.len() / 2;
        words[middle] = "срочно";
        let repost = format!("🔥 Репост: {} #вакансия #удаленка", words.join(" "));
        if let Some(duplicate) = dedup.check(
            MessageKey::new(2, i as i64),
            &repost,
            at + chrono::Duration::days(2),
        ) {
            caught += usize::from(duplicate.original == MessageKey::new(1, i as i64));
        }
    }
    println!(
        "vacancies {}, false duplicates {false_duplicates}, edited reposts caught {caught}",
        posts.len()
    );
    // then (nearly) all reposts point at their original and distinct posts stay distinct
    assert!(posts.len() > 50);
    assert!(
        false_duplicates <= posts.len() / 50,
        "{false_duplicates} distinct posts taken for duplicates"
    );
    assert!(
        caught as f64 >= 0.95 * posts.len() as f64,
        "caught {caught} of {}",
        posts.len()
    );
}
