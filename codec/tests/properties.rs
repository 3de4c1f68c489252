//! Property tests of the whole codec, with proptest strategies for every
//! envelope frame, inner session frame, handshake payload and the QR
//! payload (field values drawn within the spec's limits, with their
//! boundaries weighted in):
//!
//! - encode then decode gives the same value, and one value has one
//!   encoding;
//! - any bytes (and any valid encoding with one byte changed) decode or fail
//!   cleanly: never a panic, and whatever decodes re-encodes to the input;
//! - every strict prefix of a valid encoding fails as `truncated` (`empty`
//!   for no bytes at all), except that a frame ending in a `rest` field
//!   (`Data`, `Chunk`, an `Event` of unknown kind, an ignorable frame) has
//!   shorter valid versions: such a prefix decodes exactly when it keeps the
//!   `rest` field's minimum, and then to a different frame of the same type
//!   whose encoding is the prefix;
//! - memory: a decoded list never has more capacity than the input could
//!   hold at the item's minimum size, so a large count in a small input
//!   cannot make the decoder allocate; counts of 65,535 fail at the count.

// Tests may unwrap, helpers included.
#![allow(clippy::unwrap_used)]

use bytes::Bytes;
use proptest::prelude::*;
use proptest::strategy::Union;
use tandem_codec::envelope::{self as env, EnvelopeFrame};
use tandem_codec::handshake::{Hello, PairAccept, PairInit};
use tandem_codec::limits::{
    MAX_BODY, MAX_CAPTION, MAX_CHUNK, MAX_ERROR_MESSAGE, MAX_FILE_NAME, MAX_MIME, MAX_NAME,
    MAX_NOISE_MESSAGE, MAX_RELAY_URL, MAX_TITLE,
};
use tandem_codec::qr::QrPayload;
use tandem_codec::session::{
    self as sess, Body, Chat, Contact, EventBody, InnerFrame, MediaRef, Message, MessageStatus,
    body_kind, event_kind,
};
use tandem_codec::testing::{ENVELOPE_FRAME_TYPES, SESSION_FRAME_TYPES};
use tandem_codec::{Code, ErrorKind};

// ---------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------

/// Up to `max` bytes of UTF-8: mostly a few arbitrary characters (cut to
/// fit), sometimes exactly `max` bytes of 1- or 2-byte characters.
fn string_up_to(max: usize) -> BoxedStrategy<String> {
    let fit = move |chars: Vec<char>| {
        let mut s = String::new();
        for c in chars {
            if s.len() + c.len_utf8() > max {
                break;
            }
            s.push(c);
        }
        s
    };
    prop_oneof![
        8 => prop::collection::vec(any::<char>(), 0..12).prop_map(fit),
        1 => Just("x".repeat(max)),
        1 => Just("é".repeat(max / 2)),
    ]
    .boxed()
}

/// 1 to `max` bytes of UTF-8.
fn nonempty_string_up_to(max: usize) -> BoxedStrategy<String> {
    string_up_to(max)
        .prop_map(|s| if s.is_empty() { "a".to_owned() } else { s })
        .boxed()
}

/// `min` to `max` bytes: mostly short, sometimes exactly `min` or `max`.
fn bytes_between(min: usize, max: usize) -> BoxedStrategy<Bytes> {
    prop_oneof![
        8 => prop::collection::vec(any::<u8>(), min..=max.min(min + 48)),
        1 => Just(vec![0xA5; max]),
        1 => Just(vec![0x5A; min]),
    ]
    .prop_map(Bytes::from)
    .boxed()
}

fn nonzero_u32() -> BoxedStrategy<u32> {
    prop_oneof![Just(1), Just(u32::MAX), 1..=u32::MAX].boxed()
}

fn nonzero_u64() -> BoxedStrategy<u64> {
    prop_oneof![Just(1), Just(u64::MAX), 1..=u64::MAX].boxed()
}

fn any_u64() -> BoxedStrategy<u64> {
    prop_oneof![Just(0), Just(u64::MAX), any::<u64>()].boxed()
}

fn any_u32() -> BoxedStrategy<u32> {
    prop_oneof![Just(0), Just(u32::MAX), any::<u32>()].boxed()
}

/// A known code or any other `u16` (the code space is open).
fn code() -> BoxedStrategy<Code> {
    prop_oneof![
        prop::sample::select(Code::KNOWN.to_vec()),
        any::<u16>().prop_map(Code),
    ]
    .boxed()
}

fn status() -> BoxedStrategy<MessageStatus> {
    prop::sample::select(vec![
        MessageStatus::None,
        MessageStatus::Sent,
        MessageStatus::Delivered,
        MessageStatus::Read,
    ])
    .boxed()
}

fn chat() -> BoxedStrategy<Chat> {
    (
        nonzero_u64(),
        nonzero_u64(),
        string_up_to(MAX_TITLE),
        any::<u32>(),
        any_u64(),
    )
        .prop_map(
            |(chat_id, contact_id, title, unread, last_message_id)| Chat {
                chat_id,
                contact_id,
                title,
                unread,
                last_message_id,
            },
        )
        .boxed()
}

fn contact() -> BoxedStrategy<Contact> {
    (nonzero_u64(), string_up_to(MAX_TITLE))
        .prop_map(|(contact_id, name)| Contact { contact_id, name })
        .boxed()
}

fn media_ref() -> BoxedStrategy<MediaRef> {
    (
        any::<[u8; 32]>(),
        any_u64(),
        string_up_to(MAX_MIME),
        string_up_to(MAX_FILE_NAME),
        string_up_to(MAX_CAPTION),
    )
        .prop_map(|(media_id, size, mime, name, caption)| MediaRef {
            media_id,
            size,
            mime,
            name,
            caption,
        })
        .boxed()
}

fn body() -> BoxedStrategy<Body> {
    let unknown_kind = any::<u8>().prop_filter("an unknown kind", |k| {
        *k != body_kind::TEXT && *k != body_kind::MEDIA
    });
    prop_oneof![
        4 => nonempty_string_up_to(MAX_BODY).prop_map(Body::Text),
        2 => media_ref().prop_map(Body::Media),
        1 => (unknown_kind, bytes_between(0, MAX_BODY))
            .prop_map(|(kind, content)| Body::Unknown { kind, content }),
    ]
    .boxed()
}

fn message() -> BoxedStrategy<Message> {
    (
        nonzero_u64(),
        nonzero_u64(),
        any_u64(),
        any_u64(),
        status(),
        body(),
    )
        .prop_map(
            |(message_id, chat_id, sender, timestamp_ms, status, body)| Message {
                message_id,
                chat_id,
                sender,
                timestamp_ms,
                status,
                body,
            },
        )
        .boxed()
}

fn event_body() -> BoxedStrategy<EventBody> {
    let unknown_kind = any::<u8>().prop_filter("an unknown kind", |k| {
        !(event_kind::MESSAGE_ADDED..=event_kind::CONTACT_UPDATED).contains(k)
    });
    prop_oneof![
        message().prop_map(EventBody::MessageAdded),
        (nonzero_u64(), nonzero_u64(), status()).prop_map(|(chat_id, message_id, status)| {
            EventBody::StatusChanged {
                chat_id,
                message_id,
                status,
            }
        }),
        chat().prop_map(EventBody::ChatUpdated),
        (nonzero_u64(), nonzero_u64())
            .prop_map(|(chat_id, up_to)| EventBody::ChatRead { chat_id, up_to }),
        contact().prop_map(EventBody::ContactUpdated),
        (unknown_kind, bytes_between(1, 256))
            .prop_map(|(kind, body)| EventBody::Unknown { kind, body }),
    ]
    .boxed()
}

/// Every envelope frame type, and ignorable unknown ones.
fn envelope_frame() -> impl Strategy<Value = EnvelopeFrame> {
    let arms: Vec<BoxedStrategy<EnvelopeFrame>> = vec![
        Just(EnvelopeFrame::OpenChannel).boxed(),
        (any::<[u8; 16]>(), nonzero_u32(), any_u32())
            .prop_map(|(channel_id, link_id, ttl_ms)| {
                env::ChannelOpened {
                    channel_id,
                    link_id,
                    ttl_ms,
                }
                .into()
            })
            .boxed(),
        any::<[u8; 16]>()
            .prop_map(|channel_id| env::JoinChannel { channel_id }.into())
            .boxed(),
        (any::<[u8; 16]>(), nonzero_u32())
            .prop_map(|(channel_id, link_id)| {
                env::ChannelJoined {
                    channel_id,
                    link_id,
                }
                .into()
            })
            .boxed(),
        any::<[u8; 32]>()
            .prop_map(|primary_key| env::RegisterRoute { primary_key }.into())
            .boxed(),
        any::<[u8; 32]>()
            .prop_map(|relay_ephemeral| env::RouteChallenge { relay_ephemeral }.into())
            .boxed(),
        any::<[u8; 32]>()
            .prop_map(|mac| env::RouteProof { mac }.into())
            .boxed(),
        Just(EnvelopeFrame::RouteRegistered).boxed(),
        any::<[u8; 32]>()
            .prop_map(|primary_key| env::AttachRoute { primary_key }.into())
            .boxed(),
        (nonzero_u32(), any::<bool>())
            .prop_map(|(link_id, primary_online)| {
                env::RouteAttached {
                    link_id,
                    primary_online,
                }
                .into()
            })
            .boxed(),
        nonzero_u32()
            .prop_map(|link_id| env::LinkOpened { link_id }.into())
            .boxed(),
        (nonzero_u32(), any::<bool>())
            .prop_map(|(link_id, online)| env::PeerState { link_id, online }.into())
            .boxed(),
        (nonzero_u32(), code())
            .prop_map(|(link_id, code)| env::LinkClosed { link_id, code }.into())
            .boxed(),
        (nonzero_u32(), bytes_between(1, MAX_NOISE_MESSAGE))
            .prop_map(|(link_id, payload)| env::Data { link_id, payload }.into())
            .boxed(),
        any_u64()
            .prop_map(|nonce| env::Ping { nonce }.into())
            .boxed(),
        any_u64()
            .prop_map(|nonce| env::Pong { nonce }.into())
            .boxed(),
        (code(), any_u32(), string_up_to(MAX_ERROR_MESSAGE))
            .prop_map(|(code, link_id, message)| {
                env::Error {
                    code,
                    link_id,
                    message,
                }
                .into()
            })
            .boxed(),
        (0x80u8..=0xFF, bytes_between(0, 64))
            .prop_map(|(frame_type, body)| EnvelopeFrame::Unknown { frame_type, body })
            .boxed(),
    ];
    // One arm per type of the table, and one for ignorable types.
    assert_eq!(arms.len(), ENVELOPE_FRAME_TYPES.len() + 1);
    Union::new(arms)
}

/// Every inner frame type, and ignorable unknown ones.
fn inner_frame() -> impl Strategy<Value = InnerFrame> {
    let lists = 0..4usize;
    let arms: Vec<BoxedStrategy<InnerFrame>> = vec![
        (code(), string_up_to(MAX_ERROR_MESSAGE))
            .prop_map(|(code, message)| sess::Close { code, message }.into())
            .boxed(),
        (code(), any_u32(), string_up_to(MAX_ERROR_MESSAGE))
            .prop_map(|(code, ref_id, message)| {
                sess::Error {
                    code,
                    ref_id,
                    message,
                }
                .into()
            })
            .boxed(),
        Just(InnerFrame::Rekey).boxed(),
        Just(InnerFrame::PairingComplete).boxed(),
        (any_u64(), any_u64())
            .prop_map(|(log_id, seq)| sess::Resume { log_id, seq }.into())
            .boxed(),
        any_u64()
            .prop_map(|head| sess::ResumeAccepted { head }.into())
            .boxed(),
        (nonzero_u64(), any_u64(), any_u32(), any_u32())
            .prop_map(|(log_id, seq, chat_count, contact_count)| {
                sess::SnapshotBegin {
                    log_id,
                    seq,
                    chat_count,
                    contact_count,
                }
                .into()
            })
            .boxed(),
        prop::collection::vec(chat(), lists.clone())
            .prop_map(|chats| sess::ChatPage { chats }.into())
            .boxed(),
        prop::collection::vec(contact(), lists.clone())
            .prop_map(|contacts| sess::ContactPage { contacts }.into())
            .boxed(),
        (
            any_u32(),
            nonzero_u64(),
            any::<bool>(),
            prop::collection::vec(message(), lists),
        )
            .prop_map(|(request_id, chat_id, has_more, messages)| {
                sess::MessagePage {
                    request_id,
                    chat_id,
                    has_more,
                    messages,
                }
                .into()
            })
            .boxed(),
        any_u64()
            .prop_map(|seq| sess::SnapshotEnd { seq }.into())
            .boxed(),
        (nonzero_u64(), event_body())
            .prop_map(|(seq, body)| sess::Event { seq, body }.into())
            .boxed(),
        any_u64().prop_map(|seq| sess::Ack { seq }.into()).boxed(),
        (any::<[u8; 16]>(), nonzero_u64(), body())
            .prop_map(|(client_id, chat_id, body)| {
                sess::Send {
                    client_id,
                    chat_id,
                    body,
                }
                .into()
            })
            .boxed(),
        (any::<[u8; 16]>(), nonzero_u64(), nonzero_u64())
            .prop_map(|(client_id, message_id, seq)| {
                sess::SendAck {
                    client_id,
                    message_id,
                    seq,
                }
                .into()
            })
            .boxed(),
        (any::<[u8; 16]>(), code())
            .prop_map(|(client_id, code)| sess::SendFailed { client_id, code }.into())
            .boxed(),
        (nonzero_u64(), nonzero_u64())
            .prop_map(|(chat_id, up_to)| sess::MarkRead { chat_id, up_to }.into())
            .boxed(),
        (nonzero_u64(), any::<bool>())
            .prop_map(|(chat_id, active)| sess::Typing { chat_id, active }.into())
            .boxed(),
        (any_u32(), nonzero_u64(), any_u64(), any::<u16>())
            .prop_map(|(request_id, chat_id, before, limit)| {
                sess::HistoryRequest {
                    request_id,
                    chat_id,
                    before,
                    limit,
                }
                .into()
            })
            .boxed(),
        Just(InnerFrame::Unlink).boxed(),
        (
            any_u32(),
            any::<[u8; 32]>(),
            any_u64(),
            string_up_to(MAX_MIME),
            string_up_to(MAX_FILE_NAME),
        )
            .prop_map(|(transfer_id, media_id, size, mime, name)| {
                sess::UploadBegin {
                    transfer_id,
                    media_id,
                    size,
                    mime,
                    name,
                }
                .into()
            })
            .boxed(),
        (any_u32(), any_u64(), any::<u16>())
            .prop_map(|(transfer_id, offset, credit)| {
                sess::UploadReady {
                    transfer_id,
                    offset,
                    credit,
                }
                .into()
            })
            .boxed(),
        (any_u32(), any_u64(), bytes_between(1, MAX_CHUNK))
            .prop_map(|(transfer_id, offset, data)| {
                sess::Chunk {
                    transfer_id,
                    offset,
                    data,
                }
                .into()
            })
            .boxed(),
        (any_u32(), any::<u16>())
            .prop_map(|(transfer_id, chunks)| {
                sess::Credit {
                    transfer_id,
                    chunks,
                }
                .into()
            })
            .boxed(),
        (any_u32(), any::<[u8; 32]>())
            .prop_map(|(transfer_id, media_id)| {
                sess::UploadDone {
                    transfer_id,
                    media_id,
                }
                .into()
            })
            .boxed(),
        (
            any_u32(),
            any::<[u8; 32]>(),
            any_u64(),
            any_u64(),
            any::<u16>(),
        )
            .prop_map(|(transfer_id, media_id, offset, length, credit)| {
                sess::DownloadRequest {
                    transfer_id,
                    media_id,
                    offset,
                    length,
                    credit,
                }
                .into()
            })
            .boxed(),
        (any_u32(), any_u64(), any_u64(), any_u64())
            .prop_map(|(transfer_id, size, offset, length)| {
                sess::DownloadReady {
                    transfer_id,
                    size,
                    offset,
                    length,
                }
                .into()
            })
            .boxed(),
        (any_u32(), code())
            .prop_map(|(transfer_id, code)| sess::TransferCancel { transfer_id, code }.into())
            .boxed(),
        (0x80u8..=0xFF, bytes_between(0, 64))
            .prop_map(|(frame_type, body)| InnerFrame::Unknown { frame_type, body })
            .boxed(),
    ];
    assert_eq!(arms.len(), SESSION_FRAME_TYPES.len() + 1);
    Union::new(arms)
}

fn pair_init() -> impl Strategy<Value = PairInit> {
    (any_u32(), string_up_to(MAX_NAME), string_up_to(MAX_NAME)).prop_map(
        |(capabilities, account_name, device_name)| PairInit {
            capabilities,
            account_name,
            device_name,
        },
    )
}

fn pair_accept() -> impl Strategy<Value = PairAccept> {
    (any_u32(), string_up_to(MAX_NAME)).prop_map(|(capabilities, device_name)| PairAccept {
        capabilities,
        device_name,
    })
}

fn qr_payload() -> impl Strategy<Value = QrPayload> {
    let url = (
        prop::sample::select(vec!["ws://", "wss://"]),
        prop_oneof![
            8 => "[!-~]{1,40}",
            1 => Just("a".repeat(MAX_RELAY_URL - 6)),
        ],
    )
        .prop_map(|(scheme, rest)| format!("{scheme}{rest}"))
        .prop_filter("fits str8<128>", |url| url.len() <= MAX_RELAY_URL);
    (
        any::<[u8; 16]>(),
        any::<[u8; 32]>(),
        any::<[u8; 32]>(),
        any::<u16>(),
        url,
    )
        .prop_map(
            |(channel_id, companion_key, pairing_secret, ttl_s, relay_url)| QrPayload {
                channel_id,
                companion_key,
                pairing_secret,
                ttl_s,
                relay_url,
            },
        )
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// Where the final `rest` field of a frame starts, and how many bytes it
/// needs at least, or `None` for a frame without one.
fn envelope_rest(frame: &EnvelopeFrame) -> Option<(usize, usize)> {
    match frame {
        EnvelopeFrame::Data(_) => Some((5, 1)),
        EnvelopeFrame::Unknown { .. } => Some((1, 0)),
        _ => None,
    }
}

fn session_rest(frame: &InnerFrame) -> Option<(usize, usize)> {
    match frame {
        InnerFrame::Chunk(_) => Some((13, 1)),
        InnerFrame::Event(event) if matches!(event.body, EventBody::Unknown { .. }) => {
            Some((10, 1))
        }
        InnerFrame::Unknown { .. } => Some((1, 0)),
        _ => None,
    }
}

/// The prefix lengths to try: all of them for frames up to 1 KiB, else
/// the first and last 128 and 256 in between.
fn prefix_lengths(len: usize) -> Vec<usize> {
    if len <= 1024 {
        return (0..len).collect();
    }
    let mut lengths: Vec<usize> = (0..128).chain(len - 128..len).collect();
    lengths.extend((128..len - 128).step_by((len / 256).max(1)));
    lengths
}

/// Checks the strict prefixes of one encoding (see the module doc).
fn check_prefixes<F: std::fmt::Debug + PartialEq>(
    wire: &Bytes,
    frame: &F,
    rest: Option<(usize, usize)>,
    decode: impl Fn(&Bytes) -> Result<F, tandem_codec::DecodeError>,
    encode: impl Fn(&F) -> Vec<u8>,
) -> Result<(), TestCaseError> {
    for n in prefix_lengths(wire.len()) {
        let prefix = wire.slice(..n);
        match decode(&prefix) {
            Err(err) => {
                let expected = if n == 0 {
                    ErrorKind::Empty
                } else {
                    ErrorKind::Truncated
                };
                prop_assert_eq!(err.kind, expected, "prefix {} of {:?}: {}", n, frame, err);
                prop_assert!(err.offset <= n, "prefix {}: offset {}", n, err.offset);
                if let Some((start, min)) = rest {
                    prop_assert!(
                        n < start + min,
                        "prefix {} keeps the rest field: {}",
                        n,
                        err
                    );
                }
            }
            Ok(decoded) => {
                let Some((start, min)) = rest else {
                    return Err(TestCaseError::fail(format!(
                        "prefix {n} of {frame:?}, which has no rest field, decodes to {decoded:?}"
                    )));
                };
                prop_assert!(
                    n >= start + min,
                    "prefix {} decodes without its rest field",
                    n
                );
                prop_assert_ne!(&decoded, frame, "prefix {} decodes to the whole frame", n);
                prop_assert_eq!(encode(&decoded), prefix.to_vec());
            }
        }
    }
    Ok(())
}

/// Fails unless every list in `frame` has no more capacity than `len` input
/// bytes can hold at the list's minimum item size (spec §7.1: a `Chat` is
/// at least 29 bytes, a `Contact` 9, a `Message` 36), and every string no
/// more than the input's length.
fn check_capacity(frame: &InnerFrame, len: usize) -> Result<(), TestCaseError> {
    let strings: Vec<&String> = match frame {
        InnerFrame::ChatPage(page) => {
            prop_assert!(
                page.chats.capacity() <= len / 29,
                "chats {}",
                page.chats.capacity()
            );
            page.chats.iter().map(|c| &c.title).collect()
        }
        InnerFrame::ContactPage(page) => {
            prop_assert!(page.contacts.capacity() <= len / 9);
            page.contacts.iter().map(|c| &c.name).collect()
        }
        InnerFrame::MessagePage(page) => {
            prop_assert!(page.messages.capacity() <= len / 36);
            vec![]
        }
        InnerFrame::Close(sess::Close { message, .. })
        | InnerFrame::Error(sess::Error { message, .. }) => vec![message],
        _ => vec![],
    };
    for s in strings {
        prop_assert!(s.capacity() <= len);
    }
    Ok(())
}

/// Input that is mostly a known type byte and a few set bytes, so that it
/// reaches the parsers far more often than uniform noise.
fn sparse_input(types: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    (
        prop::sample::select(types),
        0usize..96,
        prop::collection::vec((0usize..96, any::<u8>()), 0..8),
    )
        .prop_map(|(ty, len, sets)| {
            let mut wire = vec![0u8; len + 1];
            wire[0] = ty;
            for (at, value) in sets {
                if let Some(byte) = wire.get_mut(at + 1) {
                    *byte = value;
                }
            }
            wire
        })
}

fn envelope_types() -> Vec<u8> {
    let mut types: Vec<u8> = ENVELOPE_FRAME_TYPES.iter().map(|(_, t)| *t).collect();
    types.extend([0x00, 0x12, 0x7F, 0x80, 0xFF]);
    types
}

fn session_types() -> Vec<u8> {
    let mut types: Vec<u8> = SESSION_FRAME_TYPES.iter().map(|(_, t)| *t).collect();
    types.extend([0x00, 0x05, 0x7F, 0x80, 0xFF]);
    types
}

/// Decodes and, when that works, checks that the input was canonical.
fn envelope_canonical(wire: &[u8]) -> Result<(), TestCaseError> {
    let input = Bytes::copy_from_slice(wire);
    if let Ok(frame) = EnvelopeFrame::decode(&input) {
        prop_assert_eq!(frame.to_bytes().unwrap(), input);
    }
    Ok(())
}

fn session_canonical(wire: &[u8]) -> Result<(), TestCaseError> {
    let input = Bytes::copy_from_slice(wire);
    if let Ok(frame) = InnerFrame::decode(&input) {
        check_capacity(&frame, wire.len())?;
        prop_assert_eq!(frame.to_bytes().unwrap(), input);
    }
    Ok(())
}

fn handshake_canonical(wire: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(p) = PairInit::decode(wire) {
        prop_assert_eq!(p.to_vec().unwrap(), wire);
    }
    if let Ok(p) = PairAccept::decode(wire) {
        prop_assert_eq!(p.to_vec().unwrap(), wire);
    }
    if let Ok(p) = Hello::decode(wire) {
        prop_assert_eq!(p.to_vec(), wire);
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn envelope_frames_round_trip(frame in envelope_frame()) {
        let wire = frame.to_bytes().unwrap();
        let decoded = EnvelopeFrame::decode(&wire).unwrap();
        prop_assert_eq!(&decoded, &frame);
        prop_assert_eq!(decoded.to_bytes().unwrap(), wire);
    }

    #[test]
    fn inner_frames_round_trip(frame in inner_frame()) {
        let wire = frame.to_bytes().unwrap();
        let decoded = InnerFrame::decode(&wire).unwrap();
        prop_assert_eq!(&decoded, &frame);
        prop_assert_eq!(decoded.to_bytes().unwrap(), wire);
    }

    #[test]
    fn handshake_payloads_round_trip(init in pair_init(), accept in pair_accept(), caps in any::<u32>()) {
        let wire = init.to_vec().unwrap();
        prop_assert_eq!(PairInit::decode(&wire).unwrap(), init);
        let wire = accept.to_vec().unwrap();
        prop_assert_eq!(PairAccept::decode(&wire).unwrap(), accept);
        let hello = Hello { capabilities: caps };
        prop_assert_eq!(Hello::decode(&hello.to_vec()).unwrap(), hello);
    }

    #[test]
    fn qr_payloads_round_trip(payload in qr_payload(), lower in any::<bool>()) {
        let binary = payload.to_binary().unwrap();
        prop_assert_eq!(QrPayload::from_binary(&binary).unwrap(), payload.clone());
        let text = payload.to_text().unwrap();
        prop_assert!(text.len() <= tandem_codec::limits::MAX_QR_TEXT);
        // The prefix matches without regard to case ([QR-02]).
        let text = if lower { text.replacen("TANDEM:", "tandem:", 1) } else { text };
        prop_assert_eq!(QrPayload::from_text(&text).unwrap(), payload);
    }

    #[test]
    fn strict_prefixes_of_envelope_frames_fail(frame in envelope_frame()) {
        let wire = frame.to_bytes().unwrap();
        check_prefixes(&wire, &frame, envelope_rest(&frame), EnvelopeFrame::decode, |f| {
            f.to_bytes().unwrap().to_vec()
        })?;
    }

    #[test]
    fn strict_prefixes_of_inner_frames_fail(frame in inner_frame()) {
        let wire = frame.to_bytes().unwrap();
        check_prefixes(&wire, &frame, session_rest(&frame), InnerFrame::decode, |f| {
            f.to_bytes().unwrap().to_vec()
        })?;
    }

    #[test]
    fn strict_prefixes_of_payloads_fail(init in pair_init(), accept in pair_accept(), qr in qr_payload()) {
        let wire = Bytes::from(init.to_vec().unwrap());
        check_prefixes(&wire, &init, None, |b| PairInit::decode(b), |p| p.to_vec().unwrap())?;
        let wire = Bytes::from(accept.to_vec().unwrap());
        check_prefixes(&wire, &accept, None, |b| PairAccept::decode(b), |p| p.to_vec().unwrap())?;
        let hello = Hello { capabilities: 7 };
        let wire = Bytes::from(hello.to_vec());
        check_prefixes(&wire, &hello, None, |b| Hello::decode(b), |p| p.to_vec())?;
        let wire = Bytes::from(qr.to_binary().unwrap());
        check_prefixes(&wire, &qr, None, |b| QrPayload::from_binary(b), |p| p.to_binary().unwrap())?;
        // Every strict prefix of the text fails too (as truncated, or as
        // base32 that ends inside a character group).
        let text = qr.to_text().unwrap();
        for n in 0..text.len() {
            prop_assert!(QrPayload::from_text(&text[..n]).is_err(), "text prefix {}", n);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(wire in prop::collection::vec(any::<u8>(), 0..256)) {
        envelope_canonical(&wire)?;
        session_canonical(&wire)?;
        handshake_canonical(&wire)?;
        if let Ok(payload) = QrPayload::from_binary(&wire) {
            prop_assert_eq!(payload.to_binary().unwrap(), wire.clone());
        }
        let text = String::from_utf8_lossy(&wire);
        if let Ok(payload) = QrPayload::from_text(&text) {
            prop_assert!(payload.to_text().is_ok());
        }
    }

    #[test]
    fn sparse_frames_never_panic(
        env_wire in sparse_input(envelope_types()),
        sess_wire in sparse_input(session_types()),
    ) {
        envelope_canonical(&env_wire)?;
        session_canonical(&sess_wire)?;
    }

    #[test]
    fn qr_like_texts_never_panic(body in "[A-Z2-7a-z0-9=]{0,360}", prefix in prop::sample::select(vec!["TANDEM:", "tandem:", "TANDEM", ""])) {
        let text = format!("{prefix}{body}");
        if let Ok(payload) = QrPayload::from_text(&text) {
            let canonical = tandem_codec::testing::canonical_qr_text(&text);
            prop_assert_eq!(payload.to_text().unwrap(), canonical);
        }
    }

    /// A valid encoding with one byte changed: decodes to something that
    /// re-encodes to exactly it, or fails; never panics.
    #[test]
    fn mutated_frames_never_panic(
        env_frame in envelope_frame(),
        sess_frame in inner_frame(),
        at in any::<prop::sample::Index>(),
        value in any::<u8>(),
    ) {
        let mut wire = env_frame.to_bytes().unwrap().to_vec();
        let i = at.index(wire.len());
        wire[i] = value;
        envelope_canonical(&wire)?;
        let mut wire = sess_frame.to_bytes().unwrap().to_vec();
        let i = at.index(wire.len());
        wire[i] = value;
        session_canonical(&wire)?;
    }

    /// Small inputs whose list counts are large: a decoded list never
    /// holds more than the input can, and an impossible count fails at the
    /// count or at the first item, whatever follows.
    #[test]
    fn list_counts_are_bounded_by_the_input(
        ty in prop::sample::select(vec![0x13u8, 0x14, 0x15]),
        count in prop_oneof![Just(0xFFFFu16), Just(500), Just(100), Just(101), any::<u16>()],
        tail in prop::collection::vec(any::<u8>(), 0..10),
    ) {
        // ChatPage and ContactPage: the count is at byte 1; MessagePage:
        // request_id, chat_id 1, has_more, then the count at byte 14.
        let mut wire = vec![ty];
        let count_at = if ty == 0x15 {
            wire.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]);
            14
        } else {
            1
        };
        wire.extend_from_slice(&count.to_be_bytes());
        wire.extend_from_slice(&tail);
        let (max, min_item) = match ty {
            0x13 => (500, 29),
            0x14 => (500, 9),
            _ => (100, 36),
        };
        match InnerFrame::decode(&Bytes::from(wire.clone())) {
            Ok(frame) => check_capacity(&frame, wire.len())?,
            Err(err) => {
                let count = usize::from(count);
                if count > max {
                    prop_assert_eq!((err.kind, err.offset), (ErrorKind::LengthExceedsLimit, count_at));
                } else if count * min_item > tail.len() {
                    prop_assert_eq!((err.kind, err.offset), (ErrorKind::Truncated, count_at + 2));
                }
            }
        }
    }
}

/// The inputs of the issue: a list count of 65,535 with a tiny body, a
/// `str16` length of 65,535 with no bytes, a count at its maximum with room
/// for nothing.
#[test]
fn huge_counts_and_lengths_in_tiny_inputs_fail_at_once() {
    let fail = |wire: &[u8]| {
        let err = InnerFrame::decode(&Bytes::copy_from_slice(wire)).unwrap_err();
        (err.kind, err.offset)
    };
    for ty in [0x13, 0x14] {
        assert_eq!(
            fail(&[ty, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0, 0]),
            (ErrorKind::LengthExceedsLimit, 1)
        );
        assert_eq!(
            fail(&[ty, 0x01, 0xF4, 0, 0, 0, 0, 0, 0, 0]),
            (ErrorKind::Truncated, 3)
        );
    }
    let mut page = vec![0x15, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0];
    page.extend_from_slice(&[0xFF, 0xFF]);
    assert_eq!(fail(&page), (ErrorKind::LengthExceedsLimit, 14));
    page.truncate(14);
    page.extend_from_slice(&[0, 100, 0, 0]);
    assert_eq!(fail(&page), (ErrorKind::Truncated, 16));
    // A media caption (the one str16) of 65,535 bytes with none present.
    let mut content = vec![0u8; 32 + 8];
    content.extend_from_slice(&[0, 0, 0xFF, 0xFF]);
    let mut send = vec![0x20];
    send.extend_from_slice(&[0; 16]);
    send.extend_from_slice(&1u64.to_be_bytes());
    send.extend_from_slice(&tandem_codec::testing::body(body_kind::MEDIA, &content));
    assert_eq!(fail(&send), (ErrorKind::LengthExceedsLimit, 28 + 42));
    // A body length of 65,535 with no content.
    send.truncate(26);
    send.extend_from_slice(&[0xFF, 0xFF]);
    assert_eq!(fail(&send), (ErrorKind::LengthExceedsLimit, 26));
}
