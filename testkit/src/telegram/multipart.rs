//! `multipart/form-data` bodies (RFC 7578) as the Bot API takes them, the way teloxide sends
//! every `sendPhoto`: each parameter is a text part (numbers as decimal text, `chat_id` maybe
//! `@username`, objects such as `reply_markup` as JSON text), and an upload is a part with a
//! `filename`, named by a random id that the parameter points at as `attach://<id>`. The text
//! parts become the request's parameters, the JSON ones parsed; the file parts are kept by name.

use std::collections::HashMap;

use serde_json::{Map, Value};

/// A request's parameters and the files uploaded with it, by part name.
#[derive(Debug, Default)]
pub struct Form {
    pub params: Value,
    pub files: HashMap<String, Vec<u8>>,
}

impl Form {
    pub fn new(params: Value) -> Self {
        Self {
            params,
            files: HashMap::new(),
        }
    }
}

/// Parameters the Bot API takes as JSON-serialized objects or arrays: in a form they arrive as
/// JSON text, in a JSON body as values, and the methods read them as values.
const JSON_PARAMS: &[&str] = &[
    "reply_markup",
    "reply_parameters",
    "caption_entities",
    "entities",
    "link_preview_options",
    "media",
    "prices",
    "commands",
];

pub fn is_multipart(content_type: &str) -> bool {
    content_type
        .trim_start()
        .to_ascii_lowercase()
        .starts_with("multipart/form-data")
}

/// The form in `body`, or what is wrong with it.
pub fn parse(content_type: &str, body: &[u8]) -> Result<Form, String> {
    let boundary = boundary(content_type).ok_or("multipart/form-data without a boundary")?;
    let delimiter = format!("--{boundary}").into_bytes();
    // The CRLF before a delimiter belongs to the delimiter, not to the part's content.
    let closing = [b"\r\n".as_slice(), delimiter.as_slice()].concat();
    let mut params = Map::new();
    let mut files = HashMap::new();
    // A preamble before the first delimiter is ignored (RFC 2046).
    let mut at = find(body, &delimiter, 0).ok_or("no multipart parts")? + delimiter.len();
    loop {
        if body[at..].starts_with(b"--") {
            return Ok(Form {
                params: Value::Object(params),
                files,
            });
        }
        // The rest of the delimiter line is transport padding.
        at = find(body, b"\r\n", at).ok_or("an unterminated multipart delimiter")? + 2;
        let (headers, content_start) = if body[at..].starts_with(b"\r\n") {
            (&body[at..at], at + 2)
        } else {
            let end = find(body, b"\r\n\r\n", at).ok_or("a multipart part without a body")?;
            (&body[at..end], end + 4)
        };
        let content_end =
            find(body, &closing, content_start).ok_or("a multipart part without its boundary")?;
        let headers = std::str::from_utf8(headers).map_err(|_| "non-UTF-8 part headers")?;
        let (name, file_name) = disposition(headers)?;
        let content = body[content_start..content_end].to_vec();
        match (file_name, String::from_utf8(content)) {
            (None, Ok(text)) => {
                let value = if JSON_PARAMS.contains(&name.as_str()) {
                    serde_json::from_str(&text).map_err(|_| json_error(&name))?
                } else {
                    Value::String(text)
                };
                params.insert(name, value);
            }
            (_, Ok(text)) => {
                files.insert(name, text.into_bytes());
            }
            (_, Err(binary)) => {
                files.insert(name, binary.into_bytes());
            }
        }
        at = content_end + closing.len();
    }
}

fn json_error(name: &str) -> String {
    match name {
        "reply_markup" => "can't parse reply keyboard markup JSON object".to_owned(),
        other => format!("can't parse {other} JSON object"),
    }
}

/// The `boundary` parameter of a `multipart/form-data` content type, quoted or not.
fn boundary(content_type: &str) -> Option<String> {
    let (_, parameters) = content_type.split_once(';')?;
    parameter_pairs(parameters)
        .into_iter()
        .find(|(key, _)| key.eq_ignore_ascii_case("boundary"))
        .map(|(_, value)| value)
        .filter(|value| !value.is_empty())
}

/// The part's `name` and `filename`, from its `Content-Disposition: form-data; …` header.
fn disposition(headers: &str) -> Result<(String, Option<String>), String> {
    let value = headers
        .split("\r\n")
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("content-disposition")
                .then_some(value)
        })
        .ok_or("a multipart part without Content-Disposition")?;
    let (_, parameters) = value.split_once(';').unwrap_or((value, ""));
    let (mut name, mut file_name) = (None, None);
    for (key, value) in parameter_pairs(parameters) {
        match key.to_ascii_lowercase().as_str() {
            "name" => name = Some(value),
            // RFC 8187's `utf-8''percent-encoded`, which reqwest uses for names it must encode.
            "name*" => name = Some(extended_value(&value)?),
            "filename" => file_name = Some(value),
            "filename*" => file_name = Some(extended_value(&value)?),
            _ => {}
        }
    }
    let name = name
        .filter(|n| !n.is_empty())
        .ok_or("a multipart part without a name")?;
    Ok((name, file_name))
}

/// `key=value; key="quoted \"value\""` pairs, in order.
fn parameter_pairs(text: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace() || *c == ';').is_some() {}
        let key: String =
            std::iter::from_fn(|| chars.next_if(|c| *c != '=' && *c != ';')).collect();
        if key.trim().is_empty() {
            return pairs;
        }
        let mut value = String::new();
        if chars.next_if_eq(&'=').is_some() {
            if chars.next_if_eq(&'"').is_some() {
                // A backslash escapes the next character (reqwest escapes `\` and `"` so).
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => value.extend(chars.next()),
                        c => value.push(c),
                    }
                }
            } else {
                value = std::iter::from_fn(|| chars.next_if(|c| *c != ';')).collect();
                value = value.trim().to_owned();
            }
        }
        pairs.push((key.trim().to_owned(), value));
    }
}

/// Decodes `charset'language'percent-encoded` (RFC 8187); only UTF-8 is taken.
fn extended_value(value: &str) -> Result<String, String> {
    let mut pieces = value.splitn(3, '\'');
    let (charset, _language, encoded) = (pieces.next(), pieces.next(), pieces.next());
    let encoded = encoded
        .filter(|_| charset.is_some_and(|c| c.eq_ignore_ascii_case("utf-8")))
        .ok_or_else(|| format!("unsupported extended parameter {value}"))?;
    let bytes = encoded.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok());
        match escaped {
            Some(byte) => {
                decoded.push(byte);
                i += 3;
            }
            None => {
                decoded.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8(decoded).map_err(|_| format!("non-UTF-8 parameter {value}"))
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|window| window == needle)
        .map(|position| from + position)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A PNG's first bytes: its signature holds CR LF and LF, as binary content may.
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\x02\x80\0\0\x01\xe0\x08\x06\0\0\0";

    /// A `sendPhoto` body as teloxide 0.17 (reqwest 0.12) builds it for
    /// `send_photo(Recipient::ChannelUsername("@rh_jobs"), InputFile::memory(png).file_name("chart.png"))`
    /// with a caption, `ParseMode::Html` and an inline keyboard: the fields in the payload's
    /// order, then the upload named by the id its `attach://` points at.
    fn teloxide_body(boundary: &str) -> Vec<u8> {
        let id = "5f0c3e1b9a7d4c2e8f6a1b3c5d7e9f01";
        let text = |name: &str, value: &str| {
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
        };
        let mut body = String::new();
        body += &text("chat_id", "@rh_jobs");
        body += &text("photo", &format!("attach://{id}"));
        body += &text("caption", "<b>Итоги</b> недели\r\n--не граница");
        body += &text("parse_mode", "HTML");
        body += &text(
            "reply_markup",
            r#"{"inline_keyboard":[[{"text":"Открыть","url":"https://t.me/rh_jobs"}]]}"#,
        );
        let mut body = body.into_bytes();
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{id}\"; filename=\"chart.png\"\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(PNG);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        body
    }

    #[test]
    fn a_teloxide_send_photo_form() {
        let boundary = "0f1e2d3c4b5a6978-8796a5b4c3d2e1f0-0123456789abcdef-fedcba9876543210";
        let content_type = format!("multipart/form-data; boundary={boundary}");
        assert!(is_multipart(&content_type));

        let form = parse(&content_type, &teloxide_body(boundary)).unwrap();

        assert_eq!(
            form.params,
            json!({
                "chat_id": "@rh_jobs",
                "photo": "attach://5f0c3e1b9a7d4c2e8f6a1b3c5d7e9f01",
                "caption": "<b>Итоги</b> недели\r\n--не граница",
                "parse_mode": "HTML",
                "reply_markup": {"inline_keyboard": [[{"text": "Открыть", "url": "https://t.me/rh_jobs"}]]},
            })
        );
        assert_eq!(form.files.len(), 1);
        assert_eq!(form.files["5f0c3e1b9a7d4c2e8f6a1b3c5d7e9f01"], PNG);
    }

    #[test]
    fn numbers_quoted_boundaries_and_encoded_names() {
        let body = "preamble\r\n--b o\r\nContent-Disposition: form-data; name=\"chat_id\"\r\n\r\n42\r\n\
                    --b o  \r\ncontent-disposition: Form-Data; name*=utf-8''caption%C3%A9; filename=\"a\\\"b.png\"\r\nContent-Type: image/png\r\n\r\nx\r\n\
                    --b o\r\nContent-Disposition: form-data; name=\"empty\"\r\n\r\n\r\n--b o--\r\n";
        let form = parse("multipart/form-data; boundary=\"b o\"", body.as_bytes()).unwrap();
        assert_eq!(form.params, json!({"chat_id": "42", "empty": ""}));
        assert_eq!(form.files["captioné"], b"x");
    }

    #[test]
    fn broken_forms_are_refused() {
        let ok = "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--b--\r\n";
        assert!(parse("multipart/form-data", ok.as_bytes()).is_err());
        assert!(parse("multipart/form-data; boundary=c", ok.as_bytes()).is_err());
        let unclosed = "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1";
        assert!(parse("multipart/form-data; boundary=b", unclosed.as_bytes()).is_err());
        let nameless = "--b\r\nContent-Disposition: form-data\r\n\r\n1\r\n--b--\r\n";
        assert!(parse("multipart/form-data; boundary=b", nameless.as_bytes()).is_err());
        let bad_markup = "--b\r\nContent-Disposition: form-data; name=\"reply_markup\"\r\n\r\n{oops\r\n--b--\r\n";
        assert_eq!(
            parse("multipart/form-data; boundary=b", bad_markup.as_bytes()).unwrap_err(),
            "can't parse reply keyboard markup JSON object"
        );
    }
}
