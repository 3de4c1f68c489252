//! Deliberately wrong relays are caught (spec §12.6, issue 9): the
//! reference relay behind a proxy that changes Data, drops PeerState or
//! swallows Close frames, and the reference relay running with other
//! values than it declares, each fail exactly the cases declared here.

#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeSet;

use support::proxy::{Fault, ProxyLauncher};
use tandem_conformance::relay::embedded::{EmbeddedLauncher, config};
use tandem_conformance::relay::launch::Launcher;
use tandem_conformance::relay::params::RelayParams;
use tandem_conformance::verdict::Verdict;

/// Runs the whole relay suite against a launcher; the ids that failed or
/// timed out (known failures of the reference relay removed).
async fn failing(launcher: Box<dyn Launcher>) -> (BTreeSet<String>, String) {
    let report = support::run(
        vec![support::relay_with(launcher)],
        &support::options(&[], 1.0),
    )
    .await;
    let known: BTreeSet<String> = support::KNOWN_FAILURES
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect();
    let failing = report
        .cases
        .iter()
        .filter(|c| matches!(c.verdict, Verdict::Fail | Verdict::Timeout) && !known.contains(&c.id))
        .map(|c| c.id.clone())
        .collect();
    (failing, support::explain(&report))
}

/// Every relay case id that matches one of the globs (after `relay.`).
fn ids(globs: &[&str]) -> BTreeSet<String> {
    support::relay()
        .cases()
        .into_iter()
        .map(|c| c.id)
        .filter(|id| {
            globs
                .iter()
                .any(|g| tandem_conformance::pattern::glob(&format!("relay.{g}"), id))
        })
        .collect()
}

async fn check(
    name: &str,
    launcher: Box<dyn Launcher>,
    declared: &[&str],
    problems: &mut Vec<String>,
) {
    let (got, explain) = failing(launcher).await;
    let want = ids(declared);
    if got != want {
        let missed: Vec<_> = want.difference(&got).collect();
        let extra: Vec<_> = got.difference(&want).collect();
        problems.push(format!(
            "{name}: declared but passing {missed:?}; failing but not declared {extra:?}\n{explain}"
        ));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_relay_mutant_fails_exactly_its_declared_cases() {
    let params = RelayParams::embedded(1.0);
    let mut problems = Vec::new();

    let proxy = |fault| {
        Box::new(ProxyLauncher {
            fault,
            params: params.clone(),
        }) as Box<dyn Launcher>
    };
    check(
        "flip-data-byte",
        proxy(Fault::FlipDataByte),
        FLIP_DATA_BYTE,
        &mut problems,
    )
    .await;
    check(
        "drop-peer-offline",
        proxy(Fault::DropPeerOffline),
        DROP_PEER_OFFLINE,
        &mut problems,
    )
    .await;
    check(
        "no-close-frames",
        proxy(Fault::NoCloseFrames),
        NO_CLOSE_FRAMES,
        &mut problems,
    )
    .await;

    // Runs with one more link per route than it declares.
    let mut route = EmbeddedLauncher::new(params.clone());
    route.config.router.max_links_per_route += 1;
    check(
        "route-limit-off-by-one",
        Box::new(route),
        &["RLY-12.1"],
        &mut problems,
    )
    .await;

    // Keeps unjoined channels longer than it declares.
    let mut ttl = EmbeddedLauncher::new(params.clone());
    let mut longer = params.clone();
    longer.channel_ttl *= 3;
    ttl.config = config(&longer);
    check(
        "channel-ttl-longer",
        Box::new(ttl),
        &["RLY-04.1"],
        &mut problems,
    )
    .await;

    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// Every case that checks the bytes of Data reaching a client.
const FLIP_DATA_BYTE: &[&str] = &[
    "TRN-04.2", "RLY-02.1", "RLY-08.6", "RLY-09.1", "RLY-13.1", "RLY-14.1", "RLY-14.2", "RLY-14.3",
    "RLY-14.4", "RLY-14.5", "RLY-15.1", "RLY-15.3", "RLY-19.2", "RLY-23.1",
];

/// Every case that waits for a primary to be reported offline.
const DROP_PEER_OFFLINE: &[&str] = &[
    "TRN-07.1", "RLY-13.2", "RLY-16.2", "RLY-17.1", "RLY-17.2", "RLY-23.2",
];

/// Every case that checks a close code.
const NO_CLOSE_FRAMES: &[&str] = &[
    "TRN-03.1", "TRN-04.1", "TRN-04.3", "TRN-04.4", "TRN-04.5", "TRN-04.6", "TRN-04.7", "TRN-05.1",
    "RLY-08.2", "RLY-08.3", "RLY-08.4", "RLY-08.5", "RLY-08.6", "RLY-09.1", "RLY-10.*", "RLY-14.5",
    "RLY-19.1", "RLY-19.3", "RLY-20.*", "RLY-21.*", "RLY-22.1", "RLY-23.*", "RLY-24.1",
];
