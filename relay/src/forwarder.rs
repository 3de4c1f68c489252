//! The raw baseline of the benchmarks (`tandem-relay-load`, `tandem-load`):
//! a tokio-tungstenite forwarder with no Tandem logic. It pairs consecutive
//! WebSocket connections and pipes their binary messages to each other.

use futures_util::StreamExt;
use tokio::net::TcpListener;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::{Message, http::HeaderValue};

/// Accepts connections on `listener` forever (until its task is dropped or
/// accepting fails): the first and second upgraded connections become a
/// pair, the third and fourth the next, and so on. Each pair forwards
/// binary messages both ways with `StreamExt::forward` and tungstenite's
/// default configuration: this is what "raw" means in the benchmarks. It
/// answers the `tandem.v1` subprotocol so that Tandem clients connect too.
// tungstenite's callback returns its own (large) error response type.
#[allow(clippy::result_large_err)]
pub async fn run(listener: TcpListener) -> std::io::Result<()> {
    let mut waiting: Option<WebSocketStream<tokio::net::TcpStream>> = None;
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let ws = match tokio_tungstenite::accept_hdr_async(
            stream,
            |_: &Request, mut response: Response| {
                response.headers_mut().insert(
                    "Sec-WebSocket-Protocol",
                    HeaderValue::from_static("tandem.v1"),
                );
                Ok(response)
            },
        )
        .await
        {
            Ok(ws) => ws,
            Err(_) => continue,
        };
        match waiting.take() {
            None => waiting = Some(ws),
            Some(first) => {
                let (a_sink, a_stream) = first.split();
                let (b_sink, b_stream) = ws.split();
                let binary = |m: Result<Message, _>| async move {
                    match m {
                        Ok(Message::Binary(b)) => Some(Ok(Message::Binary(b))),
                        Ok(_) => None,
                        Err(e) => Some(Err(e)),
                    }
                };
                tokio::spawn(a_stream.filter_map(binary).forward(b_sink));
                tokio::spawn(b_stream.filter_map(binary).forward(a_sink));
            }
        }
    }
}
