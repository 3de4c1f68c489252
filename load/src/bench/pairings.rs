//! Pairings per second through the relay, QR payload to stored link (the
//! companion opens its channel, the primary joins, runs IKpsk2, is
//! confirmed and stores the link); beside raw snow IKpsk2 handshakes.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use tandem_client::{Clock, DriverConfig};
use tandem_proto::StaticKeypair;
use tandem_proto::companion::pairing::{Pairing, PairingConfig, PairingEvent};
use tandem_proto::primary::{Confirmation, PrimaryEvent};
use tandem_proto::random::SeededRandom;
use tokio::time::Instant;

use crate::Error;
use crate::bench::{Cpu, CpuMeter};
use crate::children::Server;
use crate::cli::{Common, PairingsArgs};
use crate::fixture::{self, STEP};
use crate::keys;
use crate::latency::Latency;
use crate::report::{Check, Outcome, Row};
use crate::snow_raw;
use crate::transport::LoadTransport;

/// One run.
pub(crate) async fn run(common: &Common, args: &PairingsArgs) -> Result<Outcome, Error> {
    let workers = args.concurrency.clamp(1, 200);
    let count = args.count.max(workers);
    let relay = Server::relay(common, None).await?;
    let clock = Clock::start();
    let seed = keys::run_seed();
    let url = relay.url();
    let meter = CpuMeter::start(relay.pid());
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(workers);
    for worker in 0..workers {
        let share = count / workers + usize::from(worker < count % workers);
        let url = url.clone();
        tasks.push(tokio::spawn(pair_many(url, seed, worker, share, clock)));
    }
    let mut latency = Latency::new();
    let mut done = 0u64;
    for task in tasks {
        let (paired, worker_latency) = task.await??;
        done += paired;
        latency.merge(&worker_latency);
    }
    let elapsed = start.elapsed();
    let cpu = meter.stop();
    relay.stop().await;

    let raw_count = (count * 2).max(20);
    let raw_time =
        tokio::task::spawn_blocking(move || snow_raw::pairing_handshakes(raw_count)).await??;
    let raw_rate = raw_count as f64 / raw_time.as_secs_f64().max(1e-9);
    let raw_cpu_us = raw_time.as_secs_f64() * 1e6 / raw_count as f64;

    let mut out = Outcome::default();
    let name = format!("pairings ({workers} at once)");
    let rate = done as f64 / elapsed.as_secs_f64().max(1e-9);
    out.row(Row::new(
        &name,
        "pairings/s",
        rate,
        "raw snow IKpsk2 handshakes (1 thread)",
        Some(raw_rate),
    ));
    out.row(Row::new(
        &name,
        "CPU µs per pairing (both processes)",
        cpu_per(cpu, done),
        "raw snow IKpsk2 handshakes (1 thread)",
        Some(raw_cpu_us),
    ));
    out.row(Row::alone(
        &name,
        "latency p50 µs, QR payload to stored link",
        latency.micros(0.5),
    ));
    out.row(Row::alone(
        &name,
        "latency p99 µs, QR payload to stored link",
        latency.micros(0.99),
    ));
    out.check(Check::new(
        "pairings: every pairing stored its link on both sides",
        done == count as u64,
        format!("{done} of {count}"),
    ));
    out.note(
        "pairings: each cycle opens a new companion connection and channel (from its own 127.0.1.x address), shows the QR payload, and the primary joins, runs IKpsk2, confirms and stores the link; pairings/s counts whole cycles, latency runs from the QR payload to the stored link.",
    );
    Ok(out)
}

fn cpu_per(cpu: Cpu, count: u64) -> f64 {
    cpu.total().as_secs_f64() * 1e6 / count.max(1) as f64
}

/// One worker: its own primary, `count` pairings one after the other.
async fn pair_many(
    url: String,
    seed: u64,
    worker: usize,
    count: usize,
    clock: Clock,
) -> Result<(u64, Latency), Error> {
    let primary = fixture::memory_primary(seed, worker as u64, &clock, false, count + 1)?;
    let fixture::RegisteredPrimary {
        handle,
        mut events,
        driver,
    } = fixture::register_primary(primary, &url, clock).await?;
    let mut latency = Latency::new();
    let mut rng = SeededRandom::new(seed ^ ((worker as u64) << 40));
    // Each worker connects from its own loopback address, so that the
    // relay's per-address channel limit is one worker's business.
    let source = Ipv4Addr::new(127, 0, 1, (worker % 250) as u8 + 1);
    let transport = Arc::new(LoadTransport::bound(source));
    let mut paired = 0;
    for _ in 0..count {
        let identity = StaticKeypair::generate(&mut rng);
        let config = PairingConfig {
            relay_url: url.clone(),
            device_name: "tandem-load companion".into(),
            ..PairingConfig::default()
        };
        let pairing = Pairing::new(
            config,
            identity,
            Box::new(SeededRandom::new(rng.next_u64())),
        );
        let driver_config = DriverConfig {
            transport: transport.clone(),
            ..DriverConfig::once(&url)
        };
        let (pairing_handle, mut pairing_events, pairing_driver) =
            tandem_client::spawn(pairing, driver_config, clock);
        let qr = fixture::wait_for(&mut pairing_events, "the QR payload", STEP, |e| match e {
            PairingEvent::ShowCode { qr, .. } => Some(qr.clone()),
            _ => None,
        })
        .await?;
        let shown = Instant::now();
        handle.call(move |p, now| p.link(now, qr)).await??;
        let link_id = fixture::wait_for(&mut events, "ConfirmPairing", STEP, |e| match e {
            PrimaryEvent::ConfirmPairing { link_id, .. } => Some(*link_id),
            _ => None,
        })
        .await?;
        handle
            .call(move |p, now| p.confirm_pairing(now, link_id, Confirmation::Accept))
            .await??;
        fixture::wait_for(&mut events, "the stored link", STEP, |e| {
            matches!(e, PrimaryEvent::Paired { .. }).then_some(())
        })
        .await?;
        latency.record(shown.elapsed());
        fixture::wait_for(&mut pairing_events, "the companion's Paired", STEP, |e| {
            matches!(e, PairingEvent::Paired(_)).then_some(())
        })
        .await?;
        // A finished pairing stops its driver by itself.
        let _ = tokio::time::timeout(Duration::from_secs(10), pairing_driver.join()).await;
        drop(pairing_handle);
        paired += 1;
    }
    handle.shutdown().await;
    let _ = tokio::time::timeout(STEP, driver.join()).await;
    Ok((paired, latency))
}
