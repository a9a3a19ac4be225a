//! Subscribers' personal Atom feeds: `/feeds/<user id>/<token>/<category>.atom`, the URLs
//! «Моя подписка» shows (`bots::feeds`). Served only while the user's access runs, and only
//! for categories they chose; the newest vacancies of the category, as the bots deliver them.

use axum::extract::{Path, State as Extract};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use projections::read;

use crate::State;
use crate::pages::Failure;

/// Entries in a feed: readers poll, so the newest are enough.
const ENTRIES: i64 = 50;
/// How much of a post an entry's title takes when the classifier gave none.
const TITLE_CHARS: usize = 80;

fn refused(status: StatusCode, why: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        why,
    )
        .into_response()
}

pub async fn serve(
    Extract(web): Extract<State>,
    Path((user_id, token, file)): Path<(i64, String, String)>,
) -> Result<Response, Failure> {
    let Some(feeds) = &web.config.feeds else {
        return Ok(refused(StatusCode::NOT_FOUND, "Ленты выключены."));
    };
    let (Some(category), true) = (file.strip_suffix(".atom"), feeds.verify(user_id, &token)) else {
        return Ok(refused(StatusCode::NOT_FOUND, "Такой ленты нет."));
    };
    let access = read::users::access(&web.pool, user_id)
        .await?
        .unwrap_or_default();
    if access.running(Utc::now()).is_none() {
        return Ok(refused(
            StatusCode::FORBIDDEN,
            "Подписка не активна: лента вернётся после оплаты в боте.",
        ));
    }
    let chosen = read::users::chosen_categories(&web.pool, user_id).await?;
    let name = read::catalog::active_categories(&web.pool)
        .await?
        .into_iter()
        .find(|c| c.slug == category && chosen.contains(&c.slug))
        .map(|c| c.name);
    let Some(name) = name else {
        return Ok(refused(
            StatusCode::NOT_FOUND,
            "Эта категория не выбрана в боте.",
        ));
    };
    let filter = read::vacancies::Filter {
        category: category.to_owned(),
        kind: "vacancy".to_owned(),
        ..read::vacancies::Filter::default()
    };
    let vacancies = read::vacancies::search(&web.pool, &filter, ENTRIES, 0).await?;
    let self_url = feeds.url(user_id, category);
    let feed = atom(&name, &self_url, &vacancies);
    Ok((
        [(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")],
        feed.to_string(),
    )
        .into_response())
}

fn atom(
    name: &str,
    self_url: &str,
    vacancies: &[read::vacancies::Found],
) -> atom_syndication::Feed {
    use atom_syndication::{Content, Entry, Feed, Link, Text};
    let entries: Vec<Entry> = vacancies
        .iter()
        .map(|v| {
            let text = v.text.clone().unwrap_or_default();
            let title = v
                .title
                .clone()
                .unwrap_or_else(|| text.chars().take(TITLE_CHARS).collect());
            Entry {
                title: Text::plain(title),
                id: format!("urn:remotehunt:post:{}:{}", v.chat_id, v.message_id),
                updated: v.classified_at.fixed_offset(),
                links: v
                    .link
                    .iter()
                    .filter(|link| crate::pages::safe_href(link).is_some())
                    .map(|link| Link {
                        href: link.clone(),
                        ..Link::default()
                    })
                    .collect(),
                content: Some(Content {
                    value: Some(text),
                    content_type: Some("text".to_owned()),
                    ..Content::default()
                }),
                summary: v.chat_title.clone().map(Text::plain),
                ..Entry::default()
            }
        })
        .collect();
    Feed {
        title: Text::plain(format!("RemoteHunt — {name}")),
        id: self_url.to_owned(),
        updated: vacancies
            .first()
            .map_or_else(Utc::now, |v| v.classified_at)
            .fixed_offset(),
        links: vec![Link {
            href: self_url.to_owned(),
            rel: "self".to_owned(),
            ..Link::default()
        }],
        lang: Some("ru".to_owned()),
        entries,
        ..Feed::default()
    }
}
