//! Link frames (spec §3.5): `LinkOpened`, `PeerState`, `LinkClosed` and the
//! opaque `Data` that carries Noise messages.

use bytes::{BufMut, Bytes, BytesMut};

use crate::code::Code;
use crate::error::EncodeError;
use crate::limits::MAX_NOISE_MESSAGE;
use crate::primitives::{PResult, bool, check_nonzero, nonzero_u32, put_rest, rest, share, u16};

/// Relay → primary: a companion attached to the route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct LinkOpened {
    /// The companion's link id on the primary's connection; never 0.
    pub link_id: u32,
}

impl LinkOpened {
    pub(crate) fn parse(input: &[u8]) -> PResult<'_, Self> {
        let (input, link_id) = nonzero_u32("link_id")(input)?;
        Ok((input, Self { link_id }))
    }

    pub(crate) fn encode_body(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        check_nonzero(self.link_id.into(), "link_id")?;
        buf.put_u32(self.link_id);
        Ok(())
    }
}

/// Relay → companion: whether the other end of the link is online.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PeerState {
    /// The companion's link id; never 0.
    pub link_id: u32,
    /// Whether the peer is online.
    pub online: bool,
}

impl PeerState {
    pub(crate) fn parse(input: &[u8]) -> PResult<'_, Self> {
        let (input, link_id) = nonzero_u32("link_id")(input)?;
        let (input, online) = bool("online")(input)?;
        Ok((input, Self { link_id, online }))
    }

    pub(crate) fn encode_body(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        check_nonzero(self.link_id.into(), "link_id")?;
        buf.put_u32(self.link_id);
        buf.put_u8(u8::from(self.online));
        Ok(())
    }
}

/// A link ends, with the reason (spec §10.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct LinkClosed {
    /// The link; never 0.
    pub link_id: u32,
    /// Why it ended.
    pub code: Code,
}

impl LinkClosed {
    pub(crate) fn parse(input: &[u8]) -> PResult<'_, Self> {
        let (input, link_id) = nonzero_u32("link_id")(input)?;
        let (input, code) = u16("code")(input)?;
        Ok((
            input,
            Self {
                link_id,
                code: Code(code),
            },
        ))
    }

    pub(crate) fn encode_body(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        check_nonzero(self.link_id.into(), "link_id")?;
        buf.put_u32(self.link_id);
        buf.put_u16(self.code.0);
        Ok(())
    }
}

/// An opaque payload (a Noise message) for the other end of a link.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Data {
    /// The link; never 0.
    pub link_id: u32,
    /// 1 to 65,535 bytes, forwarded unchanged; a zero-copy slice of the
    /// decoded input.
    #[cfg_attr(feature = "serde", serde(with = "crate::hex_serde"))]
    pub payload: Bytes,
}

impl Data {
    pub(crate) fn parse<'a>(src: &Bytes, input: &'a [u8]) -> PResult<'a, Self> {
        let (input, link_id) = nonzero_u32("link_id")(input)?;
        let (input, payload) = rest(MAX_NOISE_MESSAGE, "payload")(input)?;
        Ok((
            input,
            Self {
                link_id,
                payload: share(src, payload),
            },
        ))
    }

    pub(crate) fn encode_body(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        check_nonzero(self.link_id.into(), "link_id")?;
        buf.put_u32(self.link_id);
        put_rest(buf, &self.payload, MAX_NOISE_MESSAGE, "payload")
    }
}
