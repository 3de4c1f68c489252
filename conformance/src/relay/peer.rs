//! One of the runner's WebSocket clients against a relay (spec §2, §3): it
//! offers `tandem.v1`, sends envelope frames built with the codec (or any
//! bytes), and waits for frames, closes and silences with time limits,
//! logging everything to the case's wire log with the frames' JSON forms.
//! Long waits send envelope Pings, so that only the cases about idleness
//! let a connection go idle. A `wss://` relay is reached over TLS, its
//! certificate verified (§2.5, [TRN-09]; `--ca` adds a private CA).

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tandem_client::{Target, TlsTransport};
use tandem_codec::Code;
use tandem_codec::envelope::{EnvelopeFrame, Ping};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use crate::case::Failure;
use crate::wirelog::{Direction, EntryKind, Log};

/// The subprotocol of version 1 (§2.2).
pub const SUBPROTOCOL: &str = "tandem.v1";

/// What arrived.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// An envelope frame.
    Frame(EnvelopeFrame),
    /// A binary message that does not decode.
    Undecodable(Bytes, String),
    /// A text message.
    Text(String),
    /// A Close frame, with its code if it had one.
    Close(Option<u16>, String),
    /// The connection ended without a Close frame.
    Ended(String),
}

impl Event {
    /// For "expected … / actual …".
    pub fn describe(&self) -> String {
        match self {
            Self::Frame(f) => describe(f),
            Self::Undecodable(b, e) => format!("an undecodable message of {} bytes ({e})", b.len()),
            Self::Text(t) => format!("a text message `{}`", crate::codec::check::shorten(t)),
            Self::Close(Some(code), reason) => format!(
                "a Close frame with code {code}{}{}",
                code_name(*code),
                reason_text(reason)
            ),
            Self::Close(None, _) => "a Close frame without a code".to_owned(),
            Self::Ended(why) => format!("the end of the connection without a Close frame ({why})"),
        }
    }
}

fn reason_text(reason: &str) -> String {
    if reason.is_empty() {
        String::new()
    } else {
        format!(" (\"{reason}\")")
    }
}

/// ` (name)` for a known code.
pub fn code_name(code: u16) -> String {
    Code(code)
        .name()
        .map(|n| format!(" {n}"))
        .unwrap_or_default()
}

/// A frame for people: its name and JSON form.
pub fn describe(frame: &EnvelopeFrame) -> String {
    let json = serde_json::to_string(frame).unwrap_or_default();
    format!("{} {}", frame.name(), crate::codec::check::shorten(&json))
}

/// How to open a connection.
#[derive(Clone, Debug)]
pub struct Connect {
    /// Subprotocols offered, in order; empty offers none.
    pub protocols: Vec<String>,
    /// Extra request headers.
    pub headers: Vec<(String, String)>,
    /// The last byte of a 127.0.0.x source address, to pose as another
    /// client address on loopback; `None` lets the system choose.
    pub source: Option<u8>,
}

impl Default for Connect {
    fn default() -> Self {
        Self {
            protocols: vec![SUBPROTOCOL.to_owned()],
            headers: Vec::new(),
            source: None,
        }
    }
}

/// A connected client.
pub struct Peer {
    name: String,
    ws: WebSocketStream<Stream>,
    log: Log,
    keepalive: Option<Duration>,
    last_sent: Instant,
    keepalive_nonces: HashSet<u64>,
    next_nonce: u64,
    ended: bool,
    /// When the TCP connection was opened.
    pub opened_at: Instant,
}

/// A connection to the relay: TCP, or TLS over TCP for `wss://`.
pub type Stream = Box<dyn tandem_client::Io>;

/// The runner's TLS trust: the webpki roots, plus `--ca` when given.
static TLS: OnceLock<TlsTransport> = OnceLock::new();

/// Trusts the CA certificates of the PEM file `path` for `wss://` relays,
/// beside the webpki roots (`--ca`); once per process, before any case.
pub fn trust_ca(path: &Path) -> Result<(), String> {
    let tls = TlsTransport::with_ca_file(path).map_err(|e| e.to_string())?;
    TLS.set(tls)
        .map_err(|_| "the runner's TLS trust was already set".to_owned())
}

fn tls() -> Result<&'static TlsTransport, Failure> {
    if let Some(tls) = TLS.get() {
        return Ok(tls);
    }
    let tls = TlsTransport::new().map_err(|e| Failure::harness("TLS", e.to_string()))?;
    Ok(TLS.get_or_init(|| tls))
}

/// Opens the connection to the relay of `url` (from 127.0.0.`source` as
/// [`tcp`] does), with TLS for `wss://`; the relay's address with it.
pub async fn open(url: &str, source: Option<u8>) -> Result<(Stream, SocketAddr), Failure> {
    let target = Target::parse(url)
        .map_err(|e| Failure::harness("a ws:// or wss:// relay URL", e.to_string()))?;
    let address = resolve(url).await?;
    let stream = tcp(address, source).await?;
    let _ = stream.set_nodelay(true);
    let stream = tls()?.secure(stream, &target).await.map_err(|e| {
        Failure::harness(
            format!("a TLS connection to `{url}` (--ca FILE trusts a private CA)"),
            e.to_string(),
        )
    })?;
    Ok((stream, address))
}

/// Resolves `ws://host:port/path` or `wss://...` to a socket address.
pub async fn resolve(url: &str) -> Result<SocketAddr, Failure> {
    let (rest, port) = match (url.strip_prefix("ws://"), url.strip_prefix("wss://")) {
        (Some(rest), _) => (rest, 80),
        (_, Some(rest)) => (rest, 443),
        _ => {
            return Err(Failure::harness(
                "a ws:// or wss:// relay URL",
                format!("`{url}` is neither"),
            ));
        }
    };
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let with_port = match authority.strip_prefix('[') {
        Some(v6) if v6.contains("]:") => authority.to_owned(),
        Some(_) => format!("{authority}:{port}"),
        None if authority.contains(':') => authority.to_owned(),
        None => format!("{authority}:{port}"),
    };
    let mut addresses = tokio::net::lookup_host(&with_port)
        .await
        .map_err(|e| Failure::harness(format!("the address of `{url}`"), e.to_string()))?;
    addresses
        .next()
        .ok_or_else(|| Failure::harness(format!("the address of `{url}`"), "no address"))
}

/// Opens a TCP connection, from 127.0.0.`source` when given and the
/// relay is on IPv4 loopback.
pub async fn tcp(address: SocketAddr, source: Option<u8>) -> Result<TcpStream, Failure> {
    let harness = |e: std::io::Error| {
        Failure::harness(format!("a TCP connection to {address}"), e.to_string())
    };
    match (source, address.ip()) {
        (Some(host), IpAddr::V4(ip)) if ip.is_loopback() => {
            let socket = TcpSocket::new_v4().map_err(harness)?;
            socket
                .bind(SocketAddr::new(
                    IpAddr::V4(Ipv4Addr::new(127, 0, 0, host)),
                    0,
                ))
                .map_err(harness)?;
            socket.connect(address).await.map_err(harness)
        }
        _ => TcpStream::connect(address).await.map_err(harness),
    }
}

impl Peer {
    /// Connects to `url`, offering `tandem.v1`, and checks that the relay
    /// selected it ([TRN-02]).
    pub async fn connect(
        name: String,
        url: &str,
        log: &Log,
        options: Connect,
        keepalive: Option<Duration>,
    ) -> Result<Self, Failure> {
        let opened_at = Instant::now();
        let (stream, _) = open(url, options.source).await?;
        let mut request = url.into_client_request().map_err(|e| {
            Failure::harness(format!("a WebSocket request for `{url}`"), e.to_string())
        })?;
        if !options.protocols.is_empty() {
            let value = HeaderValue::from_str(&options.protocols.join(", "))
                .map_err(|e| Failure::harness("a Sec-WebSocket-Protocol header", e.to_string()))?;
            request
                .headers_mut()
                .insert("Sec-WebSocket-Protocol", value);
        }
        for (name, value) in &options.headers {
            let value = HeaderValue::from_str(value)
                .map_err(|e| Failure::harness("a request header", e.to_string()))?;
            if let Ok(name) =
                tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(name.as_bytes())
            {
                request.headers_mut().append(name, value);
            }
        }
        let head: Vec<String> = request
            .headers()
            .iter()
            .map(|(k, v)| format!("{k}: {}", v.to_str().unwrap_or("?")))
            .collect();
        log.event(
            &name,
            EntryKind::Http,
            Direction::Sent,
            format!("GET {}\n{}", request.uri(), head.join("\n")),
        );
        let config = WebSocketConfig::default()
            .max_message_size(Some(1 << 20))
            .max_frame_size(Some(1 << 20));
        let expected = format!("a 101 response selecting {SUBPROTOCOL} [TRN-02]");
        let (ws, response) = match tokio_tungstenite::client_async_with_config(
            request,
            stream,
            Some(config),
        )
        .await
        {
            Ok(ok) => ok,
            Err(WsError::Http(response)) => {
                let body = response
                    .body()
                    .as_deref()
                    .map(String::from_utf8_lossy)
                    .unwrap_or_default()
                    .into_owned();
                log.event(
                    &name,
                    EntryKind::Http,
                    Direction::Received,
                    format!("{} {body}", response.status()),
                );
                return Err(Failure::fail(
                    expected,
                    format!("HTTP {} {body}", response.status()),
                ));
            }
            Err(e) => {
                log.event(
                    &name,
                    EntryKind::Http,
                    Direction::Received,
                    format!("the upgrade failed: {e}"),
                );
                return Err(Failure::fail(expected, format!("the upgrade failed: {e}")));
            }
        };
        let head: Vec<String> = response
            .headers()
            .iter()
            .map(|(k, v)| format!("{k}: {}", v.to_str().unwrap_or("?")))
            .collect();
        log.event(
            &name,
            EntryKind::Http,
            Direction::Received,
            format!("{}\n{}", response.status(), head.join("\n")),
        );
        Ok(Self {
            name,
            ws,
            log: log.clone(),
            keepalive,
            last_sent: Instant::now(),
            keepalive_nonces: HashSet::new(),
            next_nonce: 0x4B45_4550_0000_0000,
            ended: false,
            opened_at,
        })
    }

    /// Its name in the wire log.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Stops the automatic Pings of long waits (for cases about idleness).
    pub fn no_keepalive(&mut self) {
        self.keepalive = None;
    }

    fn closed(&self, what: &str, error: &WsError) -> Failure {
        Failure::fail(
            format!("{} to be able to send {what}", self.name),
            format!("the connection is closed ({error})"),
        )
    }

    /// Sends an envelope frame.
    pub async fn send(&mut self, frame: impl Into<EnvelopeFrame>) -> Result<(), Failure> {
        let frame = frame.into();
        let bytes = frame
            .to_bytes()
            .map_err(|e| Failure::harness("a frame that encodes", e.to_string()))?;
        self.log.bytes(
            &self.name,
            EntryKind::Frame,
            Direction::Sent,
            &bytes,
            serde_json::to_value(&frame).ok(),
            frame.name(),
        );
        self.write(Message::Binary(bytes), frame.name()).await
    }

    /// Sends any bytes as one binary message (a malformed frame, an
    /// oversized message).
    pub async fn send_bytes(&mut self, bytes: Vec<u8>, what: &str) -> Result<(), Failure> {
        let bytes = Bytes::from(bytes);
        let decoded = EnvelopeFrame::decode(&bytes)
            .ok()
            .and_then(|f| serde_json::to_value(f).ok());
        self.log.bytes(
            &self.name,
            EntryKind::Frame,
            Direction::Sent,
            &bytes,
            decoded,
            what,
        );
        self.write(Message::Binary(bytes), what).await
    }

    /// Sends a text message.
    pub async fn send_text(&mut self, text: &str) -> Result<(), Failure> {
        self.log.event(
            &self.name,
            EntryKind::Websocket,
            Direction::Sent,
            format!("text message `{text}`"),
        );
        self.write(Message::Text(text.into()), "a text message")
            .await
    }

    /// Sends a WebSocket Ping control frame (not a Tandem Ping).
    pub async fn send_websocket_ping(&mut self) -> Result<(), Failure> {
        self.log.event(
            &self.name,
            EntryKind::Websocket,
            Direction::Sent,
            "WebSocket Ping control frame",
        );
        self.ws
            .send(Message::Ping(Bytes::from_static(b"ws")))
            .await
            .map_err(|e| self.closed("a WebSocket Ping", &e))
    }

    async fn write(&mut self, message: Message, what: &str) -> Result<(), Failure> {
        self.last_sent = Instant::now();
        self.ws
            .send(message)
            .await
            .map_err(|e| self.closed(what, &e))
    }

    /// Sends a Close frame and waits (up to a second) for the relay's
    /// answering Close and the end of the connection.
    pub async fn close(mut self) {
        self.log
            .event(&self.name, EntryKind::Websocket, Direction::Sent, "Close");
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            let _ = self.ws.close(None).await;
            while let Some(Ok(_)) = self.ws.next().await {}
        })
        .await;
    }

    /// Sends a Close frame with `code` and `reason`, and waits (up to a
    /// second) for the relay's answering Close.
    pub async fn close_with(mut self, code: u16, reason: &str) {
        self.log.event(
            &self.name,
            EntryKind::Websocket,
            Direction::Sent,
            format!("Close {code}{} (\"{reason}\")", code_name(code)),
        );
        let frame = tokio_tungstenite::tungstenite::protocol::CloseFrame {
            code: code.into(),
            reason: reason.into(),
        };
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            let _ = self.ws.close(Some(frame)).await;
            while let Some(Ok(_)) = self.ws.next().await {}
        })
        .await;
    }

    /// Drops the TCP connection without a Close frame.
    pub fn drop_abruptly(self) {
        self.log.event(
            &self.name,
            EntryKind::Websocket,
            Direction::Sent,
            "TCP connection dropped without a Close frame",
        );
        drop(self);
    }

    /// The next event within `within`; `waiting_for` names what the case
    /// waits for, for the timeout's "expected".
    pub async fn next(&mut self, within: Duration, waiting_for: &str) -> Result<Event, Failure> {
        if self.ended {
            return Ok(Event::Ended("the connection had already ended".into()));
        }
        let deadline = Instant::now() + within;
        loop {
            let now = Instant::now();
            if now >= deadline {
                return Err(Failure::timeout(
                    format!(
                        "{} to receive {waiting_for} within {:.1} s",
                        self.name,
                        within.as_secs_f64()
                    ),
                    "nothing arrived".to_owned(),
                ));
            }
            let mut wait = deadline - now;
            if let Some(interval) = self.keepalive {
                let due = self.last_sent + interval;
                if due <= now {
                    self.keepalive_ping().await?;
                    continue;
                }
                wait = wait.min(due - now);
            }
            let message = match tokio::time::timeout(wait, self.ws.next()).await {
                Err(_) => continue,
                Ok(m) => m,
            };
            if let Some(event) = self.receive(message).await {
                return Ok(event);
            }
        }
    }

    async fn keepalive_ping(&mut self) -> Result<(), Failure> {
        let nonce = self.next_nonce;
        self.next_nonce += 1;
        self.keepalive_nonces.insert(nonce);
        self.log.note(format!(
            "{}: keepalive Ping {nonce:#x} while waiting",
            self.name
        ));
        self.send(Ping { nonce }).await
    }

    /// Logs one read and turns it into an event; `None` for what cases do
    /// not see (WebSocket control frames, Pongs to keepalive Pings).
    async fn receive(&mut self, message: Option<Result<Message, WsError>>) -> Option<Event> {
        let name = self.name.clone();
        match message {
            Some(Ok(Message::Binary(bytes))) => match EnvelopeFrame::decode(&bytes) {
                Ok(frame) => {
                    self.log.bytes(
                        &name,
                        EntryKind::Frame,
                        Direction::Received,
                        &bytes,
                        serde_json::to_value(&frame).ok(),
                        frame.name(),
                    );
                    if let EnvelopeFrame::Pong(pong) = &frame
                        && self.keepalive_nonces.remove(&pong.nonce)
                    {
                        return None;
                    }
                    Some(Event::Frame(frame))
                }
                Err(e) => {
                    self.log.bytes(
                        &name,
                        EntryKind::Frame,
                        Direction::Received,
                        &bytes,
                        None,
                        format!("does not decode: {e}"),
                    );
                    Some(Event::Undecodable(bytes, e.to_string()))
                }
            },
            Some(Ok(Message::Text(text))) => {
                self.log.event(
                    &name,
                    EntryKind::Websocket,
                    Direction::Received,
                    format!("text message `{text}`"),
                );
                Some(Event::Text(text.to_string()))
            }
            Some(Ok(Message::Close(frame))) => {
                let (code, reason) = frame.map_or((None, String::new()), |f| {
                    (Some(u16::from(f.code)), f.reason.to_string())
                });
                let text = match code {
                    Some(c) => format!("Close {c}{}{}", code_name(c), reason_text(&reason)),
                    None => "Close without a code".to_owned(),
                };
                self.log
                    .event(&name, EntryKind::Websocket, Direction::Received, text);
                // Sends tungstenite's answering Close.
                let _ = tokio::time::timeout(Duration::from_secs(1), self.ws.flush()).await;
                self.ended = true;
                Some(Event::Close(code, reason))
            }
            Some(Ok(Message::Ping(_))) => {
                self.log.event(
                    &name,
                    EntryKind::Websocket,
                    Direction::Received,
                    "WebSocket Ping control frame",
                );
                None
            }
            Some(Ok(Message::Pong(_))) => {
                self.log.event(
                    &name,
                    EntryKind::Websocket,
                    Direction::Received,
                    "WebSocket Pong control frame",
                );
                None
            }
            Some(Ok(Message::Frame(_))) => None,
            Some(Err(e)) => {
                self.log.event(
                    &name,
                    EntryKind::Websocket,
                    Direction::Received,
                    format!("the connection ended: {e}"),
                );
                self.ended = true;
                Some(Event::Ended(e.to_string()))
            }
            None => {
                self.log.event(
                    &name,
                    EntryKind::Websocket,
                    Direction::Received,
                    "the connection ended",
                );
                self.ended = true;
                Some(Event::Ended("the stream ended".into()))
            }
        }
    }

    /// Waits for a frame that `accept` turns into a value; any other event
    /// fails the case with `what` as the expectation.
    pub async fn expect<T>(
        &mut self,
        within: Duration,
        what: &str,
        mut accept: impl FnMut(&EnvelopeFrame) -> Option<T>,
    ) -> Result<T, Failure> {
        let event = self.next(within, what).await?;
        if let Event::Frame(frame) = &event
            && let Some(value) = accept(frame)
        {
            return Ok(value);
        }
        Err(Failure::fail(
            format!("{} to receive {what}", self.name),
            event.describe(),
        ))
    }

    /// As [`Peer::expect`], skipping frames that `skip` accepts.
    pub async fn expect_skipping<T>(
        &mut self,
        within: Duration,
        what: &str,
        mut skip: impl FnMut(&EnvelopeFrame) -> bool,
        mut accept: impl FnMut(&EnvelopeFrame) -> Option<T>,
    ) -> Result<T, Failure> {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let event = self.next(left, what).await?;
            if let Event::Frame(frame) = &event {
                if let Some(value) = accept(frame) {
                    return Ok(value);
                }
                if skip(frame) {
                    continue;
                }
            }
            return Err(Failure::fail(
                format!("{} to receive {what}", self.name),
                event.describe(),
            ));
        }
    }

    /// Waits for a Close frame with `code`; a frame before it fails.
    pub async fn expect_close(
        &mut self,
        within: Duration,
        code: Code,
        why: &str,
    ) -> Result<(), Failure> {
        self.expect_close_after(within, code, why, |_| false)
            .await
            .map(|_| ())
    }

    /// Waits for a Close frame with `code`, skipping frames that `skip`
    /// accepts; returns how many were skipped.
    pub async fn expect_close_after(
        &mut self,
        within: Duration,
        code: Code,
        why: &str,
        mut skip: impl FnMut(&EnvelopeFrame) -> bool,
    ) -> Result<usize, Failure> {
        let what = format!(
            "a Close frame with code {}{} ({why})",
            code.0,
            code_name(code.0)
        );
        let deadline = Instant::now() + within;
        let mut skipped = 0;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let event = self.next(left, &what).await?;
            match &event {
                Event::Close(Some(c), _) if *c == code.0 => return Ok(skipped),
                Event::Frame(f) if skip(f) => skipped += 1,
                _ => {
                    return Err(Failure::fail(
                        format!("{} to receive {what}", self.name),
                        event.describe(),
                    ));
                }
            }
        }
    }

    /// Checks that nothing arrives for `during` (the connection stays open
    /// and quiet).
    pub async fn expect_nothing(&mut self, during: Duration, why: &str) -> Result<(), Failure> {
        match self.next(during, "nothing").await {
            Err(f) if f.kind == crate::case::FailKind::Timeout => Ok(()),
            Err(f) => Err(f),
            Ok(event) => Err(Failure::fail(
                format!(
                    "{} to receive nothing for {:.1} s ({why})",
                    self.name,
                    during.as_secs_f64()
                ),
                event.describe(),
            )),
        }
    }

    /// Sends `Ping(nonce)` and expects `Pong(nonce)` next: the connection
    /// is open and served.
    pub async fn ping(&mut self, within: Duration, nonce: u64) -> Result<(), Failure> {
        self.send(Ping { nonce }).await?;
        let what = format!("Pong with nonce {nonce} [ENV-02]");
        self.expect(within, &what, |f| match f {
            EnvelopeFrame::Pong(p) if p.nonce == nonce => Some(()),
            _ => None,
        })
        .await
    }

    /// The next frame if one is already there.
    pub async fn poll_now(&mut self) -> Option<Event> {
        match tokio::time::timeout(Duration::ZERO, self.ws.next()).await {
            Ok(message) => self.receive(message).await,
            Err(_) => None,
        }
    }
}
