//! Part of `remotehunt bench backbone`: what an ack that survives a power loss costs. The same
//! publishes on a server with nats-server's default `sync_interval` (the store is written to
//! disk every 2 minutes; a SIGKILL of the process loses nothing, the kernel has the writes) and
//! on one with `sync_interval: always` (written to disk before every ack).

use std::time::Instant;

use schemas::Envelope;

/// Claims a sender makes one after another: each waits for its ack before the send.
const SEQUENTIAL: usize = 500;

pub(crate) async fn report(publish_events: usize) -> anyhow::Result<()> {
    println!("durability (file store):");
    for always in [false, true] {
        let server = if always {
            testkit::NatsServer::start_syncing_always()?
        } else {
            testkit::NatsServer::start()?
        };
        let bus = bus::Bus::connect(&server.url).await?;
        bus.ensure_streams().await?;
        let events: Vec<Envelope> = (0..publish_events)
            .map(|n| crate::bench::sample(n, 7))
            .collect();
        let started = Instant::now();
        bus.publish_batch(&events).await?;
        let pipelined = events.len() as f64 / started.elapsed().as_secs_f64().max(1e-9);
        let mut latencies = Vec::with_capacity(SEQUENTIAL);
        for n in 0..SEQUENTIAL {
            // Once-per-subject events, as a delivery's claim is.
            let event = crate::bench::sample(publish_events + n, 7);
            let started = Instant::now();
            bus.publish(&event).await?;
            latencies.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        latencies.sort_by(f64::total_cmp);
        let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
        println!(
            "  sync_interval {:<8} pipelined publish {pipelined:>7.0} events/s; one claim at a time p50 {:.2} ms, p99 {:.2} ms ({:.0} claims/s)",
            if always { "always" } else { "2m" },
            at(0.5),
            at(0.99),
            SEQUENTIAL as f64 / (latencies.iter().sum::<f64>() / 1000.0)
        );
    }
    Ok(())
}
