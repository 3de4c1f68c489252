//! Replays fuzz inputs through the bodies of the fuzz targets
//! (`tandem_codec::testing::fuzz_*`, the same functions `fuzz/fuzz_targets/`
//! call), on stable and in every test run, so that the targets cannot rot
//! and a crash once found stays fixed.
//!
//! Inputs: the seed corpus `fuzz/corpus/<target>/` and the crash inputs kept
//! in `fuzz/regressions/<target>/`. When `cargo +nightly fuzz run <target>`
//! (or `.ci/fuzz`) finds a crash, fix it and copy its input from
//! `fuzz/artifacts/<target>/` to `fuzz/regressions/<target>/`, named after
//! what it found. As of the first 60-second run of each target, no crash
//! was found, so `fuzz/regressions/` holds none yet.

use std::path::{Path, PathBuf};

use tandem_codec::testing;

type Body = fn(&[u8]);

const TARGETS: [(&str, Body); 4] = [
    ("envelope", testing::fuzz_envelope),
    ("session", testing::fuzz_session),
    ("handshake_payloads", testing::fuzz_handshake_payloads),
    ("qr", testing::fuzz_qr),
];

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("fuzz")
}

/// Every file in `dir`, or none when it does not exist.
fn inputs(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p, bytes)
        })
        .collect()
}

#[test]
fn seed_corpus_and_regressions_pass_every_target() {
    let mut total = 0;
    for (target, body) in TARGETS {
        let seeds = inputs(&fuzz_dir().join("corpus").join(target));
        assert!(!seeds.is_empty(), "fuzz/corpus/{target} has no seeds");
        let regressions = inputs(&fuzz_dir().join("regressions").join(target));
        for (path, bytes) in seeds.iter().chain(&regressions) {
            let outcome = std::panic::catch_unwind(|| body(bytes));
            assert!(outcome.is_ok(), "{target}: {} fails", path.display());
            total += 1;
        }
    }
    println!("{total} fuzz inputs replayed");
}

/// Inputs worth keeping whatever the corpus holds: the empty input, one
/// byte of every value, and inputs near the decoders' limits.
#[test]
fn edge_inputs_pass_every_target() {
    let mut edge: Vec<Vec<u8>> = vec![Vec::new()];
    edge.extend((0..=255u8).map(|b| vec![b]));
    edge.push(vec![0x13, 0xFF, 0xFF]);
    edge.push(vec![0x15, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 100]);
    edge.push(vec![0x80; tandem_codec::limits::MAX_INNER_FRAME + 1]);
    edge.push(b"TANDEM:".to_vec());
    edge.push(b"tandem:AE".to_vec());
    for (_, body) in TARGETS {
        for input in &edge {
            body(input);
        }
    }
}
