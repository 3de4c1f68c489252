//! The runner against a relay that serves `wss://` itself (spec §2.5,
//! §12.6): with `--ca` naming the private CA that issued the relay's
//! certificate, the cases pass over TLS; without it, they are harness
//! errors that say the certificate's issuer is unknown.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::Stdio;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use tandem_conformance::relay::embedded::config;
use tandem_conformance::relay::params::RelayParams;
use tandem_relay::TlsConfig;
use tokio::process::Command;

/// A CA's PEM and a relay certificate it issued for `localhost`.
fn pki() -> (String, TlsConfig) {
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
    let leaf = CertificateParams::new(vec!["localhost".into()]).unwrap();
    let cert = leaf.signed_by(&key, &ca).unwrap();
    let tls = TlsConfig::from_pem(cert.pem().as_bytes(), key.serialize_pem().as_bytes()).unwrap();
    (ca.pem(), tls)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wss_relay_is_tested_over_tls_with_the_ca_given() {
    let dir = tempfile::tempdir().unwrap();
    let (ca_pem, tls) = pki();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, ca_pem).unwrap();
    let params = RelayParams::embedded(1.0);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("wss://localhost:{}/", listener.local_addr().unwrap().port());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let relay = tokio::spawn(tandem_relay::run_tls(
        listener,
        config(&params),
        tls,
        async move {
            let _ = stopped.await;
        },
    ));
    let mut args = vec![
        "--target".to_owned(),
        "relay".into(),
        "--relay-url".into(),
        url.clone(),
        "--case".into(),
        "relay.CONF-12.1,relay.RLY-22.*,relay.TRN-03.*,relay.RLY-06.1".into(),
    ];
    for (name, value) in params.named() {
        args.extend(["--relay-param".into(), format!("{name}={value}")]);
    }
    let run = async |extra: &[&str], out: &str| {
        let output = Command::new(support::BIN)
            .args(&args)
            .args(extra)
            .args(["--out", dir.path().join(out).to_str().unwrap()])
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output();
        tokio::time::timeout(Duration::from_secs(120), output)
            .await
            .expect("the runner finishes in time")
            .unwrap()
    };

    let passed = run(&["--ca", ca.to_str().unwrap()], "with-ca").await;
    let text = String::from_utf8_lossy(&passed.stdout);
    assert!(passed.status.success(), "{text}");
    assert!(text.contains(&format!("running relay: {url}")), "{text}");
    assert!(text.contains(" 0 fail,"), "{text}");

    let refused = run(&[], "without-ca").await;
    let text = String::from_utf8_lossy(&refused.stdout);
    assert_eq!(refused.status.code(), Some(2), "{text}");
    assert!(text.contains("unknown issuer"), "{text}");

    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(20), relay)
        .await
        .expect("the relay stops")
        .unwrap()
        .unwrap();
}
