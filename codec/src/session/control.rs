//! Session control frames (spec §6.4, §6.5): `Close` ends the session,
//! `Error` fails one request and leaves it open. `Rekey` and
//! `PairingComplete` have no body and live in the frame enum.

use bytes::{BufMut, BytesMut};

use crate::code::Code;
use crate::error::EncodeError;
use crate::limits::MAX_ERROR_MESSAGE;
use crate::primitives::{PResult, put_str8, str8, u16, u32};

/// Either side ends the session; nothing follows it ([SESS-05]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Close {
    /// Why (spec §10.2); the receiver acts on it as §10 says ([SESS-06]).
    pub code: Code,
    /// For people, never parsed; at most 128 bytes.
    pub message: String,
}

impl Close {
    pub(crate) fn parse(input: &[u8]) -> PResult<'_, Self> {
        let (input, code) = u16("code")(input)?;
        let (input, message) = str8(MAX_ERROR_MESSAGE, "message")(input)?;
        Ok((
            input,
            Self {
                code: Code(code),
                message: message.to_owned(),
            },
        ))
    }

    pub(crate) fn encode_body(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        buf.put_u16(self.code.0);
        put_str8(buf, &self.message, MAX_ERROR_MESSAGE, "message")
    }
}

/// Either side: one request failed; the session stays open.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Error {
    /// Why (spec §10.2).
    pub code: Code,
    /// The request it is about: a `request_id` or a `transfer_id`, or 0.
    pub ref_id: u32,
    /// For people, never parsed; at most 128 bytes.
    pub message: String,
}

impl Error {
    pub(crate) fn parse(input: &[u8]) -> PResult<'_, Self> {
        let (input, code) = u16("code")(input)?;
        let (input, ref_id) = u32("ref_id")(input)?;
        let (input, message) = str8(MAX_ERROR_MESSAGE, "message")(input)?;
        Ok((
            input,
            Self {
                code: Code(code),
                ref_id,
                message: message.to_owned(),
            },
        ))
    }

    pub(crate) fn encode_body(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        buf.put_u16(self.code.0);
        buf.put_u32(self.ref_id);
        put_str8(buf, &self.message, MAX_ERROR_MESSAGE, "message")
    }
}

#[cfg(test)]
mod tests {
    use super::super::frame_type;
    use super::super::test_util::{decode, fail, round_trip};
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn close_layout() {
        let wire = round_trip(
            Close {
                code: Code::UNLINKED,
                message: "bye".into(),
            },
            frame_type::CLOSE,
        );
        assert_eq!(wire.as_ref(), [0x01, 0x10, 0x12, 3, b'b', b'y', b'e']);
    }

    #[test]
    fn error_layout_keeps_unknown_codes() {
        let wire = round_trip(
            Error {
                code: Code(4399),
                ref_id: 0x0102_0304,
                message: String::new(),
            },
            frame_type::ERROR,
        );
        assert_eq!(wire.as_ref(), [0x02, 0x11, 0x2F, 1, 2, 3, 4, 0]);
    }

    #[test]
    fn message_limit_is_checked_before_reading() {
        // A 129-byte message with no bytes behind its length.
        assert_eq!(
            fail(&[0x01, 0x0F, 0xA0, 129]),
            (ErrorKind::LengthExceedsLimit, 3, "message")
        );
        assert_eq!(
            fail(&[0x02, 0x0F, 0xA0, 0, 0, 0, 0, 200]),
            (ErrorKind::LengthExceedsLimit, 7, "message")
        );
        let long = Close {
            code: Code::NORMAL_CLOSURE,
            message: "x".repeat(MAX_ERROR_MESSAGE + 1),
        };
        assert!(matches!(
            crate::session::InnerFrame::from(long).to_bytes(),
            Err(EncodeError::TooLong {
                field: "message",
                ..
            })
        ));
        let max = Close {
            code: Code::NORMAL_CLOSURE,
            message: "x".repeat(MAX_ERROR_MESSAGE),
        };
        round_trip(max, frame_type::CLOSE);
    }

    #[test]
    fn truncated_utf8_and_trailing() {
        assert_eq!(fail(&[0x01, 0x03]), (ErrorKind::Truncated, 1, "code"));
        // A length the input cannot hold: truncated where the bytes run out
        // short, after the length (as every `str8` reports it).
        assert_eq!(
            fail(&[0x01, 0x03, 0xE8, 2, b'a']),
            (ErrorKind::Truncated, 4, "message")
        );
        assert_eq!(
            fail(&[0x01, 0x03, 0xE8, 1, 0xFF]),
            (ErrorKind::InvalidUtf8, 3, "message")
        );
        assert_eq!(
            fail(&[0x02, 0x03, 0xE8, 0, 0]),
            (ErrorKind::Truncated, 3, "ref_id")
        );
        assert_eq!(
            fail(&[0x01, 0x03, 0xE8, 0, 0]),
            (ErrorKind::TrailingBytes, 4, "end of frame")
        );
        assert!(decode(&[0x01, 0x03, 0xE8, 0]).is_ok());
    }
}
