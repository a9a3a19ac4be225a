//! The fan-out service over real NATS and Postgres, sending through teloxide to the fake Bot
//! API with Telegram's limits on.

#![allow(clippy::unwrap_used)] // tests may panic on broken set-up

use std::collections::BTreeMap;
use std::time::Duration;

use bus::Bus;
use fanout::plan::PlanConfig;
use fanout::service::{FanoutConfig, run};
use schemas::{Envelope, Event, MessageDeleted, MessageKey};
use sqlx::PgPool;
use teloxide::Bot;
use testkit::events::{subscriber, vacancy};
use testkit::eventually;
use testkit::{FakeTelegram, Fault};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

const DESIGN: &str = "4001:design-secret";
const TEXTS: &str = "4002:texts-secret";
const CHANNEL: i64 = -1_001_000_000_555;

struct Pipeline {
    bus: Bus,
    pool: PgPool,
    fake: FakeTelegram,
    shutdown: CancellationToken,
    app: testkit::App,
}

impl Pipeline {
    async fn start() -> Self {
        let app = testkit::App::start().await;
        let fake = FakeTelegram::start().await.unwrap();
        fake.register_bot(DESIGN, "rh_design_bot");
        Self {
            bus: app.bus.clone(),
            pool: app.db.pool.clone(),
            fake,
            shutdown: app.shutdown.clone(),
            app,
        }
    }

    /// One fan-out process with the design bot; its own stop token.
    fn fanout(&self) -> (CancellationToken, JoinHandle<anyhow::Result<()>>) {
        self.fanout_with(Bot::new(DESIGN).set_api_url(url::Url::parse(self.fake.url()).unwrap()))
    }

    /// One fan-out process sending through `bot` (the design bot with a client of its own).
    fn fanout_with(&self, bot: Bot) -> (CancellationToken, JoinHandle<anyhow::Result<()>>) {
        self.fanout_bots(BTreeMap::from([("design".to_string(), bot)]))
    }

    /// One fan-out process with these bots (category slug → bot).
    fn fanout_bots(
        &self,
        bots: BTreeMap<String, Bot>,
    ) -> (CancellationToken, JoinHandle<anyhow::Result<()>>) {
        let stop = self.shutdown.child_token();
        let config = FanoutConfig {
            plan: PlanConfig { max_age: None },
            ..FanoutConfig::default()
        };
        let task = tokio::spawn(run(
            self.bus.clone(),
            self.pool.clone(),
            fanout::tokens::one_bot_each(bots),
            config,
            stop.clone(),
        ));
        (stop, task)
    }

    /// Publishes events and waits until the read models show them.
    async fn given(&self, events: &[Envelope]) {
        self.app.given(events).await;
    }

    /// The fan-out processes that claimed sends, in the order their runs of claims began.
    async fn senders(&self) -> Vec<String> {
        let mut senders: Vec<String> = self
            .deliveries()
            .await
            .into_iter()
            .filter_map(|event| match event {
                Event::DeliveryClaimed(claim) => Some(claim.sender),
                _ => None,
            })
            .collect();
        senders.dedup();
        senders
    }

    async fn deliveries(&self) -> Vec<Event> {
        self.bus
            .read_to_end(schemas::Area::Deliveries.stream(), 1)
            .await
            .unwrap()
            .iter()
            .map(|m| m.decode().unwrap().envelope.event)
            .filter(|e| !matches!(e, Event::DeliveryPlanned(_)))
            .collect()
    }
}

#[tokio::test]
async fn a_blocked_bot_becomes_an_event_deleted_posts_are_not_sent_and_restarts_send_nothing_twice()
{
    // given two design subscribers, the second of whom blocked the design bot
    let pipeline = Pipeline::start().await;
    let fake = &pipeline.fake;
    let mut users = subscriber(1, &["design"], 2);
    users.extend(subscriber(2, &["design"], 2));
    pipeline.given(&users).await;
    fake.user_says("rh_design_bot", 1, "/start").unwrap();
    fake.user_says("rh_design_bot", 2, "/start").unwrap();
    fake.block("rh_design_bot", 2).unwrap();
    let (stop, task) = pipeline.fanout();

    // when a design vacancy is classified
    let first = MessageKey::new(CHANNEL, 1);
    pipeline
        .given(&vacancy(
            first,
            "Нужен логотип <b>срочно</b>",
            "anna",
            &["design"],
        ))
        .await;
    // then the first user gets it, and the blocked one becomes a failure and a stopped bot
    eventually("the failure", async || {
        pipeline
            .deliveries()
            .await
            .iter()
            .any(|e| matches!(e, Event::DeliveryFailed(f) if f.user_id == 2))
    })
    .await;
    eventually("the delivery", async || {
        fake.sent_to("rh_design_bot", 1).len() == 1
    })
    .await;
    assert!(
        fake.sent_to("rh_design_bot", 1)[0]
            .text
            .contains("&lt;b&gt;срочно")
    );
    let users_events = pipeline
        .bus
        .read_to_end(schemas::Area::Users.stream(), 1)
        .await
        .unwrap();
    let stopped = users_events.iter().any(|m| {
        matches!(m.decode().unwrap().envelope.event,
            Event::CategoryBotStopped(ref s) if s.user_id == 2 && s.reason == schemas::BotStopReason::Blocked)
    });
    assert!(stopped, "a 403 stops the bot for that user");
    eventually("the stop in the read model", async || {
        projections::read::users::user_bot(&pipeline.pool, 2, "design")
            .await
            .unwrap()
            .is_some_and(|bot| !bot.active)
    })
    .await;

    // when a second vacancy is deleted at the source before fan-out reads it, and a third comes
    let deleted = MessageKey::new(CHANNEL, 2);
    let mut events = vacancy(deleted, "Дизайн баннеров", "boris", &["design"]);
    events.insert(1, Envelope::new(MessageDeleted { key: deleted }));
    pipeline.given(&events).await;
    let third = MessageKey::new(CHANNEL, 3);
    pipeline
        .given(&vacancy(
            third,
            "Иконки для приложения",
            "vera",
            &["design"],
        ))
        .await;
    // then only the third reaches the first user, and nothing reaches the blocked one
    eventually("the third", async || {
        fake.sent_to("rh_design_bot", 1).len() == 2
    })
    .await;
    assert!(fake.sent_to("rh_design_bot", 1)[1].text.contains("Иконки"));
    assert!(fake.sent_to("rh_design_bot", 2).is_empty());

    // when fan-out restarts and the first vacancy is classified again (a backfill)
    stop.cancel();
    task.await.unwrap().unwrap();
    let (_stop, _task) = pipeline.fanout();
    let mut again = vacancy(first, "Нужен логотип <b>срочно</b>", "anna", &["design"]);
    again[1].id = format!("{}:classified:v2", first.id());
    pipeline.given(&again[1..]).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    // then nobody gets anything twice: one claim per (user, vacancy)
    assert_eq!(fake.sent_to("rh_design_bot", 1).len(), 2);
    let claims = pipeline
        .deliveries()
        .await
        .iter()
        .filter(|e| matches!(e, Event::DeliveryClaimed(_)))
        .count();
    assert_eq!(
        claims, 3,
        "users 1 and 2 for the first, user 1 for the third"
    );
}

#[tokio::test]
async fn a_flood_of_cards_rings_five_times_a_minute_per_bot_and_loses_nothing() {
    // given a subscriber of two categories, each with its bot started
    let pipeline = Pipeline::start().await;
    let fake = &pipeline.fake;
    fake.register_bot(TEXTS, "rh_texts_bot");
    pipeline
        .given(&subscriber(7, &["design", "texts"], 2))
        .await;
    fake.user_says("rh_design_bot", 7, "/start").unwrap();
    fake.user_says("rh_texts_bot", 7, "/start").unwrap();
    let api = url::Url::parse(fake.url()).unwrap();
    let _fanout = pipeline.fanout_bots(BTreeMap::from([
        (
            "design".to_string(),
            Bot::new(DESIGN).set_api_url(api.clone()),
        ),
        ("texts".to_string(), Bot::new(TEXTS).set_api_url(api)),
    ]));

    // when seven vacancies of each category come at once
    let mut events = Vec::new();
    for n in 0..7 {
        let design = MessageKey::new(CHANNEL, 100 + n);
        events.extend(vacancy(
            design,
            &format!("Логотип №{n}"),
            "anna",
            &["design"],
        ));
        let texts = MessageKey::new(CHANNEL, 200 + n);
        events.extend(vacancy(texts, &format!("Статья №{n}"), "boris", &["texts"]));
    }
    pipeline.given(&events).await;
    // then every card arrives, each under its «Открыть пост», and in each bot's chat the first
    // five ring while the rest come silently
    eventually("every card", async || {
        fake.sent_to("rh_design_bot", 7).len() == 7 && fake.sent_to("rh_texts_bot", 7).len() == 7
    })
    .await;
    for bot in ["rh_design_bot", "rh_texts_bot"] {
        let cards = fake.sent_to(bot, 7);
        let silent: Vec<bool> = cards.iter().map(|m| m.silent).collect();
        assert_eq!(
            silent,
            [false, false, false, false, false, true, true],
            "{bot}"
        );
        let first_button = &cards[0].reply_markup.as_ref().unwrap()["inline_keyboard"][0][0];
        assert_eq!(first_button["text"], "🔗 Открыть пост");
        assert!(
            first_button["url"]
                .as_str()
                .unwrap()
                .starts_with("https://t.me/jobs_channel/")
        );
    }
    assert_eq!(fake.too_many_requests("rh_design_bot"), 0);
    assert_eq!(fake.too_many_requests("rh_texts_bot"), 0);
}

#[tokio::test]
async fn two_fan_out_processes_share_a_bot_without_breaking_its_limit() {
    // given 300 design subscribers (over 10 s of sends: longer than the pin's 5 s timeout) and
    // two fan-out processes with the design bot
    let pipeline = Pipeline::start().await;
    let fake = &pipeline.fake;
    let mut users = Vec::new();
    for user in 100..400 {
        users.extend(subscriber(user, &["design"], 2));
        fake.user_says("rh_design_bot", user, "/start").unwrap();
    }
    pipeline.given(&users).await;
    let _first = pipeline.fanout();
    let _second = pipeline.fanout();

    // when a vacancy is classified
    let key = MessageKey::new(CHANNEL, 10);
    pipeline
        .given(&vacancy(key, "Дизайн упаковки", "gleb", &["design"]))
        .await;
    // then each subscriber gets it exactly once, and the bot never went over 30 a second:
    // one process owns its sends the whole time, busy as it is (the pin never moved)
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while fake.sent_by("rh_design_bot").len() < 300 {
        assert!(std::time::Instant::now() < deadline, "not every delivery");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sent = fake.sent_by("rh_design_bot");
    let mut chats: Vec<i64> = sent.iter().map(|m| m.chat_id).collect();
    chats.sort();
    chats.dedup();
    assert_eq!((sent.len(), chats.len()), (300, 300));
    assert_eq!(fake.too_many_requests("rh_design_bot"), 0);
    let senders = pipeline.senders().await;
    assert_eq!(
        senders.len(),
        1,
        "the pin moved between live copies: {senders:?}"
    );
}

#[tokio::test]
async fn a_sender_waiting_out_a_429_keeps_its_pin_so_the_standby_does_not_send_meanwhile() {
    // given 200 design subscribers (more than a sender takes at once), two fan-out processes,
    // and Telegram answering the 20th send with 429 retry_after 7 (longer than the pin's 5 s
    // timeout)
    let pipeline = Pipeline::start().await;
    let fake = &pipeline.fake;
    let mut users = Vec::new();
    for user in 500..700 {
        users.extend(subscriber(user, &["design"], 2));
        fake.user_says("rh_design_bot", user, "/start").unwrap();
    }
    pipeline.given(&users).await;
    let mut plan = vec![None; 19];
    plan.push(Some(Fault::TooManyRequests(7)));
    fake.fail_next("sendMessage", plan);
    let _first = pipeline.fanout();
    let _second = pipeline.fanout();

    // when a vacancy is classified
    let key = MessageKey::new(CHANNEL, 11);
    pipeline
        .given(&vacancy(key, "Баннеры для соцсетей", "vera", &["design"]))
        .await;
    // then the 429 was played and waited out: nothing was sent in the 7 s after it, by either
    // process, and one process sent everything
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while fake.sent_by("rh_design_bot").len() < 200 {
        assert!(std::time::Instant::now() < deadline, "not every delivery");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(fake.faults_played().len(), 1);
    let mut times: Vec<_> = fake.sent_by("rh_design_bot").iter().map(|m| m.at).collect();
    times.sort();
    let longest_pause = times.windows(2).map(|w| w[1] - w[0]).max().unwrap();
    assert!(
        longest_pause >= Duration::from_millis(6_900),
        "the bot sent during its retry_after (longest pause {longest_pause:?})"
    );
    let senders = pipeline.senders().await;
    assert_eq!(
        senders.len(),
        1,
        "the pin moved to the standby: {senders:?}"
    );
    assert_eq!(fake.sent_by("rh_design_bot").len(), 200);
}

#[tokio::test]
async fn telegram_failing_loses_no_delivery_and_an_answer_that_never_came_is_not_sent_twice() {
    // given four design subscribers, and a Bot API whose sends fail: Telegram's JSON 500, then
    // a proxy's HTML 502, then an answer that comes after the client gave up (teloxide itself
    // waits 10 s after each 5xx, so the client here waits 12 s)
    let pipeline = Pipeline::start().await;
    let fake = &pipeline.fake;
    let mut users = Vec::new();
    for user in 200..204 {
        users.extend(subscriber(user, &["design"], 2));
        fake.user_says("rh_design_bot", user, "/start").unwrap();
    }
    pipeline.given(&users).await;
    fake.fail_next(
        "sendMessage",
        [
            Some(Fault::InternalError),
            None,
            Some(Fault::BadGatewayPage),
            Some(Fault::LateAnswer(Duration::from_secs(14))),
        ],
    );
    let url = url::Url::parse(fake.url()).unwrap();
    let bot =
        fanout::telegram::bot_with_timeout(DESIGN, Some(url), Duration::from_secs(12)).unwrap();
    let _fanout = pipeline.fanout_with(bot);

    // when a vacancy is classified
    let key = MessageKey::new(CHANNEL, 20);
    pipeline
        .given(&vacancy(key, "Нарисовать баннер", "dina", &["design"]))
        .await;

    // then every send has an outcome: three delivered, the late one unconfirmed, none failed
    eventually("an outcome for every subscriber", async || {
        pipeline
            .deliveries()
            .await
            .iter()
            .filter(|e| {
                matches!(
                    e,
                    Event::VacancyDelivered(_) | Event::DeliveryUnconfirmed(_)
                )
            })
            .count()
            == 4
    })
    .await;
    let outcomes = pipeline.deliveries().await;
    assert!(
        !outcomes
            .iter()
            .any(|e| matches!(e, Event::DeliveryFailed(_)))
    );
    let unconfirmed: Vec<i64> = outcomes
        .iter()
        .filter_map(|e| match e {
            Event::DeliveryUnconfirmed(u) => Some(u.user_id),
            _ => None,
        })
        .collect();
    assert_eq!(unconfirmed.len(), 1, "only the late answer is unconfirmed");
    // and each subscriber holds exactly one card: the 500 and the 502 were sent again, the
    // late one (which Telegram did deliver) was not
    let sent = fake.sent_by("rh_design_bot");
    let mut chats: Vec<i64> = sent.iter().map(|m| m.chat_id).collect();
    chats.sort();
    assert_eq!(chats, vec![200, 201, 202, 203]);
    assert_eq!(fake.faults_played().len(), 3);
    // and the read model names the unconfirmed send
    eventually("the unconfirmed send in the read model", async || {
        projections::read::deliveries::all(&pipeline.pool)
            .await
            .unwrap()
            .iter()
            .any(|d| {
                d.user_id == unconfirmed[0]
                    && d.error
                        .as_deref()
                        .is_some_and(|e| e.starts_with("unconfirmed"))
            })
    })
    .await;
}

/// The design category's three bots: (token, @username, bot id).
const DESIGN_BOTS: [(&str, &str, i64); 3] = [
    (DESIGN, "rh_design_bot", 4001),
    ("4011:design-two", "rh_design2_bot", 4011),
    ("4012:design-three", "rh_design3_bot", 4012),
];

impl Pipeline {
    /// One fan-out process with design's three bots, paid broadcast on or off.
    fn fanout_sharded(&self, paid_broadcast: bool) -> JoinHandle<anyhow::Result<()>> {
        let api = url::Url::parse(self.fake.url()).unwrap();
        let shards = DESIGN_BOTS
            .iter()
            .map(|(token, _, _)| {
                fanout::tokens::Shard::of(Bot::new(*token).set_api_url(api.clone()))
            })
            .collect();
        let config = FanoutConfig {
            plan: PlanConfig { max_age: None },
            send: fanout::send::SendConfig {
                paid_broadcast,
                ..Default::default()
            },
        };
        tokio::spawn(run(
            self.bus.clone(),
            self.pool.clone(),
            [("design".to_string(), shards)].into(),
            config,
            self.shutdown.child_token(),
        ))
    }

    /// A design subscriber who started the design bot `bot` (an index into [`DESIGN_BOTS`]);
    /// the first bot's users were recorded before the category had more (no bot id).
    fn on_bot(&self, user_id: i64, bot: usize) -> Vec<Envelope> {
        let (_, username, bot_id) = DESIGN_BOTS[bot];
        self.fake.user_says(username, user_id, "/start").unwrap();
        let mut events = subscriber(user_id, &["design"], 2);
        for event in &mut events {
            if let Event::CategoryBotStarted(started) = &mut event.event {
                started.bot_id = (bot > 0).then_some(bot_id);
            }
        }
        events
    }
}

#[tokio::test]
async fn a_category_with_several_bots_sends_each_user_through_their_own_and_takes_cards_back_through_it()
 {
    // given design with three bots and 30 subscribers, ten on each
    let pipeline = Pipeline::start().await;
    let fake = &pipeline.fake;
    for (token, username, _) in &DESIGN_BOTS[1..] {
        fake.register_bot(token, username);
    }
    let mut users = Vec::new();
    for user in 1..=30 {
        users.extend(pipeline.on_bot(user, (user % 3) as usize));
    }
    // and one of them who moved from the first bot to the third
    let moved = 31;
    users.extend(pipeline.on_bot(moved, 0));
    let mut again = pipeline.on_bot(moved, 2);
    again.retain(|e| matches!(e.event, Event::CategoryBotStarted(_)));
    users.extend(again);
    pipeline.given(&users).await;
    let _fanout = pipeline.fanout_sharded(false);

    // when a design vacancy is classified
    let key = MessageKey::new(CHANNEL, 1);
    pipeline
        .given(&vacancy(key, "Нужен логотип", "anna", &["design"]))
        .await;

    // then each user gets it once, through their bot: ten through each, the moved user's through
    // the third
    let sent = |bot: usize| fake.sent_by(DESIGN_BOTS[bot].1);
    eventually("31 cards", async || {
        (0..3).map(|bot| sent(bot).len()).sum::<usize>() == 31
    })
    .await;
    for (bot, (_, username, _)) in DESIGN_BOTS.iter().enumerate() {
        let mut chats: Vec<i64> = sent(bot).iter().map(|m| m.chat_id).collect();
        chats.sort();
        let mut expected: Vec<i64> = (1..=30).filter(|u| (u % 3) as usize == bot).collect();
        if bot == 2 {
            expected.push(moved);
        }
        assert_eq!(chats, expected, "bot {username}");
    }
    // and each delivery names the bot that sent it
    eventually("the deliveries with their bots", async || {
        let delivered: Vec<(i64, Option<i64>)> = pipeline
            .deliveries()
            .await
            .into_iter()
            .filter_map(|e| match e {
                Event::VacancyDelivered(d) => Some((d.user_id, d.bot_id)),
                _ => None,
            })
            .collect();
        delivered.len() == 31
            && delivered.iter().all(|(user, bot)| {
                *bot == Some(
                    DESIGN_BOTS[if *user == moved {
                        2
                    } else {
                        (*user % 3) as usize
                    }]
                    .2,
                )
            })
    })
    .await;

    // when an admin confirms it is not a vacancy
    eventually("the deliveries in the read model", async || {
        projections::read::deliveries::recipients(&pipeline.pool, key)
            .await
            .unwrap()
            .len()
            == 31
    })
    .await;
    pipeline
        .given(&[Envelope::new(schemas::ClassificationCorrected {
            key,
            kind: schemas::PostKind::Resume,
            categories: Vec::new(),
            admin_id: 1,
            report_id: None,
        })])
        .await;
    // then every card is deleted, each by the bot that sent it
    eventually("every card taken back", async || {
        (0..3).all(|bot| sent(bot).iter().all(|m| m.deleted))
    })
    .await;
    assert_eq!(fake.too_many_requests(DESIGN_BOTS[0].1), 0);
}

#[tokio::test]
async fn with_paid_broadcast_a_bot_sends_past_thirty_a_second_and_says_so_to_telegram() {
    // given 90 design subscribers on the first bot, paid broadcast on
    let pipeline = Pipeline::start().await;
    let fake = &pipeline.fake;
    for (token, username, _) in &DESIGN_BOTS[1..] {
        fake.register_bot(token, username);
    }
    let users: Vec<Envelope> = (1..=90).flat_map(|user| pipeline.on_bot(user, 0)).collect();
    pipeline.given(&users).await;
    let _fanout = pipeline.fanout_sharded(true);

    // when a design vacancy is classified
    pipeline
        .given(&vacancy(
            MessageKey::new(CHANNEL, 7),
            "Нужен баннер",
            "anna",
            &["design"],
        ))
        .await;

    // then all 90 go out as paid broadcasts, faster than the free 30 a second, without a 429
    let bot = DESIGN_BOTS[0].1;
    eventually("90 cards", async || fake.sent_by(bot).len() == 90).await;
    assert_eq!(fake.paid_broadcasts(bot), 90);
    assert_eq!(fake.too_many_requests(bot), 0);
    let mut times: Vec<std::time::Instant> = fake.sent_by(bot).iter().map(|m| m.at).collect();
    times.sort();
    let busiest_second = times
        .iter()
        .map(|start| {
            times
                .iter()
                .filter(|t| **t >= *start && **t < *start + Duration::from_secs(1))
                .count()
        })
        .max()
        .unwrap();
    assert!(busiest_second > 30, "at most {busiest_second} in a second");
}
