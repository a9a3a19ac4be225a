//! Postgres stopping under fan-out, on a Postgres server of the test's own: the planner waits
//! the outage out — never a dead letter, however many attempts it takes — and plans the
//! vacancy once the database is back, as if nothing had happened.

#![allow(clippy::unwrap_used)] // tests may panic on broken set-up

use std::time::Duration;

use bus::Bus;
use bus::consume::{ConsumerSpec, consume, consumers};
use fanout::plan::{PlanConfig, Planner};
use schemas::{Event, MessageKey};
use testkit::events::{subscriber, vacancy};
use testkit::eventually;

const CHANNEL: i64 = -1_001_000_000_777;

/// Who each delivery of the DELIVERIES stream was planned for.
async fn planned_for(bus: &Bus) -> Vec<i64> {
    bus.read_to_end(schemas::Area::Deliveries.stream(), 1)
        .await
        .unwrap()
        .iter()
        .filter_map(|m| match m.decode().unwrap().envelope.event {
            Event::DeliveryPlanned(p) => Some(p.user_id),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_postgres_outage_is_waited_out_by_the_planner_and_nothing_is_dead_lettered() {
    // given the backbone on a Postgres of the test's own, and two design subscribers
    let postgres = testkit::PostgresServer::start().unwrap();
    let app = testkit::App::start_on(postgres.database().await.unwrap()).await;
    let mut users = subscriber(1, &["design"], 2);
    users.extend(subscriber(2, &["design"], 2));
    app.given(&users).await;
    // and a planner that gives up on an ordinary failure after two attempts, 100 ms apart
    let spec = ConsumerSpec {
        max_attempts: 2,
        first_retry_delay: Duration::from_millis(100),
        ..ConsumerSpec::of(consumers::FANOUT)
    };
    let planner = Planner::new(
        app.bus.clone(),
        app.db.pool.clone(),
        PlanConfig { max_age: None },
    );
    tokio::spawn(consume(
        app.bus.clone(),
        spec,
        planner,
        app.shutdown.clone(),
    ));

    // when Postgres goes down, and a design vacancy is classified meanwhile
    postgres.stop().unwrap();
    let key = MessageKey::new(CHANNEL, 1);
    app.bus
        .publish_batch(&vacancy(key, "Нужен логотип", "anna", &["design"]))
        .await
        .unwrap();
    // then for far longer than two attempts nothing is planned and nothing is dead-lettered
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(planned_for(&app.bus).await.is_empty());
    assert!(app.bus.dead_letters().await.unwrap().is_empty());

    // when Postgres is back
    postgres.start_again().unwrap();
    // then the vacancy is planned for both subscribers, once each, and still no dead letter
    eventually("the plans", async || planned_for(&app.bus).await.len() == 2).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut users = planned_for(&app.bus).await;
    users.sort();
    assert_eq!(users, [1, 2]);
    assert!(app.bus.dead_letters().await.unwrap().is_empty());
    // and the projectors, which failed all along, caught up with the vacancy
    eventually("the vacancy in the read model", async || {
        projections::read::vacancies::message_count(&app.db.pool)
            .await
            .is_ok_and(|count| count == 1)
    })
    .await;
    app.shutdown.cancel();
}
