//! Architecture invariant: every read of a read-model table outside this crate goes through
//! `projections::read`. This test reads the source of the whole workspace (no NATS, no
//! Postgres) and fails, naming file and line, on SQL elsewhere that names a read-model table.
//! The tables come from the migrations, so a new table is covered the day it is created.
//!
//! What counts as read-model SQL: a string literal that looks like SQL (a word such as SELECT,
//! FROM or INTO) and names a table right after FROM, JOIN, INTO, UPDATE, TABLE or LIKE; and
//! any `sqlx::query*`/`QueryBuilder` call whose SQL does, or that splices a table's name into
//! its SQL from another literal. Comments are not code and are skipped. A service's private tables (`bench_*`, a delivery ledger)
//! and testkit's CREATE/DROP DATABASE name no read-model table, so they pass as they are.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Words that make a literal look like SQL (compared case-insensitively).
const SQL_WORDS: &[&str] = &[
    "select", "insert", "update", "delete", "from", "join", "into", "create", "alter", "truncate",
];

/// Words a table name follows in SQL.
const BEFORE_TABLE: &[&str] = &["from", "join", "into", "update", "table", "like"];

/// sqlx's query entry points, wherever they are called from.
const QUERY_CALLS: &[&str] = &[
    "query_as",
    "query_scalar",
    "query_as_with",
    "query_scalar_with",
    "QueryBuilder",
];

/// sqlx's entry points whose names are too common to match unless written `sqlx::…`.
const SQLX_CALLS: &[&str] = &["query", "query_with"];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The tables and views the migrations create: every read model.
fn read_model_tables(migrations: &Path) -> BTreeSet<String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(migrations)
        .expect("the migrations directory")
        .map(|entry| entry.expect("a migration").path())
        .filter(|path| path.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    let mut tables = BTreeSet::new();
    for file in files {
        let sql = std::fs::read_to_string(&file).expect("a readable migration");
        let code: String = sql
            .lines()
            .map(|line| line.split_once("--").map_or(line, |(code, _)| code))
            .collect::<Vec<_>>()
            .join("\n");
        let words: Vec<String> = words(&code)
            .into_iter()
            .map(|(_, w)| w.to_ascii_lowercase())
            .collect();
        for (n, word) in words.iter().enumerate() {
            if word != "create" {
                continue;
            }
            let mut rest = words[n + 1..].iter().map(String::as_str);
            let mut next = rest.next();
            while matches!(
                next,
                Some("or" | "replace" | "materialized" | "temporary" | "temp" | "unlogged")
            ) {
                next = rest.next();
            }
            if !matches!(next, Some("table" | "view")) {
                continue;
            }
            let mut name = rest.next();
            if name == Some("if") {
                // IF NOT EXISTS
                name = rest.nth(2);
            }
            if let Some(name) = name {
                tables.insert(name.to_owned());
            }
        }
    }
    tables
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The words of `text` (runs of letters, digits and `_`) with their byte offsets.
fn words(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (is_ident(c), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push((s, &text[s..i]));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, &text[s..]));
    }
    out
}

fn table<'t>(tables: &'t BTreeSet<String>, word: &str) -> Option<&'t str> {
    tables.get(&word.to_ascii_lowercase()).map(String::as_str)
}

fn looks_like_sql(text: &str) -> bool {
    words(text)
        .iter()
        .any(|(_, w)| SQL_WORDS.iter().any(|k| w.eq_ignore_ascii_case(k)))
}

/// The read-model table `text` names as SQL, if it looks like SQL and names one after FROM,
/// JOIN, INTO, UPDATE, TABLE or LIKE (with nothing but white space between).
fn sql_names_table<'t>(text: &str, tables: &'t BTreeSet<String>) -> Option<&'t str> {
    if !looks_like_sql(text) {
        return None;
    }
    let words = words(text);
    words.windows(2).find_map(|pair| {
        let (at, keyword) = pair[0];
        let (next_at, name) = pair[1];
        let introduces = BEFORE_TABLE.iter().any(|k| keyword.eq_ignore_ascii_case(k));
        let adjacent = text[at + keyword.len()..next_at].trim().is_empty();
        if introduces && adjacent {
            table(tables, name)
        } else {
            None
        }
    })
}

/// A piece of Rust source, comments left out.
#[derive(Debug)]
enum Token {
    /// A string literal (raw or not), escapes resolved roughly: enough to read its words.
    Literal {
        line: usize,
        text: String,
    },
    Ident {
        line: usize,
        name: String,
    },
    Punct(char),
}

/// Splits Rust source into string literals, identifiers and punctuation, skipping comments,
/// char literals and lifetimes. Not a Rust lexer: enough to find SQL in strings.
fn tokens(source: &str) -> Vec<Token> {
    let chars: Vec<char> = source.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line) = (0, 1);
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    line += usize::from(chars[i] == '\n');
                    i += 1;
                }
            }
        } else if is_ident(c) {
            let start = i;
            while i < chars.len() && is_ident(chars[i]) {
                i += 1;
            }
            let name: String = chars[start..i].iter().collect();
            let hashes = chars[i..].iter().take_while(|&&h| h == '#').count();
            if matches!(name.as_str(), "r" | "br" | "cr") && chars.get(i + hashes) == Some(&'"') {
                // A raw string: ends at a quote followed by as many hashes.
                let body_start = i + hashes + 1;
                let mut end = body_start;
                while end < chars.len()
                    && !(chars[end] == '"'
                        && chars[end + 1..].iter().take_while(|&&h| h == '#').count() >= hashes)
                {
                    end += 1;
                }
                let text: String = chars[body_start..end.min(chars.len())].iter().collect();
                out.push(Token::Literal {
                    line,
                    text: text.clone(),
                });
                line += text.matches('\n').count();
                i = end + 1 + hashes;
            } else {
                out.push(Token::Ident { line, name });
            }
        } else if c == '\'' {
            if next == Some('\\') {
                // An escaped char literal: '\n', '\'', '\u{..}'; past the escaped char.
                i += 3;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if chars.get(i + 2) == Some(&'\'') {
                // A char literal such as '"'.
                i += 3;
            } else {
                // A lifetime or a label.
                i += 1;
            }
        } else if c == '"' {
            let start_line = line;
            let mut text = String::new();
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    match chars.get(i + 1) {
                        Some('\\') => text.push('\\'),
                        Some('"') => text.push('"'),
                        Some('\'') => text.push('\''),
                        Some('\n') => {
                            text.push(' ');
                            line += 1;
                        }
                        // \n, \t, \r, \0, \x.., \u{..}: white space is near enough for words.
                        _ => text.push(' '),
                    }
                    i += 2;
                } else {
                    line += usize::from(chars[i] == '\n');
                    text.push(chars[i]);
                    i += 1;
                }
            }
            i += 1;
            out.push(Token::Literal {
                line: start_line,
                text,
            });
        } else {
            if !c.is_whitespace() {
                out.push(Token::Punct(c));
            }
            i += 1;
        }
    }
    out
}

/// Each place in `source` with read-model SQL: (line, table).
fn findings(source: &str, tables: &BTreeSet<String>) -> BTreeSet<(usize, String)> {
    let tokens = tokens(source);
    let mut found = BTreeSet::new();
    for (n, token) in tokens.iter().enumerate() {
        match token {
            Token::Literal { line, text } => {
                if let Some(table) = sql_names_table(text, tables) {
                    found.insert((*line, table.to_owned()));
                }
            }
            Token::Ident { line, name } => {
                let after_sqlx = n >= 3
                    && matches!(&tokens[n - 3], Token::Ident { name, .. } if name == "sqlx")
                    && matches!(tokens[n - 2], Token::Punct(':'))
                    && matches!(tokens[n - 1], Token::Punct(':'));
                let is_call = QUERY_CALLS.contains(&name.as_str())
                    || (after_sqlx && SQLX_CALLS.contains(&name.as_str()));
                if !is_call {
                    continue;
                }
                // The statement's literals, up to its end or a block (a loop over the rows):
                // its SQL, or a table's name spliced into it.
                let named = tokens[n + 1..]
                    .iter()
                    .take_while(|t| !matches!(t, Token::Punct(';' | '{' | '}')))
                    .filter_map(|t| match t {
                        Token::Literal { text, .. } => Some(text),
                        _ => None,
                    })
                    .find_map(|text| {
                        if looks_like_sql(text) {
                            sql_names_table(text, tables)
                        } else {
                            words(text).into_iter().find_map(|(_, w)| table(tables, w))
                        }
                    });
                if let Some(table) = named {
                    found.insert((*line, table.to_owned()));
                }
            }
            Token::Punct(_) => {}
        }
    }
    found
}

/// Every `*.rs` file under `dir`, in a stable order, leaving out build output, git's store and
/// (at the top) this crate, which owns the read models.
fn rust_files(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("a readable directory")
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if path.is_dir() {
            let skipped =
                name == "target" || name == ".git" || (dir == root && name == "projections");
            if !skipped {
                rust_files(root, &path, out);
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

#[test]
fn read_model_sql_lives_only_in_projections() {
    let root = workspace();
    let tables = read_model_tables(&root.join("projections/migrations"));
    let mut files = Vec::new();
    rust_files(&root, &root, &mut files);
    let scanned: Vec<String> = files
        .iter()
        .map(|f| f.strip_prefix(&root).unwrap_or(f).display().to_string())
        .collect();
    assert!(
        scanned.iter().any(|f| f == "bots/src/main_bot.rs")
            && scanned.iter().any(|f| f == "cli/src/main.rs"),
        "the walk missed the services' sources: {scanned:?}"
    );
    let mut offences = Vec::new();
    for (file, shown) in files.iter().zip(&scanned) {
        let source =
            String::from_utf8_lossy(&std::fs::read(file).expect("a readable file")).into_owned();
        for (line, table) in findings(&source, &tables) {
            offences.push(format!("{shown}:{line}: names the read model `{table}`"));
        }
    }
    assert!(
        offences.is_empty(),
        "read-model SQL outside projections (read through `projections::read` instead):\n{}",
        offences.join("\n")
    );
}

#[test]
fn the_detector_flags_read_model_sql_and_nothing_else() {
    // given the tables of the real migrations
    let tables = read_model_tables(&workspace().join("projections/migrations"));
    assert!(
        [
            "users",
            "messages",
            "deliveries",
            "revenue_daily",
            "channel_yield"
        ]
        .iter()
        .all(|t| tables.contains(*t)),
        "{tables:?}"
    );
    assert!(!tables.contains("bench_messages"));
    let found = |source: &str| findings(source, &tables);

    // then a query naming a read model is flagged, on the line of its SQL and of its call
    assert_eq!(
        found(r#"let paid = sqlx::query("SELECT paid_until FROM users WHERE user_id = $1");"#),
        BTreeSet::from([(1, "users".to_owned())])
    );
    assert_eq!(
        found(
            "let n: i64 = sqlx::query_scalar(\n    \"SELECT count(*)\n     FROM messages\",\n)\n.fetch_one(pool);"
        ),
        BTreeSet::from([(1, "messages".to_owned()), (2, "messages".to_owned())])
    );
    assert_eq!(
        found(r##"const Q: &str = r#"UPDATE deliveries SET error = NULL"#;"##),
        BTreeSet::from([(1, "deliveries".to_owned())])
    );
    assert_eq!(
        found(r#"sqlx::query("CREATE TABLE bench_x (LIKE messages INCLUDING ALL)")"#),
        BTreeSet::from([(1, "messages".to_owned())])
    );
    assert_eq!(
        found("let q = \"SELECT 1 FROM\\n  payments\";"),
        BTreeSet::from([(1, "payments".to_owned())])
    );
    // (a quote in a char literal opens no string)
    assert_eq!(
        found(r#"let (q, e) = ('"', '\''); let sql = "SELECT 1 FROM users";"#),
        BTreeSet::from([(1, "users".to_owned())])
    );
    // and so is a call that splices a table's name into its SQL
    assert_eq!(
        found(r#"sqlx::query(&format!("SELECT * FROM {}", "reports")).execute(pool);"#),
        BTreeSet::from([(1, "reports".to_owned())])
    );

    // and subjects, prose, comments, private tables and databases are not
    for innocent in [
        r#"let subject = format!("rh.users.{id}");"#,
        r#"let text = "Choose the categories you want messages from";"#,
        r#"tracing::warn!("cannot list pending payments from the users read model");"#,
        "// SELECT paid_until FROM users\nlet x = 1; /* INSERT INTO users */",
        r#"sqlx::query("INSERT INTO bench_checkpoint VALUES ('raw', $1)")"#,
        r#"sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))"#,
        r#"let quote = '"'; let s = "from"; let users = 1;"#,
    ] {
        assert_eq!(found(innocent), BTreeSet::new(), "{innocent}");
    }
}
