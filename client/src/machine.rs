//! The calling contract of the core's machines as one trait (see
//! `tandem_proto`'s crate docs), implemented for the primary (spec §3.4,
//! §7), the linked companion (§5, §7) and the pairing companion (§4).

use bytes::Bytes;
use tandem_proto::companion::pairing::{Pairing, PairingEvent};
use tandem_proto::companion::{Companion, CompanionEvent};
use tandem_proto::primary::{Primary, PrimaryEvent};
use tandem_proto::store::Store;
use tandem_proto::{Error, Instant, Transmit};

/// A sans-IO machine the driver can run: bytes and time in; frames,
/// timers and events out.
pub trait Machine: Send + 'static {
    /// What the machine tells the application.
    type Event: Send + std::fmt::Debug + 'static;

    /// The WebSocket is open.
    fn handle_connected(&mut self, now: Instant) -> Result<(), Error>;
    /// One binary message arrived.
    fn handle_frame(&mut self, now: Instant, message: Bytes) -> Result<(), Error>;
    /// The WebSocket is gone.
    fn handle_disconnected(&mut self, now: Instant);
    /// The timer from [`Machine::poll_timeout`] passed.
    fn handle_timeout(&mut self, now: Instant) -> Result<(), Error>;
    /// The next frame to send or close to perform.
    fn poll_transmit(&mut self) -> Option<Transmit>;
    /// The next event.
    fn poll_event(&mut self) -> Option<Self::Event>;
    /// When to call [`Machine::handle_timeout`].
    fn poll_timeout(&self) -> Option<Instant>;
    /// Whether the machine has nothing more to do on any connection; the
    /// driver then closes the WebSocket and stops.
    fn is_finished(&self) -> bool {
        false
    }
}

impl<S: Store + Send + 'static> Machine for Primary<S> {
    type Event = PrimaryEvent;

    fn handle_connected(&mut self, now: Instant) -> Result<(), Error> {
        Primary::handle_connected(self, now)
    }
    fn handle_frame(&mut self, now: Instant, message: Bytes) -> Result<(), Error> {
        Primary::handle_frame(self, now, message)
    }
    fn handle_disconnected(&mut self, now: Instant) {
        Primary::handle_disconnected(self, now)
    }
    fn handle_timeout(&mut self, now: Instant) -> Result<(), Error> {
        Primary::handle_timeout(self, now)
    }
    fn poll_transmit(&mut self) -> Option<Transmit> {
        Primary::poll_transmit(self)
    }
    fn poll_event(&mut self) -> Option<PrimaryEvent> {
        Primary::poll_event(self)
    }
    fn poll_timeout(&self) -> Option<Instant> {
        Primary::poll_timeout(self)
    }
}

impl Machine for Companion {
    type Event = CompanionEvent;

    fn handle_connected(&mut self, now: Instant) -> Result<(), Error> {
        Companion::handle_connected(self, now)
    }
    fn handle_frame(&mut self, now: Instant, message: Bytes) -> Result<(), Error> {
        Companion::handle_frame(self, now, message)
    }
    fn handle_disconnected(&mut self, now: Instant) {
        Companion::handle_disconnected(self, now)
    }
    fn handle_timeout(&mut self, now: Instant) -> Result<(), Error> {
        Companion::handle_timeout(self, now)
    }
    fn poll_transmit(&mut self) -> Option<Transmit> {
        Companion::poll_transmit(self)
    }
    fn poll_event(&mut self) -> Option<CompanionEvent> {
        Companion::poll_event(self)
    }
    fn poll_timeout(&self) -> Option<Instant> {
        Companion::poll_timeout(self)
    }
    /// Wiped ([RECON-07]) and out of its last session: it never connects
    /// again.
    fn is_finished(&self) -> bool {
        self.is_wiped() && !self.is_live()
    }
}

impl Machine for Pairing {
    type Event = PairingEvent;

    fn handle_connected(&mut self, now: Instant) -> Result<(), Error> {
        Pairing::handle_connected(self, now)
    }
    fn handle_frame(&mut self, now: Instant, message: Bytes) -> Result<(), Error> {
        Pairing::handle_frame(self, now, message)
    }
    fn handle_disconnected(&mut self, now: Instant) {
        Pairing::handle_disconnected(self, now)
    }
    fn handle_timeout(&mut self, now: Instant) -> Result<(), Error> {
        Pairing::handle_timeout(self, now)
    }
    fn poll_transmit(&mut self) -> Option<Transmit> {
        Pairing::poll_transmit(self)
    }
    fn poll_event(&mut self) -> Option<PairingEvent> {
        Pairing::poll_event(self)
    }
    fn poll_timeout(&self) -> Option<Instant> {
        Pairing::poll_timeout(self)
    }
    /// Linked or failed: pairing is over.
    fn is_finished(&self) -> bool {
        self.is_done()
    }
}
