//! Reports reach the admins. Each subscriber's report goes to every admin (`ADMIN_IDS`) from the
//! main bot, with the post and two buttons: confirm (an admin's correction the classifier
//! learns from, which also withdraws the post from the public pick) or dismiss. One verdict
//! per report, whoever presses first.

use bus::{Bus, Delivery, HandlerError, consume::Handler};
use fanout::card::escape;
use fanout::telegram::Failure;
use schemas::{
    ClassificationCorrected, Envelope, Event, MessageClassified, MessageKey, PostKind,
    ReportReason, ReportResolved, Resolution, VacancyReported,
};
use sqlx::PgPool;
use teloxide::prelude::*;
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup, ParseMode};

use crate::polling::patiently;
use schemas::callback::MenuAction;

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
            let action = MenuAction::Verdict {
                report_id: report.report_id.clone(),
                resolution,
            };
            if let Some(data) = action.data() {
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
            let Err(error) = sent else { continue };
            match fanout::telegram::classify(&error) {
                // An admin who never started the main bot must not hold up the others.
                Failure::Refused { error, .. } => {
                    tracing::warn!(admin, %error, "cannot send a report to an admin");
                }
                // It may have arrived: a second copy to an admin is better than none, but not
                // worth holding the report for.
                Failure::Ambiguous(error) => {
                    tracing::warn!(admin, %error, "a report to an admin is unconfirmed");
                }
                // Telegram failing: the report comes again (admins may see it twice).
                Failure::Transient(_) | Failure::RetryAfter(_) => return Err(error.into()),
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
        self.notify(report).await.map_err(|error| {
            let reason = format!("{error:#}");
            if crate::polling::is_transient(&error) {
                HandlerError::Unavailable(reason)
            } else {
                HandlerError::Retryable(reason)
            }
        })
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
///
/// Two events, written so that a failure between them is completed by the retry: the decision
/// first (once per report, so a second verdict finds the first one), then what it implies,
/// derived from the stored decision and skipped when already written. A verdict that finds the
/// report decided still completes the correction, so a crash after the first event loses
/// nothing.
pub async fn resolve(
    bus: &Bus,
    pool: &PgPool,
    admin_id: i64,
    report_id: &str,
    resolution: Resolution,
) -> anyhow::Result<Verdict> {
    let Some(report) = projections::read::reports::find(pool, report_id).await? else {
        return Ok(Verdict::UnknownReport);
    };
    let resolved = Envelope::new(ReportResolved {
        report_id: report_id.to_owned(),
        admin_id,
        resolution,
    });
    let first = report.resolution.is_none() && !bus.publish(&resolved).await?.duplicate;
    let decided = if first {
        ReportResolved {
            report_id: report_id.to_owned(),
            admin_id,
            resolution,
        }
    } else {
        bus.latest::<ReportResolved>(report_id)
            .await?
            .ok_or_else(|| {
                anyhow::anyhow!("report {report_id} is resolved but USERS has no resolution")
            })?
    };
    if decided.resolution == Resolution::Confirmed {
        correct(bus, &report, &decided, &resolved).await?;
    }
    Ok(if first {
        Verdict::Recorded(resolution)
    } else {
        Verdict::AlreadyResolved
    })
}

/// The correction a confirmed report implies, unless it was written before.
async fn correct(
    bus: &Bus,
    report: &projections::read::reports::Report,
    decided: &ReportResolved,
    cause: &Envelope,
) -> anyhow::Result<()> {
    let key = MessageKey::new(report.chat_id, report.message_id);
    let already = bus
        .latest::<ClassificationCorrected>(&key.id())
        .await?
        .is_some_and(|c| c.report_id.as_deref() == Some(decided.report_id.as_str()));
    if already {
        return Ok(());
    }
    let (kind, categories) = if report.reason == "not_vacancy" {
        (PostKind::Other, Vec::new())
    } else {
        let current = bus
            .latest::<MessageClassified>(&key.id())
            .await?
            .map(|c| c.categories)
            .unwrap_or_default();
        let rest = current
            .into_iter()
            .map(|c| c.slug)
            .filter(|c| Some(c) != report.category.as_ref())
            .collect();
        (PostKind::Vacancy, rest)
    };
    let correction = Envelope::new(ClassificationCorrected {
        key,
        kind,
        categories,
        admin_id: decided.admin_id,
        report_id: Some(decided.report_id.clone()),
    })
    .caused_by(cause);
    bus.publish(&correction).await?;
    Ok(())
}
