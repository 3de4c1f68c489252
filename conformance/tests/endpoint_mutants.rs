//! Deliberately broken reference endpoints are caught (issue 9): the web
//! companion and the phone, built with `--features faults` and started with
//! one `--fault`, each fail exactly the cases that
//! `tandem_conformance::endpoint::mutants` declares for it, among the
//! chapters it is run on; the same endpoints without a fault pass them
//! (`reference_endpoints.rs`).

#![cfg(feature = "faults")]
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeSet;

use futures_util::StreamExt;
use tandem_conformance::case::Role;
use tandem_conformance::endpoint::mutants::{self, Mutant};
use tandem_conformance::verdict::Verdict;

/// Runs one mutant on its selection; a problem, if it did not fail exactly
/// its declared cases.
async fn check(mutant: Mutant) -> Option<String> {
    let name = mutant.fault.name();
    let args = ["--fault", name];
    let target = match mutant.role() {
        Role::Companion => support::companion(&args),
        _ => support::primary(&args),
    };
    let selection = mutant.selection();
    let patterns: Vec<&str> = selection.iter().map(String::as_str).collect();
    let report = support::run(vec![target], &support::options(&patterns, 1.0)).await;
    let known: BTreeSet<&str> = support::KNOWN_FAILURES
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let got: BTreeSet<&str> = report
        .cases
        .iter()
        .filter(|c| {
            matches!(c.verdict, Verdict::Fail | Verdict::Timeout) && !known.contains(c.id.as_str())
        })
        .map(|c| c.id.as_str())
        .collect();
    let want: BTreeSet<&str> = mutant.cases.iter().copied().collect();
    (got != want).then(|| {
        let missed: Vec<_> = want.difference(&got).collect();
        let extra: Vec<_> = got.difference(&want).collect();
        format!(
            "{name}: declared but passing {missed:?}; failing but not declared {extra:?}\n{}",
            support::explain(&report)
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_mutant_fails_exactly_its_declared_cases() {
    let all = mutants::all();
    for mutant in &all {
        assert!(
            !mutant.cases.is_empty(),
            "{} declares no case: a mutant no case catches is a gap in the suite",
            mutant.fault.name()
        );
    }
    let problems: Vec<String> = futures_util::stream::iter(all)
        .map(check)
        .buffer_unordered(4)
        .filter_map(|p| async move { p })
        .collect()
        .await;
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}
