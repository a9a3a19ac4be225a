//! What operators watch: dead letters (replay, discard), the scheduler's jobs («Запустить
//! сейчас»), the projections against their streams. Each action is the bus's own call, recorded
//! with `admin:<id>` as the operator — as `remotehunt dlq` and `scheduler trigger` record theirs.

use axum::Form;
use axum::extract::{Path, Query, State as Extract};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;

use super::{Failure, layout, moment};
use crate::State;
use crate::session::{self, Admin, CsrfForm};

/// How much of a dead letter's payload the page shows.
const PAYLOAD_PREVIEW: usize = 600;

fn operator(admin: &Admin) -> String {
    format!("admin:{}", admin.admin_id)
}

#[derive(Debug, Default, Deserialize)]
pub struct LettersShown {
    #[serde(default)]
    all: Option<String>,
    #[serde(default)]
    done: Option<String>,
}

fn letters_done(code: &str) -> Option<&'static str> {
    Some(match code {
        "replayed" => "🔁 Отправлено обратно потребителю.",
        "discarded" => "🗑 Отмечено как разобранное.",
        "already" => "С этим письмом уже разобрались.",
        "refused" => "Это письмо нельзя отправить обратно (или его нет): см. причину в списке.",
        "reason" => "Укажите причину (до 500 знаков).",
        _ => return None,
    })
}

pub async fn dead_letters(
    Extract(web): Extract<State>,
    admin: Admin,
    Query(shown): Query<LettersShown>,
) -> Result<Response, Failure> {
    let all = shown.all.is_some();
    let letters = if all {
        web.bus.dead_letters().await?
    } else {
        web.bus.unhandled_dead_letters().await?
    };
    let body = html! {
        @if let Some(done) = shown.done.as_deref().and_then(letters_done) { p.done { (done) } }
        p {
            @if all { a href="/dead-letters" { "Только ждущие" } }
            @else { a href="/dead-letters?all=1" { "Все, с разобранными" } }
        }
        @if letters.is_empty() { p.muted { "Мёртвых писем нет." } }
        @for letter in letters.iter().rev() {
            div.card.letter data-sequence=(letter.dlq_sequence) {
                p {
                    b { "#" (letter.dlq_sequence) } " · " (letter.stream) " / " (letter.consumer)
                    " · " code { (letter.subject) }
                }
                p.error { (letter.reason) }
                div.post { (String::from_utf8_lossy(&letter.payload).chars().take(PAYLOAD_PREVIEW).collect::<String>()) }
                @if let Some(handled) = &letter.handled {
                    p.muted {
                        (format!("{:?}", handled.action).to_lowercase()) " · " (handled.operator) " · " (moment(handled.at))
                        @if let Some(reason) = &handled.reason { " · " (reason) }
                    }
                } @else {
                    @match letter.replayable() {
                        Ok(()) => {
                            form method="post" action=(format!("/dead-letters/{}/replay", letter.dlq_sequence)) {
                                input type="hidden" name="csrf" value=(admin.csrf);
                                button type="submit" { "🔁 Отправить обратно" }
                            }
                        }
                        Err(why) => { p.muted { (why) } }
                    }
                    form method="post" action=(format!("/dead-letters/{}/discard", letter.dlq_sequence)) {
                        input type="hidden" name="csrf" value=(admin.csrf);
                        input type="text" name="reason" maxlength="500" placeholder="почему разобрано" required;
                        button type="submit" { "🗑 Разобрано" }
                    }
                }
            }
        }
    };
    Ok(layout("Мёртвые письма", Some(&admin), body).into_response())
}

#[derive(Deserialize)]
pub struct LetterForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
}

fn outcome_code(outcome: &bus::dead_letter::Outcome, done: &'static str) -> &'static str {
    match outcome {
        bus::dead_letter::Outcome::Done(_) => done,
        bus::dead_letter::Outcome::AlreadyHandled(_) => "already",
        bus::dead_letter::Outcome::Refused(_) => "refused",
    }
}

pub async fn replay(
    Extract(web): Extract<State>,
    admin: Admin,
    headers: HeaderMap,
    Path(sequence): Path<u64>,
    Form(form): Form<LetterForm>,
) -> Result<Response, Failure> {
    if let Err(refused) = session::check_form(&admin, &headers, &web.config, &form.csrf) {
        return Ok(refused.into_response());
    }
    let outcome = web
        .bus
        .replay_dead_letter(sequence, &operator(&admin))
        .await?;
    let code = outcome_code(&outcome, "replayed");
    Ok(Redirect::to(&format!("/dead-letters?done={code}")).into_response())
}

pub async fn discard(
    Extract(web): Extract<State>,
    admin: Admin,
    headers: HeaderMap,
    Path(sequence): Path<u64>,
    Form(form): Form<LetterForm>,
) -> Result<Response, Failure> {
    if let Err(refused) = session::check_form(&admin, &headers, &web.config, &form.csrf) {
        return Ok(refused.into_response());
    }
    let reason = form.reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Ok(Redirect::to("/dead-letters?done=reason").into_response());
    }
    let outcome = web
        .bus
        .discard_dead_letter(sequence, &operator(&admin), reason)
        .await?;
    let code = outcome_code(&outcome, "discarded");
    Ok(Redirect::to(&format!("/dead-letters?done={code}")).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct JobsShown {
    #[serde(default)]
    started: Option<String>,
}

pub async fn jobs(
    Extract(web): Extract<State>,
    admin: Admin,
    Query(shown): Query<JobsShown>,
) -> Result<Response, Failure> {
    let jobs = scheduler::status::jobs(&web.bus, &web.pool).await?;
    let started = shown.started.as_deref().and_then(schemas::Job::parse);
    let body = html! {
        @if let Some(job) = started { p.done { "▶️ Запущено: «" (job.title()) "». Итог появится здесь." } }
        @for status in &jobs {
            div.card.job data-job=(status.job.as_str()) {
                p { b { (status.job.title()) } " · " code { (status.job.as_str()) } }
                p.muted {
                    "Расписание: " (status.schedule.as_deref().unwrap_or("не задано"))
                    @if let Some(next) = status.next_run { " · следующий запуск " (moment(next)) }
                }
                @match &status.last_run {
                    Some(run) => {
                        p {
                            "Последний: " (moment(run.tick_at)) " · "
                            (run.outcome.as_deref().unwrap_or("идёт"))
                            @if let Some(by) = &run.triggered_by { " · запустил " (by) }
                        }
                        @if let Some(error) = &run.error { p.error { (error) } }
                    }
                    None => { p.muted { "Ещё не запускалась." } }
                }
                form method="post" action=(format!("/jobs/{}/run", status.job.as_str())) {
                    input type="hidden" name="csrf" value=(admin.csrf);
                    button type="submit" { "▶️ Запустить сейчас" }
                }
            }
        }
    };
    Ok(layout("Задачи", Some(&admin), body).into_response())
}

pub async fn run_job(
    Extract(web): Extract<State>,
    admin: Admin,
    headers: HeaderMap,
    Path(job): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, Failure> {
    if let Err(refused) = session::check_form(&admin, &headers, &web.config, &form.csrf) {
        return Ok(refused.into_response());
    }
    let Some(job) = schemas::Job::parse(&job) else {
        return Ok(Redirect::to("/jobs").into_response());
    };
    web.bus.trigger(job, &operator(&admin)).await?;
    Ok(Redirect::to(&format!("/jobs?started={}", job.as_str())).into_response())
}

pub async fn projections(Extract(web): Extract<State>, admin: Admin) -> Result<Response, Failure> {
    let mut rows = Vec::new();
    for projection in projections::Projection::ALL {
        let applied = projections::checkpoint(&web.pool, projection.name()).await?;
        let last = web.bus.last_sequence(projection.stream()).await?;
        rows.push((projection.name(), projection.stream(), applied, last));
    }
    let body = html! {
        table {
            tr { th { "Проекция" } th { "Поток" } th { "Применено" } th { "Конец потока" } th { "Отстаёт" } }
            @for (name, stream, applied, last) in &rows {
                tr {
                    td { (name) } td { (stream) } td { (applied) } td { (last) }
                    td { @if applied >= last { "—" } @else { b.error { (last - applied) } } }
                }
            }
        }
        p.muted { "Пересобрать: " code { "remotehunt projections rebuild NAME" } }
    };
    Ok(layout("Проекции", Some(&admin), body).into_response())
}
