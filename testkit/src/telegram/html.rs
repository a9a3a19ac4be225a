//! Telegram's HTML parse mode as the Bot API enforces it: only its tags, balanced, `a` with an
//! `href`, and only `&lt; &gt; &amp; &quot;` and numeric entities. Returns the plain text
//! (what the 4096-character limit counts) or Telegram's error description.

const TAGS: &[&str] = &[
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "a",
    "code",
    "pre",
    "tg-spoiler",
    "span",
    "blockquote",
    "tg-emoji",
];

pub fn plain_text(html: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut open: Vec<String> = Vec::new();
    let mut rest = html;
    let mut offset = 0;
    while let Some(c) = rest.chars().next() {
        match c {
            '<' => {
                let end = rest.find('>').ok_or_else(|| {
                    format!("can't parse entities: Unclosed start tag at byte offset {offset}")
                })?;
                let inside = &rest[1..end];
                if let Some(name) = inside.strip_prefix('/') {
                    let name = name.trim().to_lowercase();
                    match open.pop() {
                        Some(expected) if expected == name => {}
                        _ => {
                            return Err(format!(
                                "can't parse entities: Unmatched end tag at byte offset {offset}, expected \"</{}>\", found \"</{name}>\"",
                                open.last().cloned().unwrap_or_default()
                            ));
                        }
                    }
                } else {
                    let name: String = inside
                        .split(|c: char| c.is_whitespace())
                        .next()
                        .unwrap_or_default()
                        .to_lowercase();
                    if !TAGS.contains(&name.as_str()) {
                        return Err(format!(
                            "can't parse entities: Unsupported start tag \"{name}\" at byte offset {offset}"
                        ));
                    }
                    if name == "a" && !inside.contains("href=") {
                        return Err(format!(
                            "can't parse entities: Can't find end of a tag at byte offset {offset}"
                        ));
                    }
                    if name == "span" && !inside.contains("tg-spoiler") {
                        return Err(format!(
                            "can't parse entities: Tag \"span\" must have class \"tg-spoiler\" at byte offset {offset}"
                        ));
                    }
                    open.push(name);
                }
                offset += end + 1;
                rest = &rest[end + 1..];
            }
            '&' => {
                let end = rest.find(';').filter(|&e| e <= 10);
                let decoded = end.and_then(|e| entity(&rest[1..e]));
                match (end, decoded) {
                    (Some(e), Some(ch)) => {
                        out.push(ch);
                        offset += e + 1;
                        rest = &rest[e + 1..];
                    }
                    _ => {
                        return Err(format!(
                            "can't parse entities: Character entity expected at byte offset {offset}"
                        ));
                    }
                }
            }
            '>' => {
                // Telegram tolerates a bare '>' in text.
                out.push(c);
                offset += 1;
                rest = &rest[1..];
            }
            c => {
                out.push(c);
                offset += c.len_utf8();
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    if let Some(tag) = open.last() {
        return Err(format!(
            "can't parse entities: Can't find end tag corresponding to start tag \"{tag}\""
        ));
    }
    Ok(out)
}

fn entity(name: &str) -> Option<char> {
    match name {
        "lt" => Some('<'),
        "gt" => Some('>'),
        "amp" => Some('&'),
        "quot" => Some('"'),
        _ => {
            let number = name.strip_prefix('#')?;
            let code = match number.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => number.parse().ok()?,
            };
            char::from_u32(code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn telegram_html_rules() {
        assert_eq!(
            plain_text("<b>Дизайн</b> &lt;3 &amp; <a href=\"https://t.me/x/1\">пост</a> &#128293;")
                .unwrap(),
            "Дизайн <3 & пост 🔥"
        );
        for bad in [
            "<div>x</div>",
            "a & b",
            "<b>open",
            "<b>x</i>",
            "&nbsp;",
            "<span>x</span>",
            "<a>x</a>",
            "x < y",
        ] {
            assert!(plain_text(bad).is_err(), "{bad}");
        }
    }
}
