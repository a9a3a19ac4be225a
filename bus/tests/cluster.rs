//! Reading a stream on a three-node cluster while the node that holds the reader dies.

#![allow(clippy::unwrap_used)] // tests may panic on broken set-up

use std::time::{Duration, Instant};

use bus::Bus;
use futures::StreamExt;
use schemas::{Envelope, MessageKey};
use testkit::NatsCluster;

fn accepted(message_id: i64) -> Envelope {
    testkit::events::accepted(MessageKey::new(-100, message_id))
}

#[tokio::test]
async fn a_reader_whose_consumer_died_with_its_node_reads_on_within_seconds() {
    // given a three-node cluster with SCREENING in 3 replicas and one event on it
    let mut cluster = NatsCluster::start(3).unwrap();
    let bus = Bus::connect(&cluster.urls())
        .await
        .unwrap()
        .with_replicas(3);
    retry("creating the streams", async || bus.ensure_streams().await).await;
    retry("publishing", async || bus.publish(&accepted(1)).await).await;
    // and a reader that has read it, its consumer on another node than the client's (the
    // client reconnecting would find a lost consumer at once; a node dying elsewhere is silent)
    let connected = bus.client().server_info().server_name;
    let (mut messages, host) = loop {
        let messages = Box::pin(bus.read_stream("SCREENING", 1).await.unwrap());
        let host = reader_host(&bus).await;
        if host != connected {
            break (messages, host);
        }
    };
    assert_eq!(messages.next().await.unwrap().unwrap().sequence, 1);

    // when that node is killed and another event is stored
    let killed = cluster.kill(cluster.index_of(&host).unwrap()).unwrap();
    retry("publishing", async || bus.publish(&accepted(2)).await).await;
    let stored = Instant::now();

    // then the reader has it within seconds (the cluster elects leaders meanwhile), before the
    // client alone would miss two idle heartbeats (30 s)
    let next = tokio::time::timeout(Duration::from_secs(20), messages.next())
        .await
        .unwrap_or_else(|_| panic!("the reader stalled after {host} (pid {killed}) died"))
        .unwrap()
        .unwrap();
    assert_eq!(next.sequence, 2);
    eprintln!(
        "killed {host} (pid {killed}); the reader had the next event {:?} after it was stored",
        stored.elapsed()
    );
}

/// The node holding the stream's only ordered (ephemeral) consumer, found by deleting every
/// other ephemeral first so exactly one remains.
async fn reader_host(bus: &Bus) -> String {
    let stream = bus.jetstream().get_stream("SCREENING").await.unwrap();
    let mut consumers = stream.consumers();
    let mut hosts = Vec::new();
    while let Some(info) = consumers.next().await {
        let info = info.unwrap();
        if info.config.durable_name.is_some() {
            continue;
        }
        let leader = info.cluster.as_ref().and_then(|c| c.leader.clone());
        hosts.push((info.created, info.name.clone(), leader));
    }
    hosts.sort();
    let (_, newest, leader) = hosts.pop().expect("the reader's consumer");
    for (_, older, _) in hosts {
        let _ = stream.delete_consumer(&older).await;
    }
    leader.unwrap_or_else(|| panic!("consumer {newest} has no leader"))
}

/// Retries what a cluster electing leaders refuses for a moment.
async fn retry<T, E: std::fmt::Display>(
    what: &str,
    mut attempt: impl AsyncFnMut() -> Result<T, E>,
) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match attempt().await {
            Ok(_) => return,
            Err(error) => {
                assert!(Instant::now() < deadline, "{what}: {error}");
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    }
}
