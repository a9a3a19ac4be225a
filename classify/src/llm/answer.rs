//! Reads what real models answer to the prompt: `2, 5`, `2) Дизайн`, names without numbers,
//! `Нет.`, extra prose around either. An answer that names nothing we know is junk: a
//! retryable failure, never a guess.

use super::prompt::PromptCategory;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Not a vacancy.
    No,
    /// A vacancy in these categories (slugs), most likely first.
    Categories(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the model's answer names no category and is not «нет»: {0:?}")]
pub struct Junk(pub String);

const NEGATIVES: [&str; 4] = ["нет", "no", "не вакансия", "не является вакансией"];

pub fn parse(answer: &str, categories: &[PromptCategory]) -> Result<Answer, Junk> {
    let normal = normalise(answer);
    let first_word = normal
        .split(|c: char| !c.is_alphanumeric())
        .find(|w| !w.is_empty())
        .unwrap_or_default();
    if first_word == "нет" || first_word == "no" {
        return Ok(Answer::No);
    }
    let mut found: Vec<(usize, usize)> = Vec::new(); // (position in answer, category index)
    for (position, number) in numbers(&normal) {
        if (1..=categories.len()).contains(&number) {
            found.push((position, number - 1));
        }
    }
    for (index, category) in categories.iter().enumerate() {
        for needle in [normalise(&category.name), category.slug.clone()] {
            if let Some(position) = find_word(&normal, &needle) {
                found.push((position, index));
            }
        }
    }
    found.sort();
    let mut slugs: Vec<String> = Vec::new();
    for (_, index) in found {
        let slug = &categories[index].slug;
        if !slugs.contains(slug) {
            slugs.push(slug.clone());
        }
    }
    if !slugs.is_empty() {
        return Ok(Answer::Categories(slugs));
    }
    if NEGATIVES.iter().any(|n| find_word(&normal, n).is_some()) {
        return Ok(Answer::No);
    }
    Err(Junk(answer.chars().take(200).collect()))
}

fn normalise(text: &str) -> String {
    text.to_lowercase().replace('ё', "е")
}

/// Standalone numbers with their byte positions (`2)`, `2,`, `2.` count; `15 000` and `3d`
/// parts do not, as they are glued to other digits or letters).
fn numbers(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices().chain([(text.len(), ' ')]) {
        match (c.is_ascii_digit(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                start = None;
                let glued_before = s > 0
                    && text[..s]
                        .chars()
                        .next_back()
                        .is_some_and(char::is_alphanumeric);
                let glued_after = c.is_alphanumeric();
                // "15 000": a digit group right after a space-separated number is one amount.
                let grouped = i + 1 < bytes.len() && c == ' ' && bytes[i + 1].is_ascii_digit();
                if !glued_before
                    && !glued_after
                    && !grouped
                    && i - s <= 2
                    && let Ok(n) = text[s..i].parse()
                {
                    found.push((s, n));
                }
            }
            _ => {}
        }
    }
    found
}

/// Where `needle` occurs as whole words in `text`.
fn find_word(text: &str, needle: &str) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    text.match_indices(needle).map(|(i, _)| i).find(|&i| {
        let before = text[..i].chars().next_back();
        let after = text[i + needle.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Vec<PromptCategory> {
        [
            ("development", "Разработка"),
            ("design", "Дизайн"),
            ("texts", "Тексты и переводы"),
            ("smm", "SMM и контент"),
            ("marketing", "Маркетинг и реклама"),
            ("video", "Видео и монтаж"),
            ("animation", "3D и анимация"),
        ]
        .into_iter()
        .map(|(slug, name)| PromptCategory {
            slug: slug.into(),
            name: name.into(),
        })
        .collect()
    }

    fn cats(slugs: &[&str]) -> Result<Answer, Junk> {
        Ok(Answer::Categories(
            slugs.iter().map(|s| s.to_string()).collect(),
        ))
    }

    #[test]
    fn real_world_answer_shapes() {
        let table: Vec<(&str, Result<Answer, Junk>)> = vec![
            ("2, 5", cats(&["design", "marketing"])),
            ("2) Дизайн", cats(&["design"])),
            (
                "2) Дизайн, 5) Маркетинг и реклама",
                cats(&["design", "marketing"]),
            ),
            (
                "5. Маркетинг и реклама\n2. Дизайн",
                cats(&["marketing", "design"]),
            ),
            ("Дизайн", cats(&["design"])),
            ("дизайн, разработка", cats(&["design", "development"])),
            ("Видео и монтаж", cats(&["video"])),
            ("7) 3D и анимация", cats(&["animation"])),
            ("Категории: 1", cats(&["development"])),
            (
                "Это вакансия. Подходящие категории: 2) Дизайн.",
                cats(&["design"]),
            ),
            ("Нет.", Ok(Answer::No)),
            ("нет", Ok(Answer::No)),
            ("НЕТ", Ok(Answer::No)),
            ("No", Ok(Answer::No)),
            ("Нет, это резюме дизайнера.", Ok(Answer::No)),
            ("Это не вакансия, а реклама курсов.", Ok(Answer::No)),
            ("«Нет»", Ok(Answer::No)),
        ];
        for (answer, expected) in table {
            assert_eq!(parse(answer, &catalog()), expected, "{answer:?}");
        }
    }

    #[test]
    fn junk_is_an_error_never_a_guess() {
        for answer in [
            "",
            "   ",
            "42",
            "Не могу определить.",
            "15 000",
            "I'm sorry, I can't help",
        ] {
            assert!(parse(answer, &catalog()).is_err(), "{answer:?}");
        }
    }
}
