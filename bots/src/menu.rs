//! The main bot's screens, as pure functions of what the read models say about a user: the
//! main menu, the category picker, «Моя подписка», the time zones and the help. Each screen is
//! an HTML text and its buttons; the bot draws it into the user's live menu message by editing
//! it, so a session leaves one menu in the chat, not a pile of them. Every sub-screen has
//! «← Назад».

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use fanout::card::escape;
use fanout::wording::{days, moment, zone_label};
use projections::read::payments::StarsSubscription;
use projections::read::users::{Access, Running};
use schemas::callback::{MenuAction, author_ref};
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};

pub use projections::read::catalog::Category;

/// The start payload of the links to category bots: says where the user came from, nothing
/// secret.
pub const FROM_MAIN_BOT: &str = "from_main";

/// A screen: its HTML text and its buttons.
#[derive(Debug, Clone, PartialEq)]
pub struct Screen {
    pub text: String,
    pub keyboard: InlineKeyboardMarkup,
}

/// Category slug → its bots as (bot id, @username without @), the first being the category's
/// first bot.
pub type CategoryBotLinks = BTreeMap<String, Vec<(i64, String)>>;

/// The bot of a category a user who has none yet is sent to: the one with the fewest users
/// (`loads`: users per bot id, `None` counting for the first), ties spread by user id so users
/// signing up at once do not all land on one bot.
pub fn bot_for_newcomer(bots: &[i64], loads: &[(Option<i64>, i64)], user_id: i64) -> Option<i64> {
    let load = |bot: i64| -> i64 {
        loads
            .iter()
            .filter(|(id, _)| id.unwrap_or(bots[0]) == bot)
            .map(|(_, count)| count)
            .sum()
    };
    let fewest = bots.iter().map(|b| load(*b)).min()?;
    let ties: Vec<i64> = bots
        .iter()
        .copied()
        .filter(|b| load(*b) == fewest)
        .collect();
    Some(ties[user_id.unsigned_abs() as usize % ties.len()])
}

/// What the bot knows of itself: the catalog, its category bots, what it sells, its support.
#[derive(Debug, Clone, Default)]
pub struct Setup {
    pub categories: Vec<Category>,
    /// Category slug → its bots.
    pub category_bots: CategoryBotLinks,
    /// "Оплатить" is offered.
    pub payments: bool,
    /// Whom users write to when something is wrong (`SUPPORT_CONTACT`).
    pub support: Option<String>,
    /// How long the trial lasts, for the help.
    pub trial_days: u64,
    /// The ways to pay, for the help (e.g. "картой или СБП (ЮKassa) или Telegram Stars").
    pub payment_methods: Option<String>,
    /// Personal Atom feeds in «Моя подписка», when the web UI serves them (`FEED_SECRET`).
    pub feeds: Option<crate::feeds::FeedLinks>,
}

/// What the read models say about one user.
#[derive(Debug, Clone, Default)]
pub struct UserView {
    pub user_id: i64,
    pub access: Access,
    pub chosen: BTreeSet<String>,
    pub started: BTreeSet<String>,
    /// Category slug → the user's bot there (the one they started, or the one they are sent
    /// to); a category not listed uses its first bot.
    pub bots: BTreeMap<String, i64>,
    /// The user's zone (Moscow unless they chose another).
    pub zone: Option<Tz>,
    /// Hidden authors: key → how the user knows them.
    pub hidden: Vec<(String, String)>,
    /// The user's latest Stars subscription, as the bot knows it.
    pub stars: Option<StarsSubscription>,
}

impl UserView {
    pub fn zone(&self) -> Tz {
        self.zone.unwrap_or(fanout::wording::DEFAULT_ZONE)
    }

    fn at(&self, when: DateTime<Utc>) -> String {
        moment(when, self.zone())
    }

    /// «Пробный период до …», «Подписка активна до …» or «не активна».
    pub fn status(&self, now: DateTime<Utc>) -> String {
        match self.access.running(now) {
            Some(Running::Paid(until)) => format!("✅ Подписка активна до {}", self.at(until)),
            Some(Running::Trial(until)) => format!("🎁 Пробный период до {}", self.at(until)),
            None => "⛔ Подписка не активна — заказы на паузе".to_owned(),
        }
    }
}

pub fn button(label: impl Into<String>, action: &MenuAction) -> InlineKeyboardButton {
    InlineKeyboardButton::callback(label, action.encode())
}

fn back(to: MenuAction) -> Vec<InlineKeyboardButton> {
    vec![button("← Назад", &to)]
}

/// The @username of the user's bot in `slug`: theirs when still configured, else the first.
fn user_bot_username<'a>(setup: &'a Setup, view: &UserView, slug: &str) -> Option<&'a String> {
    let bots = setup.category_bots.get(slug)?;
    let theirs = view.bots.get(slug);
    bots.iter()
        .find(|(id, _)| Some(id) == theirs)
        .or(bots.first())
        .map(|(_, username)| username)
}

/// The link that opens a category bot with the start payload.
pub fn bot_link(username: &str) -> Option<url::Url> {
    url::Url::parse(&format!("https://t.me/{username}?start={FROM_MAIN_BOT}")).ok()
}

/// The main menu: status, categories, and a button per chosen category's bot (✅ once the
/// user started it), then the sub-screens.
pub fn main(view: &UserView, setup: &Setup, greeting: Option<&str>, now: DateTime<Utc>) -> Screen {
    let mut lines = Vec::new();
    if let Some(greeting) = greeting {
        lines.push(escape(greeting));
        lines.push(String::new());
    }
    lines.push(escape(&view.status(now)));
    let chosen: Vec<&Category> = setup
        .categories
        .iter()
        .filter(|c| view.chosen.contains(&c.slug))
        .collect();
    let mut rows = Vec::new();
    if chosen.is_empty() {
        lines.push("Категории не выбраны — нажмите «🗂 Категории».".to_owned());
    } else {
        let names: Vec<String> = chosen.iter().map(|c| escape(&c.name)).collect();
        lines.push(format!("Категории: {}", names.join(", ")));
        let waiting = chosen
            .iter()
            .any(|c| setup.category_bots.contains_key(&c.slug) && !view.started.contains(&c.slug));
        if waiting {
            lines.push(String::new());
            lines.push(
                "Заказы приходят от бота каждой категории: откройте его кнопкой ниже и нажмите «Старт»."
                    .to_owned(),
            );
        }
        for category in &chosen {
            match user_bot_username(setup, view, &category.slug)
                .and_then(|b| bot_link(b).map(|l| (b, l)))
            {
                Some((bot, link)) if view.started.contains(&category.slug) => {
                    rows.push(vec![InlineKeyboardButton::url(
                        format!("✅ {} — @{bot}", category.name),
                        link,
                    )])
                }
                Some((_, link)) => rows.push(vec![InlineKeyboardButton::url(
                    format!("👉 {}: открыть бота", category.name),
                    link,
                )]),
                None => lines.push(format!("⏳ {}: бот скоро появится", escape(&category.name))),
            }
        }
    }
    rows.push(vec![
        button("🗂 Категории", &MenuAction::Categories),
        button("📋 Моя подписка", &MenuAction::Subscription),
    ]);
    let mut last = Vec::new();
    if setup.payments {
        last.push(button("💳 Оплатить", &MenuAction::Plans));
    }
    last.push(button("❓ Помощь", &MenuAction::Help));
    rows.push(last);
    Screen {
        text: lines.join("\n"),
        keyboard: InlineKeyboardMarkup::new(rows),
    }
}

/// The picker: a check mark per chosen category; each button sets its category's state.
pub fn categories(view: &UserView, setup: &Setup) -> Screen {
    let buttons: Vec<InlineKeyboardButton> = setup
        .categories
        .iter()
        .map(|c| {
            let on = view.chosen.contains(&c.slug);
            let label = if on {
                format!("✅ {}", c.name)
            } else {
                c.name.clone()
            };
            let action = MenuAction::Choose {
                slug: c.slug.clone(),
                on: !on,
            };
            button(label, &action)
        })
        .collect();
    let mut rows: Vec<Vec<InlineKeyboardButton>> = buttons.chunks(2).map(<[_]>::to_vec).collect();
    rows.push(vec![button("✅ Готово", &MenuAction::Menu)]);
    Screen {
        text: "<b>Категории</b>\nОтметьте, какие заказы присылать; заказы каждой категории придут от её бота.".to_owned(),
        keyboard: InlineKeyboardMarkup::new(rows),
    }
}

/// «Моя подписка»: status, categories, time zone, hidden authors with «Вернуть» for each.
pub fn subscription(view: &UserView, setup: &Setup, now: DateTime<Utc>) -> Screen {
    let names: Vec<String> = setup
        .categories
        .iter()
        .filter(|c| view.chosen.contains(&c.slug))
        .map(|c| escape(&c.name))
        .collect();
    let mut lines = vec![
        "<b>Моя подписка</b>".to_owned(),
        escape(&view.status(now)),
        format!(
            "Категории: {}",
            if names.is_empty() {
                "не выбраны".to_owned()
            } else {
                names.join(", ")
            }
        ),
        format!("Время — {}", zone_label(view.zone())),
    ];
    let mut rows = Vec::new();
    if let Some(stars) = &view.stars {
        let (line, button) = stars_renewal(stars, view, now);
        lines.push(line);
        rows.extend(button.map(|b| vec![b]));
    }
    if let Some(feeds) = &setup.feeds {
        lines.extend(feed_lines(feeds, view, setup, now));
    }
    if view.hidden.is_empty() {
        lines.push("Скрытых авторов нет.".to_owned());
    } else {
        lines.push(String::new());
        lines.push("Скрытые авторы:".to_owned());
        for (key, name) in &view.hidden {
            lines.push(format!("• {}", escape(name)));
            rows.push(vec![button(
                format!("Вернуть: {}", short(name, 40)),
                &MenuAction::Unhide(author_ref(key)),
            )]);
        }
    }
    let mut actions = Vec::new();
    if setup.payments {
        actions.push(button("💳 Оплатить", &MenuAction::Plans));
    }
    actions.push(button("🕒 Часовой пояс", &MenuAction::Zones));
    rows.push(actions);
    rows.push(back(MenuAction::Menu));
    Screen {
        text: lines.join("\n"),
        keyboard: InlineKeyboardMarkup::new(rows),
    }
}

/// The user's Atom feed of each chosen category, while their access runs (the web UI stops
/// serving them when it ends).
fn feed_lines(
    feeds: &crate::feeds::FeedLinks,
    view: &UserView,
    setup: &Setup,
    now: DateTime<Utc>,
) -> Vec<String> {
    let chosen: Vec<&Category> = setup
        .categories
        .iter()
        .filter(|c| view.chosen.contains(&c.slug))
        .collect();
    if chosen.is_empty() || view.access.running(now).is_none() {
        return Vec::new();
    }
    let links: Vec<String> = chosen
        .iter()
        .map(|c| {
            format!(
                "<a href=\"{}\">{}</a>",
                escape(&feeds.url(view.user_id, &c.slug)),
                escape(&c.name)
            )
        })
        .collect();
    vec![format!(
        "📡 Лента для RSS-читалки (личная, не делитесь ею): {}",
        links.join(", ")
    )]
}

/// What the bot knows of a Stars subscription's renewal, and the button that changes it.
/// Telegram renews on its own and tells the bot only of charges: a subscription canceled in
/// Telegram's settings shows as renewing until its month ends without a charge.
fn stars_renewal(
    stars: &StarsSubscription,
    view: &UserView,
    now: DateTime<Utc>,
) -> (String, Option<InlineKeyboardButton>) {
    let until = view.at(stars.paid_until);
    let action = |on| MenuAction::StarsRenewal {
        subscription_id: stars.subscription_id.clone(),
        on,
    };
    match (stars.canceled, stars.paid_until > now) {
        (false, true) => (
            format!(
                "⭐ Автопродление Stars: следующее списание {until}, {} ⭐. Отменить можно здесь или в Telegram (Настройки → Мои звёзды).",
                stars.stars
            ),
            Some(button("✖️ Отменить автопродление", &action(false))),
        ),
        (true, true) => (
            format!("⭐ Автопродление отменено: оплачено до {until}, больше списаний не будет."),
            Some(button("🔁 Возобновить автопродление", &action(true))),
        ),
        (false, false) => (
            format!(
                "⭐ Подписка Stars не продлилась {until}: её отменили в Telegram или не хватило звёзд. Оформить снова — в «Оплатить»."
            ),
            None,
        ),
        (true, false) => (format!("⭐ Подписка Stars закончилась {until}."), None),
    }
}

/// The zones a Russian-speaking freelancer is likely in, west to east, then UTC.
pub const ZONES: &[(&str, &str)] = &[
    ("Europe/Kaliningrad", "Калининград"),
    ("Europe/Moscow", "Москва"),
    ("Europe/Minsk", "Минск"),
    ("Europe/Samara", "Самара"),
    ("Asia/Tbilisi", "Тбилиси"),
    ("Asia/Yekaterinburg", "Екатеринбург"),
    ("Asia/Tashkent", "Ташкент"),
    ("Asia/Omsk", "Омск"),
    ("Asia/Almaty", "Алматы"),
    ("Asia/Novosibirsk", "Новосибирск"),
    ("Asia/Krasnoyarsk", "Красноярск"),
    ("Asia/Irkutsk", "Иркутск"),
    ("Asia/Yakutsk", "Якутск"),
    ("Asia/Vladivostok", "Владивосток"),
    ("Asia/Magadan", "Магадан"),
    ("Asia/Kamchatka", "Камчатка"),
    ("UTC", "UTC"),
];

/// The zone a button names, if it is one of [`ZONES`].
pub fn known_zone(name: &str) -> Option<Tz> {
    ZONES
        .iter()
        .find(|(zone, _)| *zone == name)
        .and_then(|(zone, _)| zone.parse().ok())
}

pub fn zones(view: &UserView) -> Screen {
    let current = view.zone();
    let buttons: Vec<InlineKeyboardButton> = ZONES
        .iter()
        .filter_map(|(name, city)| {
            let zone: Tz = name.parse().ok()?;
            let mark = if zone == current { "✅ " } else { "" };
            let label = format!("{mark}{city} ({})", zone_label(zone));
            Some(button(label, &MenuAction::Zone((*name).to_owned())))
        })
        .collect();
    let mut rows: Vec<Vec<InlineKeyboardButton>> = buttons.chunks(2).map(<[_]>::to_vec).collect();
    rows.push(back(MenuAction::Subscription));
    Screen {
        text: format!(
            "<b>Часовой пояс</b>\nСейчас время показывается как {}. Выберите свой:",
            zone_label(current)
        ),
        keyboard: InlineKeyboardMarkup::new(rows),
    }
}

/// One help for everything: categories, the trial, paying, reports, hiding, support.
pub fn help(setup: &Setup) -> Screen {
    let mut lines = vec![
        "<b>Как это работает</b>".to_owned(),
        "Я собираю заказы из фриланс-каналов и присылаю их по категориям: у каждой категории свой бот. Выберите категории в меню и нажмите «Старт» в боте каждой.".to_owned(),
        String::new(),
        format!(
            "🎁 <b>Пробный период</b> — {} бесплатно, с первого /start, один раз.",
            days(setup.trial_days)
        ),
    ];
    if let Some(methods) = &setup.payment_methods {
        lines.push(format!(
            "💳 <b>Оплата</b> — «Оплатить» в меню: {}. Подписка включается сама, как только оплата пройдёт.",
            escape(methods)
        ));
    }
    lines.push("⚠️ <b>Не тот заказ?</b> Под каждым заказом — «Не вакансия / не та категория»: модераторы проверят, и такие посты уйдут из подборки.".to_owned());
    lines.push(
        "🙈 <b>Скрыть автора</b> — кнопка под заказом; вернуть — в «Моя подписка».".to_owned(),
    );
    lines.push(String::new());
    lines.push(
        "/menu — меню, /subscription — подписка, /pay — оплата, /help — эта справка.".to_owned(),
    );
    if let Some(support) = &setup.support {
        lines.push(format!("Вопросы и поддержка: {}", escape(support)));
    }
    Screen {
        text: lines.join("\n"),
        keyboard: InlineKeyboardMarkup::new([back(MenuAction::Menu)]),
    }
}

/// How a user knows a hidden author: their @username (from the key, or from their latest post
/// for an author known by id) or signature, else "the author" of the chat they last posted
/// in; the key's id only when nothing else is known.
pub fn author_name(key: &str, chat_title: Option<&str>, username: Option<&str>) -> String {
    let chat = chat_title.map(|t| format!("«{t}»"));
    let username = key
        .strip_prefix('@')
        .or(username.filter(|_| key.starts_with("id:")));
    if let Some(username) = username {
        return match chat {
            Some(chat) => format!("@{username} из {chat}"),
            None => format!("@{username}"),
        };
    }
    if let Some(signature) = key.strip_prefix("sig:") {
        if chat_title == Some(signature) {
            return format!("канал «{signature}»");
        }
        return match chat {
            Some(chat) => format!("{signature} (подпись в {chat})"),
            None => format!("{signature} (подпись в канале)"),
        };
    }
    match (chat, key.strip_prefix("id:")) {
        (Some(chat), _) => format!("автор из {chat}"),
        (None, Some(id)) => format!("автор №{id}"),
        (None, None) => key.to_owned(),
    }
}

/// `text` cut to `limit` characters at a word's end, with «…» when cut.
pub fn short(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_owned();
    }
    let cut: String = text.chars().take(limit).collect();
    let cut = match cut.rfind(char::is_whitespace) {
        Some(space) if space > 0 => &cut[..space],
        _ => cut.as_str(),
    };
    format!("{}…", cut.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> Setup {
        Setup {
            categories: vec![
                Category {
                    slug: "design".into(),
                    name: "Дизайн".into(),
                },
                Category {
                    slug: "texts".into(),
                    name: "Тексты".into(),
                },
            ],
            category_bots: [("design".to_string(), vec![(1, "rh_design_bot".to_string())])].into(),
            payments: true,
            support: Some("@rh_support".into()),
            trial_days: 2,
            payment_methods: Some("Telegram Stars".into()),
            feeds: None,
        }
    }

    fn labels(screen: &Screen) -> Vec<Vec<String>> {
        screen
            .keyboard
            .inline_keyboard
            .iter()
            .map(|row| row.iter().map(|b| b.text.clone()).collect())
            .collect()
    }

    #[test]
    fn the_picker_sets_states_and_comes_back() {
        // given a user who chose texts
        let view = UserView {
            chosen: ["texts".to_string()].into(),
            ..UserView::default()
        };
        // when the picker is drawn
        let screen = categories(&view, &setup());
        // then texts is checked and its button turns it off; design's turns it on
        assert_eq!(
            labels(&screen),
            [vec!["Дизайн", "✅ Тексты"], vec!["✅ Готово"]]
        );
        let data: Vec<MenuAction> = screen.keyboard.inline_keyboard[0]
            .iter()
            .map(|b| match &b.kind {
                teloxide::types::InlineKeyboardButtonKind::CallbackData(d) => {
                    MenuAction::parse(d).unwrap()
                }
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            data,
            [
                MenuAction::Choose {
                    slug: "design".into(),
                    on: true
                },
                MenuAction::Choose {
                    slug: "texts".into(),
                    on: false
                },
            ]
        );
    }

    #[test]
    fn the_main_menu_links_each_chosen_bot_and_marks_started_ones() {
        let now = Utc::now();
        let mut view = UserView {
            chosen: ["design".to_string(), "texts".to_string()].into(),
            access: Access {
                trial_ends_at: Some(now + chrono::Duration::days(2)),
                paid_until: None,
            },
            ..UserView::default()
        };
        let screen = main(&view, &setup(), None, now);
        assert_eq!(labels(&screen)[0], ["👉 Дизайн: открыть бота"]);
        assert!(
            screen.text.contains("⏳ Тексты: бот скоро появится"),
            "{}",
            screen.text
        );
        assert!(screen.text.contains("(МСК)"), "{}", screen.text);
        view.started.insert("design".into());
        let screen = main(&view, &setup(), None, now);
        assert_eq!(labels(&screen)[0], ["✅ Дизайн — @rh_design_bot"]);
        assert!(!screen.text.contains("нажмите «Старт»"), "{}", screen.text);
    }

    #[test]
    fn a_category_with_several_bots_links_each_user_to_their_own() {
        // given design with three bots, a user on the second
        let now = Utc::now();
        let mut setup = setup();
        setup.category_bots.insert(
            "design".into(),
            vec![
                (1, "rh_design_bot".into()),
                (2, "rh_design2_bot".into()),
                (3, "rh_design3_bot".into()),
            ],
        );
        let mut view = UserView {
            chosen: ["design".to_string()].into(),
            started: ["design".to_string()].into(),
            bots: [("design".to_string(), 2)].into(),
            ..UserView::default()
        };
        // then the menu links the second
        assert_eq!(
            labels(&main(&view, &setup, None, now))[0],
            ["✅ Дизайн — @rh_design2_bot"]
        );
        // and a bot no longer configured falls back to the first
        view.bots.insert("design".into(), 9);
        assert_eq!(
            labels(&main(&view, &setup, None, now))[0],
            ["✅ Дизайн — @rh_design_bot"]
        );
    }

    #[test]
    fn newcomers_go_to_the_bot_with_fewest_users_and_ties_are_spread() {
        let bots = [11, 12, 13];
        // the first bot's users recorded before it had company count for it
        let loads = [(None, 4), (Some(11), 1), (Some(12), 5), (Some(13), 2)];
        assert_eq!(bot_for_newcomer(&bots, &loads, 7), Some(13));
        // a bot nobody started yet has none
        assert_eq!(
            bot_for_newcomer(&bots, &[(Some(11), 1), (Some(12), 1)], 7),
            Some(13)
        );
        // on a tie, users at once are spread over the tied bots, not all on one
        let picked: BTreeSet<i64> = (0..30)
            .filter_map(|user| bot_for_newcomer(&bots, &[], user))
            .collect();
        assert_eq!(picked, [11, 12, 13].into());
        assert_eq!(bot_for_newcomer(&[], &[], 7), None);
        // and sign-ups one after another end up even
        let mut loads: Vec<(Option<i64>, i64)> = Vec::new();
        for user in 0..300 {
            let bot = bot_for_newcomer(&bots, &loads, user * 7).unwrap();
            match loads.iter_mut().find(|(id, _)| *id == Some(bot)) {
                Some((_, count)) => *count += 1,
                None => loads.push((Some(bot), 1)),
            }
        }
        assert!(loads.iter().all(|(_, count)| *count == 100), "{loads:?}");
    }

    #[test]
    fn subscription_gives_a_feed_per_chosen_category_only_while_access_runs() {
        // given feeds on, and a user of design on a trial
        let now = Utc::now();
        let feeds = crate::feeds::FeedLinks::new(
            url::Url::parse("https://rh.example/").unwrap(),
            "a-secret-of-sixteen",
        );
        let setup = Setup {
            feeds: Some(feeds.clone()),
            ..setup()
        };
        let mut view = UserView {
            user_id: 42,
            chosen: ["design".to_string()].into(),
            ..UserView::default()
        };
        view.access.trial_ends_at = Some(now + chrono::Duration::days(1));
        // when «Моя подписка» is drawn
        let screen = subscription(&view, &setup, now);
        // then it links the design feed only
        let link = format!("<a href=\"{}\">Дизайн</a>", feeds.url(42, "design"));
        assert!(screen.text.contains(&link), "{}", screen.text);
        assert!(!screen.text.contains("texts.atom"), "{}", screen.text);
        // and once the trial is over, no feed is offered
        view.access.trial_ends_at = Some(now - chrono::Duration::days(1));
        let screen = subscription(&view, &setup, now);
        assert!(!screen.text.contains(".atom"), "{}", screen.text);
    }

    #[test]
    fn help_names_trial_payment_reports_hiding_and_support() {
        let text = help(&setup()).text;
        for part in [
            "2 дня",
            "Оплата",
            "Не вакансия",
            "Скрыть автора",
            "@rh_support",
        ] {
            assert!(text.contains(part), "{part}: {text}");
        }
    }

    #[test]
    fn a_stars_subscription_says_whether_it_renews_and_offers_the_opposite() {
        let now = Utc::now();
        let stars = |canceled: bool, days: i64| StarsSubscription {
            subscription_id: "st-1".into(),
            user_id: 1,
            plan: "month".into(),
            first_charge_id: "stx1".into(),
            stars: 300,
            charges: 1,
            started_at: now - chrono::Duration::days(30 - days),
            paid_until: now + chrono::Duration::days(days),
            canceled,
        };
        let screen = |known| {
            let view = UserView {
                stars: Some(known),
                ..UserView::default()
            };
            let screen = subscription(&view, &setup(), now);
            let line = screen
                .text
                .lines()
                .find(|l| l.starts_with('⭐'))
                .unwrap()
                .to_owned();
            (line, labels(&screen).concat())
        };
        // given a renewing subscription: the next charge, and «cancel»
        let (line, buttons) = screen(stars(false, 10));
        assert!(
            line.starts_with("⭐ Автопродление Stars: следующее списание"),
            "{line}"
        );
        assert!(line.contains("300 ⭐"), "{line}");
        assert!(buttons.contains(&"✖️ Отменить автопродление".to_owned()));
        // given one canceled through the bot: paid until, and «resume»
        let (line, buttons) = screen(stars(true, 10));
        assert!(
            line.starts_with("⭐ Автопродление отменено: оплачено до"),
            "{line}"
        );
        assert!(buttons.contains(&"🔁 Возобновить автопродление".to_owned()));
        // given a month that ended without a renewal: said so, no button
        let (line, buttons) = screen(stars(false, -2));
        assert!(
            line.starts_with("⭐ Подписка Stars не продлилась"),
            "{line}"
        );
        assert!(!buttons.iter().any(|b| b.contains("автопродление")));
    }

    #[test]
    fn hidden_authors_read_as_names() {
        assert_eq!(
            author_name("@boss", Some("Фриланс"), None),
            "@boss из «Фриланс»"
        );
        assert_eq!(
            author_name("sig:Иван", None, None),
            "Иван (подпись в канале)"
        );
        assert_eq!(
            author_name("id:201", Some("Заказы"), Some("anna_hr")),
            "@anna_hr из «Заказы»"
        );
        assert_eq!(
            author_name("id:201", Some("Заказы"), None),
            "автор из «Заказы»"
        );
        assert_eq!(author_name("id:201", None, None), "автор №201");
        assert_eq!(
            author_name("sig:Заказы", Some("Заказы"), None),
            "канал «Заказы»"
        );
    }

    #[test]
    fn names_are_cut_at_a_word() {
        assert_eq!(short("Очень длинное имя автора", 12), "Очень…");
        assert_eq!(short("коротко", 12), "коротко");
    }
}
