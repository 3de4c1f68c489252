//! The load tool keeps working: `tandem-load all --quick` (tiny counts,
//! seconds) runs every measurement, each produces its numbers, and every
//! message was acknowledged exactly once. No assertion on speed.

#![allow(clippy::unwrap_used)]

use std::process::Command;

use serde_json::Value;

#[test]
fn every_measurement_produces_numbers_and_messages_are_acknowledged_once() {
    let output = Command::new(env!("CARGO_BIN_EXE_tandem-load"))
        .args(["all", "--quick", "--json"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "tandem-load failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();

    let rows = report["rows"].as_array().unwrap();
    let measured: Vec<&str> = rows
        .iter()
        .map(|row| row["measurement"].as_str().unwrap())
        .collect();
    for prefix in [
        "pairings",
        "reconnects",
        "messages, 1 pair",
        "messages, 4 pairs",
        "media",
        "first sync",
        "resume",
        "idle",
    ] {
        assert!(
            measured.iter().any(|m| m.starts_with(prefix)),
            "no {prefix} row in {measured:?}"
        );
    }
    for row in rows {
        let tandem = row["tandem"].as_f64().unwrap();
        assert!(tandem.is_finite() && tandem >= 0.0, "{row}");
        if let Some(baseline) = row["baseline"].as_f64() {
            assert!(baseline.is_finite() && baseline > 0.0, "{row}");
            assert!(row["ratio"].as_f64().unwrap().is_finite(), "{row}");
        }
    }
    // Rates and times are never zero, even in a tiny run.
    for row in rows {
        let metric = row["metric"].as_str().unwrap();
        if metric.ends_with("/s") || metric.ends_with(" ms") {
            assert!(row["tandem"].as_f64().unwrap() > 0.0, "{row}");
        }
    }

    let checks = report["checks"].as_array().unwrap();
    assert!(
        checks.iter().all(|c| c["ok"].as_bool() == Some(true)),
        "{checks:?}"
    );
    let once: Vec<&Value> = checks
        .iter()
        .filter(|c| {
            c["name"]
                .as_str()
                .unwrap()
                .contains("acknowledged exactly once")
        })
        .collect();
    assert_eq!(once.len(), 2, "{checks:?}");
}
