//! The relay server in the mini-redis style: [`run`] accepts TCP
//! connections on a listener the caller bound, until a shutdown future
//! completes; [`run_tls`] runs TLS on each first (spec §2.5). Limits of
//! spec §3.9 are enforced here: `MAX_CONNECTIONS` ([RLY-24]),
//! `SETUP_TIMEOUT` on the TLS handshake and the upgrade ([RLY-22]), and the
//! graceful `going_away` close on shutdown ([TRN-05]).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tandem_codec::Code;
use tandem_proto::random::OsRandom;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role};

use crate::config::RelayConfig;
use crate::connection;
use crate::http::{self, HeadError, Request};
use crate::hub::{self, Hub};
use crate::metrics::Metrics;
use crate::readahead::ReadAhead;
use crate::tls::{Stream, TlsConfig};

/// Connections beyond `MAX_CONNECTIONS` that may be in the middle of their
/// `over_capacity` close at once; further ones are dropped at accept.
const MAX_REFUSING: usize = 256;

/// Why the relay could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// The operating system's random generator is unavailable (channel ids
    /// and route challenges need it, [SEC-08]).
    #[error("no random generator: {0}")]
    NoRandom(tandem_proto::Error),
}

struct Server {
    hub: Arc<Hub>,
    metrics: Metrics,
    /// One permit per TCP connection held ([RLY-24]).
    connections: Arc<Semaphore>,
    refusing: Arc<Semaphore>,
    shutdown: watch::Receiver<bool>,
    /// The certificate, when the relay serves `wss://` itself.
    tls: Option<TlsConfig>,
    /// Dropped with the server, after the last connection task: the
    /// receiver then sees the channel closed.
    _done: mpsc::Sender<()>,
}

/// Runs a relay on `listener` until `shutdown` completes, then closes
/// every connection with 1001 `going_away` and returns once they are
/// closed (or after [`RelayConfig::shutdown_grace`]).
///
/// ```no_run
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let address = listener.local_addr()?;
/// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
/// let relay = tokio::spawn(tandem_relay::run(
///     listener,
///     tandem_relay::RelayConfig::default(),
///     async move {
///         let _ = stopped.await;
///     },
/// ));
/// // ... clients connect to ws://{address} offering `tandem.v1` ...
/// let _ = stop.send(());
/// relay.await??;
/// # Ok(()) }
/// ```
pub async fn run(
    listener: TcpListener,
    config: RelayConfig,
    shutdown: impl Future,
) -> Result<(), RunError> {
    serve(listener, config, None, shutdown).await
}

/// [`run`] serving `wss://` and `https://`: every connection starts with a
/// TLS handshake, bounded by `SETUP_TIMEOUT` together with the upgrade
/// that follows ([RLY-22]), so a client that never finishes it cannot hold
/// a connection slot.
pub async fn run_tls(
    listener: TcpListener,
    config: RelayConfig,
    tls: TlsConfig,
    shutdown: impl Future,
) -> Result<(), RunError> {
    serve(listener, config, Some(tls), shutdown).await
}

async fn serve(
    listener: TcpListener,
    config: RelayConfig,
    tls: Option<TlsConfig>,
    shutdown: impl Future,
) -> Result<(), RunError> {
    let rng = OsRandom::new().map_err(RunError::NoRandom)?;
    let grace = config.shutdown_grace;
    let hub = Arc::new(Hub::new(config, Box::new(rng)));
    let (stop, stopped) = watch::channel(false);
    let (done, mut all_done) = mpsc::channel::<()>(1);
    let server = Arc::new(Server {
        metrics: Metrics::new(hub.clone()),
        connections: Arc::new(Semaphore::new(hub.config.max_connections)),
        refusing: Arc::new(Semaphore::new(MAX_REFUSING)),
        hub: hub.clone(),
        shutdown: stopped.clone(),
        tls,
        _done: done,
    });
    let timers = tokio::spawn(hub::timers(hub.clone(), stopped));
    if let Ok(address) = listener.local_addr() {
        let scheme = if server.tls.is_some() { "wss" } else { "ws" };
        tracing::info!(%address, scheme, "relay listening");
    }
    tokio::pin!(shutdown);
    let mut backoff = Duration::from_millis(1);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    backoff = Duration::from_millis(1);
                    server.clone().accept(stream, peer);
                }
                Err(error) => {
                    // Out of file descriptors, or a connection reset before
                    // it was accepted: wait a little instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_millis(100));
                }
            },
            _ = &mut shutdown => break,
        }
    }
    tracing::info!("shutting down");
    drop(listener);
    // [TRN-05] A relay that shuts down MUST close every connection with
    // 1001 `going_away`.
    hub.shutdown();
    let _ = stop.send(true);
    // Every connection task holds the server; its `done` sender closes the
    // channel when the last of them ends.
    drop(server);
    let _ = tokio::time::timeout(grace, all_done.recv()).await;
    let _ = timers.await;
    tracing::info!("relay stopped");
    Ok(())
}

impl Server {
    fn accept(self: Arc<Self>, stream: TcpStream, peer: SocketAddr) {
        self.hub.counters.accepted.inc();
        let permit = match self.connections.clone().try_acquire_owned() {
            Ok(permit) => Some(permit),
            Err(_) => match self.refusing.clone().try_acquire_owned() {
                Ok(refusing) => {
                    tokio::spawn(self.refuse(stream, peer, refusing));
                    return;
                }
                Err(_) => {
                    self.hub.counters.refuse("over_capacity_dropped");
                    return;
                }
            },
        };
        tokio::spawn(self.connection(stream, peer, permit));
    }

    /// [RLY-24] ... it MUST close each further connection with 4005
    /// `over_capacity` right after its upgrade, without reading frames
    /// from it.
    async fn refuse(
        self: Arc<Self>,
        tcp: TcpStream,
        peer: SocketAddr,
        _refusing: OwnedSemaphorePermit,
    ) {
        let config = &self.hub.config;
        let limit = config.router.setup_timeout.min(config.close_timeout);
        let upgrade = tokio::time::timeout(limit, async {
            let mut stream = match &self.tls {
                None => Stream::Plain(tcp),
                Some(tls) => tls.accept(tcp).await.ok()?,
            };
            let (buf, head) = http::read_head(&mut stream, config.max_request_head)
                .await
                .ok()?;
            match http::classify(&buf[..head], peer.ip(), &config.trusted_proxies) {
                Request::Upgrade(upgrade) => {
                    stream
                        .write_all(&http::switching_protocols(&upgrade))
                        .await
                        .ok()?;
                    Some(stream)
                }
                _ => None,
            }
        })
        .await;
        self.hub.counters.refuse("over_capacity");
        if let Ok(Some(stream)) = upgrade {
            let mut ws =
                WebSocketStream::from_raw_socket(stream, Role::Server, Some(config.websocket()))
                    .await;
            self.hub.count_close(Code::OVER_CAPACITY);
            let frame = CloseFrame {
                code: CloseCode::from(Code::OVER_CAPACITY.0),
                reason: "the relay is at MAX_CONNECTIONS".into(),
            };
            let _ = tokio::time::timeout(config.close_timeout, ws.close(Some(frame))).await;
        }
    }

    /// A connection from accept to close.
    async fn connection(
        self: Arc<Self>,
        tcp: TcpStream,
        peer: SocketAddr,
        _permit: Option<OwnedSemaphorePermit>,
    ) {
        let hub = &self.hub;
        let accepted_at = hub.now();
        let _ = tcp.set_nodelay(true);
        let mut shutdown = self.shutdown.clone();
        // [RLY-22] The relay MUST close a connection that has not completed
        // its WebSocket upgrade ... within `SETUP_TIMEOUT` of the relay
        // accepting its TCP connection ... by closing the TCP connection.
        // The TLS handshake, when there is one, counts in that time.
        let setup = hub.config.router.setup_timeout;
        let deadline = tokio::time::Instant::now() + setup;
        let mut stream = match &self.tls {
            None => Stream::Plain(tcp),
            Some(tls) => {
                let handshake = tokio::select! {
                    done = tokio::time::timeout_at(deadline, tls.accept(tcp)) => done,
                    _ = shutdown.changed() => return,
                };
                match handshake {
                    Ok(Ok(stream)) => stream,
                    Ok(Err(_)) => return hub.counters.refuse("tls_handshake"),
                    Err(_elapsed) => return hub.counters.refuse("setup_timeout"),
                }
            }
        };
        let head = tokio::select! {
            head = tokio::time::timeout_at(deadline, http::read_head(&mut stream, hub.config.max_request_head)) => head,
            _ = shutdown.changed() => return,
        };
        let (buf, head) = match head {
            Ok(Ok(head)) => head,
            Ok(Err(HeadError::Io)) => return hub.counters.refuse("no_request"),
            Ok(Err(HeadError::TooLarge)) => {
                hub.counters.refuse("bad_request");
                let body = "request head too large\n";
                let response = http::response(
                    "431 Request Header Fields Too Large",
                    "",
                    "text/plain; charset=utf-8",
                    body,
                );
                let _ = tokio::time::timeout(setup, stream.write_all(&response)).await;
                return;
            }
            Err(_elapsed) => return hub.counters.refuse("setup_timeout"),
        };
        let upgrade = match http::classify(&buf[..head], peer.ip(), &hub.config.trusted_proxies) {
            Request::Upgrade(upgrade) => upgrade,
            Request::Health => {
                hub.counters.http("/healthz");
                let response = http::response("200 OK", "", "text/plain; charset=utf-8", "ok\n");
                let _ = tokio::time::timeout(setup, stream.write_all(&response)).await;
                return;
            }
            Request::Metrics => {
                hub.counters.http("/metrics");
                let response = match self.metrics.encode() {
                    Ok(text) => http::response(
                        "200 OK",
                        "",
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                        &text,
                    ),
                    Err(_) => http::response(
                        "500 Internal Server Error",
                        "",
                        "text/plain; charset=utf-8",
                        "metrics failed\n",
                    ),
                };
                let _ = tokio::time::timeout(setup, stream.write_all(&response)).await;
                return;
            }
            Request::Refuse(refusal) => {
                hub.counters.refuse(refusal.reason);
                let _ = tokio::time::timeout(setup, stream.write_all(&refusal.response())).await;
                return;
            }
        };
        let written = tokio::time::timeout(
            setup.saturating_sub(hub.now().saturating_since(accepted_at)),
            stream.write_all(&http::switching_protocols(&upgrade)),
        )
        .await;
        if !matches!(written, Ok(Ok(()))) {
            return hub.counters.refuse("setup_timeout");
        }
        hub.counters.upgraded.inc();
        let config = Some(hub.config.websocket());
        let tail = buf.len() > head;
        let ws = if tail {
            // A client that sent frames before it saw the `101`: they are
            // the WebSocket's.
            let part = buf[head..].to_vec();
            drop(buf);
            WebSocketStream::from_partially_read(ReadAhead::new(stream), part, Role::Server, config)
                .await
        } else {
            drop(buf);
            WebSocketStream::from_raw_socket(ReadAhead::new(stream), Role::Server, config).await
        };
        let address = upgrade.forwarded_for.unwrap_or(peer.ip());
        let Some((conn, outbox)) = hub.register(accepted_at, address) else {
            // Shutting down already.
            hub.count_close(Code::GOING_AWAY);
            let mut ws = ws;
            let frame = CloseFrame {
                code: CloseCode::Away,
                reason: "the relay is shutting down".into(),
            };
            let _ = tokio::time::timeout(hub.config.close_timeout, ws.close(Some(frame))).await;
            return;
        };
        tracing::debug!(conn, %peer, "connection open");
        connection::serve(ws, conn, outbox, self.hub.clone()).await;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use tandem_proto::random::SeededRandom;

    use super::*;

    /// The future spawned for every connection, idle ones included: it
    /// must stay small (issue #6: at most 8 KiB per idle connection).
    #[tokio::test]
    async fn the_task_spawned_per_connection_is_small() {
        let hub = Arc::new(Hub::new(
            RelayConfig::default(),
            Box::new(SeededRandom::new(1)),
        ));
        let (_stop, stopped) = watch::channel(false);
        let (done, _all_done) = mpsc::channel(1);
        let server = Arc::new(Server {
            metrics: Metrics::new(hub.clone()),
            connections: Arc::new(Semaphore::new(1)),
            refusing: Arc::new(Semaphore::new(1)),
            hub,
            shutdown: stopped,
            tls: None,
            _done: done,
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let peer = listener.local_addr().unwrap();
        let (accepted, _client) = tokio::join!(listener.accept(), TcpStream::connect(peer));
        let (stream, peer) = accepted.unwrap();
        let task = server.connection(stream, peer, None);
        let size = std::mem::size_of_val(&task);
        assert!(
            size <= 2_048,
            "the connection task's future is {size} bytes"
        );
    }
}
