//! `pair` when no link is made (spec §4.1, §9.5): expired codes rotate up to
//! `QR_MAX_CODES` then pairing times out ([QR-07], [QR-08]); a declined link
//! is reported ([DEV-09]); nothing is stored ([PAIR-11]).

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::*;

fn pair_args<'a>(state: &'a Path, relay: &'a str) -> Vec<&'a str> {
    vec![
        "--state",
        state.to_str().unwrap(),
        "pair",
        "--relay",
        relay,
        "--name",
        "Rotating",
        "--no-terminal-qr",
    ]
}

#[tokio::test]
async fn expired_codes_rotate_five_times_then_pairing_times_out() {
    let temp = tempfile::tempdir().unwrap();
    let state = temp.path().join("web");
    let relay = Relay::start_with(&["--channel-ttl", "150ms"]).await;
    let pairing = Proc::spawn("pair", Path::new(WEB), &pair_args(&state, &relay.url));
    let (status, lines) = pairing.finish().await;
    assert_eq!(status.code(), Some(1), "{lines:#?}");
    let codes: BTreeSet<&String> = lines
        .iter()
        .filter(|l| l.starts_with("QR TANDEM:"))
        .collect();
    assert_eq!(codes.len(), 5, "five different codes: {lines:#?}");
    assert!(lines.iter().any(|l| l.contains("Code 5 of at most 5")));
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.contains("expired unused"))
            .count(),
        4
    );
    assert!(
        lines.iter().any(|l| l.contains("Pairing timed out")),
        "{lines:#?}"
    );
    assert!(!state.join("link.json").exists());
}

#[tokio::test]
async fn a_link_declined_on_the_phone_is_reported_and_nothing_is_stored() {
    let temp = tempfile::tempdir().unwrap();
    let state = temp.path().join("web");
    let phone_state = temp.path().join("phone");
    let relay = Relay::start().await;
    ok(&phone(&phone_state, &["init", "--name", "Ada"]).await);
    let mut serving = serve_phone(&phone_state, &relay.url);
    serving.wait_line("route registered").await;
    let mut pairing = Proc::spawn("pair", Path::new(WEB), &pair_args(&state, &relay.url));
    let code = pairing.wait_line("QR TANDEM:").await;
    // No --yes and no answer on stdin: the person declines.
    let declined = phone(&phone_state, &["link", code.trim_start_matches("QR ")]).await;
    assert!(!declined.status.success());
    let (status, lines) = pairing.finish().await;
    assert_eq!(status.code(), Some(1));
    assert!(
        lines.iter().any(|l| l.contains("declined on the phone")),
        "{lines:#?}"
    );
    assert!(lines.iter().any(|l| l.starts_with("Check code: ")));
    assert!(!state.join("link.json").exists());
    let chats = web(&state, &["chats"]).await;
    assert_eq!(chats.status.code(), Some(4));
}
