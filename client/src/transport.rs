//! The byte stream under the WebSocket (spec §2.1, §2.5): [`Transport`] is
//! the seam where TLS plugs in ([`crate::TlsTransport`]). [`PlainTcp`]
//! opens TCP for `ws://` and refuses `wss://` rather than send in the clear.

use std::future::Future;
use std::pin::Pin;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::connect::Target;
use crate::error::ConnectError;

/// A connected byte stream: TCP, or TLS over TCP. `Sync` so that a
/// holder of one can be shared by reference across tasks.
pub trait Io: AsyncRead + AsyncWrite + Send + Sync + Unpin + 'static {}

impl<T: AsyncRead + AsyncWrite + Send + Sync + Unpin + 'static> Io for T {}

/// The future a [`Transport`] returns.
pub type ConnectFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Box<dyn Io>, ConnectError>> + Send + 'a>>;

/// Opens the byte stream to a relay. A TLS transport connects TCP, runs
/// the TLS handshake for `target.host` when `target.tls` is set, and
/// verifies the certificate ([TRN-08], [TRN-09]).
pub trait Transport: Send + Sync + 'static {
    /// Opens a stream to the target.
    fn connect<'a>(&'a self, target: &'a Target) -> ConnectFuture<'a>;
}

/// Plain TCP: `ws://` only.
#[derive(Clone, Copy, Debug, Default)]
pub struct PlainTcp;

impl Transport for PlainTcp {
    fn connect<'a>(&'a self, target: &'a Target) -> ConnectFuture<'a> {
        Box::pin(async move {
            if target.tls {
                return Err(ConnectError::TlsUnavailable);
            }
            let stream = TcpStream::connect((target.host.as_str(), target.port)).await?;
            stream.set_nodelay(true)?;
            Ok(Box::new(stream) as Box<dyn Io>)
        })
    }
}
