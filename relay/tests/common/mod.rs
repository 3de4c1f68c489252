//! Helpers for the relay's loopback tests: a relay on `127.0.0.1:0` with
//! short timers, a WebSocket client that speaks envelope frames, and a raw
//! TCP client for what a well-behaved WebSocket library cannot send. Every
//! wait is for an event, bounded by [`WAIT`]; nothing sleeps.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tandem_codec::Code;
use tandem_codec::envelope::{EnvelopeFrame, RegisterRoute, RouteProof};
use tandem_proto::{StaticKeypair, route_proof};
use tandem_relay::{RelayConfig, RunError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

/// The longest any test waits for one event.
pub const WAIT: Duration = Duration::from_secs(10);

/// Test settings: the spec's limits, with timers short enough to be
/// tested but long enough not to fire by accident.
pub fn config() -> RelayConfig {
    let mut config = RelayConfig::default();
    config.router.setup_timeout = Duration::from_secs(5);
    config.router.idle_timeout = Duration::from_secs(30);
    config.close_timeout = Duration::from_secs(3);
    config.shutdown_grace = Duration::from_secs(5);
    config
}

/// Where a relay listens.
pub trait Target {
    fn addr(&self) -> SocketAddr;
    fn url(&self) -> String {
        format!("ws://{}/tandem", self.addr())
    }
}

impl Target for SocketAddr {
    fn addr(&self) -> SocketAddr {
        *self
    }
}

impl Target for Relay {
    fn addr(&self) -> SocketAddr {
        self.addr
    }
}

/// A relay running in this test's runtime.
pub struct Relay {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), RunError>>,
}

impl Relay {
    pub async fn start(config: RelayConfig) -> Relay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(tandem_relay::run(listener, config, async move {
            let _ = stopped.await;
        }));
        Relay {
            addr,
            stop: Some(stop),
            task,
        }
    }

    /// Asks for a graceful shutdown without waiting for it.
    pub fn signal_stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Shuts down and waits for `run` to return.
    pub async fn stop(mut self) {
        self.signal_stop();
        tokio::time::timeout(WAIT, &mut self.task)
            .await
            .expect("run returns after shutdown")
            .unwrap()
            .unwrap();
    }

    /// A plain HTTP GET; returns the status code and the body.
    pub async fn get(&self, path: &str) -> (u16, String) {
        http_exchange(
            self.addr,
            &format!("GET {path} HTTP/1.1\r\nHost: relay\r\nConnection: close\r\n\r\n"),
        )
        .await
    }

    /// The value of one metric sample line (`name{labels} value`).
    pub async fn metric(&self, sample: &str) -> Option<f64> {
        let (_, body) = self.get("/metrics").await;
        body.lines()
            .find_map(|line| line.strip_prefix(sample)?.strip_prefix(' ')?.parse().ok())
    }
}

/// Sends a raw HTTP request and reads the response to the end.
pub async fn http_exchange(addr: SocketAddr, request: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut response))
        .await
        .expect("the response ends")
        .unwrap();
    let text = String::from_utf8(response).unwrap();
    let status = text[9..12].parse().unwrap();
    let body = text.split_once("\r\n\r\n").unwrap().1.to_owned();
    (status, body)
}

/// A TCP connection from `127.0.0.<host>`, so that tests can act as
/// different client addresses.
pub async fn tcp_from(addr: SocketAddr, host: u8) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::new(
            IpAddr::V4(Ipv4Addr::new(127, 0, 0, host)),
            0,
        ))
        .unwrap();
    socket.connect(addr).await.unwrap()
}

/// How a client's connection ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    /// A Close frame with this code.
    Close(u16),
    /// The TCP connection ended without one.
    NoClose,
}

/// A client speaking envelope frames over a real WebSocket.
pub struct Client {
    pub ws: WebSocketStream<TcpStream>,
}

impl Client {
    pub async fn connect(relay: &impl Target) -> Client {
        Self::connect_from(relay, 1).await
    }

    pub async fn connect_from(relay: &impl Target, host: u8) -> Client {
        let stream = tcp_from(relay.addr(), host).await;
        Self::over(relay, stream).await
    }

    pub async fn over(relay: &impl Target, stream: TcpStream) -> Client {
        let mut request = relay.url().into_client_request().unwrap();
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", "tandem.v1".parse().unwrap());
        let config = WebSocketConfig::default().max_message_size(Some(1 << 20));
        let (ws, response) =
            tokio_tungstenite::client_async_with_config(request, stream, Some(config))
                .await
                .unwrap();
        assert_eq!(
            response.headers()["Sec-WebSocket-Protocol"],
            "tandem.v1",
            "[TRN-02] the relay selects tandem.v1"
        );
        Client { ws }
    }

    pub async fn send(&mut self, frame: impl Into<EnvelopeFrame>) {
        let bytes = frame.into().to_bytes().unwrap();
        self.send_bytes(bytes).await;
    }

    pub async fn send_bytes(&mut self, bytes: impl Into<Bytes>) {
        self.ws.send(Message::Binary(bytes.into())).await.unwrap();
    }

    /// The next envelope frame; panics on a close or after [`WAIT`].
    pub async fn recv(&mut self) -> EnvelopeFrame {
        let bytes = self.recv_bytes().await;
        EnvelopeFrame::decode(&bytes).unwrap()
    }

    /// The next binary message, as sent.
    pub async fn recv_bytes(&mut self) -> Bytes {
        loop {
            let message = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("a frame arrives in time");
            match message {
                Some(Ok(Message::Binary(bytes))) => return bytes,
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                other => panic!("expected a binary message, got {other:?}"),
            }
        }
    }

    /// Reads until the connection ends; returns how, and the frames that
    /// came before.
    pub async fn ended(&mut self) -> (Ended, Vec<EnvelopeFrame>) {
        let mut frames = Vec::new();
        loop {
            let message = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("the connection ends in time");
            match message {
                Some(Ok(Message::Binary(bytes))) => {
                    frames.push(EnvelopeFrame::decode(&bytes).unwrap())
                }
                Some(Ok(Message::Close(frame))) => {
                    let code = frame.map(|f| u16::from(f.code)).unwrap_or(1005);
                    // Sends tungstenite's echo, so the relay need not wait.
                    let _ = self.ws.flush().await;
                    return (Ended::Close(code), frames);
                }
                Some(Ok(_)) => {}
                Some(Err(WsError::ConnectionClosed | WsError::AlreadyClosed)) | None => {
                    return (Ended::NoClose, frames);
                }
                Some(Err(_)) => return (Ended::NoClose, frames),
            }
        }
    }

    /// Expects the relay to close with `code`; returns the frames before.
    pub async fn expect_close(&mut self, code: Code) -> Vec<EnvelopeFrame> {
        let (ended, frames) = self.ended().await;
        assert_eq!(ended, Ended::Close(code.0), "frames before: {frames:?}");
        frames
    }

    /// Registers `identity`'s route with a real proof ([RLY-07], [RLY-08]).
    pub async fn register(&mut self, identity: &StaticKeypair) {
        self.send(RegisterRoute {
            primary_key: identity.public().0,
        })
        .await;
        let EnvelopeFrame::RouteChallenge(challenge) = self.recv().await else {
            panic!("expected a RouteChallenge");
        };
        let mac = route_proof::prove(identity, &challenge.relay_ephemeral).unwrap();
        self.send(RouteProof { mac }).await;
        assert_eq!(self.recv().await, EnvelopeFrame::RouteRegistered);
    }
}

/// A WebSocket client written by hand over TCP, for frames no library
/// sends: fragments, unmasked frames, oversized headers.
pub struct RawClient {
    pub stream: TcpStream,
}

impl RawClient {
    /// Connects and completes the upgrade offering `tandem.v1`.
    pub async fn connect(relay: &impl Target, host: u8) -> RawClient {
        let mut stream = tcp_from(relay.addr(), host).await;
        let request = "GET / HTTP/1.1\r\nHost: relay\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                       Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
                       Sec-WebSocket-Protocol: tandem.v1\r\n\r\n";
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            let mut byte = [0u8; 1];
            tokio::time::timeout(WAIT, stream.read_exact(&mut byte))
                .await
                .unwrap()
                .unwrap();
            head.push(byte[0]);
        }
        assert!(
            head.starts_with(b"HTTP/1.1 101 "),
            "{}",
            String::from_utf8_lossy(&head)
        );
        RawClient { stream }
    }

    /// Writes one WebSocket frame header and payload (masked unless
    /// `masked` is false).
    pub async fn frame(&mut self, fin: bool, opcode: u8, payload: &[u8], masked: bool) {
        let mut out = vec![if fin { 0x80 } else { 0 } | opcode];
        let mask_bit = if masked { 0x80 } else { 0 };
        match payload.len() {
            n if n < 126 => out.push(mask_bit | n as u8),
            n if n < 65_536 => {
                out.push(mask_bit | 126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                out.push(mask_bit | 127);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        if masked {
            // A zero mask leaves the payload as is.
            out.extend_from_slice(&[0; 4]);
        }
        out.extend_from_slice(payload);
        let _ = self.stream.write_all(&out).await;
    }

    /// Reads frames until a Close frame; returns its code, or `None` when
    /// the TCP connection ends first.
    pub async fn close_code(&mut self) -> Option<u16> {
        let mut buf = Vec::new();
        loop {
            // Parse what is buffered.
            while buf.len() >= 2 {
                let opcode = buf[0] & 0x0F;
                let (len, start) = match buf[1] & 0x7F {
                    126 if buf.len() >= 4 => (u16::from_be_bytes([buf[2], buf[3]]) as usize, 4),
                    127 if buf.len() >= 10 => (
                        u64::from_be_bytes(buf[2..10].try_into().unwrap()) as usize,
                        10,
                    ),
                    126 | 127 => break,
                    n => (n as usize, 2),
                };
                if buf.len() < start + len {
                    break;
                }
                if opcode == 0x8 {
                    return (len >= 2).then(|| u16::from_be_bytes([buf[start], buf[start + 1]]));
                }
                buf.drain(..start + len);
            }
            let mut chunk = [0u8; 4096];
            let n = tokio::time::timeout(WAIT, self.stream.read(&mut chunk))
                .await
                .expect("the relay answers in time")
                .unwrap_or(0);
            if n == 0 {
                return None;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
    }
}
