//! Expiry notices, a pure function of the users whose access ends near now: a warning for each
//! one whose trial or paid period ends within the window, and «закончилась» for each whose
//! access ended (since the look-back). A notice's id is the user, the kind and the end instant:
//! planned again it is the same notice, and a user who pays and later expires again is told
//! again, about the new end.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use projections::read::scheduler::ExpiringUser;
use schemas::{
    AccessKind, Body, Button, ButtonAction, ChatTarget, NotificationPlanned, Outbox, Topic,
};

/// Callback data of the main bot's "Оплатить" (its plans).
pub const PLANS_CALLBACK: &str = "p";

/// The notices for `users` at `now`, in the users' order.
pub fn notices(
    users: &[ExpiringUser],
    now: DateTime<Utc>,
    timezone: Tz,
    run_id: &str,
) -> Vec<NotificationPlanned> {
    users
        .iter()
        .filter_map(|user| notice(user, now, timezone, run_id))
        .collect()
}

fn notice(
    user: &ExpiringUser,
    now: DateTime<Utc>,
    timezone: Tz,
    run_id: &str,
) -> Option<NotificationPlanned> {
    let (access, end) = user.access.ends()?;
    let (topic, html) = if end > now {
        let when = end.with_timezone(&timezone).format("%d.%m.%Y в %H:%M");
        let html = match access {
            AccessKind::Trial => format!(
                "⏳ Пробный период заканчивается <b>{when}</b> (МСК). Чтобы вакансии приходили и дальше, выберите тариф."
            ),
            AccessKind::Paid => format!(
                "⏳ Подписка заканчивается <b>{when}</b> (МСК). Продлите её, чтобы вакансии приходили без перерыва."
            ),
        };
        let topic = Topic::ExpiryWarning {
            user_id: user.user_id,
            access,
            ends_at: end,
        };
        (topic, html)
    } else {
        let html = match access {
            AccessKind::Trial => {
                "⌛ Пробный период закончился — вакансии больше не приходят. Выберите тариф, чтобы снова их получать.".to_owned()
            }
            AccessKind::Paid => {
                "⌛ Подписка закончилась — вакансии больше не приходят. Продлите её, чтобы снова их получать.".to_owned()
            }
        };
        let topic = Topic::AccessEnded {
            user_id: user.user_id,
            access,
            ended_at: end,
        };
        (topic, html)
    };
    Some(NotificationPlanned {
        topic,
        outbox: Outbox::Main,
        chat: ChatTarget::Id(user.user_id),
        body: Body::Text { html },
        buttons: vec![vec![Button {
            label: "💳 Выбрать тариф".into(),
            action: ButtonAction::Callback(PLANS_CALLBACK.into()),
        }]],
        run_id: run_id.to_owned(),
    })
}
