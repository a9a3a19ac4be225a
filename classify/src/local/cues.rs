//! Matches the [`lexicon`](super::lexicon) against a post's words. Patterns are indexed by their
//! first word, so a post costs a few hash lookups per word (one per prefix length) however long
//! the lexicon grows.

use std::collections::HashMap;

use super::lexicon::{CATEGORY_CUES, Cue, KIND_CUES};
use super::text::Word;

/// Every cue: the categories first (in catalog order), then the kind cues.
pub fn all_cues() -> impl Iterator<Item = &'static Cue> {
    CATEGORY_CUES.iter().chain(KIND_CUES)
}

pub fn cue_count() -> usize {
    CATEGORY_CUES.len() + KIND_CUES.len()
}

#[derive(Debug, Clone)]
struct Element {
    text: Box<str>,
    prefix: bool,
}

impl Element {
    fn parse(raw: &str) -> Element {
        match raw.strip_suffix('*') {
            Some(text) => Element {
                text: text.into(),
                prefix: true,
            },
            None => Element {
                text: raw.into(),
                prefix: false,
            },
        }
    }

    fn matches(&self, word: &str) -> bool {
        if self.prefix {
            word.starts_with(&*self.text)
        } else {
            word == &*self.text
        }
    }
}

/// A pattern after its first word: which cue it belongs to and the words that must follow.
#[derive(Debug, Clone)]
struct Pattern {
    cue: usize,
    rest: Vec<Element>,
}

/// How often each cue occurred, in the whole post and in its title line.
#[derive(Debug, Clone, PartialEq)]
pub struct CueHits {
    pub body: Vec<u16>,
    pub title: Vec<u16>,
}

#[derive(Debug, Clone)]
pub struct CueIndex {
    exact: HashMap<Box<str>, Vec<Pattern>, super::hash::FastHash>,
    prefix: HashMap<Box<str>, Vec<Pattern>, super::hash::FastHash>,
    /// Longest prefix pattern in characters: no need to look up longer prefixes of a word.
    longest_prefix: usize,
}

impl CueIndex {
    pub fn new() -> CueIndex {
        let mut index = CueIndex {
            exact: HashMap::default(),
            prefix: HashMap::default(),
            longest_prefix: 0,
        };
        for (cue, list) in all_cues().enumerate() {
            for raw in list
                .patterns
                .iter()
                .flat_map(|line| line.split_whitespace())
            {
                let mut elements = raw.split('_').map(Element::parse);
                let Some(first) = elements.next() else {
                    continue;
                };
                let pattern = Pattern {
                    cue,
                    rest: elements.collect(),
                };
                let map = if first.prefix {
                    index.longest_prefix = index.longest_prefix.max(first.text.chars().count());
                    &mut index.prefix
                } else {
                    &mut index.exact
                };
                map.entry(first.text).or_default().push(pattern);
            }
        }
        index
    }

    pub fn hits(&self, words: &[Word<'_>]) -> CueHits {
        let n = cue_count();
        let mut hits = CueHits {
            body: vec![0; n],
            title: vec![0; n],
        };
        // A cue counts once per word position even when several of its patterns match there.
        let mut matched_here = vec![usize::MAX; n];
        for (i, word) in words.iter().enumerate() {
            let mut record = |patterns: &[Pattern]| {
                for p in patterns {
                    if matched_here[p.cue] == i || !follows(&p.rest, &words[i + 1..]) {
                        continue;
                    }
                    matched_here[p.cue] = i;
                    hits.body[p.cue] = hits.body[p.cue].saturating_add(1);
                    if word.title {
                        hits.title[p.cue] = hits.title[p.cue].saturating_add(1);
                    }
                }
            };
            if let Some(patterns) = self.exact.get(word.text) {
                record(patterns);
            }
            for (chars, (end, c)) in word.text.char_indices().enumerate() {
                if chars >= self.longest_prefix {
                    break;
                }
                if let Some(patterns) = self.prefix.get(&word.text[..end + c.len_utf8()]) {
                    record(patterns);
                }
            }
        }
        hits
    }
}

impl Default for CueIndex {
    fn default() -> Self {
        CueIndex::new()
    }
}

fn follows(rest: &[Element], next: &[Word<'_>]) -> bool {
    rest.len() <= next.len() && rest.iter().zip(next).all(|(e, w)| e.matches(w.text))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::local::text::{normalise, words};

    fn cue_hits(text: &str, cue: &str) -> (u16, u16) {
        let n = normalise(text);
        let w = words(&n.text);
        let hits = CueIndex::new().hits(&w);
        let i = all_cues().position(|c| c.name == cue).unwrap();
        (hits.body[i], hits.title[i])
    }

    #[test]
    fn given_word_forms_when_matched_then_prefixes_count_and_title_is_separate() {
        assert_eq!(
            cue_hits("Ищем дизайнера\nНужен опыт в Figma и дизайне", "design"),
            (3, 1)
        );
        assert_eq!(cue_hits("Таргетолог на проект", "marketing"), (1, 1));
    }

    #[test]
    fn given_phrases_when_matched_then_all_words_must_follow_in_order() {
        assert_eq!(
            cue_hits("Привет! Ищу работу дизайнером", "offers_self").0,
            1
        );
        assert_eq!(cue_hits("Работу ищу", "offers_self").0, 0);
        assert_eq!(cue_hits("Пиши «+» в лс", "write_me").0, 4);
    }
}
