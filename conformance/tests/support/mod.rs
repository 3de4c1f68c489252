//! Helpers shared by the runner's self-tests: the built binary (whose
//! `companion-adapter`, `primary-adapter`, `codec-adapter` and
//! `relay-adapter` are the reference adapters), run
//! options, and the verdicts of a report by case id.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

pub mod proxy;

use std::collections::BTreeMap;
use std::sync::Arc;

use tandem_conformance::codec::CodecTarget;
use tandem_conformance::command::Template;
use tandem_conformance::endpoint::EndpointTarget;
use tandem_conformance::expected::ExpectedFailures;
use tandem_conformance::pattern::Selection;
use tandem_conformance::relay::RelayTarget;
use tandem_conformance::relay::embedded::EmbeddedLauncher;
use tandem_conformance::relay::launch::Launcher;
use tandem_conformance::relay::params::RelayParams;
use tandem_conformance::report::Report;
use tandem_conformance::runner::{self, RunOptions, Target};
use tandem_conformance::spec_index::SpecIndex;
use tandem_conformance::verdict::Verdict;

/// The runner binary built for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_tandem-conformance");

/// Reference relay cases known to fail, with the reason; kept in a file so
/// that removing a fixed one is a one-line change.
pub const KNOWN_FAILURES: &str = include_str!("../known-failures.txt");

/// Run options for a selection.
pub fn options(patterns: &[&str], time_scale: f64) -> RunOptions {
    RunOptions {
        seed: 7,
        time_scale,
        jobs: 4,
        selection: Selection::new(patterns),
        patterns: patterns.iter().map(|p| (*p).to_owned()).collect(),
        expected: ExpectedFailures::default(),
        catalogue: None,
    }
}

/// Runs targets and returns the report.
pub async fn run(targets: Vec<Arc<dyn Target>>, options: &RunOptions) -> Report {
    let index = SpecIndex::embedded().unwrap();
    let mut progress = |_: &tandem_conformance::report::CaseRecord| {};
    runner::run(targets, &index, options, &mut progress).await
}

/// The codec target with the built binary's adapter and these extra
/// arguments (a mutant).
pub fn codec(extra: &[&str]) -> Arc<dyn Target> {
    let mut words = vec![BIN.to_owned(), "codec-adapter".to_owned()];
    words.extend(extra.iter().map(|w| (*w).to_owned()));
    let vectors = tandem_conformance::codec::vectors::embedded().unwrap();
    Arc::new(CodecTarget::new(
        Template::from_words(words).unwrap(),
        "test",
        vectors,
    ))
}

/// The companion target with the reference companion behind the built
/// binary's `companion-adapter`, with extra adapter arguments (faults).
pub fn companion(extra: &[&str]) -> Arc<dyn Target> {
    endpoint(tandem_conformance::case::Role::Companion, extra)
}

/// The primary target with the reference primary behind the built
/// binary's `primary-adapter`, with extra adapter arguments (faults).
pub fn primary(extra: &[&str]) -> Arc<dyn Target> {
    endpoint(tandem_conformance::case::Role::Primary, extra)
}

fn endpoint(role: tandem_conformance::case::Role, extra: &[&str]) -> Arc<dyn Target> {
    let mut words = vec![
        BIN.to_owned(),
        format!("{role}-adapter"),
        "--state".to_owned(),
        "{state_dir}".to_owned(),
        "adapter".to_owned(),
        "--relay".to_owned(),
        "{relay_url}".to_owned(),
    ];
    words.extend(extra.iter().map(|w| (*w).to_owned()));
    Arc::new(EndpointTarget::new(
        role,
        Template::from_words(words).unwrap(),
        "test",
    ))
}

/// The relay target with the embedded reference relay.
pub fn relay() -> Arc<dyn Target> {
    relay_with(Box::new(EmbeddedLauncher::new(RelayParams::embedded(1.0))))
}

/// The relay target with a launcher.
pub fn relay_with(launcher: Box<dyn Launcher>) -> Arc<dyn Target> {
    Arc::new(RelayTarget::new(launcher))
}

/// The verdict of every case that did not pass.
pub fn not_passing(report: &Report) -> BTreeMap<String, Verdict> {
    report
        .cases
        .iter()
        .filter(|c| c.verdict != Verdict::Pass)
        .map(|c| (c.id.clone(), c.verdict))
        .collect()
}

/// Every case that did not pass, with expected and actual, for messages.
pub fn explain(report: &Report) -> String {
    report
        .cases
        .iter()
        .filter(|c| c.verdict != Verdict::Pass)
        .map(|c| {
            format!(
                "{} {}: expected {} / actual {}",
                c.verdict,
                c.id,
                c.expected.as_deref().unwrap_or(""),
                c.actual.as_deref().unwrap_or("")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Fails unless every MUST case passed (known failures aside) and the run
/// exits with status 0.
pub fn assert_must_cases_pass(report: &Report) {
    use tandem_conformance::requirements::Level;
    let failing: Vec<_> = report
        .cases
        .iter()
        .filter(|c| {
            c.level == Level::Must && c.verdict != Verdict::Pass && c.expected_failure.is_none()
        })
        .collect();
    assert!(
        failing.is_empty(),
        "MUST cases that did not pass:\n{}",
        explain(report)
    );
    assert!(
        report.summary.unexpected_passes.is_empty(),
        "listed in known-failures.txt but passing now; remove them: {:?}",
        report.summary.unexpected_passes
    );
    assert_eq!(report.summary.exit_status, 0, "{}", explain(report));
}
