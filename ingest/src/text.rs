//! Text normalisation shared by rules and dedup: case- and ё/е-insensitive, invisible characters
//! removed, split into word tokens (a `#` right before a word marks a hashtag).

/// Lower-cases, folds ё to е and drops zero-width and direction marks.
pub fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}'
            | '\u{feff}' => {}
            'ё' | 'Ё' => out.push('е'),
            // Fast paths for the scripts of our posts: the general Unicode tables are slow.
            c if c.is_ascii() => out.push(c.to_ascii_lowercase()),
            'А'..='Я' => out.push(char::from_u32(c as u32 + 0x20).unwrap_or(c)),
            'а'..='я' => out.push(c),
            c => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// FNV-1a for short in-process keys (words): several times faster than the default SipHash,
/// and no untrusted party chooses our keys' hash seeds here.
#[derive(Default, Clone, Copy)]
pub struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

pub type FastHash = std::hash::BuildHasherDefault<Fnv>;

/// A word of normalised text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token<'a> {
    pub word: &'a str,
    /// Written as `#word`.
    pub hashtag: bool,
}

fn is_word_char(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric() || c == '_';
    }
    // Cyrillic letters without the slow general lookup.
    matches!(c, 'а'..='я' | 'А'..='Я' | 'ё' | 'Ё') || c.is_alphanumeric()
}

/// Splits normalised text into words on every non-word character.
pub fn tokens(normalised: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    let mut previous = ' ';
    let mut hashtag = false;
    for (i, c) in normalised.char_indices() {
        if is_word_char(c) {
            if start.is_none() {
                start = Some(i);
                hashtag = previous == '#';
            }
        } else if let Some(s) = start.take() {
            out.push(Token {
                word: &normalised[s..i],
                hashtag,
            });
        }
        previous = c;
    }
    if let Some(s) = start {
        out.push(Token {
            word: &normalised[s..],
            hashtag,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_yo_and_invisible_characters_do_not_matter() {
        assert_eq!(
            normalise("Ищём\u{200b} ДИЗАЙНЕРА\u{202e}"),
            "ищем дизайнера"
        );
    }

    #[test]
    fn hashtags_are_marked_and_punctuation_splits_words() {
        let text = normalise("#Вакансия: Python-разработчик (удалённо)!");
        let words: Vec<(&str, bool)> = tokens(&text).iter().map(|t| (t.word, t.hashtag)).collect();
        assert_eq!(
            words,
            vec![
                ("вакансия", true),
                ("python", false),
                ("разработчик", false),
                ("удаленно", false)
            ]
        );
    }
}
