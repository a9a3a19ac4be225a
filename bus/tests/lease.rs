//! Leases over a real nats-server: one holder at a time, a standby taking over a crashed
//! holder's lease once it expired, a release handing over at once, and a holder that cannot
//! renew through an outage stopping before anyone else could take over.

#![allow(clippy::unwrap_used)] // tests may panic on broken set-up

use std::time::{Duration, Instant};

use bus::Bus;
use bus::lease::Lease;
use testkit::NatsServer;

const TTL: Duration = Duration::from_secs(2);

async fn bus() -> Bus {
    Bus::from_client(testkit::nats().connect().await.unwrap())
}

#[tokio::test]
async fn one_holder_at_a_time_and_a_release_hands_over_at_once() {
    // given copy a holding the lease
    let bus = bus().await;
    let a = Lease::acquire(&bus, "poller.1", "a", TTL).await.unwrap();
    assert!(a.is_held());

    // when copy b asks for it, and waits for it longer than the TTL
    let taken = Lease::try_acquire(&bus, "poller.1", "b", TTL)
        .await
        .unwrap();
    let waited = tokio::time::timeout(TTL * 2, Lease::acquire(&bus, "poller.1", "b", TTL)).await;
    // then it gets nothing: a's renewals keep the lease a's
    assert!(taken.is_none());
    assert!(waited.is_err(), "b must not get a lease a holds");
    assert!(a.is_held());
    // and another lease is another key
    let other = Lease::try_acquire(&bus, "poller.2", "b", TTL)
        .await
        .unwrap();
    assert!(other.is_some_and(|lease| lease.is_held()));

    // when b stands by and a releases the lease on a graceful shutdown
    let standby = tokio::spawn({
        let bus = bus.clone();
        async move { Lease::acquire(&bus, "poller.1", "b", TTL).await.unwrap() }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let released = Instant::now();
    let a_lost = a.lost();
    a.release().await;

    // then b holds it at once, not a TTL later
    let b = standby.await.unwrap();
    assert!(
        released.elapsed() < Duration::from_secs(1),
        "took {:?}",
        released.elapsed()
    );
    assert!(b.is_held());
    assert!(a_lost.is_cancelled());
}

#[tokio::test]
async fn a_crashed_holders_lease_expires_and_the_standby_takes_it_over() {
    // given copy a holding the lease for a while (renewed several times)
    let bus = bus().await;
    let a = Lease::acquire(&bus, "poller.1", "a", TTL).await.unwrap();
    tokio::time::sleep(TTL * 2).await;
    assert!(a.is_held());

    // when a dies without releasing it (its renewals stop), and b stands by
    let crashed = Instant::now();
    drop(a);
    let b = tokio::time::timeout(
        Duration::from_secs(10),
        Lease::acquire(&bus, "poller.1", "b", TTL),
    )
    .await
    .expect("b takes over within seconds")
    .unwrap();

    // then b holds it once the server expired a's last renewal, not before
    let took = crashed.elapsed();
    assert!(b.is_held());
    assert!(
        took >= TTL / 3 && took < TTL + Duration::from_secs(3),
        "took {took:?}"
    );
    // and keeps it by renewing
    tokio::time::sleep(TTL * 2).await;
    assert!(b.is_held());
    assert!(
        Lease::try_acquire(&bus, "poller.1", "a", TTL)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_short_outage_changes_nothing_and_a_long_one_stops_the_holder_in_time() {
    // given a lease on a nats-server of this test's own, with a TTL of 5 s
    let ttl = Duration::from_secs(5);
    let mut server = NatsServer::start().unwrap();
    let bus = Bus::connect(&server.url).await.unwrap();
    let lease = Lease::acquire(&bus, "poller.1", "a", ttl).await.unwrap();
    let lost = lease.lost();

    // when the server is down for half a second
    server.kill();
    tokio::time::sleep(Duration::from_millis(500)).await;
    server.restart().unwrap();
    // then the holder keeps its lease through it and after it
    tokio::time::sleep(ttl).await;
    assert!(lease.is_held());
    assert!(!lost.is_cancelled());

    // when the server is down for longer than the lease
    server.kill();
    let down = Instant::now();
    tokio::time::timeout(ttl, lost.cancelled())
        .await
        .expect("the holder gives the lease up");
    // then the holder stops before the server could expire its last renewal
    assert!(!lease.is_held());
    assert!(down.elapsed() < ttl * 4 / 5, "took {:?}", down.elapsed());

    // when the server is back, the same holder asks again
    server.restart().unwrap();
    let again = tokio::time::timeout(
        Duration::from_secs(10),
        Lease::acquire(&bus, "poller.1", "a", ttl),
    )
    .await
    .expect("the lease again")
    .unwrap();
    // then it is its own again, and no one else's
    assert!(again.is_held());
    let other = Lease::try_acquire(&bus, "poller.1", "b", ttl)
        .await
        .unwrap();
    assert!(other.is_none());
}
