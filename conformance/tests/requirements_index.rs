//! The requirement index `spec/requirements.json` is current, and the spec's
//! requirement ids are consistent (spec/README.md, "Requirement ids").

use tandem_conformance::requirements::{
    self, Analysis, Check, INDEX_FILE, Index, REGENERATE_COMMAND,
};

fn analysis() -> Analysis {
    let files = requirements::load_spec(&requirements::default_spec_dir())
        .expect("the spec folder is readable");
    requirements::analyze(&files)
}

fn assert_none(analysis: &Analysis, check: Check, what: &str) {
    let problems = analysis.problems_of(check);
    assert!(
        problems.is_empty(),
        "{what}:\n{}",
        problems
            .iter()
            .map(|p| format!("  {p}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn checked_in_index_is_current() {
    let fresh = analysis().index.to_json();
    let path = requirements::default_spec_dir().join(INDEX_FILE);
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == fresh,
        "spec/{INDEX_FILE} is stale (the spec's requirements changed); run `{REGENERATE_COMMAND}` and commit the result"
    );
    let parsed = Index::from_json(&checked_in).expect("spec/requirements.json parses");
    assert_eq!(parsed.version, requirements::INDEX_VERSION);
}

#[test]
fn every_id_is_defined_exactly_once() {
    assert_none(
        &analysis(),
        Check::DuplicateDefinition,
        "ids defined more than once",
    );
}

#[test]
fn every_referenced_id_is_defined() {
    assert_none(
        &analysis(),
        Check::UndefinedReference,
        "ids referenced but never defined",
    );
}

#[test]
fn every_must_and_should_sentence_has_an_id() {
    assert_none(
        &analysis(),
        Check::MissingId,
        "MUST/SHOULD sentences without an id",
    );
}

#[test]
fn every_id_has_a_keyword() {
    assert_none(
        &analysis(),
        Check::MissingKeyword,
        "ids defined on sentences without MUST or SHOULD",
    );
}

#[test]
fn every_id_uses_a_listed_prefix() {
    let analysis = analysis();
    assert!(
        !analysis.prefixes.is_empty(),
        "spec/README.md lists no prefixes"
    );
    assert_none(
        &analysis,
        Check::UnknownPrefix,
        "ids with unlisted prefixes",
    );
}

#[test]
fn index_is_not_empty_and_in_file_order() {
    let index = analysis().index;
    assert!(index.requirements.len() > 100);
    let files: Vec<&str> = index.requirements.iter().map(|r| r.file.as_str()).collect();
    let mut sorted = files.clone();
    sorted.sort();
    assert_eq!(files, sorted, "requirements are grouped in file order");
    for r in &index.requirements {
        assert!(!r.section.is_empty(), "[{}] has no numbered section", r.id);
        assert!(
            !r.text.contains('\n') && !r.text.contains("**"),
            "[{}] text: {}",
            r.id,
            r.text
        );
    }
}
