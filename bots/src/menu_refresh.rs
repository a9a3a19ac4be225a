//! A user who starts a category bot sees the main bot's menu say so (✅ by that bot) without
//! tapping anything: the `main-menu` consumer of USERS redraws the user's live menu on every
//! `CategoryBotStarted`, once the users read model holds it.

use std::time::Duration;

use bus::{Delivery, HandlerError, consume::Handler};
use fanout::telegram::Failure;
use projections::Projection;
use schemas::{Envelope, Event};
use teloxide::prelude::*;
use teloxide::types::MessageId;
use teloxide::{ApiError, RequestError};

use crate::live_menu::{Views, edit};

pub struct MenuRefresh {
    pub bot: Bot,
    pub views: Views,
    /// How long to wait for the users read model to reach the event before trying again.
    pub read_your_writes: Duration,
}

impl Handler for MenuRefresh {
    async fn handle(&self, envelope: Envelope, delivery: &Delivery) -> Result<(), HandlerError> {
        let Event::CategoryBotStarted(started) = &envelope.event else {
            return Ok(());
        };
        let pool = &self.views.pool;
        let unavailable = |error: anyhow::Error| HandlerError::Unavailable(format!("{error:#}"));
        let seen = projections::wait_for(
            pool,
            Projection::Users.name(),
            delivery.stream_sequence,
            self.read_your_writes,
        )
        .await
        .map_err(projections::handler_error)?;
        if !seen {
            return Err(HandlerError::Unavailable(
                "the users read model is behind".into(),
            ));
        }
        let live = projections::read::users::menu_message(pool, started.user_id)
            .await
            .map_err(projections::handler_error)?;
        let Some(message_id) = live else {
            return Ok(());
        };
        let screen = self
            .views
            .main(started.user_id, None)
            .await
            .map_err(unavailable)?;
        match edit(
            &self.bot,
            ChatId(started.user_id),
            MessageId(message_id),
            &screen,
        )
        .await
        {
            Ok(()) => Ok(()),
            // The user deleted the menu, or it is too old to edit: the next /menu draws a new one.
            Err(RequestError::Api(
                ApiError::MessageToEditNotFound | ApiError::MessageCantBeEdited,
            )) => Ok(()),
            Err(error) => match fanout::telegram::classify(&error) {
                Failure::Refused { error, .. } => {
                    tracing::info!(user = started.user_id, %error, "cannot redraw a user's menu");
                    Ok(())
                }
                // A redraw that may have happened is not worth a second one.
                Failure::Ambiguous(_) => Ok(()),
                Failure::Transient(_) | Failure::RetryAfter(_) => {
                    Err(HandlerError::Unavailable(error.to_string()))
                }
            },
        }
    }
}
