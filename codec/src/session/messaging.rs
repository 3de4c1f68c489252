//! Messaging frames (spec §7.6–§7.8, §9.4): exactly-once `Send` with its
//! `SendAck` or `SendFailed`, `MarkRead`, `Typing` and `HistoryRequest`.
//! `Unlink` has no body and lives in the frame enum.

use bytes::{BufMut, Bytes, BytesMut};

use super::model::Body;
use crate::code::Code;
use crate::error::EncodeError;
use crate::primitives::{PResult, array, bool, check_nonzero, nonzero_u64, u16, u32, u64};

/// Companion → primary: send a message, applied at most once per
/// `client_id` ([SYNC-17]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Send {
    /// Chosen at random by the companion, once per message.
    #[cfg_attr(feature = "serde", serde(with = "crate::hex_serde"))]
    pub client_id: [u8; 16],
    /// The chat; never 0.
    pub chat_id: u64,
    /// The content.
    pub body: Body,
}

impl Send {
    #[inline]
    pub(crate) fn parse<'a>(src: &Bytes, input: &'a [u8]) -> PResult<'a, Self> {
        let (input, client_id) = array::<16>("client_id")(input)?;
        let (input, chat_id) = nonzero_u64("chat_id")(input)?;
        let (input, body) = Body::parse(src, input)?;
        Ok((
            input,
            Self {
                client_id,
                chat_id,
                body,
            },
        ))
    }

    pub(crate) fn encode_body(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        check_nonzero(self.chat_id, "chat_id")?;
        buf.put_slice(&self.client_id);
        buf.put_u64(self.chat_id);
        self.body.encode(buf)
    }
}

/// Primary → companion: the send is stored as this message and event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SendAck {
    /// The `Send` answered.
    #[cfg_attr(feature = "serde", serde(with = "crate::hex_serde"))]
    pub client_id: [u8; 16],
    /// The new message; never 0.
    pub message_id: u64,
    /// The seq of its `MessageAdded` event; never 0 (seqs start at 1).
    pub seq: u64,
}

impl SendAck {
    pub(crate) fn parse(input: &[u8]) -> PResult<'_, Self> {
        let (input, client_id) = array::<16>("client_id")(input)?;
        let (input, message_id) = nonzero_u64("message_id")(input)?;
        let (input, seq) = nonzero_u64("seq")(input)?;
        Ok((
            input,
            Self {
                client_id,
                message_id,
                seq,
            },
        ))
    }

    pub(crate) fn encode_body(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        check_nonzero(self.message_id, "message_id")?;
        check_nonzero(self.seq, "seq")?;
        buf.put_slice(&self.client_id);
        buf.put_u64(self.message_id);
        buf.put_u64(self.seq);
        Ok(())
    }
}

/// Primary → companion: the send was refused, for good ([SYNC-20]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SendFailed {
    /// The `Send` answered.
    #[cfg_attr(feature = "serde", serde(with = "crate::hex_serde"))]
    pub client_id: [u8; 16],
    /// Why (`unknown_chat`, `media_not_found`, `invalid_request`, or a
    /// code this version does not know).
    pub code: Code,
}

impl SendFailed {
    pub(crate) fn parse(input: &[u8]) -> PResult<'_, Self> {
        let (input, client_id) = array::<16>("client_id")(input)?;
        let (input, code) = u16("code")(input)?;
        Ok((
            input,
            Self {
                client_id,
                code: Code(code),
            },
        ))
    }

    pub(crate) fn encode_body(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        buf.put_slice(&self.client_id);
        buf.put_u16(self.code.0);
        Ok(())
    }
}

/// Companion → primary: the person read the chat up to a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct MarkRead {
    /// The chat; never 0.
    pub chat_id: u64,
    /// The newest message read; a message id, so never 0.
    pub up_to: u64,
}

impl MarkRead {
    pub(crate) fn parse(input: &[u8]) -> PResult<'_, Self> {
        let (input, chat_id) = nonzero_u64("chat_id")(input)?;
        let (input, up_to) = nonzero_u64("up_to")(input)?;
        Ok((input, Self { chat_id, up_to }))
    }

    pub(crate) fn encode_body(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        check_nonzero(self.chat_id, "chat_id")?;
        check_nonzero(self.up_to, "up_to")?;
        buf.put_u64(self.chat_id);
        buf.put_u64(self.up_to);
        Ok(())
    }
}

/// Either side: the person (companion) or the chat's contact (primary) is
/// typing, or stopped. Not an event: never numbered, stored or replayed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Typing {
    /// The chat; never 0.
    pub chat_id: u64,
    /// Typing now; treated as false after `TYPING_TIMEOUT` without a
    /// repeat ([SYNC-25]).
    pub active: bool,
}

impl Typing {
    pub(crate) fn parse(input: &[u8]) -> PResult<'_, Self> {
        let (input, chat_id) = nonzero_u64("chat_id")(input)?;
        let (input, active) = bool("active")(input)?;
        Ok((input, Self { chat_id, active }))
    }

    pub(crate) fn encode_body(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        check_nonzero(self.chat_id, "chat_id")?;
        buf.put_u64(self.chat_id);
        buf.put_u8(u8::from(self.active));
        Ok(())
    }
}

/// Companion → primary: the newest `limit` messages of a chat below
/// `before`; answered with a `MessagePage` of the same `request_id`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct HistoryRequest {
    /// Chosen by the companion; echoed in the answer or the `Error`.
    pub request_id: u32,
    /// The chat; never 0.
    pub chat_id: u64,
    /// Only messages with a lower id, or 0 for the newest.
    pub before: u64,
    /// Messages wanted, 1 to 100. Any `u16` decodes: a value out of range
    /// is a request error (`Error(invalid_request, request_id)`,
    /// [SYNC-23]), not a malformed frame.
    pub limit: u16,
}

impl HistoryRequest {
    pub(crate) fn parse(input: &[u8]) -> PResult<'_, Self> {
        let (input, request_id) = u32("request_id")(input)?;
        let (input, chat_id) = nonzero_u64("chat_id")(input)?;
        let (input, before) = u64("before")(input)?;
        let (input, limit) = u16("limit")(input)?;
        Ok((
            input,
            Self {
                request_id,
                chat_id,
                before,
                limit,
            },
        ))
    }

    pub(crate) fn encode_body(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        check_nonzero(self.chat_id, "chat_id")?;
        buf.put_u32(self.request_id);
        buf.put_u64(self.chat_id);
        buf.put_u64(self.before);
        buf.put_u16(self.limit);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::model::{MediaRef, body_kind};
    use super::super::test_util::{decode, fail, round_trip};
    use super::super::{InnerFrame, frame_type};
    use super::*;
    use crate::error::ErrorKind;

    const CLIENT: [u8; 16] = [0xC7; 16];

    #[test]
    fn send_text_layout() {
        let wire = round_trip(
            Send {
                client_id: CLIENT,
                chat_id: 1,
                body: Body::Text("hi".into()),
            },
            frame_type::SEND,
        );
        let mut expected = vec![0x20];
        expected.extend_from_slice(&CLIENT);
        expected.extend_from_slice(&1u64.to_be_bytes());
        expected.extend_from_slice(&[body_kind::TEXT, 0, 2, b'h', b'i']);
        assert_eq!(wire.as_ref(), expected);

        // Body offsets are frame offsets: kind at 25, len at 26, text at 28.
        let mut bad = expected.clone();
        bad[28] = 0xFF;
        assert_eq!(fail(&bad), (ErrorKind::InvalidUtf8, 28, "text"));
        let mut long = expected.clone();
        long[26..28].copy_from_slice(&4097u16.to_be_bytes());
        assert_eq!(fail(&long), (ErrorKind::LengthExceedsLimit, 26, "content"));
        let mut empty = expected[..26].to_vec();
        empty.extend_from_slice(&[0, 0]);
        assert_eq!(fail(&empty), (ErrorKind::Truncated, 28, "text"));
        expected.push(0);
        assert_eq!(
            fail(&expected),
            (ErrorKind::TrailingBytes, 30, "end of frame")
        );
    }

    #[test]
    fn send_media_and_unknown_bodies() {
        let media = MediaRef {
            media_id: [1; 32],
            size: 5,
            mime: "text/plain".into(),
            name: "n.txt".into(),
            caption: "see".into(),
        };
        round_trip(
            Send {
                client_id: CLIENT,
                chat_id: 1,
                body: Body::Media(media),
            },
            frame_type::SEND,
        );
        let wire = round_trip(
            Send {
                client_id: CLIENT,
                chat_id: 1,
                body: Body::Unknown {
                    kind: 3,
                    content: Bytes::from_static(&[9; 10]),
                },
            },
            frame_type::SEND,
        );
        let InnerFrame::Send(send) = decode(&wire).unwrap() else {
            panic!("not a send");
        };
        assert_eq!(send.body.kind(), 3);
    }

    #[test]
    fn send_refuses_chat_zero_and_short_client_ids() {
        let frame = InnerFrame::from(Send {
            client_id: CLIENT,
            chat_id: 0,
            body: Body::Text("x".into()),
        });
        assert_eq!(
            frame.to_bytes(),
            Err(EncodeError::InvalidValue { field: "chat_id" })
        );
        assert_eq!(
            fail(&[0x20, 1, 2, 3]),
            (ErrorKind::Truncated, 1, "client_id")
        );
        let mut zero = vec![0x20];
        zero.extend_from_slice(&CLIENT);
        zero.extend_from_slice(&[0; 8]);
        zero.extend_from_slice(&[1, 0, 1, b'x']);
        assert_eq!(fail(&zero), (ErrorKind::InvalidValue, 17, "chat_id"));
    }

    #[test]
    fn send_ack_and_failed() {
        let wire = round_trip(
            SendAck {
                client_id: CLIENT,
                message_id: 900,
                seq: 127,
            },
            frame_type::SEND_ACK,
        );
        assert_eq!(wire.len(), 1 + 16 + 8 + 8);
        let mut zero_seq = wire.to_vec();
        zero_seq[25..33].fill(0);
        assert_eq!(fail(&zero_seq), (ErrorKind::InvalidValue, 25, "seq"));

        let wire = round_trip(
            SendFailed {
                client_id: CLIENT,
                code: Code::UNKNOWN_CHAT,
            },
            frame_type::SEND_FAILED,
        );
        assert_eq!(&wire[17..], [0x10, 0x68]);
        round_trip(
            SendFailed {
                client_id: CLIENT,
                code: Code(1),
            },
            frame_type::SEND_FAILED,
        );
    }

    #[test]
    fn mark_read_and_typing() {
        let wire = round_trip(
            MarkRead {
                chat_id: 1,
                up_to: 900,
            },
            frame_type::MARK_READ,
        );
        assert_eq!(wire.len(), 17);
        let wire = round_trip(
            Typing {
                chat_id: 1,
                active: true,
            },
            frame_type::TYPING,
        );
        assert_eq!(wire.as_ref(), [0x24, 0, 0, 0, 0, 0, 0, 0, 1, 1]);
        round_trip(
            Typing {
                chat_id: 1,
                active: false,
            },
            frame_type::TYPING,
        );
        assert_eq!(
            fail(&[0x24, 0, 0, 0, 0, 0, 0, 0, 1, 2]),
            (ErrorKind::InvalidBool, 9, "active")
        );
        assert_eq!(
            fail(&[0x24, 0, 0, 0, 0, 0, 0, 0, 1]),
            (ErrorKind::Truncated, 9, "active")
        );
    }

    #[test]
    fn history_request_keeps_out_of_range_limits_for_the_primary() {
        let request = HistoryRequest {
            request_id: 5,
            chat_id: 1,
            before: 0,
            limit: 20,
        };
        let wire = round_trip(request, frame_type::HISTORY_REQUEST);
        assert_eq!(wire.len(), 1 + 4 + 8 + 8 + 2);
        // `limit` 0 and above 100 decode; the primary answers them with
        // `Error(invalid_request)` ([SYNC-23]).
        for limit in [0, 101, u16::MAX] {
            round_trip(
                HistoryRequest { limit, ..request },
                frame_type::HISTORY_REQUEST,
            );
        }
        let mut zero = wire.to_vec();
        zero[5..13].fill(0);
        assert_eq!(fail(&zero), (ErrorKind::InvalidValue, 5, "chat_id"));
    }
}
