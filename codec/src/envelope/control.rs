//! Keepalive and error frames (spec §3.6, §3.7): `Ping`, `Pong`, `Error`.

use bytes::{BufMut, BytesMut};

use crate::code::Code;
use crate::error::EncodeError;
use crate::limits::MAX_ERROR_MESSAGE;
use crate::primitives::{PResult, put_str8, str8, u16, u32, u64};

/// Keepalive request; the receiver answers with a `Pong` of the same nonce
/// ([ENV-02]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Ping {
    /// Echoed in the `Pong`.
    pub nonce: u64,
}

/// Keepalive answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Pong {
    /// The nonce of the `Ping` answered.
    pub nonce: u64,
}

impl Ping {
    pub(crate) fn parse(input: &[u8]) -> PResult<'_, Self> {
        let (input, nonce) = u64("nonce")(input)?;
        Ok((input, Self { nonce }))
    }

    pub(crate) fn encode_body(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        buf.put_u64(self.nonce);
        Ok(())
    }
}

impl Pong {
    pub(crate) fn parse(input: &[u8]) -> PResult<'_, Self> {
        let (input, nonce) = u64("nonce")(input)?;
        Ok((input, Self { nonce }))
    }

    pub(crate) fn encode_body(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        buf.put_u64(self.nonce);
        Ok(())
    }
}

/// Relay → client: a request was refused; the connection stays open.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Error {
    /// Why (spec §10.2).
    pub code: Code,
    /// The link the error is about, or 0 for the connection.
    pub link_id: u32,
    /// For people, never parsed ([ENV-05]); at most 128 bytes.
    pub message: String,
}

impl Error {
    pub(crate) fn parse(input: &[u8]) -> PResult<'_, Self> {
        let (input, code) = u16("code")(input)?;
        let (input, link_id) = u32("link_id")(input)?;
        let (input, message) = str8(MAX_ERROR_MESSAGE, "message")(input)?;
        Ok((
            input,
            Self {
                code: Code(code),
                link_id,
                message: message.to_owned(),
            },
        ))
    }

    pub(crate) fn encode_body(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        buf.put_u16(self.code.0);
        buf.put_u32(self.link_id);
        put_str8(buf, &self.message, MAX_ERROR_MESSAGE, "message")
    }
}
