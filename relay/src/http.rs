//! The HTTP side of a connection (spec §2.1, §2.2, §2.5, §2.6): the request
//! head is read with a bound and parsed with `httparse`, then it becomes a
//! WebSocket upgrade with the `tandem.v1` subprotocol ([TRN-02]), a
//! `/healthz` or `/metrics` request, or a refusal with an HTTP status.

use std::net::{IpAddr, SocketAddr};

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

/// The subprotocols this relay speaks, most preferred first (spec §2.2).
pub const SUBPROTOCOLS: &[&str] = &["tandem.v1"];

/// The most request headers looked at.
const MAX_HEADERS: usize = 64;

/// What a request asks for.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Request {
    /// `GET /healthz`.
    Health,
    /// `GET /metrics`.
    Metrics,
    /// A valid WebSocket upgrade offering a subprotocol we speak.
    Upgrade(Upgrade),
    /// Anything else: answer with this and close.
    Refuse(Refusal),
}

/// An accepted upgrade.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Upgrade {
    /// The subprotocol selected.
    pub(crate) protocol: &'static str,
    /// `Sec-WebSocket-Accept`.
    pub(crate) accept: String,
    /// The client address a trusted proxy forwarded, if any ([TRN-10]).
    pub(crate) forwarded_for: Option<IpAddr>,
}

/// A refused request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Refusal {
    /// For the metrics.
    pub(crate) reason: &'static str,
    /// Status line, e.g. `400 Bad Request`.
    pub(crate) status: &'static str,
    /// Extra header lines, each ending in CRLF.
    pub(crate) headers: String,
    /// A `text/plain` body.
    pub(crate) body: String,
}

impl Refusal {
    fn new(reason: &'static str, status: &'static str, body: impl Into<String>) -> Self {
        Self {
            reason,
            status,
            headers: String::new(),
            body: body.into(),
        }
    }

    /// The whole response.
    pub(crate) fn response(&self) -> Vec<u8> {
        response(
            self.status,
            &self.headers,
            "text/plain; charset=utf-8",
            &self.body,
        )
    }
}

/// Why reading a request head failed.
#[derive(Debug)]
pub(crate) enum HeadError {
    /// The connection ended or failed first.
    Io,
    /// The head is longer than allowed.
    TooLarge,
}

/// Reads up to and including the blank line ending the request head, at
/// most `max` bytes. Returns the bytes read and the head's length: bytes
/// after it (a client that sent frames before the `101`) belong to the
/// WebSocket.
pub(crate) async fn read_head(
    stream: &mut (impl AsyncRead + Unpin),
    max: usize,
) -> Result<(Vec<u8>, usize), HeadError> {
    let mut buf = Vec::with_capacity(max.min(1024));
    loop {
        if buf.len() >= max {
            return Err(HeadError::TooLarge);
        }
        if buf.len() == buf.capacity() {
            buf.reserve((max - buf.len()).min(1024));
        }
        let searched = buf.len().saturating_sub(3);
        match stream.read_buf(&mut buf).await {
            Ok(0) | Err(_) => return Err(HeadError::Io),
            Ok(_) => {}
        }
        if let Some(at) = buf[searched..].windows(4).position(|w| w == b"\r\n\r\n") {
            return Ok((buf, searched + at + 4));
        }
    }
}

/// Whether a comma-separated header value holds `token` (ASCII case
/// insensitive).
fn has_token(value: &[u8], token: &str) -> bool {
    value
        .split(|&b| b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
}

fn header_values<'h>(
    headers: &'h [httparse::Header<'h>],
    name: &'h str,
) -> impl Iterator<Item = &'h [u8]> + 'h {
    headers
        .iter()
        .filter(move |h| h.name.eq_ignore_ascii_case(name))
        .map(|h| h.value)
}

/// Classifies a request head.
pub(crate) fn classify(head: &[u8], peer: IpAddr, trusted_proxies: &[IpAddr]) -> Request {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    match request.parse(head) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => {
            return Request::Refuse(Refusal::new(
                "bad_request",
                "400 Bad Request",
                "bad request\n",
            ));
        }
        Err(httparse::Error::TooManyHeaders) => {
            return Request::Refuse(Refusal::new(
                "bad_request",
                "431 Request Header Fields Too Large",
                "too many headers\n",
            ));
        }
        Err(_) => {
            return Request::Refuse(Refusal::new(
                "bad_request",
                "400 Bad Request",
                "bad request\n",
            ));
        }
    }
    let headers = request.headers;
    let path = request.path.unwrap_or("/");
    let path = path.split('?').next().unwrap_or(path);
    if request.method != Some("GET") {
        let mut refusal = Refusal::new("bad_request", "405 Method Not Allowed", "use GET\n");
        refusal.headers.push_str("Allow: GET\r\n");
        return Request::Refuse(refusal);
    }
    let upgrade = header_values(headers, "upgrade").any(|v| has_token(v, "websocket"));
    if !upgrade {
        return match path {
            "/healthz" => Request::Health,
            "/metrics" => Request::Metrics,
            _ => {
                let mut refusal = Refusal::new(
                    "not_websocket",
                    "426 Upgrade Required",
                    format!(
                        "This is a Tandem relay: open a WebSocket offering the subprotocol {}.\n",
                        SUBPROTOCOLS.join(", ")
                    ),
                );
                refusal.headers.push_str("Upgrade: websocket\r\n");
                Request::Refuse(refusal)
            }
        };
    }
    if request.version != Some(1)
        || !header_values(headers, "connection").any(|v| has_token(v, "upgrade"))
    {
        return Request::Refuse(Refusal::new(
            "bad_request",
            "400 Bad Request",
            "invalid WebSocket upgrade\n",
        ));
    }
    if !header_values(headers, "sec-websocket-version").any(|v| v.trim_ascii() == b"13") {
        let mut refusal = Refusal::new(
            "bad_request",
            "426 Upgrade Required",
            "unsupported WebSocket version\n",
        );
        refusal.headers.push_str("Sec-WebSocket-Version: 13\r\n");
        return Request::Refuse(refusal);
    }
    let key = header_values(headers, "sec-websocket-key")
        .next()
        .map(<[u8]>::trim_ascii);
    let Some(key) = key.filter(|k| valid_key(k)) else {
        return Request::Refuse(Refusal::new(
            "bad_request",
            "400 Bad Request",
            "missing or invalid Sec-WebSocket-Key\n",
        ));
    };
    // [TRN-02] A relay MUST select the first name in the client's list
    // that it supports ... When the client offered no name the relay
    // supports, or no subprotocol at all, the relay MUST refuse the upgrade
    // with HTTP status `400 Bad Request` and a `text/plain; charset=utf-8`
    // body whose first line is `supported:` followed by the names it
    // supports.
    let offered = header_values(headers, "sec-websocket-protocol")
        .flat_map(|v| v.split(|&b| b == b','))
        .map(<[u8]>::trim_ascii);
    let mut protocol = None;
    for name in offered {
        if let Some(&ours) = SUBPROTOCOLS.iter().find(|p| p.as_bytes() == name) {
            protocol = Some(ours);
            break;
        }
    }
    let Some(protocol) = protocol else {
        let supported: String = SUBPROTOCOLS.iter().map(|p| format!(" {p}")).collect();
        return Request::Refuse(Refusal::new(
            "subprotocol",
            "400 Bad Request",
            format!("supported:{supported}\n"),
        ));
    };
    let forwarded_for = if trusted_proxies.contains(&peer) {
        forwarded_client(headers)
    } else {
        None
    };
    Request::Upgrade(Upgrade {
        protocol,
        accept: derive_accept_key(key),
        forwarded_for,
    })
}

/// A `Sec-WebSocket-Key` is the base64 of 16 bytes (RFC 6455 §4.1).
fn valid_key(key: &[u8]) -> bool {
    key.len() == 24
        && key.ends_with(b"==")
        && key[..22]
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

/// The client address set by the nearest proxy: the last `for=` of
/// `Forwarded` (RFC 7239), else the last `X-Forwarded-For` entry.
fn forwarded_client(headers: &[httparse::Header<'_>]) -> Option<IpAddr> {
    let forwarded = header_values(headers, "forwarded")
        .flat_map(|v| v.split(|&b| b == b','))
        .last();
    if let Some(element) = forwarded {
        return element
            .split(|&b| b == b';')
            .map(<[u8]>::trim_ascii)
            .find_map(|pair| {
                let (name, value) = pair.split_at(pair.iter().position(|&b| b == b'=')?);
                name.eq_ignore_ascii_case(b"for")
                    .then(|| parse_node(&value[1..]))
                    .flatten()
            });
    }
    header_values(headers, "x-forwarded-for")
        .flat_map(|v| v.split(|&b| b == b','))
        .last()
        .and_then(parse_node)
}

/// An address in `Forwarded` or `X-Forwarded-For`: `192.0.2.1`,
/// `"192.0.2.1:4711"`, `"[2001:db8::1]:4711"`, `2001:db8::1`.
fn parse_node(value: &[u8]) -> Option<IpAddr> {
    let text = std::str::from_utf8(value.trim_ascii()).ok()?;
    let text = text.trim_matches('"');
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Some(addr.ip());
    }
    let inner = text.strip_prefix('[')?.split(']').next()?;
    inner.parse().ok()
}

/// An HTTP/1.1 response that closes the connection.
pub(crate) fn response(status: &str, headers: &str, content_type: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\n{headers}Content-Type: {content_type}\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// The `101 Switching Protocols` answer to an accepted upgrade. No
/// extension is accepted ([TRN-11]).
pub(crate) fn switching_protocols(upgrade: &Upgrade) -> Vec<u8> {
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\nSec-WebSocket-Protocol: {}\r\n\r\n",
        upgrade.accept, upgrade.protocol
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    fn upgrade(extra: &str) -> String {
        format!(
            "GET /tandem HTTP/1.1\r\nHost: relay\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
        )
    }

    fn refusal(request: Request) -> Refusal {
        match request {
            Request::Refuse(refusal) => refusal,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn an_upgrade_selects_tandem_v1_among_the_offered_names() {
        let head = upgrade("Sec-WebSocket-Protocol: tandem.v2, tandem.v1\r\n");
        let Request::Upgrade(up) = classify(head.as_bytes(), LOCAL, &[]) else {
            panic!("not an upgrade");
        };
        assert_eq!(up.protocol, "tandem.v1");
        // RFC 6455 §1.3's example key and answer.
        assert_eq!(up.accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        assert_eq!(up.forwarded_for, None);
        let response = String::from_utf8(switching_protocols(&up)).unwrap_or_default();
        assert!(response.contains("Sec-WebSocket-Protocol: tandem.v1\r\n"));
        assert!(!response.contains("Extensions"));
    }

    #[test]
    fn no_supported_subprotocol_is_a_400_naming_the_supported_ones() {
        for extra in ["", "Sec-WebSocket-Protocol: chat, tandem.v2\r\n"] {
            let refusal = refusal(classify(upgrade(extra).as_bytes(), LOCAL, &[]));
            assert_eq!(refusal.status, "400 Bad Request");
            assert_eq!(refusal.body.lines().next(), Some("supported: tandem.v1"));
            let text = String::from_utf8(refusal.response()).unwrap_or_default();
            assert!(text.starts_with("HTTP/1.1 400 Bad Request\r\n"));
            assert!(text.contains("Content-Type: text/plain; charset=utf-8\r\n"));
        }
    }

    #[test]
    fn plain_requests_are_health_metrics_or_426() {
        let get = |path: &str| format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(
            classify(get("/healthz").as_bytes(), LOCAL, &[]),
            Request::Health
        );
        assert_eq!(
            classify(get("/metrics?x=1").as_bytes(), LOCAL, &[]),
            Request::Metrics
        );
        assert_eq!(
            refusal(classify(get("/").as_bytes(), LOCAL, &[])).status,
            "426 Upgrade Required"
        );
        let post = "POST /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
        assert_eq!(
            refusal(classify(post.as_bytes(), LOCAL, &[])).status,
            "405 Method Not Allowed"
        );
        assert_eq!(
            refusal(classify(b"\x16\x03\x01garbage\r\n\r\n", LOCAL, &[])).status,
            "400 Bad Request"
        );
    }

    #[test]
    fn broken_upgrades_are_refused() {
        let bad_key = upgrade("").replace("dGhlIHNhbXBsZSBub25jZQ==", "short");
        assert_eq!(
            refusal(classify(bad_key.as_bytes(), LOCAL, &[])).status,
            "400 Bad Request"
        );
        let old =
            upgrade("Sec-WebSocket-Protocol: tandem.v1\r\n").replace("Version: 13", "Version: 8");
        let refusal_old = refusal(classify(old.as_bytes(), LOCAL, &[]));
        assert_eq!(refusal_old.status, "426 Upgrade Required");
        assert!(refusal_old.headers.contains("Sec-WebSocket-Version: 13"));
        let no_connection = upgrade("Sec-WebSocket-Protocol: tandem.v1\r\n")
            .replace("keep-alive, Upgrade", "keep-alive");
        assert_eq!(
            refusal(classify(no_connection.as_bytes(), LOCAL, &[])).status,
            "400 Bad Request"
        );
    }

    #[test]
    fn forwarded_addresses_count_only_from_a_trusted_proxy() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap_or(LOCAL);
        let head = upgrade(
            "Sec-WebSocket-Protocol: tandem.v1\r\nForwarded: for=192.0.2.60;proto=http, for=\"[2001:db8:cafe::17]:4711\"\r\n",
        );
        let forwarded = |peer, trusted: &[IpAddr]| match classify(head.as_bytes(), peer, trusted) {
            Request::Upgrade(up) => up.forwarded_for,
            _ => None,
        };
        assert_eq!(forwarded(proxy, &[proxy]), "2001:db8:cafe::17".parse().ok());
        // [TRN-10] otherwise it MUST use the address of the TCP connection.
        assert_eq!(forwarded(LOCAL, &[proxy]), None);
        let xff = upgrade(
            "Sec-WebSocket-Protocol: tandem.v1\r\nX-Forwarded-For: 198.51.100.7, 203.0.113.9\r\n",
        );
        let Request::Upgrade(up) = classify(xff.as_bytes(), proxy, &[proxy]) else {
            panic!("not an upgrade");
        };
        assert_eq!(up.forwarded_for, "203.0.113.9".parse().ok());
    }
}
