//! The driver over real loopback sockets (spec §2, §5.4): the core machines
//! paired and synced through the relay, reconnect with backoff, the
//! subprotocol insisted on ([TRN-01]), text and oversized messages closed.

#![allow(clippy::unwrap_used, clippy::result_large_err)]

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tandem_client::{Clock, ConnectError, DriverConfig, DriverEvent, Events, Machine};
use tandem_codec::Code;
use tandem_proto::StaticKeypair;
use tandem_proto::companion::pairing::{Pairing, PairingConfig, PairingEvent};
use tandem_proto::companion::{Companion, CompanionConfig, CompanionEvent};
use tandem_proto::primary::{Confirmation, Primary, PrimaryConfig, PrimaryEvent};
use tandem_proto::random::SeededRandom;
use tandem_proto::store::MemoryStore;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Message;

const WAIT: Duration = Duration::from_secs(20);

async fn relay_on(listener: TcpListener) -> oneshot::Sender<()> {
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(tandem_relay::run(
        listener,
        tandem_relay::RelayConfig::default(),
        async move {
            let _ = stopped.await;
        },
    ));
    stop
}

async fn next<E: std::fmt::Debug, T>(
    events: &mut Events<E>,
    what: &str,
    mut pick: impl FnMut(&DriverEvent<E>) -> Option<T>,
) -> T {
    tokio::time::timeout(WAIT, async {
        loop {
            let event = events
                .recv()
                .await
                .unwrap_or_else(|| panic!("no more events before {what}"));
            if let Some(found) = pick(&event) {
                return found;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

fn machine<E>(event: &DriverEvent<E>) -> Option<&E> {
    match event {
        DriverEvent::Machine(event) => Some(event),
        _ => None,
    }
}

fn primary(seed: u64) -> Primary<MemoryStore> {
    let identity = StaticKeypair::generate(&mut SeededRandom::new(seed));
    let mut primary = Primary::new(PrimaryConfig::default(), identity, MemoryStore::new(seed));
    primary
        .add_contact(tandem_proto::Instant::ZERO, "Bob")
        .unwrap();
    primary
}

#[tokio::test]
async fn the_core_machines_pair_and_sync_through_the_real_relay() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    let _stop = relay_on(listener).await;

    let (phone, mut phone_events, _phone_driver) =
        tandem_client::spawn(primary(1), DriverConfig::new(&url), Clock::start());
    next(&mut phone_events, "route", |e| {
        matches!(machine(e), Some(PrimaryEvent::RouteRegistered)).then_some(())
    })
    .await;

    let config = PairingConfig {
        relay_url: url.clone(),
        device_name: "Test companion".into(),
        ..PairingConfig::default()
    };
    let identity = StaticKeypair::generate(&mut SeededRandom::new(2));
    let pairing = Pairing::new(config, identity, Box::new(SeededRandom::new(3)));
    let (_pairing, mut pairing_events, pairing_driver) =
        tandem_client::spawn(pairing, DriverConfig::once(&url), Clock::start());
    let qr = next(&mut pairing_events, "code", |e| match machine(e) {
        Some(PairingEvent::ShowCode { qr, .. }) => Some(qr.clone()),
        _ => None,
    })
    .await;
    phone
        .call(move |p, now| p.link(now, qr))
        .await
        .unwrap()
        .unwrap();
    let link_id = next(&mut phone_events, "confirm", |e| match machine(e) {
        Some(PrimaryEvent::ConfirmPairing { link_id, .. }) => Some(*link_id),
        _ => None,
    })
    .await;
    phone
        .call(move |p, now| p.confirm_pairing(now, link_id, Confirmation::Accept))
        .await
        .unwrap()
        .unwrap();
    let credentials = next(&mut pairing_events, "paired", |e| match machine(e) {
        Some(PairingEvent::Paired(credentials)) => Some(credentials.clone()),
        _ => None,
    })
    .await;
    // A finished pairing stops its driver by itself.
    let pairing = tokio::time::timeout(WAIT, pairing_driver.join())
        .await
        .unwrap()
        .unwrap();
    assert!(pairing.is_finished());

    let companion = Companion::new(
        CompanionConfig::default(),
        credentials,
        Box::new(SeededRandom::new(4)),
    );
    let (_companion, mut companion_events, _driver) =
        tandem_client::spawn(companion, DriverConfig::new(&url), Clock::start());
    next(&mut companion_events, "synced", |e| {
        matches!(machine(e), Some(CompanionEvent::Synced { .. })).then_some(())
    })
    .await;
}

#[tokio::test]
async fn the_driver_reconnects_with_backoff_when_the_relay_comes_back() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address: SocketAddr = listener.local_addr().unwrap();
    let url = format!("ws://{address}");
    let stop = relay_on(listener).await;
    let config = DriverConfig {
        backoff_base: Duration::from_millis(20),
        backoff_max: Duration::from_millis(200),
        ..DriverConfig::new(&url)
    };
    let (_phone, mut events, _driver) = tandem_client::spawn(primary(5), config, Clock::start());
    next(&mut events, "route", |e| {
        matches!(machine(e), Some(PrimaryEvent::RouteRegistered)).then_some(())
    })
    .await;

    // The relay shuts down: 1001 going_away, then refused connections with
    // growing, jittered delays ([RECON-09]).
    let _ = stop.send(());
    let code = next(&mut events, "disconnect", |e| match e {
        DriverEvent::Disconnected { code, .. } => Some(*code),
        _ => None,
    })
    .await;
    assert_eq!(code, Code::GOING_AWAY);
    let mut delays = Vec::new();
    while delays.len() < 3 {
        let delay = next(&mut events, "a failed attempt", |e| match e {
            DriverEvent::ConnectFailed { retry_in, .. } => Some(retry_in.unwrap()),
            _ => None,
        })
        .await;
        assert!(delay <= Duration::from_millis(200));
        delays.push(delay);
    }

    // Back on the same port: the driver finds it and registers again.
    let listener = TcpListener::bind(address).await.unwrap();
    let _stop = relay_on(listener).await;
    next(&mut events, "route again", |e| {
        matches!(machine(e), Some(PrimaryEvent::RouteRegistered)).then_some(())
    })
    .await;
}

/// Answers one upgrade with `response` written raw, then hangs up.
async fn raw_http_server(response: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 1024];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut buf).await.unwrap();
            if n == 0 {
                return;
            }
            request.extend_from_slice(&buf[..n]);
        }
        stream.write_all(response.as_bytes()).await.unwrap();
        stream.shutdown().await.unwrap();
    });
    url
}

#[tokio::test]
async fn a_relay_that_does_not_select_the_subprotocol_is_refused() {
    let url = raw_http_server(
        "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Length: 21\r\nConnection: close\r\n\r\nsupported: tandem.v9\n",
    )
    .await;
    let (_h, mut events, driver) =
        tandem_client::spawn(primary(6), DriverConfig::once(&url), Clock::start());
    let error = next(&mut events, "refusal", |e| match e {
        DriverEvent::ConnectFailed { error, retry_in } => {
            assert_eq!(*retry_in, None, "a one-shot driver does not retry");
            Some(error.to_string())
        }
        _ => None,
    })
    .await;
    assert!(error.contains("400"), "{error}");
    assert!(error.contains("supported: tandem.v9"), "{error}");
    driver.join().await.unwrap();

    // A 101 without the subprotocol fails the connection ([TRN-01]).
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let _ = tokio_tungstenite::accept_async(stream).await;
    });
    let (_h, mut events, _driver) =
        tandem_client::spawn(primary(7), DriverConfig::once(&url), Clock::start());
    let error = next(&mut events, "no subprotocol", |e| match e {
        DriverEvent::ConnectFailed { error, .. } => {
            Some(matches!(error, ConnectError::Subprotocol(_)))
        }
        _ => None,
    })
    .await;
    assert!(error);
}

/// A server that accepts with `tandem.v1` and sends `message` once the
/// client spoke; returns the close code the client sent.
async fn misbehaving_server(message: Message) -> (String, oneshot::Receiver<Option<u16>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    let (tx, rx) = oneshot::channel();
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let callback = |_: &tokio_tungstenite::tungstenite::handshake::server::Request,
                        mut response: tokio_tungstenite::tungstenite::handshake::server::Response| {
            response
                .headers_mut()
                .insert("Sec-WebSocket-Protocol", "tandem.v1".parse().unwrap());
            Ok(response)
        };
        let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default();
        let mut ws =
            tokio_tungstenite::accept_hdr_async_with_config(stream, callback, Some(config))
                .await
                .unwrap();
        // The primary registers its route first.
        let _ = ws.next().await;
        ws.send(message).await.unwrap();
        let mut code = None;
        while let Some(Ok(frame)) = ws.next().await {
            if let Message::Close(Some(close)) = frame {
                code = Some(u16::from(close.code));
            }
        }
        let _ = tx.send(code);
    });
    (url, rx)
}

#[tokio::test]
async fn text_and_oversized_messages_close_the_connection() {
    for (message, expected) in [
        (Message::text("hello"), Code::UNSUPPORTED_DATA),
        (Message::binary(vec![0x0E; 70_000]), Code::MESSAGE_TOO_BIG),
    ] {
        let (url, closed) = misbehaving_server(message).await;
        let (_h, mut events, _driver) =
            tandem_client::spawn(primary(8), DriverConfig::once(&url), Clock::start());
        let code = next(&mut events, "disconnect", |e| match e {
            DriverEvent::Disconnected { code, .. } => Some(*code),
            _ => None,
        })
        .await;
        assert_eq!(code, expected);
        let sent = tokio::time::timeout(WAIT, closed).await.unwrap().unwrap();
        assert_eq!(sent, Some(expected.0));
    }
}
