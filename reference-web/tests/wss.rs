//! Web, phone and relay as three processes over `wss://` (issue 11; spec
//! §2.5, §4.1): the relay serves TLS with a certificate from a CA made at
//! test time, the phone and the web companion trust it through `--ca`, they
//! pair, sync, send, lose the relay and reconnect, nothing lost or doubled;
//! without `--ca` the web companion says the certificate's issuer is unknown.

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::path::Path;

use common::*;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use tandem_codec::qr::QrPayload;

/// Writes a CA and a relay certificate it issued for `127.0.0.1` and
/// `localhost` into `dir`; returns the paths of the CA, the certificate
/// and the key.
fn make_pki(dir: &Path) -> (String, String, String) {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "Tandem test CA");
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut leaf = CertificateParams::new(vec!["127.0.0.1".into(), "localhost".into()]).unwrap();
    leaf.distinguished_name
        .push(DnType::CommonName, "Tandem test relay");
    let cert = leaf.signed_by(&key, &ca).unwrap();
    let write = |name: &str, text: String| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    };
    (
        write("ca.pem", ca.pem()),
        write("relay.pem", cert.pem()),
        write("relay.key", key.serialize_pem()),
    )
}

/// Pairs a web state folder with the phone over wss://, checking that the
/// code carries the relay URL with its scheme (spec §4.1); the phone links
/// through its serving connection.
async fn pair_over_wss(state: &Path, relay: &str, ca: &str, phone_state: &Path, name: &str) {
    let mut pairing = Proc::spawn(
        "pair",
        Path::new(WEB),
        &[
            "--state",
            state.to_str().unwrap(),
            "--ca",
            ca,
            "pair",
            "--relay",
            relay,
            "--name",
            name,
        ],
    );
    let line = pairing.wait_line("QR TANDEM:").await;
    let text = line.trim_start_matches("QR ").to_owned();
    let payload = QrPayload::from_text(&text).unwrap();
    assert_eq!(payload.relay_url, relay);
    let linked = phone(phone_state, &["--ca", ca, "link", &text, "--yes"]).await;
    assert!(ok(&linked).contains(&format!("Linked {name}")));
    let (status, lines) = pairing.finish().await;
    assert!(status.success(), "pair failed: {lines:#?}");
    assert!(lines.iter().any(|l| l.starts_with("Linked to Ada")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phone_and_web_pair_sync_and_reconnect_over_wss() {
    let temp = tempfile::tempdir().unwrap();
    let (ca, cert, key) = make_pki(temp.path());
    let phone_state = temp.path().join("phone");
    let web_state = temp.path().join("web");
    let watcher = temp.path().join("watcher");

    let mut relay = Relay::start_with(&["--tls-cert", &cert, "--tls-key", &key]).await;
    assert!(relay.url.starts_with("wss://"), "{}", relay.url);
    ok(&phone(&phone_state, &["init", "--name", "Ada"]).await);
    let mut serving = Proc::spawn(
        "phone",
        phone_bin(),
        &[
            "--state",
            phone_state.to_str().unwrap(),
            "--ca",
            &ca,
            "serve",
            "--relay",
            &relay.url,
            "--tick-every",
            "0",
            "--delivered-after",
            "30ms",
            "--read-after",
            "60ms",
        ],
    );
    serving.wait_line("route registered").await;

    // Two companions pair over wss://: one for commands, one watching.
    pair_over_wss(&web_state, &relay.url, &ca, &phone_state, "TLS web").await;
    pair_over_wss(&watcher, &relay.url, &ca, &phone_state, "TLS watcher").await;

    // Sync and a send, over wss://, seen live by the watching companion.
    let chats = ok(&web(&web_state, &["--ca", &ca, "chats"]).await);
    assert!(chats.contains("Echo"), "{chats}");
    let mut watching = Proc::spawn(
        "watch",
        Path::new(WEB),
        &["--state", watcher.to_str().unwrap(), "--ca", &ca, "watch"],
    );
    watching.wait_line("synced at event").await;
    let sent = ok(&web(&web_state, &["--ca", &ca, "send", "Echo", "over wss 1"]).await);
    assert!(sent.contains("Sent: message"), "{sent}");
    watching.wait_line("echo: over wss 1").await;

    // Without the CA the certificate is refused, and the person is told why.
    let refused = web(&web_state, &["chats"]).await;
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("certificate") && stderr.contains("unknown issuer"),
        "{stderr}"
    );

    // The relay dies and comes back with the same certificate; the phone
    // and the watching companion reconnect and resume.
    relay.kill().await;
    watching.wait_line("relay: disconnected").await;
    relay.restart().await;
    serving.wait_line("route registered").await;
    watching.wait_line("synced at event").await;
    ok(&phone(
        &phone_state,
        &["inject", "--from", "Ada Lovelace", "after the restart"],
    )
    .await);
    watching.wait_line("Ada Lovelace: after the restart").await;
    let sent = ok(&web(&web_state, &["--ca", &ca, "send", "Echo", "over wss 2"]).await);
    assert!(sent.contains("Sent: message"), "{sent}");
    watching.wait_line("echo: over wss 2").await;
    watching.kill().await;

    // Each message once on the phone.
    let on_phone = text_counts(&json(
        &phone(
            &phone_state,
            &["messages", "Echo", "--limit", "100", "--json"],
        )
        .await,
    ));
    let on_web = text_counts(&json(
        &web(
            &web_state,
            &["--ca", &ca, "history", "Echo", "--limit", "100", "--json"],
        )
        .await,
    ));
    for text in ["over wss 1", "over wss 2"] {
        let reply = format!("echo: {text}");
        for (side, counts) in [("phone", &on_phone), ("web", &on_web)] {
            assert_eq!(counts.get(text), Some(&1), "{text:?} on the {side}");
            assert_eq!(counts.get(&reply), Some(&1), "{reply:?} on the {side}");
        }
    }
    serving.kill().await;
    relay.kill().await;
}
