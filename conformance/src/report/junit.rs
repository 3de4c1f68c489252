//! The JUnit XML report (spec §12.4): one `testsuite` per spec part (the
//! chapter of each case's first requirement), one `testcase` per case named
//! by its case id with `classname` its role. `fail` and a MUST `timeout`
//! are failures, `harness-error` an error, `not-implemented` and expected
//! failures are skipped, `non-strict` passes with a property saying so.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::report::escape::{attr, text};
use crate::report::{CaseRecord, Report};
use crate::verdict::Verdict;

/// The whole document.
pub fn render(report: &Report) -> String {
    let mut parts: BTreeMap<(u32, String), Vec<&CaseRecord>> = BTreeMap::new();
    for case in &report.cases {
        parts.entry(part_key(&case.part)).or_default().push(case);
    }
    let failures = report.cases.iter().filter(|c| is_failure(c)).count();
    let errors = report
        .cases
        .iter()
        .filter(|c| c.verdict == Verdict::HarnessError)
        .count();
    let skipped = report.cases.iter().filter(|c| is_skipped(c)).count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"tandem-conformance\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" time=\"{:.3}\" timestamp=\"{}\">",
        report.cases.len(),
        report.duration_ms / 1000.0,
        attr(&report.started_at)
    );
    for ((_, part), cases) in &parts {
        let title = cases
            .first()
            .map(|c| c.part_title.as_str())
            .unwrap_or_default();
        let name = if part.is_empty() {
            "unnumbered".to_owned()
        } else {
            format!("§{part} {title}")
        };
        let time: f64 = cases.iter().map(|c| c.duration_ms).sum::<f64>() / 1000.0;
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{time:.3}\">",
            attr(&name),
            cases.len(),
            cases.iter().filter(|c| is_failure(c)).count(),
            cases
                .iter()
                .filter(|c| c.verdict == Verdict::HarnessError)
                .count(),
            cases.iter().filter(|c| is_skipped(c)).count(),
        );
        let _ = writeln!(out, "    <properties>");
        let _ = writeln!(
            out,
            "      <property name=\"seed\" value=\"{}\"/>",
            report.seed
        );
        let _ = writeln!(
            out,
            "      <property name=\"time_scale\" value=\"{}\"/>",
            report.time_scale
        );
        let _ = writeln!(out, "    </properties>");
        for case in cases {
            testcase(&mut out, case);
        }
        let _ = writeln!(out, "  </testsuite>");
    }
    out.push_str("</testsuites>\n");
    out
}

fn testcase(out: &mut String, case: &CaseRecord) {
    let _ = writeln!(
        out,
        "    <testcase name=\"{}\" classname=\"{}\" time=\"{:.3}\">",
        attr(&case.id),
        attr(case.role.as_str()),
        case.duration_ms / 1000.0
    );
    let _ = writeln!(out, "      <properties>");
    let _ = writeln!(
        out,
        "        <property name=\"verdict\" value=\"{}\"/>",
        case.verdict.as_str()
    );
    let _ = writeln!(
        out,
        "        <property name=\"level\" value=\"{}\"/>",
        case.level.as_str()
    );
    let _ = writeln!(
        out,
        "        <property name=\"section\" value=\"{}\"/>",
        attr(&case.section)
    );
    let ids: Vec<&str> = case.requirements.iter().map(|r| r.id.as_str()).collect();
    let _ = writeln!(
        out,
        "        <property name=\"requirements\" value=\"{}\"/>",
        attr(&ids.join(" "))
    );
    let _ = writeln!(
        out,
        "        <property name=\"title\" value=\"{}\"/>",
        attr(&case.title)
    );
    let _ = writeln!(out, "      </properties>");
    let detail = match (&case.expected, &case.actual) {
        (Some(e), Some(a)) => format!("expected: {e}\nactual: {a}"),
        _ => String::new(),
    };
    let message = format!("{}: {}", case.verdict.as_str(), detail.replace('\n', " / "));
    if let Some(reason) = &case.expected_failure {
        if case.verdict != Verdict::Pass {
            let _ = writeln!(
                out,
                "      <skipped message=\"{}\"/>",
                attr(&format!("expected failure ({reason}); {message}"))
            );
        }
    } else if is_failure(case) {
        let _ = writeln!(
            out,
            "      <failure message=\"{}\" type=\"{}\">{}</failure>",
            attr(&message),
            case.verdict.as_str(),
            text(&detail)
        );
    } else if case.verdict == Verdict::HarnessError {
        let _ = writeln!(
            out,
            "      <error message=\"{}\" type=\"harness-error\">{}</error>",
            attr(&message),
            text(&detail)
        );
    } else if case.verdict == Verdict::NotImplemented {
        let _ = writeln!(out, "      <skipped message=\"{}\"/>", attr(&message));
    }
    if !detail.is_empty()
        && matches!(case.verdict, Verdict::NonStrict | Verdict::Timeout)
        && !is_failure(case)
    {
        let _ = writeln!(
            out,
            "      <system-out>{}</system-out>",
            text(&format!("{}\n{detail}", case.verdict.as_str()))
        );
    }
    if let Some(stderr) = &case.stderr {
        let _ = writeln!(out, "      <system-err>{}</system-err>", text(stderr));
    }
    let _ = writeln!(out, "    </testcase>");
}

fn is_failure(case: &CaseRecord) -> bool {
    case.expected_failure.is_none() && case.verdict.fails_run(case.level)
}

fn is_skipped(case: &CaseRecord) -> bool {
    (case.expected_failure.is_some() && case.verdict != Verdict::Pass)
        || (case.expected_failure.is_none() && case.verdict == Verdict::NotImplemented)
}

/// Parts sort by number, then appendices by letter.
fn part_key(part: &str) -> (u32, String) {
    (part.parse().unwrap_or(u32::MAX), part.to_owned())
}
