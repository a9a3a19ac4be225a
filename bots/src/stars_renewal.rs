//! «Отменить автопродление» and «Возобновить» of a Stars subscription. Telegram renews a
//! subscription on its own; the bot can only ask it not to (`editUserStarSubscription`), or
//! allow it again after the bot canceled it. What Telegram accepts is recorded as
//! `StarsSubscriptionEdited`, so «Моя подписка» says what the bot knows.

use std::time::Duration;

use bus::Bus;
use projections::read;
use schemas::{Envelope, StarsSubscriptionEdited};
use teloxide::RequestError;
use teloxide::prelude::*;
use teloxide::types::TelegramTransactionId;

use crate::polling::patiently;

/// What a renewal button needs: the bot to ask Telegram, the bus to record it, the read model
/// to check whose subscription it is and to wait on before the screen is redrawn.
pub struct Renewals<'a> {
    pub bot: &'a Bot,
    pub bus: &'a Bus,
    pub pool: &'a sqlx::PgPool,
    pub read_your_writes: Duration,
}

impl Renewals<'_> {
    /// Lets Telegram renew `subscription_id` (`on`) or not; the note for the tap. Only the
    /// user's own subscription, in its paid month, is changed; a repeated tap changes nothing.
    pub async fn set(
        &self,
        user_id: i64,
        subscription_id: &str,
        on: bool,
    ) -> anyhow::Result<String> {
        let subscription = read::payments::stars_subscription_by_id(self.pool, subscription_id)
            .await?
            .filter(|s| s.user_id == user_id);
        let Some(subscription) = subscription else {
            return Ok("Эта подписка не найдена — откройте /menu".to_owned());
        };
        if subscription.paid_until <= chrono::Utc::now() {
            return Ok("Эта подписка уже закончилась".to_owned());
        }
        if subscription.canceled != on {
            return Ok(if on {
                "Автопродление и так включено"
            } else {
                "Автопродление уже отменено"
            }
            .to_owned());
        }
        let edit = self.bot.edit_user_star_subscription(
            UserId(user_id as u64),
            TelegramTransactionId(subscription.first_charge_id.clone()),
            !on,
        );
        match patiently(edit).await {
            Ok(_) => {}
            Err(RequestError::Api(refusal)) => {
                tracing::warn!(%subscription_id, %refusal, "Telegram refused to edit a Stars subscription");
                return Ok("Telegram не дал изменить подписку — напишите в поддержку".to_owned());
            }
            // Telegram unreachable or failing: the update is retried.
            Err(error) => return Err(error.into()),
        }
        let edited = StarsSubscriptionEdited {
            subscription_id: subscription_id.to_owned(),
            user_id,
            canceled: !on,
        };
        let published = self.bus.publish(&Envelope::new(edited)).await?;
        let seen = projections::wait_for(
            self.pool,
            projections::Projection::Payments.name(),
            published.sequence,
            self.read_your_writes,
        )
        .await?;
        if !seen {
            return Err(projections::Behind {
                projection: projections::Projection::Payments.name().to_owned(),
                sequence: published.sequence,
            }
            .into());
        }
        Ok(if on {
            "Автопродление снова включено"
        } else {
            "Автопродление отменено — оплаченный месяц остаётся"
        }
        .to_owned())
    }
}
