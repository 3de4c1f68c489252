//! The tool's byte streams under the client driver: plain TCP that may
//! bind a source address (per pairing worker, for the per-address channel
//! limit) and may count the bytes both ways (first sync, resume).

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use tandem_client::{ConnectError, ConnectFuture, Io, Target, Transport};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpSocket, TcpStream};

/// Bytes read and written on the streams of one transport.
#[derive(Clone, Debug, Default)]
pub(crate) struct Counters {
    read: Arc<AtomicU64>,
    written: Arc<AtomicU64>,
}

impl Counters {
    /// Bytes read plus bytes written so far.
    pub(crate) fn total(&self) -> u64 {
        self.read.load(Ordering::Relaxed) + self.written.load(Ordering::Relaxed)
    }

    /// Bytes read so far.
    pub(crate) fn read(&self) -> u64 {
        self.read.load(Ordering::Relaxed)
    }
}

/// Plain TCP (`ws://` only), optionally bound and counted.
#[derive(Clone, Debug, Default)]
pub(crate) struct LoadTransport {
    source: Option<Ipv4Addr>,
    counters: Option<Counters>,
}

impl LoadTransport {
    /// Connections from this loopback address.
    pub(crate) fn bound(source: Ipv4Addr) -> Self {
        Self {
            source: Some(source),
            counters: None,
        }
    }

    /// Connections whose bytes are counted.
    pub(crate) fn counted(counters: Counters) -> Self {
        Self {
            source: None,
            counters: Some(counters),
        }
    }
}

impl Transport for LoadTransport {
    fn connect<'a>(&'a self, target: &'a Target) -> ConnectFuture<'a> {
        Box::pin(async move {
            if target.tls {
                return Err(ConnectError::TlsUnavailable);
            }
            let ip: IpAddr = target
                .host
                .parse()
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "not an IP address"))?;
            let socket = if ip.is_ipv4() {
                TcpSocket::new_v4()?
            } else {
                TcpSocket::new_v6()?
            };
            if let Some(source) = self.source {
                socket.bind(SocketAddr::new(IpAddr::V4(source), 0))?;
            }
            let stream = socket.connect(SocketAddr::new(ip, target.port)).await?;
            stream.set_nodelay(true)?;
            Ok(match &self.counters {
                Some(counters) => Box::new(CountingStream {
                    inner: stream,
                    counters: counters.clone(),
                }) as Box<dyn Io>,
                None => Box::new(stream) as Box<dyn Io>,
            })
        })
    }
}

/// A TCP stream that adds what passes to its counters.
struct CountingStream {
    inner: TcpStream,
    counters: Counters,
}

impl AsyncRead for CountingStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        let read = buf.filled().len().saturating_sub(before) as u64;
        self.counters.read.fetch_add(read, Ordering::Relaxed);
        result
    }
}

impl AsyncWrite for CountingStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, data);
        if let Poll::Ready(Ok(n)) = &result {
            self.counters
                .written
                .fetch_add(*n as u64, Ordering::Relaxed);
        }
        result
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = &result {
            self.counters
                .written
                .fetch_add(*n as u64, Ordering::Relaxed);
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
