//! A raw TCP client for what a well-behaved WebSocket library will not
//! send (spec §2.2, §2.3, §3.9): hand-written upgrade requests (no
//! subprotocol, an unknown one, extensions), unmasked or fragmented
//! frames, reserved bits and opcodes, long control frames, and stalled
//! upgrades. It reads the relay's HTTP response and WebSocket frames raw.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::case::Failure;
use crate::relay::peer::{Stream, code_name, open};
use crate::wirelog::{Direction, EntryKind, Log};

/// The relay's answer to an upgrade request.
#[derive(Clone, Debug, Default)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Header names (lower case) and values.
    pub headers: Vec<(String, String)>,
    /// The body, for a refusal.
    pub body: String,
}

impl Response {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One WebSocket frame from the relay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RawEvent {
    /// A frame.
    Frame {
        /// FIN.
        fin: bool,
        /// The opcode.
        opcode: u8,
        /// The payload.
        payload: Vec<u8>,
    },
    /// The TCP connection ended (read 0, or reset).
    Eof,
}

/// A raw TCP connection to the relay.
pub struct RawClient {
    name: String,
    stream: Stream,
    log: Log,
    buf: Vec<u8>,
    mask: [u8; 4],
    /// When the TCP connection was opened.
    pub opened_at: Instant,
    host: String,
    path: String,
}

impl RawClient {
    /// Opens the TCP connection to the relay of `url`.
    pub async fn connect(
        name: String,
        url: &str,
        log: &Log,
        mask: [u8; 4],
    ) -> Result<Self, Failure> {
        let opened_at = Instant::now();
        let (stream, address) = open(url, None).await?;
        let rest = url
            .strip_prefix("ws://")
            .or_else(|| url.strip_prefix("wss://"))
            .unwrap_or(url);
        let (host, path) = match rest.find('/') {
            Some(at) => (rest[..at].to_owned(), rest[at..].to_owned()),
            None => (rest.to_owned(), "/".to_owned()),
        };
        log.event(
            &name,
            EntryKind::Websocket,
            Direction::Sent,
            format!("TCP connection to {address}"),
        );
        Ok(Self {
            name,
            stream,
            log: log.clone(),
            buf: Vec::new(),
            mask,
            opened_at,
            host,
            path,
        })
    }

    /// Writes bytes as they are.
    pub async fn write(&mut self, bytes: &[u8], what: &str) -> Result<(), Failure> {
        self.log.bytes(
            &self.name,
            EntryKind::Websocket,
            Direction::Sent,
            bytes,
            None,
            what,
        );
        self.stream.write_all(bytes).await.map_err(|e| {
            Failure::fail(
                format!("{} to be able to send {what}", self.name),
                format!("the connection is closed ({e})"),
            )
        })
    }

    /// The upgrade request's text, with the given subprotocol header value
    /// (none when `None`) and extra headers, and no final blank line.
    pub fn request_head(&self, protocols: Option<&str>, extra: &[(&str, &str)]) -> String {
        let mut head = format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n",
            self.path, self.host
        );
        if let Some(p) = protocols {
            head.push_str(&format!("Sec-WebSocket-Protocol: {p}\r\n"));
        }
        for (k, v) in extra {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head
    }

    /// Sends an upgrade request and reads the response head (and the body
    /// of a refusal).
    pub async fn upgrade(
        &mut self,
        protocols: Option<&str>,
        extra: &[(&str, &str)],
        within: Duration,
    ) -> Result<Response, Failure> {
        let mut request = self.request_head(protocols, extra);
        request.push_str("\r\n");
        self.log.event(
            &self.name,
            EntryKind::Http,
            Direction::Sent,
            request.trim_end().to_owned(),
        );
        self.stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| Failure::fail("to send an upgrade request", e.to_string()))?;
        let deadline = Instant::now() + within;
        let end = loop {
            if let Some(at) = find(&self.buf, b"\r\n\r\n") {
                break at;
            }
            self.fill(deadline, "an HTTP response").await?;
        };
        let head = String::from_utf8_lossy(&self.buf[..end]).into_owned();
        self.buf.drain(..end + 4);
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let mut response = Response {
            status,
            headers,
            body: String::new(),
        };
        if status != 101 {
            let length: Option<usize> = response
                .header("content-length")
                .and_then(|v| v.parse().ok());
            loop {
                if length.is_some_and(|n| self.buf.len() >= n) {
                    break;
                }
                match self.fill(deadline, "the response body").await {
                    Ok(()) => {}
                    Err(_) if length.is_none() => break,
                    Err(f) => return Err(f),
                }
            }
            let n = length.unwrap_or(self.buf.len()).min(self.buf.len());
            response.body = String::from_utf8_lossy(&self.buf[..n]).into_owned();
            self.buf.drain(..n);
        }
        self.log.event(
            &self.name,
            EntryKind::Http,
            Direction::Received,
            format!("{head}\n\n{}", response.body).trim_end().to_owned(),
        );
        Ok(response)
    }

    /// Reads more bytes into the buffer, or fails at the deadline or the
    /// end of the connection.
    async fn fill(&mut self, deadline: Instant, what: &str) -> Result<(), Failure> {
        let left = deadline.saturating_duration_since(Instant::now());
        let mut chunk = [0u8; 16 * 1024];
        match tokio::time::timeout(left, self.stream.read(&mut chunk)).await {
            Err(_) => Err(Failure::timeout(
                format!("{} to receive {what}", self.name),
                "nothing arrived",
            )),
            Ok(Ok(0)) | Ok(Err(_)) => Err(Failure::fail(
                format!("{} to receive {what}", self.name),
                "the connection ended",
            )),
            Ok(Ok(n)) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(())
            }
        }
    }

    /// Sends one WebSocket frame built by hand.
    pub async fn send_frame(
        &mut self,
        fin: bool,
        rsv: u8,
        opcode: u8,
        masked: bool,
        payload: &[u8],
        what: &str,
    ) -> Result<(), Failure> {
        let bytes = frame(fin, rsv, opcode, masked.then_some(self.mask), payload);
        self.write(&bytes, what).await
    }

    /// The next frame from the relay, or the end of the connection.
    pub async fn read_frame(&mut self, within: Duration) -> Result<RawEvent, Failure> {
        let deadline = Instant::now() + within;
        loop {
            if let Some((event, used)) = parse_frame(&self.buf) {
                self.buf.drain(..used);
                if let RawEvent::Frame {
                    opcode, payload, ..
                } = &event
                {
                    let text = if *opcode == 0x8 && payload.len() >= 2 {
                        let code = u16::from_be_bytes([payload[0], payload[1]]);
                        format!("Close {code}{}", code_name(code))
                    } else {
                        format!("WebSocket frame, opcode {opcode:#x}")
                    };
                    self.log.bytes(
                        &self.name,
                        EntryKind::Websocket,
                        Direction::Received,
                        payload,
                        None,
                        text,
                    );
                }
                return Ok(event);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let mut chunk = [0u8; 16 * 1024];
            match tokio::time::timeout(left, self.stream.read(&mut chunk)).await {
                Err(_) => {
                    return Err(Failure::timeout(
                        format!(
                            "{} to receive a frame or the end of the connection",
                            self.name
                        ),
                        "nothing arrived",
                    ));
                }
                Ok(Ok(0)) | Ok(Err(_)) => {
                    self.log.event(
                        &self.name,
                        EntryKind::Websocket,
                        Direction::Received,
                        "the TCP connection ended",
                    );
                    return Ok(RawEvent::Eof);
                }
                Ok(Ok(n)) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// Waits for a Close frame with `code`, skipping binary messages.
    pub async fn expect_close(
        &mut self,
        within: Duration,
        code: u16,
        why: &str,
    ) -> Result<(), Failure> {
        let expected = format!(
            "{} to receive a Close frame with code {code}{} ({why})",
            self.name,
            code_name(code)
        );
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let event = self.read_frame(left).await.map_err(|f| Failure {
                expected: expected.clone(),
                ..f
            })?;
            match event {
                RawEvent::Frame {
                    opcode: 0x8,
                    payload,
                    ..
                } if payload.len() >= 2 => {
                    let got = u16::from_be_bytes([payload[0], payload[1]]);
                    return if got == code {
                        Ok(())
                    } else {
                        Err(Failure::fail(
                            expected,
                            format!("a Close frame with code {got}{}", code_name(got)),
                        ))
                    };
                }
                RawEvent::Frame { opcode: 0x8, .. } => {
                    return Err(Failure::fail(expected, "a Close frame without a code"));
                }
                RawEvent::Frame {
                    opcode: 0x2 | 0x0 | 0x9 | 0xA,
                    ..
                } => {}
                RawEvent::Frame { opcode, .. } => {
                    return Err(Failure::fail(
                        expected,
                        format!("a frame with opcode {opcode:#x}"),
                    ));
                }
                RawEvent::Eof => {
                    return Err(Failure::fail(
                        expected,
                        "the end of the connection without a Close frame [TRN-06]",
                    ));
                }
            }
        }
    }

    /// Waits for the end of the TCP connection; returns when it came.
    pub async fn expect_eof(&mut self, within: Duration, why: &str) -> Result<Instant, Failure> {
        let expected = format!("the relay to close {}'s TCP connection ({why})", self.name);
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let mut chunk = [0u8; 4096];
            match tokio::time::timeout(left, self.stream.read(&mut chunk)).await {
                Err(_) => return Err(Failure::timeout(expected, "it stayed open")),
                Ok(Ok(0)) | Ok(Err(_)) => {
                    self.log.event(
                        &self.name,
                        EntryKind::Websocket,
                        Direction::Received,
                        "the TCP connection ended",
                    );
                    return Ok(Instant::now());
                }
                Ok(Ok(n)) => {
                    self.log.bytes(
                        &self.name,
                        EntryKind::Websocket,
                        Direction::Received,
                        &chunk[..n],
                        None,
                        "bytes before the end",
                    );
                }
            }
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Encodes a WebSocket frame (RFC 6455 §5.2).
pub fn frame(fin: bool, rsv: u8, opcode: u8, mask: Option<[u8; 4]>, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 14);
    out.push(if fin { 0x80 } else { 0 } | ((rsv & 0x7) << 4) | (opcode & 0x0F));
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    match payload.len() {
        n @ 0..=125 => out.push(mask_bit | u8::try_from(n).unwrap_or(125)),
        n @ 126..=0xFFFF => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&u16::try_from(n).unwrap_or(u16::MAX).to_be_bytes());
        }
        n => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&u64::try_from(n).unwrap_or(u64::MAX).to_be_bytes());
        }
    }
    match mask {
        Some(key) => {
            out.extend_from_slice(&key);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        }
        None => out.extend_from_slice(payload),
    }
    out
}

/// Parses one server frame (unmasked, or masked by a wrong server) from
/// the front of `buf`: the event and the bytes it used.
fn parse_frame(buf: &[u8]) -> Option<(RawEvent, usize)> {
    let b0 = *buf.first()?;
    let b1 = *buf.get(1)?;
    let mut at = 2;
    let len = match b1 & 0x7F {
        126 => {
            let n = u16::from_be_bytes([*buf.get(2)?, *buf.get(3)?]);
            at = 4;
            usize::from(n)
        }
        127 => {
            let bytes: [u8; 8] = buf.get(2..10)?.try_into().ok()?;
            at = 10;
            usize::try_from(u64::from_be_bytes(bytes)).ok()?
        }
        n => usize::from(n),
    };
    let mask = if b1 & 0x80 != 0 {
        let key: [u8; 4] = buf.get(at..at + 4)?.try_into().ok()?;
        at += 4;
        Some(key)
    } else {
        None
    };
    let payload = buf.get(at..at.checked_add(len)?)?;
    let payload = match mask {
        Some(key) => payload
            .iter()
            .enumerate()
            .map(|(i, b)| b ^ key[i % 4])
            .collect(),
        None => payload.to_vec(),
    };
    Some((
        RawEvent::Frame {
            fin: b0 & 0x80 != 0,
            opcode: b0 & 0x0F,
            payload,
        },
        at + len,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        for len in [0usize, 5, 125, 126, 300, 70_000] {
            let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
            for mask in [None, Some([1, 2, 3, 4])] {
                let bytes = frame(true, 0, 2, mask, &payload);
                let (event, used) = parse_frame(&bytes).unwrap_or((RawEvent::Eof, 0));
                assert_eq!(used, bytes.len());
                assert_eq!(
                    event,
                    RawEvent::Frame {
                        fin: true,
                        opcode: 2,
                        payload: payload.clone()
                    }
                );
            }
        }
        assert_eq!(parse_frame(&[0x88, 0x02, 0x03]), None);
        assert_eq!(frame(false, 4, 9, None, b"")[0], 0x49);
    }
}
