//! The reconnect handshake, `Noise_IK_25519_AESGCM_SHA256` (spec §5): the
//! companion initiates with the primary key it pinned; the primary learns
//! the companion key from message 1 and decides what to answer (§5.2).

use tandem_codec::handshake::Hello;

use super::{into_session, read, remote_key, write};
use crate::noise::{self, HandshakeOptions};
use crate::{Error, PublicKey, Session, StaticKeypair};

/// The companion's side after sending message 1.
pub struct CompanionReconnect {
    state: snow::HandshakeState,
}

impl CompanionReconnect {
    /// Starts a reconnect to the pinned `primary_key` ([RECON-03]).
    pub fn start(
        identity: &StaticKeypair,
        primary_key: &PublicKey,
        hello: Hello,
        options: &HandshakeOptions,
    ) -> Result<(Self, Vec<u8>), Error> {
        let prologue = noise::reconnect_prologue(&primary_key.0);
        let mut state = noise::builder(
            noise::RECONNECT_PROTOCOL,
            &prologue,
            identity.private(),
            options,
        )
        .and_then(|b| b.remote_public_key(&primary_key.0))
        .and_then(|b| b.build_initiator())
        .map_err(Error::handshake)?;
        let message = write(&mut state, &hello.to_vec())?;
        Ok((Self { state }, message))
    }

    /// Reads message 2 and yields the session and the primary's `Hello`.
    pub fn finish(mut self, message: &[u8]) -> Result<(Session, Hello), Error> {
        let payload = read(&mut self.state, message)?;
        let hello = Hello::decode(&payload).map_err(Error::HandshakePayload)?;
        Ok((into_session(self.state)?, hello))
    }
}

/// The primary's side after reading message 1: it knows who is asking and
/// must answer (§5.2), whatever it decides about the key.
pub struct IncomingReconnect {
    state: snow::HandshakeState,
    companion_key: PublicKey,
    hello: Hello,
}

/// Reads a reconnect message 1 addressed to `identity`.
pub fn read_reconnect(
    identity: &StaticKeypair,
    message: &[u8],
    options: &HandshakeOptions,
) -> Result<IncomingReconnect, Error> {
    let prologue = noise::reconnect_prologue(&identity.public().0);
    let mut state = noise::builder(
        noise::RECONNECT_PROTOCOL,
        &prologue,
        identity.private(),
        options,
    )
    .and_then(|b| b.build_responder())
    .map_err(Error::handshake)?;
    let payload = read(&mut state, message)?;
    let hello = Hello::decode(&payload).map_err(Error::HandshakePayload)?;
    let companion_key = remote_key(&state)?;
    Ok(IncomingReconnect {
        state,
        companion_key,
        hello,
    })
}

impl IncomingReconnect {
    /// The companion key from message 1 (authenticated once message 2 is
    /// answered and a transport frame decrypts; see [RECON-06]).
    pub fn companion_key(&self) -> PublicKey {
        self.companion_key
    }

    /// The companion's `Hello`.
    pub fn hello(&self) -> Hello {
        self.hello
    }

    /// Answers with message 2 and yields the session. The caller sends
    /// `Close(device_revoked)` or `Close(unknown_device)` in it when the
    /// key is not linked ([RECON-05]).
    pub fn accept(mut self, hello: Hello) -> Result<(Session, Vec<u8>), Error> {
        let reply = write(&mut self.state, &hello.to_vec())?;
        Ok((into_session(self.state)?, reply))
    }
}
