//! Cross-post dedup: the same vacancy is posted to many chats and reposted daily; subscribers must
//! see it once and we must not pay to classify it again. Texts are normalised to words, cut into
//! word 3-shingles and summarised by a 64-value MinHash; locality-sensitive hashing (16 bands of
//! 4) finds candidates, and the estimated Jaccard similarity decides. Short texts only match
//! exactly: two different three-word posts look alike to any sketch.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use schemas::MessageKey;

use crate::text::{normalise, tokens};

const HASHES: usize = 64;
const BANDS: usize = 16;
const ROWS: usize = HASHES / BANDS;
/// Fewer words than this: exact matches only.
const MIN_WORDS_FOR_NEAR: usize = 8;

/// A repeat of an earlier message.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Duplicate {
    pub original: MessageKey,
    /// Estimated Jaccard similarity of the word shingles, 0–1.
    pub similarity: f32,
}

#[derive(Debug, Clone)]
struct Entry {
    /// The first occurrence this text stands for (itself for an original).
    original: MessageKey,
    at: DateTime<Utc>,
    signature: Option<[u64; HASHES]>,
}

#[derive(Debug, Clone)]
pub struct Deduper {
    window: Duration,
    threshold: f32,
    entries: Vec<Entry>,
    by_key: HashMap<MessageKey, usize>,
    exact: HashMap<u64, usize>,
    bands: HashMap<(u8, u64), Vec<usize>>,
}

/// splitmix64: a fast, well-mixed 64-bit hash step.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn hash_str(s: &str) -> u64 {
    // FNV-1a, then mixed: deterministic across runs and processes (unlike std's RandomState).
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    mix(h)
}

/// Hashes of a text's words, in order (empty for a text without words).
fn word_hashes(normalised: &str) -> Vec<u64> {
    tokens(normalised)
        .into_iter()
        .map(|t| hash_str(t.word))
        .collect()
}

/// Hash of the whole word sequence: equal for texts that differ only in case, punctuation,
/// emoji and spacing.
fn exact_hash(words: &[u64]) -> u64 {
    words.iter().fold(0x5eed, |acc, w| mix(acc ^ w))
}

/// MinHash over word 3-shingles. The 64 hash functions are `h1 + i·h2` of one shingle hash
/// (double hashing): an add and a compare per function.
fn signature(words: &[u64]) -> [u64; HASHES] {
    let mut signature = [u64::MAX; HASHES];
    for shingle in words.windows(3) {
        let h1 = mix(shingle[0] ^ shingle[1].rotate_left(21) ^ shingle[2].rotate_left(42));
        let h2 = mix(h1) | 1;
        let mut value = h1;
        for slot in signature.iter_mut() {
            if value < *slot {
                *slot = value;
            }
            value = value.wrapping_add(h2);
        }
    }
    signature
}

fn similarity(a: &[u64; HASHES], b: &[u64; HASHES]) -> f32 {
    a.iter().zip(b).filter(|(x, y)| x == y).count() as f32 / HASHES as f32
}

fn band_keys(signature: &[u64; HASHES]) -> impl Iterator<Item = (u8, u64)> + '_ {
    signature.chunks(ROWS).enumerate().map(|(band, rows)| {
        let h = rows.iter().fold(band as u64, |acc, v| mix(acc ^ v));
        (band as u8, h)
    })
}

impl Deduper {
    /// `window`: how far back a repeat counts (default 14 days); `threshold`: the similarity at
    /// which a text counts as the same post (default 0.7).
    pub fn new(window: Duration, threshold: f32) -> Self {
        Self {
            window,
            threshold,
            entries: Vec::new(),
            by_key: HashMap::new(),
            exact: HashMap::new(),
            bands: HashMap::new(),
        }
    }

    /// Checks a message against everything seen within the window around `at`. Duplicates point
    /// at the first occurrence and are remembered as exact texts, so a chain of identical
    /// reposts keeps matching while the first one has left the window; an edited repost matches
    /// only while its original is within the window. A key already checked returns `None`: re-reading
    /// a message is not a repost.
    pub fn check(&mut self, key: MessageKey, text: &str, at: DateTime<Utc>) -> Option<Duplicate> {
        self.check_normalised(key, &normalise(text), at)
    }

    /// [`Self::check`] on text already passed through [`normalise`] (shared with the rules).
    pub fn check_normalised(
        &mut self,
        key: MessageKey,
        normalised: &str,
        at: DateTime<Utc>,
    ) -> Option<Duplicate> {
        if self.by_key.contains_key(&key) {
            return None;
        }
        let words = word_hashes(normalised);
        if words.is_empty() {
            // Media without a caption: nothing to compare.
            return None;
        }
        let exact = exact_hash(&words);
        let within = |entry: &Entry| (at - entry.at).abs() <= self.window;
        if let Some(&i) = self.exact.get(&exact)
            && within(&self.entries[i])
        {
            let duplicate = Duplicate {
                original: self.entries[i].original,
                similarity: 1.0,
            };
            self.remember(key, exact, None, at, duplicate.original);
            return Some(duplicate);
        }
        let signature = (words.len() >= MIN_WORDS_FOR_NEAR).then(|| signature(&words));
        if let Some(signature) = &signature {
            let mut best: Option<(usize, f32)> = None;
            // A candidate shares up to all 16 bands; compare it once.
            let mut seen: Vec<usize> = Vec::new();
            for band in band_keys(signature) {
                for &i in self.bands.get(&band).into_iter().flatten() {
                    if seen.contains(&i) {
                        continue;
                    }
                    seen.push(i);
                    let entry = &self.entries[i];
                    let Some(other) = &entry.signature else {
                        continue;
                    };
                    if !within(entry) {
                        continue;
                    }
                    let s = similarity(signature, other);
                    if s >= self.threshold && best.is_none_or(|(_, b)| s > b) {
                        best = Some((i, s));
                    }
                }
            }
            if let Some((i, s)) = best {
                let duplicate = Duplicate {
                    original: self.entries[i].original,
                    similarity: s,
                };
                // Only originals go into the bands: near-duplicates of one template would
                // otherwise pile up in its buckets and make every lookup scan them all.
                self.remember(key, exact, None, at, duplicate.original);
                return Some(duplicate);
            }
        }
        self.remember(key, exact, signature, at, key);
        None
    }

    fn remember(
        &mut self,
        key: MessageKey,
        exact: u64,
        signature: Option<[u64; HASHES]>,
        at: DateTime<Utc>,
        original: MessageKey,
    ) {
        let index = self.entries.len();
        if let Some(signature) = &signature {
            for band in band_keys(signature) {
                self.bands.entry(band).or_default().push(index);
            }
        }
        // The newest sighting of a text: an older one may have left the window.
        self.exact.insert(exact, index);
        self.by_key.insert(key, index);
        self.entries.push(Entry {
            original,
            at,
            signature,
        });
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// How far back a repeat counts unless configured otherwise.
pub const DEFAULT_WINDOW: Duration = Duration::days(14);

impl Default for Deduper {
    fn default() -> Self {
        Self::new(DEFAULT_WINDOW, 0.7)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(day: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + Duration::days(20_000 + day)
    }

    const POST: &str = "Ищем дизайнера для лендинга кофейни, Figma, три экрана, бюджет 15 000 рублей, удалённо, пишите в личные сообщения";

    #[test]
    fn an_exact_cross_post_points_at_the_first_occurrence() {
        let mut dedup = Deduper::default();
        assert_eq!(dedup.check(MessageKey::new(1, 1), POST, at(0)), None);
        let duplicate = dedup
            .check(MessageKey::new(2, 7), &POST.to_uppercase(), at(1))
            .expect("duplicate");
        assert_eq!(duplicate.original, MessageKey::new(1, 1));
        assert_eq!(duplicate.similarity, 1.0);
    }

    #[test]
    fn a_lightly_edited_repost_is_a_near_duplicate() {
        let mut dedup = Deduper::default();
        dedup.check(MessageKey::new(1, 1), POST, at(0));
        let repost = format!("🔥 {POST} #вакансия #дизайн");
        let duplicate = dedup
            .check(MessageKey::new(3, 9), &repost, at(3))
            .expect("near duplicate");
        assert!(
            duplicate.similarity >= 0.7 && duplicate.similarity < 1.0,
            "{duplicate:?}"
        );
    }

    #[test]
    fn outside_the_window_a_repost_counts_as_new() {
        let mut dedup = Deduper::new(Duration::days(14), 0.7);
        dedup.check(MessageKey::new(1, 1), POST, at(0));
        assert_eq!(dedup.check(MessageKey::new(1, 2), POST, at(15)), None);
    }

    #[test]
    fn different_posts_and_short_texts_are_not_confused() {
        let mut dedup = Deduper::default();
        dedup.check(MessageKey::new(1, 1), POST, at(0));
        let other = "Нужен Python-разработчик для Telegram-бота интернет-магазина, оплата 40 000 рублей за проект, удалённо";
        assert_eq!(dedup.check(MessageKey::new(1, 2), other, at(0)), None);
        dedup.check(MessageKey::new(1, 3), "Ищем дизайнера", at(0));
        assert_eq!(
            dedup.check(MessageKey::new(1, 4), "Ищем монтажера", at(0)),
            None
        );
        assert_eq!(dedup.check(MessageKey::new(1, 5), "", at(0)), None);
    }

    #[test]
    fn seeing_the_same_message_again_is_not_a_duplicate_of_itself() {
        let mut dedup = Deduper::default();
        dedup.check(MessageKey::new(1, 1), POST, at(0));
        assert_eq!(dedup.check(MessageKey::new(1, 1), POST, at(0)), None);
        assert_eq!(dedup.len(), 1);
    }

    #[test]
    fn a_chain_of_daily_reposts_points_at_the_first_post() {
        let mut dedup = Deduper::new(Duration::days(14), 0.7);
        dedup.check(MessageKey::new(1, 1), POST, at(0));
        for day in 1..30 {
            let duplicate = dedup
                .check(MessageKey::new(1, 1 + day), POST, at(day))
                .expect("repost");
            assert_eq!(duplicate.original, MessageKey::new(1, 1));
        }
    }
}
