//! The category picker: an inline keyboard with a check mark per chosen category. Its callback
//! data is `c:<slug>`; anything else is refused.

use std::collections::BTreeSet;

use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};

/// A catalog category as the picker lists it: the read model's own row.
pub use projections::read::catalog::Category;

pub fn keyboard(categories: &[Category], chosen: &BTreeSet<String>) -> InlineKeyboardMarkup {
    let buttons: Vec<InlineKeyboardButton> = categories
        .iter()
        .map(|c| {
            let mark = if chosen.contains(&c.slug) { "✅ " } else { "" };
            InlineKeyboardButton::callback(format!("{mark}{}", c.name), toggle_data(&c.slug))
        })
        .collect();
    let mut rows: Vec<Vec<InlineKeyboardButton>> = buttons.chunks(2).map(<[_]>::to_vec).collect();
    rows.push(vec![InlineKeyboardButton::callback(
        "📋 Моя подписка",
        SUBSCRIPTION,
    )]);
    InlineKeyboardMarkup::new(rows)
}

/// Callback data of the "my subscription" button.
pub const SUBSCRIPTION: &str = "s";

/// Callback data that un-hides an author; `None` when the key would not fit Telegram's 64 bytes.
pub fn unhide_data(author: &str) -> Option<String> {
    let data = format!("u:{author}");
    (data.len() <= 64).then_some(data)
}

pub fn parse_unhide(data: &str) -> Option<&str> {
    data.strip_prefix("u:").filter(|a| !a.is_empty())
}

pub fn toggle_data(slug: &str) -> String {
    format!("c:{slug}")
}

/// The slug a toggle names, if the data is one of ours and the category exists.
pub fn parse_toggle<'a>(data: &'a str, categories: &[Category]) -> Option<&'a str> {
    let slug = data.strip_prefix("c:")?;
    categories.iter().any(|c| c.slug == slug).then_some(slug)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toggles_are_checked_and_forged_ones_refused() {
        let categories = vec![
            Category {
                slug: "design".into(),
                name: "Дизайн".into(),
            },
            Category {
                slug: "texts".into(),
                name: "Тексты".into(),
            },
        ];
        let chosen = BTreeSet::from(["texts".to_string()]);
        let keyboard = keyboard(&categories, &chosen);
        let labels: Vec<&str> = keyboard.inline_keyboard[0]
            .iter()
            .map(|b| b.text.as_str())
            .collect();
        assert_eq!(labels, ["Дизайн", "✅ Тексты"]);
        assert_eq!(keyboard.inline_keyboard[1][0].text, "📋 Моя подписка");
        assert_eq!(unhide_data("@boss").as_deref(), Some("u:@boss"));
        assert_eq!(unhide_data(&"x".repeat(63)), None);
        assert_eq!(parse_unhide("u:@boss"), Some("@boss"));
        assert_eq!(parse_unhide("u:"), None);
        assert_eq!(parse_toggle("c:design", &categories), Some("design"));
        for forged in ["c:retired", "x:design", "c:", "", "c:design:extra"] {
            assert_eq!(parse_toggle(forged, &categories), None, "{forged}");
        }
    }
}
