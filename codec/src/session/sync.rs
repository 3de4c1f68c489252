//! Sync frames (spec §7.2–§7.5): `Resume` and its answers, the snapshot
//! (`SnapshotBegin`, `ChatPage`, `ContactPage`, `MessagePage`,
//! `SnapshotEnd`), numbered `Event`s and the cumulative `Ack`.

use bytes::{BufMut, Bytes, BytesMut};

use super::model::{Chat, Contact, EventBody, MIN_CHAT, MIN_CONTACT, MIN_MESSAGE, Message};
use super::within;
use crate::error::EncodeError;
use crate::limits::{
    MAX_CHATS_PER_PAGE, MAX_CONTACTS_PER_PAGE, MAX_INNER_FRAME, MAX_MESSAGES_PER_PAGE,
};
use crate::primitives::{
    PResult, bool, check_nonzero, list16, nonzero_u64, put_count16, rest, u8, u32, u64,
};

/// Largest `Event` body: the frame limit less `type`, `seq` and `kind`.
const MAX_EVENT_BODY: usize = MAX_INNER_FRAME - 1 - 8 - 1;

/// Declares a frame whose body is one `u64` that may be 0.
macro_rules! u64_frame {
    ($(#[$doc:meta])* $name:ident, $field:ident, $field_doc:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
        pub struct $name {
            #[doc = $field_doc]
            pub $field: u64,
        }

        impl $name {
            pub(crate) fn parse(input: &[u8]) -> PResult<'_, Self> {
                let (input, $field) = u64(stringify!($field))(input)?;
                Ok((input, Self { $field }))
            }

            pub(crate) fn encode_body(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
                buf.put_u64(self.$field);
                Ok(())
            }
        }
    };
}

/// Companion → primary, its first frame in a route session: the log it
/// has a copy of and the highest seq it applied, or `(0, 0)` for nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Resume {
    /// The log the companion's copy comes from, or 0 for none; a zero or
    /// unknown log id gets a snapshot ([SYNC-04]).
    pub log_id: u64,
    /// The highest seq applied, or 0.
    pub seq: u64,
}

impl Resume {
    pub(crate) fn parse(input: &[u8]) -> PResult<'_, Self> {
        let (input, log_id) = u64("log_id")(input)?;
        let (input, seq) = u64("seq")(input)?;
        Ok((input, Self { log_id, seq }))
    }

    pub(crate) fn encode_body(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        buf.put_u64(self.log_id);
        buf.put_u64(self.seq);
        Ok(())
    }
}

u64_frame!(
    /// Primary → companion: the events `seq + 1` to `head` follow, then
    /// live events ([SYNC-03]).
    ResumeAccepted,
    head,
    "The primary's newest seq (0 for a log without events)."
);

/// Primary → companion: a snapshot as of event `seq` starts; the companion
/// discards its synced state ([SYNC-05]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SnapshotBegin {
    /// The primary's log id; never 0 (§1.5).
    pub log_id: u64,
    /// The event the snapshot is the state as of (0 for a log without
    /// events).
    pub seq: u64,
    /// Chats in all the `ChatPage`s that follow.
    pub chat_count: u32,
    /// Contacts in all the `ContactPage`s that follow.
    pub contact_count: u32,
}

impl SnapshotBegin {
    pub(crate) fn parse(input: &[u8]) -> PResult<'_, Self> {
        let (input, log_id) = nonzero_u64("log_id")(input)?;
        let (input, seq) = u64("seq")(input)?;
        let (input, chat_count) = u32("chat_count")(input)?;
        let (input, contact_count) = u32("contact_count")(input)?;
        Ok((
            input,
            Self {
                log_id,
                seq,
                chat_count,
                contact_count,
            },
        ))
    }

    pub(crate) fn encode_body(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        check_nonzero(self.log_id, "log_id")?;
        buf.put_u64(self.log_id);
        buf.put_u64(self.seq);
        buf.put_u32(self.chat_count);
        buf.put_u32(self.contact_count);
        Ok(())
    }
}

/// Primary → companion: chats of the snapshot, most recently active first.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ChatPage {
    /// At most 500 chats.
    pub chats: Vec<Chat>,
}

impl ChatPage {
    pub(crate) fn parse(input: &[u8]) -> PResult<'_, Self> {
        let (input, chats) = list16(MAX_CHATS_PER_PAGE, MIN_CHAT, "chats", Chat::parse)(input)?;
        Ok((input, Self { chats }))
    }

    pub(crate) fn encode_body(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        put_count16(buf, self.chats.len(), MAX_CHATS_PER_PAGE, "chats")?;
        self.chats.iter().try_for_each(|chat| chat.encode(buf))
    }
}

/// Primary → companion: contacts of the snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ContactPage {
    /// At most 500 contacts.
    pub contacts: Vec<Contact>,
}

impl ContactPage {
    pub(crate) fn parse(input: &[u8]) -> PResult<'_, Self> {
        let (input, contacts) = list16(
            MAX_CONTACTS_PER_PAGE,
            MIN_CONTACT,
            "contacts",
            Contact::parse,
        )(input)?;
        Ok((input, Self { contacts }))
    }

    pub(crate) fn encode_body(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        put_count16(buf, self.contacts.len(), MAX_CONTACTS_PER_PAGE, "contacts")?;
        self.contacts
            .iter()
            .try_for_each(|contact| contact.encode(buf))
    }
}

/// Primary → companion: messages of one chat, oldest first; in a snapshot
/// (`request_id` 0) or in answer to a `HistoryRequest`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct MessagePage {
    /// The `HistoryRequest` answered, or 0 in a snapshot.
    pub request_id: u32,
    /// The chat; never 0.
    pub chat_id: u64,
    /// Whether the chat holds messages older than the oldest here; false
    /// is the "no more history" marker ([SYNC-22]).
    pub has_more: bool,
    /// At most 100 messages, oldest first.
    pub messages: Vec<Message>,
}

impl MessagePage {
    #[inline]
    pub(crate) fn parse<'a>(src: &Bytes, input: &'a [u8]) -> PResult<'a, Self> {
        let (input, request_id) = u32("request_id")(input)?;
        let (input, chat_id) = nonzero_u64("chat_id")(input)?;
        let (input, has_more) = bool("has_more")(input)?;
        let (input, messages) = list16(MAX_MESSAGES_PER_PAGE, MIN_MESSAGE, "messages", |i| {
            Message::parse(src, i)
        })(input)?;
        Ok((
            input,
            Self {
                request_id,
                chat_id,
                has_more,
                messages,
            },
        ))
    }

    pub(crate) fn encode_body(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        check_nonzero(self.chat_id, "chat_id")?;
        buf.put_u32(self.request_id);
        buf.put_u64(self.chat_id);
        buf.put_u8(u8::from(self.has_more));
        put_count16(buf, self.messages.len(), MAX_MESSAGES_PER_PAGE, "messages")?;
        self.messages
            .iter()
            .try_for_each(|message| message.encode(buf))
    }
}

u64_frame!(
    /// Primary → companion: the snapshot is complete; the companion has
    /// applied `seq` and acknowledges it like an event.
    SnapshotEnd,
    seq,
    "The event the snapshot is the state as of (as in `SnapshotBegin`)."
);

/// Primary → companion: one numbered change (spec §7.4).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Event {
    /// The event's number in the log: from 1, without gaps; never 0.
    pub seq: u64,
    /// The kind and its body.
    pub body: EventBody,
}

impl Event {
    #[inline]
    pub(crate) fn parse<'a>(src: &Bytes, input: &'a [u8]) -> PResult<'a, Self> {
        let (input, seq) = nonzero_u64("seq")(input)?;
        let (input, kind) = u8("kind")(input)?;
        let (after, body) = rest(MAX_EVENT_BODY, "body")(input)?;
        // [SYNC-08] The body is the rest of the frame; it MUST decode
        // exactly for a known kind.
        let body = within(body, after, "body", |b| EventBody::parse(src, kind, b))?;
        Ok((after, Self { seq, body }))
    }

    pub(crate) fn encode_body(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        check_nonzero(self.seq, "seq")?;
        buf.put_u64(self.seq);
        buf.put_u8(self.body.kind());
        self.body.encode(buf, MAX_EVENT_BODY)
    }
}

u64_frame!(
    /// Companion → primary: every event up to `seq` is applied
    /// (cumulative), and a snapshot ending at `seq`.
    Ack,
    seq,
    "The highest seq applied (0 after a snapshot of an empty log)."
);

#[cfg(test)]
mod tests {
    use super::super::model::{Body, MessageStatus, event_kind};
    use super::super::test_util::{decode, fail, round_trip};
    use super::super::{InnerFrame, frame_type};
    use super::*;
    use crate::error::ErrorKind;

    fn chat(id: u64) -> Chat {
        Chat {
            chat_id: id,
            contact_id: id + 100,
            title: format!("chat {id}"),
            unread: 2,
            last_message_id: 0,
        }
    }

    fn message(id: u64, body: Body) -> Message {
        Message {
            message_id: id,
            chat_id: 1,
            sender: 5,
            timestamp_ms: 1_700_000_000_123,
            status: MessageStatus::Sent,
            body,
        }
    }

    #[test]
    fn resume_layouts() {
        let wire = round_trip(Resume { log_id: 0, seq: 0 }, frame_type::RESUME);
        assert_eq!(
            wire.as_ref(),
            [0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        );
        round_trip(
            Resume {
                log_id: 0xAB,
                seq: 125,
            },
            frame_type::RESUME,
        );
        let wire = round_trip(ResumeAccepted { head: 0x0102 }, frame_type::RESUME_ACCEPTED);
        assert_eq!(wire.as_ref(), [0x11, 0, 0, 0, 0, 0, 0, 1, 2]);
        round_trip(ResumeAccepted { head: 0 }, frame_type::RESUME_ACCEPTED);
        assert_eq!(
            fail(&[0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            (ErrorKind::Truncated, 9, "seq")
        );
    }

    #[test]
    fn snapshot_begin_and_end() {
        let begin = SnapshotBegin {
            log_id: 7,
            seq: 120,
            chat_count: 3,
            contact_count: 2,
        };
        let wire = round_trip(begin, frame_type::SNAPSHOT_BEGIN);
        assert_eq!(wire.len(), 1 + 8 + 8 + 4 + 4);
        // A log id is never 0.
        let mut zero = wire.to_vec();
        zero[1..9].fill(0);
        assert_eq!(fail(&zero), (ErrorKind::InvalidValue, 1, "log_id"));
        let frame = InnerFrame::from(SnapshotBegin { log_id: 0, ..begin });
        assert_eq!(
            frame.to_bytes(),
            Err(EncodeError::InvalidValue { field: "log_id" })
        );

        round_trip(SnapshotEnd { seq: 120 }, frame_type::SNAPSHOT_END);
        round_trip(SnapshotEnd { seq: 0 }, frame_type::SNAPSHOT_END);
        round_trip(Ack { seq: u64::MAX }, frame_type::ACK);
        assert_eq!(
            fail(&[0x18, 0, 0, 0, 0, 0, 0, 0, 1, 9]),
            (ErrorKind::TrailingBytes, 9, "end of frame")
        );
    }

    #[test]
    fn chat_page_round_trips_and_counts_are_bounded() {
        let wire = round_trip(
            ChatPage {
                chats: vec![chat(1), chat(2)],
            },
            frame_type::CHAT_PAGE,
        );
        assert_eq!(&wire[1..3], [0, 2]);
        round_trip(ChatPage { chats: vec![] }, frame_type::CHAT_PAGE);

        // 501 chats: refused from the count alone.
        assert_eq!(
            fail(&[0x13, 0x01, 0xF5]),
            (ErrorKind::LengthExceedsLimit, 1, "chats")
        );
        // 500 chats announced with room for none: truncated before any
        // allocation, at the first item.
        assert_eq!(
            fail(&[0x13, 0x01, 0xF4]),
            (ErrorKind::Truncated, 3, "chats")
        );
        // Room for one chat of the minimum size, two announced.
        let mut short = vec![0x13, 0, 2];
        short.extend_from_slice(&[0; MIN_CHAT]);
        short[10] = 1;
        assert_eq!(fail(&short), (ErrorKind::Truncated, 3, "chats"));

        let frame = InnerFrame::from(ChatPage {
            chats: vec![chat(1); MAX_CHATS_PER_PAGE + 1],
        });
        assert!(matches!(
            frame.to_bytes(),
            Err(EncodeError::TooLong { field: "chats", .. })
        ));
    }

    #[test]
    fn a_full_chat_page_is_over_the_frame_limit() {
        let mut big = chat(1);
        big.title = "t".repeat(crate::limits::MAX_TITLE);
        let frame = InnerFrame::from(ChatPage {
            chats: vec![big; MAX_CHATS_PER_PAGE],
        });
        assert!(matches!(
            frame.to_bytes(),
            Err(EncodeError::TooLong { field: "frame", .. })
        ));
    }

    #[test]
    fn chat_fields_are_checked() {
        let wire = round_trip(
            ChatPage {
                chats: vec![chat(1)],
            },
            frame_type::CHAT_PAGE,
        );
        // The chat id (offset 3) must not be 0.
        let mut zero = wire.to_vec();
        zero[3..11].fill(0);
        assert_eq!(fail(&zero), (ErrorKind::InvalidValue, 3, "chat_id"));
        // A title over 128 bytes is refused from its length byte (offset 19).
        let mut long = wire.to_vec();
        long[19] = 129;
        assert_eq!(fail(&long), (ErrorKind::LengthExceedsLimit, 19, "title"));
    }

    #[test]
    fn contact_page_round_trips() {
        let contacts = vec![
            Contact {
                contact_id: 1,
                name: "Ada".into(),
            },
            Contact {
                contact_id: u64::MAX,
                name: "ü".repeat(64),
            },
        ];
        let wire = round_trip(ContactPage { contacts }, frame_type::CONTACT_PAGE);
        assert_eq!(&wire[1..3], [0, 2]);
        assert_eq!(
            fail(&[0x14, 0x01, 0xF5]),
            (ErrorKind::LengthExceedsLimit, 1, "contacts")
        );
        assert_eq!(
            fail(&[0x14, 0x00, 0x02, 0, 0, 0, 0]),
            (ErrorKind::Truncated, 3, "contacts")
        );
    }

    #[test]
    fn message_page_round_trips() {
        let page = MessagePage {
            request_id: 42,
            chat_id: 1,
            has_more: false,
            messages: vec![
                message(10, Body::Text("old".into())),
                message(11, Body::Text("new".into())),
            ],
        };
        let wire = round_trip(page.clone(), frame_type::MESSAGE_PAGE);
        // `has_more` sits at offset 13.
        let mut two = wire.to_vec();
        two[13] = 2;
        assert_eq!(fail(&two), (ErrorKind::InvalidBool, 13, "has_more"));
        // 101 messages: refused from the count.
        let mut over = wire[..14].to_vec();
        over.extend_from_slice(&[0, 101]);
        assert_eq!(fail(&over), (ErrorKind::LengthExceedsLimit, 14, "messages"));
        // 100 messages announced, room for none.
        over[15] = 100;
        assert_eq!(fail(&over), (ErrorKind::Truncated, 16, "messages"));
        // A status outside 0..=3 in the first message (offset 16 + 32).
        let mut status = wire.to_vec();
        status[48] = 4;
        assert_eq!(fail(&status), (ErrorKind::InvalidValue, 48, "status"));

        let mut too_many = page;
        too_many.messages = vec![message(1, Body::Text("x".into())); MAX_MESSAGES_PER_PAGE + 1];
        assert!(matches!(
            InnerFrame::from(too_many).to_bytes(),
            Err(EncodeError::TooLong {
                field: "messages",
                ..
            })
        ));
    }

    #[test]
    fn message_page_unknown_bodies_are_zero_copy() {
        let page = MessagePage {
            request_id: 0,
            chat_id: 1,
            has_more: true,
            messages: vec![message(
                3,
                Body::Unknown {
                    kind: 0x42,
                    content: Bytes::from_static(b"future"),
                },
            )],
        };
        let wire = round_trip(page, frame_type::MESSAGE_PAGE);
        let InnerFrame::MessagePage(page) = InnerFrame::decode(&wire).unwrap() else {
            panic!("not a page");
        };
        let Body::Unknown { content, .. } = &page.messages[0].body else {
            panic!("not unknown");
        };
        assert_eq!(content.as_ptr(), wire[wire.len() - 6..].as_ptr());
    }

    #[test]
    fn events_of_every_kind_round_trip() {
        let bodies = [
            EventBody::MessageAdded(message(900, Body::Text("hi".into()))),
            EventBody::StatusChanged {
                chat_id: 1,
                message_id: 900,
                status: MessageStatus::Delivered,
            },
            EventBody::ChatUpdated(chat(1)),
            EventBody::ChatRead {
                chat_id: 1,
                up_to: 900,
            },
            EventBody::ContactUpdated(Contact {
                contact_id: 2,
                name: "Bob".into(),
            }),
            EventBody::Unknown {
                kind: 6,
                body: Bytes::from_static(&[1, 2, 3]),
            },
        ];
        for (seq, body) in (1u64..).zip(bodies) {
            let kind = body.kind();
            let wire = round_trip(Event { seq, body }, frame_type::EVENT);
            assert_eq!(wire[9], kind);
        }
    }

    #[test]
    fn event_bodies_must_decode_exactly() {
        let wire = round_trip(
            Event {
                seq: 1,
                body: EventBody::ChatRead {
                    chat_id: 1,
                    up_to: 2,
                },
            },
            frame_type::EVENT,
        );
        // [SYNC-08]: a byte more after a known kind's body.
        let mut longer = wire.to_vec();
        longer.push(0);
        assert_eq!(
            fail(&longer),
            (ErrorKind::TrailingBytes, wire.len(), "body")
        );
        // A byte less.
        assert_eq!(
            fail(&wire[..wire.len() - 1]),
            (ErrorKind::Truncated, 18, "up_to")
        );
        // An empty body is truncated for any kind (`rest` holds at least 1).
        assert_eq!(fail(&wire[..10]), (ErrorKind::Truncated, 10, "body"));
        let mut unknown_empty = wire[..10].to_vec();
        unknown_empty[9] = 99;
        assert_eq!(fail(&unknown_empty), (ErrorKind::Truncated, 10, "body"));
        // Seq 0 is refused.
        let mut zero = wire.to_vec();
        zero[8] = 0;
        assert_eq!(fail(&zero), (ErrorKind::InvalidValue, 1, "seq"));
        // A status outside the enumeration in StatusChanged.
        let mut status = vec![0x17, 0, 0, 0, 0, 0, 0, 0, 1, event_kind::STATUS_CHANGED];
        status.extend_from_slice(&1u64.to_be_bytes());
        status.extend_from_slice(&1u64.to_be_bytes());
        status.push(9);
        assert_eq!(fail(&status), (ErrorKind::InvalidValue, 26, "status"));
    }

    #[test]
    fn unknown_event_kinds_are_kept_zero_copy() {
        let wire = Bytes::from_static(&[0x17, 0, 0, 0, 0, 0, 0, 0, 5, 0xEE, 7, 8]);
        let frame = InnerFrame::decode(&wire).unwrap();
        let InnerFrame::Event(Event {
            seq: 5,
            body: EventBody::Unknown { kind: 0xEE, body },
        }) = &frame
        else {
            panic!("unexpected {frame:?}");
        };
        assert_eq!(body.as_ptr(), wire[10..].as_ptr());
        assert_eq!(frame.to_bytes().unwrap(), wire);
        // Kind 0 is not a known kind either.
        assert!(decode(&[0x17, 0, 0, 0, 0, 0, 0, 0, 5, 0, 1]).is_ok());
    }

    #[test]
    fn event_encoders_refuse_what_decoders_refuse() {
        let claim = Event {
            seq: 1,
            body: EventBody::Unknown {
                kind: event_kind::CHAT_READ,
                body: Bytes::from_static(&[1]),
            },
        };
        assert_eq!(
            InnerFrame::from(claim).to_bytes(),
            Err(EncodeError::InvalidValue { field: "kind" })
        );
        let empty = Event {
            seq: 1,
            body: EventBody::Unknown {
                kind: 200,
                body: Bytes::new(),
            },
        };
        assert_eq!(
            InnerFrame::from(empty).to_bytes(),
            Err(EncodeError::Empty { field: "body" })
        );
        let zero_up_to = Event {
            seq: 1,
            body: EventBody::ChatRead {
                chat_id: 1,
                up_to: 0,
            },
        };
        assert_eq!(
            InnerFrame::from(zero_up_to).to_bytes(),
            Err(EncodeError::InvalidValue { field: "up_to" })
        );
        let zero_seq = Event {
            seq: 0,
            body: EventBody::ChatRead {
                chat_id: 1,
                up_to: 1,
            },
        };
        assert_eq!(
            InnerFrame::from(zero_seq).to_bytes(),
            Err(EncodeError::InvalidValue { field: "seq" })
        );
    }
}
