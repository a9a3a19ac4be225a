//! A category bot: it delivers that category's vacancies (the sender in `fanout` uses its
//! token) and answers its users. `/start` makes the user reachable by this bot, `/stop` pauses
//! it; under each card, "Не вакансия / не та категория" asks which and files a report, "Скрыть
//! автора" hides the post's author for good. A button only works for a user this bot delivered
//! that post to: forged or stale data is refused without effect.

use bus::Bus;
use fanout::card::{Button, CardAction, card_buttons, keyboard, report_buttons};
use schemas::{
    AuthorHidden, AuthorUnhidden, BotStopReason, CategoryBotStarted, CategoryBotStopped, Envelope,
    MessageKey, ReportReason, VacancyReported,
};
use sqlx::PgPool;
use teloxide::prelude::*;
use teloxide::types::{
    BotCommand, CallbackQuery, InlineKeyboardButton, InlineKeyboardButtonKind,
    InlineKeyboardMarkup, Message, UpdateKind,
};
use tokio_util::sync::CancellationToken;

use crate::polling::{patiently, poll};

/// A card younger than this may be tapped before its delivery is recorded.
const FRESH_CARD: chrono::Duration = chrono::Duration::minutes(1);
/// How long a tap on a fresh card waits for its delivery to be recorded.
const RECORDING_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

pub struct CategoryBot {
    /// The catalog slug.
    pub category: String,
    /// The numeric id in this bot's token, and whether it is the category's first bot (the
    /// one events recorded while the category had one bot mean).
    pub bot_id: i64,
    pub first_of_category: bool,
    /// The category's name as users see it.
    pub name: String,
    pub bot: Bot,
    pub bus: Bus,
    pub pool: PgPool,
    pub poll_timeout: u32,
    /// The main bot's @username (without @): where a user without running access is sent.
    pub main_bot_username: Option<String>,
}

/// The main bot's start payloads for users sent there to choose categories or to pay.
pub const TO_CATEGORIES: &str = "categories";
pub const TO_PLANS: &str = "renew";

/// The original post's link that a card's «Открыть пост» button holds, kept when the card's
/// other buttons change.
fn post_link(query: &CallbackQuery) -> Option<String> {
    let markup = query.regular_message()?.reply_markup()?;
    markup
        .inline_keyboard
        .iter()
        .flatten()
        .find_map(|button| match &button.kind {
            InlineKeyboardButtonKind::Url(url) => Some(url.to_string()),
            _ => None,
        })
}

impl CategoryBot {
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let this = &self;
        let commands = [
            BotCommand::new("start", "Получать заказы"),
            BotCommand::new("stop", "Пауза"),
            BotCommand::new("help", "Как это работает"),
        ];
        if let Err(error) = self.bot.set_my_commands(commands).await {
            tracing::warn!(bot = %self.category, %error, "could not set the bot's commands");
        }
        poll(
            &self.bot,
            &self.bus,
            &self.category,
            self.poll_timeout,
            &shutdown,
            |update| {
                let this = &this;
                async move {
                    match update.kind {
                        UpdateKind::Message(message) => this.on_message(&message).await,
                        UpdateKind::CallbackQuery(query) => this.on_button(&query).await,
                        _ => Ok(()),
                    }
                }
            },
        )
        .await;
        Ok(())
    }

    fn help(&self) -> String {
        format!(
            "Я присылаю свежие заказы категории «{}».\n/start — получать\n/stop — пауза\n\
             Категории, подписка, оплата и помощь — в главном боте.",
            self.name
        )
    }

    /// A button to the main bot (with a start payload saying why the user comes), if its
    /// username is known.
    fn to_main_bot(&self, label: &str, payload: &str) -> Option<InlineKeyboardMarkup> {
        let main = self.main_bot_username.as_deref()?;
        let url = url::Url::parse(&format!("https://t.me/{main}?start={payload}")).ok()?;
        Some(InlineKeyboardMarkup::new([[InlineKeyboardButton::url(
            label, url,
        )]]))
    }

    async fn on_message(&self, message: &Message) -> anyhow::Result<()> {
        let Some(user) = message.from.as_ref() else {
            return Ok(());
        };
        let user_id = user.id.0 as i64;
        let text = message.text().unwrap_or_default().trim();
        let command = text.split_whitespace().next().unwrap_or_default();
        let (reply, markup) = match command.split('@').next().unwrap_or_default() {
            "/start" => {
                // Started already: nothing changes, so nothing is recorded (and the main
                // bot's menu is not redrawn under the user for nothing).
                let current =
                    projections::read::users::user_bot(&self.pool, user_id, &self.category).await?;
                let started_here =
                    current.is_some_and(|b| b.active && b.is(self.bot_id, self.first_of_category));
                if !started_here {
                    self.bus
                        .publish(&Envelope::new(CategoryBotStarted {
                            user_id,
                            category: self.category.clone(),
                            bot_id: Some(self.bot_id),
                        }))
                        .await?;
                }
                self.on_start(user_id).await?
            }
            "/stop" => {
                self.bus
                    .publish(&Envelope::new(CategoryBotStopped {
                        user_id,
                        category: self.category.clone(),
                        reason: BotStopReason::Paused,
                        bot_id: Some(self.bot_id),
                    }))
                    .await?;
                (
                    "Пауза: заказов не будет, пока не нажмёте /start.".to_owned(),
                    None,
                )
            }
            _ => (self.help(), self.to_main_bot("Открыть главный бот", "help")),
        };
        let mut request = self.bot.send_message(message.chat.id, reply);
        if let Some(markup) = markup {
            request = request.reply_markup(markup);
        }
        patiently(request).await?;
        Ok(())
    }

    /// What a started bot can promise: «Готово!» only when the user chose this category and
    /// their access runs; otherwise what is missing, with the way to the main bot.
    async fn on_start(
        &self,
        user_id: i64,
    ) -> anyhow::Result<(String, Option<InlineKeyboardMarkup>)> {
        let pool = &self.pool;
        let access = projections::read::users::access(pool, user_id).await?;
        let chosen = projections::read::users::chosen_categories(pool, user_id).await?;
        let name = &self.name;
        let Some(access) = access else {
            let text = format!(
                "Чтобы получать заказы «{name}», сначала откройте главный бот: там регистрация и пробный период."
            );
            return Ok((text, self.to_main_bot("Открыть главный бот", "start")));
        };
        if !access.is_running(chrono::Utc::now()) {
            let text = format!(
                "⏸ Подписка не активна — заказы «{name}» на паузе. Оформите подписку в главном боте, и они снова начнут приходить сюда."
            );
            return Ok((text, self.to_main_bot("Оформить подписку", TO_PLANS)));
        }
        if !chosen.contains(&self.category) {
            let text = format!(
                "Категория «{name}» не выбрана в главном боте — её заказы сюда не придут. Отметьте её в «🗂 Категории»."
            );
            return Ok((text, self.to_main_bot("Выбрать категории", TO_CATEGORIES)));
        }
        Ok((
            format!("Готово! Сюда будут приходить заказы «{name}». /stop — пауза."),
            None,
        ))
    }

    async fn on_button(&self, query: &CallbackQuery) -> anyhow::Result<()> {
        let user_id = query.from.id.0 as i64;
        let data = query.data.as_deref().unwrap_or_default();
        let action = CardAction::parse(data);
        let delivered = match action {
            Some(action) => self.delivered_to(query, user_id, action.key()).await?,
            None => false,
        };
        let (Some(action), true) = (action, delivered) else {
            self.answer(query, "Эта кнопка устарела").await?;
            return Ok(());
        };
        match action {
            CardAction::Report(key) => {
                self.set_buttons(query, &report_buttons(key)).await?;
                self.answer(query, "Что не так с этим постом?").await
            }
            CardAction::CancelReport(key) => {
                self.set_buttons(query, &card_buttons(key)).await?;
                self.answer(query, "Хорошо, оставили как есть").await
            }
            CardAction::ReportAs(key, reason) => self.report(query, user_id, key, reason).await,
            CardAction::HideAuthor(key) => self.hide_author(query, user_id, key, false).await,
            CardAction::HideChannel(key) => self.hide_author(query, user_id, key, true).await,
            CardAction::UndoHide(key) => self.undo_hide(query, user_id, key).await,
        }
    }

    async fn report(
        &self,
        query: &CallbackQuery,
        user_id: i64,
        key: MessageKey,
        reason: ReportReason,
    ) -> anyhow::Result<()> {
        let event = Envelope::new(VacancyReported {
            report_id: VacancyReported::id_for(user_id, &key),
            user_id,
            key,
            category: Some(self.category.clone()),
            reason,
        });
        let published = self.bus.publish(&event).await?;
        let hide_only: Vec<Button> = card_buttons(key)
            .into_iter()
            .filter(|b| CardAction::parse(&b.callback_data) == Some(CardAction::HideAuthor(key)))
            .collect();
        self.set_buttons(query, &hide_only).await?;
        let note = if published.duplicate {
            "Вы уже сообщили об этом посте"
        } else {
            "Спасибо! Передали модераторам"
        };
        self.answer(query, note).await
    }

    async fn hide_author(
        &self,
        query: &CallbackQuery,
        user_id: i64,
        key: MessageKey,
        confirmed: bool,
    ) -> anyhow::Result<()> {
        let Some(author) = projections::read::vacancies::author(&self.pool, key).await? else {
            return self
                .answer(query, "Автор поста неизвестен — скрыть не получится")
                .await;
        };
        // A channel's own post is signed with the channel's name: hiding its "author" hides
        // the channel, so the user is asked first.
        if !confirmed && let Some(channel) = self.own_post_of(key, &author).await? {
            let ask = [
                Button {
                    label: format!("🙈 Скрыть весь канал «{channel}»"),
                    callback_data: CardAction::HideChannel(key).callback_data(),
                },
                Button {
                    label: "Отмена".to_owned(),
                    callback_data: CardAction::CancelReport(key).callback_data(),
                },
            ];
            self.set_buttons(query, &ask).await?;
            return self
                .answer(query, "Это пост самого канала — скрыть весь канал?")
                .await;
        }
        self.bus
            .publish(&Envelope::new(AuthorHidden { user_id, author }))
            .await?;
        // «Отменить» takes the hide's place under the card, for a mistaken tap.
        let undo = Button {
            label: "↩️ Отменить: снова показывать".to_owned(),
            callback_data: CardAction::UndoHide(key).callback_data(),
        };
        self.set_buttons(query, &[undo]).await?;
        let note = if confirmed {
            "Канал скрыт. Вернуть можно здесь или в главном боте: «Моя подписка»"
        } else {
            "Автор скрыт. Вернуть можно здесь или в главном боте: «Моя подписка»"
        };
        self.answer(query, note).await
    }

    /// The channel's title when the post is the channel's own (its author key is the channel's
    /// name as a signature), `None` for a post by a person.
    async fn own_post_of(&self, key: MessageKey, author: &str) -> anyhow::Result<Option<String>> {
        let Some(signature) = author.strip_prefix("sig:") else {
            return Ok(None);
        };
        let post = self.bus.current_message(key).await?;
        Ok(post
            .and_then(|p| p.chat_title)
            .filter(|title| title == signature))
    }

    async fn undo_hide(
        &self,
        query: &CallbackQuery,
        user_id: i64,
        key: MessageKey,
    ) -> anyhow::Result<()> {
        let pool = &self.pool;
        if let Some(author) = projections::read::vacancies::author(pool, key).await?
            && projections::read::users::is_hidden(pool, user_id, &author).await?
        {
            self.bus
                .publish(&Envelope::new(AuthorUnhidden { user_id, author }))
                .await?;
        }
        self.set_buttons(query, &card_buttons(key)).await?;
        self.answer(query, "Автор снова в ленте").await
    }

    /// Whether this bot delivered that post to this user: the only user whose buttons count.
    /// Whether this bot delivered the post to the user. A card tapped the moment it arrived
    /// may not be in the read model yet (its `VacancyDelivered` is a projector's batch away,
    /// and fan-out records it just after Telegram accepts the card), so for a fresh card a
    /// miss is asked of the DELIVERIES stream for a few seconds before the button is stale.
    async fn delivered_to(
        &self,
        query: &CallbackQuery,
        user_id: i64,
        key: MessageKey,
    ) -> anyhow::Result<bool> {
        if projections::read::deliveries::delivered(&self.pool, user_id, key, &self.category)
            .await?
        {
            return Ok(true);
        }
        let fresh = query
            .regular_message()
            .is_some_and(|card| chrono::Utc::now() - card.date < FRESH_CARD);
        let subject = <schemas::VacancyDelivered as schemas::EventType>::subject_of(&format!(
            "{user_id}:{}",
            key.id()
        ));
        let started = std::time::Instant::now();
        loop {
            let stored = self.bus.last_on_subject(&subject).await?;
            let delivered = stored.is_some_and(|stored| {
                matches!(&stored.envelope.event,
                    schemas::Event::VacancyDelivered(d) if d.category == self.category)
            });
            if delivered || !fresh || started.elapsed() > RECORDING_WAIT {
                return Ok(delivered);
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }

    async fn set_buttons(&self, query: &CallbackQuery, buttons: &[Button]) -> anyhow::Result<()> {
        if let Some(message) = query.regular_message() {
            patiently(
                self.bot
                    .edit_message_reply_markup(message.chat.id, message.id)
                    .reply_markup(keyboard(buttons, post_link(query).as_deref())),
            )
            .await?;
        }
        Ok(())
    }

    async fn answer(&self, query: &CallbackQuery, text: &str) -> anyhow::Result<()> {
        self.bot
            .answer_callback_query(query.id.clone())
            .text(text)
            .await?;
        Ok(())
    }
}
