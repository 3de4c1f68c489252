//! Writes or checks the codec test vectors in `spec/vectors/`.
//!
//! ```sh
//! # Check: print what differs and exit 1 if any file is stale.
//! cargo run -p tandem-codec --all-features --example vectors
//! # Rewrite the files.
//! cargo run -p tandem-codec --all-features --example vectors -- --write
//! # Rewrite the fuzz seed corpus (fuzz/corpus/<target>/) from the valid vectors.
//! cargo run -p tandem-codec --all-features --example vectors -- --fuzz-corpus
//! ```
//!
//! The vectors are built by `tests/support/vectors_gen.rs`, which
//! `tests/vectors.rs` shares, so the test fails whenever the checked-in files
//! and the code drift apart.

#[path = "../tests/support/vectors_gen.rs"]
mod vectors_gen;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use vectors_gen::{VectorFile, generate, to_json};

/// Largest seed file written to the fuzz corpus.
const MAX_SEED: usize = 4_096;
/// Most seed files per fuzz target.
const MAX_SEEDS: usize = 50;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let write = args.iter().any(|a| a == "--write");
    let corpus = args.iter().any(|a| a == "--fuzz-corpus");
    if let Some(other) = args
        .iter()
        .find(|a| !matches!(a.as_str(), "--write" | "--fuzz-corpus"))
    {
        eprintln!("unknown argument {other}; use --write or --fuzz-corpus");
        return ExitCode::from(2);
    }
    let files = generate();
    if corpus {
        return write_corpus(&files);
    }
    let dir = repo_root().join("spec").join("vectors");
    let mut stale = 0;
    for file in &files {
        let path = dir.join(file.file);
        let json = to_json(file);
        let invalid = file
            .vectors
            .iter()
            .filter(|v| v.result == "invalid")
            .count();
        let summary = format!(
            "{} vectors ({invalid} invalid), {} bytes",
            file.vectors.len(),
            json.len()
        );
        let old = std::fs::read_to_string(&path).ok();
        if old.as_deref() == Some(json.as_str()) {
            println!("{:<26} up to date: {summary}", file.file);
            continue;
        }
        if write {
            std::fs::create_dir_all(&dir).expect("create spec/vectors");
            std::fs::write(&path, &json).expect("write vector file");
            println!("{:<26} written: {summary}", file.file);
        } else {
            stale += 1;
            println!(
                "{:<26} DIFFERS: {}",
                file.file,
                describe(old.as_deref(), file)
            );
        }
    }
    if stale > 0 {
        println!(
            "\n{stale} file(s) differ from the generator; run `{}`",
            vectors_gen::WRITE_COMMAND
        );
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// What differs between a checked-in file and the generated one, by id.
fn describe(old: Option<&str>, new: &VectorFile) -> String {
    let Some(old) = old else {
        return "missing".into();
    };
    let Ok(old) = serde_json::from_str::<serde_json::Value>(old) else {
        return "not JSON".into();
    };
    let by_id = |vectors: Vec<serde_json::Value>| -> BTreeMap<String, serde_json::Value> {
        vectors
            .into_iter()
            .map(|v| (v["id"].as_str().unwrap_or_default().to_owned(), v))
            .collect()
    };
    let old = by_id(old["vectors"].as_array().cloned().unwrap_or_default());
    let new_json = serde_json::to_value(new).expect("serializes");
    let new = by_id(new_json["vectors"].as_array().cloned().unwrap_or_default());
    let added: Vec<_> = new.keys().filter(|id| !old.contains_key(*id)).collect();
    let removed: Vec<_> = old.keys().filter(|id| !new.contains_key(*id)).collect();
    let changed: Vec<_> = new
        .iter()
        .filter(|(id, v)| old.get(*id).is_some_and(|o| o != *v))
        .map(|(id, _)| id)
        .collect();
    let list = |ids: &[&String]| -> String {
        let shown: Vec<&str> = ids.iter().take(5).map(|s| s.as_str()).collect();
        let more = ids.len().saturating_sub(shown.len());
        if more > 0 {
            format!("{} and {more} more", shown.join(", "))
        } else {
            shown.join(", ")
        }
    };
    let mut parts = Vec::new();
    if !added.is_empty() {
        parts.push(format!("{} added ({})", added.len(), list(&added)));
    }
    if !removed.is_empty() {
        parts.push(format!("{} removed ({})", removed.len(), list(&removed)));
    }
    if !changed.is_empty() {
        parts.push(format!("{} changed ({})", changed.len(), list(&changed)));
    }
    if parts.is_empty() {
        "formatting only".into()
    } else {
        parts.join("; ")
    }
}

/// Writes up to [`MAX_SEEDS`] small valid inputs per fuzz target, named by
/// vector id, replacing what was there.
fn write_corpus(files: &[VectorFile]) -> ExitCode {
    let mut seeds: BTreeMap<&str, Vec<(&str, &[u8])>> = BTreeMap::new();
    for file in files {
        let target = match file.layer {
            "envelope" => "envelope",
            "session" => "session",
            "handshake_payload" => "handshake_payloads",
            _ => "qr",
        };
        // Round-robin over the first byte (the frame type), so that every
        // type gets seeds before any gets many.
        let mut by_type: BTreeMap<Option<u8>, Vec<(&str, &[u8])>> = BTreeMap::new();
        for v in &file.vectors {
            if v.result == "valid" && v.raw.len() <= MAX_SEED {
                let group = by_type.entry(v.raw.first().copied()).or_default();
                group.push((v.id.as_str(), v.raw.as_slice()));
            }
        }
        let entry = seeds.entry(target).or_default();
        for round in 0.. {
            let before = entry.len();
            for group in by_type.values() {
                if let Some(seed) = group.get(round)
                    && entry.len() < MAX_SEEDS
                {
                    entry.push(*seed);
                }
            }
            if entry.len() == before {
                break;
            }
        }
    }
    let root = repo_root().join("fuzz").join("corpus");
    for (target, seeds) in &seeds {
        let dir = root.join(target);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).expect("clear the corpus");
        }
        std::fs::create_dir_all(&dir).expect("create the corpus");
        for (id, raw) in seeds {
            std::fs::write(dir.join(id), raw).expect("write a seed");
        }
        println!("fuzz/corpus/{target}: {} seeds", seeds.len());
    }
    ExitCode::SUCCESS
}
