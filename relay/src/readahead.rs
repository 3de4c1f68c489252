//! A socket reader that grows its reads only while data streams in, so
//! that an idle connection holds no large buffer (issue #6: at most 8 KiB
//! per idle connection) and a busy one reads up to 64 KiB per system call
//! (the largest envelope frame is 65,540 bytes, spec §3.1).
//!
//! tungstenite reads into slices of `read_buffer_size` (4 KiB here). When a
//! read fills such a slice, more is probably waiting: the next reads go
//! through a read-ahead buffer of [`READ_AHEAD`] bytes, which is given
//! back as soon as it is drained and the socket has nothing more. Given-back
//! buffers wait in a small per-thread pool, so that a stream that pauses
//! often costs neither an allocation nor zeroing per pause.

use std::cell::RefCell;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The read-ahead buffer's size.
pub(crate) const READ_AHEAD: usize = 64 * 1024;

/// Buffers kept per thread for reuse.
const POOL_MAX: usize = 16;

thread_local! {
    static POOL: RefCell<Vec<Box<[u8]>>> = const { RefCell::new(Vec::new()) };
}

/// A buffer from the pool, or a new one. Its old contents are never read:
/// only bytes read into it from the socket are.
fn take_buffer() -> Box<[u8]> {
    POOL.with(|pool| pool.borrow_mut().pop())
        .unwrap_or_else(|| vec![0; READ_AHEAD].into_boxed_slice())
}

fn give_back(buffer: Box<[u8]>) {
    POOL.with(|pool| {
        let mut pool = pool.borrow_mut();
        if pool.len() < POOL_MAX {
            pool.push(buffer);
        }
    });
}

/// A stream whose reads go through a read-ahead buffer while busy.
#[derive(Debug)]
pub(crate) struct ReadAhead<S> {
    inner: S,
    /// The buffer, while busy; `start..end` is unread.
    buffer: Option<Box<[u8]>>,
    start: usize,
    end: usize,
}

impl<S> ReadAhead<S> {
    pub(crate) fn new(inner: S) -> Self {
        Self {
            inner,
            buffer: None,
            start: 0,
            end: 0,
        }
    }

    fn release(&mut self) {
        if let Some(buffer) = self.buffer.take() {
            give_back(buffer);
        }
    }

    /// Whether the read-ahead buffer is allocated.
    #[cfg(test)]
    fn busy(&self) -> bool {
        self.buffer.is_some()
    }
}

impl<S> Drop for ReadAhead<S> {
    fn drop(&mut self) {
        self.release();
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for ReadAhead<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if out.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        if let Some(buffer) = this.buffer.as_mut() {
            if this.start == this.end {
                // Drained: refill, or free the buffer when the socket has
                // nothing more (the connection may now stay idle).
                let mut read = ReadBuf::new(buffer);
                match Pin::new(&mut this.inner).poll_read(cx, &mut read) {
                    Poll::Ready(Ok(())) => {
                        this.start = 0;
                        this.end = read.filled().len();
                        if this.end == 0 {
                            this.release();
                            return Poll::Ready(Ok(()));
                        }
                    }
                    Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
                    Poll::Pending => {
                        this.release();
                        return Poll::Pending;
                    }
                }
            }
            let available = &buffer[this.start..this.end];
            let n = available.len().min(out.remaining());
            out.put_slice(&available[..n]);
            this.start += n;
            return Poll::Ready(Ok(()));
        }
        let before = out.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, out) {
            Poll::Ready(Ok(())) => {
                if out.remaining() == 0 && out.filled().len() > before {
                    // The read filled the caller's slice: stream the next
                    // ones through the larger buffer.
                    this.buffer = Some(take_buffer());
                    this.start = 0;
                    this.end = 0;
                }
                Poll::Ready(Ok(()))
            }
            other => other,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for ReadAhead<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[tokio::test]
    async fn reads_are_exact_and_the_buffer_is_freed_when_drained() {
        let (client, server) = tokio::io::duplex(1 << 20);
        let mut reader = ReadAhead::new(server);
        let mut writer = client;
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        writer.write_all(&data).await.unwrap();
        let mut got = Vec::new();
        let mut chunk = [0u8; 4096];
        while got.len() < data.len() {
            let n = reader.read(&mut chunk).await.unwrap();
            got.extend_from_slice(&chunk[..n]);
            if got.len() == 4096 {
                assert!(reader.busy(), "a full read switches to read-ahead");
            }
        }
        assert_eq!(got, data);
        // Nothing more to read: the next read parks and frees the buffer.
        let pending = tokio::time::timeout(
            std::time::Duration::from_millis(20),
            reader.read(&mut chunk),
        )
        .await;
        assert!(pending.is_err());
        assert!(!reader.busy());
        // A short read does not allocate.
        writer.write_all(b"hello").await.unwrap();
        let n = reader.read(&mut chunk).await.unwrap();
        assert_eq!(&chunk[..n], b"hello");
        assert!(!reader.busy());
        drop(writer);
        assert_eq!(reader.read(&mut chunk).await.unwrap(), 0);
    }
}
