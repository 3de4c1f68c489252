//! Generates the requirement index `spec/requirements.json` from the spec.
//!
//! ```sh
//! cargo run -p tandem-conformance --example requirements            # print it
//! cargo run -p tandem-conformance --example requirements -- --write # rewrite the file
//! cargo run -p tandem-conformance --example requirements -- --check # exit 1 if stale
//! ```
//!
//! Problems in the spec (an id defined twice, a MUST without an id, ...)
//! are printed to stderr and make the command exit with status 1.

use std::process::ExitCode;

use tandem_conformance::requirements::{self, INDEX_FILE, Level, REGENERATE_COMMAND};

fn main() -> ExitCode {
    let mode = std::env::args().nth(1);
    let dir = requirements::default_spec_dir();
    let files = match requirements::load_spec(&dir) {
        Ok(files) => files,
        Err(e) => {
            eprintln!("cannot read {}: {e}", dir.display());
            return ExitCode::FAILURE;
        }
    };
    let analysis = requirements::analyze(&files);
    for problem in analysis.problems() {
        eprintln!("{problem}");
    }
    let json = analysis.index.to_json();
    let path = dir.join(INDEX_FILE);
    let summary = format!(
        "{} requirements: {} MUST, {} SHOULD",
        analysis.index.requirements.len(),
        analysis.index.count(Level::Must),
        analysis.index.count(Level::Should),
    );
    let ok = analysis.problems().is_empty();
    match mode.as_deref() {
        None => print!("{json}"),
        Some("--write") => {
            if let Err(e) = std::fs::write(&path, &json) {
                eprintln!("cannot write {}: {e}", path.display());
                return ExitCode::FAILURE;
            }
            eprintln!("wrote {}: {summary}", path.display());
        }
        Some("--check") => {
            let current = std::fs::read_to_string(&path).unwrap_or_default();
            if current != json {
                eprintln!("{} is stale: run `{REGENERATE_COMMAND}`", path.display());
                return ExitCode::FAILURE;
            }
            eprintln!("{} is up to date: {summary}", path.display());
        }
        Some(other) => {
            eprintln!("unknown argument {other}; use --write or --check");
            return ExitCode::from(2);
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        eprintln!("{} problem(s) in the spec", analysis.problems().len());
        ExitCode::FAILURE
    }
}
