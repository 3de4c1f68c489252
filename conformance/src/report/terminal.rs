//! The terminal report (spec §12.4): a line per case as it ends, with
//! "expected … / actual …" under each case that did not pass, then a
//! summary with the counts, the coverage of each role and the exit status.

use std::fmt::Write as _;

use crate::report::{CaseRecord, Report};
use crate::verdict::Verdict;

/// The line (and, unless it passed, the explanation) of one case.
pub fn case_line(case: &CaseRecord) -> String {
    let mut out = format!(
        "{:<15} {:<44} {:<6} {:<6} {}\n",
        case.verdict.as_str().to_ascii_uppercase(),
        case.id,
        case.level.as_str(),
        format!("§{}", case.section.split(' ').next().unwrap_or_default()),
        case.title
    );
    if let Some(reason) = &case.expected_failure {
        let note = if case.verdict == Verdict::Pass {
            "listed as an expected failure, but it PASSES now"
        } else {
            "expected failure"
        };
        let _ = writeln!(out, "                  ({note}: {reason})");
    }
    if let (Some(expected), Some(actual)) = (&case.expected, &case.actual) {
        let _ = writeln!(out, "                  expected: {expected}");
        let _ = writeln!(out, "                  actual:   {actual}");
    }
    out
}

/// The summary after the last case.
pub fn summary(report: &Report, report_dir: Option<&str>) -> String {
    let mut out = String::new();
    let s = &report.summary;
    let _ = writeln!(out, "\n== tandem-conformance {} ==", report.runner.version);
    for target in &report.targets {
        let _ = writeln!(
            out,
            "{:<10} {}",
            target.role.as_str(),
            target.implementation
        );
        if !target.not_run.is_empty() {
            let _ = writeln!(
                out,
                "           {} selected case(s) not run:",
                target.not_run.len()
            );
            for n in &target.not_run {
                let _ = writeln!(out, "             {} ({})", n.id, n.reason);
            }
        }
    }
    let counts: Vec<String> = Verdict::ALL
        .iter()
        .map(|v| {
            format!(
                "{} {}",
                s.verdicts.get(v.as_str()).copied().unwrap_or(0),
                v.as_str()
            )
        })
        .collect();
    let _ = writeln!(out, "{} cases: {}", s.total, counts.join(", "));
    for role in report.targets.iter().map(|t| t.role) {
        let n = report.cases.iter().filter(|c| c.role == role).count();
        let p = report
            .cases
            .iter()
            .filter(|c| c.role == role && c.verdict == Verdict::Pass)
            .count();
        let _ = writeln!(out, "  {:<10} {p}/{n} passed", role.as_str());
    }
    if s.expected_failures > 0 {
        let _ = writeln!(
            out,
            "{} expected failure(s) did not count",
            s.expected_failures
        );
    }
    for id in &s.unexpected_passes {
        let _ = writeln!(
            out,
            "{id} is listed as an expected failure but passes: remove it from the list"
        );
    }
    let _ = writeln!(
        out,
        "\nrequirement coverage (cases the runner has, per role):"
    );
    for c in &report.coverage {
        let tested = if c.tested {
            ""
        } else {
            " (not tested in this run)"
        };
        let _ = writeln!(
            out,
            "  {:<10} MUST {}/{} covered, SHOULD {}/{}{tested}",
            c.role.as_str(),
            c.must_covered,
            c.must_total,
            c.should_covered,
            c.should_total
        );
        if !c.tested {
            continue;
        }
        if !c.must_uncovered.is_empty() {
            let _ = writeln!(
                out,
                "             MUST without a case: {}",
                wrap(&c.must_uncovered, 60, 34)
            );
        }
        if !c.not_testable.is_empty() {
            let ids: Vec<String> = c.not_testable.iter().map(|u| u.id.clone()).collect();
            let _ = writeln!(
                out,
                "             not testable from outside: {}",
                wrap(&ids, 60, 40)
            );
        }
    }
    let _ = writeln!(
        out,
        "\nseed {} (rerun the same bytes with --seed {})",
        report.seed, report.seed
    );
    if let Some(dir) = report_dir {
        let _ = writeln!(
            out,
            "reports: {dir}/index.html, {dir}/report.json, {dir}/junit.xml"
        );
    }
    let status = match s.exit_status {
        0 => "no case failed".to_owned(),
        1 if s.failing == 0 => "an expected failure passes: update the list".to_owned(),
        1 => format!("{} case(s) failed", s.failing),
        _ if s.total == 0 => "no case ran".to_owned(),
        _ => "a harness error kept a case from running".to_owned(),
    };
    let _ = writeln!(out, "exit status {}: {status}", s.exit_status);
    out
}

/// Ids joined with spaces, wrapped at `width` characters, continuation
/// lines indented by `indent`.
fn wrap(ids: &[String], width: usize, indent: usize) -> String {
    let mut out = String::new();
    let mut line = 0;
    for id in ids {
        if line > 0 && line + id.len() + 1 > width {
            out.push('\n');
            out.push_str(&" ".repeat(indent));
            line = 0;
        } else if line > 0 {
            out.push(' ');
            line += 1;
        }
        out.push_str(id);
        line += id.len();
    }
    out
}
