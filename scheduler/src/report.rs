//! The admins' daily report: the previous calendar day's figures as HTML, and the last 14 days
//! as a chart. Each admin gets it once per day: a photo of the chart with a short caption, then
//! the full text as its own message (a caption holds at most 1,024 characters).

use chrono::NaiveDate;
use projections::read::report::{Day, Money};
use schemas::{Body, ChatTarget, NotificationPlanned, Outbox, Topic};

use crate::chart::DayFigures;

/// The day's figures, with what the read models do not hold.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub day: NaiveDate,
    pub figures: Day,
    /// Dead letters no operator has replayed or discarded yet.
    pub unhandled_dead_letters: usize,
}

/// The report's parts for each admin: the chart (PNG) and the text.
pub fn plan(
    report: &Report,
    chart_png: &[u8],
    admins: &[i64],
    run_id: &str,
) -> Vec<NotificationPlanned> {
    use base64::Engine;
    let png_base64 = base64::engine::general_purpose::STANDARD.encode(chart_png);
    let caption = caption(report);
    let text = text(report);
    admins
        .iter()
        .flat_map(|&admin_id| {
            let part = |part: &str, body: Body| NotificationPlanned {
                topic: Topic::AdminReport {
                    admin_id,
                    day: report.day,
                    part: part.to_owned(),
                },
                outbox: Outbox::Main,
                chat: ChatTarget::Id(admin_id),
                body,
                buttons: Vec::new(),
                run_id: run_id.to_owned(),
            };
            [
                part(
                    "chart",
                    Body::Photo {
                        png_base64: png_base64.clone(),
                        caption_html: caption.clone(),
                    },
                ),
                part("text", Body::Text { html: text.clone() }),
            ]
        })
        .collect()
}

fn caption(report: &Report) -> String {
    let f = &report.figures;
    format!(
        "📊 <b>Отчёт за {}</b>\nНовых пользователей: {}, платящих: {}, вакансий: {}.",
        report.day.format("%d.%m.%Y"),
        f.new_users,
        f.active_paid,
        f.vacancies_per_category.iter().map(|(_, n)| n).sum::<i64>()
    )
}

/// Silent channels named in the report; the rest are counted.
const SILENT_NAMED: usize = 20;

/// Items joined with commas, or «нет».
fn listed(items: impl Iterator<Item = String>) -> String {
    let items: Vec<String> = items.collect();
    if items.is_empty() {
        "нет".to_owned()
    } else {
        items.join(", ")
    }
}

fn money(rows: &[Money]) -> String {
    if rows.is_empty() {
        return "нет".into();
    }
    rows.iter()
        .map(|m| {
            let amount = match m.currency.as_str() {
                "RUB" => format!("{:.2} ₽", m.minor as f64 / 100.0),
                "XTR" => format!("{} ⭐", m.minor),
                other => format!("{} {other}", m.minor),
            };
            format!("{} — {} на {amount}", escape(&m.provider), m.count)
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The full report as Telegram HTML.
pub fn text(report: &Report) -> String {
    let f = &report.figures;
    let share = if f.posts_classified > 0 {
        100.0 * f.classified_by_llm as f64 / f.posts_classified as f64
    } else {
        0.0
    };
    let categories = listed(
        f.vacancies_per_category
            .iter()
            .map(|(name, n)| format!("{} — {n}", escape(name))),
    );
    let top = listed(
        f.top_channels
            .iter()
            .map(|c| format!("{} — {}", escape(&c.title), c.vacancies)),
    );
    // A service reading hundreds of channels may have many silent ones: name the first few,
    // so the report always fits in one message.
    let silent = match f.silent_channels.len() {
        n if n > SILENT_NAMED => format!(
            "{} и ещё {}",
            listed(f.silent_channels[..SILENT_NAMED].iter().map(|t| escape(t))),
            n - SILENT_NAMED
        ),
        _ => listed(f.silent_channels.iter().map(|t| escape(t))),
    };
    let mut text = format!(
        "📊 <b>Отчёт за {day}</b> (МСК)\n\n\
         <b>Пользователи</b>\n\
         Новых: {new_users}{sources}\n\
         Начали пробный период: {trials}\n\
         Оплатили после пробного: {converted}\n\
         Активных пробных: {active_trials}\n\
         Активных платных: {active_paid}\n\
         Доступ закончился: {expirations}\n\n\
         <b>Деньги</b>\n\
         Платежи: {payments}\n\
         Возвраты: {refunds}\n\n\
         <b>Вакансии</b>\n\
         По категориям: {categories}\n\
         Постов: {seen}, прошли правила: {accepted}, классифицировано: {classified} (LLM: {share:.0}%)\n\
         Доставлено: {sent}, не доставлено: {failed}\n\n\
         <b>Каналы</b>\n\
         Больше всего вакансий: {top}\n\
         Без вакансий 7 дней: {silent}\n\n\
         <b>Ждут решения</b>\n\
         Жалоб: {reports}, необработанных ошибок (DLQ): {dead}",
        day = report.day.format("%d.%m.%Y"),
        new_users = f.new_users,
        sources = if f.sources.is_empty() {
            String::new()
        } else {
            let sources = f
                .sources
                .iter()
                .map(|(source, n)| format!("{} — {n}", escape(source)));
            format!(" (по ссылкам: {})", listed(sources))
        },
        trials = f.trials_started,
        converted = f.trials_converted,
        active_trials = f.active_trials,
        active_paid = f.active_paid,
        expirations = f.expirations,
        payments = money(&f.payments),
        refunds = money(&f.refunds),
        seen = f.posts_seen,
        accepted = f.posts_accepted,
        classified = f.posts_classified,
        sent = f.deliveries_sent,
        failed = f.deliveries_failed,
        reports = f.reports_waiting,
        dead = report.unhandled_dead_letters,
    );
    if text.chars().count() > schemas::TEXT_LIMIT {
        // Very long channel titles can still overflow: cut at a line's end, where every tag is
        // closed (each line opens and closes its own), and say so.
        let head: String = text.chars().take(schemas::TEXT_LIMIT - 2).collect();
        let cut = head.rfind('\n').unwrap_or(head.len());
        text = format!("{}\n…", &head[..cut]);
    }
    text
}

/// The chart's series from the read model's per-day figures, oldest first.
pub fn chart_days(
    days: &[NaiveDate],
    figures: &[projections::read::report::ChartDay],
) -> Vec<DayFigures> {
    days.iter()
        .zip(figures)
        .map(|(day, f)| DayFigures {
            day: *day,
            new_users: f.new_users.max(0) as u64,
            paying_subscribers: f.paying_subscribers.max(0) as u64,
            vacancies: f.vacancies.max(0) as u64,
        })
        .collect()
}

/// Telegram HTML's three special characters.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_shows_every_figure_and_escapes_names() {
        let report = Report {
            day: NaiveDate::from_ymd_opt(2026, 11, 30).unwrap_or_default(),
            figures: Day {
                new_users: 3,
                sources: vec![("ref_42".into(), 2), ("channel".into(), 1)],
                payments: vec![Money {
                    provider: "yookassa".into(),
                    currency: "RUB".into(),
                    count: 2,
                    minor: 39_800,
                }],
                vacancies_per_category: vec![("Дизайн <UI>".into(), 4)],
                posts_classified: 4,
                classified_by_llm: 1,
                ..Day::default()
            },
            unhandled_dead_letters: 2,
        };
        let text = text(&report);
        assert!(text.contains("Отчёт за 30.11.2026"), "{text}");
        assert!(
            text.contains("Новых: 3 (по ссылкам: ref_42 — 2, channel — 1)"),
            "{text}"
        );
        assert!(text.contains("Новых: 3"));
        assert!(text.contains("yookassa — 2 на 398.00 ₽"));
        assert!(text.contains("Дизайн &lt;UI&gt; — 4"));
        assert!(text.contains("(LLM: 25%)"));
        assert!(text.contains("необработанных ошибок (DLQ): 2"));
        assert!(caption(&report).chars().count() <= schemas::CAPTION_LIMIT);
    }

    #[test]
    fn many_silent_channels_still_fit_in_one_message() {
        let report = Report {
            day: NaiveDate::from_ymd_opt(2026, 11, 30).unwrap_or_default(),
            figures: Day {
                silent_channels: (0..200)
                    .map(|n| format!("Канал {n} {}", "ы".repeat(150)))
                    .collect(),
                ..Day::default()
            },
            unhandled_dead_letters: 0,
        };
        let text = text(&report);
        assert!(text.chars().count() <= schemas::TEXT_LIMIT);
        assert_eq!(
            text.matches("<b>").count(),
            text.matches("</b>").count(),
            "{text}"
        );
        let short = Report {
            figures: Day {
                silent_channels: (0..30).map(|n| format!("Канал {n}")).collect(),
                ..Day::default()
            },
            ..report
        };
        assert!(super::text(&short).contains("Канал 19 и ещё 10"));
    }
}
