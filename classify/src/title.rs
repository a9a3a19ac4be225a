//! A card's title: the post's real subject in a few words. The first sentence with words of
//! the first line that has any, once hashtags, mentions, links and a greeting («Всем привет!»)
//! are taken off; a post with no such line is named by the role it asks for, and failing that
//! by its category.

use std::sync::LazyLock;

use regex::Regex;

/// What is never part of a title: links (whole or cut), hashtags, mentions.
static NOISE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(https?://\S*|www\.\S*|t\.me/\S*|(^|\s)[#@]\S+|\S+\.(ru|com|рф|io|me|org|net)/\S*)",
    )
    .expect("noise regex is valid")
});

/// A greeting opening a line, with whom it greets and its punctuation.
static GREETING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)^((друзья|коллеги|ребята|народ)[\s,]+)?(всем\s+|и\s+снова\s+)?
          (привет\w*|здравствуй\w*|приветствую\w*|добр\w+\s+(день|вечер|утро|ночи|времени\s+суток)
           |доброго\s+(дня|вечера|утра|времени\s+суток)|hello|hi|хай|салют)
          ([\s,]+(всем|всех|друзья|коллеги|ребята|народ|команда|фрилансеры|дорогие|уважаемые)\w*)*
          ([^\p{L}\p{N}]+|$)",
    )
    .expect("greeting regex is valid")
});

/// The roles posts ask for, as a fallback title.
static ROLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(дизайнер|разработчик|программист|копирайтер|рерайтер|монтаж[её]р|видеомонтаж[её]р|маркетолог|таргетолог|smm-специалист|smm-менеджер|ассистент|аналитик|тестировщик|верстальщик|иллюстратор|аниматор|моушн-дизайнер|редактор|продюсер|рекрутер|менеджер\s+по\s+продажам|сценарист|фотограф|переводчик)",
    )
    .expect("role regex is valid")
});

const MAX_CHARS: usize = 80;

/// The post's title, `None` when it has no line with words and asks for no role we know.
pub fn title(text: &str) -> Option<String> {
    text.lines()
        .find_map(subject)
        .or_else(|| role(text))
        .map(|title| shorten(&capitalized(&title)))
}

/// The title when the text gives none: the role, or else the category's name.
pub fn title_or_category(text: &str, category: Option<&str>) -> Option<String> {
    title(text).or_else(|| category.map(str::to_owned))
}

/// A line's first sentence without noise and greeting, if it has three letters. What is left
/// of a line around a link is a label («Source:», «Подробнее»), not a subject, unless it has
/// a few words; a word with no space and URL characters is the tail of a link wrapped in two.
fn subject(line: &str) -> Option<String> {
    let cleaned = NOISE.replace_all(line, " ");
    let had_noise = cleaned != line;
    let cleaned = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    let cleaned = cleaned.trim_start_matches(not_opening);
    let cleaned = GREETING.replace(cleaned, "");
    let cleaned = cleaned.trim_start_matches(not_opening);
    let sentence = first_sentence(cleaned).trim_end_matches([':', ',', ';', '-', '—', '–', ' ']);
    let words = sentence.split_whitespace().count();
    let link_tail = words == 1 && sentence.contains(['%', '=', '&', '/', '?']);
    let label = had_noise && words < 2;
    (sentence.chars().filter(|c| c.is_alphabetic()).count() >= 3 && !link_tail && !label)
        .then(|| sentence.to_owned())
}

/// What a title does not start with: emoji, bullets, punctuation, but not an opening quote or
/// bracket that a later one closes.
fn not_opening(c: char) -> bool {
    !c.is_alphanumeric() && !matches!(c, '«' | '"' | '“' | '(' | '[')
}

fn role(text: &str) -> Option<String> {
    ROLE.find(text).map(|found| found.as_str().to_lowercase())
}

/// Up to the first `.`, `!` or `?` followed by a space ("15.000" and "т.д." stay whole).
fn first_sentence(line: &str) -> &str {
    let mut previous = None;
    for (i, c) in line.char_indices() {
        if c.is_whitespace()
            && matches!(previous, Some('.' | '!' | '?'))
            && line[..i].chars().filter(|c| c.is_alphabetic()).count() >= 3
        {
            return line[..i].trim_end_matches(['.', ' ']);
        }
        previous = Some(c);
    }
    line.trim_end()
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn shorten(line: &str) -> String {
    if line.chars().count() > MAX_CHARS {
        let cut: String = line.chars().take(MAX_CHARS - 1).collect();
        format!("{}…", cut.trim_end())
    } else {
        line.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_subject_without_emoji_hashtags_links_or_greetings() {
        let table = [
            (
                "🔥 #вакансия #дизайн\nДизайнер лендинга в студию\nОплата 20к",
                "Дизайнер лендинга в студию",
            ),
            (
                "#вакансия Ищем дизайнера для лендинга. Figma, бюджет 15.000 ₽. Пишите",
                "Ищем дизайнера для лендинга",
            ),
            (
                "Привет!\nНужен монтажёр на Reels",
                "Нужен монтажёр на Reels",
            ),
            (
                "Всем привет! Ищу копирайтера в блог. Оплата за статью",
                "Ищу копирайтера в блог",
            ),
            ("Добрый день, коллеги! нужен таргетолог", "Нужен таргетолог"),
            (
                "https://t.me/+AbCdEf\nСрочно нужен верстальщик",
                "Срочно нужен верстальщик",
            ),
            (
                "Ищем тестировщика https://example.com/jobs/12",
                "Ищем тестировщика",
            ),
            (
                "Приветствую всех! Нужен C# разработчик",
                "Нужен C# разработчик",
            ),
            (
                "Хайповый проект ищет моушн-дизайнера",
                "Хайповый проект ищет моушн-дизайнера",
            ),
            (
                "Друзья, привет 🐰 !\nНужна иллюстрация",
                "Нужна иллюстрация",
            ),
            ("Привет👋\nИщем редактора", "Ищем редактора"),
            (
                "Junior .NET Developer в Aviasales: https://www.aviasales.ru/about/vacancies/1",
                "Junior .NET Developer в Aviasales",
            ),
            (
                "«Черноголовка» приглашает бренд-менеджера: https://adndx.ru/IwaAF",
                "«Черноголовка» приглашает бренд-менеджера",
            ),
            (
                "Source : https://tinyurl.com/yc4x\nSenior аналитик данных",
                "Senior аналитик данных",
            ),
            ("@hr_anna ищет SMM-менеджера", "Ищет SMM-менеджера"),
            // Nothing but a greeting and a tag: the role it asks for.
            ("Здравствуйте!\n#дизайнер", "Дизайнер"),
        ];
        for (text, expected) in table {
            assert_eq!(title(text).as_deref(), Some(expected), "{text:?}");
        }
        let long = "Ищем ".to_owned() + &"очень ".repeat(30);
        assert!(title(&long).is_some_and(|t| t.chars().count() == 80 && t.ends_with('…')));
    }

    #[test]
    fn a_post_with_no_subject_or_role_is_named_by_its_category() {
        assert_eq!(title("Привет!\n#job https://t.me/x"), None);
        assert_eq!(
            title_or_category("Привет!\n#job https://t.me/x", Some("Дизайн")).as_deref(),
            Some("Дизайн")
        );
        assert_eq!(title_or_category("", None), None);
        assert_eq!(title("😀😀😀"), None);
    }

    /// Over the real pool: no title is a greeting or holds a link, a hashtag or a mention.
    #[test]
    fn no_title_of_the_real_pool_is_a_greeting_or_holds_a_link() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/corpus/pool.jsonl"
        );
        let Ok(pool) = std::fs::read_to_string(path) else {
            panic!("the corpus is missing at {path}");
        };
        let mut titled = 0;
        for line in pool.lines() {
            let post: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
            let Some(text) = post["text"].as_str() else {
                continue;
            };
            let Some(title) = title(text) else {
                continue;
            };
            titled += 1;
            assert!(!GREETING.is_match(&title), "{title:?} from {text:?}");
            assert!(!NOISE.is_match(&title), "{title:?} from {text:?}");
        }
        assert!(titled > 10_000, "only {titled} titles");
    }
}
