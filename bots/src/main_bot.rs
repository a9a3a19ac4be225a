//! The main bot: sign-up with a trial (once per Telegram user, ever), the live menu every button
//! edits in place (categories, «Моя подписка», the time zone, paying, help), the admins'
//! verdicts on reports and `/jobs`. Updates of different users are handled at once, one user's
//! in order (`polling`).

use std::collections::BTreeMap;
use std::time::Duration;

use bus::Bus;
use chrono::Utc;
use projections::Projection;
use projections::read;
use schemas::callback::{MenuAction, author_ref};
use schemas::{CategoriesChosen, Envelope, TrialStarted, UserRegistered};
use sqlx::PgPool;
use teloxide::prelude::*;
use teloxide::types::{
    BotCommand, BotCommandScope, CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup,
    Message, MessageKind, ParseMode, Recipient, UpdateKind, User,
};
use tokio_util::sync::CancellationToken;

use crate::live_menu::{Place, Views, draw};
use crate::menu::{self, Setup};
use crate::polling::patiently;

#[derive(Debug, Clone)]
pub struct MainBotConfig {
    pub trial: chrono::Duration,
    /// Seconds a getUpdates call waits for something to happen.
    pub poll_timeout: u32,
    /// How long a handler waits for the read models to show its own write.
    pub read_your_writes: Duration,
    /// Category slug → its bots' ids and @usernames (without the @), the first being its first.
    pub category_bots: crate::menu::CategoryBotLinks,
    /// Telegram ids of the admins, who judge reports.
    pub admin_ids: Vec<i64>,
    /// Paying in the bot ("Оплатить"), when a payment provider is configured.
    pub payments: Option<Payments>,
    /// How often Telegram's star transactions are checked for payments we missed.
    pub stars_reconcile_every: Duration,
    /// The zone `/jobs` shows times in (the scheduler's).
    pub timezone: chrono_tz::Tz,
    /// Whom users write to when something is wrong (`SUPPORT_CONTACT`), shown in the help.
    pub support: Option<String>,
    /// The admin web UI's address (`WEB_PUBLIC_URL`): `/admin` hands out login links to it.
    pub web_public_url: Option<url::Url>,
    /// Personal Atom feeds shown in «Моя подписка» (`FEED_SECRET`, served by the web UI).
    pub feeds: Option<crate::feeds::FeedLinks>,
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
            support: None,
            web_public_url: None,
            feeds: None,
        }
    }
}

pub struct MainBot {
    bot: Bot,
    bus: Bus,
    pool: PgPool,
    config: MainBotConfig,
    views: Views,
}

/// The note a tap gets back (a toast), empty for none.
type Note = String;

impl MainBot {
    pub fn new(bot: Bot, bus: Bus, pool: PgPool, config: MainBotConfig) -> Self {
        let setup = Setup {
            categories: Vec::new(),
            category_bots: config.category_bots.clone(),
            payments: config.payments.is_some(),
            support: config.support.clone(),
            trial_days: u64::try_from(config.trial.num_days()).unwrap_or_default(),
            payment_methods: config.payments.as_ref().map(crate::pay::methods),
            feeds: config.feeds.clone(),
        };
        let views = Views {
            pool: pool.clone(),
            setup,
        };
        Self {
            bot,
            bus,
            pool,
            config,
            views,
        }
    }

    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        self.set_commands().await;
        // A Stars payment whose update we never handled is found in Telegram's own ledger.
        let sells_stars = self.config.payments.as_ref().is_some_and(|p| p.stars);
        let reconciler = sells_stars.then(|| {
            let ledger = crate::stars_ledger::StarsLedger::new(
                self.bot.clone(),
                self.bus.clone(),
                self.pool.clone(),
            );
            tokio::spawn(ledger.run(self.config.stars_reconcile_every, shutdown.child_token()))
        });
        let refresh = crate::menu_refresh::MenuRefresh {
            bot: self.bot.clone(),
            views: self.views.clone(),
            read_your_writes: self.config.read_your_writes,
        };
        let spec = bus::consume::ConsumerSpec::of(bus::consume::consumers::MAIN_MENU);
        let refresher = tokio::spawn(bus::consume::consume(
            self.bus.clone(),
            spec,
            refresh,
            shutdown.child_token(),
        ));
        let this = &self;
        crate::polling::poll(
            &self.bot,
            &self.bus,
            "main",
            self.config.poll_timeout,
            &shutdown,
            |update| async move {
                match update.kind {
                    UpdateKind::Message(message) => this.on_message(&message).await,
                    UpdateKind::CallbackQuery(query) => this.on_button(&query).await,
                    UpdateKind::PreCheckoutQuery(query) => {
                        crate::pay::pre_checkout(&this.bot, &this.bus, &query).await
                    }
                    _ => Ok(()),
                }
            },
        )
        .await;
        if let Some(reconciler) = reconciler {
            reconciler.abort();
        }
        refresher.abort();
        Ok(())
    }

    /// The command menu: everyone's, and the admins' with `/jobs` on top of it.
    async fn set_commands(&self) {
        let mut commands = vec![
            BotCommand::new("start", "Начать и выбрать категории"),
            BotCommand::new("menu", "Меню"),
            BotCommand::new("subscription", "Моя подписка"),
        ];
        if self.config.payments.is_some() {
            commands.push(BotCommand::new("pay", "Оплатить подписку"));
        }
        commands.push(BotCommand::new("help", "Как это работает"));
        if let Err(error) = self.bot.set_my_commands(commands.clone()).await {
            tracing::warn!(%error, "could not set the main bot's commands");
        }
        let mut admins = commands;
        admins.push(BotCommand::new("jobs", "Задачи по расписанию"));
        if self.config.web_public_url.is_some() {
            admins.push(BotCommand::new("admin", "Вход в админку"));
        }
        for admin in &self.config.admin_ids {
            let scope = BotCommandScope::Chat {
                chat_id: Recipient::Id(ChatId(*admin)),
            };
            let set = self.bot.set_my_commands(admins.clone()).scope(scope);
            if let Err(error) = set.await {
                tracing::warn!(admin, %error, "could not set an admin's commands");
            }
        }
    }

    fn is_admin(&self, user_id: i64) -> bool {
        self.config.admin_ids.contains(&user_id)
    }

    async fn on_message(&self, message: &Message) -> anyhow::Result<()> {
        let Some(user) = message.from.as_ref() else {
            return Ok(());
        };
        let user_id = user.id.0 as i64;
        if let Some(payment) = message.successful_payment() {
            return crate::pay::stars_paid(&self.bot, &self.bus, &self.pool, user_id, payment)
                .await;
        }
        if let MessageKind::RefundedPayment(refunded) = &message.kind {
            let refunded = &refunded.refunded_payment;
            return crate::pay::stars_refunded(&self.bot, &self.bus, &self.pool, user_id, refunded)
                .await;
        }
        let text = message.text().unwrap_or_default().trim();
        let command = text.split_whitespace().next().unwrap_or_default();
        let screen = match command.split('@').next().unwrap_or_default() {
            "/start" => return self.start(user, text.split_whitespace().nth(1)).await,
            "/jobs" if self.is_admin(user_id) => return self.jobs(message.chat.id).await,
            "/admin" if self.is_admin(user_id) => return self.admin_link(user_id).await,
            "/menu" => MenuAction::Menu,
            "/subscription" => MenuAction::Subscription,
            "/pay" if self.config.payments.is_some() => MenuAction::Plans,
            "/pay" => MenuAction::Subscription,
            "/help" => MenuAction::Help,
            _ => return self.not_understood(message.chat.id).await,
        };
        self.act(user_id, &screen, Place::New).await?;
        Ok(())
    }

    /// Free text or an unknown command: a short answer and a way to the menu, not the menu.
    async fn not_understood(&self, chat: ChatId) -> anyhow::Result<()> {
        let keyboard =
            InlineKeyboardMarkup::new([[menu::button("📋 Открыть меню", &MenuAction::Menu)]]);
        let reply = self
            .bot
            .send_message(chat, "Я понимаю кнопки и команды — всё есть в меню.")
            .reply_markup(keyboard);
        patiently(reply).await?;
        Ok(())
    }

    /// `/start`, with the deep link's payload if any: a returning user who came from a category
    /// bot's «Выбрать категории» or «Оформить подписку» lands on that screen.
    async fn start(&self, user: &User, payload: Option<&str>) -> anyhow::Result<()> {
        let user_id = user.id.0 as i64;
        let now = Utc::now();
        let registered = Envelope::new(UserRegistered {
            user_id,
            username: user.username.clone(),
            first_name: user.first_name.clone(),
            language_code: user.language_code.clone(),
            // Where a newcomer came from; registration is once, so a later link changes nothing.
            source: payload.and_then(UserRegistered::source_of),
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
        let view = self.views.user(user_id).await?;
        let setup = self.views.setup().await?;
        let returning = published[1].duplicate;
        let screen = if returning && payload == Some(crate::category_bot::TO_PLANS) {
            let plans = if self.config.payments.is_some() {
                MenuAction::Plans
            } else {
                MenuAction::Subscription
            };
            self.act(user_id, &plans, Place::New).await?;
            return Ok(());
        } else if returning && payload == Some(crate::category_bot::TO_CATEGORIES) {
            menu::categories(&view, &setup)
        } else if returning {
            let greeting = format!("С возвращением, {}!", user.first_name);
            menu::main(&view, &setup, Some(&greeting), now)
        } else {
            // A newcomer goes straight to the picker: choosing is the first thing to do.
            let days = fanout::wording::days(
                u64::try_from(self.config.trial.num_days()).unwrap_or_default(),
            );
            let mut screen = menu::categories(&view, &setup);
            screen.text = format!(
                "Привет, {}! Я присылаю свежие заказы из фриланс-каналов.\n{}: {days} бесплатно.\n\n{}",
                fanout::card::escape(&user.first_name),
                view.status(now),
                screen.text
            );
            screen
        };
        draw(
            &self.bot,
            &self.bus,
            &self.pool,
            user_id,
            &screen,
            Place::New,
        )
        .await
    }

    async fn on_button(&self, query: &CallbackQuery) -> anyhow::Result<()> {
        let user_id = query.from.id.0 as i64;
        let place = query
            .regular_message()
            .map_or(Place::New, |message| Place::Edit(message.id));
        let action = query.data.as_deref().and_then(MenuAction::parse);
        let note = match action {
            Some(action) => self.act(user_id, &action, place).await?,
            // Forged, cut, or from an older version of the bot: no effect.
            None => Some("Эта кнопка устарела — откройте /menu".to_owned()),
        };
        let mut answer = self.bot.answer_callback_query(query.id.clone());
        if let Some(note) = note.filter(|n| !n.is_empty()) {
            answer = answer.text(note);
        }
        answer.await?;
        Ok(())
    }

    /// Carries out one button; the note for the tap (`None` when the button is not valid here).
    async fn act(
        &self,
        user_id: i64,
        action: &MenuAction,
        place: Place,
    ) -> anyhow::Result<Option<Note>> {
        let stale = Some("Эта кнопка устарела — откройте /menu".to_owned());
        match action {
            MenuAction::Menu
            | MenuAction::Categories
            | MenuAction::Subscription
            | MenuAction::Help
            | MenuAction::Zones => self.show(user_id, action, place).await,
            MenuAction::Choose { slug, on } => self.choose(user_id, slug, *on, place).await,
            MenuAction::Zone(zone) => self.choose_zone(user_id, zone, place).await,
            MenuAction::Unhide(reference) => self.unhide(user_id, reference, place).await,
            MenuAction::StarsRenewal {
                subscription_id,
                on,
            } => {
                let renewals = crate::stars_renewal::Renewals {
                    bot: &self.bot,
                    bus: &self.bus,
                    pool: &self.pool,
                    read_your_writes: self.config.read_your_writes,
                };
                let note = renewals.set(user_id, subscription_id, *on).await?;
                self.show(user_id, &MenuAction::Subscription, place).await?;
                Ok(Some(note))
            }
            MenuAction::Plans
            | MenuAction::Provider(_)
            | MenuAction::YooKassa(_)
            | MenuAction::Stars(_)
            | MenuAction::StarsSubscription(_) => {
                let Some(payments) = &self.config.payments else {
                    return Ok(stale);
                };
                let shop = crate::pay::Shop {
                    bot: &self.bot,
                    bus: &self.bus,
                    pool: &self.pool,
                    payments,
                };
                Ok(shop.show(user_id, action, place).await?.or(stale))
            }
            MenuAction::Verdict {
                report_id,
                resolution,
            } if self.is_admin(user_id) => self.verdict(user_id, report_id, *resolution).await,
            MenuAction::RunJob(job) if self.is_admin(user_id) => self.run_job(user_id, *job).await,
            MenuAction::Verdict { .. } | MenuAction::RunJob(_) => Ok(stale),
        }
    }

    /// Draws one of the menu's own screens.
    async fn show(
        &self,
        user_id: i64,
        action: &MenuAction,
        place: Place,
    ) -> anyhow::Result<Option<Note>> {
        let view = self.views.user(user_id).await?;
        let setup = self.views.setup().await?;
        let now = Utc::now();
        let screen = match action {
            MenuAction::Categories => menu::categories(&view, &setup),
            MenuAction::Subscription => menu::subscription(&view, &setup, now),
            MenuAction::Help => menu::help(&setup),
            MenuAction::Zones => menu::zones(&view),
            _ => menu::main(&view, &setup, None, now),
        };
        draw(&self.bot, &self.bus, &self.pool, user_id, &screen, place).await?;
        Ok(Some(String::new()))
    }

    /// Sets one category on or off (a state, so a doubled tap changes nothing), then redraws
    /// the picker from the read model once it holds the change.
    async fn choose(
        &self,
        user_id: i64,
        slug: &str,
        on: bool,
        place: Place,
    ) -> anyhow::Result<Option<Note>> {
        let categories = read::catalog::active_categories(&self.pool).await?;
        let Some(category) = categories.iter().find(|c| c.slug == slug) else {
            return Ok(Some(
                "Этой категории больше нет — откройте /menu".to_owned(),
            ));
        };
        let mut chosen: std::collections::BTreeSet<String> =
            read::users::chosen_categories(&self.pool, user_id)
                .await?
                .into_iter()
                .collect();
        let changed = if on {
            chosen.insert(slug.to_owned())
        } else {
            chosen.remove(slug)
        };
        if changed {
            let event = Envelope::new(CategoriesChosen {
                user_id,
                categories: chosen.into_iter().collect(),
            });
            let published = self.bus.publish(&event).await?;
            self.read_your_writes(published.sequence).await?;
        }
        self.show(user_id, &MenuAction::Categories, place).await?;
        Ok(Some(match (on, changed) {
            (true, true) => format!("Добавлено: {}", category.name),
            (false, true) => format!("Убрано: {}", category.name),
            (true, false) => format!("{} уже выбрана", category.name),
            (false, false) => format!("{} уже убрана", category.name),
        }))
    }

    async fn choose_zone(
        &self,
        user_id: i64,
        zone: &str,
        place: Place,
    ) -> anyhow::Result<Option<Note>> {
        let Some(tz) = menu::known_zone(zone) else {
            return Ok(Some("Этот пояс недоступен — выберите другой".to_owned()));
        };
        let current = read::users::time_zone(&self.pool, user_id).await?;
        if current.as_deref() != Some(zone) {
            let event = Envelope::new(schemas::TimeZoneChosen {
                user_id,
                zone: zone.to_owned(),
            });
            let published = self.bus.publish(&event).await?;
            self.read_your_writes(published.sequence).await?;
        }
        self.show(user_id, &MenuAction::Subscription, place).await?;
        Ok(Some(format!("Время — {}", fanout::wording::zone_label(tz))))
    }

    /// «Вернуть»: the hidden author the button names (by [`author_ref`], so any key fits).
    async fn unhide(
        &self,
        user_id: i64,
        reference: &str,
        place: Place,
    ) -> anyhow::Result<Option<Note>> {
        let hidden = read::users::hidden_authors_seen(&self.pool, user_id).await?;
        let Some(seen) = hidden
            .into_iter()
            .find(|a| author_ref(&a.author) == reference)
        else {
            self.show(user_id, &MenuAction::Subscription, place).await?;
            return Ok(Some("Этот автор уже не скрыт".to_owned()));
        };
        let name = menu::author_name(
            &seen.author,
            seen.chat_title.as_deref(),
            seen.username.as_deref(),
        );
        let event = Envelope::new(schemas::AuthorUnhidden {
            user_id,
            author: seen.author,
        });
        let published = self.bus.publish(&event).await?;
        self.read_your_writes(published.sequence).await?;
        self.show(user_id, &MenuAction::Subscription, place).await?;
        Ok(Some(format!("{} снова в ленте", menu::short(&name, 60))))
    }

    /// `/admin`: a one-time login link into the web UI. Previews are off: Telegram's preview
    /// would fetch the link (harmless, since only the page's «Войти» spends it, but pointless).
    async fn admin_link(&self, admin_id: i64) -> anyhow::Result<()> {
        let Some(public_url) = &self.config.web_public_url else {
            return self.not_understood(ChatId(admin_id)).await;
        };
        let link = crate::admin_login::issue(&self.bus, public_url, admin_id, "bot").await?;
        let minutes = crate::admin_login::LINK_LIFETIME.num_minutes();
        let text =
            format!("🔐 Вход в админку — ссылка на один раз, действует {minutes} минут:\n{link}");
        let reply = self
            .bot
            .send_message(ChatId(admin_id), text)
            .link_preview_options(teloxide::types::LinkPreviewOptions {
                is_disabled: true,
                url: None,
                prefer_small_media: false,
                prefer_large_media: false,
                show_above_text: false,
            });
        patiently(reply).await?;
        Ok(())
    }

    /// `/jobs` for admins: each job's last run and next run, with «Повторить» under each.
    async fn jobs(&self, chat: ChatId) -> anyhow::Result<()> {
        let jobs = scheduler::status::jobs(&self.bus, &self.pool).await?;
        let text = scheduler::status::html(&jobs, self.config.timezone);
        let rows = schemas::Job::ALL.map(|job| {
            vec![InlineKeyboardButton::callback(
                format!("🔁 Повторить: {}", job.title()),
                MenuAction::RunJob(job).encode(),
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
    async fn run_job(&self, admin_id: i64, job: schemas::Job) -> anyhow::Result<Option<Note>> {
        self.bus.trigger(job, &format!("admin:{admin_id}")).await?;
        let text = format!(
            "▶️ Запущено: «{}». Итог — в /jobs, ошибка придёт сюда.",
            job.title()
        );
        patiently(self.bot.send_message(ChatId(admin_id), text)).await?;
        Ok(Some(format!("Запущено: {}", job.title())))
    }

    /// An admin's verdict on a report: recorded once; then every admin's copy says who decided
    /// what, and the reporter is told.
    async fn verdict(
        &self,
        admin_id: i64,
        report_id: &str,
        resolution: schemas::Resolution,
    ) -> anyhow::Result<Option<Note>> {
        use crate::reports::{Verdict, resolve, update_copies};
        let (verdict, decided) =
            resolve(&self.bus, &self.pool, admin_id, report_id, resolution).await?;
        let note = match verdict {
            Verdict::Recorded(schemas::Resolution::Confirmed) => {
                "✅ Подтверждено: пост исправлен и убран из подборки"
            }
            Verdict::Recorded(schemas::Resolution::Dismissed) => "✖️ Жалоба отклонена",
            Verdict::AlreadyResolved => "По этой жалобе уже решили",
            Verdict::UnknownReport => "Жалоба не найдена",
        };
        // Also after a repeat: a copy an earlier attempt left unchanged is brought up to date.
        if let Some(decided) = &decided {
            update_copies(&self.bot, &self.bus, &self.pool, report_id, decided).await?;
        }
        Ok(Some(note.to_owned()))
    }

    async fn read_your_writes(&self, sequence: u64) -> anyhow::Result<()> {
        let seen = projections::wait_for(
            &self.pool,
            Projection::Users.name(),
            sequence,
            self.config.read_your_writes,
        )
        .await?;
        if !seen {
            return Err(projections::Behind {
                projection: Projection::Users.name().to_owned(),
                sequence,
            }
            .into());
        }
        Ok(())
    }
}
