//! The main bot's notification sender: drains both outboxes (`notify` consumer, pinned to one
//! process at a time) through fan-out's paced, once-only dispatcher, at a rate that leaves the
//! main bot headroom under Telegram's 30 messages/s for its interactive replies. A 403 is a
//! failed notification, never retried; a send whose answer never came is unconfirmed, never
//! repeated.

use bus::{Delivery, HandlerError, consume::Handler};
use chrono::Utc;
use fanout::dispatch::{Dispatcher, Outcome};
use fanout::send::SendConfig;
use schemas::{
    Body, ButtonAction, ChatTarget, Envelope, Event, NotificationClaimed, NotificationFailed,
    NotificationPlanned, NotificationSent, NotificationUnconfirmed,
};
use teloxide::prelude::*;
use teloxide::types::{
    InlineKeyboardButton, InlineKeyboardMarkup, InputFile, ParseMode, Recipient,
};

/// Notifications per second: Telegram allows the bot about 30; its users' own taps need the rest.
pub const DEFAULT_RATE: f64 = 20.0;

pub struct Notifier {
    bot: Bot,
    bus: bus::Bus,
    dispatcher: Dispatcher,
    /// Plans older than this are dropped: an expiry notice a day late is wrong.
    max_plan_age: chrono::Duration,
    /// This process's id in claims.
    sender_id: String,
}

impl Notifier {
    pub fn new(bot: Bot, bus: bus::Bus, config: SendConfig) -> Self {
        Self {
            max_plan_age: config.max_plan_age,
            dispatcher: Dispatcher::new(bus.clone(), "main", config),
            bot,
            bus,
            sender_id: uuid::Uuid::now_v7().to_string(),
        }
    }

    async fn notify(
        &self,
        envelope: &Envelope,
        plan: &NotificationPlanned,
    ) -> Result<(), HandlerError> {
        if Utc::now() - envelope.occurred_at > self.max_plan_age {
            return Ok(());
        }
        let notification_id = plan.notification_id();
        let claim = Envelope::new(NotificationClaimed {
            notification_id: notification_id.clone(),
            sender: self.sender_id.clone(),
        })
        .caused_by(envelope);
        // A redelivered plan that was claimed before must not take a send slot.
        if self
            .bus
            .has::<NotificationClaimed>(&claim.aggregate().id)
            .await?
        {
            return Ok(());
        }
        let photo = match &plan.body {
            Body::Photo { png_base64, .. } => {
                use base64::Engine;
                match base64::engine::general_purpose::STANDARD.decode(png_base64) {
                    Ok(png) => Some(png),
                    Err(error) => {
                        return Err(HandlerError::Poison(format!(
                            "{notification_id}: the photo is not base64: {error}"
                        )));
                    }
                }
            }
            Body::Text { .. } => None,
        };
        let outcome = self
            .dispatcher
            .claim_and_send(pace_key(&plan.chat), &claim, || {
                self.request(plan, photo.clone())
            })
            .await?;
        let record = match outcome {
            None => return Ok(()),
            Some(Outcome::Sent(sent_message_id)) => Envelope::new(NotificationSent {
                notification_id,
                sent_message_id,
                sent_at: Utc::now(),
            }),
            Some(Outcome::Unconfirmed(error)) => {
                tracing::warn!(%notification_id, %error, "notification unconfirmed: not sent again");
                Envelope::new(NotificationUnconfirmed {
                    notification_id,
                    error,
                })
            }
            Some(Outcome::Refused { error, .. }) => {
                tracing::info!(%notification_id, %error, "notification refused");
                Envelope::new(NotificationFailed {
                    notification_id,
                    error,
                })
            }
        };
        self.dispatcher.record(&record.caused_by(envelope)).await;
        Ok(())
    }

    async fn request(
        &self,
        plan: &NotificationPlanned,
        photo: Option<Vec<u8>>,
    ) -> Result<Message, teloxide::RequestError> {
        let chat = match &plan.chat {
            ChatTarget::Id(id) => Recipient::Id(ChatId(*id)),
            ChatTarget::Username(name) => Recipient::ChannelUsername(name.clone()),
        };
        let keyboard = keyboard(plan);
        match (&plan.body, photo) {
            (Body::Photo { caption_html, .. }, Some(png)) => {
                let mut request = self
                    .bot
                    .send_photo(chat, InputFile::memory(png).file_name("report.png"))
                    .caption(caption_html.clone())
                    .parse_mode(ParseMode::Html);
                if let Some(keyboard) = keyboard {
                    request = request.reply_markup(keyboard);
                }
                request.await
            }
            (Body::Text { html }, _)
            | (
                Body::Photo {
                    caption_html: html, ..
                },
                None,
            ) => {
                let mut request = self
                    .bot
                    .send_message(chat, html.clone())
                    .parse_mode(ParseMode::Html);
                if let Some(keyboard) = keyboard {
                    request = request.reply_markup(keyboard);
                }
                request.await
            }
        }
    }
}

fn keyboard(plan: &NotificationPlanned) -> Option<InlineKeyboardMarkup> {
    if plan.buttons.is_empty() {
        return None;
    }
    let rows = plan.buttons.iter().map(|row| {
        row.iter()
            .filter_map(|button| match &button.action {
                ButtonAction::Callback(data) => Some(InlineKeyboardButton::callback(
                    button.label.clone(),
                    data.clone(),
                )),
                ButtonAction::Url(url) => url::Url::parse(url)
                    .ok()
                    .map(|url| InlineKeyboardButton::url(button.label.clone(), url)),
            })
            .collect::<Vec<_>>()
    });
    Some(InlineKeyboardMarkup::new(rows))
}

/// The pacer's key for a chat: its id, or a stable number for a channel's @username.
fn pace_key(chat: &ChatTarget) -> i64 {
    match chat {
        ChatTarget::Id(id) => *id,
        ChatTarget::Username(name) => {
            // FNV-1a: the same number for the same name in every process.
            let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
                (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
            });
            i64::MIN + (hash >> 1) as i64
        }
    }
}

impl Handler for Notifier {
    async fn handle(&self, envelope: Envelope, _delivery: &Delivery) -> Result<(), HandlerError> {
        match &envelope.event {
            Event::NotificationPlanned(plan) => self.notify(&envelope, plan).await,
            _ => Ok(()),
        }
    }
}
