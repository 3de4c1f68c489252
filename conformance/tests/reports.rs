//! The reports are valid (spec §12.4): the JSON report parses back to the
//! same report with its documented schema; the JUnit XML is well-formed,
//! with one suite per spec part and one testcase per case named by its id
//! and classed by its role; the HTML has an index linking a page per case;
//! and implementation output full of markup and control characters (a
//! codec adapter's standard error) cannot break any of them.

#![allow(clippy::unwrap_used)]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use tandem_conformance::codec::CodecTarget;
use tandem_conformance::command::Template;
use tandem_conformance::report::{self, Report};
use tandem_conformance::verdict::Verdict;

/// Standard error no report may choke on.
const NASTY: &str = "<script>alert(1)</script> & ]]> \"'\u{1}\u{1b}[31m";

/// An adapter that writes NASTY to standard error and decodes every
/// input as a Ping with nonce 8: right for some vectors, wrong for most.
fn nasty_codec() -> Arc<CodecTarget> {
    let script = r#"while read line; do printf '<script>alert(1)</script> & ]]> "'"'"'\001\033[31m\n' >&2; case "$line" in capabilities) echo 'ok adapter/1 codec decode';; *) echo 'ok {"type":"ping","nonce":8}';; esac; done"#;
    let template = Template::from_words(vec!["sh".into(), "-c".into(), script.into()]).unwrap();
    Arc::new(CodecTarget::new(
        template,
        "nasty",
        tandem_conformance::codec::vectors::embedded().unwrap(),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_junit_and_html_reports_are_valid() {
    let selection = [
        "codec.envelope-ping-*",
        "codec.envelope-pong-*",
        "relay.RLY-02.1",
        "relay.ENV-02.1",
    ];
    let report = support::run(
        vec![nasty_codec(), support::relay()],
        &support::options(&selection, 1.0),
    )
    .await;
    assert!(report.summary.total >= 6);
    assert_eq!(
        report.summary.exit_status, 1,
        "the nasty adapter fails some cases"
    );
    let dir = tempfile::tempdir().unwrap();
    report.write(dir.path()).unwrap();

    // JSON: the same report, and the schema.
    let json = std::fs::read_to_string(dir.path().join("report.json")).unwrap();
    let parsed: Report = serde_json::from_str(&json).unwrap();
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    // Compared as JSON values: floats parse the same way on both sides.
    assert_eq!(serde_json::to_value(&parsed).unwrap(), value);
    assert_eq!(parsed.cases.len(), report.cases.len());
    assert_eq!(parsed.summary, report.summary);
    assert_eq!(value["schema"], report::SCHEMA);
    assert_eq!(value["seed"], 7);
    for key in [
        "runner",
        "started_at",
        "duration_ms",
        "time_scale",
        "selection",
        "targets",
        "summary",
        "coverage",
        "cases",
    ] {
        assert!(value.get(key).is_some(), "report.json has no `{key}`");
    }
    let failed = value["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["verdict"] == "fail")
        .unwrap();
    for key in [
        "id",
        "role",
        "title",
        "level",
        "section",
        "requirements",
        "expected",
        "actual",
        "wire_log",
        "stderr",
    ] {
        assert!(
            !failed[key].is_null(),
            "a failed case has no `{key}`: {failed}"
        );
    }
    assert!(
        failed["wire_log"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["hex"].is_string())
    );
    assert!(
        report
            .cases
            .iter()
            .any(|c| c.stderr.as_deref().is_some_and(|s| s.contains("<script>")))
    );

    // JUnit XML: well-formed, one suite per part, one testcase per case.
    let xml = std::fs::read_to_string(dir.path().join("junit.xml")).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    assert_eq!(
        root.attribute("tests"),
        Some(report.cases.len().to_string().as_str())
    );
    let mut cases = BTreeMap::new();
    let mut suites = BTreeSet::new();
    for suite in root.children().filter(|n| n.has_tag_name("testsuite")) {
        let name = suite.attribute("name").unwrap().to_owned();
        assert!(suites.insert(name.clone()), "suite {name} twice");
        for case in suite.children().filter(|n| n.has_tag_name("testcase")) {
            let id = case.attribute("name").unwrap().to_owned();
            let failed = case.children().any(|n| n.has_tag_name("failure"));
            assert_eq!(
                case.attribute("classname"),
                Some(id.split('.').next().unwrap())
            );
            cases.insert(id, (name.clone(), failed));
        }
    }
    assert_eq!(cases.len(), report.cases.len());
    for case in &report.cases {
        let (suite, failed) = &cases[&case.id];
        assert!(
            suite.starts_with(&format!("§{} ", case.part)),
            "{} in {suite}",
            case.id
        );
        assert_eq!(*failed, case.verdict == Verdict::Fail, "{}", case.id);
    }
    assert!(suites.len() >= 2, "{suites:?}");
    let err_text: String = doc
        .descendants()
        .filter(|n| n.has_tag_name("system-err"))
        .filter_map(|n| n.text())
        .collect();
    assert!(
        err_text.contains("<script>alert(1)</script> & ]]>"),
        "{err_text}"
    );
    assert!(err_text.contains("\\u{1}\\u{1b}[31m"), "{err_text}");

    // HTML: an index linking a page per case; nothing unescaped.
    let index = std::fs::read_to_string(dir.path().join("index.html")).unwrap();
    for case in &report.cases {
        assert!(
            index.contains(&format!("href=\"cases/{}.html\"", case.id)),
            "{}",
            case.id
        );
        let page =
            std::fs::read_to_string(dir.path().join("cases").join(format!("{}.html", case.id)))
                .unwrap();
        assert!(page.contains(&case.id));
        assert!(!page.contains("<script>"), "{}: unescaped markup", case.id);
        if case.verdict != Verdict::Pass {
            assert!(
                page.contains("Wire log") && page.contains("expected"),
                "{}",
                case.id
            );
        }
    }
}

#[test]
fn junit_escaping_survives_every_character() {
    let mut report: Report = serde_json::from_str(&minimal_report()).unwrap();
    let all: String = (0u32..0x3000)
        .filter_map(char::from_u32)
        .chain(['\u{fffe}', '\u{ffff}', '😀'])
        .collect();
    report.cases[0].title = all.clone();
    report.cases[0].expected = Some(all.clone());
    report.cases[0].actual = Some(NASTY.to_owned());
    report.cases[0].stderr = Some(all.clone());
    let xml = report::junit::render(&report);
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let title = doc
        .descendants()
        .find(|n| n.has_tag_name("property") && n.attribute("name") == Some("title"))
        .and_then(|n| n.attribute("value"))
        .unwrap();
    // Every character XML can hold comes back as it was.
    let visible = |s: &str| -> String {
        s.chars()
            .map(|c| match c {
                '\t' | '\n' | '\r' => c.to_string(),
                '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{fffe}' | '\u{ffff}' => {
                    format!("\\u{{{:x}}}", u32::from(c))
                }
                c => c.to_string(),
            })
            .collect()
    };
    assert_eq!(title, visible(&all));
    let err: String = doc
        .descendants()
        .filter(|n| n.has_tag_name("system-err"))
        .filter_map(|n| n.text())
        .collect();
    assert_eq!(err, visible(&all).replace("\r\n", "\n").replace('\r', "\n"));
    let html = report::html::case_page(&report, &report.cases[0]);
    assert!(!html.contains("<script>"));
}

fn minimal_report() -> String {
    serde_json::json!({
        "schema": report::SCHEMA,
        "runner": {"name": "tandem-conformance", "version": "0"},
        "started_at": "2026-01-01T00:00:00.000Z",
        "duration_ms": 1.0,
        "seed": 1,
        "time_scale": 1.0,
        "selection": [],
        "targets": [],
        "summary": {"total": 1, "verdicts": {}, "failing": 1, "expected_failures": 0, "unexpected_passes": [], "exit_status": 1},
        "coverage": [],
        "cases": [{
            "id": "codec.x", "role": "codec", "title": "t", "level": "MUST", "section": "1.4 Encoding primitives",
            "part": "1", "part_title": "Overview", "requirements": [], "capabilities": [], "faults": [],
            "verdict": "fail", "counts": true, "expected": "e", "actual": "a", "expected_failure": null,
            "duration_ms": 1.0, "wire_log": [], "stderr": null
        }]
    })
    .to_string()
}
