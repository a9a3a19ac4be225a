//! Turns a post into the sparse vector the linear model reads. Two blocks:
//!
//! * hashed: words, word pairs, hashtags, title words and character 2–5-grams inside words
//!   (Russian endings vary, the stems in the n-grams do not), sublinear counts scaled to unit
//!   length so a long post does not outvote a short one;
//! * dense: one feature per lexicon cue in the post and in its title, plus a few shape signals
//!   (length, links, emoji, mixed-script words) that separate spam from job posts.

use super::amounts::{daily_pay, listed_vacancies};
use super::cues::{CueIndex, all_cues, cue_count};
use super::hash::Fnv;
use super::lexicon::Evidence;
use super::text::{Word, normalise, words};
use super::{CATEGORIES, KINDS};

const NS_WORD: u8 = 1;
const NS_TAG: u8 = 2;
const NS_TITLE: u8 = 3;
const NS_PAIR: u8 = 4;
const NS_CHARS: u8 = 5;

/// Bump when extraction changes in a way the lexicon and constants below do not show.
const EXTRACTION_VERSION: u8 = 2;

const MIN_GRAM: usize = 2;
const MAX_GRAM: usize = 5;
/// Longer "words" are links and base64 noise: their n-grams only add collisions.
const MAX_GRAM_WORD_CHARS: usize = 24;

/// The shape signals, in feature order.
const SHAPES: &[&str] = &[
    "chars<80",
    "chars<200",
    "chars<500",
    "chars<1500",
    "chars>=1500",
    "link",
    "mention",
    "hashtag",
    "mixed_script",
    "lines>=5",
    "question",
    "exclamations>=3",
    "emoji",
    "money",
    "bullets>=3",
    "c++/c#/.net",
    "pay/day>=3k",
    "pay/day>=10k",
    "vacancies_listed>=5",
];

/// Positions in [`SHAPES`] of the amounts (the others are set by `shapes`, in order).
const PAY_PER_DAY_3K: usize = 16;
const PAY_PER_DAY_10K: usize = 17;
const VACANCIES_LISTED: usize = 18;

/// A cue's feature row and the model output it speaks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CueEvidence {
    pub row: u32,
    pub output: usize,
    pub evidence: Evidence,
}

/// A sparse feature vector: (row, value) sorted by row, rows unique.
pub type Features = Vec<(u32, f32)>;

#[derive(Debug, Clone)]
pub struct Featurizer {
    hash_bits: u32,
    cues: CueIndex,
}

impl Featurizer {
    pub fn new(hash_bits: u32) -> Featurizer {
        Featurizer {
            hash_bits,
            cues: CueIndex::new(),
        }
    }

    pub fn hash_bits(&self) -> u32 {
        self.hash_bits
    }

    /// Rows of the weight matrix: the hashed buckets, then the dense features.
    pub fn rows(&self) -> usize {
        (1usize << self.hash_bits) + dense_len()
    }

    /// Where each lexicon cue's feature rows (hits in the post, in its title) meet the output
    /// the cue is evidence for.
    pub fn cue_evidence(&self) -> Vec<CueEvidence> {
        let first_dense = 1u32 << self.hash_bits;
        let n = cue_count() as u32;
        all_cues()
            .enumerate()
            .filter_map(|(i, cue)| {
                let output = match cue.evidence {
                    Evidence::Category => {
                        KINDS.len() + CATEGORIES.iter().position(|c| *c == cue.name)?
                    }
                    Evidence::Kind(kind) => KINDS.iter().position(|k| *k == kind)?,
                };
                let i = i as u32;
                Some(
                    [first_dense + i, first_dense + n + i].map(|row| CueEvidence {
                        row,
                        output,
                        evidence: cue.evidence,
                    }),
                )
            })
            .flatten()
            .collect()
    }

    pub fn extract(&self, text: &str) -> Features {
        let normalised = normalise(text);
        let words = words(&normalised.text);
        let mut word_buckets = Vec::with_capacity(words.len() * 3);
        let mut gram_buckets = Vec::with_capacity(normalised.text.len() * 4);
        self.hash_words(&words, &mut word_buckets, &mut gram_buckets);
        let mut out = merge_rows(
            sublinear_scaled(word_buckets, 1.0),
            sublinear_scaled(gram_buckets, 1.0),
        );

        let hits = self.cues.hits(&words);
        let first_dense = 1u32 << self.hash_bits;
        let n = cue_count();
        let mut dense = vec![0f32; dense_len()];
        for (i, (&body, &title)) in hits.body.iter().zip(&hits.title).enumerate() {
            dense[i] = (1.0 + f32::from(body)).ln();
            dense[n + i] = f32::from(title.min(1));
        }
        let shape = &mut dense[2 * n..];
        shapes(text, &normalised.text, normalised.mixed_script_words, shape);
        let daily = daily_pay(&normalised.text, &words).unwrap_or(0);
        shape[PAY_PER_DAY_3K] = f32::from(u8::from(daily >= 3000));
        shape[PAY_PER_DAY_10K] = f32::from(u8::from(daily >= 10_000));
        shape[VACANCIES_LISTED] = f32::from(u8::from(listed_vacancies(&words) >= 5));
        out.extend(
            dense
                .iter()
                .enumerate()
                .filter(|(_, v)| **v != 0.0)
                .map(|(i, v)| (first_dense + i as u32, *v)),
        );
        out
    }

    fn hash_words(&self, words: &[Word<'_>], out: &mut Vec<u32>, grams: &mut Vec<u32>) {
        let bits = self.hash_bits;
        let mut previous: Option<u64> = None;
        let mut chars: Vec<char> = Vec::with_capacity(MAX_GRAM_WORD_CHARS + 2);
        for word in words {
            let shaped = word_hash(word.text);
            out.push(shaped.bucket(bits));
            if word.hashtag {
                out.push(Fnv::new(NS_TAG).bytes(word.text.as_bytes()).bucket(bits));
            }
            if word.title {
                out.push(Fnv::new(NS_TITLE).bytes(word.text.as_bytes()).bucket(bits));
            }
            if let Some(p) = previous {
                let pair = Fnv::new(NS_PAIR).bytes(&p.to_le_bytes());
                out.push(pair.bytes(&shaped.value().to_le_bytes()).bucket(bits));
            }
            previous = Some(shaped.value());
            chars.clear();
            chars.push('<');
            chars.extend(word.text.chars().take(MAX_GRAM_WORD_CHARS + 1));
            chars.push('>');
            if chars.len() > MAX_GRAM_WORD_CHARS + 2
                || word.text.bytes().all(|b| b.is_ascii_digit())
            {
                continue;
            }
            for start in 0..chars.len() {
                let mut h = Fnv::new(NS_CHARS);
                for (n, c) in chars[start..].iter().take(MAX_GRAM).enumerate() {
                    h = h.char(*c);
                    if n + 1 >= MIN_GRAM {
                        grams.push(h.bucket(bits));
                    }
                }
            }
        }
    }
}

/// Numbers hash by their number of digits: "от 5000 в день" and "от 7000 в день" are one feature.
fn word_hash(word: &str) -> Fnv {
    let h = Fnv::new(NS_WORD);
    if word.bytes().all(|b| b.is_ascii_digit()) {
        h.bytes(b"#digits:").bytes(&[word.len().min(9) as u8])
    } else {
        h.bytes(word.as_bytes())
    }
}

/// Merges repeated buckets into `1 + ln(count)` and scales the block to length `norm`.
fn sublinear_scaled(mut buckets: Vec<u32>, norm: f32) -> Features {
    // A radix sort: the buckets are a few thousand u32s per post, where a comparison sort was
    // a tenth of the classifier's time.
    radsort::sort(&mut buckets);
    let mut out: Features = Vec::with_capacity(buckets.len() / 2);
    let mut i = 0;
    while i < buckets.len() {
        let mut j = i + 1;
        while j < buckets.len() && buckets[j] == buckets[i] {
            j += 1;
        }
        out.push((buckets[i], 1.0 + ((j - i) as f32).ln()));
        i = j;
    }
    let length = out.iter().map(|(_, v)| v * v).sum::<f32>().sqrt();
    if length > 0.0 {
        out.iter_mut().for_each(|(_, v)| *v *= norm / length);
    }
    out
}

/// Merges two blocks, each sorted by row with unique rows, into one, adding up the values of
/// a row both have.
fn merge_rows(a: Features, b: Features) -> Features {
    use std::cmp::Ordering;
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            Ordering::Less => {
                out.push(a[i]);
                i += 1;
            }
            Ordering::Greater => {
                out.push(b[j]);
                j += 1;
            }
            Ordering::Equal => {
                out.push((a[i].0, a[i].1 + b[j].1));
                i += 1;
                j += 1;
            }
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

fn shapes(raw: &str, normalised: &str, mixed_script_words: u32, out: &mut [f32]) {
    let chars = raw.chars().count();
    let length_bin = [80, 200, 500, 1500]
        .iter()
        .take_while(|&&l| chars >= l)
        .count();
    out[length_bin] = 1.0;
    let has = |s: &str| normalised.contains(s);
    out[5] = f32::from(u8::from(has("http") || has("t.me/") || has("www.")));
    out[6] = f32::from(u8::from(normalised.contains('@')));
    out[7] = f32::from(u8::from(normalised.contains('#')));
    out[8] = (1.0 + mixed_script_words as f32).ln();
    out[9] = f32::from(u8::from(
        raw.lines().filter(|l| !l.trim().is_empty()).count() >= 5,
    ));
    out[10] = f32::from(u8::from(raw.contains('?')));
    out[11] = f32::from(u8::from(raw.matches('!').count() >= 3));
    let emoji = raw
        .chars()
        .filter(|&c| c >= '\u{1f000}' || ('\u{2600}'..='\u{27bf}').contains(&c))
        .count();
    out[12] = (1.0 + emoji as f32).ln() / 2.0;
    out[13] = f32::from(u8::from(
        has("₽") || has("$") || has("€") || has("руб") || has("usd"),
    ));
    let bullets = raw
        .lines()
        .filter(|l| {
            let t = l.trim_start();
            t.starts_with([
                '-', '•', '—', '–', '▪', '●', '✅', '🔹', '🔸', '*', '➔', '◦',
            ])
        })
        .count();
    out[14] = f32::from(u8::from(bullets >= 3));
    out[15] = f32::from(u8::from(has("c++") || has("c#") || has(".net")));
}

pub fn dense_len() -> usize {
    2 * cue_count() + SHAPES.len()
}

/// Fingerprint of everything that decides which row a feature lands in: a model trained with
/// another lexicon or feature layout must be refused, not silently misread.
pub fn layout_fingerprint() -> u64 {
    let mut h = Fnv::new(EXTRACTION_VERSION).bytes(&[
        MIN_GRAM as u8,
        MAX_GRAM as u8,
        MAX_GRAM_WORD_CHARS as u8,
    ]);
    for cue in all_cues() {
        h = h.bytes(cue.name.as_bytes());
        for line in cue.patterns {
            h = h.bytes(line.as_bytes()).bytes(b"\n");
        }
    }
    for shape in SHAPES {
        h = h.bytes(shape.as_bytes());
    }
    h.value()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amount_positions_name_their_shapes() {
        assert_eq!(SHAPES[PAY_PER_DAY_3K], "pay/day>=3k");
        assert_eq!(SHAPES[PAY_PER_DAY_10K], "pay/day>=10k");
        assert_eq!(SHAPES[VACANCIES_LISTED], "vacancies_listed>=5");
        assert_eq!(SHAPES.len(), VACANCIES_LISTED + 1);
    }

    #[test]
    fn every_cue_speaks_for_an_output_in_the_post_and_in_its_title() {
        let featurizer = Featurizer::new(10);
        let evidence = featurizer.cue_evidence();
        assert_eq!(evidence.len(), 2 * cue_count());
        let rows: std::collections::HashSet<u32> = evidence.iter().map(|e| e.row).collect();
        assert_eq!(rows.len(), evidence.len(), "one output per row");
        for e in evidence {
            match e.evidence {
                Evidence::Category => assert!(e.output >= KINDS.len()),
                Evidence::Kind(kind) => assert_eq!(KINDS[e.output], kind),
            }
        }
    }
}
