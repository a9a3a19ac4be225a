//! Keyword rules: which posts may reach the (costly) classifier. Terms are words, phrases and
//! `#hashtags`, matched on word boundaries, case- and ё/е-insensitively; `ваканс*` matches word
//! forms by prefix; optional regular expressions run on the normalised text. Every decision names
//! the rule that made it.

use std::collections::HashSet;

use schemas::Rules;

use crate::text::{FastHash, Token, normalise, tokens};

#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("empty term in {list}")]
    EmptyTerm { list: &'static str },
    #[error("bad regular expression {pattern:?}: {source}")]
    Regex {
        pattern: String,
        source: regex::Error,
    },
}

/// One term, parsed.
#[derive(Debug, Clone)]
struct Term {
    /// As written in the rules, for naming decisions.
    source: String,
    /// Normalised words of the term (several for a phrase).
    words: Vec<String>,
    /// The last word matches by prefix (`ваканс*`).
    prefix: bool,
    /// Only matches `#word`.
    hashtag: bool,
}

impl Term {
    fn parse(source: &str, list: &'static str) -> Result<Self, RuleError> {
        let trimmed = source.trim();
        let prefix = trimmed.ends_with('*');
        let hashtag = trimmed.starts_with('#');
        let normalised = normalise(trimmed.trim_end_matches('*'));
        let words: Vec<String> = tokens(&normalised)
            .iter()
            .map(|t| t.word.to_owned())
            .collect();
        if words.is_empty() {
            return Err(RuleError::EmptyTerm { list });
        }
        Ok(Self {
            source: trimmed.to_owned(),
            words,
            prefix,
            hashtag,
        })
    }

    fn word_matches(&self, index: usize, token: &Token<'_>) -> bool {
        let word = &self.words[index];
        if index == 0 && self.hashtag && !token.hashtag {
            return false;
        }
        if self.prefix && index == self.words.len() - 1 {
            token.word.starts_with(word.as_str())
        } else {
            token.word == word
        }
    }

    fn matches(&self, text: &Prepared<'_>) -> bool {
        if self.words.len() == 1 && !self.prefix && !self.hashtag {
            return text.words.contains(self.words[0].as_str());
        }
        let n = self.words.len();
        text.tokens
            .windows(n)
            .any(|window| (0..n).all(|i| self.word_matches(i, &window[i])))
    }
}

/// A text prepared once for all terms.
struct Prepared<'a> {
    normalised: &'a str,
    tokens: Vec<Token<'a>>,
    words: HashSet<&'a str, FastHash>,
}

/// The outcome for one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub accepted: bool,
    /// The rule that decided, e.g. `forbid:резюме` or `require_any:ваканс*`.
    pub rule: String,
}

impl Decision {
    fn accept(rule: impl Into<String>) -> Self {
        Self {
            accepted: true,
            rule: rule.into(),
        }
    }
    fn reject(rule: impl Into<String>) -> Self {
        Self {
            accepted: false,
            rule: rule.into(),
        }
    }
}

/// Rules compiled for fast matching.
#[derive(Debug, Clone)]
pub struct CompiledRules {
    require_any: Vec<Term>,
    require_all: Vec<Term>,
    forbid: Vec<Term>,
    require_regex: Option<regex::Regex>,
    forbid_regex: Option<regex::Regex>,
}

fn terms(list: &[String], name: &'static str) -> Result<Vec<Term>, RuleError> {
    list.iter().map(|t| Term::parse(t, name)).collect()
}

fn regex(pattern: &Option<String>) -> Result<Option<regex::Regex>, RuleError> {
    pattern
        .as_deref()
        .map(|p| {
            regex::RegexBuilder::new(p)
                .case_insensitive(true)
                .size_limit(1 << 20)
                .build()
                .map_err(|source| RuleError::Regex {
                    pattern: p.to_owned(),
                    source,
                })
        })
        .transpose()
}

impl CompiledRules {
    pub fn compile(rules: &Rules) -> Result<Self, RuleError> {
        Ok(Self {
            require_any: terms(&rules.require_any, "require_any")?,
            require_all: terms(&rules.require_all, "require_all")?,
            forbid: terms(&rules.forbid, "forbid")?,
            require_regex: regex(&rules.require_regex)?,
            forbid_regex: regex(&rules.forbid_regex)?,
        })
    }

    /// Decides on a text: forbidden terms first, then required ones.
    pub fn decide(&self, text: &str) -> Decision {
        self.decide_normalised(&normalise(text))
    }

    /// [`Self::decide`] on text already passed through [`normalise`] (shared with dedup).
    pub fn decide_normalised(&self, normalised: &str) -> Decision {
        let tokens = tokens(normalised);
        let words = tokens.iter().map(|t| t.word).collect();
        let prepared = Prepared {
            normalised,
            tokens,
            words,
        };
        if let Some(term) = self.forbid.iter().find(|t| t.matches(&prepared)) {
            return Decision::reject(format!("forbid:{}", term.source));
        }
        if let Some(re) = &self.forbid_regex
            && re.is_match(prepared.normalised)
        {
            return Decision::reject(format!("forbid_regex:{}", re.as_str()));
        }
        if let Some(term) = self.require_all.iter().find(|t| !t.matches(&prepared)) {
            return Decision::reject(format!("require_all:{} missing", term.source));
        }
        if let Some(re) = &self.require_regex
            && !re.is_match(prepared.normalised)
        {
            return Decision::reject(format!("require_regex:{} missing", re.as_str()));
        }
        if self.require_any.is_empty() {
            return Decision::accept(match (&self.require_regex, self.require_all.first()) {
                (Some(re), _) => format!("require_regex:{}", re.as_str()),
                (None, Some(term)) => format!("require_all:{}", term.source),
                (None, None) => "no_rules".to_owned(),
            });
        }
        match self.require_any.iter().find(|t| t.matches(&prepared)) {
            Some(term) => Decision::accept(format!("require_any:{}", term.source)),
            None => Decision::reject("require_any:none"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(require_any: &[&str], forbid: &[&str]) -> CompiledRules {
        CompiledRules::compile(&Rules {
            require_any: require_any.iter().map(|s| s.to_string()).collect(),
            forbid: forbid.iter().map(|s| s.to_string()).collect(),
            ..Rules::default()
        })
        .expect("compiles")
    }

    #[test]
    fn a_prefix_matches_russian_word_forms() {
        let r = rules(&["ваканс*"], &[]);
        for text in ["Вакансия: дизайнер", "новые ВАКАНСИИ недели", "#вакансия"]
        {
            assert_eq!(
                r.decide(text),
                Decision::accept("require_any:ваканс*"),
                "{text}"
            );
        }
        assert!(!r.decide("авакансия не слово").accepted);
    }

    #[test]
    fn words_match_on_boundaries_and_ignore_yo() {
        let r = rules(&["ищем"], &[]);
        assert!(r.decide("Ищём монтажёра").accepted);
        assert!(
            !r.decide("поищем позже").accepted,
            "inside a word is no match"
        );
    }

    #[test]
    fn forbidden_terms_win_and_are_named() {
        let r = rules(&["дизайнер"], &["#резюме", "ищу работу"]);
        assert_eq!(r.decide("#резюме Я дизайнер").rule, "forbid:#резюме");
        assert_eq!(r.decide("Дизайнер, ищу работу").rule, "forbid:ищу работу");
        assert!(
            r.decide("резюме присылайте, нужен дизайнер").accepted,
            "a hashtag term needs the #"
        );
    }

    #[test]
    fn phrases_need_consecutive_words() {
        let r = rules(&["нужен дизайнер"], &[]);
        assert!(r.decide("Срочно нужен дизайнер!").accepted);
        assert!(!r.decide("дизайнер нужен").accepted);
    }

    #[test]
    fn require_all_and_regexes() {
        let r = CompiledRules::compile(&Rules {
            require_all: vec!["оплата".into()],
            forbid_regex: Some(r"\bказино\b".into()),
            require_regex: Some(r"\d{3,}".into()),
            ..Rules::default()
        })
        .expect("compiles");
        assert_eq!(r.decide("оплата 5000").rule, "require_regex:\\d{3,}");
        assert_eq!(
            r.decide("оплата договорная").rule,
            "require_regex:\\d{3,} missing"
        );
        assert_eq!(r.decide("ставка 5000").rule, "require_all:оплата missing");
        assert!(!r.decide("Казино, оплата 5000").accepted);
    }

    #[test]
    fn bad_rules_are_errors() {
        assert!(
            CompiledRules::compile(&Rules {
                require_any: vec!["  ".into()],
                ..Rules::default()
            })
            .is_err()
        );
        assert!(
            CompiledRules::compile(&Rules {
                require_regex: Some("(".into()),
                ..Rules::default()
            })
            .is_err()
        );
    }

    #[test]
    fn hostile_text_is_just_text() {
        let r = rules(&["ваканс*"], &[]);
        let long = "а".repeat(10_000) + " вакансия";
        assert!(r.decide(&long).accepted);
        assert!(!r.decide("").accepted);
        assert!(!r.decide("🎨🔥\u{202e}\u{200b}").accepted);
    }
}
