//! The raw side of the WebSocket baselines: plain tokio-tungstenite
//! clients of the raw forwarder (default configuration, no Tandem logic),
//! connected in pairs, and the sizes of the Tandem messages they mimic.

use std::net::SocketAddr;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tandem_codec::envelope::{Data, EnvelopeFrame};
use tandem_codec::limits::{MAX_CHUNK, NOISE_TAG};
use tandem_codec::session::{Body, Chunk, InnerFrame, Send, SendAck};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Message, http::HeaderValue};

use crate::Error;

/// A raw client connection.
pub(crate) type RawWs = WebSocketStream<TcpStream>;

/// The text of every message sent by the message measurements.
pub(crate) const TEXT: &str = "Lunch at one? The usual place.";

/// Opens one WebSocket to the forwarder.
pub(crate) async fn connect(addr: SocketAddr) -> Result<RawWs, Error> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let mut request = format!("ws://{addr}/").into_client_request()?;
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("tandem.v1"),
    );
    Ok(tokio_tungstenite::client_async(request, stream).await?.0)
}

/// Two connections that the forwarder pipes to each other. The forwarder
/// pairs connections in the order it finishes their upgrades, so pairs
/// are opened one after the other.
pub(crate) async fn pair(addr: SocketAddr) -> Result<(RawWs, RawWs), Error> {
    let a = connect(addr).await?;
    let b = connect(addr).await?;
    Ok((a, b))
}

/// The next binary message, or an error when the connection ends.
pub(crate) async fn recv(ws: &mut RawWs) -> Result<Bytes, Error> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Binary(bytes))) => return Ok(bytes),
            Some(Ok(Message::Close(_))) | None => return Err("the raw connection ended".into()),
            Some(Ok(_)) => {}
            Some(Err(err)) => return Err(err.into()),
        }
    }
}

/// Sends one binary message.
pub(crate) async fn send(ws: &mut RawWs, payload: Bytes) -> Result<(), Error> {
    Ok(ws.send(Message::Binary(payload)).await?)
}

/// A payload of `len` bytes.
pub(crate) fn payload(len: usize) -> Bytes {
    Bytes::from(vec![0x5A; len])
}

/// Length of the relay message carrying one sealed inner frame.
fn on_the_wire(inner: InnerFrame) -> Result<usize, Error> {
    let sealed = inner.to_bytes()?.len() + NOISE_TAG;
    let data = EnvelopeFrame::from(Data {
        link_id: 1,
        payload: Bytes::from(vec![0; sealed]),
    });
    Ok(data.to_bytes()?.len())
}

/// Length of a companion's `Send` of [`TEXT`] as a relay message.
pub(crate) fn send_len() -> Result<usize, Error> {
    on_the_wire(InnerFrame::from(Send {
        client_id: [0; 16],
        chat_id: 1,
        body: Body::Text(TEXT.into()),
    }))
}

/// Length of the primary's `SendAck` as a relay message.
pub(crate) fn ack_len() -> Result<usize, Error> {
    on_the_wire(InnerFrame::from(SendAck {
        client_id: [0; 16],
        message_id: 1_000,
        seq: 2_000,
    }))
}

/// Length of a full media `Chunk` as a relay message.
pub(crate) fn chunk_len() -> Result<usize, Error> {
    on_the_wire(InnerFrame::from(Chunk {
        transfer_id: 1,
        offset: 0,
        data: Bytes::from(vec![0; MAX_CHUNK]),
    }))
}
