//! The main bot: sign-up with a 2-day trial (once per Telegram user, ever), the category picker,
//! `/help`. Long-polls with teloxide; each update is handled to the end before the next, so a
//! user's rapid taps apply in order.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use bus::Bus;
use chrono::Utc;
use projections::Projection;
use projections::read::{self, users::Running};
use schemas::{CategoriesChosen, Envelope, TrialStarted, UserRegistered};
use sqlx::PgPool;
use teloxide::prelude::*;
use teloxide::types::{
    CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message, MessageKind, ParseMode,
    UpdateKind, User,
};
use tokio_util::sync::CancellationToken;

use crate::picker::{self, Category};
use crate::polling::patiently;

#[derive(Debug, Clone)]
pub struct MainBotConfig {
    pub trial: chrono::Duration,
    /// Seconds a getUpdates call waits for something to happen.
    pub poll_timeout: u32,
    /// How long a handler waits for the read models to show its own write.
    pub read_your_writes: Duration,
    /// Category slug → its bot's @username (without the @).
    pub category_bots: BTreeMap<String, String>,
    /// Telegram ids of the admins, who judge reports.
    pub admin_ids: Vec<i64>,
    /// Paying in the bot ("Оплатить"), when a payment provider is configured.
    pub payments: Option<Payments>,
    /// How often Telegram's star transactions are checked for payments we missed.
    pub stars_reconcile_every: Duration,
    /// The zone `/jobs` shows times in (the scheduler's).
    pub timezone: chrono_tz::Tz,
}

/// What the "Оплатить" flow needs: the plans and the providers. Telegram Stars need nothing
/// but the bot; YooKassa needs its shop.
#[derive(Debug, Clone)]
pub struct Payments {
    pub plans: Vec<schemas::subscription::Plan>,
    pub yookassa: Option<YooKassaCheckout>,
    pub stars: bool,
}

/// YooKassa in the "Оплатить" flow.
#[derive(Debug, Clone)]
pub struct YooKassaCheckout {
    pub client: billing::yookassa::YooKassa,
    /// Where YooKassa sends the payer back (the bot's t.me link).
    pub return_url: String,
}

impl Default for MainBotConfig {
    fn default() -> Self {
        Self {
            trial: chrono::Duration::days(2),
            poll_timeout: fanout::telegram::LONG_POLL_SECONDS,
            read_your_writes: Duration::from_secs(5),
            category_bots: BTreeMap::new(),
            admin_ids: Vec::new(),
            payments: None,
            stars_reconcile_every: Duration::from_secs(600),
            timezone: chrono_tz::Europe::Moscow,
        }
    }
}

pub struct MainBot {
    bot: Bot,
    bus: Bus,
    pool: PgPool,
    config: MainBotConfig,
}

const HELP: &str = "Я присылаю свежие заказы из фриланс-каналов — по одному боту на каждую \
категорию.\n\n/start — выбрать категории\n/help — эта подсказка";

impl MainBot {
    pub fn new(bot: Bot, bus: Bus, pool: PgPool, config: MainBotConfig) -> Self {
        Self {
            bot,
            bus,
            pool,
            config,
        }
    }

    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let this = &self;
        let commands = [
            teloxide::types::BotCommand::new("start", "Выбрать категории"),
            teloxide::types::BotCommand::new("help", "Как это работает"),
        ];
        if let Err(error) = self.bot.set_my_commands(commands).await {
            tracing::warn!(%error, "could not set the main bot's commands");
        }
        // A Stars payment whose update we never handled is found in Telegram's own ledger.
        let sells_stars = self.config.payments.as_ref().is_some_and(|p| p.stars);
        let reconciler = sells_stars.then(|| {
            let ledger = crate::stars_ledger::StarsLedger::new(self.bot.clone(), self.bus.clone());
            tokio::spawn(ledger.run(self.config.stars_reconcile_every, shutdown.child_token()))
        });
        crate::polling::poll(
            &self.bot,
            &self.bus,
            "main",
            self.config.poll_timeout,
            &shutdown,
            |update| {
                let this = &this;
                async move {
                    match update.kind {
                        UpdateKind::Message(message) => this.on_message(&message).await,
                        UpdateKind::CallbackQuery(query) => this.on_button(&query).await,
                        UpdateKind::PreCheckoutQuery(query) => {
                            crate::pay::pre_checkout(&this.bot, &this.bus, &query).await
                        }
                        _ => Ok(()),
                    }
                }
            },
        )
        .await;
        if let Some(reconciler) = reconciler {
            reconciler.abort();
        }
        Ok(())
    }

    async fn on_message(&self, message: &Message) -> anyhow::Result<()> {
        let Some(user) = message.from.as_ref() else {
            return Ok(());
        };
        if let Some(payment) = message.successful_payment() {
            let user_id = user.id.0 as i64;
            return crate::pay::stars_paid(&self.bot, &self.bus, user_id, payment).await;
        }
        if let MessageKind::RefundedPayment(refunded) = &message.kind {
            let user_id = user.id.0 as i64;
            let refunded = &refunded.refunded_payment;
            return crate::pay::stars_refunded(&self.bot, &self.bus, user_id, refunded).await;
        }
        let text = message.text().unwrap_or_default().trim();
        let command = text.split_whitespace().next().unwrap_or_default();
        match command.split('@').next().unwrap_or_default() {
            "/start" => self.start(user).await,
            "/jobs" if self.config.admin_ids.contains(&(user.id.0 as i64)) => {
                self.jobs(message.chat.id).await
            }
            "/help" => {
                patiently(self.bot.send_message(message.chat.id, HELP)).await?;
                Ok(())
            }
            _ => {
                let categories = self.categories().await?;
                let chosen = self.chosen(user.id.0 as i64).await?;
                let reply = self
                    .bot
                    .send_message(
                        message.chat.id,
                        "Я понимаю кнопки и команды /start и /help. Ваши категории:",
                    )
                    .reply_markup(picker::keyboard(&categories, &chosen));
                patiently(reply).await?;
                Ok(())
            }
        }
    }

    /// `/jobs` for admins: each job's last run and next run, with «Повторить» under each.
    async fn jobs(&self, chat: ChatId) -> anyhow::Result<()> {
        let jobs = scheduler::status::jobs(&self.bus, &self.pool).await?;
        let text = scheduler::status::html(&jobs, self.config.timezone);
        let rows = schemas::Job::ALL.map(|job| {
            vec![InlineKeyboardButton::callback(
                format!("🔁 Повторить: {}", job.title()),
                format!("{}{}", scheduler::runs::RETRY_PREFIX, job.as_str()),
            )]
        });
        let reply = self
            .bot
            .send_message(chat, text)
            .parse_mode(ParseMode::Html)
            .reply_markup(InlineKeyboardMarkup::new(rows));
        patiently(reply).await?;
        Ok(())
    }

    /// «Повторить»: a run of the job now, through the scheduler's own path.
    async fn run_job(
        &self,
        query: &CallbackQuery,
        admin_id: i64,
        job: schemas::Job,
    ) -> anyhow::Result<()> {
        self.bus.trigger(job, &format!("admin:{admin_id}")).await?;
        self.bot
            .answer_callback_query(query.id.clone())
            .text(format!("Запущено: {}", job.title()))
            .await?;
        let text = format!(
            "▶️ Запущено: «{}». Итог — в /jobs, ошибка придёт сюда.",
            job.title()
        );
        patiently(self.bot.send_message(ChatId(admin_id), text)).await?;
        Ok(())
    }

    async fn start(&self, user: &User) -> anyhow::Result<()> {
        let user_id = user.id.0 as i64;
        let now = Utc::now();
        let registered = Envelope::new(UserRegistered {
            user_id,
            username: user.username.clone(),
            first_name: user.first_name.clone(),
            language_code: user.language_code.clone(),
        });
        let trial = Envelope::new(TrialStarted {
            user_id,
            starts_at: now,
            ends_at: now + self.config.trial,
        });
        let published = self.bus.publish_batch(&[registered, trial]).await?;
        let last = published
            .iter()
            .map(|p| p.sequence)
            .max()
            .unwrap_or_default();
        self.read_your_writes(last).await?;
        let trial_ends = read::users::access(&self.pool, user_id)
            .await?
            .and_then(|access| access.trial_ends_at);
        let greeting = match (published[1].duplicate, trial_ends) {
            (false, Some(ends)) => format!(
                "Привет, {}! Я присылаю свежие заказы из фриланс-каналов.\nПробный период — до {} (UTC). Выберите категории:",
                user.first_name,
                ends.format("%d.%m %H:%M")
            ),
            _ => format!("С возвращением, {}! Ваши категории:", user.first_name),
        };
        let categories = self.categories().await?;
        let chosen = self.chosen(user_id).await?;
        let text = format!(
            "{greeting}{}",
            self.bots_summary(user_id, &categories, &chosen).await?
        );
        let reply = self
            .bot
            .send_message(ChatId(user_id), text)
            .reply_markup(picker::keyboard(&categories, &chosen));
        patiently(reply).await?;
        Ok(())
    }

    async fn on_button(&self, query: &CallbackQuery) -> anyhow::Result<()> {
        let user_id = query.from.id.0 as i64;
        let categories = self.categories().await?;
        let data = query.data.as_deref().unwrap_or_default();
        if data == picker::SUBSCRIPTION {
            self.bot.answer_callback_query(query.id.clone()).await?;
            return self.subscription(user_id, &categories).await;
        }
        if let Some(payments) = &self.config.payments
            && let Some(step) = crate::pay::Step::parse(data, &payments.plans)
        {
            self.bot.answer_callback_query(query.id.clone()).await?;
            return crate::pay::show(&self.bot, &self.bus, payments, user_id, step).await;
        }
        if let Some(author) = picker::parse_unhide(data) {
            return self.unhide(query, user_id, author).await;
        }
        if let Some((resolution, report_id)) = crate::reports::parse_verdict(data)
            && self.config.admin_ids.contains(&user_id)
        {
            return self.verdict(query, user_id, report_id, resolution).await;
        }
        if let Some(job) = data
            .strip_prefix(scheduler::runs::RETRY_PREFIX)
            .and_then(schemas::Job::parse)
            && self.config.admin_ids.contains(&user_id)
        {
            return self.run_job(query, user_id, job).await;
        }
        let Some(slug) = picker::parse_toggle(data, &categories) else {
            // Forged, stale (a retired category) or not ours: no effect.
            self.bot
                .answer_callback_query(query.id.clone())
                .text("Эта кнопка устарела — нажмите /start")
                .await?;
            return Ok(());
        };
        let mut chosen = self.chosen(user_id).await?;
        let added = chosen.insert(slug.to_owned());
        if !added {
            chosen.remove(slug);
        }
        let event = Envelope::new(CategoriesChosen {
            user_id,
            categories: chosen.iter().cloned().collect(),
        });
        let published = self.bus.publish(&event).await?;
        self.read_your_writes(published.sequence).await?;
        let chosen = self.chosen(user_id).await?;
        if let Some(message) = query.regular_message() {
            // The text keeps its first paragraph (the greeting) and gets the new bot list.
            let greeting = message
                .text()
                .unwrap_or_default()
                .split("\n\n")
                .next()
                .unwrap_or_default()
                .to_owned();
            let text = format!(
                "{greeting}{}",
                self.bots_summary(user_id, &categories, &chosen).await?
            );
            patiently(
                self.bot
                    .edit_message_text(message.chat.id, message.id, text)
                    .reply_markup(picker::keyboard(&categories, &chosen)),
            )
            .await?;
        }
        let name = categories
            .iter()
            .find(|c| c.slug == slug)
            .map_or(slug, |c| c.name.as_str());
        let note = if added {
            format!("Добавлено: {name}")
        } else {
            format!("Убрано: {name}")
        };
        self.bot
            .answer_callback_query(query.id.clone())
            .text(note)
            .await?;
        Ok(())
    }

    /// An admin's verdict on a report: recorded once, and the report message says who decided.
    async fn verdict(
        &self,
        query: &CallbackQuery,
        admin_id: i64,
        report_id: &str,
        resolution: schemas::Resolution,
    ) -> anyhow::Result<()> {
        use crate::reports::{Verdict, resolve};
        let verdict = resolve(&self.bus, &self.pool, admin_id, report_id, resolution).await?;
        let note = match verdict {
            Verdict::Recorded(schemas::Resolution::Confirmed) => {
                "✅ Подтверждено: пост исправлен и убран из подборки"
            }
            Verdict::Recorded(schemas::Resolution::Dismissed) => "✖️ Жалоба отклонена",
            Verdict::AlreadyResolved => "По этой жалобе уже решили",
            Verdict::UnknownReport => "Жалоба не найдена",
        };
        if let (Verdict::Recorded(_), Some(message)) = (&verdict, query.regular_message()) {
            let text = format!("{}\n\n{note}", message.text().unwrap_or_default());
            patiently(
                self.bot
                    .edit_message_text(message.chat.id, message.id, text),
            )
            .await?;
        }
        self.bot
            .answer_callback_query(query.id.clone())
            .text(note)
            .await?;
        Ok(())
    }

    /// "Моя подписка": status and end date, categories, hidden authors with undo buttons.
    async fn subscription(&self, user_id: i64, categories: &[Category]) -> anyhow::Result<()> {
        let (text, markup) = self.subscription_view(user_id, categories).await?;
        patiently(
            self.bot
                .send_message(ChatId(user_id), text)
                .reply_markup(markup),
        )
        .await?;
        Ok(())
    }

    async fn subscription_view(
        &self,
        user_id: i64,
        categories: &[Category],
    ) -> anyhow::Result<(String, teloxide::types::InlineKeyboardMarkup)> {
        let access = read::users::access(&self.pool, user_id)
            .await?
            .unwrap_or_default();
        let date = |t: chrono::DateTime<Utc>| t.format("%d.%m.%Y %H:%M").to_string();
        let status = match access.running(Utc::now()) {
            Some(Running::Paid(until)) => format!("Подписка активна до {} (UTC)", date(until)),
            Some(Running::Trial(until)) => format!("Пробный период до {} (UTC)", date(until)),
            None => "Подписка не активна".to_owned(),
        };
        let chosen = self.chosen(user_id).await?;
        let names: Vec<&str> = categories
            .iter()
            .filter(|c| chosen.contains(&c.slug))
            .map(|c| c.name.as_str())
            .collect();
        let hidden = read::users::hidden_authors(&self.pool, user_id).await?;
        let mut text = format!(
            "{status}\nКатегории: {}",
            if names.is_empty() {
                "не выбраны".to_owned()
            } else {
                names.join(", ")
            }
        );
        let mut rows = Vec::new();
        if self.config.payments.is_some() {
            rows.push(vec![teloxide::types::InlineKeyboardButton::callback(
                "💳 Оплатить",
                crate::pay::PAY,
            )]);
        }
        if hidden.is_empty() {
            text.push_str("\nСкрытых авторов нет");
        } else {
            text.push_str(&format!("\nСкрытые авторы: {}", hidden.join(", ")));
            for author in &hidden {
                if let Some(data) = picker::unhide_data(author) {
                    rows.push(vec![teloxide::types::InlineKeyboardButton::callback(
                        format!("Вернуть {author}"),
                        data,
                    )]);
                }
            }
        }
        Ok((text, teloxide::types::InlineKeyboardMarkup::new(rows)))
    }

    async fn unhide(
        &self,
        query: &CallbackQuery,
        user_id: i64,
        author: &str,
    ) -> anyhow::Result<()> {
        let hidden = read::users::is_hidden(&self.pool, user_id, author).await?;
        if !hidden {
            self.bot
                .answer_callback_query(query.id.clone())
                .text("Этот автор уже не скрыт")
                .await?;
            return Ok(());
        }
        let event = Envelope::new(schemas::AuthorUnhidden {
            user_id,
            author: author.to_owned(),
        });
        let published = self.bus.publish(&event).await?;
        self.read_your_writes(published.sequence).await?;
        if let Some(message) = query.regular_message() {
            let categories = self.categories().await?;
            let (text, markup) = self.subscription_view(user_id, &categories).await?;
            patiently(
                self.bot
                    .edit_message_text(message.chat.id, message.id, text)
                    .reply_markup(markup),
            )
            .await?;
        }
        self.bot
            .answer_callback_query(query.id.clone())
            .text(format!("{author} снова в ленте"))
            .await?;
        Ok(())
    }

    /// For each chosen category, its bot and whether the user has started it yet.
    async fn bots_summary(
        &self,
        user_id: i64,
        categories: &[Category],
        chosen: &BTreeSet<String>,
    ) -> anyhow::Result<String> {
        if chosen.is_empty() {
            return Ok(String::new());
        }
        let started: BTreeSet<String> = read::users::started_bots(&self.pool, user_id)
            .await?
            .into_iter()
            .collect();
        let mut lines = vec![
            String::new(),
            "Заказы приходят от бота каждой категории:".to_owned(),
        ];
        for category in categories.iter().filter(|c| chosen.contains(&c.slug)) {
            let line = match self.config.category_bots.get(&category.slug) {
                Some(bot) if started.contains(&category.slug) => {
                    format!("✅ {}: @{bot} подключён", category.name)
                }
                Some(bot) => format!(
                    "👉 {}: откройте https://t.me/{bot}?start=go и нажмите «Старт»",
                    category.name
                ),
                None => format!("⏳ {}: бот скоро появится", category.name),
            };
            lines.push(line);
        }
        Ok(format!("\n{}", lines.join("\n")))
    }

    async fn read_your_writes(&self, sequence: u64) -> anyhow::Result<()> {
        let seen = projections::wait_for(
            &self.pool,
            Projection::Users.name(),
            sequence,
            self.config.read_your_writes,
        )
        .await?;
        anyhow::ensure!(seen, "the users read model is behind (sequence {sequence})");
        Ok(())
    }

    async fn categories(&self) -> anyhow::Result<Vec<Category>> {
        Ok(read::catalog::active_categories(&self.pool).await?)
    }

    async fn chosen(&self, user_id: i64) -> anyhow::Result<BTreeSet<String>> {
        Ok(read::users::chosen_categories(&self.pool, user_id)
            .await?
            .into_iter()
            .collect())
    }
}
