//! Linking companions through the real relay (spec §4): the core's pairing
//! companion over a real socket, the phone linking on its own short
//! connection or through a running `serve`, from text or a PNG image, and
//! a declined link that stores nothing ([PAIR-06], [PAIR-11]).

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use tandem_codec::Code;
use tandem_phone::commands::{self, CommandError, LinkPrompt};
use tandem_proto::companion::pairing::PairingEvent;
use tandem_proto::store::Store;

async fn companion_check_code(
    pairing: &mut Driven<tandem_proto::companion::pairing::Pairing>,
) -> String {
    pairing
        .wait("CheckCode", |e| match e {
            PairingEvent::CheckCode { code, .. } => Some(code.to_string()),
            _ => None,
        })
        .await
}

#[tokio::test]
async fn a_phone_without_serve_links_on_its_own_connection() {
    let relay = Relay::start().await;
    let (_dir, path) = temp();
    let state = new_phone(&path);
    let mut pairing = pairing(&relay.url, "Firefox on laptop");
    let text = shown_code(&mut pairing).await;

    let mut prompts = Vec::new();
    let outcome = commands::link(&state, &text, false, async |prompt: &LinkPrompt| {
        prompts.push(prompt.clone());
        true
    })
    .await
    .unwrap();
    let credentials = paired(&mut pairing).await;

    // [PAIR-04] both show the same code; the phone shows the device name.
    assert_eq!(prompts.len(), 1);
    assert_eq!(prompts[0].device_name, "Firefox on laptop");
    assert_eq!(
        prompts[0].check_code,
        companion_check_code(&mut pairing).await
    );
    assert!(!outcome.via_serve);
    assert_eq!(credentials.account_name, "Ada");
    assert_eq!(credentials.primary_key, state.identity().unwrap().public());
    let devices = commands::devices(&state).await.unwrap();
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0].device_id, outcome.device_id);
    assert_eq!(devices[0].name, "Firefox on laptop");
    assert!(devices[0].linked_at_ms > 0);
    relay.stop().await;
}

#[tokio::test]
async fn a_serving_phone_links_from_a_png_through_its_own_connection() {
    let relay = Relay::start().await;
    let (_dir, path) = temp();
    let state = new_phone(&path);
    let mut phone = Phone::in_process(&state, &relay.url);
    phone.wait_line("route registered").await;

    let mut pairing = pairing(&relay.url, "Chromium");
    let text = shown_code(&mut pairing).await;
    let png = path.join("code.png");
    qrcode::QrCode::new(text.as_bytes())
        .unwrap()
        .render::<image::Luma<u8>>()
        .min_dimensions(300, 300)
        .build()
        .save(&png)
        .unwrap();
    assert_eq!(tandem_phone::qr_image::read_qr_png(&png).unwrap(), text);

    let output = run_bin(
        state.dir(),
        &["link", "--qr-png", png.to_str().unwrap(), "--yes"],
    )
    .await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("Chromium"), "{stdout}");
    assert!(stdout.contains("Check code:"), "{stdout}");
    phone.wait_line("linked: Chromium").await;
    let credentials = paired(&mut pairing).await;

    // The new companion reaches the serving phone at once.
    let mut companion = companion(&relay.url, credentials);
    synced(&mut companion).await;
    let devices = run_bin(state.dir(), &["devices", "--json"]).await;
    let json: serde_json::Value = serde_json::from_slice(&devices.stdout).unwrap();
    assert_eq!(json[0]["name"], "Chromium");
    assert_eq!(json[0]["connected"], true);
    companion.stop().await;
    phone.stop().await;
    relay.stop().await;
}

#[tokio::test]
async fn a_declined_link_stores_nothing_and_the_companion_is_told() {
    let relay = Relay::start().await;
    let (_dir, path) = temp();
    let state = new_phone(&path);
    let mut phone = Phone::in_process(&state, &relay.url);
    phone.wait_line("route registered").await;
    let mut pairing = pairing(&relay.url, "Unknown tablet");
    let text = shown_code(&mut pairing).await;
    let result = commands::link(&state, &text, false, async |_: &LinkPrompt| false).await;
    assert!(matches!(result, Err(CommandError::Declined)), "{result:?}");
    let code = pairing
        .wait("Failed", |e| match e {
            PairingEvent::Failed { code, .. } => Some(*code),
            _ => None,
        })
        .await;
    assert_eq!(code, Code::PAIRING_REJECTED);
    assert!(store(&state).companions().unwrap().is_empty());
    phone.stop().await;
    relay.stop().await;
}

#[tokio::test]
async fn a_code_for_another_relay_is_linked_there_while_serving_here() {
    let here = Relay::start().await;
    let there = Relay::start().await;
    let (_dir, path) = temp();
    let state = new_phone(&path);
    let mut phone = Phone::in_process(&state, &here.url);
    phone.wait_line("route registered").await;
    let mut pairing = pairing(&there.url, "Elsewhere");
    let text = shown_code(&mut pairing).await;
    let outcome = commands::link(&state, &text, false, async |_: &LinkPrompt| true)
        .await
        .unwrap();
    assert!(!outcome.via_serve);
    paired(&mut pairing).await;
    assert_eq!(store(&state).companions().unwrap().len(), 1);
    phone.stop().await;
    here.stop().await;
    there.stop().await;
}

#[tokio::test]
async fn bad_codes_are_refused_before_anything_is_sent() {
    let (_dir, path) = temp();
    let state = new_phone(&path);
    for (text, says) in [
        ("HELLO", "not a Tandem code"),
        ("TANDEM:abc", "cannot be read"),
        // Version 2 in the first byte ([QR-04]).
        ("TANDEM:AIAA", "unsupported version"),
    ] {
        let err = commands::link(&state, text, false, async |_: &LinkPrompt| true)
            .await
            .unwrap_err();
        assert!(err.to_string().contains(says), "{text}: {err}");
    }
    // [TRN-08] A plain ws:// relay off this machine only when the person
    // says so.
    let remote = tandem_codec::qr::QrPayload {
        channel_id: [1; 16],
        companion_key: [2; 32],
        pairing_secret: [3; 32],
        ttl_s: 60,
        relay_url: "ws://relay.example:8080".into(),
    }
    .to_text()
    .unwrap();
    let err = commands::link(&state, &remote, false, async |_: &LinkPrompt| true)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("unencrypted relay"), "{err}");
}
