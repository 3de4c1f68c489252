//! Idle memory: per synced idle pair on the relay (beside the raw forwarder
//! holding as many pairs) and per idle companion on one SQLite phone; each
//! process's own `VmRSS`, after less before.

use std::sync::Arc;
use std::time::Duration;

use tandem_client::{Clock, DriverConfig};
use tandem_phone::store::{Account, SqliteStore, StorePaths};
use tandem_proto::primary::Primary;
use tokio::sync::Semaphore;

use crate::Error;
use crate::children::{ChildProc, Server};
use crate::cli::{Common, IdleArgs};
use crate::fixture::{self, RunningCompanion};
use crate::keys;
use crate::procfs;
use crate::raw;
use crate::report::{Outcome, Row};

/// One run.
pub(crate) async fn run(common: &Common, args: &IdleArgs) -> Result<Outcome, Error> {
    let mut out = Outcome::default();
    if args.pairs > 0 {
        let pairs = args.pairs;
        let tandem = relay_pairs(common, pairs, args.settle).await?;
        let raw = forwarder_pairs(common, pairs, args.settle).await?;
        let name = format!("idle, {pairs} pairs");
        out.row(Row::new(
            &name,
            "relay KiB per pair (2 connections)",
            tandem.relay_per_pair,
            "raw forwarder",
            Some(raw),
        ));
        out.row(Row::alone(
            &name,
            "relay RSS MiB with the pairs",
            tandem.relay_rss_mib,
        ));
        out.row(Row::alone(
            &name,
            "primaries process KiB per served companion (memory stores)",
            tandem.primaries_per_companion,
        ));
    }
    if args.phone_companions > 0 {
        let n = args.phone_companions;
        let (per, total) = phone_companions(common, n, args.settle).await?;
        let name = format!("idle, one SQLite phone, {n} companions");
        out.row(Row::alone(&name, "phone KiB per idle companion", per));
        out.row(Row::alone(&name, "phone RSS MiB with them", total));
    }
    out.note(format!(
        "idle: memory is VmRSS of each process after the connections were set up and {:.1} s of quiet, less VmRSS before; the relay's and the forwarder's runs hold the same number of connections.",
        args.settle.as_secs_f64()
    ));
    Ok(out)
}

struct RelayIdle {
    relay_per_pair: f64,
    relay_rss_mib: f64,
    primaries_per_companion: f64,
}

/// Pairs through the relay: primaries in a child, companions here.
async fn relay_pairs(common: &Common, pairs: usize, settle: Duration) -> Result<RelayIdle, Error> {
    let relay = Server::relay(common, None).await?;
    let seed = keys::run_seed();
    let clock = Clock::start();
    // Warm the relay's allocator and runtime with a few pairs that leave.
    let warm = fixture::start_pairs(&relay.url(), seed ^ 0xFFFF, 8.min(pairs), clock).await?;
    fixture::stop_pairs(warm).await;
    tokio::time::sleep(settle).await;
    let relay_before = procfs::memory(relay.pid());
    let mut primaries = ChildProc::spawn(
        "primaries",
        &[
            "serve-primaries".into(),
            "--relay".into(),
            relay.url(),
            "--seed".into(),
            seed.to_string(),
            "--count".into(),
            pairs.to_string(),
        ],
    )
    .await?;
    primaries.expect("ready").await?;
    tokio::time::sleep(settle).await;
    let primaries_before = procfs::memory(primaries.pid());
    let companions = companions(&relay.url(), seed, None, 0..pairs as u64, clock).await?;
    tokio::time::sleep(settle).await;
    let relay_after = procfs::memory(relay.pid());
    let primaries_after = procfs::memory(primaries.pid());
    stop(companions).await;
    primaries.stop().await;
    relay.stop().await;
    let per = |after: u64, before: u64| after.saturating_sub(before) as f64 / pairs as f64;
    Ok(RelayIdle {
        relay_per_pair: per(relay_after.rss_kib, relay_before.rss_kib),
        relay_rss_mib: relay_after.rss_kib as f64 / 1024.0,
        primaries_per_companion: per(primaries_after.rss_kib, primaries_before.rss_kib),
    })
}

/// Companions `indices` of `seed`, each of its own pair's primary, or all
/// of primary `phone`; synced, at most 128 setting up at once.
async fn companions(
    url: &str,
    seed: u64,
    phone: Option<u64>,
    indices: std::ops::Range<u64>,
    clock: Clock,
) -> Result<Vec<RunningCompanion>, Error> {
    let gate = Arc::new(Semaphore::new(128));
    let mut tasks = Vec::new();
    for index in indices {
        let gate = Arc::clone(&gate);
        let url = url.to_owned();
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await?;
            let primary = phone.unwrap_or(index);
            let companion = fixture::companion(seed, primary, index);
            fixture::start_companion(companion, DriverConfig::new(&url), clock).await
        }));
    }
    let mut running = Vec::with_capacity(tasks.len());
    for task in tasks {
        running.push(task.await??);
    }
    Ok(running)
}

async fn stop(companions: Vec<RunningCompanion>) {
    for companion in &companions {
        companion.handle.shutdown().await;
    }
    let _ = tokio::time::timeout(fixture::STEP, async {
        for companion in companions {
            let _ = companion.driver.join().await;
        }
    })
    .await;
}

/// The raw forwarder holding as many pairs, each having carried one
/// message each way.
async fn forwarder_pairs(common: &Common, pairs: usize, settle: Duration) -> Result<f64, Error> {
    let forwarder = Server::forwarder(common).await?;
    for _ in 0..8.min(pairs) {
        let (a, b) = raw::pair(forwarder.addr).await?;
        drop((a, b));
    }
    tokio::time::sleep(settle).await;
    let before = procfs::memory(forwarder.pid());
    let mut held = Vec::with_capacity(pairs);
    for _ in 0..pairs {
        let (mut a, mut b) = raw::pair(forwarder.addr).await?;
        raw::send(&mut a, raw::payload(64)).await?;
        raw::recv(&mut b).await?;
        raw::send(&mut b, raw::payload(64)).await?;
        raw::recv(&mut a).await?;
        held.push((a, b));
    }
    tokio::time::sleep(settle).await;
    let after = procfs::memory(forwarder.pid());
    drop(held);
    forwarder.stop().await;
    Ok(after.rss_kib.saturating_sub(before.rss_kib) as f64 / pairs as f64)
}

/// One SQLite phone with `n` idle companions: KiB per companion and the
/// phone's RSS in MiB.
async fn phone_companions(
    common: &Common,
    n: usize,
    settle: Duration,
) -> Result<(f64, f64), Error> {
    let folder = tempfile::tempdir()?;
    let path = folder.path().to_owned();
    tokio::task::spawn_blocking(move || small_store(&path)).await??;
    let relay = Server::relay(common, Some(n + 16)).await?;
    let seed = keys::run_seed();
    let clock = Clock::start();
    let mut phone = ChildProc::spawn(
        "phone",
        &[
            "serve-phone".into(),
            "--relay".into(),
            relay.url(),
            "--store".into(),
            folder.path().display().to_string(),
            "--seed".into(),
            seed.to_string(),
            "--companions".into(),
            n.to_string(),
        ],
    )
    .await?;
    phone.expect("ready").await?;
    // Warm up with one companion that comes and goes.
    let warm = companions(&relay.url(), seed, Some(0), 1..2, clock).await?;
    stop(warm).await;
    tokio::time::sleep(settle).await;
    let before = procfs::memory(phone.pid());
    let held = companions(&relay.url(), seed, Some(0), 1..n as u64 + 1, clock).await?;
    tokio::time::sleep(settle).await;
    let after = procfs::memory(phone.pid());
    stop(held).await;
    phone.stop().await;
    relay.stop().await;
    Ok((
        after.rss_kib.saturating_sub(before.rss_kib) as f64 / n as f64,
        after.rss_kib as f64 / 1024.0,
    ))
}

/// A phone store with one contact and its chat.
fn small_store(folder: &std::path::Path) -> Result<(), Error> {
    let account = Account {
        name: "Load".into(),
        device_name: "tandem-load phone".into(),
    };
    let store = SqliteStore::create(&StorePaths::in_folder(folder), 0x1D1E, &account)?;
    let clock = Clock::start();
    let mut primary = Primary::new(
        fixture::primary_config(&clock, 4),
        keys::key(0, keys::Role::Primary, 0),
        store,
    );
    primary.add_contact(tandem_proto::Instant::ZERO, "Echo")?;
    Ok(())
}
