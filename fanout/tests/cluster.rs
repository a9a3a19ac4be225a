//! Deliveries over a three-node JetStream cluster (every stream in 3 replicas) while nodes die:
//! the DELIVERIES stream's leader is killed mid-stream and started again, then a second node.
//! Every subscriber still gets every vacancy exactly once, and nobody restarts a service by hand.

#![allow(clippy::unwrap_used)] // tests may panic on broken set-up

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bus::Bus;
use fanout::plan::PlanConfig;
use fanout::service::{FanoutConfig, run};
use schemas::{Envelope, Event, MessageKey};
use teloxide::Bot;
use testkit::events::{subscriber, vacancy};
use testkit::{FakeTelegram, NatsCluster};

const DESIGN: &str = "4001:design-secret";
const CHANNEL: i64 = -1_001_000_000_777;
const USERS: i64 = 40;
const POSTS: i64 = 12;

#[tokio::test]
async fn killing_the_stream_leader_and_then_another_node_loses_and_repeats_no_delivery() {
    // given a three-node cluster, streams in 3 replicas, services given every node's URL
    let mut cluster = NatsCluster::start(3).unwrap();
    let bus = Bus::connect(&cluster.urls())
        .await
        .unwrap()
        .with_replicas(3);
    let app = testkit::App::start_on_bus(bus.clone(), cluster.urls()).await;
    let info = bus.jetstream().get_stream("DELIVERIES").await.unwrap();
    assert_eq!(info.cached_info().config.num_replicas, 3);
    // and 40 design subscribers of a fan-out process
    let fake = FakeTelegram::start().await.unwrap();
    fake.register_bot(DESIGN, "rh_design_bot");
    let mut users = Vec::new();
    for user in 1..=USERS {
        users.extend(subscriber(user, &["design"], 2));
        fake.user_says("rh_design_bot", user, "/start").unwrap();
    }
    app.given(&users).await;
    let bot = Bot::new(DESIGN).set_api_url(url::Url::parse(fake.url()).unwrap());
    let fanout = tokio::spawn(run(
        bus.clone(),
        app.db.pool.clone(),
        fanout::tokens::one_bot_each(BTreeMap::from([("design".to_string(), bot)])),
        FanoutConfig {
            plan: PlanConfig { max_age: None },
            ..FanoutConfig::default()
        },
        app.shutdown.child_token(),
    ));

    // when 12 vacancies are classified (480 deliveries, ~17 s at the bot's rate) …
    let publisher = tokio::spawn({
        let bus = bus.clone();
        async move {
            for post in 1..=POSTS {
                let key = MessageKey::new(CHANNEL, post);
                let events = vacancy(
                    key,
                    &format!("Вакансия №{post}: логотип"),
                    "anna",
                    &["design"],
                );
                publish_until_stored(&bus, &events).await;
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        }
    });
    // … and the DELIVERIES leader is killed once a quarter is sent, started again 3 s later,
    let total = (USERS * POSTS) as usize;
    let sent = || fake.sent_by("rh_design_bot").len();
    wait_until("a quarter sent", || sent() >= total / 4).await;
    let leader = stream_leader(&bus, "DELIVERIES").await;
    let first = cluster.index_of(&leader).unwrap();
    let pid = cluster.kill(first).unwrap();
    let recovery = recovery_after_kill(&sent).await;
    eprintln!("killed DELIVERIES leader {leader} (pid {pid}); sends resumed after {recovery:?}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    cluster.start_node(first).unwrap();
    // … then another node once half is sent
    wait_until("half sent", || sent() >= total / 2).await;
    let second = (first + 1) % 3;
    let second_name = cluster.nodes[second].name.clone();
    let pid = cluster.kill(second).unwrap();
    let recovery = recovery_after_kill(&sent).await;
    eprintln!("killed node {second_name} (pid {pid}); sends resumed after {recovery:?}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    cluster.start_node(second).unwrap();

    // then every subscriber gets every vacancy exactly once
    wait_until("every delivery", || sent() >= total).await;
    publisher.await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut copies: BTreeMap<(i64, String), usize> = BTreeMap::new();
    for message in fake.sent_by("rh_design_bot") {
        let post = message
            .text
            .split("Вакансия №")
            .nth(1)
            .and_then(|rest| rest.split(':').next())
            .unwrap_or("?")
            .to_owned();
        *copies.entry((message.chat_id, post)).or_default() += 1;
    }
    let duplicated: Vec<_> = copies.iter().filter(|(_, n)| **n > 1).collect();
    assert!(duplicated.is_empty(), "sent twice: {duplicated:?}");
    assert_eq!(copies.len(), total, "lost: {}", total - copies.len());
    // and each send is recorded as delivered, none as unconfirmed or failed
    let recorded = bus.read_to_end("DELIVERIES", 1).await.unwrap();
    let delivered = recorded
        .iter()
        .filter(|m| {
            matches!(
                m.decode().unwrap().envelope.event,
                Event::VacancyDelivered(_)
            )
        })
        .count();
    assert_eq!(delivered, total);
    assert_eq!(fake.too_many_requests("rh_design_bot"), 0);
    app.shutdown.cancel();
    let _ = fanout.await;
}

/// Publishes until the cluster stores every event (a node may be electing a leader): ids are
/// deterministic, so a repeat is a duplicate, never a second copy.
async fn publish_until_stored(bus: &Bus, events: &[Envelope]) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while let Err(error) = bus.publish_batch(events).await {
        assert!(Instant::now() < deadline, "publishing: {error}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn stream_leader(bus: &Bus, stream: &str) -> String {
    let mut stream = bus.jetstream().get_stream(stream).await.unwrap();
    let info = stream.info().await.unwrap();
    info.cluster
        .as_ref()
        .and_then(|c| c.leader.clone())
        .expect("a clustered stream has a leader")
}

/// How long after now the next card went out.
async fn recovery_after_kill(sent: &impl Fn() -> usize) -> Duration {
    let killed = Instant::now();
    let before = sent();
    wait_until("sends after the kill", || sent() > before).await;
    killed.elapsed()
}

async fn wait_until(what: &str, check: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(90);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
