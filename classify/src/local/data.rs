//! Labelled posts and the corpus format they are read from (`/work/shared/corpus`): one JSON
//! object a line with `text`, `kind` and ranked `categories`; the spam set's lines carry
//! `label` instead (spam → scam, ham → other).

use std::path::Path;

use schemas::PostKind;
use serde::{Deserialize, Serialize};

use super::Error;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Example {
    pub text: String,
    pub kind: PostKind,
    /// Catalog slugs, most fitting first; empty when none fits or the kind has none.
    #[serde(default)]
    pub categories: Vec<String>,
}

#[derive(Deserialize)]
struct Line {
    text: String,
    kind: Option<PostKind>,
    #[serde(default)]
    categories: Vec<String>,
    label: Option<String>,
}

/// Reads a corpus file; the first bad line is an error naming it.
pub fn read_jsonl(path: impl AsRef<Path>) -> Result<Vec<Example>, Error> {
    let path = path.as_ref();
    let content = std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let parse_error = |line: usize, reason: String| Error::Parse {
        path: path.to_path_buf(),
        line,
        reason,
    };
    let mut out = Vec::new();
    for (n, raw) in content.lines().enumerate() {
        if raw.trim().is_empty() {
            continue;
        }
        let line: Line =
            serde_json::from_str(raw).map_err(|e| parse_error(n + 1, e.to_string()))?;
        let kind = match (line.kind, line.label.as_deref()) {
            (Some(kind), _) => kind,
            (None, Some("spam")) => PostKind::Scam,
            (None, Some("ham")) => PostKind::Other,
            (None, _) => return Err(parse_error(n + 1, "neither kind nor label".into())),
        };
        out.push(Example {
            text: line.text,
            kind,
            categories: line.categories,
        });
    }
    Ok(out)
}

/// Reads the texts of a JSON-lines file whose lines need carry nothing but `text` (the
/// unlabelled pool, an export); lines without text are skipped, broken JSON is an error.
pub fn read_texts(path: impl AsRef<Path>) -> Result<Vec<String>, Error> {
    #[derive(Deserialize)]
    struct TextLine {
        text: Option<String>,
    }
    let path = path.as_ref();
    let content = std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut out = Vec::new();
    for (n, raw) in content.lines().enumerate() {
        if raw.trim().is_empty() {
            continue;
        }
        let line: TextLine = serde_json::from_str(raw).map_err(|e| Error::Parse {
            path: path.to_path_buf(),
            line: n + 1,
            reason: e.to_string(),
        })?;
        out.extend(line.text.filter(|t| !t.trim().is_empty()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn given_corpus_and_spam_lines_when_read_then_kinds_map_and_bad_lines_name_their_number() {
        let dir = std::env::temp_dir().join(format!("classify-data-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("good.jsonl");
        std::fs::write(
            &good,
            concat!(
                r#"{"id":"x","text":"Нужен дизайнер","kind":"vacancy","categories":["design"]}"#,
                "\n\n",
                r#"{"text":"Пиши + в лс","label":"spam"}"#,
                "\n",
                r#"{"text":"Привет всем","label":"ham"}"#,
                "\n"
            ),
        )
        .unwrap();
        let examples = read_jsonl(&good).unwrap();
        let kinds: Vec<PostKind> = examples.iter().map(|e| e.kind).collect();
        assert_eq!(kinds, [PostKind::Vacancy, PostKind::Scam, PostKind::Other]);
        assert_eq!(examples[0].categories, ["design"]);

        let bad = dir.join("bad.jsonl");
        std::fs::write(
            &bad,
            "{\"text\":\"a\",\"kind\":\"vacancy\"}\n{\"text\":1}\n",
        )
        .unwrap();
        let error = read_jsonl(&bad).unwrap_err();
        assert!(matches!(error, Error::Parse { line: 2, .. }), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
