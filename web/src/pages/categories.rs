//! Categories: added, renamed or reordered (`CategoryDefined`) and retired (`CategoryRetired`),
//! each naming the admin, published by `ingest::catalog::publish_changes` like the catalog
//! file's changes. The list folds the CATALOG stream, the one source of truth.

use axum::Form;
use axum::extract::{Path, Query, State as Extract};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use schemas::{CategoryDefined, CategoryRetired, Event, Payload};
use serde::Deserialize;

use super::{Done, Failure, layout};
use crate::State;
use crate::session::{self, Admin};

fn done_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "added" => {
            "✅ Категория добавлена: её бот начнёт получать вакансии, как только классификатор их отнесёт к ней."
        }
        "saved" => "✅ Категория сохранена.",
        "retired" => "🗑 Категория убрана: подписчики её больше не видят.",
        _ => return None,
    })
}

pub async fn list(
    Extract(web): Extract<State>,
    admin: Admin,
    Query(shown): Query<Done>,
) -> Result<Response, Failure> {
    let (catalog, _) = ingest::catalog::load(&web.bus).await?;
    let body = html! {
        @if let Some(done) = shown.done.as_deref().and_then(done_text) { p.done { (done) } }
        @if catalog.categories.is_empty() { p.muted { "Категорий нет." } }
        table {
            tr { th { "Слаг" } th { "Название, порядок, очередь рассылки" } th { "Убрать" } }
            @for (slug, name) in catalog.active_categories() {
                @let (_, order, paid_first) = catalog.categories[slug];
                tr {
                    td { code { (slug) } }
                    td {
                        form method="post" action=(format!("/categories/{slug}")) {
                            input type="hidden" name="csrf" value=(admin.csrf);
                            input type="text" name="name" value=(name) required maxlength="64";
                            input type="number" name="order" value=(order) min="-1000" max="1000" required;
                            label { input type="checkbox" name="paid_first" value="on" checked[paid_first]; " сначала платящим" }
                            button type="submit" { "Сохранить" }
                        }
                    }
                    td {
                        form method="post" action=(format!("/categories/{slug}/retire")) {
                            input type="hidden" name="csrf" value=(admin.csrf);
                            label { input type="checkbox" name="sure" value="on" required; " да" }
                            button type="submit" { "Убрать" }
                        }
                    }
                }
            }
        }
        h2 { "Добавить категорию" }
        form method="post" action="/categories" {
            input type="hidden" name="csrf" value=(admin.csrf);
            input type="text" name="slug" placeholder="слаг: a-z 0-9 - _" required maxlength="32" pattern="[a-z0-9_-]{1,32}";
            input type="text" name="name" placeholder="Название" required maxlength="64";
            input type="number" name="order" value=(catalog.categories.len()) min="-1000" max="1000" required;
            label { input type="checkbox" name="paid_first" value="on"; " сначала платящим" }
            button type="submit" { "Добавить" }
        }
    };
    Ok(layout("Категории", Some(&admin), body).into_response())
}

#[derive(Deserialize)]
pub struct CategoryForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    slug: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    order: String,
    #[serde(default)]
    sure: Option<String>,
    /// A checkbox: sent only when ticked.
    #[serde(default)]
    paid_first: Option<String>,
}

impl CategoryForm {
    fn defined(&self, slug: &str, admin: &Admin) -> Result<CategoryDefined, String> {
        let name = self.name.trim();
        if name.chars().count() > 64 {
            return Err("Название — до 64 знаков.".to_owned());
        }
        let order = self
            .order
            .trim()
            .parse::<i32>()
            .ok()
            .filter(|o| (-1000..=1000).contains(o))
            .ok_or("Порядок — число от -1000 до 1000.")?;
        let defined = CategoryDefined {
            slug: slug.to_owned(),
            name: name.to_owned(),
            order,
            paid_first: self.paid_first.is_some(),
            admin_id: Some(admin.admin_id),
        };
        defined.validate()?;
        Ok(defined)
    }
}

fn refused_input(admin: &Admin, why: &str) -> Response {
    super::not_saved(admin, why, "/categories", "К категориям")
}

pub async fn add(
    Extract(web): Extract<State>,
    admin: Admin,
    headers: HeaderMap,
    Form(form): Form<CategoryForm>,
) -> Result<Response, Failure> {
    if let Err(refused) = session::check_form(&admin, &headers, &web.config, &form.csrf) {
        return Ok(refused.into_response());
    }
    let defined = match form.defined(form.slug.trim(), &admin) {
        Ok(defined) => defined,
        Err(why) => return Ok(refused_input(&admin, &why)),
    };
    let (catalog, _) = ingest::catalog::load(&web.bus).await?;
    if catalog.categories.contains_key(&defined.slug) {
        return Ok(refused_input(&admin, "Такая категория уже есть."));
    }
    ingest::catalog::publish_changes(&web.bus, vec![Event::from(defined)]).await?;
    Ok(Redirect::to("/categories?done=added").into_response())
}

pub async fn save(
    Extract(web): Extract<State>,
    admin: Admin,
    headers: HeaderMap,
    Path(slug): Path<String>,
    Form(form): Form<CategoryForm>,
) -> Result<Response, Failure> {
    if let Err(refused) = session::check_form(&admin, &headers, &web.config, &form.csrf) {
        return Ok(refused.into_response());
    }
    let (catalog, _) = ingest::catalog::load(&web.bus).await?;
    if !catalog.categories.contains_key(&slug) {
        return Ok(refused_input(&admin, "Такой категории нет."));
    }
    let defined = match form.defined(&slug, &admin) {
        Ok(defined) => defined,
        Err(why) => return Ok(refused_input(&admin, &why)),
    };
    ingest::catalog::publish_changes(&web.bus, vec![Event::from(defined)]).await?;
    Ok(Redirect::to("/categories?done=saved").into_response())
}

pub async fn retire(
    Extract(web): Extract<State>,
    admin: Admin,
    headers: HeaderMap,
    Path(slug): Path<String>,
    Form(form): Form<CategoryForm>,
) -> Result<Response, Failure> {
    if let Err(refused) = session::check_form(&admin, &headers, &web.config, &form.csrf) {
        return Ok(refused.into_response());
    }
    let (catalog, _) = ingest::catalog::load(&web.bus).await?;
    if form.sure.is_none() || !catalog.categories.contains_key(&slug) {
        return Ok(Redirect::to("/categories").into_response());
    }
    let retired = CategoryRetired {
        slug,
        admin_id: Some(admin.admin_id),
    };
    ingest::catalog::publish_changes(&web.bus, vec![Event::from(retired)]).await?;
    Ok(Redirect::to("/categories?done=retired").into_response())
}
