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
    /// The original post, for the «Открыть пост» button above the others.
    pub link: Option<String>,
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
    /// «Отменить» right after a hide: the post's author is shown again.
    UndoHide(MessageKey),
    /// The answer to "this is the channel's own post: hide the channel?".
    HideChannel(MessageKey),
}

impl CardAction {
    pub fn callback_data(&self) -> String {
        match self {
            CardAction::Report(key) => format!("r:{}", key.id()),
            CardAction::ReportAs(key, ReportReason::NotVacancy) => format!("rn:{}", key.id()),
            CardAction::ReportAs(key, ReportReason::WrongCategory) => format!("rw:{}", key.id()),
            CardAction::CancelReport(key) => format!("rx:{}", key.id()),
            CardAction::HideAuthor(key) => format!("h:{}", key.id()),
            CardAction::UndoHide(key) => format!("hu:{}", key.id()),
            CardAction::HideChannel(key) => format!("hc:{}", key.id()),
        }
    }

    pub fn key(&self) -> MessageKey {
        match self {
            CardAction::Report(key)
            | CardAction::ReportAs(key, _)
            | CardAction::CancelReport(key)
            | CardAction::HideAuthor(key)
            | CardAction::UndoHide(key)
            | CardAction::HideChannel(key) => *key,
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
            "hu" => Some(CardAction::UndoHide(key)),
            "hc" => Some(CardAction::HideChannel(key)),
            _ => None,
        }
    }
}

/// The buttons under a card: «Открыть пост» (a link to the original) above its actions.
pub fn keyboard(buttons: &[Button], link: Option<&str>) -> teloxide::types::InlineKeyboardMarkup {
    use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};
    let open = link
        .and_then(|link| url::Url::parse(link).ok())
        .map(|url| vec![InlineKeyboardButton::url("🔗 Открыть пост", url)]);
    let actions = buttons.iter().map(|b| {
        vec![InlineKeyboardButton::callback(
            b.label.clone(),
            b.callback_data.clone(),
        )]
    });
    InlineKeyboardMarkup::new(open.into_iter().chain(actions))
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

/// Letters and digits only, lower-cased: how a title and a line are compared.
fn comparable(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The card's title and the body under it, so the title is never read twice. A title that is
/// the post's first line takes that line out of the body. A title that is only the start of
/// the first line (cut by the extraction) gives way to the whole line when it is short enough
/// to be a title, else to the line's first sentence, else to the first line's words up to the
/// title's end; the body goes on after it. A title the text does not start with, or whose
/// first line holds a link, stays above the whole text.
pub fn title_and_body<'a>(title: Option<&'a str>, text: &'a str) -> (Option<&'a str>, &'a str) {
    /// Longest first line or sentence that may stand as the title (in characters).
    const TITLE_LINE: usize = 120;
    let Some(title) = title.map(str::trim).filter(|t| !t.is_empty()) else {
        return (None, text);
    };
    let text = text.trim_start();
    let (first, rest) = text.split_once('\n').unwrap_or((text, ""));
    let title_seen = comparable(title);
    let Some(title_end) = matched_prefix(first, &title_seen) else {
        return (Some(title), text);
    };
    let rest = rest.trim_start_matches(['\n', '\r']);
    // A first line with a link keeps the extracted title, which never holds one.
    if ["http://", "https://", "t.me/", "www."]
        .iter()
        .any(|link| first.contains(link))
    {
        return (Some(title), text);
    }
    if first.chars().count() <= TITLE_LINE {
        return (Some(first.trim()), rest);
    }
    let sentence_end = first
        .char_indices()
        .find(|(i, c)| *i >= title_end && matches!(c, '.' | '!' | '?'))
        .map(|(i, c)| i + c.len_utf8());
    let end = match sentence_end {
        Some(end) if first[..end].chars().count() <= TITLE_LINE => end,
        _ => title_end,
    };
    (Some(first[..end].trim()), text[end..].trim_start())
}

/// Where in `line` the letters and digits of `wanted` (already [`comparable`]) end, when the
/// line starts with them.
fn matched_prefix(line: &str, wanted: &str) -> Option<usize> {
    if wanted.is_empty() {
        return None;
    }
    let mut wanted = wanted.chars().peekable();
    for (i, c) in line.char_indices() {
        if !c.is_alphanumeric() {
            continue;
        }
        for lower in c.to_lowercase() {
            if wanted.next() != Some(lower) {
                return None;
            }
        }
        if wanted.peek().is_none() {
            // A title cut inside a word ends with that word.
            let after = i + c.len_utf8();
            let word_end = line[after..]
                .find(|c: char| !c.is_alphanumeric())
                .map_or(line.len(), |n| after + n);
            return Some(word_end);
        }
    }
    None
}

/// `text` cut to at most `room` UTF-16 units at a word's end (so never inside a word or a
/// link), unless the last space is far back: then at the last character that fits.
fn cut_at_word(text: &str, room: usize) -> &str {
    let mut used = 0;
    let mut end = 0;
    for (i, c) in text.char_indices() {
        used += c.len_utf16();
        if used > room {
            break;
        }
        end = i + c.len_utf8();
    }
    let cut = &text[..end];
    match cut.rfind(char::is_whitespace) {
        Some(space) if space * 4 >= cut.len() * 3 => cut[..space].trim_end(),
        _ => cut,
    }
}

pub fn render(message: &MessageReceived, classified: &MessageClassified) -> Card {
    let (title, text) = title_and_body(classified.title.as_deref(), &message.text);
    let mut head = String::new();
    if let Some(title) = title {
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
    let body = if utf16_len(text) <= budget {
        escape(text)
    } else {
        let room = budget.saturating_sub(visible(&more));
        format!("{}{more}", escape(cut_at_word(text, room).trim_end()))
    };
    Card {
        html: format!("{head}{body}{tail}"),
        buttons: card_buttons(message.key),
        link: message.link.clone(),
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
