//! A scope's keyword rules (one channel's, or the global ones), edited after a backtest: the
//! form's «Проверить» replays the stored posts of the channels the rules apply to through the
//! current and the candidate rules (`ingest::backtest::compare`, the replay `remotehunt rules
//! test` makes) and lists the posts whose verdict would change; only that page offers
//! «Сохранить», and saving checks the rules are the ones tested. The change is a
//! `ChannelRulesSet` naming the admin.

use axum::Form;
use axum::extract::{Path, State as Extract};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use ingest::backtest::{Comparison, Example};
use ingest::catalog::Catalog;
use ingest::rules::CompiledRules;
use maud::{Markup, html};
use schemas::{ChannelRulesSet, Event, RuleScope, Rules};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::channels::not_found;
use super::{Failure, layout};
use crate::State;
use crate::session::{self, Admin};

/// Posts listed per changed verdict.
const EXAMPLES: usize = 20;
/// How much of a post an example shows.
const EXAMPLE_CHARS: usize = 300;

/// Where rules apply, from the URL: `global` or a catalog channel's key.
struct Scope {
    scope: RuleScope,
    title: String,
    /// The chats whose stored posts the backtest replays.
    chats: Vec<i64>,
}

fn scope_of(catalog: &Catalog, key: &str) -> Option<Scope> {
    if key == "global" {
        let chats = catalog
            .channels
            .iter()
            .filter(|(key, c)| c.chat_id != 0 && catalog.rules_for(key).0 == "global")
            .map(|(_, c)| c.chat_id)
            .collect();
        return Some(Scope {
            scope: RuleScope::Global,
            title: "Общие правила".to_owned(),
            chats,
        });
    }
    let channel = catalog.channels.get(key)?;
    Some(Scope {
        scope: RuleScope::Channel(key.to_owned()),
        title: format!("Правила: {}", channel.title),
        chats: if channel.chat_id == 0 {
            Vec::new()
        } else {
            vec![channel.chat_id]
        },
    })
}

/// The rules that would decide the scope's posts: a channel without rules of its own uses the
/// global ones.
fn effective(catalog: &Catalog, scope: &RuleScope, rules: &Rules) -> Rules {
    match scope {
        RuleScope::Channel(_) if *rules == Rules::default() => catalog.rules_for("global").1,
        _ => rules.clone(),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct RulesForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    require_any: String,
    #[serde(default)]
    require_all: String,
    #[serde(default)]
    forbid: String,
    #[serde(default)]
    require_regex: String,
    #[serde(default)]
    forbid_regex: String,
    /// `test` or `save`.
    #[serde(default)]
    step: String,
    /// The fingerprint of the rules the backtest shown was of.
    #[serde(default)]
    tested: String,
}

impl RulesForm {
    fn of(rules: &Rules) -> Self {
        Self {
            require_any: rules.require_any.join("\n"),
            require_all: rules.require_all.join("\n"),
            forbid: rules.forbid.join("\n"),
            require_regex: rules.require_regex.clone().unwrap_or_default(),
            forbid_regex: rules.forbid_regex.clone().unwrap_or_default(),
            ..Self::default()
        }
    }

    fn rules(&self) -> Rules {
        let terms = |text: &str| -> Vec<String> {
            text.lines()
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect()
        };
        let regex = |text: &str| Some(text.trim().to_owned()).filter(|r| !r.is_empty());
        Rules {
            require_any: terms(&self.require_any),
            require_all: terms(&self.require_all),
            forbid: terms(&self.forbid),
            require_regex: regex(&self.require_regex),
            forbid_regex: regex(&self.forbid_regex),
        }
    }
}

/// Ties «Сохранить» to the rules whose backtest was shown.
fn fingerprint(rules: &Rules) -> String {
    let json = serde_json::to_vec(rules).unwrap_or_default();
    hex::encode(Sha256::digest(json))
}

fn form(admin: &Admin, key: &str, shown: &RulesForm, tested: Option<&str>) -> Markup {
    let area = |name: &str, label: &str, value: &str| {
        html! {
            label { (label) br; textarea name=(name) rows="4" cols="40" { (value) } }
            br;
        }
    };
    html! {
        form method="post" action=(format!("/channels/{key}/rules")) {
            input type="hidden" name="csrf" value=(admin.csrf);
            p.muted { "По одному слову, фразе или #хэштегу в строке; «ваканс*» — начало слова." }
            (area("require_any", "Нужно хотя бы одно", &shown.require_any))
            (area("require_all", "Нужны все", &shown.require_all))
            (area("forbid", "Запрещены", &shown.forbid))
            label { "Должно совпасть (regex) " input type="text" name="require_regex" value=(shown.require_regex) size="40"; }
            br;
            label { "Не должно совпасть (regex) " input type="text" name="forbid_regex" value=(shown.forbid_regex) size="40"; }
            br;
            @if key != "global" { p.muted { "Пустые правила канала — значит, действуют общие." } }
            button type="submit" name="step" value="test" { "Проверить на сохранённых постах" }
            @if let Some(tested) = tested {
                input type="hidden" name="tested" value=(tested);
                button type="submit" name="step" value="save" id="save" { "Сохранить эти правила" }
            }
        }
    }
}

fn examples(title: &str, shown: &[Example]) -> Markup {
    html! {
        h3 { (title) " — " (shown.len()) }
        @for example in shown.iter().rev().take(EXAMPLES) {
            div.card {
                span.muted { (example.rule) }
                div.post { (example.text.chars().take(EXAMPLE_CHARS).collect::<String>()) }
            }
        }
    }
}

fn backtest(scope: &Scope, comparison: &Comparison) -> Markup {
    html! {
        div id="backtest" {
            @if scope.chats.is_empty() {
                p.muted { "Id чата ещё неизвестен (канал добавлен по @username): проверять не на чем." }
            } @else {
                p {
                    "Сохранённых постов: " strong { (comparison.seen) } ". Проходят сейчас: "
                    strong { (comparison.passing_now) } ", с этими правилами: "
                    strong id="passing-then" { (comparison.passing_then) } "."
                }
                (examples("Начнут проходить", &comparison.newly_passing))
                (examples("Перестанут проходить", &comparison.newly_stopped))
            }
        }
    }
}

pub async fn show(
    Extract(web): Extract<State>,
    admin: Admin,
    Path(key): Path<String>,
) -> Result<Response, Failure> {
    let (catalog, _) = ingest::catalog::load(&web.bus).await?;
    let Some(scope) = scope_of(&catalog, &key) else {
        return Ok(not_found(&admin));
    };
    let current = catalog
        .rules
        .get(&scope.scope.key())
        .cloned()
        .unwrap_or_default();
    let body = html! {
        p { a href=(if key == "global" { "/channels".to_owned() } else { format!("/channels/{key}") }) { "← Назад" } }
        (form(&admin, &key, &RulesForm::of(&current), None))
    };
    Ok(layout(&scope.title, Some(&admin), body).into_response())
}

pub async fn test_or_save(
    Extract(web): Extract<State>,
    admin: Admin,
    headers: HeaderMap,
    Path(key): Path<String>,
    Form(shown): Form<RulesForm>,
) -> Result<Response, Failure> {
    if let Err(refused) = session::check_form(&admin, &headers, &web.config, &shown.csrf) {
        return Ok(refused.into_response());
    }
    let (catalog, _) = ingest::catalog::load(&web.bus).await?;
    let Some(scope) = scope_of(&catalog, &key) else {
        return Ok(not_found(&admin));
    };
    let candidate = shown.rules();
    let compiled = match CompiledRules::compile(&effective(&catalog, &scope.scope, &candidate)) {
        Ok(compiled) => compiled,
        Err(error) => {
            let body = html! {
                p.error { "Правила не разобрать: " (error) }
                (form(&admin, &key, &shown, None))
            };
            return Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                layout(&scope.title, Some(&admin), body),
            )
                .into_response());
        }
    };
    let tested = fingerprint(&candidate);
    if shown.step == "save" && shown.tested == tested {
        let set = ChannelRulesSet {
            scope: scope.scope.clone(),
            rules: candidate,
            admin_id: Some(admin.admin_id),
        };
        ingest::catalog::publish_changes(&web.bus, vec![Event::from(set)]).await?;
        let back = match &scope.scope {
            RuleScope::Global => "/channels?done=rules".to_owned(),
            RuleScope::Channel(key) => format!("/channels/{key}?done=rules"),
        };
        return Ok(Redirect::to(&back).into_response());
    }
    // A first look, or rules changed since the backtest shown: test (again) before saving.
    let current = CompiledRules::compile(
        &catalog
            .rules_for(match &scope.scope {
                RuleScope::Global => "global",
                RuleScope::Channel(key) => key,
            })
            .1,
    )?;
    let comparison = if scope.chats.is_empty() {
        Comparison::default()
    } else {
        let messages = ingest::backtest::stored_messages(&web.bus).await?;
        ingest::backtest::compare(&current, &compiled, &scope.chats, &messages)
    };
    let body = html! {
        @if shown.step == "save" { p.error { "Правила изменились после проверки: проверьте их ещё раз." } }
        (backtest(&scope, &comparison))
        (form(&admin, &key, &shown, Some(&tested)))
    };
    Ok(layout(&scope.title, Some(&admin), body).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_reads_one_term_a_line_and_round_trips() {
        let form = RulesForm {
            require_any: "ваканс*\r\n\n  #ищу  \n".to_owned(),
            forbid_regex: "  ".to_owned(),
            ..RulesForm::default()
        };
        let rules = form.rules();
        assert_eq!(rules.require_any, ["ваканс*", "#ищу"]);
        assert_eq!(rules.forbid_regex, None);
        assert_eq!(RulesForm::of(&rules).rules(), rules);
        assert_ne!(fingerprint(&rules), fingerprint(&Rules::default()));
    }
}
