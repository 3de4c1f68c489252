//! The encrypted session (spec §6): inner frames sealed into Noise
//! transport messages, rekeying every `REKEY_INTERVAL` messages, and fatal
//! handling of any decryption failure.

use bytes::{Bytes, BytesMut};
use tandem_codec::limits::{MAX_INNER_FRAME, NOISE_TAG};
use tandem_codec::session::InnerFrame;

use crate::Error;

/// Messages under one key before a `Rekey` is due ([SESS-07]): 2^20.
pub const REKEY_INTERVAL: u64 = 1 << 20;

/// A Noise transport state for one link, with Tandem's framing on top.
/// Only a completed handshake makes one (`into_session`).
pub struct Session {
    transport: snow::TransportState,
    handshake_hash: [u8; 32],
    sent_under_key: u64,
    received_under_key: u64,
    rekey_interval: u64,
    /// Reused for each frame's plaintext, so sealing allocates only the
    /// message it returns.
    scratch: BytesMut,
    /// Reused for decryption, so that opening allocates only the frame it
    /// returns.
    received: Vec<u8>,
}

impl Session {
    pub(crate) fn new(transport: snow::TransportState, handshake_hash: &[u8]) -> Self {
        let mut hash = [0u8; 32];
        let len = handshake_hash.len().min(32);
        hash[..len].copy_from_slice(&handshake_hash[..len]);
        Self {
            transport,
            handshake_hash: hash,
            sent_under_key: 0,
            received_under_key: 0,
            rekey_interval: REKEY_INTERVAL,
            scratch: BytesMut::with_capacity(256),
            received: Vec::new(),
        }
    }

    /// The handshake hash that the check code and the worked example use.
    pub fn handshake_hash(&self) -> &[u8; 32] {
        &self.handshake_hash
    }

    /// The remote static key the handshake authenticated.
    pub fn remote_static(&self) -> Option<[u8; 32]> {
        let key = self.transport.get_remote_static()?;
        <[u8; 32]>::try_from(key).ok()
    }

    /// Encodes `frame` and encrypts it into Noise messages appended to
    /// `out`: usually one, two when a `Rekey` is due first ([SESS-07]).
    pub fn seal(&mut self, frame: &InnerFrame, out: &mut Vec<Bytes>) -> Result<(), Error> {
        if self.sent_under_key >= self.rekey_interval {
            // [SESS-07] A sender MUST send `Rekey` after at most
            // `REKEY_INTERVAL` messages under one sending key, and then MUST
            // switch its sending cipher with the Noise `Rekey()` function.
            out.push(self.encrypt(&InnerFrame::Rekey)?);
            self.transport.rekey_outgoing();
            self.sent_under_key = 0;
        }
        out.push(self.encrypt(frame)?);
        Ok(())
    }

    fn encrypt(&mut self, frame: &InnerFrame) -> Result<Bytes, Error> {
        self.scratch.clear();
        frame.encode(&mut self.scratch)?;
        let plain = &self.scratch;
        let mut message = BytesMut::zeroed(plain.len() + NOISE_TAG);
        let len = self
            .transport
            .write_message(plain, &mut message)
            // snow refuses only messages above 65,535 bytes, which the
            // codec's frame limit already rules out.
            .map_err(|_| {
                Error::Encode(tandem_codec::EncodeError::TooLong {
                    field: "noise message",
                    len: plain.len() + NOISE_TAG,
                    max: tandem_codec::limits::MAX_NOISE_MESSAGE,
                })
            })?;
        message.truncate(len);
        self.sent_under_key += 1;
        Ok(message.freeze())
    }

    /// Decrypts and decodes one Noise message. A `Rekey` is applied here
    /// and returned so that callers can log it; any failure is fatal for
    /// the session ([SESS-09], [SESS-10]).
    pub fn open(&mut self, message: &[u8]) -> Result<InnerFrame, Error> {
        // [SESS-02] A payload shorter than 17 bytes (a tag and at least a
        // type byte) is a decryption failure.
        if message.len() <= NOISE_TAG || message.len() > MAX_INNER_FRAME + NOISE_TAG {
            return Err(Error::DecryptFailed);
        }
        self.received.resize(message.len() - NOISE_TAG, 0);
        let len = self
            .transport
            .read_message(message, &mut self.received)
            .map_err(|_| Error::DecryptFailed)?;
        let plain = Bytes::copy_from_slice(&self.received[..len]);
        let frame = InnerFrame::decode(&plain).map_err(Error::MalformedFrame)?;
        if matches!(frame, InnerFrame::Rekey) {
            // [SESS-08] A receiver MUST switch its receiving cipher with
            // `Rekey()` right after it decrypts a `Rekey` frame.
            self.transport.rekey_incoming();
            self.received_under_key = 0;
            return Ok(frame);
        }
        // [SESS-08] ... and MUST close the session with `rekey_required`
        // when it receives more than `REKEY_INTERVAL` messages under one key
        // without a `Rekey` among them.
        if self.received_under_key >= self.rekey_interval {
            return Err(Error::RekeyRequired);
        }
        self.received_under_key += 1;
        Ok(frame)
    }

    /// Seals a `Rekey` now and switches the sending key, before
    /// `REKEY_INTERVAL` is reached: for the conformance runner's peers,
    /// which check that a receiver follows a `Rekey` at any point
    /// ([SESS-08]).
    #[doc(hidden)]
    pub fn rekey_now_for_testing(&mut self) -> Result<Bytes, Error> {
        let message = self.encrypt(&InnerFrame::Rekey)?;
        self.transport.rekey_outgoing();
        self.sent_under_key = 0;
        Ok(message)
    }

    /// Encrypts arbitrary plaintext as one transport message, bypassing the
    /// codec: for tests and the conformance runner's deliberately wrong
    /// peers only.
    #[doc(hidden)]
    pub fn seal_raw_for_testing(&mut self, plaintext: &[u8]) -> Result<Bytes, Error> {
        let mut message = vec![0u8; plaintext.len() + NOISE_TAG];
        let len = self
            .transport
            .write_message(plaintext, &mut message)
            .map_err(|e| Error::Handshake(e.to_string()))?;
        message.truncate(len);
        self.sent_under_key += 1;
        Ok(Bytes::from(message))
    }

    /// Lowers the rekey interval so that tests can cross it quickly.
    #[doc(hidden)]
    pub fn set_rekey_interval_for_testing(&mut self, interval: u64) {
        self.rekey_interval = interval;
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("handshake_hash", &hex::encode(self.handshake_hash))
            .field("sent_under_key", &self.sent_under_key)
            .field("received_under_key", &self.received_under_key)
            .finish_non_exhaustive()
    }
}
