//! The public channel's daily pick: for each category, the best vacancy of the 24 hours before
//! the pick's time — confident, with a budget and a contact where there is one — each linking to
//! the original, under a button that opens the main bot (`?start=channel`, so sign-ups from the
//! channel can be counted). One post, or one per category when one would not fit.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use projections::read::catalog::Category;
use projections::read::scheduler::PickCandidate;
use schemas::{Body, Button, ButtonAction, ChatTarget, NotificationPlanned, Outbox, Topic};

use crate::report::escape;

/// How good a candidate is: the classifier's confidence, and what makes a post worth answering.
fn score(candidate: &PickCandidate) -> f32 {
    let budget = if candidate.budget.as_ref().is_some_and(|b| !b.is_null()) {
        0.5
    } else {
        0.0
    };
    let contact = if candidate.has_contact { 0.3 } else { 0.0 };
    candidate.confidence + budget + contact
}

/// The best candidate of each category, in the catalog's order; a vacancy is picked for one
/// category only.
pub fn choose<'a>(
    categories: &'a [Category],
    candidates: &'a [PickCandidate],
) -> Vec<(&'a Category, &'a PickCandidate)> {
    let mut by_category: BTreeMap<&str, Vec<&PickCandidate>> = BTreeMap::new();
    for candidate in candidates {
        by_category
            .entry(candidate.slug.as_str())
            .or_default()
            .push(candidate);
    }
    let mut taken = std::collections::HashSet::new();
    let mut picks = Vec::new();
    for category in categories {
        let Some(list) = by_category.get(category.slug.as_str()) else {
            continue;
        };
        let best = list
            .iter()
            .filter(|c| !taken.contains(&(c.chat_id, c.message_id)))
            .max_by(|a, b| {
                score(a)
                    .total_cmp(&score(b))
                    // Newer first among equals, then a stable order.
                    .then(a.posted_at.cmp(&b.posted_at))
                    .then(b.message_id.cmp(&a.message_id))
            });
        if let Some(best) = best {
            taken.insert((best.chat_id, best.message_id));
            picks.push((category, *best));
        }
    }
    picks
}

/// One category's item: its name, the vacancy's title (or its first words) linking to the
/// original, and the budget when known.
fn item(category: &Category, candidate: &PickCandidate) -> String {
    let title = candidate
        .title
        .clone()
        .filter(|t| !t.trim().is_empty())
        .unwrap_or_else(|| first_words(&candidate.text, 120));
    let link = candidate.link.as_deref().unwrap_or_default();
    let mut item = format!(
        "<b>{}</b>\n<a href=\"{}\">{}</a>",
        escape(&category.name),
        escape(link).replace('"', "&quot;"),
        escape(&title)
    );
    if let Some(budget) = candidate.budget.as_ref().and_then(budget_text) {
        item.push_str(&format!("\n💰 {}", escape(&budget)));
    }
    item
}

fn budget_text(budget: &serde_json::Value) -> Option<String> {
    let amount = budget.get("amount").and_then(|a| a.as_i64());
    let max = budget.get("max").and_then(|a| a.as_i64());
    let min = budget.get("min").and_then(|a| a.as_i64());
    let currency = budget
        .get("currency")
        .and_then(|c| c.as_str())
        .unwrap_or("RUB");
    let sign = if currency == "RUB" { "₽" } else { currency };
    match (amount, min, max) {
        (Some(a), _, _) => Some(format!("{a} {sign}")),
        (None, Some(lo), Some(hi)) => Some(format!("{lo}–{hi} {sign}")),
        (None, Some(lo), None) => Some(format!("от {lo} {sign}")),
        (None, None, Some(hi)) => Some(format!("до {hi} {sign}")),
        _ => budget.as_str().map(str::to_owned),
    }
}

fn first_words(text: &str, limit: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= limit {
        return flat;
    }
    let cut: String = flat.chars().take(limit).collect();
    match cut.rfind(' ') {
        Some(space) => format!("{}…", &cut[..space]),
        None => format!("{cut}…"),
    }
}

/// The day's posts: all items in one when they fit in a message, else one per category.
pub fn plan(
    day: NaiveDate,
    picks: &[(&Category, &PickCandidate)],
    channel: &ChatTarget,
    main_bot_username: &str,
    run_id: &str,
) -> Vec<NotificationPlanned> {
    if picks.is_empty() {
        return Vec::new();
    }
    let header = format!("🔥 <b>Вакансии дня — {}</b>", day.format("%d.%m.%Y"));
    let items: Vec<String> = picks.iter().map(|(c, v)| item(c, v)).collect();
    let whole = format!("{header}\n\n{}", items.join("\n\n"));
    let texts = if whole.chars().count() <= schemas::TEXT_LIMIT {
        vec![whole]
    } else {
        items
            .into_iter()
            .map(|item| format!("{header}\n\n{item}"))
            .collect()
    };
    let button = Button {
        label: "🔔 Получать вакансии в Telegram".into(),
        action: ButtonAction::Url(format!("https://t.me/{main_bot_username}?start=channel")),
    };
    texts
        .into_iter()
        .enumerate()
        .map(|(part, html)| NotificationPlanned {
            topic: Topic::PublicPick {
                day,
                part: part as u32,
            },
            outbox: Outbox::Channel,
            chat: channel.clone(),
            body: Body::Text { html },
            buttons: vec![vec![button.clone()]],
            run_id: run_id.to_owned(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn category(slug: &str, name: &str) -> Category {
        Category {
            slug: slug.into(),
            name: name.into(),
        }
    }

    fn candidate(slug: &str, message_id: i64, confidence: f32, budget: bool) -> PickCandidate {
        PickCandidate {
            slug: slug.into(),
            chat_id: -100,
            message_id,
            title: Some(format!("Вакансия {message_id}")),
            text: "Нужен специалист".into(),
            link: Some(format!("https://t.me/jobs/{message_id}")),
            confidence,
            budget: budget.then(|| serde_json::json!({"amount": 20000, "currency": "RUB"})),
            has_contact: false,
            posted_at: chrono::DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn each_category_gets_its_best_vacancy_and_a_budget_counts() {
        let categories = [category("design", "Дизайн"), category("dev", "Разработка")];
        let candidates = [
            candidate("design", 1, 0.9, false),
            candidate("design", 2, 0.7, true),
            candidate("dev", 2, 0.95, true),
            candidate("dev", 3, 0.6, false),
        ];
        let picks = choose(&categories, &candidates);
        let chosen: Vec<(&str, i64)> = picks
            .iter()
            .map(|(c, v)| (c.slug.as_str(), v.message_id))
            .collect();
        // design: 0.7 + budget beats 0.9; dev may not take 2 again, so 3
        assert_eq!(chosen, [("design", 2), ("dev", 3)]);
    }

    #[test]
    fn one_post_links_every_pick_and_opens_the_bot() {
        let categories = [category("design", "Дизайн")];
        let candidates = [candidate("design", 7, 0.9, true)];
        let day = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap_or_default();
        let posts = plan(
            day,
            &choose(&categories, &candidates),
            &ChatTarget::Username("@jobs".into()),
            "rh_main_bot",
            "public-pick:1",
        );
        assert_eq!(posts.len(), 1);
        let Body::Text { html } = &posts[0].body else {
            panic!("text")
        };
        assert!(
            html.contains("<a href=\"https://t.me/jobs/7\">Вакансия 7</a>"),
            "{html}"
        );
        assert!(html.contains("💰 20000 ₽"));
        assert_eq!(
            posts[0].buttons[0][0].action,
            ButtonAction::Url("https://t.me/rh_main_bot?start=channel".into())
        );
        assert_eq!(posts[0].notification_id(), "pick:2026-12-01:0");
    }

    #[test]
    fn a_pick_too_long_for_one_post_is_one_post_per_category() {
        let categories: Vec<Category> = (0..40)
            .map(|n| category(&format!("c{n}"), &format!("Категория {n}")))
            .collect();
        let candidates: Vec<PickCandidate> = (0..40)
            .map(|n| PickCandidate {
                title: Some("Очень длинное название вакансии ".repeat(4)),
                ..candidate(&format!("c{n}"), n, 0.9, true)
            })
            .collect();
        let day = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap_or_default();
        let posts = plan(
            day,
            &choose(&categories, &candidates),
            &ChatTarget::Id(-100),
            "rh_main_bot",
            "public-pick:1",
        );
        assert_eq!(posts.len(), 40);
        assert!(
            posts
                .iter()
                .all(|p| schemas::Event::from(p.clone()).validate().is_ok())
        );
    }
}
