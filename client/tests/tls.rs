//! The driver over `wss://` on loopback (spec §2.5, [TRN-08], [TRN-09]): a
//! relay with a certificate from a CA made at test time is reached when
//! that CA is given (`--ca FILE`), and refused with an error that names the
//! problem otherwise: unknown issuer, name mismatch, expired.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use tandem_client::{
    CertificateProblem, Clock, ConnectError, DriverConfig, DriverEvent, TlsTransport,
};
use tandem_proto::StaticKeypair;
use tandem_proto::primary::{Primary, PrimaryConfig, PrimaryEvent};
use tandem_proto::random::SeededRandom;
use tandem_proto::store::MemoryStore;
use tandem_relay::{RelayConfig, TlsConfig};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

const WAIT: Duration = Duration::from_secs(20);

/// A throwaway CA.
struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Ca {
    fn new() -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "Tandem test CA");
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        Self {
            issuer: CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap(),
        }
    }

    fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A relay certificate for `names`, valid now unless `expired`.
    fn relay(&self, names: &[&str], expired: bool) -> TlsConfig {
        let key = KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "Tandem test relay");
        if expired {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        TlsConfig::from_pem(cert.pem().as_bytes(), key.serialize_pem().as_bytes()).unwrap()
    }
}

/// A TLS relay on loopback; its port, and the sender that stops it.
async fn relay(tls: TlsConfig) -> (u16, oneshot::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(tandem_relay::run_tls(
        listener,
        RelayConfig::default(),
        tls,
        async move {
            let _ = stopped.await;
        },
    ));
    (port, stop)
}

fn primary() -> Primary<MemoryStore> {
    let identity = StaticKeypair::generate(&mut SeededRandom::new(1));
    Primary::new(PrimaryConfig::default(), identity, MemoryStore::new(1))
}

/// Connects a primary once; `Ok` when its route is registered (a full
/// round trip over TLS), the connection error otherwise.
async fn connect(config: DriverConfig) -> Result<(), ConnectError> {
    let (handle, mut events, _driver) = tandem_client::spawn(primary(), config, Clock::start());
    let result = tokio::time::timeout(WAIT, async {
        loop {
            match events.recv().await.expect("the driver reports") {
                DriverEvent::Machine(PrimaryEvent::RouteRegistered) => return Ok(()),
                DriverEvent::ConnectFailed { error, .. } => return Err(error),
                _ => {}
            }
        }
    })
    .await
    .expect("the driver connects or fails in time");
    handle.shutdown().await;
    result
}

#[tokio::test]
async fn a_relay_signed_by_the_extra_ca_is_reached() {
    let ca = Ca::new();
    let (port, _stop) = relay(ca.relay(&["localhost", "127.0.0.1"], false)).await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();
    let transport = Arc::new(TlsTransport::with_ca_file(&ca_file).unwrap());
    for url in [
        format!("wss://127.0.0.1:{port}"),
        format!("wss://localhost:{port}/tandem"),
    ] {
        connect(DriverConfig::once(&url).with_transport(transport.clone()))
            .await
            .unwrap_or_else(|err| panic!("{url}: {err}"));
    }
    // The same CA given as PEM text.
    let transport = Arc::new(TlsTransport::with_ca_pem(ca.pem().as_bytes()).unwrap());
    connect(DriverConfig::once(format!("wss://127.0.0.1:{port}")).with_transport(transport))
        .await
        .unwrap();
}

#[tokio::test]
async fn without_the_ca_the_certificate_is_refused_as_unknown_issuer() {
    let ca = Ca::new();
    let (port, _stop) = relay(ca.relay(&["localhost", "127.0.0.1"], false)).await;
    // The default transport trusts the webpki roots only.
    let err = connect(DriverConfig::once(format!("wss://127.0.0.1:{port}")))
        .await
        .unwrap_err();
    let ConnectError::Certificate { host, problem } = &err else {
        panic!("expected a certificate error, got {err:?}");
    };
    assert_eq!(host, "127.0.0.1");
    assert_eq!(problem, &CertificateProblem::UnknownIssuer);
    let text = err.to_string();
    assert!(
        text.contains("unknown issuer") && text.contains("--ca"),
        "{text}"
    );
}

#[tokio::test]
async fn a_certificate_for_another_name_is_refused_as_name_mismatch() {
    let ca = Ca::new();
    let (port, _stop) = relay(ca.relay(&["relay.test"], false)).await;
    let transport = Arc::new(TlsTransport::with_ca_pem(ca.pem().as_bytes()).unwrap());
    let err =
        connect(DriverConfig::once(format!("wss://127.0.0.1:{port}")).with_transport(transport))
            .await
            .unwrap_err();
    let ConnectError::Certificate {
        problem: CertificateProblem::NameMismatch { host, presented },
        ..
    } = &err
    else {
        panic!("expected a name mismatch, got {err:?}");
    };
    assert_eq!(host, "127.0.0.1");
    assert!(
        presented.iter().any(|name| name.contains("relay.test")),
        "{presented:?}"
    );
    assert!(err.to_string().contains("name mismatch"), "{err}");
}

#[tokio::test]
async fn an_expired_certificate_is_refused_as_expired() {
    let ca = Ca::new();
    let (port, _stop) = relay(ca.relay(&["127.0.0.1"], true)).await;
    let transport = Arc::new(TlsTransport::with_ca_pem(ca.pem().as_bytes()).unwrap());
    let err =
        connect(DriverConfig::once(format!("wss://127.0.0.1:{port}")).with_transport(transport))
            .await
            .unwrap_err();
    assert!(
        matches!(
            err,
            ConnectError::Certificate {
                problem: CertificateProblem::Expired,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("expired"), "{err}");
}

#[tokio::test]
async fn a_plain_server_behind_wss_is_a_tls_error_not_a_hang() {
    // A ws:// relay given a wss:// URL: it waits for a request head that
    // never comes and drops the connection at SETUP_TIMEOUT.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (_stop, stopped) = oneshot::channel::<()>();
    let mut config = RelayConfig::default();
    config.router.setup_timeout = Duration::from_millis(200);
    tokio::spawn(tandem_relay::run(listener, config, async move {
        let _ = stopped.await;
    }));
    let err = connect(DriverConfig::once(format!("wss://127.0.0.1:{port}")))
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectError::Tls { .. }), "{err:?}");
    assert!(err.to_string().contains("does it serve TLS"), "{err}");
}
