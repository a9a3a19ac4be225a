//! The audit log: every admin action, newest first — each is an event naming the admin
//! (`projections::read::audit`), plus the dead letters admins replayed or discarded, which the
//! dead-letter stream records with the admin as the operator.

use axum::extract::{Query, State as Extract};
use axum::response::{IntoResponse, Response};
use bus::dead_letter::Action;
use maud::{Markup, html};
use projections::read;
use serde::Deserialize;

use super::{Failure, PAGE_SIZE, Paging, layout, moment, pager};
use crate::State;
use crate::session::Admin;

/// How much of an action's event the log shows.
const DATA_PREVIEW: usize = 240;
/// How much of an aggregate's id the log shows.
const AGGREGATE_CHARS: usize = 24;

#[derive(Debug, Default, Deserialize)]
pub struct Shown {
    /// One admin's actions (an id), or everyone's.
    #[serde(default)]
    admin: Option<String>,
    #[serde(flatten)]
    paging: Paging,
}

/// What an action's event type means, in the admins' words.
fn action_text(event_type: &str) -> &str {
    match event_type {
        "CategoryDefined" => "категория добавлена или изменена",
        "CategoryRetired" => "категория убрана",
        "ChannelConfigured" => "канал добавлен или изменён",
        "ChannelRemoved" => "канал убран",
        "ChannelRulesSet" => "правила изменены",
        "ClassificationCorrected" => "классификация исправлена",
        "SubscriptionExtended" => "дни добавлены",
        "ReportResolved" => "жалоба рассмотрена",
        "AdminLoginLinkIssued" => "ссылка для входа выдана",
        "AdminLoggedIn" => "вход в веб",
        "PaymentRefunded" => "платёж возвращён",
        "JobRunStarted" => "задача запущена вручную",
        "ApiTokenIssued" => "API-токен выдан",
        "ApiTokenRevoked" => "API-токен отозван",
        other => other,
    }
}

/// Where an action's subject can be looked at, when it has a page.
fn subject_link(event_type: &str, aggregate: &str) -> Option<String> {
    match event_type {
        "ChannelConfigured" | "ChannelRulesSet" if aggregate != "global" => {
            Some(format!("/channels/{aggregate}"))
        }
        "SubscriptionExtended" | "PaymentRefunded" => Some(format!("/users/{aggregate}")),
        "ClassificationCorrected" => aggregate
            .split_once(':')
            .map(|(chat, message)| format!("/vacancies/{chat}/{message}")),
        _ => None,
    }
}

/// An aggregate id as the log's narrow column shows it (a login's token hash is 64 digits).
fn short(aggregate: &str) -> String {
    match aggregate.char_indices().nth(AGGREGATE_CHARS) {
        Some((cut, _)) => format!("{}…", &aggregate[..cut]),
        None => aggregate.to_owned(),
    }
}

fn preview(data: &serde_json::Value) -> String {
    let text = data.to_string();
    match text.char_indices().nth(DATA_PREVIEW) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

pub async fn show(
    Extract(web): Extract<State>,
    admin: Admin,
    Query(shown): Query<Shown>,
) -> Result<Response, Failure> {
    let only = shown
        .admin
        .as_deref()
        .and_then(|a| a.trim().parse::<i64>().ok());
    let page = shown.paging.number();
    let actions = read::audit::actions(&web.pool, only, PAGE_SIZE, shown.paging.offset()).await?;
    let letters = if page == 1 {
        web.bus.dead_letters().await?
    } else {
        Vec::new()
    };
    let handled: Vec<_> = letters
        .iter()
        .filter_map(|letter| Some((letter, letter.handled.as_ref()?)))
        .filter(|(_, handled)| {
            let by = handled
                .operator
                .strip_prefix("admin:")
                .and_then(|a| a.parse::<i64>().ok());
            by.is_some() && (only.is_none() || by == only)
        })
        .collect();
    let query = only.map(|a| format!("admin={a}&")).unwrap_or_default();
    let body = html! {
        form method="get" action="/audit" {
            select name="admin" {
                option value="" { "Все админы" }
                @for id in &web.config.admins {
                    option value=(id) selected[only == Some(*id)] { (id) }
                }
            }
            button type="submit" { "Показать" }
        }
        @if actions.is_empty() { p.muted { "Действий нет." } }
        @else { (actions_table(&actions)) }
        (pager("/audit", &query, page, actions.len()))
        @if !handled.is_empty() {
            h2 { "Мёртвые письма" }
            table {
                tr { th { "Когда" } th { "Кто" } th { "Что" } th { "Письмо" } }
                @for (letter, handled) in handled.iter().rev() {
                    tr {
                        td { (moment(handled.at)) }
                        td { (handled.operator) }
                        td { (match handled.action { Action::Replayed => "отправлено обратно", Action::Discarded => "отмечено разобранным" }) @if let Some(reason) = &handled.reason { ": " (reason) } }
                        td { (letter.dlq_sequence) " · " (letter.stream) }
                    }
                }
            }
        }
    };
    Ok(layout("Журнал действий", Some(&admin), body).into_response())
}

fn actions_table(actions: &[read::audit::Action]) -> Markup {
    html! {
        table id="audit" {
            tr { th { "Когда" } th { "Админ" } th { "Действие" } th { "Что" } th { "Подробно" } }
            @for action in actions {
                tr {
                    td { (moment(action.at)) }
                    td { (action.admin_id) }
                    td { (action_text(&action.event_type)) br; span.muted { (action.event_type) } }
                    td {
                        @let shown = short(&action.aggregate);
                        @match subject_link(&action.event_type, &action.aggregate) {
                            Some(link) => a href=(link) { (shown) },
                            None => (shown),
                        }
                    }
                    td { code { (preview(&action.data)) } }
                }
            }
        }
    }
}
