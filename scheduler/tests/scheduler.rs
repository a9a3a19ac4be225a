//! The scheduler end to end over real NATS (its message schedules firing), Postgres and the fake
//! Bot API: expiry notices on a second-scale schedule, the admins' report and the public pick
//! asked for twice, `/jobs` and «Повторить» in the main bot, a failing run told to the admins.

#![allow(clippy::unwrap_used)] // tests may panic on broken set-up

use std::time::Duration;

use bots::main_bot::{MainBot, MainBotConfig};
use bus::Bus;
use chrono::{DateTime, Days, TimeZone, Utc};
use scheduler::{SchedulerConfig, Settings};
use schemas::{
    CategoryDefined, ChatTarget, Envelope, Job, MessageKey, PaymentCreated, PaymentSucceeded,
    Provider, TrialStarted, UserRegistered,
};
use teloxide::Bot;
use testkit::telegram::Sent;
use testkit::{FakeTelegram, eventually};
use tokio_util::sync::CancellationToken;

const MAIN: &str = "9000:main-secret";
const ADMIN: i64 = 77;
const CHANNEL: i64 = -1_002_000_000_001;

struct Scheduler {
    app: testkit::App,
    fake: FakeTelegram,
    bot: Bot,
    /// Stops the scheduler alone.
    stop: CancellationToken,
}

impl Scheduler {
    /// The backbone (on `db`, or a fresh database), the fake Bot API with the main bot and the
    /// public channel, and the scheduler with expiry notices every second.
    async fn start_on(db: Option<testkit::TestDatabase>) -> Self {
        let app = match db {
            Some(db) => testkit::App::start_on(db).await,
            None => testkit::App::start().await,
        };
        let fake = FakeTelegram::start().await.unwrap();
        fake.register_bot(MAIN, "rh_main_bot");
        fake.create_channel(CHANNEL, "rh_jobs", "Вакансии дня");
        fake.make_channel_admin("rh_main_bot", CHANNEL).unwrap();
        fake.user_says("rh_main_bot", ADMIN, "/start").unwrap();
        let bot = Bot::new(MAIN).set_api_url(url::Url::parse(fake.url()).unwrap());
        let stop = app.shutdown.child_token();
        let settings = Settings {
            expiry_every: Duration::from_secs(1),
            admins: vec![ADMIN],
            public_channel: Some(ChatTarget::Id(CHANNEL)),
            ..Settings::default()
        };
        tokio::spawn(scheduler::run(
            app.bus.clone(),
            app.db.pool.clone(),
            SchedulerConfig::new(settings, Some(bot.clone())),
            stop.clone(),
        ));
        Self {
            app,
            fake,
            bot,
            stop,
        }
    }

    fn bus(&self) -> &Bus {
        &self.app.bus
    }

    fn sent_to(&self, chat: i64) -> Vec<Sent> {
        self.fake.sent_to("rh_main_bot", chat)
    }

    /// The finished runs of `job`, oldest first.
    async fn runs(&self, job: Job) -> Vec<projections::read::scheduler::JobRun> {
        let mut runs: Vec<_> = projections::read::scheduler::recent_runs(&self.app.db.pool, 100)
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.job == job.as_str() && r.outcome.is_some())
            .collect();
        runs.reverse();
        runs
    }
}

fn texts(sent: &[Sent], prefix: &str) -> usize {
    sent.iter().filter(|m| m.text.starts_with(prefix)).count()
}

#[tokio::test]
async fn a_trial_ending_soon_is_warned_once_then_told_once_that_it_ended() {
    // given a user whose trial ends in four seconds, who talks to the main bot
    let scheduler = Scheduler::start_on(None).await;
    const USER: i64 = 501;
    scheduler
        .fake
        .user_says("rh_main_bot", USER, "/start")
        .unwrap();
    let now = Utc::now();
    let ends_at = now + chrono::Duration::seconds(4);
    scheduler
        .app
        .given(&[
            Envelope::new(UserRegistered {
                user_id: USER,
                username: None,
                first_name: "Аня".into(),
                language_code: Some("ru".into()),
                source: None,
            }),
            Envelope::new(TrialStarted {
                user_id: USER,
                starts_at: now - chrono::Duration::days(2),
                ends_at,
            }),
        ])
        .await;

    // when the expiry schedule fires every second
    // then the user is warned, with the end in Moscow time and a button to the plans
    eventually("the warning", async || {
        texts(&scheduler.sent_to(USER), "⏳ Пробный период заканчивается") == 1
    })
    .await;
    let warning = scheduler.sent_to(USER)[0].clone();
    let moscow = ends_at
        .with_timezone(&chrono_tz::Europe::Moscow)
        .format("%d.%m.%Y в %H:%M")
        .to_string();
    assert!(warning.text.contains(&moscow), "{}", warning.text);
    let markup = warning.reply_markup.clone().unwrap();
    assert_eq!(markup["inline_keyboard"][0][0]["callback_data"], "p");
    // and once the trial is over, told once that it ended
    eventually("the end", async || {
        texts(&scheduler.sent_to(USER), "⌛ Пробный период закончился") == 1
    })
    .await;
    // and never a third time, however many ticks pass
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(scheduler.sent_to(USER).len(), 2);
    let runs = scheduler.runs(Job::ExpiryNotices).await;
    assert!(
        runs.len() >= 5,
        "the schedule fired every second: {}",
        runs.len()
    );
    assert!(runs.iter().all(|r| r.trigger == "schedule"));
    scheduler.stop.cancel();
}

/// Yesterday in Moscow, as the report sees it.
fn yesterday() -> (chrono::NaiveDate, DateTime<Utc>) {
    let zone = chrono_tz::Europe::Moscow;
    let day = Utc::now().with_timezone(&zone).date_naive() - Days::new(1);
    let noon = zone
        .from_local_datetime(&day.and_hms_opt(12, 0, 0).unwrap())
        .unwrap()
        .with_timezone(&Utc);
    (day, noon)
}

#[tokio::test]
async fn the_admin_report_arrives_once_a_day_with_a_chart_and_the_day_s_figures() {
    // given yesterday's sign-ups, trials, a payment and vacancies, and one sign-up today
    let scheduler = Scheduler::start_on(None).await;
    let (day, noon) = yesterday();
    let mut events = vec![Envelope::new(CategoryDefined {
        slug: "design".into(),
        name: "Дизайн".into(),
        order: 1,
        paid_first: false,
        admin_id: None,
    })];
    for user in [1, 2, 3] {
        events.push(
            Envelope::new(UserRegistered {
                user_id: user,
                username: None,
                first_name: format!("U{user}"),
                language_code: None,
                source: None,
            })
            .at(noon),
        );
        events.push(
            Envelope::new(TrialStarted {
                user_id: user,
                starts_at: noon,
                ends_at: noon + chrono::Duration::days(2),
            })
            .at(noon),
        );
    }
    events.push(Envelope::new(UserRegistered {
        user_id: 4,
        username: None,
        first_name: "Today".into(),
        language_code: None,
        source: None,
    }));
    let created = PaymentCreated {
        payment_id: "pay-1".into(),
        user_id: 1,
        plan: "week".into(),
        days: 7,
        provider: Provider::Yookassa,
        amount: schemas::Money {
            minor: 19_900,
            currency: schemas::Currency::Rub,
        },
        provider_payment_id: Some("yk-1".into()),
    };
    events.push(Envelope::new(created.clone()).at(noon));
    events.push(
        Envelope::new(PaymentSucceeded {
            payment_id: "pay-1".into(),
            user_id: 1,
            provider: Provider::Yookassa,
            provider_payment_id: "yk-1".into(),
            amount: created.amount,
            paid_at: noon + chrono::Duration::hours(1),
        })
        .at(noon + chrono::Duration::hours(1)),
    );
    for message in [1, 2] {
        for event in testkit::events::vacancy(
            MessageKey::new(-100_777, message),
            "Логотип",
            "anna",
            &["design"],
        ) {
            events.push(event.at(noon));
        }
    }
    scheduler.app.given(&events).await;
    // the expected figures, from the events themselves
    let in_day = |t: DateTime<Utc>| t.with_timezone(&chrono_tz::Europe::Moscow).date_naive() == day;
    let registered_yesterday = events
        .iter()
        .filter(|e| matches!(e.event, schemas::Event::UserRegistered(_)) && in_day(e.occurred_at))
        .count();
    let trials_yesterday = events
        .iter()
        .filter(|e| matches!(&e.event, schemas::Event::TrialStarted(t) if in_day(t.starts_at)))
        .count();
    let vacancies_yesterday = events
        .iter()
        .filter(|e| matches!(&e.event, schemas::Event::MessageClassified(c) if in_day(e.occurred_at) && c.categories.iter().any(|r| r.slug == "design")))
        .count();

    // when an operator asks for the report twice
    scheduler
        .bus()
        .trigger(Job::AdminReport, "operator:test")
        .await
        .unwrap();
    scheduler
        .bus()
        .trigger(Job::AdminReport, "operator:test")
        .await
        .unwrap();

    // then the admin gets one chart (a PNG) and one text
    eventually("the report", async || scheduler.sent_to(ADMIN).len() >= 2).await;
    eventually("both runs", async || {
        scheduler.runs(Job::AdminReport).await.len() == 2
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sent = scheduler.sent_to(ADMIN);
    assert_eq!(sent.len(), 2, "{sent:?}");
    let chart = sent.iter().find(|m| m.photo.is_some()).expect("a photo");
    assert!(
        chart
            .photo
            .as_ref()
            .unwrap()
            .starts_with(b"\x89PNG\r\n\x1a\n")
    );
    assert!(chart.text.chars().count() <= 1024);
    let text = &sent.iter().find(|m| m.photo.is_none()).unwrap().text;
    // and its figures are the day's
    assert!(
        text.contains(&format!("Отчёт за {}", day.format("%d.%m.%Y"))),
        "{text}"
    );
    assert!(
        text.contains(&format!("Новых: {registered_yesterday}\n")),
        "{text}"
    );
    assert!(
        text.contains(&format!("Начали пробный период: {trials_yesterday}\n")),
        "{text}"
    );
    assert!(text.contains("Оплатили после пробного: 1\n"), "{text}");
    assert!(text.contains("Платежи: yookassa — 1 на 199.00 ₽"), "{text}");
    assert!(
        text.contains(&format!("Дизайн — {vacancies_yesterday}")),
        "{text}"
    );
    // and both runs are recorded, the second having found the report planned already
    let runs = scheduler.runs(Job::AdminReport).await;
    assert!(
        runs.iter()
            .all(|r| r.outcome.as_deref() == Some("succeeded"))
    );
    assert_eq!(runs[1].counts["already_planned"], 1, "{:?}", runs[1].counts);
    let status = scheduler::status::jobs(scheduler.bus(), &scheduler.app.db.pool)
        .await
        .unwrap();
    let report = status.iter().find(|s| s.job == Job::AdminReport).unwrap();
    assert_eq!(
        report.schedule.as_deref(),
        Some("0 0 9 * * * (Europe/Moscow)")
    );
    assert!(report.next_run.is_some_and(|t| t > Utc::now()));
    scheduler.stop.cancel();
}

#[tokio::test]
async fn the_public_pick_posts_the_best_vacancy_of_each_category_once_a_day() {
    // given two categories with vacancies of the last day, one of design's with a contact
    let scheduler = Scheduler::start_on(None).await;
    let mut events = testkit::events::categories(&[
        ("design", "Дизайн"),
        ("texts", "Тексты"),
        ("video", "Видео"),
    ]);
    events.extend(testkit::events::vacancy(
        MessageKey::new(-100_555, 1),
        "Логотип",
        "a",
        &["design"],
    ));
    events.extend(testkit::events::vacancy(
        MessageKey::new(-100_555, 2),
        "Баннер",
        "b",
        &["design"],
    ));
    events.extend(testkit::events::vacancy(
        MessageKey::new(-100_555, 3),
        "Статья",
        "c",
        &["texts"],
    ));
    scheduler.app.given(&events).await;

    // when the pick is asked for twice
    scheduler
        .bus()
        .trigger(Job::PublicPick, "operator:test")
        .await
        .unwrap();
    scheduler
        .bus()
        .trigger(Job::PublicPick, "operator:test")
        .await
        .unwrap();

    // then one post reaches the channel, one vacancy per category that had any
    eventually("the pick", async || !scheduler.sent_to(CHANNEL).is_empty()).await;
    eventually("both runs", async || {
        scheduler.runs(Job::PublicPick).await.len() == 2
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let posts = scheduler.sent_to(CHANNEL);
    assert_eq!(posts.len(), 1, "{posts:?}");
    let post = &posts[0].text;
    assert!(post.contains("Дизайн") && post.contains("Тексты"), "{post}");
    assert!(!post.contains("Видео"), "{post}");
    // each item links to its original: texts' only vacancy, and one of design's two
    assert!(
        post.contains("href=\"https://t.me/jobs_channel/3\""),
        "{post}"
    );
    let design_links = ["/1\"", "/2\""]
        .iter()
        .filter(|l| post.contains(*l))
        .count();
    assert_eq!(design_links, 1, "{post}");
    let markup = posts[0].reply_markup.clone().unwrap();
    assert_eq!(
        markup["inline_keyboard"][0][0]["url"],
        "https://t.me/rh_main_bot?start=channel"
    );
    scheduler.stop.cancel();
}

#[tokio::test]
async fn admins_see_the_jobs_and_a_failed_run_reaches_them_and_is_completed_on_retry() {
    // given the scheduler on a Postgres of the test's own, and the main bot with an admin
    let postgres = testkit::PostgresServer::start().unwrap();
    let scheduler = Scheduler::start_on(Some(postgres.database().await.unwrap())).await;
    let config = MainBotConfig {
        poll_timeout: 1,
        admin_ids: vec![ADMIN],
        ..MainBotConfig::default()
    };
    tokio::spawn(
        MainBot::new(
            scheduler.bot.clone(),
            scheduler.bus().clone(),
            scheduler.app.db.pool.clone(),
            config,
        )
        .run(scheduler.app.shutdown.clone()),
    );

    // when Postgres goes down and the report is asked for
    postgres.stop().unwrap();
    scheduler
        .bus()
        .trigger(Job::AdminReport, "operator:test")
        .await
        .unwrap();
    // then the failed run reaches the admin at once, with its error and «Повторить»
    eventually("the alert", async || {
        texts(
            &scheduler.sent_to(ADMIN),
            "❗ Задача «Ежедневный отчёт» не выполнена",
        ) == 1
    })
    .await;
    let alert = scheduler
        .sent_to(ADMIN)
        .into_iter()
        .find(|m| m.text.starts_with("❗"))
        .unwrap();
    let retry =
        alert.reply_markup.clone().unwrap()["inline_keyboard"][0][0]["callback_data"].clone();
    assert_eq!(retry, "j:admin-report");

    // when Postgres is back and the admin opens /jobs
    postgres.start_again().unwrap();
    scheduler
        .fake
        .user_says("rh_main_bot", ADMIN, "/jobs")
        .unwrap();
    eventually("the jobs", async || {
        texts(&scheduler.sent_to(ADMIN), "🗓 <b>Задачи планировщика</b>") == 1
    })
    .await;
    let jobs = scheduler
        .sent_to(ADMIN)
        .into_iter()
        .find(|m| m.text.starts_with("🗓"))
        .unwrap();
    // then it shows the failed run
    assert!(jobs.text.contains("❌"), "{}", jobs.text);
    // when they press «Повторить» under the alert
    scheduler
        .fake
        .press("rh_main_bot", ADMIN, alert.message_id, "j:admin-report")
        .unwrap();
    // then the report is sent, once
    eventually("the report", async || {
        scheduler.sent_to(ADMIN).iter().any(|m| m.photo.is_some())
    })
    .await;
    eventually("the retried run", async || {
        scheduler
            .runs(Job::AdminReport)
            .await
            .last()
            .is_some_and(|r| r.outcome.as_deref() == Some("succeeded") && r.trigger == "manual")
    })
    .await;
    let runs = scheduler.runs(Job::AdminReport).await;
    assert_eq!(runs[0].outcome.as_deref(), Some("failed"));
    assert!(!runs[0].error.as_deref().unwrap_or_default().is_empty());
    assert_eq!(
        runs.last().unwrap().triggered_by.as_deref(),
        Some(&*format!("admin:{ADMIN}"))
    );
    assert_eq!(
        scheduler
            .sent_to(ADMIN)
            .iter()
            .filter(|m| m.photo.is_some())
            .count(),
        1
    );
    scheduler.stop.cancel();
}

#[tokio::test]
async fn a_user_who_blocked_the_main_bot_is_a_failed_notice_never_retried() {
    // given a user whose trial ended, who blocked the main bot
    let scheduler = Scheduler::start_on(None).await;
    const USER: i64 = 502;
    scheduler
        .fake
        .user_says("rh_main_bot", USER, "/start")
        .unwrap();
    scheduler.fake.block("rh_main_bot", USER).unwrap();
    let now = Utc::now();
    scheduler
        .app
        .given(&[Envelope::new(TrialStarted {
            user_id: USER,
            starts_at: now - chrono::Duration::days(2),
            ends_at: now - chrono::Duration::minutes(5),
        })])
        .await;
    // when the schedule fires
    // then the notice is recorded as failed, and nothing is sent or tried again
    eventually("the failed notice", async || {
        projections::read::scheduler::notifications(&scheduler.app.db.pool)
            .await
            .unwrap()
            .iter()
            .any(|n| {
                n.person_id == Some(USER)
                    && n.error.as_deref().is_some_and(|e| e.contains("blocked"))
            })
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let notices: Vec<_> = projections::read::scheduler::notifications(&scheduler.app.db.pool)
        .await
        .unwrap()
        .into_iter()
        .filter(|n| n.person_id == Some(USER))
        .collect();
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(scheduler.sent_to(USER).is_empty());
    scheduler.stop.cancel();
}
