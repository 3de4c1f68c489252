//! The client end of one relay connection, shared by the primary and the
//! companion machines: the queue of envelope frames to send, and the
//! keepalive of spec §3.6 (a `Ping` after `PING_INTERVAL` of silence, the
//! connection declared dead after another interval).

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;
use tandem_codec::Code;
use tandem_codec::envelope::{Data, EnvelopeFrame, LinkClosed, Ping, Pong};

use crate::{Error, Instant};

/// `PING_INTERVAL` (spec §10.3).
pub const PING_INTERVAL: Duration = Duration::from_secs(20);

/// What the driver must do on the WebSocket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transmit {
    /// Send this envelope frame as one binary message.
    Frame(Bytes),
    /// Close the WebSocket with this code and reason. The machine has
    /// already treated the connection as lost; calling its
    /// `handle_disconnected` afterwards is harmless.
    Close {
        /// The close code (spec §10.2).
        code: Code,
        /// For people.
        reason: String,
    },
}

/// What a keepalive check found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Keepalive {
    /// Nothing to do.
    Quiet,
    /// The connection stayed silent through a ping: it is dead ([ENV-04]).
    Dead,
}

pub(crate) struct Wire {
    queue: VecDeque<Transmit>,
    ping_interval: Duration,
    last_received: Instant,
    ping_sent_at: Option<Instant>,
    next_ping_nonce: u64,
    connected: bool,
}

impl Wire {
    pub(crate) fn new(ping_interval: Duration) -> Self {
        Self {
            queue: VecDeque::new(),
            ping_interval,
            last_received: Instant::ZERO,
            ping_sent_at: None,
            next_ping_nonce: 1,
            connected: false,
        }
    }

    pub(crate) fn is_connected(&self) -> bool {
        self.connected
    }

    pub(crate) fn connected(&mut self, now: Instant) {
        // A Close kept for the previous connection is not for this one.
        self.queue.clear();
        self.connected = true;
        self.last_received = now;
        self.ping_sent_at = None;
    }

    pub(crate) fn disconnected(&mut self) {
        self.connected = false;
        // Frames for a connection that is gone are dropped; a Close the
        // machine queued for it is kept, so that the driver still sends it
        // ([ENV-06]: the relay is told why).
        self.queue
            .retain(|transmit| matches!(transmit, Transmit::Close { .. }));
        self.ping_sent_at = None;
    }

    /// Notes that a frame arrived; answers a `Ping` and returns `true` when
    /// the frame was keepalive only.
    pub(crate) fn received(&mut self, now: Instant, frame: &EnvelopeFrame) -> Result<bool, Error> {
        self.last_received = now;
        self.ping_sent_at = None;
        match frame {
            EnvelopeFrame::Ping(ping) => {
                // [ENV-02] The receiver MUST answer with `Pong(nonce)`
                // carrying the same nonce.
                self.send(Pong { nonce: ping.nonce })?;
                Ok(true)
            }
            EnvelopeFrame::Pong(_) => Ok(true),
            _ => Ok(false),
        }
    }

    pub(crate) fn send(&mut self, frame: impl Into<EnvelopeFrame>) -> Result<(), Error> {
        if self.connected {
            self.queue
                .push_back(Transmit::Frame(frame.into().to_bytes()?));
        }
        Ok(())
    }

    pub(crate) fn send_data(&mut self, link_id: u32, payload: Bytes) -> Result<(), Error> {
        self.send(Data { link_id, payload })
    }

    pub(crate) fn close_link(&mut self, link_id: u32, code: Code) -> Result<(), Error> {
        self.send(LinkClosed { link_id, code })
    }

    pub(crate) fn close(&mut self, code: Code, reason: impl Into<String>) {
        if self.connected {
            self.queue.push_back(Transmit::Close {
                code,
                reason: reason.into(),
            });
            self.connected = false;
        }
    }

    pub(crate) fn poll(&mut self) -> Option<Transmit> {
        self.queue.pop_front()
    }

    pub(crate) fn timeout(&self) -> Option<Instant> {
        if !self.connected {
            return None;
        }
        Some(match self.ping_sent_at {
            Some(sent) => sent + self.ping_interval,
            None => self.last_received + self.ping_interval,
        })
    }

    pub(crate) fn on_timeout(&mut self, now: Instant) -> Result<Keepalive, Error> {
        let Some(deadline) = self.timeout() else {
            return Ok(Keepalive::Quiet);
        };
        if now < deadline {
            return Ok(Keepalive::Quiet);
        }
        if self.ping_sent_at.is_some() {
            // [ENV-04] ... SHOULD treat the connection as dead when it then
            // receives nothing for a further `PING_INTERVAL`.
            self.close(Code::GOING_AWAY, "relay connection silent");
            return Ok(Keepalive::Dead);
        }
        // [ENV-03] A client SHOULD send a `Ping` when it has received
        // nothing for `PING_INTERVAL`.
        let nonce = self.next_ping_nonce;
        self.next_ping_nonce += 1;
        self.send(Ping { nonce })?;
        self.ping_sent_at = Some(now);
        Ok(Keepalive::Quiet)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(transmit: Option<Transmit>) -> EnvelopeFrame {
        match transmit {
            Some(Transmit::Frame(bytes)) => EnvelopeFrame::decode(&bytes).unwrap(),
            other => panic!("expected a frame, got {other:?}"),
        }
    }

    #[test]
    fn silence_brings_a_ping_then_a_dead_connection() {
        let mut wire = Wire::new(PING_INTERVAL);
        let start = Instant::from_micros(0);
        wire.connected(start);
        assert_eq!(wire.timeout(), Some(start + PING_INTERVAL));
        // Before the interval nothing happens.
        assert_eq!(
            wire.on_timeout(start + PING_INTERVAL / 2).unwrap(),
            Keepalive::Quiet
        );
        assert_eq!(wire.poll(), None);
        // [ENV-03] a Ping after PING_INTERVAL of silence.
        let pinged = start + PING_INTERVAL;
        assert_eq!(wire.on_timeout(pinged).unwrap(), Keepalive::Quiet);
        assert!(matches!(decode(wire.poll()), EnvelopeFrame::Ping(_)));
        // [ENV-04] another silent interval: dead, and the WebSocket closes.
        assert_eq!(
            wire.on_timeout(pinged + PING_INTERVAL).unwrap(),
            Keepalive::Dead
        );
        assert!(matches!(
            wire.poll(),
            Some(Transmit::Close {
                code: Code::GOING_AWAY,
                ..
            })
        ));
        assert_eq!(wire.timeout(), None);
    }

    #[test]
    fn any_frame_resets_the_keepalive_and_pings_are_answered() {
        let mut wire = Wire::new(PING_INTERVAL);
        let start = Instant::from_micros(0);
        wire.connected(start);
        wire.on_timeout(start + PING_INTERVAL).unwrap();
        wire.poll();
        let later = start + PING_INTERVAL + PING_INTERVAL / 2;
        // [ENV-02] a Ping is answered with the same nonce.
        assert!(
            wire.received(later, &EnvelopeFrame::Ping(Ping { nonce: 42 }))
                .unwrap()
        );
        assert_eq!(decode(wire.poll()), EnvelopeFrame::Pong(Pong { nonce: 42 }));
        assert_eq!(wire.timeout(), Some(later + PING_INTERVAL));
    }
}
