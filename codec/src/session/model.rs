//! The sync data model (spec §7.1, §7.4): the `Chat`, `Contact`, `Message`
//! and `Body` structures that pages, sends and events carry, and the event
//! bodies of `Event`. Unknown body and event kinds are kept, not rejected.

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::{EncodeError, ErrorKind};
use crate::limits::{MAX_BODY, MAX_CAPTION, MAX_FILE_NAME, MAX_MIME, MAX_TITLE};
use crate::primitives::{
    Fail, PResult, array, blob16, check_nonzero, nonzero_u64, put_blob16, put_rest, put_str8,
    put_str16, share, str8, str16, u8, u32, u64,
};

use super::within;

/// Message body kinds (spec §7.1).
pub mod body_kind {
    /// `Text`: the UTF-8 text itself.
    pub const TEXT: u8 = 1;
    /// `Media`: a reference to a media file held by the primary.
    pub const MEDIA: u8 = 2;
}

/// Event kinds (spec §7.4).
pub mod event_kind {
    /// `MessageAdded`: a `Message`.
    pub const MESSAGE_ADDED: u8 = 1;
    /// `StatusChanged`: `chat_id`, `message_id`, `status`.
    pub const STATUS_CHANGED: u8 = 2;
    /// `ChatUpdated`: a `Chat`.
    pub const CHAT_UPDATED: u8 = 3;
    /// `ChatRead`: `chat_id`, `up_to`.
    pub const CHAT_READ: u8 = 4;
    /// `ContactUpdated`: a `Contact`.
    pub const CONTACT_UPDATED: u8 = 5;
}

/// Smallest encoding of a `Chat`: two ids, an empty title, `unread` and
/// `last_message_id`.
pub(crate) const MIN_CHAT: usize = 8 + 8 + 1 + 4 + 8;
/// Smallest encoding of a `Contact`: the id and an empty name.
pub(crate) const MIN_CONTACT: usize = 8 + 1;
/// Smallest encoding of a `Body`: `kind`, `len` and no content (an unknown
/// kind may be empty).
pub(crate) const MIN_BODY: usize = 1 + 2;
/// Smallest encoding of a `Message`: four `u64`, `status` and a body.
pub(crate) const MIN_MESSAGE: usize = 8 * 4 + 1 + MIN_BODY;

/// One chat in the chat list.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Chat {
    /// The chat; never 0.
    pub chat_id: u64,
    /// The contact the chat is with; never 0 (§1.5).
    pub contact_id: u64,
    /// The chat's title; at most 128 bytes.
    pub title: String,
    /// Messages not read yet.
    pub unread: u32,
    /// The newest message of the chat, or 0 when it has none.
    pub last_message_id: u64,
}

impl Chat {
    pub(crate) fn parse(input: &[u8]) -> PResult<'_, Self> {
        let (input, chat_id) = nonzero_u64("chat_id")(input)?;
        let (input, contact_id) = nonzero_u64("contact_id")(input)?;
        let (input, title) = str8(MAX_TITLE, "title")(input)?;
        let (input, unread) = u32("unread")(input)?;
        let (input, last_message_id) = u64("last_message_id")(input)?;
        Ok((
            input,
            Self {
                chat_id,
                contact_id,
                title: title.to_owned(),
                unread,
                last_message_id,
            },
        ))
    }

    pub(crate) fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        check_nonzero(self.chat_id, "chat_id")?;
        check_nonzero(self.contact_id, "contact_id")?;
        buf.put_u64(self.chat_id);
        buf.put_u64(self.contact_id);
        put_str8(buf, &self.title, MAX_TITLE, "title")?;
        buf.put_u32(self.unread);
        buf.put_u64(self.last_message_id);
        Ok(())
    }
}

/// One contact.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Contact {
    /// The contact; never 0.
    pub contact_id: u64,
    /// The contact's name; at most 128 bytes.
    pub name: String,
}

impl Contact {
    pub(crate) fn parse(input: &[u8]) -> PResult<'_, Self> {
        let (input, contact_id) = nonzero_u64("contact_id")(input)?;
        let (input, name) = str8(MAX_TITLE, "name")(input)?;
        Ok((
            input,
            Self {
                contact_id,
                name: name.to_owned(),
            },
        ))
    }

    pub(crate) fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        check_nonzero(self.contact_id, "contact_id")?;
        buf.put_u64(self.contact_id);
        put_str8(buf, &self.name, MAX_TITLE, "name")
    }
}

/// A message's delivery status: a closed enumeration (spec §7.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum MessageStatus {
    /// `0`: a received message.
    None,
    /// `1`: sent.
    Sent,
    /// `2`: delivered.
    Delivered,
    /// `3`: read.
    Read,
}

impl MessageStatus {
    /// The status for a wire byte, or `None` outside `0..=3`.
    pub fn from_u8(value: u8) -> Option<Self> {
        match value {
            0 => Some(Self::None),
            1 => Some(Self::Sent),
            2 => Some(Self::Delivered),
            3 => Some(Self::Read),
            _ => None,
        }
    }

    /// The wire byte.
    pub fn as_u8(self) -> u8 {
        match self {
            Self::None => 0,
            Self::Sent => 1,
            Self::Delivered => 2,
            Self::Read => 3,
        }
    }

    pub(crate) fn parse(input: &[u8]) -> PResult<'_, Self> {
        let (rest, value) = u8("status")(input)?;
        match Self::from_u8(value) {
            Some(status) => Ok((rest, status)),
            // [ENC-06] A decoder MUST reject a value outside a closed
            // enumeration (listed as such where the field is defined) as
            // `invalid_value`.
            None => Err(Fail::at(input, ErrorKind::InvalidValue, "status")),
        }
    }
}

/// One message.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Message {
    /// The message; never 0. Ids increase with each new message.
    pub message_id: u64,
    /// The chat it belongs to; never 0.
    pub chat_id: u64,
    /// The author's contact id, or 0 for the account's owner.
    pub sender: u64,
    /// Milliseconds since the Unix epoch on the primary's clock;
    /// informative, never used for ordering.
    pub timestamp_ms: u64,
    /// Delivery status.
    pub status: MessageStatus,
    /// The content.
    pub body: Body,
}

impl Message {
    #[inline]
    pub(crate) fn parse<'a>(src: &Bytes, input: &'a [u8]) -> PResult<'a, Self> {
        let (input, message_id) = nonzero_u64("message_id")(input)?;
        let (input, chat_id) = nonzero_u64("chat_id")(input)?;
        let (input, sender) = u64("sender")(input)?;
        let (input, timestamp_ms) = u64("timestamp_ms")(input)?;
        let (input, status) = MessageStatus::parse(input)?;
        let (input, body) = Body::parse(src, input)?;
        Ok((
            input,
            Self {
                message_id,
                chat_id,
                sender,
                timestamp_ms,
                status,
                body,
            },
        ))
    }

    pub(crate) fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        check_nonzero(self.message_id, "message_id")?;
        check_nonzero(self.chat_id, "chat_id")?;
        buf.put_u64(self.message_id);
        buf.put_u64(self.chat_id);
        buf.put_u64(self.sender);
        buf.put_u64(self.timestamp_ms);
        buf.put_u8(self.status.as_u8());
        self.body.encode(buf)
    }
}

/// A reference to a media file held by the primary (body kind `2`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct MediaRef {
    /// SHA-256 of the file's bytes.
    #[cfg_attr(feature = "serde", serde(with = "crate::hex_serde"))]
    pub media_id: [u8; 32],
    /// The file's length in bytes.
    pub size: u64,
    /// MIME type; at most 64 bytes.
    pub mime: String,
    /// File name; at most 255 bytes.
    pub name: String,
    /// Caption; at most 1,024 bytes.
    pub caption: String,
}

impl MediaRef {
    fn parse(input: &[u8]) -> PResult<'_, Self> {
        let (input, media_id) = array::<32>("media_id")(input)?;
        let (input, size) = u64("size")(input)?;
        let (input, mime) = str8(MAX_MIME, "mime")(input)?;
        let (input, name) = str8(MAX_FILE_NAME, "name")(input)?;
        let (input, caption) = str16(MAX_CAPTION, "caption")(input)?;
        Ok((
            input,
            Self {
                media_id,
                size,
                mime: mime.to_owned(),
                name: name.to_owned(),
                caption: caption.to_owned(),
            },
        ))
    }

    fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        buf.put_slice(&self.media_id);
        buf.put_u64(self.size);
        put_str8(buf, &self.mime, MAX_MIME, "mime")?;
        put_str8(buf, &self.name, MAX_FILE_NAME, "name")?;
        put_str16(buf, &self.caption, MAX_CAPTION, "caption")
    }
}

/// A message body (spec §7.1): `kind u8`, `len u16` (at most 4,096), then
/// `len` bytes of content.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(tag = "kind", rename_all = "snake_case"))]
pub enum Body {
    /// Kind `1`: 1 to 4,096 bytes of UTF-8 text.
    #[cfg_attr(feature = "serde", serde(with = "text_serde"))]
    Text(String),
    /// Kind `2`: a media file.
    Media(MediaRef),
    /// A kind this version does not know, kept opaque so that it can be
    /// shown as an unsupported message ([SYNC-02]).
    Unknown {
        /// The kind byte; never a known kind.
        #[cfg_attr(feature = "serde", serde(rename = "raw_kind"))]
        kind: u8,
        /// The content, uninterpreted; a zero-copy slice of the input.
        #[cfg_attr(feature = "serde", serde(with = "crate::hex_serde"))]
        content: Bytes,
    },
}

impl Body {
    /// The kind byte on the wire.
    pub fn kind(&self) -> u8 {
        match self {
            Self::Text(_) => body_kind::TEXT,
            Self::Media(_) => body_kind::MEDIA,
            Self::Unknown { kind, .. } => *kind,
        }
    }

    #[inline]
    pub(crate) fn parse<'a>(src: &Bytes, input: &'a [u8]) -> PResult<'a, Self> {
        let (at_len, kind) = u8("kind")(input)?;
        // `blob16` checks `len` against 4,096 before it takes anything.
        let (after, content) = blob16(MAX_BODY, "content")(at_len)?;
        let body = match kind {
            body_kind::TEXT => Self::Text(parse_text(content, after)?.to_owned()),
            // [SYNC-01] The content of a known kind MUST decode exactly,
            // filling `len`.
            body_kind::MEDIA => Self::Media(within(content, after, "content", MediaRef::parse)?),
            // [SYNC-02] A body of an unknown kind MUST be kept as an opaque
            // `(kind, content)` and shown as an unsupported message, not
            // rejected.
            _ => Self::Unknown {
                kind,
                content: share(src, content),
            },
        };
        Ok((after, body))
    }

    pub(crate) fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        match self {
            Self::Text(text) => {
                if text.is_empty() {
                    return Err(EncodeError::Empty { field: "text" });
                }
                buf.put_u8(body_kind::TEXT);
                put_blob16(buf, text.as_bytes(), MAX_BODY, "text")
            }
            Self::Media(media) => {
                let mut content = BytesMut::new();
                media.encode(&mut content)?;
                buf.put_u8(body_kind::MEDIA);
                put_blob16(buf, &content, MAX_BODY, "content")
            }
            Self::Unknown { kind, content } => {
                if matches!(*kind, body_kind::TEXT | body_kind::MEDIA) {
                    return Err(EncodeError::InvalidValue { field: "kind" });
                }
                buf.put_u8(*kind);
                put_blob16(buf, content, MAX_BODY, "content")
            }
        }
    }
}

/// Checks a text body's content, which is followed by `after`: 1 to 4,096
/// bytes of UTF-8 that fill `len` ([SYNC-01]). Failures point at the start
/// of the content.
fn parse_text<'a>(content: &'a [u8], after: &[u8]) -> Result<&'a str, nom::Err<Fail>> {
    let fail = |kind| {
        nom::Err::Error(Fail {
            kind,
            remaining: content.len().saturating_add(after.len()),
            field: "text",
        })
    };
    // A text is "the UTF-8 text itself, 1 to 4,096 bytes": like a `rest`
    // field, an empty one ends before the field is complete.
    if content.is_empty() {
        return Err(fail(ErrorKind::Truncated));
    }
    // [ENC-05] A decoder MUST reject a `str8` or `str16` whose bytes are
    // not well-formed UTF-8 as `invalid_utf8` (a text body is a string
    // whose length is the body's `len`).
    std::str::from_utf8(content).map_err(|_| fail(ErrorKind::InvalidUtf8))
}

/// The body of an `Event` (spec §7.4), by kind.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(tag = "kind", rename_all = "snake_case"))]
pub enum EventBody {
    /// Kind `1`: a new message.
    MessageAdded(Message),
    /// Kind `2`: a message's status changed.
    StatusChanged {
        /// The chat; never 0.
        chat_id: u64,
        /// The message; never 0.
        message_id: u64,
        /// The new status.
        status: MessageStatus,
    },
    /// Kind `3`: a chat was created or changed.
    ChatUpdated(Chat),
    /// Kind `4`: a chat was read up to a message.
    ChatRead {
        /// The chat; never 0.
        chat_id: u64,
        /// The newest message read; a message id, so never 0.
        up_to: u64,
    },
    /// Kind `5`: a contact was created or changed.
    ContactUpdated(Contact),
    /// A kind this version does not know: acknowledged and otherwise
    /// ignored ([SYNC-09]).
    Unknown {
        /// The kind byte; never a known kind.
        #[cfg_attr(feature = "serde", serde(rename = "raw_kind"))]
        kind: u8,
        /// The body, uninterpreted (at least one byte); a zero-copy slice
        /// of the input.
        #[cfg_attr(feature = "serde", serde(with = "crate::hex_serde"))]
        body: Bytes,
    },
}

impl EventBody {
    /// The kind byte on the wire.
    pub fn kind(&self) -> u8 {
        use event_kind::*;
        match self {
            Self::MessageAdded(_) => MESSAGE_ADDED,
            Self::StatusChanged { .. } => STATUS_CHANGED,
            Self::ChatUpdated(_) => CHAT_UPDATED,
            Self::ChatRead { .. } => CHAT_READ,
            Self::ContactUpdated(_) => CONTACT_UPDATED,
            Self::Unknown { kind, .. } => *kind,
        }
    }

    /// Parses the body of an event of `kind`; `body` is the rest of the
    /// frame, at least one byte, and `src` the whole input.
    pub(crate) fn parse<'a>(src: &Bytes, kind: u8, body: &'a [u8]) -> PResult<'a, Self> {
        use event_kind::*;
        match kind {
            MESSAGE_ADDED => Message::parse(src, body).map(|(r, m)| (r, Self::MessageAdded(m))),
            STATUS_CHANGED => {
                let (i, chat_id) = nonzero_u64("chat_id")(body)?;
                let (i, message_id) = nonzero_u64("message_id")(i)?;
                let (i, status) = MessageStatus::parse(i)?;
                Ok((
                    i,
                    Self::StatusChanged {
                        chat_id,
                        message_id,
                        status,
                    },
                ))
            }
            CHAT_UPDATED => Chat::parse(body).map(|(r, c)| (r, Self::ChatUpdated(c))),
            CHAT_READ => {
                let (i, chat_id) = nonzero_u64("chat_id")(body)?;
                let (i, up_to) = nonzero_u64("up_to")(i)?;
                Ok((i, Self::ChatRead { chat_id, up_to }))
            }
            CONTACT_UPDATED => Contact::parse(body).map(|(r, c)| (r, Self::ContactUpdated(c))),
            // [SYNC-09] An event of an unknown kind MUST be acknowledged and
            // otherwise ignored.
            _ => Ok((
                &[],
                Self::Unknown {
                    kind,
                    body: share(src, body),
                },
            )),
        }
    }

    pub(crate) fn encode(&self, buf: &mut BytesMut, max_unknown: usize) -> Result<(), EncodeError> {
        match self {
            Self::MessageAdded(message) => message.encode(buf),
            Self::StatusChanged {
                chat_id,
                message_id,
                status,
            } => {
                check_nonzero(*chat_id, "chat_id")?;
                check_nonzero(*message_id, "message_id")?;
                buf.put_u64(*chat_id);
                buf.put_u64(*message_id);
                buf.put_u8(status.as_u8());
                Ok(())
            }
            Self::ChatUpdated(chat) => chat.encode(buf),
            Self::ChatRead { chat_id, up_to } => {
                check_nonzero(*chat_id, "chat_id")?;
                check_nonzero(*up_to, "up_to")?;
                buf.put_u64(*chat_id);
                buf.put_u64(*up_to);
                Ok(())
            }
            Self::ContactUpdated(contact) => contact.encode(buf),
            Self::Unknown { kind, body } => {
                if (event_kind::MESSAGE_ADDED..=event_kind::CONTACT_UPDATED).contains(kind) {
                    return Err(EncodeError::InvalidValue { field: "kind" });
                }
                put_rest(buf, body, max_unknown, "body")
            }
        }
    }
}

#[cfg(feature = "serde")]
mod text_serde {
    //! A text body as `{"kind": "text", "text": "..."}`: an internally
    //! tagged enum cannot hold a bare string.

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    struct Text<T> {
        text: T,
    }

    pub(crate) fn serialize<S: Serializer>(text: &str, s: S) -> Result<S::Ok, S::Error> {
        Text { text }.serialize(s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        Text::<String>::deserialize(d).map(|t| t.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{ErrorKind, Layer};
    use crate::primitives::run;

    fn decode_body(wire: &[u8]) -> Result<Body, crate::DecodeError> {
        let src = Bytes::copy_from_slice(wire);
        run(&src, Layer::Session, |i| Body::parse(&src, i))
    }

    fn encode_body(body: &Body) -> Result<Vec<u8>, EncodeError> {
        let mut buf = BytesMut::new();
        body.encode(&mut buf)?;
        Ok(buf.to_vec())
    }

    pub(crate) fn media() -> MediaRef {
        MediaRef {
            media_id: [0xAB; 32],
            size: 1_000_000,
            mime: "image/png".into(),
            name: "cat.png".into(),
            caption: "my cat".into(),
        }
    }

    #[test]
    fn text_body_layout() {
        let wire = encode_body(&Body::Text("hi".into())).unwrap();
        assert_eq!(wire, [1, 0, 2, b'h', b'i']);
        assert_eq!(decode_body(&wire).unwrap(), Body::Text("hi".into()));
    }

    #[test]
    fn text_body_limits() {
        let max = "é".repeat(MAX_BODY / 2);
        let wire = encode_body(&Body::Text(max.clone())).unwrap();
        assert_eq!(decode_body(&wire).unwrap(), Body::Text(max));
        let over = "a".repeat(MAX_BODY + 1);
        assert!(matches!(
            encode_body(&Body::Text(over)),
            Err(EncodeError::TooLong { .. })
        ));
        assert_eq!(
            encode_body(&Body::Text(String::new())),
            Err(EncodeError::Empty { field: "text" })
        );
    }

    #[test]
    fn empty_text_is_truncated_at_content() {
        let err = decode_body(&[1, 0, 0]).unwrap_err();
        assert_eq!(
            (err.kind, err.offset, err.field),
            (ErrorKind::Truncated, 3, "text")
        );
    }

    #[test]
    fn text_must_be_utf8() {
        let err = decode_body(&[1, 0, 2, 0xC3, 0x28]).unwrap_err();
        assert_eq!(
            (err.kind, err.offset, err.field),
            (ErrorKind::InvalidUtf8, 3, "text")
        );
    }

    #[test]
    fn body_len_over_limit_is_rejected_before_reading() {
        // len 4,097 and no content at all: the limit is checked first.
        let err = decode_body(&[1, 0x10, 0x01]).unwrap_err();
        assert_eq!((err.kind, err.offset), (ErrorKind::LengthExceedsLimit, 1));
        // A len the input cannot hold is truncated where the content
        // should start.
        let err = decode_body(&[1, 0, 5, b'a']).unwrap_err();
        assert_eq!((err.kind, err.offset), (ErrorKind::Truncated, 3));
    }

    #[test]
    fn media_body_round_trips() {
        let body = Body::Media(media());
        let wire = encode_body(&body).unwrap();
        assert_eq!(wire[0], body_kind::MEDIA);
        assert_eq!(
            usize::from(u16::from_be_bytes([wire[1], wire[2]])),
            wire.len() - 3
        );
        assert_eq!(decode_body(&wire).unwrap(), body);
    }

    #[test]
    fn media_body_must_fill_len_exactly() {
        let wire = encode_body(&Body::Media(media())).unwrap();
        let content_len = wire.len() - 3;

        // One byte more in `len` and in the content: trailing bytes inside
        // the content, pointed at exactly.
        let mut longer = wire.clone();
        longer[1..3].copy_from_slice(&u16::try_from(content_len + 1).unwrap().to_be_bytes());
        longer.push(0);
        let err = decode_body(&longer).unwrap_err();
        assert_eq!(
            (err.kind, err.offset),
            (ErrorKind::TrailingBytes, wire.len())
        );

        // One byte less: the caption ends inside `len`, even though more
        // bytes follow the body.
        let mut shorter = wire.clone();
        shorter[1..3].copy_from_slice(&u16::try_from(content_len - 1).unwrap().to_be_bytes());
        let src = Bytes::from(shorter);
        let err = run(&src, Layer::Session, |i| Body::parse(&src, i)).unwrap_err();
        let caption_text_at = wire.len() - "my cat".len();
        assert_eq!(
            (err.kind, err.offset, err.field),
            (ErrorKind::Truncated, caption_text_at, "caption")
        );
    }

    #[test]
    fn media_body_string_limits() {
        let mut m = media();
        m.mime = "m".repeat(MAX_MIME + 1);
        assert!(matches!(
            encode_body(&Body::Media(m)),
            Err(EncodeError::TooLong { field: "mime", .. })
        ));
        let mut m = media();
        m.caption = "c".repeat(MAX_CAPTION);
        m.name = "n".repeat(MAX_FILE_NAME);
        let body = Body::Media(m);
        assert_eq!(decode_body(&encode_body(&body).unwrap()).unwrap(), body);
    }

    #[test]
    fn unknown_body_kind_is_kept_zero_copy() {
        let src = Bytes::from_static(&[9, 0, 3, 1, 2, 3]);
        let body = run(&src, Layer::Session, |i| Body::parse(&src, i)).unwrap();
        let Body::Unknown { kind, content } = &body else {
            panic!("expected unknown, got {body:?}");
        };
        assert_eq!(*kind, 9);
        assert_eq!(content.as_ref(), [1, 2, 3]);
        assert_eq!(content.as_ptr(), src[3..].as_ptr());
        assert_eq!(encode_body(&body).unwrap(), src.to_vec());
        // An unknown kind may be empty.
        assert_eq!(
            decode_body(&[0, 0, 0]).unwrap(),
            Body::Unknown {
                kind: 0,
                content: Bytes::new()
            }
        );
    }

    #[test]
    fn unknown_body_cannot_claim_a_known_kind() {
        let body = Body::Unknown {
            kind: body_kind::TEXT,
            content: Bytes::from_static(b"x"),
        };
        assert_eq!(
            encode_body(&body),
            Err(EncodeError::InvalidValue { field: "kind" })
        );
    }

    #[test]
    fn status_is_closed() {
        for value in 0..=3u8 {
            assert_eq!(
                MessageStatus::from_u8(value).map(MessageStatus::as_u8),
                Some(value)
            );
        }
        let src = Bytes::from_static(&[4]);
        let err = run(&src, Layer::Session, MessageStatus::parse).unwrap_err();
        assert_eq!((err.kind, err.field), (ErrorKind::InvalidValue, "status"));
    }

    #[test]
    fn structures_reject_zero_ids() {
        let chat = Chat {
            chat_id: 0,
            contact_id: 1,
            title: String::new(),
            unread: 0,
            last_message_id: 0,
        };
        let mut buf = BytesMut::new();
        assert_eq!(
            chat.encode(&mut buf),
            Err(EncodeError::InvalidValue { field: "chat_id" })
        );

        let mut wire = vec![0u8; MIN_CHAT];
        wire[7] = 1; // chat_id 1, contact_id 0
        let src = Bytes::from(wire);
        let err = run(&src, Layer::Session, Chat::parse).unwrap_err();
        assert_eq!(
            (err.kind, err.offset, err.field),
            (ErrorKind::InvalidValue, 8, "contact_id")
        );
        wire_min_sizes_hold();
    }

    fn wire_min_sizes_hold() {
        let chat = Chat {
            chat_id: 1,
            contact_id: 1,
            title: String::new(),
            unread: 0,
            last_message_id: 0,
        };
        let mut buf = BytesMut::new();
        chat.encode(&mut buf).unwrap();
        assert_eq!(buf.len(), MIN_CHAT);
        let mut buf = BytesMut::new();
        Contact {
            contact_id: 1,
            name: String::new(),
        }
        .encode(&mut buf)
        .unwrap();
        assert_eq!(buf.len(), MIN_CONTACT);
        let mut buf = BytesMut::new();
        Message {
            message_id: 1,
            chat_id: 1,
            sender: 0,
            timestamp_ms: 0,
            status: MessageStatus::None,
            body: Body::Unknown {
                kind: 7,
                content: Bytes::new(),
            },
        }
        .encode(&mut buf)
        .unwrap();
        assert_eq!(buf.len(), MIN_MESSAGE);
    }
}
