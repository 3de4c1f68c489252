//! The relay as the implementation under test sees it (spec §12.1: the
//! runner plays the relay): a WebSocket tap on 127.0.0.1 in front of the
//! embedded reference relay. It forwards every message both ways, logs the
//! implementation's envelope frames (its `Data` is logged decrypted by the
//! runner's own peer), reports what crosses to the cases, and can cut the
//! implementation's connections or refuse new ones to simulate a network
//! loss (§7.9).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tandem_codec::envelope::EnvelopeFrame;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, mpsc};
use tokio::task::{AbortHandle, JoinHandle};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use crate::relay::peer::{SUBPROTOCOL, code_name};
use crate::wirelog::{Direction, EntryKind, Log};

/// What crossed the tap, for cases that check the implementation's own
/// frames (its `OpenChannel`, `AttachRoute`, `LinkClosed`, its keepalive).
#[derive(Clone, Debug)]
pub enum TapEvent {
    /// The implementation opened connection `conn`, offering these
    /// subprotocols.
    Opened {
        /// The connection's number in this case, from 1.
        conn: usize,
        /// The `Sec-WebSocket-Protocol` header it sent.
        protocols: Option<String>,
    },
    /// A binary message from the implementation.
    FromImplementation {
        /// The connection.
        conn: usize,
        /// The bytes.
        bytes: Bytes,
        /// Them decoded, if they decode.
        frame: Option<EnvelopeFrame>,
    },
    /// A relay's `Data` frame passed on to the implementation (the runner's
    /// own endpoint logs its content).
    DataToImplementation {
        /// The connection.
        conn: usize,
    },
    /// A text message from the implementation ([TRN-03] forbids it).
    TextFromImplementation {
        /// The connection.
        conn: usize,
    },
    /// A connection ended; `by_implementation` when its side closed it.
    Closed {
        /// The connection.
        conn: usize,
        /// Who ended it.
        by_implementation: bool,
        /// The WebSocket close code, if a Close frame was sent.
        code: Option<u16>,
    },
}

struct Shared {
    relay_url: String,
    log: Log,
    events: broadcast::Sender<TapEvent>,
    connections: Mutex<Vec<AbortHandle>>,
    opened: AtomicUsize,
    refusing: AtomicBool,
    /// Messages the runner sends to the implementation as if the relay did,
    /// per connection.
    injectors: Mutex<HashMap<usize, mpsc::UnboundedSender<Message>>>,
    /// What the tap answers in `Sec-WebSocket-Protocol` instead of the
    /// relay's choice: `Some(None)` selects nothing, `Some(Some(p))` `p`.
    selects: Mutex<Option<Option<String>>>,
    /// Changes the relay's frames on their way to the implementation.
    rewrite: Mutex<Option<Rewrite>>,
}

/// A change the tap makes to the relay's frames to the implementation
/// (for example another `Error.message`, [ENV-05]).
pub type Rewrite = fn(EnvelopeFrame) -> EnvelopeFrame;

/// A running tap; stops with the value.
pub struct Tap {
    url: String,
    shared: Arc<Shared>,
    accept: JoinHandle<()>,
}

impl Drop for Tap {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}

impl Tap {
    /// Listens on 127.0.0.1 and forwards to `relay_url`.
    pub async fn start(relay_url: &str, log: &Log) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("ws://{}/", listener.local_addr()?);
        let (events, _) = broadcast::channel(16_384);
        let shared = Arc::new(Shared {
            relay_url: relay_url.to_owned(),
            log: log.clone(),
            events,
            connections: Mutex::new(Vec::new()),
            opened: AtomicUsize::new(0),
            refusing: AtomicBool::new(false),
            injectors: Mutex::new(HashMap::new()),
            selects: Mutex::new(None),
            rewrite: Mutex::new(None),
        });
        let accept = tokio::spawn(accept_loop(listener, shared.clone()));
        Ok(Self {
            url,
            shared,
            accept,
        })
    }

    /// The URL the implementation is given as `{relay_url}`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// What crosses from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<TapEvent> {
        self.shared.events.subscribe()
    }

    /// How many connections the implementation opened so far.
    pub fn connections_opened(&self) -> usize {
        self.shared.opened.load(Ordering::SeqCst)
    }

    /// Drops every open connection of the implementation without a Close
    /// frame, as a lost network does.
    pub fn cut(&self) {
        let handles = std::mem::take(
            &mut *self
                .shared
                .connections
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        if !handles.is_empty() {
            self.shared.log.note(format!(
                "the runner cuts the implementation's {} connection(s)",
                handles.len()
            ));
        }
        for h in handles {
            h.abort();
        }
    }

    /// While `true`, new connections are accepted at TCP and dropped at
    /// once: the relay is unreachable.
    pub fn refuse(&self, refusing: bool) {
        self.shared.refusing.store(refusing, Ordering::SeqCst);
        self.shared.log.note(if refusing {
            "the relay is unreachable for the implementation from now on"
        } else {
            "the relay is reachable again"
        });
    }

    /// Sends `message` to the implementation on connection `conn` as if
    /// the relay had sent it (a `Close` message also ends the connection);
    /// `false` when that connection is not open.
    pub fn inject(&self, conn: usize, message: Message) -> bool {
        let injectors = self
            .shared
            .injectors
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        injectors
            .get(&conn)
            .is_some_and(|tx| tx.send(message).is_ok())
    }

    /// From now on, answers new upgrades with `protocol` in
    /// `Sec-WebSocket-Protocol` (`None`: with no subprotocol) whatever the
    /// implementation offered ([TRN-01]); `reset_selection` undoes it.
    pub fn select_protocol(&self, protocol: Option<&str>) {
        *self
            .shared
            .selects
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(protocol.map(str::to_owned));
        self.shared.log.note(format!(
            "the relay now selects the subprotocol {}",
            protocol.unwrap_or("(none)")
        ));
    }

    /// Selects subprotocols as the relay does again.
    pub fn reset_selection(&self) {
        *self
            .shared
            .selects
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = None;
        self.shared
            .log
            .note("the relay selects subprotocols as usual again");
    }

    /// From now on, passes every frame from the relay to the implementation
    /// through `rewrite`.
    pub fn rewrite(&self, rewrite: Rewrite) {
        *self
            .shared
            .rewrite
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(rewrite);
    }
}

/// Waits up to `within` for a tap event that `accept` takes; `None` when
/// none came.
pub async fn watch<T>(
    events: &mut broadcast::Receiver<TapEvent>,
    within: Duration,
    mut accept: impl FnMut(&TapEvent) -> Option<T>,
) -> Option<T> {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, events.recv()).await {
            Ok(Ok(event)) => {
                if let Some(value) = accept(&event) {
                    return Some(value);
                }
            }
            Ok(Err(broadcast::error::RecvError::Lagged(_))) => {}
            Ok(Err(broadcast::error::RecvError::Closed)) | Err(_) => return None,
        }
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    while let Ok((stream, _)) = listener.accept().await {
        if shared.refusing.load(Ordering::SeqCst) {
            drop(stream);
            continue;
        }
        let conn = shared.opened.fetch_add(1, Ordering::SeqCst) + 1;
        let task = tokio::spawn(forward(stream, conn, shared.clone()));
        let mut connections = shared
            .connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        connections.retain(|h| !h.is_finished());
        connections.push(task.abort_handle());
    }
}

fn config() -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(1 << 20))
        .max_frame_size(Some(1 << 20))
}

/// Serves one connection of the implementation until either side ends it.
async fn forward(stream: TcpStream, conn: usize, shared: Arc<Shared>) {
    let _ = stream.set_nodelay(true);
    let peer = format!("relay#{conn}");
    let mut offered: Option<String> = None;
    let forced = shared
        .selects
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    // The error type is tungstenite's, fixed by its callback trait.
    #[allow(clippy::result_large_err)]
    let callback = |request: &Request, mut response: Response| {
        offered = request
            .headers()
            .get("Sec-WebSocket-Protocol")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let selects = offered
            .as_deref()
            .is_some_and(|o| o.split(',').any(|p| p.trim() == SUBPROTOCOL));
        let chosen = forced
            .clone()
            .unwrap_or_else(|| selects.then(|| SUBPROTOCOL.to_owned()));
        if let Some(value) = chosen.and_then(|c| HeaderValue::from_str(&c).ok()) {
            response
                .headers_mut()
                .insert("Sec-WebSocket-Protocol", value);
        }
        Ok(response)
    };
    let accepted =
        tokio_tungstenite::accept_hdr_async_with_config(stream, callback, Some(config())).await;
    let Ok(mut inner) = accepted else {
        shared.log.event(
            &peer,
            EntryKind::Http,
            Direction::Received,
            "the implementation's WebSocket upgrade failed",
        );
        return;
    };
    shared.log.event(
        &peer,
        EntryKind::Http,
        Direction::Received,
        format!(
            "connection {conn} opened, Sec-WebSocket-Protocol: {}",
            offered.as_deref().unwrap_or("(none)")
        ),
    );
    let _ = shared.events.send(TapEvent::Opened {
        conn,
        protocols: offered.clone(),
    });
    let Some(mut outer) = connect_relay(&shared.relay_url, offered.as_deref()).await else {
        shared
            .log
            .note("the tap could not reach the embedded relay");
        return;
    };
    let (inject, mut injected) = mpsc::unbounded_channel();
    shared
        .injectors
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(conn, inject);
    loop {
        tokio::select! {
            Some(message) = injected.recv() => {
                if let Message::Close(frame) = &message {
                    let code = frame.as_ref().map(|f| u16::from(f.code));
                    closed(&shared, &peer, conn, false, code);
                    let _ = inner.send(message).await;
                    let _ = inner.flush().await;
                    let _ = outer.close(None).await;
                    return;
                }
                shared.log.note(format!("the runner sends this as the relay on connection {conn}"));
                observe(&shared, &peer, conn, &message, Direction::Sent);
                if inner.send(message).await.is_err() {
                    return;
                }
            }
            message = inner.next() => {
                let Some(Ok(message)) = message else {
                    closed(&shared, &peer, conn, true, None);
                    return;
                };
                if let Message::Close(frame) = &message {
                    let code = frame.as_ref().map(|f| u16::from(f.code));
                    closed(&shared, &peer, conn, true, code);
                    let _ = outer.send(message).await;
                    return;
                }
                observe(&shared, &peer, conn, &message, Direction::Received);
                if outer.send(message).await.is_err() {
                    return;
                }
            }
            message = outer.next() => {
                let Some(Ok(message)) = message else {
                    closed(&shared, &peer, conn, false, None);
                    return;
                };
                if let Message::Close(frame) = &message {
                    let code = frame.as_ref().map(|f| u16::from(f.code));
                    closed(&shared, &peer, conn, false, code);
                    let _ = inner.send(message).await;
                    let _ = inner.flush().await;
                    return;
                }
                let message = rewritten(&shared, message);
                observe(&shared, &peer, conn, &message, Direction::Sent);
                if inner.send(message).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// The relay's message after the case's [`Rewrite`], if any.
fn rewritten(shared: &Shared, message: Message) -> Message {
    let rewrite = *shared
        .rewrite
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let (Some(rewrite), Message::Binary(bytes)) = (rewrite, &message) else {
        return message;
    };
    let Ok(frame) = EnvelopeFrame::decode(bytes) else {
        return message;
    };
    match rewrite(frame).to_bytes() {
        Ok(bytes) => Message::Binary(bytes),
        Err(_) => message,
    }
}

async fn connect_relay(
    url: &str,
    offered: Option<&str>,
) -> Option<tokio_tungstenite::WebSocketStream<TcpStream>> {
    let address = crate::relay::peer::resolve(url).await.ok()?;
    let stream = TcpStream::connect(address).await.ok()?;
    let _ = stream.set_nodelay(true);
    let mut request = url.into_client_request().ok()?;
    if let Some(offered) = offered
        && let Ok(value) = HeaderValue::from_str(offered)
    {
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", value);
    }
    tokio_tungstenite::client_async_with_config(request, stream, Some(config()))
        .await
        .ok()
        .map(|(ws, _)| ws)
}

fn closed(shared: &Shared, peer: &str, conn: usize, by_implementation: bool, code: Option<u16>) {
    let who = if by_implementation {
        "the implementation"
    } else {
        "the relay"
    };
    let how = match code {
        Some(c) => format!("with Close {c}{}", code_name(c)),
        None => "without a Close frame".to_owned(),
    };
    shared.log.event(
        peer,
        EntryKind::Websocket,
        if by_implementation {
            Direction::Received
        } else {
            Direction::Sent
        },
        format!("{who} ended connection {conn} {how}"),
    );
    let _ = shared.events.send(TapEvent::Closed {
        conn,
        by_implementation,
        code,
    });
}

/// Logs and reports one forwarded message. `Data` is left to the runner's
/// peer, which logs it decrypted.
fn observe(shared: &Shared, peer: &str, conn: usize, message: &Message, direction: Direction) {
    let from_implementation = direction == Direction::Received;
    match message {
        Message::Binary(bytes) => {
            let frame = EnvelopeFrame::decode(bytes).ok();
            match &frame {
                Some(EnvelopeFrame::Data(_)) => {}
                Some(f) => shared.log.bytes(
                    peer,
                    EntryKind::Frame,
                    direction,
                    bytes,
                    serde_json::to_value(f).ok(),
                    f.name(),
                ),
                None => shared.log.bytes(
                    peer,
                    EntryKind::Frame,
                    direction,
                    bytes,
                    None,
                    "does not decode as an envelope frame",
                ),
            }
            if from_implementation {
                let _ = shared.events.send(TapEvent::FromImplementation {
                    conn,
                    bytes: bytes.clone(),
                    frame,
                });
            } else if matches!(frame, Some(EnvelopeFrame::Data(_))) {
                let _ = shared.events.send(TapEvent::DataToImplementation { conn });
            }
        }
        Message::Text(text) => {
            shared.log.event(
                peer,
                EntryKind::Websocket,
                direction,
                format!("text message `{}`", shorten(text)),
            );
            if from_implementation {
                let _ = shared
                    .events
                    .send(TapEvent::TextFromImplementation { conn });
            }
        }
        _ => {}
    }
}

fn shorten(text: &Utf8Bytes) -> String {
    crate::codec::check::shorten(text.as_str())
}
