//! The delivered vacancy card: title, budget and remote tags, the post's text (HTML-escaped,
//! shortened to fit Telegram's 4096 characters with a link to the original), the source channel
//! with a link to the post, the author's contact, and the two buttons. Built so that Telegram
//! can never answer "can't parse entities": every piece of outside text is escaped here.

use schemas::{Budget, MessageClassified, MessageKey, MessageReceived, PayPeriod, ReportReason};

/// Telegram's limit, counted in UTF-16 code units after entity parsing.
pub const MAX_TEXT: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Button {
    pub label: String,
    pub callback_data: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Card {
    /// HTML parse mode.
    pub html: String,
    pub buttons: Vec<Button>,
}

/// What a button under a card asks for; its callback data is at most 64 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardAction {
    /// "Не вакансия / не та категория": asks which.
    Report(MessageKey),
    /// The answer to that question.
    ReportAs(MessageKey, ReportReason),
    /// Changed their mind: the card's buttons come back.
    CancelReport(MessageKey),
    HideAuthor(MessageKey),
}

impl CardAction {
    pub fn callback_data(&self) -> String {
        match self {
            CardAction::Report(key) => format!("r:{}", key.id()),
            CardAction::ReportAs(key, ReportReason::NotVacancy) => format!("rn:{}", key.id()),
            CardAction::ReportAs(key, ReportReason::WrongCategory) => format!("rw:{}", key.id()),
            CardAction::CancelReport(key) => format!("rx:{}", key.id()),
            CardAction::HideAuthor(key) => format!("h:{}", key.id()),
        }
    }

    pub fn key(&self) -> MessageKey {
        match self {
            CardAction::Report(key)
            | CardAction::ReportAs(key, _)
            | CardAction::CancelReport(key)
            | CardAction::HideAuthor(key) => *key,
        }
    }

    /// Reads callback data back; anything else (forged, stale, over-long) is `None`.
    pub fn parse(data: &str) -> Option<Self> {
        if data.len() > 64 {
            return None;
        }
        let (action, key) = data.split_once(':')?;
        let (chat, message) = key.split_once(':')?;
        let key = MessageKey::new(chat.parse().ok()?, message.parse().ok()?);
        match action {
            "r" => Some(CardAction::Report(key)),
            "rn" => Some(CardAction::ReportAs(key, ReportReason::NotVacancy)),
            "rw" => Some(CardAction::ReportAs(key, ReportReason::WrongCategory)),
            "rx" => Some(CardAction::CancelReport(key)),
            "h" => Some(CardAction::HideAuthor(key)),
            _ => None,
        }
    }
}

/// Escapes text for Telegram's HTML parse mode (also safe inside a quoted attribute).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

fn utf16_len(text: &str) -> usize {
    text.encode_utf16().count()
}

fn budget_tag(budget: &Budget) -> String {
    let digits = budget.amount.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push('\u{a0}');
        }
        grouped.push(c);
    }
    let currency = match budget.currency.as_str() {
        "RUB" => "₽",
        "USD" => "$",
        "EUR" => "€",
        other => other,
    };
    let period = match budget.period {
        PayPeriod::Once => "",
        PayPeriod::Hour => " в час",
        PayPeriod::Day => " в день",
        PayPeriod::Month => " в месяц",
    };
    format!("💰 {grouped} {}{period}", escape(currency))
}

pub fn render(message: &MessageReceived, classified: &MessageClassified) -> Card {
    let mut head = String::new();
    if let Some(title) = classified.title.as_deref().filter(|t| !t.trim().is_empty()) {
        head.push_str(&format!("<b>{}</b>\n", escape(title)));
    }
    let mut tags = Vec::new();
    if let Some(budget) = &classified.budget {
        tags.push(budget_tag(budget));
    }
    match classified.remote {
        Some(true) => tags.push("🏠 Удалённо".to_owned()),
        Some(false) => tags.push("🏢 В офисе".to_owned()),
        None => {}
    }
    if !tags.is_empty() {
        head.push_str(&tags.join(" · "));
        head.push('\n');
    }
    head.push('\n');

    let mut tail = String::from("\n\n");
    let channel = message
        .chat_title
        .clone()
        .or_else(|| message.chat_username.as_ref().map(|u| format!("@{u}")))
        .unwrap_or_else(|| "канал".to_owned());
    match &message.link {
        Some(link) => tail.push_str(&format!(
            "📍 <a href=\"{}\">{}</a>",
            escape(link),
            escape(&channel)
        )),
        None => tail.push_str(&format!("📍 {}", escape(&channel))),
    }
    let contacts: Vec<&String> = classified
        .contacts
        .iter()
        .chain(&message.contacts)
        .collect();
    let mut seen = Vec::new();
    for contact in contacts {
        if !seen.contains(&contact) {
            seen.push(contact);
        }
    }
    if !seen.is_empty() {
        let list: Vec<String> = seen.iter().take(3).map(|c| escape(c)).collect();
        tail.push_str(&format!("\n✉️ {}", list.join(", ")));
    }

    // What the head and tail take of the limit, counted as Telegram counts (after parsing).
    let visible = |html: &str| utf16_len(&unescape_for_count(html));
    let more = match &message.link {
        Some(link) => format!("… <a href=\"{}\">читать полностью</a>", escape(link)),
        None => "…".to_owned(),
    };
    let budget = MAX_TEXT.saturating_sub(visible(&head) + visible(&tail));
    let body = if utf16_len(&message.text) <= budget {
        escape(&message.text)
    } else {
        let room = budget.saturating_sub(visible(&more));
        let mut cut = String::new();
        let mut used = 0;
        for c in message.text.chars() {
            used += c.len_utf16();
            if used > room {
                break;
            }
            cut.push(c);
        }
        format!("{}{more}", escape(cut.trim_end()))
    };
    Card {
        html: format!("{head}{body}{tail}"),
        buttons: card_buttons(message.key),
    }
}

/// The buttons under a delivered card.
pub fn card_buttons(key: MessageKey) -> Vec<Button> {
    vec![
        Button {
            label: "Не вакансия / не та категория".to_owned(),
            callback_data: CardAction::Report(key).callback_data(),
        },
        Button {
            label: "Скрыть автора".to_owned(),
            callback_data: CardAction::HideAuthor(key).callback_data(),
        },
    ]
}

/// The buttons while the user says what is wrong with the post.
pub fn report_buttons(key: MessageKey) -> Vec<Button> {
    let button = |label: &str, action: CardAction| Button {
        label: label.to_owned(),
        callback_data: action.callback_data(),
    };
    vec![
        button(
            "Это не вакансия",
            CardAction::ReportAs(key, ReportReason::NotVacancy),
        ),
        button(
            "Не та категория",
            CardAction::ReportAs(key, ReportReason::WrongCategory),
        ),
        button("Отмена", CardAction::CancelReport(key)),
    ]
}

/// The text Telegram would show for our own HTML (tags dropped, our four entities decoded).
fn unescape_for_count(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match (c, in_tag) {
            ('<', _) => in_tag = true,
            ('>', true) => in_tag = false,
            (_, true) => {}
            (c, false) => out.push(c),
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}
