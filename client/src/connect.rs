//! Opening the WebSocket to a relay (spec §2.1–§2.3): parse the relay URL,
//! open the stream through the [`Transport`], offer the subprotocol
//! `tandem.v1` and insist that the relay selects it ([TRN-01]).

use std::time::Duration;

use tandem_codec::limits::MAX_ENVELOPE_FRAME;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Response;
use tokio_tungstenite::tungstenite::http::{HeaderValue, Uri};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::error::ConnectError;
use crate::transport::{Io, Transport};

/// The subprotocol of protocol version 1 (spec §2.2).
pub const SUBPROTOCOL: &str = "tandem.v1";

/// Bytes tungstenite reads from the socket at a time. Its default (128 KiB)
/// is zero-filled before every read: with small frames that memset was
/// 12% of the endpoints' CPU in `tandem-load messages` (BENCHMARKS.md,
/// "End to end"). 16 KiB reads a 60 KiB chunk in four.
const READ_BUFFER: usize = 16 * 1024;

/// The WebSocket the driver runs on.
pub(crate) type Ws = WebSocketStream<Box<dyn Io>>;

/// Where a relay URL points.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The URL as given.
    pub url: String,
    /// The host, without IPv6 brackets.
    pub host: String,
    /// The port (80 or 443 when the URL has none).
    pub port: u16,
    /// Whether the scheme is `wss`.
    pub tls: bool,
}

impl Target {
    /// Parses an absolute `ws://` or `wss://` URL (spec §2.1: host, port,
    /// path and query are used as given).
    pub fn parse(url: &str) -> Result<Self, ConnectError> {
        let invalid = |reason| ConnectError::InvalidUrl {
            url: url.to_owned(),
            reason,
        };
        let uri: Uri = url.parse().map_err(|_| invalid("not a URL"))?;
        let tls = match uri.scheme_str() {
            Some("ws") => false,
            Some("wss") => true,
            _ => return Err(invalid("the scheme must be ws:// or wss://")),
        };
        let host = uri.host().ok_or_else(|| invalid("no host"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(invalid("no host"));
        }
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        Ok(Self {
            url: url.to_owned(),
            host: host.to_owned(),
            port,
            tls,
        })
    }
}

/// The WebSocket limits of [TRN-04]: no message or frame above the largest
/// envelope frame (tungstenite fails the read, and the driver closes 1009).
/// Reads take at most [`READ_BUFFER`] bytes at a time.
pub(crate) fn websocket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .max_message_size(Some(MAX_ENVELOPE_FRAME))
        .max_frame_size(Some(MAX_ENVELOPE_FRAME))
}

/// Opens the stream and runs the upgrade, within `timeout`.
pub(crate) async fn open(
    transport: &dyn Transport,
    target: &Target,
    timeout: Duration,
) -> Result<Ws, ConnectError> {
    tokio::time::timeout(timeout, open_inner(transport, target))
        .await
        .map_err(|_| ConnectError::Timeout)?
}

async fn open_inner(transport: &dyn Transport, target: &Target) -> Result<Ws, ConnectError> {
    let stream = transport.connect(target).await?;
    let mut request = target
        .url
        .as_str()
        .into_client_request()
        .map_err(|err| ConnectError::WebSocket(err.to_string()))?;
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static(SUBPROTOCOL),
    );
    let (ws, response) =
        tokio_tungstenite::client_async_with_config(request, stream, Some(websocket_config()))
            .await
            .map_err(upgrade_error)?;
    check_subprotocol(&response)?;
    Ok(ws)
}

/// [TRN-01] A client MUST fail the connection when the relay's response
/// does not select exactly one of the names it offered.
fn check_subprotocol(response: &Response) -> Result<(), ConnectError> {
    let selected = response
        .headers()
        .get("Sec-WebSocket-Protocol")
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
    match selected.as_deref() {
        Some(SUBPROTOCOL) => Ok(()),
        _ => Err(ConnectError::Subprotocol(selected)),
    }
}

fn upgrade_error(err: tokio_tungstenite::tungstenite::Error) -> ConnectError {
    use tokio_tungstenite::tungstenite::Error;
    use tokio_tungstenite::tungstenite::error::ProtocolError;
    match err {
        Error::Io(err) => ConnectError::Io(err),
        // [TRN-01] ... where it can read the refusal's body it tells the
        // person which versions the relay supports.
        Error::Http(response) => {
            let supported = response.body().as_deref().and_then(|body| {
                String::from_utf8_lossy(body)
                    .lines()
                    .next()
                    .filter(|line| line.starts_with("supported:"))
                    .map(str::to_owned)
            });
            ConnectError::Refused {
                status: response.status().as_u16(),
                supported,
            }
        }
        // tungstenite fails the handshake itself when the relay selects no
        // subprotocol or one not offered.
        Error::Protocol(ProtocolError::SecWebSocketSubProtocolError(_)) => {
            ConnectError::Subprotocol(None)
        }
        other => ConnectError::WebSocket(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relay_urls_parse_or_fail_with_a_reason() {
        let target = Target::parse("ws://127.0.0.1:9000/tandem?x=1").unwrap();
        assert_eq!(
            (target.host.as_str(), target.port, target.tls),
            ("127.0.0.1", 9000, false)
        );
        let target = Target::parse("wss://relay.example").unwrap();
        assert_eq!((target.port, target.tls), (443, true));
        let target = Target::parse("ws://[::1]:8080").unwrap();
        assert_eq!(target.host, "::1");
        for bad in ["http://x", "relay:80", "", "ws://"] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
    }
}
