//! The relay serving `wss://` and `https://` with its own certificate (spec
//! §2.5), made at test time by a throwaway CA: `/healthz` and `/metrics`
//! over HTTPS, frames forwarded over `wss://`, and the TLS handshake
//! bounded by `SETUP_TIMEOUT` ([RLY-22]). Every wait is bounded; nothing
//! sleeps.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, RootCertStore};
use tandem_codec::envelope::{
    AttachRoute, Data, EnvelopeFrame, LinkOpened, RegisterRoute, RouteAttached, RouteProof,
};
use tandem_proto::random::SeededRandom;
use tandem_proto::{StaticKeypair, route_proof};
use tandem_relay::{RelayConfig, RunError, TlsConfig};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// The longest any test waits for one event.
const WAIT: Duration = Duration::from_secs(10);

/// A CA made for this test, and a relay certificate it issued for
/// `localhost` and `127.0.0.1`.
struct Pki {
    ca_der: rustls::pki_types::CertificateDer<'static>,
    cert_pem: String,
    key_pem: String,
}

fn pki() -> Pki {
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
    let mut leaf = CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    leaf.distinguished_name
        .push(DnType::CommonName, "Tandem test relay");
    let cert = leaf.signed_by(&key, &ca).unwrap();
    Pki {
        ca_der: ca.der().clone(),
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    }
}

/// A TLS relay on `127.0.0.1:0`.
struct Relay {
    addr: SocketAddr,
    connector: TlsConnector,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), RunError>>,
}

impl Relay {
    async fn start(config: RelayConfig) -> Relay {
        let pki = pki();
        let tls = TlsConfig::from_pem(pki.cert_pem.as_bytes(), pki.key_pem.as_bytes()).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(tandem_relay::run_tls(listener, config, tls, async move {
            let _ = stopped.await;
        }));
        let mut roots = RootCertStore::empty();
        roots.add(pki.ca_der).unwrap();
        let client =
            ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(roots)
                .with_no_client_auth();
        Relay {
            addr,
            connector: TlsConnector::from(Arc::new(client)),
            stop: Some(stop),
            task,
        }
    }

    /// A verified TLS connection to the relay, as `localhost`.
    async fn tls(&self) -> TlsStream<TcpStream> {
        let tcp = TcpStream::connect(self.addr).await.unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        tokio::time::timeout(WAIT, self.connector.connect(name, tcp))
            .await
            .expect("the TLS handshake finishes in time")
            .expect("the relay's certificate verifies")
    }

    /// An HTTPS GET; the status and the body.
    async fn get(&self, path: &str) -> (u16, String) {
        let mut stream = self.tls().await;
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let text = read_to_end(&mut stream).await;
        let status = text[9..12].parse().unwrap();
        let body = text.split_once("\r\n\r\n").unwrap().1.to_owned();
        (status, body)
    }

    /// A WebSocket over TLS offering `tandem.v1`.
    async fn websocket(&self) -> WebSocketStream<TlsStream<TcpStream>> {
        let stream = self.tls().await;
        let mut request = format!("wss://localhost:{}/tandem", self.addr.port())
            .into_client_request()
            .unwrap();
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", "tandem.v1".parse().unwrap());
        let (ws, response) = tokio_tungstenite::client_async(request, stream)
            .await
            .unwrap();
        assert_eq!(response.headers()["Sec-WebSocket-Protocol"], "tandem.v1");
        ws
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(WAIT, &mut self.task)
            .await
            .expect("run_tls returns after shutdown")
            .unwrap()
            .unwrap();
    }
}

/// Reads until the peer closes (a TLS peer may end without close_notify).
async fn read_to_end(stream: &mut (impl AsyncRead + Unpin)) -> String {
    let mut bytes = Vec::new();
    let _ = tokio::time::timeout(WAIT, stream.read_to_end(&mut bytes))
        .await
        .expect("the response ends in time");
    String::from_utf8(bytes).unwrap()
}

async fn send<S: AsyncRead + AsyncWrite + Unpin>(
    ws: &mut WebSocketStream<S>,
    frame: impl Into<EnvelopeFrame>,
) {
    let bytes = frame.into().to_bytes().unwrap();
    ws.send(Message::Binary(bytes)).await.unwrap();
}

async fn recv<S: AsyncRead + AsyncWrite + Unpin>(ws: &mut WebSocketStream<S>) -> EnvelopeFrame {
    loop {
        let message = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a frame arrives in time");
        match message {
            Some(Ok(Message::Binary(bytes))) => return EnvelopeFrame::decode(&bytes).unwrap(),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            other => panic!("expected a binary message, got {other:?}"),
        }
    }
}

fn config() -> RelayConfig {
    let mut config = RelayConfig::default();
    config.router.setup_timeout = Duration::from_secs(5);
    config.close_timeout = Duration::from_secs(3);
    config
}

#[tokio::test]
async fn healthz_and_metrics_answer_over_https() {
    let relay = Relay::start(config()).await;
    assert_eq!(relay.get("/healthz").await, (200, "ok\n".into()));
    let (status, metrics) = relay.get("/metrics").await;
    assert_eq!(status, 200);
    assert!(
        metrics.contains("tandem_relay_http_requests_total{path=\"/healthz\"} 1"),
        "{metrics}"
    );
    relay.stop().await;
}

#[tokio::test]
async fn frames_are_forwarded_over_wss_both_ways() {
    let relay = Relay::start(config()).await;
    let key = StaticKeypair::generate(&mut SeededRandom::new(11));
    let mut primary = relay.websocket().await;
    send(
        &mut primary,
        RegisterRoute {
            primary_key: key.public().0,
        },
    )
    .await;
    let EnvelopeFrame::RouteChallenge(challenge) = recv(&mut primary).await else {
        panic!("expected a RouteChallenge");
    };
    let mac = route_proof::prove(&key, &challenge.relay_ephemeral).unwrap();
    send(&mut primary, RouteProof { mac }).await;
    assert_eq!(recv(&mut primary).await, EnvelopeFrame::RouteRegistered);

    let mut companion = relay.websocket().await;
    send(
        &mut companion,
        AttachRoute {
            primary_key: key.public().0,
        },
    )
    .await;
    let EnvelopeFrame::RouteAttached(RouteAttached {
        link_id,
        primary_online: true,
    }) = recv(&mut companion).await
    else {
        panic!("expected RouteAttached online");
    };
    assert_eq!(recv(&mut primary).await, LinkOpened { link_id }.into());

    // The largest payload, both ways, byte for byte.
    let big: Bytes = (0..65_535u32).map(|i| (i % 251) as u8).collect();
    send(
        &mut companion,
        Data {
            link_id,
            payload: big.clone(),
        },
    )
    .await;
    assert_eq!(
        recv(&mut primary).await,
        Data {
            link_id,
            payload: big.clone()
        }
        .into()
    );
    send(
        &mut primary,
        Data {
            link_id,
            payload: Bytes::from_static(b"back"),
        },
    )
    .await;
    assert_eq!(
        recv(&mut companion).await,
        Data {
            link_id,
            payload: Bytes::from_static(b"back")
        }
        .into()
    );
    drop((primary, companion));
    relay.stop().await;
}

#[tokio::test]
async fn a_tls_handshake_that_never_finishes_is_cut_at_setup_timeout() {
    let mut config = config();
    config.router.setup_timeout = Duration::from_millis(300);
    let relay = Relay::start(config).await;
    // [RLY-22] Nothing at all, and half a ClientHello: both are dropped.
    let mut mute = TcpStream::connect(relay.addr).await.unwrap();
    assert_eq!(read_to_end(&mut mute).await, "");
    let mut half = TcpStream::connect(relay.addr).await.unwrap();
    half.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01])
        .await
        .unwrap();
    let mut rest = Vec::new();
    let n = tokio::time::timeout(WAIT, half.read_to_end(&mut rest))
        .await
        .expect("the relay drops the connection")
        .unwrap_or(0);
    assert_eq!(n, 0);
    // Plain HTTP on the TLS port is no TLS handshake: refused at once.
    let mut plain = TcpStream::connect(relay.addr).await.unwrap();
    plain
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(WAIT, plain.read_to_end(&mut answer))
        .await
        .expect("the relay drops the connection");
    assert!(!answer.starts_with(b"HTTP/1.1 200"));
    let (_, metrics) = relay.get("/metrics").await;
    assert!(
        metrics.contains("tandem_relay_refused_total{reason=\"setup_timeout\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("tandem_relay_refused_total{reason=\"tls_handshake\"} 1"),
        "{metrics}"
    );
    relay.stop().await;
}
