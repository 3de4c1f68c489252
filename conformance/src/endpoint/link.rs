//! The runner's own endpoint on one link (spec §6): a relay connection, the
//! link id it talks on, and, once a handshake finished, the Noise session.
//! It seals inner frames into `Data` (or sends any bytes on purpose),
//! opens what arrives, and logs every inner frame decrypted next to the
//! envelope bytes the relay carried.

use std::time::{Duration, Instant};

use bytes::Bytes;
use tandem_codec::Code;
use tandem_codec::envelope::{Data, EnvelopeFrame, LinkClosed};
use tandem_codec::session::InnerFrame;
use tandem_proto::Session;

use crate::case::{FailKind, Failure};
use crate::relay::peer::{Event, Peer, code_name};
use crate::wirelog::{Direction, EntryKind, Log};

/// What arrived on the link.
#[derive(Debug)]
pub enum Incoming {
    /// An inner frame that decrypted and decoded.
    Frame(InnerFrame),
    /// A `Data` payload before a session exists (a handshake message).
    Handshake(Bytes),
    /// A `Data` payload that did not decrypt or decode: the implementation
    /// broke the session.
    Broken(String),
    /// `LinkClosed` for this link, with its code.
    LinkClosed(u16),
    /// `PeerState` for this link.
    PeerState(bool),
    /// Any other envelope frame on the connection.
    Envelope(EnvelopeFrame),
    /// The relay connection ended.
    Ended(String),
}

impl Incoming {
    /// For "expected … / actual …".
    pub fn describe(&self) -> String {
        match self {
            Self::Frame(f) => describe_inner(f),
            Self::Handshake(b) => format!("a handshake message of {} bytes", b.len()),
            Self::Broken(why) => format!("a Data payload that does not open ({why})"),
            Self::LinkClosed(code) => format!("LinkClosed with code {code}{}", code_name(*code)),
            Self::PeerState(online) => format!("PeerState(online = {online})"),
            Self::Envelope(f) => crate::relay::peer::describe(f),
            Self::Ended(why) => format!("the end of the relay connection ({why})"),
        }
    }
}

/// An inner frame for people: its name and JSON form.
pub fn describe_inner(frame: &InnerFrame) -> String {
    let json = serde_json::to_string(frame).unwrap_or_default();
    format!("{} {}", frame.name(), crate::codec::check::shorten(&json))
}

/// The runner's end of one link.
pub struct Link {
    /// The relay connection.
    pub peer: Peer,
    /// The link id on that connection.
    pub link: u32,
    /// The session, once a handshake finished.
    pub session: Option<Session>,
    log: Log,
    /// Every `Data` payload this side sent, in order, for replay faults.
    pub sent_payloads: Vec<Bytes>,
}

impl Link {
    /// A link without a session yet.
    pub fn new(peer: Peer, link: u32, log: &Log) -> Self {
        Self {
            peer,
            link,
            session: None,
            log: log.clone(),
            sent_payloads: Vec::new(),
        }
    }

    fn session(&mut self) -> Result<&mut Session, Failure> {
        self.session
            .as_mut()
            .ok_or_else(|| Failure::harness("a session on the link", "no handshake finished"))
    }

    fn note_inner(&self, direction: Direction, plain: &[u8], frame: Option<&InnerFrame>) {
        let (decoded, text) = match frame {
            Some(f) => (serde_json::to_value(f).ok(), format!("[{}]", f.name())),
            None => (None, "[inner bytes that do not decode]".to_owned()),
        };
        self.log.bytes(
            self.peer.name(),
            EntryKind::Frame,
            direction,
            plain,
            decoded,
            format!("{text} on link {} (decrypted)", self.link),
        );
    }

    /// Sends one `Data` payload as it is.
    pub async fn send_payload(&mut self, payload: Bytes) -> Result<(), Failure> {
        self.sent_payloads.push(payload.clone());
        self.peer
            .send(Data {
                link_id: self.link,
                payload,
            })
            .await
    }

    /// Seals and sends an inner frame (two messages when a `Rekey` is due).
    pub async fn send(&mut self, frame: &InnerFrame) -> Result<(), Failure> {
        let mut plain = bytes::BytesMut::new();
        frame
            .encode(&mut plain)
            .map_err(|e| Failure::harness("an inner frame that encodes", e.to_string()))?;
        self.note_inner(Direction::Sent, &plain, Some(frame));
        let mut sealed = Vec::new();
        self.session()?
            .seal(frame, &mut sealed)
            .map_err(|e| Failure::harness("a frame that seals", e.to_string()))?;
        for payload in sealed {
            self.send_payload(payload).await?;
        }
        Ok(())
    }

    /// Seals any plaintext (an inner frame that does not decode, on
    /// purpose) and sends it.
    pub async fn send_plain(&mut self, plain: &[u8], what: &str) -> Result<(), Failure> {
        self.log.bytes(
            self.peer.name(),
            EntryKind::Frame,
            Direction::Sent,
            plain,
            None,
            format!("[{what}] on link {} (before encryption)", self.link),
        );
        let payload = self
            .session()?
            .seal_raw_for_testing(plain)
            .map_err(|e| Failure::harness("plaintext that seals", e.to_string()))?;
        self.send_payload(payload).await
    }

    /// Seals `frame` and returns the payload without sending it (to send it
    /// twice, late, or changed).
    pub fn seal_only(&mut self, frame: &InnerFrame) -> Result<Bytes, Failure> {
        let mut plain = bytes::BytesMut::new();
        frame
            .encode(&mut plain)
            .map_err(|e| Failure::harness("an inner frame that encodes", e.to_string()))?;
        self.note_inner(Direction::Sent, &plain, Some(frame));
        self.session()?
            .seal_raw_for_testing(&plain)
            .map_err(|e| Failure::harness("a frame that seals", e.to_string()))
    }

    /// Sends `LinkClosed` for this link.
    pub async fn close_link(&mut self, code: Code) -> Result<(), Failure> {
        self.peer
            .send(LinkClosed {
                link_id: self.link,
                code,
            })
            .await
    }

    /// The next thing that arrives for this link (or the connection).
    pub async fn next(&mut self, within: Duration, waiting_for: &str) -> Result<Incoming, Failure> {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let event = self.peer.next(left, waiting_for).await?;
            let frame = match event {
                Event::Frame(f) => f,
                Event::Close(code, reason) => {
                    return Ok(Incoming::Ended(format!("Close {code:?} {reason}")));
                }
                Event::Ended(why) => return Ok(Incoming::Ended(why)),
                Event::Text(_) | Event::Undecodable(..) => {
                    return Ok(Incoming::Ended(event.describe()));
                }
            };
            return Ok(match frame {
                EnvelopeFrame::Data(d) if d.link_id == self.link => self.open(d.payload),
                EnvelopeFrame::LinkClosed(c) if c.link_id == self.link => {
                    Incoming::LinkClosed(c.code.0)
                }
                EnvelopeFrame::PeerState(p) if p.link_id == self.link => {
                    Incoming::PeerState(p.online)
                }
                // The relay answers the peer's own keepalive; not the case's.
                EnvelopeFrame::Pong(_) => continue,
                other => Incoming::Envelope(other),
            });
        }
    }

    fn open(&mut self, payload: Bytes) -> Incoming {
        let Some(session) = self.session.as_mut() else {
            return Incoming::Handshake(payload);
        };
        match session.open(&payload) {
            Ok(frame) => {
                let mut plain = bytes::BytesMut::new();
                let _ = frame.encode(&mut plain);
                self.note_inner(Direction::Received, &plain, Some(&frame));
                Incoming::Frame(frame)
            }
            Err(e) => {
                self.log.note(format!(
                    "{}: a Data payload of {} bytes does not open: {e}",
                    self.peer.name(),
                    payload.len()
                ));
                Incoming::Broken(e.to_string())
            }
        }
    }

    /// Waits for what `accept` takes; anything else fails with `what`.
    pub async fn expect<T>(
        &mut self,
        within: Duration,
        what: &str,
        mut accept: impl FnMut(&Incoming) -> Option<T>,
    ) -> Result<T, Failure> {
        let incoming = self.next(within, what).await?;
        accept(&incoming).ok_or_else(|| {
            Failure::fail(
                format!("{} to receive {what}", self.peer.name()),
                incoming.describe(),
            )
        })
    }

    /// Waits for what `accept` takes, skipping what `skip` allows.
    pub async fn expect_skipping<T>(
        &mut self,
        within: Duration,
        what: &str,
        mut skip: impl FnMut(&Incoming) -> bool,
        mut accept: impl FnMut(&Incoming) -> Option<T>,
    ) -> Result<T, Failure> {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let incoming = self.next(left, what).await?;
            if let Some(value) = accept(&incoming) {
                return Ok(value);
            }
            if !skip(&incoming) {
                return Err(Failure::fail(
                    format!("{} to receive {what}", self.peer.name()),
                    incoming.describe(),
                ));
            }
        }
    }

    /// Waits for an inner frame that `accept` takes; any other fails.
    pub async fn expect_frame<T>(
        &mut self,
        within: Duration,
        what: &str,
        mut accept: impl FnMut(&InnerFrame) -> Option<T>,
    ) -> Result<T, Failure> {
        self.expect(within, what, |i| match i {
            Incoming::Frame(f) => accept(f),
            _ => None,
        })
        .await
    }

    /// As [`Link::expect_frame`], skipping inner frames `skip` allows.
    pub async fn expect_frame_skipping<T>(
        &mut self,
        within: Duration,
        what: &str,
        mut skip: impl FnMut(&InnerFrame) -> bool,
        mut accept: impl FnMut(&InnerFrame) -> Option<T>,
    ) -> Result<T, Failure> {
        self.expect_skipping(
            within,
            what,
            |i| matches!(i, Incoming::Frame(f) if skip(f)),
            |i| match i {
                Incoming::Frame(f) => accept(f),
                _ => None,
            },
        )
        .await
    }

    /// Waits for the session to end with `code`: `Close(code)` then (or
    /// only) `LinkClosed`, or `LinkClosed(code)` alone. Inner frames that
    /// `skip` allows may come first.
    pub async fn expect_end(
        &mut self,
        within: Duration,
        code: Code,
        why: &str,
        mut skip: impl FnMut(&InnerFrame) -> bool,
    ) -> Result<(), Failure> {
        let what = format!(
            "the session to end with code {}{} ({why})",
            code.0,
            code_name(code.0)
        );
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let incoming = self.next(left, &what).await?;
            match &incoming {
                Incoming::Frame(InnerFrame::Close(c)) if c.code == code => return Ok(()),
                Incoming::LinkClosed(c) if *c == code.0 => return Ok(()),
                Incoming::Frame(f) if skip(f) => {}
                _ => {
                    return Err(Failure::fail(
                        format!("{} to see {what}", self.peer.name()),
                        incoming.describe(),
                    ));
                }
            }
        }
    }

    /// Checks that nothing but what `allow` accepts arrives for `during`.
    pub async fn expect_quiet(
        &mut self,
        during: Duration,
        why: &str,
        mut allow: impl FnMut(&Incoming) -> bool,
    ) -> Result<(), Failure> {
        let deadline = Instant::now() + during;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(());
            }
            match self.next(left, "nothing").await {
                Err(f) if f.kind == FailKind::Timeout => return Ok(()),
                Err(f) => return Err(f),
                Ok(incoming) if allow(&incoming) => {}
                Ok(incoming) => {
                    return Err(Failure::fail(
                        format!("nothing for {:.1} s ({why})", during.as_secs_f64()),
                        incoming.describe(),
                    ));
                }
            }
        }
    }
}
