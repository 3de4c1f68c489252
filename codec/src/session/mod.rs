//! Inner session frames (spec §6.2): the plaintext of each Noise transport
//! message, at most 65,519 bytes (§6.1). One file per family: close and
//! error (§6.4, §6.5), sync (§7), messaging (§7.6–§7.8), media (§8), and the
//! data model the frames carry (§7.1, §7.4).

mod control;
mod media;
mod messaging;
mod model;
mod sync;

use bytes::{BufMut, Bytes, BytesMut};

pub use control::{Close, Error};
pub use media::{
    Chunk, Credit, DownloadReady, DownloadRequest, TransferCancel, UploadBegin, UploadDone,
    UploadReady,
};
pub use messaging::{HistoryRequest, MarkRead, Send, SendAck, SendFailed, Typing};
pub use model::{
    Body, Chat, Contact, EventBody, MediaRef, Message, MessageStatus, body_kind, event_kind,
};
pub use sync::{
    Ack, ChatPage, ContactPage, Event, MessagePage, Resume, ResumeAccepted, SnapshotBegin,
    SnapshotEnd,
};

use crate::error::{DecodeError, EncodeError, ErrorKind, Layer};
use crate::limits::MAX_INNER_FRAME;
use crate::primitives::{self, Fail, PResult};

/// Inner frame type codes (spec §6.2).
pub mod frame_type {
    /// `Close`.
    pub const CLOSE: u8 = 0x01;
    /// `Error`.
    pub const ERROR: u8 = 0x02;
    /// `Rekey`.
    pub const REKEY: u8 = 0x03;
    /// `PairingComplete`.
    pub const PAIRING_COMPLETE: u8 = 0x04;
    /// `Resume`.
    pub const RESUME: u8 = 0x10;
    /// `ResumeAccepted`.
    pub const RESUME_ACCEPTED: u8 = 0x11;
    /// `SnapshotBegin`.
    pub const SNAPSHOT_BEGIN: u8 = 0x12;
    /// `ChatPage`.
    pub const CHAT_PAGE: u8 = 0x13;
    /// `ContactPage`.
    pub const CONTACT_PAGE: u8 = 0x14;
    /// `MessagePage`.
    pub const MESSAGE_PAGE: u8 = 0x15;
    /// `SnapshotEnd`.
    pub const SNAPSHOT_END: u8 = 0x16;
    /// `Event`.
    pub const EVENT: u8 = 0x17;
    /// `Ack`.
    pub const ACK: u8 = 0x18;
    /// `Send`.
    pub const SEND: u8 = 0x20;
    /// `SendAck`.
    pub const SEND_ACK: u8 = 0x21;
    /// `SendFailed`.
    pub const SEND_FAILED: u8 = 0x22;
    /// `MarkRead`.
    pub const MARK_READ: u8 = 0x23;
    /// `Typing`.
    pub const TYPING: u8 = 0x24;
    /// `HistoryRequest`.
    pub const HISTORY_REQUEST: u8 = 0x25;
    /// `Unlink`.
    pub const UNLINK: u8 = 0x26;
    /// `UploadBegin`.
    pub const UPLOAD_BEGIN: u8 = 0x30;
    /// `UploadReady`.
    pub const UPLOAD_READY: u8 = 0x31;
    /// `Chunk`.
    pub const CHUNK: u8 = 0x32;
    /// `Credit`.
    pub const CREDIT: u8 = 0x33;
    /// `UploadDone`.
    pub const UPLOAD_DONE: u8 = 0x34;
    /// `DownloadRequest`.
    pub const DOWNLOAD_REQUEST: u8 = 0x35;
    /// `DownloadReady`.
    pub const DOWNLOAD_READY: u8 = 0x36;
    /// `TransferCancel`.
    pub const TRANSFER_CANCEL: u8 = 0x37;
    /// First ignorable type code (spec §1.6).
    pub const FIRST_IGNORABLE: u8 = 0x80;
}

/// One inner session frame.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(tag = "type", rename_all = "snake_case"))]
#[non_exhaustive]
pub enum InnerFrame {
    /// Either side ends the session.
    Close(Close),
    /// Either side reports that one request failed.
    Error(Error),
    /// The sender switched its sending key.
    Rekey,
    /// Primary → companion: the link is stored (pairing done).
    PairingComplete,
    /// Companion → primary: what it has, its first frame.
    Resume(Resume),
    /// Primary → companion: the events after the resume point follow.
    ResumeAccepted(ResumeAccepted),
    /// Primary → companion: a snapshot starts.
    SnapshotBegin(SnapshotBegin),
    /// Primary → companion: chats of the snapshot.
    ChatPage(ChatPage),
    /// Primary → companion: contacts of the snapshot.
    ContactPage(ContactPage),
    /// Primary → companion: messages of one chat (snapshot or history).
    MessagePage(MessagePage),
    /// Primary → companion: the snapshot is complete.
    SnapshotEnd(SnapshotEnd),
    /// Primary → companion: one numbered change.
    Event(Event),
    /// Companion → primary: cumulative acknowledgement.
    Ack(Ack),
    /// Companion → primary: send a message.
    Send(Send),
    /// Primary → companion: a send was applied.
    SendAck(SendAck),
    /// Primary → companion: a send was refused.
    SendFailed(SendFailed),
    /// Companion → primary: the person read a chat.
    MarkRead(MarkRead),
    /// Either side: someone is typing.
    Typing(Typing),
    /// Companion → primary: older messages of a chat.
    HistoryRequest(HistoryRequest),
    /// Companion → primary: unlink this companion.
    Unlink,
    /// Companion → primary: start an upload.
    UploadBegin(UploadBegin),
    /// Primary → companion: where to continue an upload, and credit.
    UploadReady(UploadReady),
    /// Either side: media bytes.
    Chunk(Chunk),
    /// Either side: more credit for a transfer.
    Credit(Credit),
    /// Primary → companion: an upload is stored.
    UploadDone(UploadDone),
    /// Companion → primary: start a download.
    DownloadRequest(DownloadRequest),
    /// Primary → companion: the range that follows.
    DownloadReady(DownloadReady),
    /// Either side ends a transfer.
    TransferCancel(TransferCancel),
    /// An ignorable frame type this version does not know (spec §1.6,
    /// [ENC-10]); kept so that it can be logged and skipped.
    Unknown {
        /// The type code, `0x80` or above.
        frame_type: u8,
        /// The body, uninterpreted; a zero-copy slice of the input.
        #[cfg_attr(feature = "serde", serde(with = "crate::hex_serde"))]
        body: Bytes,
    },
}

impl InnerFrame {
    /// Decodes one inner frame from the whole plaintext of a Noise transport
    /// message. `Chunk` data and unknown bodies are zero-copy slices of
    /// `input`.
    pub fn decode(input: &Bytes) -> Result<Self, DecodeError> {
        // [SESS-01] A sender MUST NOT produce an inner frame longer than
        // 65,519 bytes; a longer one is refused before anything is read
        // (§10.4: `malformed_session_frame`).
        if input.len() > MAX_INNER_FRAME {
            return Err(DecodeError {
                kind: ErrorKind::LengthExceedsLimit,
                offset: 0,
                field: "frame",
                layer: Layer::Session,
            });
        }
        primitives::run(input, Layer::Session, |i| parse(input, i))
    }

    /// Appends the encoded frame to `buf`. On an error nothing is appended
    /// and the frame must not be sent ([ENC-08]).
    pub fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        let start = buf.len();
        let result = self.encode_unbounded(buf).and_then(|()| {
            let len = buf.len().saturating_sub(start);
            // [SESS-01] A sender MUST NOT produce an inner frame longer
            // than 65,519 bytes.
            if len > MAX_INNER_FRAME {
                return Err(EncodeError::TooLong {
                    field: "frame",
                    len,
                    max: MAX_INNER_FRAME,
                });
            }
            Ok(())
        });
        if result.is_err() {
            buf.truncate(start);
        }
        result
    }

    fn encode_unbounded(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        buf.put_u8(self.frame_type());
        match self {
            Self::Rekey | Self::PairingComplete | Self::Unlink => Ok(()),
            Self::Close(f) => f.encode_body(buf),
            Self::Error(f) => f.encode_body(buf),
            Self::Resume(f) => f.encode_body(buf),
            Self::ResumeAccepted(f) => f.encode_body(buf),
            Self::SnapshotBegin(f) => f.encode_body(buf),
            Self::ChatPage(f) => f.encode_body(buf),
            Self::ContactPage(f) => f.encode_body(buf),
            Self::MessagePage(f) => f.encode_body(buf),
            Self::SnapshotEnd(f) => f.encode_body(buf),
            Self::Event(f) => f.encode_body(buf),
            Self::Ack(f) => f.encode_body(buf),
            Self::Send(f) => f.encode_body(buf),
            Self::SendAck(f) => f.encode_body(buf),
            Self::SendFailed(f) => f.encode_body(buf),
            Self::MarkRead(f) => f.encode_body(buf),
            Self::Typing(f) => f.encode_body(buf),
            Self::HistoryRequest(f) => f.encode_body(buf),
            Self::UploadBegin(f) => f.encode_body(buf),
            Self::UploadReady(f) => f.encode_body(buf),
            Self::Chunk(f) => f.encode_body(buf),
            Self::Credit(f) => f.encode_body(buf),
            Self::UploadDone(f) => f.encode_body(buf),
            Self::DownloadRequest(f) => f.encode_body(buf),
            Self::DownloadReady(f) => f.encode_body(buf),
            Self::TransferCancel(f) => f.encode_body(buf),
            Self::Unknown { frame_type, body } => {
                if *frame_type < frame_type::FIRST_IGNORABLE {
                    return Err(EncodeError::InvalidValue { field: "type" });
                }
                buf.put_slice(body);
                Ok(())
            }
        }
    }

    /// Encodes the frame into a new buffer.
    pub fn to_bytes(&self) -> Result<Bytes, EncodeError> {
        let mut buf = BytesMut::with_capacity(self.encoded_len_hint());
        self.encode(&mut buf)?;
        Ok(buf.freeze())
    }

    fn encoded_len_hint(&self) -> usize {
        match self {
            Self::Chunk(chunk) => 13usize.saturating_add(chunk.data.len()),
            Self::Unknown { body, .. } => 1usize.saturating_add(body.len()),
            Self::ChatPage(_) | Self::ContactPage(_) | Self::MessagePage(_) => 4_096,
            _ => 64,
        }
    }

    /// The frame's type code.
    pub fn frame_type(&self) -> u8 {
        use frame_type::*;
        match self {
            Self::Close(_) => CLOSE,
            Self::Error(_) => ERROR,
            Self::Rekey => REKEY,
            Self::PairingComplete => PAIRING_COMPLETE,
            Self::Resume(_) => RESUME,
            Self::ResumeAccepted(_) => RESUME_ACCEPTED,
            Self::SnapshotBegin(_) => SNAPSHOT_BEGIN,
            Self::ChatPage(_) => CHAT_PAGE,
            Self::ContactPage(_) => CONTACT_PAGE,
            Self::MessagePage(_) => MESSAGE_PAGE,
            Self::SnapshotEnd(_) => SNAPSHOT_END,
            Self::Event(_) => EVENT,
            Self::Ack(_) => ACK,
            Self::Send(_) => SEND,
            Self::SendAck(_) => SEND_ACK,
            Self::SendFailed(_) => SEND_FAILED,
            Self::MarkRead(_) => MARK_READ,
            Self::Typing(_) => TYPING,
            Self::HistoryRequest(_) => HISTORY_REQUEST,
            Self::Unlink => UNLINK,
            Self::UploadBegin(_) => UPLOAD_BEGIN,
            Self::UploadReady(_) => UPLOAD_READY,
            Self::Chunk(_) => CHUNK,
            Self::Credit(_) => CREDIT,
            Self::UploadDone(_) => UPLOAD_DONE,
            Self::DownloadRequest(_) => DOWNLOAD_REQUEST,
            Self::DownloadReady(_) => DOWNLOAD_READY,
            Self::TransferCancel(_) => TRANSFER_CANCEL,
            Self::Unknown { frame_type, .. } => *frame_type,
        }
    }

    /// The spec's name of the frame type, for logs and reports.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Close(_) => "Close",
            Self::Error(_) => "Error",
            Self::Rekey => "Rekey",
            Self::PairingComplete => "PairingComplete",
            Self::Resume(_) => "Resume",
            Self::ResumeAccepted(_) => "ResumeAccepted",
            Self::SnapshotBegin(_) => "SnapshotBegin",
            Self::ChatPage(_) => "ChatPage",
            Self::ContactPage(_) => "ContactPage",
            Self::MessagePage(_) => "MessagePage",
            Self::SnapshotEnd(_) => "SnapshotEnd",
            Self::Event(_) => "Event",
            Self::Ack(_) => "Ack",
            Self::Send(_) => "Send",
            Self::SendAck(_) => "SendAck",
            Self::SendFailed(_) => "SendFailed",
            Self::MarkRead(_) => "MarkRead",
            Self::Typing(_) => "Typing",
            Self::HistoryRequest(_) => "HistoryRequest",
            Self::Unlink => "Unlink",
            Self::UploadBegin(_) => "UploadBegin",
            Self::UploadReady(_) => "UploadReady",
            Self::Chunk(_) => "Chunk",
            Self::Credit(_) => "Credit",
            Self::UploadDone(_) => "UploadDone",
            Self::DownloadRequest(_) => "DownloadRequest",
            Self::DownloadReady(_) => "DownloadReady",
            Self::TransferCancel(_) => "TransferCancel",
            Self::Unknown { .. } => "Unknown",
        }
    }
}

#[inline]
fn parse<'a>(src: &Bytes, input: &'a [u8]) -> PResult<'a, InnerFrame> {
    use frame_type::*;
    let (body, ty) = primitives::u8("type")(input)?;
    match ty {
        CLOSE => Close::parse(body).map(|(r, f)| (r, f.into())),
        ERROR => Error::parse(body).map(|(r, f)| (r, f.into())),
        REKEY => Ok((body, InnerFrame::Rekey)),
        PAIRING_COMPLETE => Ok((body, InnerFrame::PairingComplete)),
        RESUME => Resume::parse(body).map(|(r, f)| (r, f.into())),
        RESUME_ACCEPTED => ResumeAccepted::parse(body).map(|(r, f)| (r, f.into())),
        SNAPSHOT_BEGIN => SnapshotBegin::parse(body).map(|(r, f)| (r, f.into())),
        CHAT_PAGE => ChatPage::parse(body).map(|(r, f)| (r, f.into())),
        CONTACT_PAGE => ContactPage::parse(body).map(|(r, f)| (r, f.into())),
        MESSAGE_PAGE => MessagePage::parse(src, body).map(|(r, f)| (r, f.into())),
        SNAPSHOT_END => SnapshotEnd::parse(body).map(|(r, f)| (r, f.into())),
        EVENT => Event::parse(src, body).map(|(r, f)| (r, f.into())),
        ACK => Ack::parse(body).map(|(r, f)| (r, f.into())),
        SEND => Send::parse(src, body).map(|(r, f)| (r, f.into())),
        SEND_ACK => SendAck::parse(body).map(|(r, f)| (r, f.into())),
        SEND_FAILED => SendFailed::parse(body).map(|(r, f)| (r, f.into())),
        MARK_READ => MarkRead::parse(body).map(|(r, f)| (r, f.into())),
        TYPING => Typing::parse(body).map(|(r, f)| (r, f.into())),
        HISTORY_REQUEST => HistoryRequest::parse(body).map(|(r, f)| (r, f.into())),
        UNLINK => Ok((body, InnerFrame::Unlink)),
        UPLOAD_BEGIN => UploadBegin::parse(body).map(|(r, f)| (r, f.into())),
        UPLOAD_READY => UploadReady::parse(body).map(|(r, f)| (r, f.into())),
        CHUNK => Chunk::parse(src, body).map(|(r, f)| (r, f.into())),
        CREDIT => Credit::parse(body).map(|(r, f)| (r, f.into())),
        UPLOAD_DONE => UploadDone::parse(body).map(|(r, f)| (r, f.into())),
        DOWNLOAD_REQUEST => DownloadRequest::parse(body).map(|(r, f)| (r, f.into())),
        DOWNLOAD_READY => DownloadReady::parse(body).map(|(r, f)| (r, f.into())),
        TRANSFER_CANCEL => TransferCancel::parse(body).map(|(r, f)| (r, f.into())),
        // [ENC-10] Codes 0x80–0xFF are ignorable: a receiver that does not
        // know one MUST discard the frame and continue.
        FIRST_IGNORABLE..=u8::MAX => Ok((
            &[],
            InnerFrame::Unknown {
                frame_type: ty,
                body: primitives::share(src, body),
            },
        )),
        // [ENC-09] A receiver that does not know a critical type MUST treat
        // the frame as `unknown_frame_type` and close with the layer's
        // malformed code.
        _ => Err(Fail::at(input, ErrorKind::UnknownFrameType, "type")),
    }
}

/// Runs `parser` over `part`, a length-delimited part of the input that is
/// followed by `after`, and requires it to consume `part` exactly. Failure
/// offsets stay relative to the whole input.
pub(crate) fn within<'a, T>(
    part: &'a [u8],
    after: &[u8],
    field: &'static str,
    parser: impl FnOnce(&'a [u8]) -> PResult<'a, T>,
) -> Result<T, nom::Err<Fail>> {
    match parser(part) {
        Ok(([], value)) => Ok(value),
        Ok((left, _)) => Err(nom::Err::Error(Fail {
            kind: ErrorKind::TrailingBytes,
            remaining: left.len().saturating_add(after.len()),
            field,
        })),
        Err(err) => Err(err.map(|mut fail| {
            fail.remaining = fail.remaining.saturating_add(after.len());
            fail
        })),
    }
}

/// Implements `From<$frame> for InnerFrame` for each frame struct.
macro_rules! into_frame {
    ($($name:ident),*) => {
        $(impl From<$name> for InnerFrame {
            fn from(frame: $name) -> Self {
                InnerFrame::$name(frame)
            }
        })*
    };
}

into_frame!(
    Close,
    Error,
    Resume,
    ResumeAccepted,
    SnapshotBegin,
    ChatPage,
    ContactPage,
    MessagePage,
    SnapshotEnd,
    Event,
    Ack,
    Send,
    SendAck,
    SendFailed,
    MarkRead,
    Typing,
    HistoryRequest,
    UploadBegin,
    UploadReady,
    Chunk,
    Credit,
    UploadDone,
    DownloadRequest,
    DownloadReady,
    TransferCancel
);

/// Helpers shared by the tests of every session file.
#[cfg(test)]
pub(crate) mod test_util {
    use bytes::Bytes;

    use super::InnerFrame;
    use crate::error::DecodeError;

    /// Encodes `frame`, checks that its first byte is `ty` and that it
    /// decodes back to itself, and returns the wire bytes.
    pub(crate) fn round_trip(frame: impl Into<InnerFrame>, ty: u8) -> Bytes {
        let frame = frame.into();
        let wire = frame.to_bytes().unwrap();
        assert_eq!(wire.first(), Some(&ty), "type of {}", frame.name());
        assert_eq!(frame.frame_type(), ty);
        assert_eq!(
            InnerFrame::decode(&wire).unwrap(),
            frame,
            "{}",
            frame.name()
        );
        wire
    }

    /// Decodes raw bytes.
    pub(crate) fn decode(wire: &[u8]) -> Result<InnerFrame, DecodeError> {
        InnerFrame::decode(&Bytes::copy_from_slice(wire))
    }

    /// Decodes raw bytes that must fail, and returns the kind, offset and
    /// field of the error.
    pub(crate) fn fail(wire: &[u8]) -> (crate::ErrorKind, usize, &'static str) {
        let err = decode(wire).unwrap_err();
        assert_eq!(err.layer, crate::Layer::Session);
        assert_eq!(err.wire_code(), Some(crate::Code::MALFORMED_SESSION_FRAME));
        (err.kind, err.offset, err.field)
    }
}

#[cfg(test)]
mod tests {
    use super::test_util::{decode, fail, round_trip};
    use super::*;
    use crate::code::Code;
    use crate::limits::MAX_CHUNK;

    #[test]
    fn empty_frames_round_trip() {
        assert_eq!(
            round_trip(InnerFrame::Rekey, frame_type::REKEY).as_ref(),
            [0x03]
        );
        assert_eq!(
            round_trip(InnerFrame::PairingComplete, frame_type::PAIRING_COMPLETE).as_ref(),
            [0x04]
        );
        assert_eq!(
            round_trip(InnerFrame::Unlink, frame_type::UNLINK).as_ref(),
            [0x26]
        );
        assert_eq!(
            fail(&[0x03, 0x00]),
            (ErrorKind::TrailingBytes, 1, "end of frame")
        );
        assert_eq!(
            fail(&[0x26, 0x00]),
            (ErrorKind::TrailingBytes, 1, "end of frame")
        );
    }

    #[test]
    fn empty_input_is_empty() {
        assert_eq!(fail(&[]), (ErrorKind::Empty, 0, "type"));
    }

    #[test]
    fn unknown_critical_types_are_refused() {
        for ty in [0x00u8, 0x05, 0x0F, 0x19, 0x27, 0x38, 0x7F] {
            assert_eq!(
                fail(&[ty, 1, 2]),
                (ErrorKind::UnknownFrameType, 0, "type"),
                "{ty:#x}"
            );
        }
    }

    #[test]
    fn unknown_ignorable_types_are_kept_zero_copy() {
        let wire = Bytes::from_static(&[0x80, 0xDE, 0xAD]);
        let frame = InnerFrame::decode(&wire).unwrap();
        let InnerFrame::Unknown { frame_type, body } = &frame else {
            panic!("expected unknown, got {frame:?}");
        };
        assert_eq!(*frame_type, 0x80);
        assert_eq!(body.as_ref(), [0xDE, 0xAD]);
        assert_eq!(body.as_ptr(), wire[1..].as_ptr());
        assert_eq!(frame.to_bytes().unwrap(), wire);
        assert_eq!(frame.name(), "Unknown");
        // An empty body is fine, and so is the highest code.
        assert_eq!(
            decode(&[0xFF]).unwrap(),
            InnerFrame::Unknown {
                frame_type: 0xFF,
                body: Bytes::new()
            }
        );
    }

    #[test]
    fn unknown_frame_cannot_claim_a_critical_type() {
        let frame = InnerFrame::Unknown {
            frame_type: 0x7F,
            body: Bytes::new(),
        };
        assert_eq!(
            frame.to_bytes(),
            Err(EncodeError::InvalidValue { field: "type" })
        );
    }

    #[test]
    fn frames_above_the_limit_are_refused_both_ways() {
        // The largest unknown frame is fine, one byte more is not.
        let mut wire = vec![0x80u8; MAX_INNER_FRAME];
        assert!(decode(&wire).is_ok());
        wire.push(0);
        assert_eq!(fail(&wire), (ErrorKind::LengthExceedsLimit, 0, "frame"));
        // Even a frame whose type is unknown is refused for its size first.
        wire[0] = 0x7F;
        assert_eq!(fail(&wire), (ErrorKind::LengthExceedsLimit, 0, "frame"));

        let frame = InnerFrame::Unknown {
            frame_type: 0x80,
            body: Bytes::from(vec![0u8; MAX_INNER_FRAME]),
        };
        let mut buf = BytesMut::from(&b"kept"[..]);
        assert_eq!(
            frame.encode(&mut buf),
            Err(EncodeError::TooLong {
                field: "frame",
                len: MAX_INNER_FRAME + 1,
                max: MAX_INNER_FRAME
            })
        );
        // Nothing of the refused frame is left in the buffer.
        assert_eq!(buf.as_ref(), b"kept");
    }

    #[test]
    fn a_full_chunk_fits_the_frame_limit() {
        let frame = InnerFrame::from(Chunk {
            transfer_id: 1,
            offset: 0,
            data: Bytes::from(vec![7u8; MAX_CHUNK]),
        });
        let wire = round_trip(frame, frame_type::CHUNK);
        assert!(wire.len() <= MAX_INNER_FRAME);
    }

    #[test]
    fn names_and_types_match_the_table() {
        let frames: Vec<InnerFrame> = vec![
            Close {
                code: Code::NORMAL_CLOSURE,
                message: String::new(),
            }
            .into(),
            InnerFrame::Rekey,
            Ack { seq: 3 }.into(),
            TransferCancel {
                transfer_id: 1,
                code: Code::INVALID_RANGE,
            }
            .into(),
        ];
        let names: Vec<_> = frames.iter().map(|f| (f.name(), f.frame_type())).collect();
        assert_eq!(
            names,
            [
                ("Close", 0x01),
                ("Rekey", 0x03),
                ("Ack", 0x18),
                ("TransferCancel", 0x37)
            ]
        );
    }

    #[test]
    fn within_keeps_offsets_relative_to_the_input() {
        // A 2-byte part read as a u32 is truncated at the part's start;
        // the 3 bytes after it still count.
        let input = [9u8, 1, 2, 3, 4, 5];
        let part = &input[1..3];
        let after = &input[3..];
        let err = within(part, after, "part", primitives::u32("x")).unwrap_err();
        let nom::Err::Error(fail) = err else {
            panic!("expected an error")
        };
        assert_eq!(input.len() - fail.remaining, 1);
        // A part with a byte left over is trailing bytes at that byte.
        let err = within(&input[1..4], &input[4..], "part", primitives::u16("x")).unwrap_err();
        let nom::Err::Error(fail) = err else {
            panic!("expected an error")
        };
        assert_eq!(
            (fail.kind, input.len() - fail.remaining),
            (ErrorKind::TrailingBytes, 3)
        );
    }
}

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use super::*;

    /// Every type code of the table, so that random bodies reach every
    /// parser.
    const TYPES: [u8; 28] = [
        0x01, 0x02, 0x03, 0x04, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x20, 0x21,
        0x22, 0x23, 0x24, 0x25, 0x26, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
    ];

    proptest! {
        /// Any input either fails cleanly or decodes to a frame whose
        /// encoding is exactly the input: each value has one encoding
        /// (§1.4).
        #[test]
        fn decode_never_panics_and_is_canonical(
            ty in prop::sample::select(TYPES.to_vec()),
            body in prop::collection::vec(any::<u8>(), 0..200),
        ) {
            let mut wire = vec![ty];
            wire.extend_from_slice(&body);
            let wire = Bytes::from(wire);
            if let Ok(frame) = InnerFrame::decode(&wire) {
                prop_assert_eq!(frame.to_bytes().unwrap(), wire);
            }
        }

        /// Small structured frames: mostly-zero bodies with a few set
        /// bytes decode far more often than uniform noise.
        #[test]
        fn sparse_bodies_are_canonical_too(
            ty in prop::sample::select(TYPES.to_vec()),
            len in 0usize..80,
            sets in prop::collection::vec((0usize..80, any::<u8>()), 0..6),
        ) {
            let mut wire = vec![0u8; len + 1];
            wire[0] = ty;
            for (at, value) in sets {
                if let Some(byte) = wire.get_mut(at + 1) {
                    *byte = value;
                }
            }
            let wire = Bytes::from(wire);
            if let Ok(frame) = InnerFrame::decode(&wire) {
                prop_assert_eq!(frame.to_bytes().unwrap(), wire);
            }
        }
    }
}

#[cfg(all(test, feature = "serde"))]
mod serde_tests {
    use super::*;
    use crate::code::Code;

    fn message(body: Body) -> Message {
        Message {
            message_id: 900,
            chat_id: 1,
            sender: 0,
            timestamp_ms: 1_700_000_000_000,
            status: MessageStatus::Delivered,
            body,
        }
    }

    /// One of every frame, with every nested enum variant.
    fn every_frame() -> Vec<InnerFrame> {
        let chat = Chat {
            chat_id: 1,
            contact_id: 2,
            title: "Ada".into(),
            unread: 3,
            last_message_id: 900,
        };
        let contact = Contact {
            contact_id: 2,
            name: "Ada Lovelace".into(),
        };
        let media = MediaRef {
            media_id: [0x5A; 32],
            size: 12,
            mime: "text/plain".into(),
            name: "a.txt".into(),
            caption: String::new(),
        };
        let event = |seq, body| InnerFrame::from(Event { seq, body });
        vec![
            Close {
                code: Code::DEVICE_REVOKED,
                message: "revoked".into(),
            }
            .into(),
            Error {
                code: Code(4299),
                ref_id: 7,
                message: String::new(),
            }
            .into(),
            InnerFrame::Rekey,
            InnerFrame::PairingComplete,
            Resume { log_id: 0, seq: 0 }.into(),
            ResumeAccepted { head: 128 }.into(),
            SnapshotBegin {
                log_id: u64::MAX,
                seq: 120,
                chat_count: 3,
                contact_count: 2,
            }
            .into(),
            ChatPage {
                chats: vec![chat.clone()],
            }
            .into(),
            ContactPage {
                contacts: vec![contact.clone()],
            }
            .into(),
            MessagePage {
                request_id: 0,
                chat_id: 1,
                has_more: true,
                messages: vec![
                    message(Body::Text("hi".into())),
                    message(Body::Media(media.clone())),
                    message(Body::Unknown {
                        kind: 9,
                        content: Bytes::from_static(&[1, 2]),
                    }),
                ],
            }
            .into(),
            SnapshotEnd { seq: 120 }.into(),
            event(
                121,
                EventBody::MessageAdded(message(Body::Text("yo".into()))),
            ),
            event(
                122,
                EventBody::StatusChanged {
                    chat_id: 1,
                    message_id: 900,
                    status: MessageStatus::Read,
                },
            ),
            event(123, EventBody::ChatUpdated(chat)),
            event(
                124,
                EventBody::ChatRead {
                    chat_id: 1,
                    up_to: 900,
                },
            ),
            event(125, EventBody::ContactUpdated(contact)),
            event(
                126,
                EventBody::Unknown {
                    kind: 200,
                    body: Bytes::from_static(&[0xFF]),
                },
            ),
            Ack { seq: 126 }.into(),
            Send {
                client_id: [0xC7; 16],
                chat_id: 1,
                body: Body::Media(media),
            }
            .into(),
            SendAck {
                client_id: [0xC7; 16],
                message_id: 900,
                seq: 127,
            }
            .into(),
            SendFailed {
                client_id: [0xC8; 16],
                code: Code::UNKNOWN_CHAT,
            }
            .into(),
            MarkRead {
                chat_id: 1,
                up_to: 900,
            }
            .into(),
            Typing {
                chat_id: 1,
                active: true,
            }
            .into(),
            HistoryRequest {
                request_id: 5,
                chat_id: 1,
                before: 0,
                limit: 50,
            }
            .into(),
            InnerFrame::Unlink,
            UploadBegin {
                transfer_id: 1,
                media_id: [0x5A; 32],
                size: 12,
                mime: "text/plain".into(),
                name: "a.txt".into(),
            }
            .into(),
            UploadReady {
                transfer_id: 1,
                offset: 0,
                credit: 8,
            }
            .into(),
            Chunk {
                transfer_id: 1,
                offset: 0,
                data: Bytes::from_static(b"hello world\n"),
            }
            .into(),
            Credit {
                transfer_id: 1,
                chunks: 4,
            }
            .into(),
            UploadDone {
                transfer_id: 1,
                media_id: [0x5A; 32],
            }
            .into(),
            DownloadRequest {
                transfer_id: 2,
                media_id: [0x5A; 32],
                offset: 0,
                length: 0,
                credit: 16,
            }
            .into(),
            DownloadReady {
                transfer_id: 2,
                size: 12,
                offset: 0,
                length: 12,
            }
            .into(),
            TransferCancel {
                transfer_id: 2,
                code: Code::MEDIA_HASH_MISMATCH,
            }
            .into(),
            InnerFrame::Unknown {
                frame_type: 0x90,
                body: Bytes::from_static(&[0xAB]),
            },
        ]
    }

    #[test]
    fn every_frame_round_trips_through_json_and_wire() {
        let frames = every_frame();
        let mut types: Vec<u8> = frames.iter().map(InnerFrame::frame_type).collect();
        types.dedup();
        // Every type of the table (28) and one unknown.
        assert_eq!(types.len(), 29);
        for frame in frames {
            let json = serde_json::to_string(&frame).unwrap();
            let back: InnerFrame = serde_json::from_str(&json).unwrap();
            assert_eq!(back, frame, "{json}");
            let wire = frame.to_bytes().unwrap();
            assert_eq!(InnerFrame::decode(&wire).unwrap(), frame, "{json}");
        }
    }

    #[test]
    fn json_shapes_are_readable() {
        let frame = InnerFrame::from(Send {
            client_id: [0xC7; 16],
            chat_id: 1,
            body: Body::Text("hi".into()),
        });
        let json = serde_json::to_value(&frame).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "type": "send",
                "client_id": "c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7",
                "chat_id": 1,
                "body": { "kind": "text", "text": "hi" },
            })
        );
        let frame = InnerFrame::from(Event {
            seq: 9,
            body: EventBody::Unknown {
                kind: 77,
                body: Bytes::from_static(&[1]),
            },
        });
        let json = serde_json::to_value(&frame).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "type": "event",
                "seq": 9,
                "body": { "kind": "unknown", "raw_kind": 77, "body": "01" },
            })
        );
        let status = serde_json::to_value(MessageStatus::None).unwrap();
        assert_eq!(status, serde_json::json!("none"));
    }
}
