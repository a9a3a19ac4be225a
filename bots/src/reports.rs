//! Reports reach the admins. Each subscriber's report goes to every admin (`ADMIN_IDS`) from the
//! main bot, with the post and two buttons: confirm (an admin's correction the classifier
//! learns from, which also withdraws the post from the public pick) or dismiss. One verdict
//! per report, whoever presses first.

use bus::{Bus, Delivery, HandlerError, consume::Handler};
use fanout::card::escape;
use schemas::{
    Area, ClassificationCorrected, Envelope, Event, MessageKey, PostKind, ReportReason,
    ReportResolved, Resolution, VacancyReported,
};
use sqlx::{PgPool, Row};
use teloxide::prelude::*;
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup, ParseMode};

use crate::polling::patiently;

/// Callback data of the admins' buttons: `ra:<report id>` confirms, `rd:<report id>` dismisses.
pub fn verdict_data(report_id: &str, resolution: Resolution) -> Option<String> {
    let prefix = match resolution {
        Resolution::Confirmed => "ra",
        Resolution::Dismissed => "rd",
    };
    let data = format!("{prefix}:{report_id}");
    (data.len() <= 64).then_some(data)
}

pub fn parse_verdict(data: &str) -> Option<(Resolution, &str)> {
    let (prefix, report_id) = data.split_once(':')?;
    let resolution = match prefix {
        "ra" => Resolution::Confirmed,
        "rd" => Resolution::Dismissed,
        _ => return None,
    };
    (!report_id.is_empty()).then_some((resolution, report_id))
}

fn reason_text(reason: ReportReason) -> &'static str {
    match reason {
        ReportReason::NotVacancy => "не вакансия",
        ReportReason::WrongCategory => "не та категория",
    }
}

/// The `admin-reports` consumer of USERS: each report, to each admin.
pub struct ReportsToAdmins {
    pub bot: Bot,
    pub bus: Bus,
    pub admins: Vec<i64>,
}

impl ReportsToAdmins {
    async fn notify(&self, report: &VacancyReported) -> anyhow::Result<()> {
        // A NATS hiccup must not make the admin read "deleted": it is retried instead.
        let post = self.bus.current_message(report.key).await?;
        let mut text = format!(
            "⚠️ Жалоба: <b>{}</b>{}\nОт пользователя {}\nПост {}",
            reason_text(report.reason),
            report
                .category
                .as_deref()
                .map(|c| format!(" (категория {})", escape(c)))
                .unwrap_or_default(),
            report.user_id,
            report.key.id(),
        );
        match &post {
            Some(post) => {
                if let Some(link) = &post.link {
                    text.push_str(&format!(" — <a href=\"{}\">открыть</a>", escape(link)));
                }
                let excerpt: String = post.text.chars().take(800).collect();
                text.push_str(&format!("\n\n{}", escape(&excerpt)));
            }
            None => text.push_str("\n\n(пост удалён)"),
        }
        let mut row = Vec::new();
        for (label, resolution) in [
            ("✅ Подтвердить", Resolution::Confirmed),
            ("✖️ Отклонить", Resolution::Dismissed),
        ] {
            if let Some(data) = verdict_data(&report.report_id, resolution) {
                row.push(InlineKeyboardButton::callback(label, data));
            }
        }
        let keyboard = InlineKeyboardMarkup::new([row]);
        for admin in &self.admins {
            let sent = patiently(
                self.bot
                    .send_message(ChatId(*admin), text.clone())
                    .parse_mode(ParseMode::Html)
                    .reply_markup(keyboard.clone()),
            )
            .await;
            match sent {
                Ok(_) => {}
                // An admin who never started the main bot must not hold up the others.
                Err(teloxide::RequestError::Api(error)) => {
                    tracing::warn!(admin, %error, "cannot send a report to an admin");
                }
                Err(error) => return Err(error.into()),
            }
        }
        Ok(())
    }
}

impl Handler for ReportsToAdmins {
    async fn handle(&self, envelope: Envelope, _delivery: &Delivery) -> Result<(), HandlerError> {
        let Event::VacancyReported(report) = &envelope.event else {
            return Ok(());
        };
        self.notify(report)
            .await
            .map_err(|e| HandlerError::Retryable(format!("{e:#}")))
    }
}

/// What came of an admin's button.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Recorded(Resolution),
    AlreadyResolved,
    UnknownReport,
}

/// Records an admin's verdict. A confirmed report becomes the admin's correction of the post:
/// not a vacancy, or a vacancy without the reported category.
pub async fn resolve(
    bus: &Bus,
    pool: &PgPool,
    admin_id: i64,
    report_id: &str,
    resolution: Resolution,
) -> anyhow::Result<Verdict> {
    let Some(row) = sqlx::query(
        "SELECT chat_id, message_id, category, reason, resolution FROM reports WHERE report_id = $1",
    )
    .bind(report_id)
    .fetch_optional(pool)
    .await?
    else {
        return Ok(Verdict::UnknownReport);
    };
    if row.try_get::<Option<String>, _>("resolution")?.is_some() {
        return Ok(Verdict::AlreadyResolved);
    }
    let key = MessageKey::new(row.try_get("chat_id")?, row.try_get("message_id")?);
    let resolved = Envelope::with_id(
        format!("report:{report_id}:resolved"),
        ReportResolved {
            report_id: report_id.to_owned(),
            admin_id,
            resolution,
        },
    );
    if bus.publish(&resolved).await?.duplicate {
        return Ok(Verdict::AlreadyResolved);
    }
    if resolution == Resolution::Confirmed {
        let reported: Option<String> = row.try_get("category")?;
        let not_vacancy = row.try_get::<String, _>("reason")? == "not_vacancy";
        let current: Vec<String> = match bus
            .last_on_subject(&Area::Classifications.subject("classified", &key.id()))
            .await?
            .map(|stored| stored.envelope.event)
        {
            Some(Event::MessageClassified(c)) => c.categories.into_iter().map(|c| c.slug).collect(),
            _ => Vec::new(),
        };
        let (kind, categories) = if not_vacancy {
            (PostKind::Other, Vec::new())
        } else {
            let rest = current
                .into_iter()
                .filter(|c| Some(c) != reported.as_ref())
                .collect();
            (PostKind::Vacancy, rest)
        };
        let correction = Envelope::with_id(
            format!("report:{report_id}:correction"),
            ClassificationCorrected {
                key,
                kind,
                categories,
                admin_id,
                report_id: Some(report_id.to_owned()),
            },
        )
        .caused_by(&resolved);
        bus.publish(&correction).await?;
    }
    Ok(Verdict::Recorded(resolution))
}
