//! Real endpoints for the measurements: memory-store primaries already
//! linked to their companions, those companions, their drivers on this
//! runtime, and waiting for an event with a bound.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tandem_client::{Clock, Driver, DriverConfig, DriverEvent, Events, Handle};
use tandem_proto::companion::{Companion, CompanionConfig, CompanionEvent, Credentials};
use tandem_proto::primary::{Primary, PrimaryConfig, PrimaryEvent};
use tandem_proto::random::SeededRandom;
use tandem_proto::store::{CompanionRecord, MemoryStore};
use tandem_proto::{Instant, PublicKey};
use tokio::sync::Semaphore;

use crate::Error;
use crate::keys::{self, Role};

/// How long any one step of a measurement may take.
pub(crate) const STEP: Duration = Duration::from_secs(120);

/// The chat every pair writes in (the memory primary's only chat).
pub(crate) const CHAT: u64 = 1;

/// The settings of a benchmark primary: the spec's defaults, except as
/// many companions as a measurement links.
pub(crate) fn primary_config(clock: &Clock, max_companions: usize) -> PrimaryConfig {
    PrimaryConfig {
        account_name: "Load".into(),
        device_name: "tandem-load phone".into(),
        wall_clock_at_epoch_ms: clock.wall_at_epoch_ms(),
        max_companions: max_companions.max(PrimaryConfig::default().max_companions),
        ..PrimaryConfig::default()
    }
}

/// A companion record for linking without a handshake.
pub(crate) fn record(key: PublicKey) -> CompanionRecord {
    CompanionRecord {
        key,
        device_name: "tandem-load companion".into(),
        linked_at_ms: 0,
        last_seen_ms: 0,
        cursor: 0,
    }
}

/// The primary of pair `index`, on a memory store with one contact and
/// chat, linked to its companion when `linked`.
pub(crate) fn memory_primary(
    seed: u64,
    index: u64,
    clock: &Clock,
    linked: bool,
    max_companions: usize,
) -> Result<Primary<MemoryStore>, Error> {
    let identity = keys::key(seed, Role::Primary, index);
    let store = MemoryStore::new((seed ^ index) | 1);
    let mut primary = Primary::new(primary_config(clock, max_companions), identity, store);
    primary.add_contact(Instant::ZERO, "Echo")?;
    if linked {
        let companion = keys::key(seed, Role::Companion, index).public();
        primary.link_for_testing(record(companion))?;
    }
    Ok(primary)
}

/// The companion of pair `index` (`companion_index` of a phone whose key
/// is the primary of pair `primary_index`).
pub(crate) fn companion(seed: u64, primary_index: u64, companion_index: u64) -> Companion {
    let credentials = Credentials {
        identity: keys::key(seed, Role::Companion, companion_index),
        primary_key: keys::key(seed, Role::Primary, primary_index).public(),
        account_name: "Load".into(),
    };
    let rng = SeededRandom::new(seed ^ companion_index.rotate_left(32) ^ 0xC0);
    Companion::new(CompanionConfig::default(), credentials, Box::new(rng))
}

/// Waits for the machine event that `pick` accepts; fails when the driver
/// stops or `timeout` passes first.
pub(crate) async fn wait_for<E: std::fmt::Debug, T>(
    events: &mut Events<E>,
    what: &str,
    timeout: Duration,
    mut pick: impl FnMut(&E) -> Option<T>,
) -> Result<T, Error> {
    let wait = async {
        loop {
            match events.recv().await {
                Some(DriverEvent::Machine(event)) => {
                    if let Some(found) = pick(&event) {
                        return Ok(found);
                    }
                }
                Some(DriverEvent::Stopped) | None => {
                    return Err(Error::from(format!("the driver stopped before {what}")));
                }
                Some(DriverEvent::MachineError(err)) => {
                    return Err(format!("machine error before {what}: {err}").into());
                }
                Some(_) => {}
            }
        }
    };
    tokio::time::timeout(timeout, wait)
        .await
        .map_err(|_| format!("timed out waiting for {what}"))?
}

/// A running primary whose events are drained by a task of its own.
pub(crate) struct RunningPrimary<S: tandem_proto::store::Store + Send + 'static> {
    /// Commands.
    pub(crate) handle: Handle<Primary<S>>,
    /// The driver (gives the machine back).
    pub(crate) driver: Driver<Primary<S>>,
    /// Messages applied (`MessageSent`).
    pub(crate) applied: Arc<AtomicU64>,
}

/// A primary whose route is registered, with its events for the caller.
pub(crate) struct RegisteredPrimary<S: tandem_proto::store::Store + Send + 'static> {
    /// Commands.
    pub(crate) handle: Handle<Primary<S>>,
    /// Its events after `RouteRegistered`.
    pub(crate) events: Events<PrimaryEvent>,
    /// The driver.
    pub(crate) driver: Driver<Primary<S>>,
}

/// Starts a primary and waits for its route.
pub(crate) async fn register_primary<S: tandem_proto::store::Store + Send + 'static>(
    primary: Primary<S>,
    url: &str,
    clock: Clock,
) -> Result<RegisteredPrimary<S>, Error> {
    let (handle, mut events, driver) = tandem_client::spawn(primary, DriverConfig::new(url), clock);
    wait_for(&mut events, "the primary's route", STEP, |e| {
        matches!(e, PrimaryEvent::RouteRegistered).then_some(())
    })
    .await?;
    Ok(RegisteredPrimary {
        handle,
        events,
        driver,
    })
}

/// Starts a primary and waits for its route; then drains its events.
pub(crate) async fn start_primary<S: tandem_proto::store::Store + Send + 'static>(
    primary: Primary<S>,
    url: &str,
    clock: Clock,
) -> Result<RunningPrimary<S>, Error> {
    let RegisteredPrimary {
        handle,
        mut events,
        driver,
    } = register_primary(primary, url, clock).await?;
    let applied = Arc::new(AtomicU64::new(0));
    let count = Arc::clone(&applied);
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            if let DriverEvent::Machine(PrimaryEvent::MessageSent(_)) = event {
                count.fetch_add(1, Ordering::Relaxed);
            }
        }
    });
    Ok(RunningPrimary {
        handle,
        driver,
        applied,
    })
}

/// A running companion, synced.
pub(crate) struct RunningCompanion {
    /// Commands.
    pub(crate) handle: Handle<Companion>,
    /// Its events (after `Synced`).
    pub(crate) events: Events<CompanionEvent>,
    /// The driver.
    pub(crate) driver: Driver<Companion>,
}

/// Starts a companion and waits until it is synced.
pub(crate) async fn start_companion(
    companion: Companion,
    config: DriverConfig,
    clock: Clock,
) -> Result<RunningCompanion, Error> {
    let (handle, mut events, driver) = tandem_client::spawn(companion, config, clock);
    wait_for(&mut events, "the companion's sync", STEP, |e| {
        matches!(e, CompanionEvent::Synced { .. }).then_some(())
    })
    .await?;
    Ok(RunningCompanion {
        handle,
        events,
        driver,
    })
}

/// A pair through the relay: a memory primary and its companion, synced.
pub(crate) struct LivePair {
    /// The primary.
    pub(crate) primary: RunningPrimary<MemoryStore>,
    /// The companion.
    pub(crate) companion: RunningCompanion,
}

/// Starts `count` pairs of `seed`, at most 128 setting up at once (so that
/// none waits past the relay's SETUP_TIMEOUT).
pub(crate) async fn start_pairs(
    url: &str,
    seed: u64,
    count: usize,
    clock: Clock,
) -> Result<Vec<LivePair>, Error> {
    let gate = Arc::new(Semaphore::new(128));
    let mut tasks = Vec::with_capacity(count);
    for index in 0..count as u64 {
        let gate = Arc::clone(&gate);
        let url = url.to_owned();
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await?;
            let primary = memory_primary(seed, index, &clock, true, 4)?;
            let primary = start_primary(primary, &url, clock).await?;
            let companion = companion(seed, index, index);
            let companion = start_companion(companion, DriverConfig::new(&url), clock).await?;
            Ok::<LivePair, Error>(LivePair { primary, companion })
        }));
    }
    let mut pairs = Vec::with_capacity(count);
    for task in tasks {
        pairs.push(task.await??);
    }
    Ok(pairs)
}

/// Shuts the pairs down (companions first), bounded.
pub(crate) async fn stop_pairs(pairs: Vec<LivePair>) {
    let mut primaries = Vec::with_capacity(pairs.len());
    let mut companions = Vec::with_capacity(pairs.len());
    for pair in pairs {
        pair.companion.handle.shutdown().await;
        companions.push(pair.companion.driver);
        primaries.push(pair.primary);
    }
    let _ = tokio::time::timeout(STEP, async {
        for driver in companions {
            let _ = driver.join().await;
        }
        for primary in primaries {
            primary.handle.shutdown().await;
            let _ = primary.driver.join().await;
        }
    })
    .await;
}
