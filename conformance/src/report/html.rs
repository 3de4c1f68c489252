//! The static HTML report (spec §12.4): `index.html` with the summary, the
//! coverage and every case with its verdict, and `cases/<case id>.html`
//! with the case's requirements, "expected … / actual …", its wire log
//! (decoded frames and hex) and the implementation's standard error.

use std::fmt::Write as _;
use std::path::Path;

use crate::report::escape::{attr, file_name, text};
use crate::report::{CaseRecord, Report};
use crate::verdict::Verdict;
use crate::wirelog::Entry;

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}\
table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}\
th{background:#f3f3f3}pre,code,.mono{font-family:ui-monospace,monospace;font-size:12px}pre{white-space:pre-wrap;word-break:break-all;margin:0}\
.pass{background:#e6f4ea}.fail,.timeout{background:#fce8e6}.non-strict{background:#fef7e0}.not-implemented{background:#eef}.harness-error{background:#f3e5f5}\
.hex{word-break:break-all;max-width:40em}details summary{cursor:pointer}";

/// Writes `index.html` and `cases/*.html` into `dir`.
pub fn write(report: &Report, dir: &Path) -> std::io::Result<()> {
    let cases_dir = dir.join("cases");
    std::fs::create_dir_all(&cases_dir)?;
    std::fs::write(dir.join("index.html"), index(report))?;
    for case in &report.cases {
        std::fs::write(
            cases_dir.join(format!("{}.html", file_name(&case.id))),
            case_page(report, case),
        )?;
    }
    Ok(())
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}</body>\n</html>\n",
        text(title)
    )
}

/// The index page.
pub fn index(report: &Report) -> String {
    let s = &report.summary;
    let mut b = String::new();
    let _ = writeln!(b, "<h1>Tandem conformance report</h1>");
    let _ = writeln!(
        b,
        "<p>{} {} · started {} · {:.1} s · seed <code>{}</code> · time scale {} · exit status <strong>{}</strong></p>",
        text(&report.runner.name),
        text(&report.runner.version),
        text(&report.started_at),
        report.duration_ms / 1000.0,
        report.seed,
        report.time_scale,
        s.exit_status
    );
    let _ = writeln!(
        b,
        "<h2>Implementations</h2>\n<table><tr><th>Role</th><th>Implementation</th><th>Parameters</th></tr>"
    );
    for t in &report.targets {
        let params: Vec<String> = t
            .parameters
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let _ = writeln!(
            b,
            "<tr><td>{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td></tr>",
            t.role,
            text(&t.implementation),
            text(&params.join(" "))
        );
    }
    let _ = writeln!(b, "</table>");
    let _ = writeln!(b, "<h2>Summary</h2>\n<table><tr>");
    for v in Verdict::ALL {
        let _ = write!(b, "<th class=\"{0}\">{0}</th>", v.as_str());
    }
    let _ = writeln!(b, "<th>total</th></tr><tr>");
    for v in Verdict::ALL {
        let _ = write!(
            b,
            "<td>{}</td>",
            s.verdicts.get(v.as_str()).copied().unwrap_or(0)
        );
    }
    let _ = writeln!(b, "<td>{}</td></tr></table>", s.total);
    for id in &s.unexpected_passes {
        let _ = writeln!(
            b,
            "<p><strong>{}</strong> is listed as an expected failure but passes.</p>",
            text(id)
        );
    }
    let _ = writeln!(
        b,
        "<h2>Requirement coverage</h2>\n<table><tr><th>Role</th><th>MUST covered</th><th>MUST without a case</th><th>SHOULD covered</th><th>Not testable from outside</th></tr>"
    );
    for c in &report.coverage {
        let untestable: Vec<String> = c
            .not_testable
            .iter()
            .map(|u| format!("{} ({})", u.id, u.reason))
            .collect();
        let _ = writeln!(
            b,
            "<tr><td>{}{}</td><td>{}/{}</td><td class=\"mono\">{}</td><td>{}/{}</td><td>{}</td></tr>",
            c.role,
            if c.tested { "" } else { " (not tested)" },
            c.must_covered,
            c.must_total,
            text(&c.must_uncovered.join(" ")),
            c.should_covered,
            c.should_total,
            text(&untestable.join("; "))
        );
    }
    let _ = writeln!(b, "</table>");
    let _ = writeln!(
        b,
        "<h2>Cases</h2>\n<table><tr><th>Verdict</th><th>Case</th><th>Level</th><th>Section</th><th>Title</th><th>ms</th></tr>"
    );
    for case in &report.cases {
        let expected = if case.expected_failure.is_some() {
            " (expected failure)"
        } else {
            ""
        };
        let _ = writeln!(
            b,
            "<tr class=\"{v}\"><td>{v}{expected}</td><td class=\"mono\"><a href=\"cases/{href}.html\">{id}</a></td><td>{lvl}</td><td>{sec}</td><td>{title}</td><td>{ms:.0}</td></tr>",
            v = case.verdict.as_str(),
            href = attr(&file_name(&case.id)),
            id = text(&case.id),
            lvl = case.level.as_str(),
            sec = text(&case.section),
            title = text(&case.title),
            ms = case.duration_ms
        );
    }
    let _ = writeln!(b, "</table>");
    page("Tandem conformance report", &b)
}

/// The page of one case.
pub fn case_page(report: &Report, case: &CaseRecord) -> String {
    let mut b = String::new();
    let _ = writeln!(
        b,
        "<p><a href=\"../index.html\">← all cases</a> · seed <code>{}</code></p>",
        report.seed
    );
    let _ = writeln!(b, "<h1 class=\"mono\">{}</h1>", text(&case.id));
    let _ = writeln!(b, "<p>{}</p>", text(&case.title));
    let _ = writeln!(
        b,
        "<p class=\"{v}\">verdict <strong>{v}</strong> · level {} · role {} · {:.1} ms</p>",
        case.level.as_str(),
        case.role,
        case.duration_ms,
        v = case.verdict.as_str()
    );
    if let Some(reason) = &case.expected_failure {
        let _ = writeln!(b, "<p>Listed as an expected failure: {}</p>", text(reason));
    }
    if let (Some(e), Some(a)) = (&case.expected, &case.actual) {
        let _ = writeln!(
            b,
            "<table><tr><th>expected</th><td><pre>{}</pre></td></tr><tr><th>actual</th><td><pre>{}</pre></td></tr></table>",
            text(e),
            text(a)
        );
    }
    let _ = writeln!(
        b,
        "<h2>Requirements</h2>\n<table><tr><th>Id</th><th>Level</th><th>Section</th><th>Text</th></tr>"
    );
    for r in &case.requirements {
        let _ = writeln!(
            b,
            "<tr><td class=\"mono\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            text(&r.id),
            r.level.as_str(),
            text(&r.section),
            text(&r.text)
        );
    }
    let _ = writeln!(b, "</table>");
    if !case.faults.is_empty() || !case.capabilities.is_empty() {
        let _ = writeln!(
            b,
            "<p>Faults committed by the runner: <code>{}</code> · capabilities needed: <code>{}</code></p>",
            text(&case.faults.join(" ")),
            text(&case.capabilities.join(" "))
        );
    }
    let _ = writeln!(b, "<h2>Wire log</h2>");
    if case.wire_log.is_empty() {
        let _ = writeln!(b, "<p>(empty)</p>");
    } else {
        let _ = writeln!(
            b,
            "<table><tr><th>ms</th><th>peer</th><th></th><th>what</th><th>decoded</th><th>bytes</th></tr>"
        );
        for e in &case.wire_log {
            entry_row(&mut b, e);
        }
        let _ = writeln!(b, "</table>");
    }
    if let Some(stderr) = &case.stderr {
        let _ = writeln!(b, "<h2>Standard error</h2>\n<pre>{}</pre>", text(stderr));
    }
    page(&case.id, &b)
}

fn entry_row(b: &mut String, e: &Entry) {
    let arrow = e.direction.map_or("", |d| d.arrow());
    let decoded = e
        .decoded
        .as_ref()
        .map(|d| serde_json::to_string_pretty(d).unwrap_or_default())
        .unwrap_or_default();
    let bytes = match (&e.hex, e.len) {
        (Some(hex), Some(len)) => {
            let more = if hex.len() / 2 < len {
                format!(
                    " (first {} of {len} bytes; SHA-256 {})",
                    hex.len() / 2,
                    e.sha256.as_deref().unwrap_or("?")
                )
            } else {
                format!(" ({len} bytes)")
            };
            if hex.len() > 128 {
                format!(
                    "<details><summary>{}…{}</summary><div class=\"hex mono\">{}</div></details>",
                    text(&hex[..64]),
                    text(&more),
                    text(hex)
                )
            } else {
                format!(
                    "<span class=\"hex mono\">{}</span>{}",
                    text(hex),
                    text(&more)
                )
            }
        }
        _ => String::new(),
    };
    let _ = writeln!(
        b,
        "<tr><td>{:.1}</td><td>{}</td><td>{}</td><td><pre>{}</pre></td><td><pre>{}</pre></td><td>{}</td></tr>",
        e.t_ms,
        text(&e.peer),
        text(arrow),
        text(&e.text),
        text(&decoded),
        bytes
    );
}
