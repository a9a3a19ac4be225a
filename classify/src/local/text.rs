//! Text normalisation for the local model: case- and ё/е-insensitive, invisible characters
//! removed, and Latin look-alike letters inside Cyrillic words folded back to Cyrillic, because
//! spammers write "зaрaбoтoк" with Latin vowels to dodge keyword filters. How many words needed
//! folding is itself a strong spam signal, so it is counted.

/// Normalised text and what normalisation noticed on the way.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Normalised {
    pub text: String,
    /// Words that mixed Cyrillic and Latin letters before folding.
    pub mixed_script_words: u32,
}

/// A word of normalised text, as byte offsets into [`Normalised::text`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Word<'a> {
    pub text: &'a str,
    /// Written as `#word`.
    pub hashtag: bool,
    /// On the post's first non-empty line, which is usually the job title.
    pub title: bool,
}

pub fn is_word_char(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric() || c == '_';
    }
    matches!(c, 'а'..='я' | 'А'..='Я' | 'ё' | 'Ё') || c.is_alphanumeric()
}

fn is_cyrillic(c: char) -> bool {
    matches!(c, 'а'..='я')
}

/// The Cyrillic letter a Latin one imitates, for the letters spammers actually swap.
fn cyrillic_lookalike(c: char) -> Option<char> {
    Some(match c {
        'a' => 'а',
        'b' => 'в',
        'c' => 'с',
        'e' => 'е',
        'h' => 'н',
        'k' => 'к',
        'm' => 'м',
        'o' => 'о',
        'p' => 'р',
        't' => 'т',
        'u' => 'и',
        'x' => 'х',
        'y' => 'у',
        // Greek look-alikes appear too ("рαботы", "человеκα").
        'α' => 'а',
        'ε' => 'е',
        'κ' => 'к',
        'μ' => 'м',
        'ο' => 'о',
        'ρ' => 'р',
        'τ' => 'т',
        'υ' => 'у',
        'χ' => 'х',
        _ => return None,
    })
}

fn lower(c: char, out: &mut String) {
    match c {
        'ё' | 'Ё' => out.push('е'),
        // Fast paths for the scripts of our posts: the general Unicode tables are slow.
        c if c.is_ascii() => out.push(c.to_ascii_lowercase()),
        'А'..='Я' => out.push(char::from_u32(c as u32 + 0x20).unwrap_or(c)),
        c => out.extend(c.to_lowercase()),
    }
}

/// Appends a finished word, folding look-alikes when it mixes scripts; returns whether it did.
fn flush_word(word: &mut String, out: &mut String) -> bool {
    let has_cyrillic = word.chars().any(is_cyrillic);
    let has_latin = word
        .chars()
        .any(|c| c.is_ascii_lowercase() || ('α'..='ω').contains(&c));
    let mixed = has_cyrillic && has_latin;
    if mixed {
        out.extend(word.chars().map(|c| cyrillic_lookalike(c).unwrap_or(c)));
    } else {
        out.push_str(word);
    }
    word.clear();
    mixed
}

/// Lower-cases, folds ё to е, drops zero-width and direction marks, folds look-alikes.
pub fn normalise(text: &str) -> Normalised {
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let mut mixed_script_words = 0;
    for c in text.chars() {
        if matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}' | '\u{feff}')
        {
            continue;
        }
        if is_word_char(c) {
            lower(c, &mut word);
            continue;
        }
        mixed_script_words += u32::from(flush_word(&mut word, &mut out));
        lower(c, &mut out);
    }
    mixed_script_words += u32::from(flush_word(&mut word, &mut out));
    Normalised {
        text: out,
        mixed_script_words,
    }
}

/// What copies of one post share however they were reposted (channels add footers and blank
/// lines, drop emoji, insert invisible characters): the word characters of its opening.
pub fn repost_key(text: &str) -> String {
    normalise(text)
        .text
        .chars()
        .filter(|c| is_word_char(*c))
        .take(80)
        .collect()
}

/// Splits normalised text into words. A lone `+` counts as a word: "пиши + в лс" is the
/// signature of job-bait spam.
pub fn words<'a>(normalised: &'a str) -> Vec<Word<'a>> {
    let mut out = Vec::with_capacity(normalised.len() / 6);
    let mut start: Option<usize> = None;
    let mut previous = ' ';
    let mut hashtag = false;
    // The title is the first line with a word on it.
    let mut title = true;
    let mut seen_word = false;
    let push = |out: &mut Vec<Word<'a>>, s: usize, e: usize, hashtag: bool, title: bool| {
        out.push(Word {
            text: &normalised[s..e],
            hashtag,
            title,
        });
    };
    let mut chars = normalised.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if is_word_char(c) {
            if start.is_none() {
                start = Some(i);
                hashtag = previous == '#';
                seen_word = true;
            }
        } else {
            if let Some(s) = start.take() {
                push(&mut out, s, i, hashtag, title);
            }
            let next = chars.peek().map_or(' ', |&(_, n)| n);
            let lone = !is_word_char(previous) && !is_word_char(next);
            if c == '+' && lone && previous != '+' && next != '+' {
                push(&mut out, i, i + 1, false, title);
            }
            if c == '\n' && seen_word {
                title = false;
            }
        }
        previous = c;
    }
    if let Some(s) = start {
        push(&mut out, s, normalised.len(), hashtag, title);
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn given_latin_lookalikes_in_a_russian_word_when_normalised_then_folded_and_counted() {
        let n = normalise("Зaрaбoтoк БЕЗ вложений, Python и Ёлка, рαботα");
        assert_eq!(n.text, "заработок без вложений, python и елка, работа");
        assert_eq!(n.mixed_script_words, 2);
    }

    #[test]
    fn given_a_post_when_split_then_title_hashtags_and_lone_plus_are_marked() {
        let n = normalise("\n#Дизайнер в студию\nПиши «+» в лс, c++ не нужен");
        let w = words(&n.text);
        let texts: Vec<&str> = w.iter().map(|w| w.text).collect();
        assert_eq!(
            texts,
            [
                "дизайнер",
                "в",
                "студию",
                "пиши",
                "+",
                "в",
                "лс",
                "c",
                "не",
                "нужен"
            ]
        );
        assert!(w[0].hashtag && w[0].title && w[2].title);
        assert!(!w[3].title && !w[3].hashtag);
    }
}
