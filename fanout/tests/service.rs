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
use testkit::FakeTelegram;
use testkit::events::{subscriber, vacancy};
use testkit::eventually;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

const DESIGN: &str = "4001:design-secret";
const CHANNEL: i64 = -1_001_000_000_555;

struct Pipeline {
    bus: Bus,
    pool: PgPool,
    fake: FakeTelegram,
    shutdown: CancellationToken,
    _nats: testkit::TestNats,
    _db: testkit::TestDatabase,
}

impl Pipeline {
    async fn start() -> Self {
        let nats = testkit::nats();
        let bus = Bus::from_client(nats.connect().await.unwrap());
        bus.ensure_streams().await.unwrap();
        let db = testkit::database().await.unwrap();
        projections::migrate(&db.pool).await.unwrap();
        let shutdown = CancellationToken::new();
        tokio::spawn(projections::run(
            bus.clone(),
            db.pool.clone(),
            projections::Config::new(db.url.clone()),
            shutdown.clone(),
        ));
        let fake = FakeTelegram::start().await.unwrap();
        fake.register_bot(DESIGN, "rh_design_bot");
        Self {
            bus,
            pool: db.pool.clone(),
            fake,
            shutdown,
            _nats: nats,
            _db: db,
        }
    }

    /// One fan-out process with the design bot; its own stop token.
    fn fanout(&self) -> (CancellationToken, JoinHandle<anyhow::Result<()>>) {
        let bot = Bot::new(DESIGN).set_api_url(url::Url::parse(self.fake.url()).unwrap());
        let stop = self.shutdown.child_token();
        let config = FanoutConfig {
            plan: PlanConfig { max_age: None },
            ..FanoutConfig::default()
        };
        let bots = BTreeMap::from([("design".to_string(), bot)]);
        let task = tokio::spawn(run(
            self.bus.clone(),
            self.pool.clone(),
            bots,
            config,
            stop.clone(),
        ));
        (stop, task)
    }

    /// Publishes events and waits until the read models show them.
    async fn given(&self, events: &[Envelope]) {
        let published = self.bus.publish_batch(events).await.unwrap();
        for p in published.iter().filter(|p| p.stream == "USERS") {
            let seen =
                projections::wait_for(&self.pool, "users", p.sequence, Duration::from_secs(10));
            assert!(seen.await.unwrap());
        }
    }

    async fn deliveries(&self) -> Vec<Event> {
        self.bus
            .read_to_end("DELIVERIES", 1)
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
    let users_events = pipeline.bus.read_to_end("USERS", 1).await.unwrap();
    let stopped = users_events.iter().any(|m| {
        matches!(m.decode().unwrap().envelope.event,
            Event::CategoryBotStopped(ref s) if s.user_id == 2 && s.reason == schemas::BotStopReason::Blocked)
    });
    assert!(stopped, "a 403 stops the bot for that user");
    eventually("the stop in the read model", async || {
        !sqlx::query_scalar::<_, bool>("SELECT active FROM user_bots WHERE user_id = 2")
            .fetch_one(&pipeline.pool)
            .await
            .unwrap()
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
async fn two_fan_out_processes_share_a_bot_without_breaking_its_limit() {
    // given 60 design subscribers and two fan-out processes with the design bot
    let pipeline = Pipeline::start().await;
    let fake = &pipeline.fake;
    let mut users = Vec::new();
    for user in 100..160 {
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
    // one process at a time owns its sends
    eventually("every delivery", async || {
        fake.sent_by("rh_design_bot").len() >= 60
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sent = fake.sent_by("rh_design_bot");
    let mut chats: Vec<i64> = sent.iter().map(|m| m.chat_id).collect();
    chats.sort();
    chats.dedup();
    assert_eq!((sent.len(), chats.len()), (60, 60));
    assert_eq!(fake.too_many_requests("rh_design_bot"), 0);
}
