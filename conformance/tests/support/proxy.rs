//! A deliberately wrong relay for the self-test: a TCP proxy in front of
//! the reference relay that passes the HTTP upgrade through and then
//! rewrites the relay's WebSocket frames to clients (flips a byte of every
//! Data payload, drops PeerState(offline), or turns Close frames into a
//! bare end of the connection). Client bytes pass unchanged; the proxy
//! connects from the client's own loopback address, so that per-address
//! limits still apply.

use std::net::SocketAddr;

use futures_util::future::BoxFuture;
use tandem_conformance::case::Failure;
use tandem_conformance::relay::embedded::{Embedded, config};
use tandem_conformance::relay::launch::{Instance, Launcher, Stopped};
use tandem_conformance::relay::params::RelayParams;
use tandem_conformance::wirelog::Log;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::JoinHandle;

/// What the proxy breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The last byte of every Data payload to a client is flipped
    /// ([RLY-14]).
    FlipDataByte,
    /// PeerState(online = false) never reaches a companion ([RLY-17]).
    DropPeerOffline,
    /// Close frames are dropped and the TCP connection ends instead
    /// ([TRN-06]).
    NoCloseFrames,
}

/// Starts the reference relay and a proxy in front of it for each case.
pub struct ProxyLauncher {
    pub fault: Fault,
    pub params: RelayParams,
}

struct ProxyInstance {
    relay: Embedded,
    url: String,
    accept: JoinHandle<()>,
}

impl Drop for ProxyInstance {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl Instance for ProxyInstance {
    fn url(&self) -> &str {
        &self.url
    }

    fn params(&self) -> &RelayParams {
        self.relay.params()
    }

    fn stop(&mut self, timeout: std::time::Duration) -> BoxFuture<'_, Stopped> {
        self.relay.stop(timeout)
    }
}

impl Launcher for ProxyLauncher {
    fn describe(&self) -> String {
        format!("reference relay behind a {:?} proxy", self.fault)
    }

    fn owns_relays(&self) -> bool {
        true
    }

    fn params(&self) -> Option<RelayParams> {
        Some(self.params.clone())
    }

    fn start<'a>(
        &'a self,
        _case_id: &'a str,
        _log: &'a Log,
        _time_scale: f64,
    ) -> BoxFuture<'a, Result<Box<dyn Instance>, Failure>> {
        Box::pin(async move {
            let harness = |e: std::io::Error| Failure::harness("the proxy", e.to_string());
            let relay = Embedded::start(config(&self.params), self.params.clone())
                .await
                .map_err(harness)?;
            let upstream: SocketAddr = relay
                .url()
                .trim_start_matches("ws://")
                .trim_end_matches('/')
                .parse()
                .map_err(|_| Failure::harness("the relay's address", relay.url()))?;
            let listener = TcpListener::bind("127.0.0.1:0").await.map_err(harness)?;
            let url = format!("ws://{}/", listener.local_addr().map_err(harness)?);
            let fault = self.fault;
            let accept = tokio::spawn(async move {
                while let Ok((client, peer)) = listener.accept().await {
                    tokio::spawn(proxy(client, peer, upstream, fault));
                }
            });
            Ok(Box::new(ProxyInstance { relay, url, accept }) as Box<dyn Instance>)
        })
    }
}

async fn proxy(client: TcpStream, peer: SocketAddr, upstream: SocketAddr, fault: Fault) {
    let Ok(socket) = TcpSocket::new_v4() else {
        return;
    };
    let _ = socket.bind(SocketAddr::new(peer.ip(), 0));
    let Ok(server) = socket.connect(upstream).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let up = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
        let _ = server_write.shutdown().await;
    });
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let mut upgraded = false;
    while let Ok(n) = server_read.read(&mut chunk).await {
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        if !upgraded {
            let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                continue;
            };
            let head: Vec<u8> = buf.drain(..end + 4).collect();
            upgraded = head.starts_with(b"HTTP/1.1 101");
            if client_write.write_all(&head).await.is_err() {
                break;
            }
            if !upgraded {
                let rest: Vec<u8> = std::mem::take(&mut buf);
                let _ = client_write.write_all(&rest).await;
                let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
                break;
            }
        }
        let mut out = Vec::new();
        let mut end_now = false;
        while let Some((start, len)) = frame_at(&buf) {
            let mut frame: Vec<u8> = buf.drain(..start + len).collect();
            let opcode = frame[0] & 0x0F;
            let payload = &mut frame[start..];
            match (fault, opcode) {
                (Fault::FlipDataByte, 0x2)
                    if payload.first() == Some(&0x0E) && payload.len() > 5 =>
                {
                    if let Some(last) = payload.last_mut() {
                        *last ^= 0x01;
                    }
                    out.extend_from_slice(&frame);
                }
                (Fault::DropPeerOffline, 0x2)
                    if payload.len() == 6 && payload[0] == 0x0C && payload[5] == 0 => {}
                (Fault::NoCloseFrames, 0x8) => {
                    end_now = true;
                    break;
                }
                _ => out.extend_from_slice(&frame),
            }
        }
        if client_write.write_all(&out).await.is_err() || end_now {
            break;
        }
    }
    up.abort();
}

/// The header length and payload length of the server frame at the front
/// of `buf`, when it is all there.
fn frame_at(buf: &[u8]) -> Option<(usize, usize)> {
    let b1 = *buf.get(1)?;
    let (start, len) = match b1 & 0x7F {
        126 => (
            4,
            usize::from(u16::from_be_bytes([*buf.get(2)?, *buf.get(3)?])),
        ),
        127 => (
            10,
            usize::try_from(u64::from_be_bytes(buf.get(2..10)?.try_into().ok()?)).ok()?,
        ),
        n => (2, usize::from(n)),
    };
    (buf.len() >= start + len).then_some((start, len))
}
