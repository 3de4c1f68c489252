//! Pairing-channel frames (spec §3.3): `ChannelOpened`, `JoinChannel`,
//! `ChannelJoined`. (`OpenChannel` has no body.)

use bytes::{BufMut, BytesMut};

use crate::error::EncodeError;
use crate::primitives::{PResult, array, check_nonzero, nonzero_u32, u32};

/// Relay → companion: a pairing channel was created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ChannelOpened {
    /// The channel's random id, shown in the QR code.
    #[cfg_attr(feature = "serde", serde(with = "crate::hex_serde"))]
    pub channel_id: [u8; 16],
    /// The companion's link id for this channel; never 0.
    pub link_id: u32,
    /// The channel's lifetime in milliseconds.
    pub ttl_ms: u32,
}

impl ChannelOpened {
    pub(crate) fn parse(input: &[u8]) -> PResult<'_, Self> {
        let (input, channel_id) = array::<16>("channel_id")(input)?;
        let (input, link_id) = nonzero_u32("link_id")(input)?;
        let (input, ttl_ms) = u32("ttl_ms")(input)?;
        Ok((
            input,
            Self {
                channel_id,
                link_id,
                ttl_ms,
            },
        ))
    }

    pub(crate) fn encode_body(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        check_nonzero(self.link_id.into(), "link_id")?;
        buf.put_slice(&self.channel_id);
        buf.put_u32(self.link_id);
        buf.put_u32(self.ttl_ms);
        Ok(())
    }
}

/// Primary → relay: join the channel named in a QR code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct JoinChannel {
    /// The channel id from the QR payload.
    #[cfg_attr(feature = "serde", serde(with = "crate::hex_serde"))]
    pub channel_id: [u8; 16],
}

impl JoinChannel {
    pub(crate) fn parse(input: &[u8]) -> PResult<'_, Self> {
        let (input, channel_id) = array::<16>("channel_id")(input)?;
        Ok((input, Self { channel_id }))
    }

    pub(crate) fn encode_body(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        buf.put_slice(&self.channel_id);
        Ok(())
    }
}

/// Relay → primary: the join succeeded; the channel's link id on the
/// primary's connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ChannelJoined {
    /// The channel joined.
    #[cfg_attr(feature = "serde", serde(with = "crate::hex_serde"))]
    pub channel_id: [u8; 16],
    /// The primary's link id for the channel; never 0.
    pub link_id: u32,
}

impl ChannelJoined {
    pub(crate) fn parse(input: &[u8]) -> PResult<'_, Self> {
        let (input, channel_id) = array::<16>("channel_id")(input)?;
        let (input, link_id) = nonzero_u32("link_id")(input)?;
        Ok((
            input,
            Self {
                channel_id,
                link_id,
            },
        ))
    }

    pub(crate) fn encode_body(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        check_nonzero(self.link_id.into(), "link_id")?;
        buf.put_slice(&self.channel_id);
        buf.put_u32(self.link_id);
        Ok(())
    }
}
