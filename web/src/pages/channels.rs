//! Channels: the catalog's channels with their yield, added, edited and removed here. The
//! CATALOG stream is the one source of truth, so the pages fold it (`ingest::catalog::load`)
//! rather than a read model that may lag a second behind the change just made; each change is
//! a catalog event naming the admin, published by `ingest::catalog::publish_changes`, the
//! function `remotehunt catalog apply` publishes with.

use axum::Form;
use axum::extract::{Path, Query, State as Extract};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use schemas::{ChannelConfigured, ChannelKind, ChannelRemoved, Event, Payload};
use serde::Deserialize;

use super::{Done, Failure, layout};
use crate::State;
use crate::session::{self, Admin};

fn done_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "added" => "✅ Канал добавлен: читатель начнёт его читать.",
        "saved" => "✅ Канал сохранён.",
        "removed" => "🗑 Канал убран из каталога: его сообщения больше не читаются.",
        "rules" => "✅ Правила сохранены.",
        _ => return None,
    })
}

pub async fn list(
    Extract(web): Extract<State>,
    admin: Admin,
    Query(shown): Query<Done>,
) -> Result<Response, Failure> {
    let (catalog, _) = ingest::catalog::load(&web.bus).await?;
    let yields = projections::read::catalog::channel_yield(&web.pool).await?;
    let body = html! {
        @if let Some(done) = shown.done.as_deref().and_then(done_text) { p.done { (done) } }
        p { a href="/channels/global/rules" { "Общие правила" } " — для каналов без своих." }
        (accounts(&catalog))
        @if catalog.channels.is_empty() { p.muted { "В каталоге нет каналов." } }
        @else {
            table {
                tr {
                    th { "Канал" } th { "Тип" } th { "Правила" }
                    th { "Прочитано" } th { "Прошло" } th { "Вакансий" } th { "Жалоб" }
                }
                @for (key, channel) in &catalog.channels {
                    @let shown_yield = yields.iter().find(|y| channel.chat_id != 0 && y.chat_id == channel.chat_id);
                    tr {
                        td {
                            a href=(format!("/channels/{key}")) { (channel.title) }
                            br; span.muted { (key) }
                            @if let Some(username) = &channel.username { span.muted { " @" (username) } }
                            @if !channel.enabled { br; span.muted { "выключен" } }
                            @if let Some(reason) = catalog.unreadable.get(key) { br; span.error { "не читается: " (reason) } }
                            @if let Some(account) = catalog.assignments.get(key) { br; span.muted { "аккаунт: " (account) } }
                            @else if channel.enabled && !catalog.accounts.is_empty() { br; span.error { "не назначен: ни у одного аккаунта нет места" } }
                        }
                        td { (kind_text(channel.kind)) }
                        td {
                            a href=(format!("/channels/{key}/rules")) {
                                (if catalog.rules_for(key).0 == "global" { "общие" } else { "свои" })
                            }
                        }
                        @if let Some(y) = shown_yield {
                            td { (y.seen) } td { (y.passed_rules) } td { (y.vacancies) } td { (y.reports) }
                        } @else {
                            td.muted colspan="4" { "ещё ничего" }
                        }
                    }
                }
            }
        }
        h2 { "Добавить канал" }
        (channel_form(&admin, "/channels", None))
    };
    Ok(layout("Каналы", Some(&admin), body).into_response())
}

/// The Telegram accounts ingest reads with: how many channels each reads, and why one stopped.
fn accounts(catalog: &ingest::catalog::Catalog) -> Markup {
    let unassigned = catalog
        .channels
        .iter()
        .filter(|(key, c)| c.enabled && !catalog.assignments.contains_key(*key))
        .count();
    html! {
        @if !catalog.accounts.is_empty() {
            h2 { "Аккаунты Telegram" }
            table {
                tr { th { "Аккаунт" } th { "Каналов" } th { "Состояние" } }
                @for (name, account) in &catalog.accounts {
                    @let reading = catalog.assignments.values().filter(|a| *a == name).count();
                    tr {
                        td { (name) }
                        td { (reading) " из " (account.room()) }
                        td {
                            @match &account.lost {
                                Some((reason, detail)) => span.error { (loss_text(*reason)) " (" (detail) ")" },
                                None => @match &account.full {
                                    Some((following, _)) => span.error { "Telegram не даёт вступить больше чем в " (following) },
                                    None => "читает",
                                },
                            }
                        }
                    }
                }
            }
            @if unassigned > 0 {
                p.error { "Не назначено каналов: " (unassigned) ". Добавьте аккаунт (remotehunt ingest login --account ИМЯ) или увеличьте INGEST_CHANNELS_PER_ACCOUNT." }
            }
        }
    }
}

fn loss_text(reason: schemas::AccountLoss) -> &'static str {
    match reason {
        schemas::AccountLoss::Revoked => "сессия отозвана — войдите заново",
        schemas::AccountLoss::Banned => "заблокирован Telegram",
        schemas::AccountLoss::Removed => "нет файла сессии",
    }
}

fn kind_text(kind: ChannelKind) -> &'static str {
    match kind {
        ChannelKind::Channel => "канал",
        ChannelKind::Group => "чат",
    }
}

/// The add/edit form; `channel` fills it when editing (then the id and username stay).
fn channel_form(admin: &Admin, action: &str, channel: Option<&ChannelConfigured>) -> Markup {
    let kind = channel.map_or(ChannelKind::Channel, |c| c.kind);
    html! {
        form method="post" action=(action) {
            input type="hidden" name="csrf" value=(admin.csrf);
            @if channel.is_none() {
                label { "id чата " input type="text" name="chat_id" placeholder="-100…" inputmode="numeric"; }
                label { " или @username " input type="text" name="username" placeholder="@channel" maxlength="64"; }
                br;
            }
            label { "Название " input type="text" name="title" required maxlength="200" value=(channel.map_or("", |c| c.title.as_str())); }
            select name="kind" {
                option value="channel" selected[kind == ChannelKind::Channel] { "канал" }
                option value="group" selected[kind == ChannelKind::Group] { "чат" }
            }
            label { input type="checkbox" name="enabled" value="on" checked[channel.is_none_or(|c| c.enabled)]; " читать" }
            button type="submit" { (if channel.is_some() { "Сохранить" } else { "Добавить" }) }
        }
    }
}

pub async fn show(
    Extract(web): Extract<State>,
    admin: Admin,
    Path(key): Path<String>,
    Query(shown): Query<Done>,
) -> Result<Response, Failure> {
    let (catalog, _) = ingest::catalog::load(&web.bus).await?;
    let Some(channel) = catalog.channels.get(&key) else {
        return Ok(not_found(&admin));
    };
    let (scope, rules) = catalog.rules_for(&key);
    let body = html! {
        @if let Some(done) = shown.done.as_deref().and_then(done_text) { p.done { (done) } }
        p.muted {
            (key)
            @if let Some(username) = &channel.username { " · @" (username) }
            @if let Some(admin_id) = catalog.edited_by_admin.get(&ingest::catalog::Edited::Channel(key.clone())) {
                " · изменён в вебе админом " (admin_id)
            }
        }
        (channel_form(&admin, &format!("/channels/{key}"), Some(channel)))
        h2 { "Правила" }
        p {
            (if scope == "global" { "Действуют общие правила" } else { "Свои правила" })
            ": " code { (serde_json::to_string(&rules).unwrap_or_default()) } " "
            a href=(format!("/channels/{key}/rules")) { "Изменить" }
        }
        h2 { "Убрать из каталога" }
        form method="post" action=(format!("/channels/{key}/remove")) {
            input type="hidden" name="csrf" value=(admin.csrf);
            label { input type="checkbox" name="sure" value="on" required; " да, перестать читать этот канал" }
            button type="submit" { "Убрать" }
        }
    };
    Ok(layout(&channel.title, Some(&admin), body).into_response())
}

/// The page for a channel key the catalog does not have.
pub(super) fn not_found(admin: &Admin) -> Response {
    let body = html! { p.muted { "Такого канала в каталоге нет." } p { a href="/channels" { "К каналам" } } };
    (StatusCode::NOT_FOUND, layout("Канал", Some(admin), body)).into_response()
}

fn refused_input(admin: &Admin, why: &str) -> Response {
    super::not_saved(admin, why, "/channels", "К каналам")
}

#[derive(Deserialize)]
pub struct ChannelForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    chat_id: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    enabled: Option<String>,
}

impl ChannelForm {
    fn kind(&self) -> Option<ChannelKind> {
        match self.kind.as_str() {
            "channel" => Some(ChannelKind::Channel),
            "group" => Some(ChannelKind::Group),
            _ => None,
        }
    }

    fn title(&self) -> Option<String> {
        let title = self.title.trim();
        (!title.is_empty() && title.chars().count() <= 200).then(|| title.to_owned())
    }
}

/// A username as Telegram allows it: 4–32 of a-z, 0-9 and `_`, starting with a letter.
fn username(text: &str) -> Option<Option<String>> {
    let name = text.trim().trim_start_matches('@');
    if name.is_empty() {
        return Some(None);
    }
    let ok = (4..=32).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    ok.then(|| Some(name.to_owned()))
}

pub async fn add(
    Extract(web): Extract<State>,
    admin: Admin,
    headers: HeaderMap,
    Form(form): Form<ChannelForm>,
) -> Result<Response, Failure> {
    if let Err(refused) = session::check_form(&admin, &headers, &web.config, &form.csrf) {
        return Ok(refused.into_response());
    }
    let chat_id = match form.chat_id.trim() {
        "" => Some(0),
        id => id.parse::<i64>().ok().filter(|id| *id != 0),
    };
    let (Some(chat_id), Some(username), Some(title), Some(kind)) =
        (chat_id, username(&form.username), form.title(), form.kind())
    else {
        return Ok(refused_input(
            &admin,
            "Нужны id чата (число) или @username (4–32 латинских букв, цифр и _), название и тип.",
        ));
    };
    let channel = ChannelConfigured {
        chat_id,
        username,
        title,
        kind,
        enabled: form.enabled.is_some(),
        admin_id: Some(admin.admin_id),
    };
    if let Err(why) = channel.validate() {
        return Ok(refused_input(&admin, &why));
    }
    let (catalog, _) = ingest::catalog::load(&web.bus).await?;
    if catalog.channels.contains_key(&channel.key()) {
        return Ok(refused_input(&admin, "Такой канал уже есть в каталоге."));
    }
    let key = channel.key();
    ingest::catalog::publish_changes(&web.bus, vec![Event::from(channel)]).await?;
    Ok(Redirect::to(&format!("/channels/{key}?done=added")).into_response())
}

pub async fn save(
    Extract(web): Extract<State>,
    admin: Admin,
    headers: HeaderMap,
    Path(key): Path<String>,
    Form(form): Form<ChannelForm>,
) -> Result<Response, Failure> {
    if let Err(refused) = session::check_form(&admin, &headers, &web.config, &form.csrf) {
        return Ok(refused.into_response());
    }
    let (catalog, _) = ingest::catalog::load(&web.bus).await?;
    let Some(channel) = catalog.channels.get(&key) else {
        return Ok(not_found(&admin));
    };
    let (Some(title), Some(kind)) = (form.title(), form.kind()) else {
        return Ok(refused_input(
            &admin,
            "Нужны название (до 200 знаков) и тип.",
        ));
    };
    let edited = ChannelConfigured {
        title,
        kind,
        enabled: form.enabled.is_some(),
        admin_id: Some(admin.admin_id),
        ..channel.clone()
    };
    ingest::catalog::publish_changes(&web.bus, vec![Event::from(edited)]).await?;
    Ok(Redirect::to(&format!("/channels/{key}?done=saved")).into_response())
}

#[derive(Deserialize)]
pub struct RemoveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    sure: Option<String>,
}

pub async fn remove(
    Extract(web): Extract<State>,
    admin: Admin,
    headers: HeaderMap,
    Path(key): Path<String>,
    Form(form): Form<RemoveForm>,
) -> Result<Response, Failure> {
    if let Err(refused) = session::check_form(&admin, &headers, &web.config, &form.csrf) {
        return Ok(refused.into_response());
    }
    if form.sure.is_none() {
        return Ok(Redirect::to(&format!("/channels/{key}")).into_response());
    }
    let (catalog, _) = ingest::catalog::load(&web.bus).await?;
    if !catalog.channels.contains_key(&key) {
        return Ok(not_found(&admin));
    }
    let removed = ChannelRemoved {
        channel: key,
        admin_id: Some(admin.admin_id),
    };
    ingest::catalog::publish_changes(&web.bus, vec![Event::from(removed)]).await?;
    Ok(Redirect::to("/channels?done=removed").into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_telegrams_own() {
        assert_eq!(username("@Jobs_42"), Some(Some("Jobs_42".to_owned())));
        assert_eq!(username(""), Some(None));
        assert_eq!(username("@ab"), None);
        assert_eq!(username("9lives"), None);
        assert_eq!(username("x'; DROP TABLE"), None);
    }
}
