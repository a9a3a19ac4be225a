//! The default keyword rules of `catalog.toml` on real, hand-labelled posts from
//! `../shared/corpus/dev.jsonl`: vacancies must get through, most resumes and scams must not.

#![allow(clippy::unwrap_used)] // tests may panic on broken set-up

use ingest::rules::CompiledRules;
use serde_json::Value;

fn default_rules() -> CompiledRules {
    let catalog: toml::Table = toml::from_str(include_str!("../../catalog.toml")).unwrap();
    let rules: schemas::Rules = catalog["rules"].clone().try_into().unwrap();
    CompiledRules::compile(&rules).unwrap()
}

fn labelled() -> Vec<Value> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus/dev.jsonl");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn pass_rate(rules: &CompiledRules, posts: &[Value], kind: &str) -> (f64, usize) {
    let of_kind: Vec<&Value> = posts.iter().filter(|p| p["kind"] == kind).collect();
    let passed = of_kind
        .iter()
        .filter(|p| rules.decide(p["text"].as_str().unwrap()).accepted)
        .count();
    (passed as f64 / of_kind.len() as f64, of_kind.len())
}

#[test]
fn default_rules_let_vacancies_through_and_stop_most_resumes() {
    // given the default rules and real labelled posts
    let rules = default_rules();
    let posts = labelled();
    // when each post is screened
    let (vacancies, n_vacancies) = pass_rate(&rules, &posts, "vacancy");
    let (resumes, n_resumes) = pass_rate(&rules, &posts, "resume");
    let (ads, _) = pass_rate(&rules, &posts, "ad");
    let (scams, _) = pass_rate(&rules, &posts, "scam");
    println!(
        "passed: vacancies {vacancies:.3} of {n_vacancies}, resumes {resumes:.3} of {n_resumes}, ads {ads:.3}, scams {scams:.3}"
    );
    // then nearly every vacancy passes (a lost vacancy is lost for good) and the rules still
    // spare the classifier most resumes
    assert!(vacancies >= 0.95, "vacancies passed: {vacancies:.3}");
    assert!(resumes <= 0.5, "resumes passed: {resumes:.3}");
}

#[test]
fn every_decision_names_a_rule() {
    let rules = default_rules();
    for post in labelled() {
        let decision = rules.decide(post["text"].as_str().unwrap());
        assert!(decision.rule.contains(':'), "{decision:?}");
    }
}
