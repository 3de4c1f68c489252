//! The two Noise handshakes as typed states (spec §4.2, §5.1): each state
//! is consumed by the step that follows it, and only a finished handshake
//! yields a [`Session`](crate::Session), through `into_session`-style
//! methods that take `self`.

mod pairing;
mod reconnect;

pub use pairing::{CompanionPaired, CompanionPairing, PrimaryPaired, PrimaryPairing};
pub use reconnect::{CompanionReconnect, IncomingReconnect, read_reconnect};

use crate::Error;

/// Writes one handshake message with `payload`.
fn write(state: &mut snow::HandshakeState, payload: &[u8]) -> Result<Vec<u8>, Error> {
    let mut message = vec![0u8; crate::noise::MAX_MESSAGE];
    let len = state
        .write_message(payload, &mut message)
        .map_err(Error::handshake)?;
    message.truncate(len);
    Ok(message)
}

/// Reads one handshake message and returns its payload.
fn read(state: &mut snow::HandshakeState, message: &[u8]) -> Result<Vec<u8>, Error> {
    if message.len() > crate::noise::MAX_MESSAGE {
        return Err(Error::Handshake("message longer than 65,535 bytes".into()));
    }
    let mut payload = vec![0u8; message.len()];
    let len = state
        .read_message(message, &mut payload)
        .map_err(Error::handshake)?;
    payload.truncate(len);
    Ok(payload)
}

/// Turns a finished handshake into a session.
fn into_session(state: snow::HandshakeState) -> Result<crate::Session, Error> {
    let hash = state.get_handshake_hash().to_vec();
    let transport = state.into_transport_mode().map_err(Error::handshake)?;
    Ok(crate::Session::new(transport, &hash))
}

fn remote_key(state: &snow::HandshakeState) -> Result<crate::PublicKey, Error> {
    state
        .get_remote_static()
        .and_then(|key| <[u8; 32]>::try_from(key).ok())
        .map(crate::PublicKey)
        .ok_or_else(|| Error::Handshake("no remote static key".into()))
}
