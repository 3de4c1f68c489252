//! Deliberately broken codec adapters are caught (spec §12.7, issue 9):
//! each mutant of the reference adapter gets exactly the verdicts it
//! declares, case by case, and every other case passes. Among them are an
//! adapter that accepts trailing bytes, one that reports wrong offsets
//! (non-strict only), one that crashes, one that hangs, and ones that
//! declare themselves not implemented, correctly (status 3) or not
//! (status 1, which is never read as "not implemented").

#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;

use tandem_conformance::codec::mutants::CodecMutant;
use tandem_conformance::codec::vectors;
use tandem_conformance::verdict::Verdict;

fn declared(mutant: CodecMutant) -> BTreeMap<String, Verdict> {
    let mut out: BTreeMap<String, Verdict> = vectors::embedded()
        .unwrap()
        .iter()
        .filter_map(|v| {
            mutant
                .expected_verdict(v)
                .map(|verdict| (format!("codec.{}", v.id), verdict))
        })
        .collect();
    // The encoder cases only see the mutants that end the process.
    let encoder = match mutant {
        CodecMutant::ExitNotImplemented => Some(Verdict::NotImplemented),
        CodecMutant::ExitFailure => Some(Verdict::Fail),
        _ => None,
    };
    if let Some(verdict) = encoder {
        for case in tandem_conformance::codec::encoder::cases() {
            out.insert(case.id, verdict);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_codec_mutant_gets_exactly_the_verdicts_it_declares() {
    let mut problems = Vec::new();
    for mutant in CodecMutant::ALL {
        let report = support::run(
            vec![support::codec(&["--mutant", mutant.name()])],
            &support::options(&[], 0.5),
        )
        .await;
        let got = support::not_passing(&report);
        let want = declared(mutant);
        assert!(!want.is_empty(), "{}: declares nothing", mutant.name());
        if got != want {
            let missed: Vec<_> = want
                .iter()
                .filter(|(id, v)| got.get(*id) != Some(v))
                .take(5)
                .collect();
            let extra: Vec<_> = got
                .iter()
                .filter(|(id, v)| want.get(*id) != Some(v))
                .take(5)
                .collect();
            problems.push(format!(
                "{}: declared but not given {missed:?}; given but not declared {extra:?}",
                mutant.name()
            ));
        }
        let expected_status = if want
            .values()
            .any(|v| matches!(v, Verdict::Fail | Verdict::Timeout))
        {
            1
        } else {
            0
        };
        if report.summary.exit_status != expected_status {
            problems.push(format!(
                "{}: exit status {} instead of {expected_status}",
                mutant.name(),
                report.summary.exit_status
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[tokio::test]
async fn a_missing_adapter_is_a_harness_error() {
    let vectors = vectors::embedded().unwrap();
    let template =
        tandem_conformance::command::Template::parse("/nonexistent/codec-adapter").unwrap();
    let target = std::sync::Arc::new(tandem_conformance::codec::CodecTarget::new(
        template, "missing", vectors,
    ));
    let report = support::run(
        vec![target],
        &support::options(&["codec.envelope-ping-*"], 1.0),
    )
    .await;
    assert!(report.summary.total > 0);
    assert!(
        report
            .cases
            .iter()
            .all(|c| c.verdict == Verdict::HarnessError)
    );
    assert_eq!(report.summary.exit_status, 2);
}
