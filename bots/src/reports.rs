//! Reports reach the admins. Each subscriber's report goes to every admin (`ADMIN_IDS`) from the
//! main bot, with the post and two buttons: confirm (an admin's correction the classifier
//! learns from, which also withdraws the post from the public pick and from every chat that
//! got it) or dismiss. One verdict per report, whoever presses first: then every admin's copy
//! says who decided what (its formatting and link kept), and the reporter is told the outcome.
//! The report names the reporter, the channel and the category in words, never by ids.

use bus::{Bus, Delivery, HandlerError, consume::Handler};
use fanout::card::escape;
use fanout::telegram::Failure;
use schemas::{
    Body, ChatTarget, ClassificationCorrected, Envelope, Event, MessageClassified, MessageKey,
    NotificationPlanned, Outbox, PostKind, ReportReason, ReportResolved, ReportSentToAdmin,
    Resolution, Topic, VacancyReported,
};
use sqlx::PgPool;
use teloxide::prelude::*;
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup, MessageId, ParseMode};

use crate::polling::patiently;
use schemas::callback::MenuAction;

pub fn reason_text(reason: ReportReason) -> &'static str {
    match reason {
        ReportReason::NotVacancy => "не вакансия",
        ReportReason::WrongCategory => "не та категория",
    }
}

pub fn parse_reason(stored: &str) -> ReportReason {
    if stored == "not_vacancy" {
        ReportReason::NotVacancy
    } else {
        ReportReason::WrongCategory
    }
}

/// What a report is about, from its event or its read-model row.
#[derive(Debug, Clone)]
pub struct ReportFacts {
    pub report_id: String,
    pub user_id: i64,
    pub key: MessageKey,
    pub category: Option<String>,
    pub reason: ReportReason,
}

impl From<&VacancyReported> for ReportFacts {
    fn from(report: &VacancyReported) -> Self {
        Self {
            report_id: report.report_id.clone(),
            user_id: report.user_id,
            key: report.key,
            category: report.category.clone(),
            reason: report.reason,
        }
    }
}

impl ReportFacts {
    fn from_row(report_id: &str, row: &projections::read::reports::Report) -> Self {
        Self {
            report_id: report_id.to_owned(),
            user_id: row.user_id,
            key: MessageKey::new(row.chat_id, row.message_id),
            category: row.category.clone(),
            reason: parse_reason(&row.reason),
        }
    }
}

/// A user as admins know them: «Анна (@anna)», «Анна», or their id when the read model has none.
async fn person(pool: &PgPool, user_id: i64) -> anyhow::Result<String> {
    Ok(
        match projections::read::users::profile(pool, user_id).await? {
            Some(p) => match p.username {
                Some(username) if !p.first_name.is_empty() => {
                    format!("{} (@{username})", p.first_name)
                }
                Some(username) => format!("@{username}"),
                None if !p.first_name.is_empty() => p.first_name,
                None => format!("пользователь {user_id}"),
            },
            None => format!("пользователь {user_id}"),
        },
    )
}

/// The report as admins read it (HTML): the reason, who, the category and the channel in words,
/// the link and the post's text. The same text before and after the verdict.
pub async fn render(bus: &Bus, pool: &PgPool, report: &ReportFacts) -> anyhow::Result<String> {
    // A NATS hiccup must not make the admin read "deleted": it is retried instead.
    let post = bus.current_message(report.key).await?;
    let category = match &report.category {
        Some(slug) => projections::read::catalog::active_categories(pool)
            .await?
            .into_iter()
            .find(|c| &c.slug == slug)
            .map_or_else(|| slug.clone(), |c| c.name),
        None => "без категории".to_owned(),
    };
    let mut text = format!(
        "⚠️ Жалоба: <b>{}</b>\nОт: {}\nКатегория: {}",
        reason_text(report.reason),
        escape(&person(pool, report.user_id).await?),
        escape(&category),
    );
    match &post {
        Some(post) => {
            let channel = post
                .chat_title
                .clone()
                .or_else(|| post.chat_username.as_ref().map(|u| format!("@{u}")))
                .unwrap_or_else(|| "канал".to_owned());
            let channel = match &post.link {
                Some(link) => format!("<a href=\"{}\">{}</a>", escape(link), escape(&channel)),
                None => escape(&channel),
            };
            text.push_str(&format!("\nКанал: {channel}"));
            let excerpt: String = post.text.chars().take(800).collect();
            text.push_str(&format!("\n\n{}", escape(&excerpt)));
        }
        None => text.push_str("\n\n(пост удалён)"),
    }
    Ok(text)
}

/// The `admin-reports` consumer of USERS: each report, to each admin.
pub struct ReportsToAdmins {
    pub bot: Bot,
    pub bus: Bus,
    pub pool: PgPool,
    pub admins: Vec<i64>,
}

impl ReportsToAdmins {
    async fn notify(&self, report: &VacancyReported) -> anyhow::Result<()> {
        let text = render(&self.bus, &self.pool, &ReportFacts::from(report)).await?;
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
            let error = match sent {
                Ok(message) => {
                    // The copy to edit once somebody decides.
                    let copy = Envelope::new(ReportSentToAdmin {
                        report_id: report.report_id.clone(),
                        admin_id: *admin,
                        message_id: message.id.0,
                    });
                    self.bus.publish(&copy).await?;
                    continue;
                }
                Err(error) => error,
            };
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

/// After a verdict: every admin's copy of the report says what was decided and by whom, its
/// buttons gone. A copy deleted (or too old to edit) is skipped.
pub async fn update_copies(
    bot: &Bot,
    bus: &Bus,
    pool: &PgPool,
    report_id: &str,
    decided: &ReportResolved,
) -> anyhow::Result<()> {
    let Some(row) = projections::read::reports::find(pool, report_id).await? else {
        return Ok(());
    };
    let facts = ReportFacts::from_row(report_id, &row);
    let verdict = match decided.resolution {
        Resolution::Confirmed => match facts.reason {
            ReportReason::NotVacancy => {
                "✅ Подтверждено: не вакансия — пост убран у всех получателей"
            }
            ReportReason::WrongCategory => "✅ Подтверждено: категория исправлена",
        },
        Resolution::Dismissed => "✖️ Отклонено: пост оставлен",
    };
    let text = format!(
        "{}\n\n<b>{verdict}</b>\nРешение: {}",
        render(bus, pool, &facts).await?,
        escape(&person(pool, decided.admin_id).await?)
    );
    for (admin, message_id) in projections::read::reports::copies(pool, report_id).await? {
        let edit = bot
            .edit_message_text(ChatId(admin), MessageId(message_id), text.clone())
            .parse_mode(ParseMode::Html)
            .reply_markup(InlineKeyboardMarkup::default());
        match patiently(edit).await {
            Ok(_) => {}
            Err(error) => match fanout::telegram::classify(&error) {
                Failure::Transient(_) | Failure::RetryAfter(_) => return Err(error.into()),
                // Not modified (a retry), deleted by the admin, too old: nothing to update.
                _ => tracing::info!(admin, %error, "an admin's copy of a report was not updated"),
            },
        }
    }
    Ok(())
}

/// What the reporter hears of their report, through the main bot's paced, once-only sender.
async fn outcome_for_reporter(
    bus: &Bus,
    report: &ReportFacts,
    decided: &ReportResolved,
) -> anyhow::Result<()> {
    let post = bus.current_message(report.key).await?;
    let about = post
        .map(|p| {
            let first_line = p.text.lines().next().unwrap_or_default().to_owned();
            format!(" «{}»", escape(&crate::menu::short(&first_line, 60)))
        })
        .unwrap_or_default();
    let html = match (decided.resolution, report.reason) {
        (Resolution::Confirmed, ReportReason::NotVacancy) => format!(
            "✅ Спасибо! Модераторы проверили пост{about}: это не вакансия — он убран у всех, кому пришёл."
        ),
        (Resolution::Confirmed, ReportReason::WrongCategory) => format!(
            "✅ Спасибо! Модераторы проверили пост{about}: категорию исправили, подборка учтёт это."
        ),
        (Resolution::Dismissed, _) => format!(
            "Модераторы проверили пост{about} и оставили его как есть. Спасибо, что помогаете!"
        ),
    };
    let planned = Envelope::new(NotificationPlanned {
        topic: Topic::ReportOutcome {
            user_id: report.user_id,
            report_id: report.report_id.clone(),
        },
        outbox: Outbox::Main,
        chat: ChatTarget::Id(report.user_id),
        body: Body::Text { html },
        buttons: Vec::new(),
        run_id: format!("verdict:{}", report.report_id),
    });
    // Once per report: planning it again (a retried verdict) is the same notification.
    bus.publish(&planned).await?;
    Ok(())
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
) -> anyhow::Result<(Verdict, Option<ReportResolved>)> {
    let Some(report) = projections::read::reports::find(pool, report_id).await? else {
        return Ok((Verdict::UnknownReport, None));
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
    outcome_for_reporter(bus, &ReportFacts::from_row(report_id, &report), &decided).await?;
    let verdict = if first {
        Verdict::Recorded(resolution)
    } else {
        Verdict::AlreadyResolved
    };
    Ok((verdict, Some(decided)))
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
