//! The pairing handshake, `Noise_IKpsk2_25519_AESGCM_SHA256` (spec §4.2):
//! the primary initiates with the companion key and secret from the QR
//! code; both derive the check code (spec §4.3).

use tandem_codec::handshake::{PairAccept, PairInit};
use tandem_codec::qr::QrPayload;

use super::{into_session, read, remote_key, write};
use crate::noise::{self, CheckCode, HandshakeOptions};
use crate::{Error, PublicKey, Session, StaticKeypair};

/// The primary's side after sending message 1.
pub struct PrimaryPairing {
    state: snow::HandshakeState,
    companion_key: PublicKey,
}

/// The primary's side after message 2: a session, the companion's name and
/// key, and the check code to show before the person confirms ([PAIR-04]).
#[derive(Debug)]
pub struct PrimaryPaired {
    /// The session on the pairing link; its first frame is
    /// `PairingComplete` or `Close` ([PAIR-07]).
    pub session: Session,
    /// The companion's payload, with its device name.
    pub companion: PairAccept,
    /// The companion's static key, as the QR code gave it.
    pub companion_key: PublicKey,
    /// The code to show.
    pub check_code: CheckCode,
}

impl PrimaryPairing {
    /// Starts pairing with the companion of `qr`: returns the state and
    /// message 1 to send on the channel's link.
    pub fn start(
        identity: &StaticKeypair,
        qr: &QrPayload,
        init: &PairInit,
        options: &HandshakeOptions,
    ) -> Result<(Self, Vec<u8>), Error> {
        let prologue = noise::pairing_prologue(&qr.channel_id);
        let mut state = noise::builder(
            noise::PAIRING_PROTOCOL,
            &prologue,
            identity.private(),
            options,
        )
        .and_then(|b| b.remote_public_key(&qr.companion_key))
        .and_then(|b| b.psk(2, &qr.pairing_secret))
        .and_then(|b| b.build_initiator())
        .map_err(Error::handshake)?;
        let message = write(&mut state, &init.to_vec()?)?;
        let pairing = Self {
            state,
            companion_key: PublicKey(qr.companion_key),
        };
        Ok((pairing, message))
    }

    /// Reads message 2. Fails with `handshake_failed` when it does not
    /// decrypt (wrong PSK, tampered) or its payload does not decode.
    pub fn finish(mut self, message: &[u8]) -> Result<PrimaryPaired, Error> {
        let payload = read(&mut self.state, message)?;
        let companion = PairAccept::decode(&payload).map_err(Error::HandshakePayload)?;
        let check_code = CheckCode::from_handshake_hash(self.state.get_handshake_hash());
        Ok(PrimaryPaired {
            session: into_session(self.state)?,
            companion,
            companion_key: self.companion_key,
            check_code,
        })
    }
}

/// The companion's side, waiting for message 1.
pub struct CompanionPairing {
    state: snow::HandshakeState,
}

/// The companion's side after message 2: a session in which it waits for
/// `PairingComplete` before it stores anything ([PAIR-08]).
#[derive(Debug)]
pub struct CompanionPaired {
    /// The session on the pairing link.
    pub session: Session,
    /// The primary's payload: account and device names.
    pub primary: PairInit,
    /// The primary's static key, to pin once `PairingComplete` arrives.
    pub primary_key: PublicKey,
    /// The code to show.
    pub check_code: CheckCode,
}

impl CompanionPairing {
    /// Prepares to answer on the channel `channel_id` whose QR code
    /// carried `pairing_secret`.
    pub fn new(
        identity: &StaticKeypair,
        channel_id: &[u8; 16],
        pairing_secret: &[u8; 32],
        options: &HandshakeOptions,
    ) -> Result<Self, Error> {
        let prologue = noise::pairing_prologue(channel_id);
        let state = noise::builder(
            noise::PAIRING_PROTOCOL,
            &prologue,
            identity.private(),
            options,
        )
        .and_then(|b| b.psk(2, pairing_secret))
        .and_then(|b| b.build_responder())
        .map_err(Error::handshake)?;
        Ok(Self { state })
    }

    /// Reads message 1 and answers with message 2 carrying `accept`.
    pub fn respond(
        mut self,
        message: &[u8],
        accept: &PairAccept,
    ) -> Result<(CompanionPaired, Vec<u8>), Error> {
        let payload = read(&mut self.state, message)?;
        let primary = PairInit::decode(&payload).map_err(Error::HandshakePayload)?;
        let primary_key = remote_key(&self.state)?;
        let reply = write(&mut self.state, &accept.to_vec()?)?;
        let check_code = CheckCode::from_handshake_hash(self.state.get_handshake_hash());
        let paired = CompanionPaired {
            session: into_session(self.state)?,
            primary,
            primary_key,
            check_code,
        };
        Ok((paired, reply))
    }
}
