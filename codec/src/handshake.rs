//! Noise handshake payloads (spec §4.2 and §5.1): `PairInit` in pairing
//! message 1, `PairAccept` in pairing message 2, and `Hello` in both
//! reconnect messages. Failures map to `handshake_failed` (spec §4.6).

use bytes::{BufMut, BytesMut};

use crate::error::{DecodeError, EncodeError, Layer};
use crate::limits::MAX_NAME;
use crate::primitives::{self, PResult, put_str8, str8, u32};

/// Pairing message 1 payload, primary → companion.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PairInit {
    /// Capability bits (spec §4.4); 0 in version 1.
    pub capabilities: u32,
    /// The account's name, at most 64 bytes.
    pub account_name: String,
    /// The primary's device name, at most 64 bytes.
    pub device_name: String,
}

/// Pairing message 2 payload, companion → primary.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PairAccept {
    /// Capability bits (spec §4.4); 0 in version 1.
    pub capabilities: u32,
    /// The companion's device name, shown on the primary with the check
    /// code ([PAIR-04]); at most 64 bytes.
    pub device_name: String,
}

/// Reconnect payload, both messages (spec §5.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Hello {
    /// Capability bits (spec §4.4); 0 in version 1.
    pub capabilities: u32,
}

impl PairInit {
    /// Decodes a `PairInit` payload.
    pub fn decode(input: &[u8]) -> Result<Self, DecodeError> {
        primitives::run(input, Layer::Handshake, Self::parse)
    }

    fn parse(input: &[u8]) -> PResult<'_, Self> {
        let (input, capabilities) = u32("capabilities")(input)?;
        let (input, account_name) = str8(MAX_NAME, "account_name")(input)?;
        let (input, device_name) = str8(MAX_NAME, "device_name")(input)?;
        let frame = Self {
            capabilities,
            account_name: account_name.to_owned(),
            device_name: device_name.to_owned(),
        };
        Ok((input, frame))
    }

    /// Encodes the payload.
    pub fn to_vec(&self) -> Result<Vec<u8>, EncodeError> {
        let mut buf = BytesMut::with_capacity(6 + self.account_name.len() + self.device_name.len());
        buf.put_u32(self.capabilities);
        put_str8(&mut buf, &self.account_name, MAX_NAME, "account_name")?;
        put_str8(&mut buf, &self.device_name, MAX_NAME, "device_name")?;
        Ok(buf.to_vec())
    }
}

impl PairAccept {
    /// Decodes a `PairAccept` payload.
    pub fn decode(input: &[u8]) -> Result<Self, DecodeError> {
        primitives::run(input, Layer::Handshake, Self::parse)
    }

    fn parse(input: &[u8]) -> PResult<'_, Self> {
        let (input, capabilities) = u32("capabilities")(input)?;
        let (input, device_name) = str8(MAX_NAME, "device_name")(input)?;
        let frame = Self {
            capabilities,
            device_name: device_name.to_owned(),
        };
        Ok((input, frame))
    }

    /// Encodes the payload.
    pub fn to_vec(&self) -> Result<Vec<u8>, EncodeError> {
        let mut buf = BytesMut::with_capacity(5 + self.device_name.len());
        buf.put_u32(self.capabilities);
        put_str8(&mut buf, &self.device_name, MAX_NAME, "device_name")?;
        Ok(buf.to_vec())
    }
}

impl Hello {
    /// Decodes a `Hello` payload.
    pub fn decode(input: &[u8]) -> Result<Self, DecodeError> {
        primitives::run(input, Layer::Handshake, Self::parse)
    }

    fn parse(input: &[u8]) -> PResult<'_, Self> {
        let (input, capabilities) = u32("capabilities")(input)?;
        Ok((input, Self { capabilities }))
    }

    /// Encodes the payload.
    pub fn to_vec(&self) -> Vec<u8> {
        self.capabilities.to_be_bytes().to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn pair_init_round_trips_and_rejects_long_names() {
        let init = PairInit {
            capabilities: 0,
            account_name: "Ada".into(),
            device_name: "Pixel".into(),
        };
        let wire = init.to_vec().unwrap();
        assert_eq!(wire, b"\0\0\0\0\x03Ada\x05Pixel");
        assert_eq!(PairInit::decode(&wire).unwrap(), init);

        let mut long = vec![0, 0, 0, 0, 65];
        long.extend([b'a'; 65]);
        let err = PairInit::decode(&long).unwrap_err();
        assert_eq!(
            (err.kind, err.offset, err.field),
            (ErrorKind::LengthExceedsLimit, 4, "account_name")
        );
        assert_eq!(err.wire_code(), Some(crate::Code::HANDSHAKE_FAILED));
    }

    #[test]
    fn hello_is_exactly_four_bytes() {
        assert_eq!(
            Hello::decode(&[0, 0, 0, 1]).unwrap(),
            Hello { capabilities: 1 }
        );
        assert_eq!(
            Hello::decode(&[0, 0, 0]).unwrap_err().kind,
            ErrorKind::Truncated
        );
        assert_eq!(
            Hello::decode(&[0, 0, 0, 0, 0]).unwrap_err().kind,
            ErrorKind::TrailingBytes
        );
        assert_eq!(Hello::decode(&[]).unwrap_err().kind, ErrorKind::Empty);
    }

    #[test]
    fn pair_accept_rejects_invalid_utf8() {
        let err = PairAccept::decode(&[0, 0, 0, 0, 1, 0xFF]).unwrap_err();
        assert_eq!((err.kind, err.offset), (ErrorKind::InvalidUtf8, 4));
    }
}
