//! Reconnects per second: a linked companion with nothing to replay opens
//! a new connection, attaches, runs IK and resumes (timed to `Synced`);
//! beside raw snow IK handshakes.

use tandem_client::{Clock, DriverConfig};
use tandem_proto::companion::Companion;
use tokio::time::Instant;

use crate::Error;
use crate::bench::CpuMeter;
use crate::children::Server;
use crate::cli::{Common, ReconnectsArgs};
use crate::fixture::{self, STEP};
use crate::keys;
use crate::latency::Latency;
use crate::report::{Check, Outcome, Row};
use crate::snow_raw;

/// One run.
pub(crate) async fn run(common: &Common, args: &ReconnectsArgs) -> Result<Outcome, Error> {
    let workers = args.concurrency.clamp(1, 1_000);
    let count = args.count.max(workers);
    let relay = Server::relay(common, None).await?;
    let url = relay.url();
    let clock = Clock::start();
    let seed = keys::run_seed();
    // Every pair once, synced by a first (snapshot) session, not measured.
    let pairs = fixture::start_pairs(&url, seed, workers, clock).await?;
    let mut companions = Vec::with_capacity(workers);
    let mut primaries = Vec::with_capacity(workers);
    for pair in pairs {
        pair.companion.handle.shutdown().await;
        companions.push(
            tokio::time::timeout(STEP, pair.companion.driver.join())
                .await
                .map_err(|_| "reconnects: a companion did not stop")??,
        );
        primaries.push(pair.primary);
    }
    let meter = CpuMeter::start(relay.pid());
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(workers);
    for (worker, companion) in companions.into_iter().enumerate() {
        let share = count / workers + usize::from(worker < count % workers);
        tasks.push(tokio::spawn(reconnect_many(
            url.clone(),
            companion,
            share,
            clock,
        )));
    }
    let mut latency = Latency::new();
    let mut done = 0u64;
    for task in tasks {
        let (reconnected, worker_latency) = task.await??;
        done += reconnected;
        latency.merge(&worker_latency);
    }
    let elapsed = start.elapsed();
    let cpu = meter.stop();
    for primary in primaries {
        primary.handle.shutdown().await;
        let _ = tokio::time::timeout(STEP, primary.driver.join()).await;
    }
    relay.stop().await;

    let raw_count = (count * 2).max(20);
    let raw_time =
        tokio::task::spawn_blocking(move || snow_raw::reconnect_handshakes(raw_count)).await??;
    let raw_rate = raw_count as f64 / raw_time.as_secs_f64().max(1e-9);

    let mut out = Outcome::default();
    let name = format!("reconnects ({workers} at once)");
    out.row(Row::new(
        &name,
        "reconnects/s",
        done as f64 / elapsed.as_secs_f64().max(1e-9),
        "raw snow IK handshakes (1 thread)",
        Some(raw_rate),
    ));
    out.row(Row::new(
        &name,
        "CPU µs per reconnect (both processes)",
        cpu.total().as_secs_f64() * 1e6 / done.max(1) as f64,
        "raw snow IK handshakes (1 thread)",
        Some(raw_time.as_secs_f64() * 1e6 / raw_count as f64),
    ));
    out.row(Row::alone(
        &name,
        "latency p50 µs, connect to Synced",
        latency.micros(0.5),
    ));
    out.row(Row::alone(
        &name,
        "latency p99 µs, connect to Synced",
        latency.micros(0.99),
    ));
    out.check(Check::new(
        "reconnects: every reconnect resumed",
        done == count as u64,
        format!("{done} of {count}"),
    ));
    out.note("reconnects: each is a new TCP connection and WebSocket upgrade, AttachRoute, the IK handshake, Resume and ResumeAccepted with nothing to replay; the companion then closes its connection (not timed, but inside reconnects/s).");
    Ok(out)
}

/// One worker: reconnects its companion `count` times.
async fn reconnect_many(
    url: String,
    mut companion: Companion,
    count: usize,
    clock: Clock,
) -> Result<(u64, Latency), Error> {
    let mut latency = Latency::new();
    let mut done = 0;
    for _ in 0..count {
        let start = Instant::now();
        let running = fixture::start_companion(companion, DriverConfig::once(&url), clock).await?;
        latency.record(start.elapsed());
        running.handle.shutdown().await;
        companion = tokio::time::timeout(STEP, running.driver.join())
            .await
            .map_err(|_| "reconnects: a companion did not stop")??;
        done += 1;
    }
    Ok((done, latency))
}
