//! One upgraded connection (spec §2.3, §2.4, §3.9): a single task reads
//! binary messages into the router and writes the connection's send queue
//! to the socket, both from one poll loop over one WebSocket (no split, no
//! second task), then closes with the code routing chose ([TRN-06]).

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tandem_codec::Code;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::error::{CapacityError, Error as WsError};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use crate::hub::{Hub, Input};
use crate::outbox::{CloseOrder, Outbox, Taken};
use crate::readahead::ReadAhead;
use crate::router::ConnId;
use crate::tls::Stream;

/// An upgraded connection's WebSocket.
pub(crate) type Ws = WebSocketStream<ReadAhead<Stream>>;

/// Messages read before they are routed under one lock.
const READ_BATCH: usize = 64;

/// The most a closing connection reads and discards while it waits for
/// the peer to close.
const MAX_DISCARD: usize = 256 * 1024;

/// The longest close reason a Close frame carries (RFC 6455 §5.5: 125
/// bytes of payload, two of them the code; [TRN-07]).
const MAX_CLOSE_REASON: usize = 123;

/// How the connection's main loop ended.
enum End {
    /// Routing closed it: send this Close frame.
    Close(CloseOrder),
    /// The peer sent a Close frame: answer it.
    PeerClosed,
    /// The socket failed or ended without a Close frame.
    Broken,
}

/// What one read pass found.
enum Read {
    /// Nothing.
    Idle,
    /// Fewer messages than a batch: the socket has no more for now.
    Some,
    /// A whole batch: there may be more.
    Full {
        /// A receiving queue is filling up.
        pressure: bool,
    },
}

struct Driver<'a> {
    conn: ConnId,
    hub: &'a Hub,
    outbox: &'a Outbox,
    /// Frames taken from the queue, not yet handed to the WebSocket.
    batch: VecDeque<Bytes>,
    reading: bool,
    unflushed: bool,
}

/// Serves one upgraded, registered connection until it ends.
pub(crate) async fn serve(mut ws: Ws, conn: ConnId, outbox: Arc<Outbox>, hub: Arc<Hub>) {
    let end = {
        let mut driver = Driver {
            conn,
            hub: &hub,
            outbox: &outbox,
            batch: VecDeque::new(),
            reading: true,
            unflushed: false,
        };
        poll_fn(|cx| driver.poll(&mut ws, cx)).await
    };
    let linger = hub.config.close_timeout;
    match end {
        End::Close(order) => {
            tracing::debug!(conn, code = order.code.0, reason = %order.reason, "closing");
            let _ = tokio::time::timeout(linger, close(&mut ws, order)).await;
        }
        End::PeerClosed => {
            tracing::debug!(conn, "closed by the peer");
            // Sends tungstenite's echo of the peer's Close.
            let _ = tokio::time::timeout(linger, ws.flush()).await;
        }
        End::Broken => tracing::debug!(conn, "connection lost"),
    }
    // The router may already have forgotten the connection; this is then
    // a no-op.
    let _ = hub.input(conn, vec![Input::Gone]);
}

/// Sends the Close frame and waits for the peer's (RFC 6455 §7.1.1: the
/// server closes the TCP connection after the exchange).
async fn close(ws: &mut Ws, order: CloseOrder) {
    let mut reason = order.reason;
    if reason.len() > MAX_CLOSE_REASON {
        let mut end = MAX_CLOSE_REASON;
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        reason.truncate(end);
    }
    let frame = CloseFrame {
        code: CloseCode::from(order.code.0),
        reason: Utf8Bytes::from(reason),
    };
    if ws.close(Some(frame)).await.is_err() {
        return;
    }
    // Whatever arrives now is ignored; the stream ends when the peer's
    // Close has been read (or at once after a read error).
    let mut answered = false;
    while let Some(Ok(message)) = ws.next().await {
        answered |= matches!(message, Message::Close(_));
    }
    if answered {
        return;
    }
    // No Close came back (the connection failed a WebSocket rule, or the
    // peer does not answer). Send FIN and discard what the peer still sends (the rest of an
    // oversized message, say) until it closes: closing a socket with
    // unread data sends a reset, which can destroy the Close frame before
    // the peer reads it ([TRN-06]). Bounded by the caller's timeout.
    let stream = ws.get_mut();
    let _ = stream.shutdown().await;
    // On the heap: a local array would live in every connection's task.
    let mut sink = vec![0u8; 4096];
    let mut discarded = 0usize;
    while discarded < MAX_DISCARD {
        match stream.read(&mut sink).await {
            Ok(0) | Err(_) => break,
            Ok(n) => discarded += n,
        }
    }
}

/// The close code for a WebSocket-level read error (spec §2.3), or `None`
/// when the connection is simply gone.
fn read_error_code(error: &WsError) -> Option<(Code, &'static str)> {
    match error {
        // [TRN-04] ... close the connection with 1009 `message_too_big` as
        // soon as it knows that a message is longer than that.
        WsError::Capacity(CapacityError::MessageTooLong { .. }) => {
            Some((Code::MESSAGE_TOO_BIG, "message above 65,540 bytes"))
        }
        WsError::Capacity(_) => Some((Code::MESSAGE_TOO_BIG, "message too big")),
        // [TRN-03] A text message, even one that is not valid UTF-8.
        WsError::Utf8(_) => Some((Code::UNSUPPORTED_DATA, "text message")),
        // ... and MUST close it with 1002 `protocol_error` on any other
        // violation of RFC 6455.
        WsError::Protocol(_) => Some((Code::PROTOCOL_ERROR, "WebSocket protocol error")),
        _ => None,
    }
}

impl Driver<'_> {
    /// Reads and writes until neither side can make progress.
    fn poll(&mut self, ws: &mut Ws, cx: &mut Context<'_>) -> Poll<End> {
        loop {
            let read = if self.reading {
                match self.read(ws, cx) {
                    Ok(read) => read,
                    Err(end) => return Poll::Ready(end),
                }
            } else {
                Read::Idle
            };
            let written = match self.write(ws, cx) {
                Ok(progress) => progress,
                Err(end) => return Poll::Ready(end),
            };
            match read {
                // A queue this batch pushed to is filling up: yield, so
                // that the writers it woke run before the next batch (they
                // sit ahead of this task in the worker's queue), and a
                // burst from one sender does not fill a healthy receiver's
                // queue faster than its writer gets the CPU.
                Read::Full { pressure: true } => {
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                Read::Full { pressure: false } | Read::Some => {}
                Read::Idle if written => {}
                Read::Idle => return Poll::Pending,
            }
        }
    }

    /// Reads up to a batch of messages and routes them under one lock.
    fn read(&mut self, ws: &mut Ws, cx: &mut Context<'_>) -> Result<Read, End> {
        let mut inputs = Vec::new();
        let mut end = None;
        let mut fatal = None;
        while inputs.len() < READ_BATCH {
            match ws.poll_next_unpin(cx) {
                Poll::Pending => break,
                Poll::Ready(Some(Ok(Message::Binary(frame)))) => inputs.push(Input::Frame(frame)),
                Poll::Ready(Some(Ok(Message::Text(_)))) => {
                    // [TRN-03] a receiver MUST close the connection with
                    // 1003 `unsupported_data` when it receives one.
                    fatal = Some((Code::UNSUPPORTED_DATA, "text message"));
                    break;
                }
                // WebSocket pings are answered by tungstenite and are not
                // Tandem's keepalive (spec §2.3): they do not reach the
                // router, so they do not hold a connection open.
                Poll::Ready(Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)))) => {}
                Poll::Ready(Some(Ok(Message::Close(_)))) => {
                    end = Some(End::PeerClosed);
                    break;
                }
                Poll::Ready(Some(Err(error))) => {
                    match read_error_code(&error) {
                        Some(code) => fatal = Some(code),
                        None => end = Some(End::Broken),
                    }
                    break;
                }
                Poll::Ready(None) => {
                    end = Some(End::Broken);
                    break;
                }
            }
        }
        if let Some((code, reason)) = fatal {
            // Nothing more is read: the router closes the connection, and
            // the Close order reaches the queue even if the router had
            // already forgotten it.
            self.reading = false;
            inputs.push(Input::Fatal(code, reason.into()));
            self.outbox.close(code, reason.into(), false);
        }
        if end.is_some() {
            inputs.push(Input::Gone);
        }
        let full = inputs.len() >= READ_BATCH;
        let read = if inputs.is_empty() {
            Read::Idle
        } else {
            let pressure = self.hub.input(self.conn, inputs);
            if full {
                Read::Full { pressure }
            } else {
                Read::Some
            }
        };
        match end {
            Some(end) => Err(end),
            None => Ok(read),
        }
    }

    /// Hands queued frames to the WebSocket and flushes when the queue
    /// runs dry; returns the Close order once every frame before it is
    /// written.
    fn write(&mut self, ws: &mut Ws, cx: &mut Context<'_>) -> Result<bool, End> {
        let mut progress = false;
        loop {
            if self.batch.is_empty() {
                match self.outbox.take(&mut self.batch, cx.waker()) {
                    Taken::Frames => {}
                    Taken::Empty => break,
                    Taken::Close(order) => return Err(End::Close(order)),
                }
            }
            let (mut frames, mut bytes) = (0, 0);
            let mut blocked = false;
            while !self.batch.is_empty() {
                match ws.poll_ready_unpin(cx) {
                    Poll::Ready(Ok(())) => {}
                    Poll::Pending => {
                        blocked = true;
                        break;
                    }
                    Poll::Ready(Err(_)) => return Err(End::Broken),
                }
                let Some(frame) = self.batch.pop_front() else {
                    break;
                };
                frames += 1;
                bytes += frame.len();
                if ws.start_send_unpin(Message::Binary(frame)).is_err() {
                    return Err(End::Broken);
                }
                self.unflushed = true;
            }
            self.outbox.written(frames, bytes);
            progress |= frames > 0;
            if blocked {
                return Ok(progress);
            }
        }
        if self.unflushed {
            match ws.poll_flush_unpin(cx) {
                Poll::Ready(Ok(())) => self.unflushed = false,
                Poll::Pending => {}
                Poll::Ready(Err(_)) => return Err(End::Broken),
            }
        }
        Ok(progress)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::net::{IpAddr, Ipv4Addr};

    use tandem_proto::random::SeededRandom;
    use tokio::net::{TcpListener, TcpStream};
    use tokio_tungstenite::tungstenite::protocol::Role;

    use super::*;
    use crate::RelayConfig;

    /// Every idle connection holds its task; keep it small (issue #6: at
    /// most 8 KiB per idle connection in all).
    #[tokio::test]
    async fn a_connection_task_is_small() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap());
        let (accepted, client) = tokio::join!(listener.accept(), client);
        let (stream, _) = accepted.unwrap();
        let _client = client.unwrap();
        let stream = Stream::Plain(stream);
        let ws = WebSocketStream::from_raw_socket(ReadAhead::new(stream), Role::Server, None).await;
        let hub = Arc::new(Hub::new(
            RelayConfig::default(),
            Box::new(SeededRandom::new(1)),
        ));
        let (conn, outbox) = hub
            .register(hub.now(), IpAddr::V4(Ipv4Addr::LOCALHOST))
            .unwrap();
        let task = serve(ws, conn, outbox, hub.clone());
        let size = std::mem::size_of_val(&task);
        assert!(size <= 1_536, "the connection future is {size} bytes");
    }
}
