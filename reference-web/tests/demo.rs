//! `tandem-web demo`, the README's command (issue 8): every flow of spec §4 to
//! §9, nothing lost or doubled, exit 0 by itself, with no input, in seconds.

#![allow(clippy::unwrap_used, missing_docs)]

use std::process::Stdio;
use std::time::{Duration, Instant};

#[tokio::test]
async fn the_demo_runs_every_flow_and_exits_zero_by_itself() {
    let started = Instant::now();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_tandem-web"))
        .arg("demo")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(60), output)
        .await
        .expect("the demo ends by itself")
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}\n{}",
        text,
        String::from_utf8_lossy(&output.stderr)
    );
    for expected in [
        "QR TANDEM:",
        "phone │ Camera: read a",
        "✓ the phone decoded the QR code from the rendered PNG image",
        "✓ both devices showed the check code",
        "✓ Echo answered \"echo: Hello, Echo!\"; the message went sent → delivered → read",
        "matches, bytes identical",
        "✂ Connection cut by the demo",
        "none lost, none doubled",
        "All 11 checks passed.",
    ] {
        assert!(text.contains(expected), "no {expected:?} in:\n{text}");
    }
    // The terminal QR code is drawn with half blocks.
    assert!(text.contains('▀') || text.contains('▄'));
    assert!(started.elapsed() < Duration::from_secs(30));
}
