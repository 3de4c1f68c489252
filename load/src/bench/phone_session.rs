//! A companion syncing from the large SQLite phone in its own process: the
//! first sync (first page, `Synced`, bytes, the phone's memory) and, when
//! asked, a resume after events the phone logged meanwhile.

use std::time::Duration;

use tandem_client::{Clock, DriverConfig, DriverEvent, Events};
use tandem_proto::companion::{Companion, CompanionEvent};
use tokio::time::Instant;

use crate::Error;
use crate::children::{ChildProc, Server};
use crate::cli::{Common, StoreArgs};
use crate::fixture::{self, STEP};
use crate::keys;
use crate::phone_store::{self, Spec};
use crate::procfs::{self, Memory};
use crate::transport::{Counters, LoadTransport};

/// What a session measured.
#[derive(Debug)]
pub(crate) struct Measured {
    /// Connect to the first `ChatPage`'s chats.
    pub(crate) first_page: Duration,
    /// Connect to `Synced` after the snapshot.
    pub(crate) synced: Duration,
    /// Bytes both ways on the companion's connection until `Synced`.
    pub(crate) sync_bytes: u64,
    /// The phone's memory before the companion connected.
    pub(crate) phone_before: Memory,
    /// The phone's memory after the first sync.
    pub(crate) phone_after: Memory,
    /// Generation time of the store (zero when cached).
    pub(crate) generated_in: Duration,
    /// The resume, when asked for.
    pub(crate) resume: Option<Resumed>,
}

/// A resume after missed events.
#[derive(Debug)]
pub(crate) struct Resumed {
    /// Events replayed.
    pub(crate) events: u64,
    /// Connect to `Synced` at the phone's head.
    pub(crate) time: Duration,
    /// Bytes the companion read on that connection.
    pub(crate) read: u64,
}

/// The store of these arguments, from the cache (generated when missing).
pub(crate) async fn store(args: &StoreArgs) -> Result<(std::path::PathBuf, Duration), Error> {
    let root = phone_store::cache_root(args.cache.as_deref())?;
    let spec = spec(args);
    tokio::task::spawn_blocking(move || phone_store::cached(&root, spec)).await?
}

/// The store's shape.
pub(crate) fn spec(args: &StoreArgs) -> Spec {
    Spec {
        chats: args.chats,
        messages: args.messages,
    }
}

/// Runs the first sync, then the resume of `resume_events` when not zero.
pub(crate) async fn run(
    common: &Common,
    args: &StoreArgs,
    resume_events: u64,
) -> Result<Measured, Error> {
    let (cached, generated_in) = store(args).await?;
    let folder = tempfile::tempdir()?;
    let dest = folder.path().to_owned();
    tokio::task::spawn_blocking(move || phone_store::copy(&cached, &dest)).await??;

    let relay = Server::relay(common, None).await?;
    let seed = keys::run_seed();
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
        ],
    )
    .await?;
    phone.expect("ready").await?;
    let phone_before = procfs::memory(phone.pid());
    let clock = Clock::start();

    let counters = Counters::default();
    let start = Instant::now();
    let (handle, mut events, driver) = tandem_client::spawn(
        fixture::companion(seed, 0, 1),
        config(&relay.url(), counters.clone()),
        clock,
    );
    fixture::wait_for(&mut events, "the first page", STEP, |e| {
        matches!(e, CompanionEvent::ChatUpdated(_)).then_some(())
    })
    .await?;
    let first_page = start.elapsed();
    synced(&mut events, 0).await?;
    let synced_after = start.elapsed();
    let sync_bytes = counters.total();
    let phone_after = procfs::memory(phone.pid());
    handle.shutdown().await;
    let companion = tokio::time::timeout(STEP, driver.join())
        .await
        .map_err(|_| "first sync: the companion did not stop")??;

    let resume = if resume_events > 0 {
        Some(resume(&mut phone, &relay.url(), companion, resume_events, clock).await?)
    } else {
        None
    };
    phone.stop().await;
    relay.stop().await;
    Ok(Measured {
        first_page,
        synced: synced_after,
        sync_bytes,
        phone_before,
        phone_after,
        generated_in,
        resume,
    })
}

fn config(url: &str, counters: Counters) -> DriverConfig {
    DriverConfig {
        transport: std::sync::Arc::new(LoadTransport::counted(counters)),
        ..DriverConfig::once(url)
    }
}

async fn synced(events: &mut Events<CompanionEvent>, at_least: u64) -> Result<(), Error> {
    fixture::wait_for(events, "Synced", STEP, |e| match e {
        CompanionEvent::Synced { seq } if *seq >= at_least => Some(()),
        _ => None,
    })
    .await
}

async fn resume(
    phone: &mut ChildProc,
    url: &str,
    companion: Companion,
    count: u64,
    clock: Clock,
) -> Result<Resumed, Error> {
    phone.send(&format!("inject {count}")).await?;
    let head: u64 = phone.expect("injected ").await?.parse()?;
    let counters = Counters::default();
    let start = Instant::now();
    let (handle, mut events, driver) =
        tandem_client::spawn(companion, config(url, counters.clone()), clock);
    let outcome = tokio::time::timeout(STEP, async {
        loop {
            match events.recv().await {
                Some(DriverEvent::Machine(CompanionEvent::Synced { seq })) if seq >= head => {
                    return Ok(());
                }
                Some(DriverEvent::Machine(CompanionEvent::SnapshotStarted)) => {
                    return Err("resume: the phone sent a snapshot instead");
                }
                Some(DriverEvent::Stopped) | None => return Err("resume: driver stopped"),
                Some(_) => {}
            }
        }
    })
    .await
    .map_err(|_| "resume: timed out")?;
    let time = start.elapsed();
    let read = counters.read();
    outcome?;
    handle.shutdown().await;
    let _ = tokio::time::timeout(STEP, driver.join()).await;
    Ok(Resumed {
        events: count,
        time,
        read,
    })
}
