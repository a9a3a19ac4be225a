//! The user's live menu: one message in the main bot's chat that every button edits in place.
//! [`Views`] reads what a screen shows from the read models; [`draw`] puts a screen into the
//! message a button was pressed on (or a new message, recorded as the live one with
//! `MainMenuShown`), so the main bot can redraw it later without the user tapping anything.

use bus::Bus;
use chrono::Utc;
use projections::read;
use schemas::{Envelope, MainMenuShown};
use sqlx::PgPool;
use teloxide::prelude::*;
use teloxide::types::{MessageId, ParseMode};
use teloxide::{ApiError, RequestError};

use crate::menu::{self, Screen, Setup, UserView};
use crate::polling::patiently;

/// What the screens need from the read models, and the bot's own setup.
#[derive(Clone)]
pub struct Views {
    pub pool: PgPool,
    /// Everything but the catalog, which is read fresh for each screen.
    pub setup: Setup,
}

impl Views {
    /// The setup with the catalog's active categories as they are now.
    pub async fn setup(&self) -> anyhow::Result<Setup> {
        Ok(Setup {
            categories: read::catalog::active_categories(&self.pool).await?,
            ..self.setup.clone()
        })
    }

    pub async fn user(&self, user_id: i64) -> anyhow::Result<UserView> {
        let pool = &self.pool;
        let hidden = read::users::hidden_authors_seen(pool, user_id)
            .await?
            .into_iter()
            .map(|h| {
                let name =
                    menu::author_name(&h.author, h.chat_title.as_deref(), h.username.as_deref());
                (h.author, name)
            })
            .collect();
        let chosen = read::users::chosen_categories(pool, user_id).await?;
        Ok(UserView {
            user_id,
            access: read::users::access(pool, user_id)
                .await?
                .unwrap_or_default(),
            started: read::users::started_bots(pool, user_id)
                .await?
                .into_iter()
                .collect(),
            bots: self.users_bots(user_id, &chosen).await?,
            chosen: chosen.into_iter().collect(),
            zone: read::users::time_zone(pool, user_id)
                .await?
                .and_then(|zone| zone.parse().ok()),
            hidden,
            stars: read::payments::stars_subscription(pool, user_id).await?,
        })
    }

    /// The user's bot in each chosen category with several bots: the one they started last
    /// while it is configured, else the one with the fewest users, which their link opens.
    async fn users_bots(
        &self,
        user_id: i64,
        chosen: &[String],
    ) -> anyhow::Result<std::collections::BTreeMap<String, i64>> {
        let pool = &self.pool;
        let theirs = read::users::user_bots(pool, user_id).await?;
        let mut bots = std::collections::BTreeMap::new();
        for slug in chosen {
            let Some(configured) = self.setup.category_bots.get(slug) else {
                continue;
            };
            let ids: Vec<i64> = configured.iter().map(|(id, _)| *id).collect();
            if ids.len() < 2 {
                continue;
            }
            let started = theirs
                .iter()
                .find(|(category, _)| category == slug)
                .map(|(_, bot)| bot.bot_id.unwrap_or(ids[0]))
                .filter(|id| ids.contains(id));
            let bot = match started {
                Some(id) => Some(id),
                None => {
                    let loads = read::users::bot_loads(pool, slug).await?;
                    menu::bot_for_newcomer(&ids, &loads, user_id)
                }
            };
            bots.extend(bot.map(|id| (slug.clone(), id)));
        }
        Ok(bots)
    }

    /// The main menu as it reads for `user_id` now.
    pub async fn main(&self, user_id: i64, greeting: Option<&str>) -> anyhow::Result<Screen> {
        let view = self.user(user_id).await?;
        Ok(menu::main(
            &view,
            &self.setup().await?,
            greeting,
            Utc::now(),
        ))
    }
}

/// Where a screen goes: over the menu message a button was pressed on, or into a new message.
#[derive(Debug, Clone, Copy)]
pub enum Place {
    Edit(MessageId),
    New,
}

/// Draws `screen` for `user_id`. An edit that changes nothing is fine; a menu message the user
/// deleted (or one too old to edit) is replaced by a new one. A new message becomes the live
/// menu, and so does an older menu the user tapped (the one they are looking at).
pub async fn draw(
    bot: &Bot,
    bus: &Bus,
    pool: &PgPool,
    user_id: i64,
    screen: &Screen,
    place: Place,
) -> anyhow::Result<()> {
    let chat = ChatId(user_id);
    if let Place::Edit(message_id) = place {
        match edit(bot, chat, message_id, screen).await {
            Ok(()) => {
                let live = read::users::menu_message(pool, user_id).await?;
                if live != Some(message_id.0) {
                    shown(bus, user_id, message_id);
                }
                return Ok(());
            }
            Err(RequestError::Api(
                ApiError::MessageToEditNotFound | ApiError::MessageCantBeEdited,
            )) => {}
            Err(error) => return Err(error.into()),
        }
    }
    let sent = patiently(
        bot.send_message(chat, screen.text.clone())
            .parse_mode(ParseMode::Html)
            .reply_markup(screen.keyboard.clone()),
    )
    .await?;
    shown(bus, user_id, sent.id);
    Ok(())
}

/// Edits a menu message into `screen`; "not modified" (a doubled tap) is a success.
pub async fn edit(
    bot: &Bot,
    chat: ChatId,
    message_id: MessageId,
    screen: &Screen,
) -> Result<(), RequestError> {
    let request = bot
        .edit_message_text(chat, message_id, screen.text.clone())
        .parse_mode(ParseMode::Html)
        .reply_markup(screen.keyboard.clone());
    match patiently(request).await {
        Ok(_) | Err(RequestError::Api(ApiError::MessageNotModified)) => Ok(()),
        Err(error) => Err(error),
    }
}

/// Records `message_id` as the user's live menu. The message is out already, so the record must
/// never cost a second one: it is published on a task of its own until NATS stores it (the same
/// event each try, stored once), and the update is done at once. Failing — or merely waiting
/// in — the handler instead would have a retried or handed-over update send the menu again.
/// (Two menus drawn during one NATS outage may then be recorded in either order; the next draw
/// sets it right.)
fn shown(bus: &Bus, user_id: i64, message_id: MessageId) {
    let event = Envelope::new(MainMenuShown {
        user_id,
        message_id: message_id.0,
    });
    let bus = bus.clone();
    tokio::spawn(async move {
        if let Err(error) = bus.publish_until_stored(&event).await {
            tracing::error!(user_id, %error, "the live menu was not recorded");
        }
    });
}
