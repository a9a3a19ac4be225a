//! Contacts mentioned in a post: @usernames, e-mail addresses and phone numbers, so a delivered
//! vacancy can show how to answer it.

use std::sync::LazyLock;

use regex::Regex;

static CONTACT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?P<email>[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,})",
        r"|(?P<username>(?:^|[^\w@])@[A-Za-z][A-Za-z0-9_]{3,31})",
        r"|(?P<phone>\+?[78][\s(-]*\d{3}[\s)-]*\d{3}[\s-]*\d{2}[\s-]*\d{2})",
    ))
    .expect("the contact pattern is valid")
});

/// Contacts in order of appearance, without repeats.
pub fn find(text: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for captures in CONTACT.captures_iter(text) {
        let contact = if let Some(m) = captures.name("email") {
            m.as_str().to_owned()
        } else if let Some(m) = captures.name("username") {
            let s = m.as_str();
            s[s.find('@').unwrap_or(0)..].to_owned()
        } else if let Some(m) = captures.name("phone") {
            m.as_str()
                .chars()
                .filter(|c| c.is_ascii_digit() || *c == '+')
                .collect()
        } else {
            continue;
        };
        if !found.contains(&contact) {
            found.push(contact);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::find;

    #[test]
    fn usernames_emails_and_phones_are_found() {
        let text =
            "Пишите @studio_lena или hr@example.ru, тел. +7 (912) 345-67-89. Ещё раз @studio_lena";
        assert_eq!(
            find(text),
            vec!["@studio_lena", "hr@example.ru", "+79123456789"]
        );
        assert!(find("цена 15 000, 2024 год").is_empty());
    }
}
