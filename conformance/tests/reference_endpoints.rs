//! The reference endpoints pass (spec §12.3, §12.5, issue 9): the web
//! companion and the phone, each behind the built binary's endpoint
//! adapter, pass every MUST case of their role, and every MUST requirement
//! of both roles has a case.

#![allow(clippy::unwrap_used)]

mod support;

use tandem_conformance::case::Role;
use tandem_conformance::expected::ExpectedFailures;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_companion_and_primary_pass_every_must_case() {
    let mut options = support::options(&[], 1.0);
    options.expected = ExpectedFailures::parse(support::KNOWN_FAILURES).unwrap();
    let report = support::run(
        vec![support::companion(&[]), support::primary(&[])],
        &options,
    )
    .await;
    support::assert_must_cases_pass(&report);
    for role in ["companion.", "primary."] {
        let n = report
            .cases
            .iter()
            .filter(|c| c.id.starts_with(role))
            .count();
        assert!(n > 0, "no {role} case ran");
    }
}

#[tokio::test]
async fn every_companion_and_primary_must_requirement_has_a_case() {
    let report = support::run(
        vec![support::companion(&[]), support::primary(&[])],
        &support::options(&["none"], 1.0),
    )
    .await;
    for role in [Role::Companion, Role::Primary] {
        let coverage = report.coverage.iter().find(|c| c.role == role).unwrap();
        assert!(
            coverage.must_uncovered.is_empty(),
            "{role} MUST requirements without a case: {:?}",
            coverage.must_uncovered
        );
    }
}

#[test]
fn endpoint_case_ids_are_unique_and_their_faults_are_in_the_catalogue() {
    for (target, prefix) in [
        (support::companion(&[]), "companion."),
        (support::primary(&[]), "primary."),
    ] {
        let mut ids = Vec::new();
        for case in target.cases() {
            assert!(case.id.starts_with(prefix), "{}", case.id);
            for fault in &case.faults {
                assert!(
                    tandem_conformance::endpoint::faults::fault(fault).is_some(),
                    "{}: unknown fault {fault}",
                    case.id
                );
            }
            ids.push(case.id);
        }
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n, "{prefix} case ids are unique");
    }
}
