//! The test-vector generator: builds `spec/vectors/{envelope, session,
//! handshake-payloads, qr}.json` deterministically from the codec.
//!
//! Shared, as one copy, by `examples/vectors.rs` (which writes the files)
//! and `tests/vectors.rs` (which fails when the checked-in files differ from
//! what this produces).
//!
//! Valid vectors are built from typed frames with the codec's encoder, and
//! checked to decode back and re-encode to the same bytes. Invalid vectors
//! are built with `tandem_codec::testing` from valid encodings, and each
//! states the error kind and offset it expects, worked out by hand from the
//! byte layouts of the spec: the generator panics when the codec disagrees,
//! so that a codec bug cannot slip into the vectors unnoticed.

#![allow(dead_code)]

use std::collections::BTreeMap;

use bytes::Bytes;
use serde::Serialize;
use tandem_codec::envelope::{self as env, EnvelopeFrame};
use tandem_codec::handshake::{Hello, PairAccept, PairInit};
use tandem_codec::limits::{
    MAX_BODY, MAX_CAPTION, MAX_CHUNK, MAX_ERROR_MESSAGE, MAX_FILE_NAME, MAX_INNER_FRAME, MAX_MIME,
    MAX_NAME, MAX_NOISE_MESSAGE, MAX_QR_TEXT, MAX_RELAY_URL, MAX_TITLE,
};
use tandem_codec::qr::QrPayload;
use tandem_codec::session::{
    self as sess, Body, Chat, Contact, EventBody, InnerFrame, MediaRef, Message, MessageStatus,
};
use tandem_codec::testing as t;
use tandem_codec::{Code, DecodeError, ErrorKind};

/// The `schema` of every vector file.
pub(crate) const SCHEMA: &str = "tandem-codec-vectors/1";

/// The command that rewrites the vector files.
pub(crate) const WRITE_COMMAND: &str =
    "cargo run -p tandem-codec --all-features --example vectors -- --write";

/// Edge-case flags (as Wycheproof's `flags`): what a vector exercises.
mod flag {
    pub(crate) const EMPTY_INPUT: &str = "empty_input";
    pub(crate) const TRUNCATED: &str = "truncated";
    pub(crate) const TRAILING_BYTES: &str = "trailing_bytes";
    pub(crate) const UNKNOWN_CRITICAL_TYPE: &str = "unknown_critical_type";
    pub(crate) const IGNORABLE_TYPE: &str = "ignorable_type";
    pub(crate) const UNKNOWN_KIND: &str = "unknown_kind";
    pub(crate) const UNKNOWN_CODE: &str = "unknown_code";
    pub(crate) const ZERO_ID: &str = "zero_id";
    pub(crate) const ZERO_ALLOWED: &str = "zero_allowed";
    pub(crate) const NON_CANONICAL_BOOL: &str = "non_canonical_bool";
    pub(crate) const INVALID_ENUM: &str = "invalid_enum";
    pub(crate) const INVALID_UTF8: &str = "invalid_utf8";
    pub(crate) const OVERLONG_UTF8: &str = "overlong_utf8";
    pub(crate) const SURROGATE_UTF8: &str = "surrogate_utf8";
    pub(crate) const MULTIBYTE_UTF8: &str = "multibyte_utf8";
    pub(crate) const MAX_LENGTH: &str = "max_length";
    pub(crate) const OVER_MAX_LENGTH: &str = "over_max_length";
    pub(crate) const ALLOCATION_BAIT: &str = "allocation_bait";
    pub(crate) const MIN_LENGTH: &str = "min_length";
    pub(crate) const EMPTY_FIELD: &str = "empty_field";
    pub(crate) const MAX_VALUE: &str = "max_value";
    pub(crate) const LARGE_INPUT: &str = "large_input";
    pub(crate) const NESTED_LENGTH: &str = "nested_length";
    pub(crate) const CAPABILITY_BITS: &str = "capability_bits";
    pub(crate) const REQUEST_ERROR_NOT_MALFORMED: &str = "request_error_not_malformed";
    pub(crate) const PREFIX_CASE: &str = "prefix_case";
    pub(crate) const INVALID_PREFIX: &str = "invalid_prefix";
    pub(crate) const LOWER_CASE_BASE32: &str = "lower_case_base32";
    pub(crate) const BASE32_PADDING: &str = "base32_padding";
    pub(crate) const BASE32_TRAILING_BITS: &str = "base32_trailing_bits";
    pub(crate) const BASE32_ALPHABET: &str = "base32_alphabet";
    pub(crate) const BASE32_LENGTH: &str = "base32_length";
    pub(crate) const UNSUPPORTED_VERSION: &str = "unsupported_version";
    pub(crate) const RESERVED_NONZERO: &str = "reserved_nonzero";
    pub(crate) const INVALID_URL: &str = "invalid_url";
}

use ErrorKind::{
    Empty, InvalidBase32, InvalidBool, InvalidPrefix, InvalidUtf8, InvalidValue,
    LengthExceedsLimit, ReservedNonzero, TrailingBytes, Truncated, UnknownFrameType,
    UnsupportedVersion,
};
use flag::*;

/// One vector file.
#[derive(Serialize)]
pub(crate) struct VectorFile {
    /// Always [`SCHEMA`].
    pub(crate) schema: &'static str,
    /// `envelope`, `session`, `handshake_payload` or `qr`.
    pub(crate) layer: &'static str,
    /// The vectors, in generation order.
    pub(crate) vectors: Vec<Vector>,
    /// The file's name in `spec/vectors/`.
    #[serde(skip)]
    pub(crate) file: &'static str,
}

/// One vector.
#[derive(Serialize)]
pub(crate) struct Vector {
    pub(crate) id: String,
    pub(crate) comment: String,
    pub(crate) decoder: &'static str,
    pub(crate) input: String,
    pub(crate) result: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    decoded: Option<Decoded>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    offset: Option<usize>,
    /// Present on invalid vectors only; `Some(None)` is written as `null`.
    #[serde(skip_serializing_if = "Option::is_none")]
    wire_code: Option<Option<u16>>,
    pub(crate) flags: Vec<&'static str>,
    pub(crate) requirements: Vec<&'static str>,
    /// The input's bytes (the QR text's bytes for `qr`), for the fuzz corpus.
    #[serde(skip)]
    pub(crate) raw: Vec<u8>,
}

/// A decoded value, written as its JSON form.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum Decoded {
    Envelope(EnvelopeFrame),
    Session(InnerFrame),
    PairInit(PairInit),
    PairAccept(PairAccept),
    Hello(Hello),
    Qr(QrPayload),
}

/// The decoders a vector names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Decoder {
    Envelope,
    Session,
    PairInit,
    PairAccept,
    Hello,
    Qr,
}

impl Decoder {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Envelope => "envelope",
            Self::Session => "session",
            Self::PairInit => "pair_init",
            Self::PairAccept => "pair_accept",
            Self::Hello => "hello",
            Self::Qr => "qr",
        }
    }

    fn decode(self, input: &[u8]) -> Result<Decoded, DecodeError> {
        match self {
            Self::Envelope => {
                EnvelopeFrame::decode(&Bytes::copy_from_slice(input)).map(Decoded::Envelope)
            }
            Self::Session => {
                InnerFrame::decode(&Bytes::copy_from_slice(input)).map(Decoded::Session)
            }
            Self::PairInit => PairInit::decode(input).map(Decoded::PairInit),
            Self::PairAccept => PairAccept::decode(input).map(Decoded::PairAccept),
            Self::Hello => Hello::decode(input).map(Decoded::Hello),
            Self::Qr => {
                let text = std::str::from_utf8(input).expect("QR vectors are text");
                QrPayload::from_text(text).map(Decoded::Qr)
            }
        }
    }
}

impl Decoded {
    /// The canonical encoding (for QR, the text with an upper-case prefix).
    fn encode(&self) -> Vec<u8> {
        match self {
            Self::Envelope(f) => f.to_bytes().expect("encodes").to_vec(),
            Self::Session(f) => f.to_bytes().expect("encodes").to_vec(),
            Self::PairInit(p) => p.to_vec().expect("encodes"),
            Self::PairAccept(p) => p.to_vec().expect("encodes"),
            Self::Hello(p) => p.to_vec(),
            Self::Qr(p) => p.to_text().expect("encodes").into_bytes(),
        }
    }
}

/// Builds the vectors of one file, numbering ids per name and result.
struct Gen {
    prefix: &'static str,
    vectors: Vec<Vector>,
    numbers: BTreeMap<(String, &'static str), usize>,
}

impl Gen {
    fn new(prefix: &'static str) -> Self {
        Self {
            prefix,
            vectors: Vec::new(),
            numbers: BTreeMap::new(),
        }
    }

    fn finish(self, file: &'static str, layer: &'static str) -> VectorFile {
        VectorFile {
            schema: SCHEMA,
            layer,
            vectors: self.vectors,
            file,
        }
    }

    fn id(&mut self, name: &str, result: &'static str) -> String {
        let n = self.numbers.entry((name.to_owned(), result)).or_insert(0);
        *n += 1;
        format!("{}-{name}-{result}-{n:03}", self.prefix)
    }

    fn input_text(d: Decoder, input: &[u8]) -> String {
        match d {
            Decoder::Qr => String::from_utf8(input.to_vec()).expect("QR vectors are text"),
            _ => hex::encode(input),
        }
    }

    /// A valid vector: `input` must decode, and re-encode to itself.
    fn valid(
        &mut self,
        d: Decoder,
        name: &str,
        comment: impl Into<String>,
        input: Vec<u8>,
        flags: &[&'static str],
        reqs: &[&'static str],
    ) -> Vec<u8> {
        let id = self.id(name, "valid");
        let decoded = d
            .decode(&input)
            .unwrap_or_else(|e| panic!("{id}: expected valid, the codec says {e}"));
        let again = decoded.encode();
        let canonical = match d {
            Decoder::Qr => {
                t::canonical_qr_text(std::str::from_utf8(&input).expect("text")).into_bytes()
            }
            _ => input.clone(),
        };
        assert_eq!(again, canonical, "{id}: does not re-encode to its input");
        self.vectors.push(Vector {
            id,
            comment: comment.into(),
            decoder: d.name(),
            input: Self::input_text(d, &input),
            result: "valid",
            decoded: Some(decoded),
            error: None,
            offset: None,
            wire_code: None,
            flags: flags.to_vec(),
            requirements: reqs.to_vec(),
            raw: input.clone(),
        });
        input
    }

    /// An invalid vector: `input` must fail with `kind` at `offset`.
    #[allow(clippy::too_many_arguments)]
    fn invalid(
        &mut self,
        d: Decoder,
        name: &str,
        comment: impl Into<String>,
        input: Vec<u8>,
        kind: ErrorKind,
        offset: usize,
        flags: &[&'static str],
        reqs: &[&'static str],
    ) {
        let id = self.id(name, "invalid");
        let err = match d.decode(&input) {
            Ok(value) => panic!("{id}: expected {kind} at {offset}, the codec decodes {value:?}"),
            Err(err) => err,
        };
        assert_eq!(
            (err.kind, err.offset),
            (kind, offset),
            "{id}: expected {kind} at {offset}, the codec says {err}"
        );
        let mut requirements = vec![kind.requirement()];
        for req in reqs {
            if !requirements.contains(req) {
                requirements.push(req);
            }
        }
        self.vectors.push(Vector {
            id,
            comment: comment.into(),
            decoder: d.name(),
            input: Self::input_text(d, &input),
            result: "invalid",
            decoded: None,
            error: Some(kind.as_str()),
            offset: Some(offset),
            wire_code: Some(err.wire_code().map(|c| c.0)),
            flags: flags.to_vec(),
            requirements,
            raw: input,
        });
    }

    /// Strict prefixes of `wire`, each `(length, offset the codec must
    /// report)`.
    fn truncations(&mut self, d: Decoder, name: &str, wire: &[u8], cuts: &[(usize, usize)]) {
        for &(len, offset) in cuts {
            assert!(
                len > 0 && len < wire.len(),
                "{name}: {len} is not a strict prefix"
            );
            self.invalid(
                d,
                name,
                format!(
                    "the first {len} of the {} bytes of a valid frame: the field at byte {offset} is incomplete",
                    wire.len()
                ),
                t::truncate(wire, len),
                Truncated,
                offset,
                &[TRUNCATED],
                &[],
            );
        }
    }

    /// `wire` followed by `extra`: trailing bytes at the end of `wire`.
    fn trailing(&mut self, d: Decoder, name: &str, wire: &[u8], extra: &[u8], what: &str) {
        self.invalid(
            d,
            name,
            format!("a valid frame followed by {what}"),
            t::with_trailing(wire, extra),
            TrailingBytes,
            wire.len(),
            &[TRAILING_BYTES],
            &[],
        );
    }

    /// A valid envelope frame from its typed value.
    fn env(
        &mut self,
        name: &str,
        comment: impl Into<String>,
        frame: impl Into<EnvelopeFrame>,
        flags: &[&'static str],
        reqs: &[&'static str],
    ) -> Vec<u8> {
        let frame = frame.into();
        let wire = frame.to_bytes().expect("a valid frame encodes").to_vec();
        self.valid(Decoder::Envelope, name, comment, wire, flags, reqs)
    }

    /// A valid inner frame from its typed value.
    fn sess(
        &mut self,
        name: &str,
        comment: impl Into<String>,
        frame: impl Into<InnerFrame>,
        flags: &[&'static str],
        reqs: &[&'static str],
    ) -> Vec<u8> {
        let frame = frame.into();
        let wire = frame.to_bytes().expect("a valid frame encodes").to_vec();
        self.valid(Decoder::Session, name, comment, wire, flags, reqs)
    }
}

/// `n` bytes counting up from `start`.
fn ramp<const N: usize>(start: u8) -> [u8; N] {
    std::array::from_fn(|i| start.wrapping_add(i as u8))
}

/// `len` bytes of a fixed pattern, for large payloads.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// Concatenates byte strings.
fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// Builds every vector file, in the order they are written.
pub(crate) fn generate() -> Vec<VectorFile> {
    vec![envelope(), session(), handshake_payloads(), qr()]
}

/// Serializes a file as it is checked in: pretty JSON and a final newline.
pub(crate) fn to_json(file: &VectorFile) -> String {
    let mut json = serde_json::to_string_pretty(file).expect("vectors serialize");
    json.push('\n');
    json
}

// ---------------------------------------------------------------------------
// Envelope (spec §3)
// ---------------------------------------------------------------------------

fn envelope() -> VectorFile {
    let mut g = Gen::new("envelope");
    let d = Decoder::Envelope;
    let channel: [u8; 16] = ramp(0xA0);
    let key: [u8; 32] = ramp(0x01);

    g.invalid(
        d,
        "empty",
        "an empty message has no type byte",
        vec![],
        Empty,
        0,
        &[EMPTY_INPUT],
        &[],
    );
    for (ty, what) in [
        (0x00, "0x00, never assigned"),
        (0x12, "0x12, the first code after the table"),
        (0x40, "0x40, in the middle of the critical range"),
        (0x7F, "0x7F, the last critical code"),
    ] {
        g.invalid(
            d,
            "unknown-type",
            format!("type {what}: an unknown critical type is refused"),
            vec![ty, 0, 0, 0, 1],
            UnknownFrameType,
            0,
            &[UNKNOWN_CRITICAL_TYPE],
            &[],
        );
    }
    g.invalid(
        d,
        "unknown-type",
        "type 0x12 alone, without a body",
        vec![0x12],
        UnknownFrameType,
        0,
        &[UNKNOWN_CRITICAL_TYPE],
        &[],
    );

    // Ignorable types are kept as `unknown` ([ENC-10]).
    for (ty, body, what) in [
        (
            0x80,
            &[0xDE, 0xAD, 0xBE][..],
            "0x80, the first ignorable code, with a 3-byte body",
        ),
        (
            0xFF,
            &[][..],
            "0xFF, the last ignorable code, with an empty body",
        ),
        (
            0xC0,
            &[0, 0, 0, 5, 1, 2][..],
            "0xC0 with a body shaped like a Data frame's",
        ),
    ] {
        g.env(
            "unknown",
            format!("type {what}: kept as unknown so that it can be skipped"),
            EnvelopeFrame::Unknown {
                frame_type: ty,
                body: Bytes::copy_from_slice(body),
            },
            &[IGNORABLE_TYPE],
            &["ENC-10"],
        );
    }

    // Frames without a body.
    for (name, frame) in [
        ("open-channel", EnvelopeFrame::OpenChannel),
        ("route-registered", EnvelopeFrame::RouteRegistered),
    ] {
        let w = g.env(
            name,
            "the type byte alone: the body is empty",
            frame,
            &[],
            &[],
        );
        g.trailing(d, name, &w, &[0x00], "one zero byte");
        g.trailing(
            d,
            name,
            &w,
            &w.clone(),
            "a second copy of itself (one frame per message)",
        );
        g.trailing(d, name, &w, &[0; 16], "16 zero bytes");
    }

    // ChannelOpened: channel_id 1..17, link_id 17..21, ttl_ms 21..25.
    let w = g.env(
        "channel-opened",
        "channel id, link id 7, 60 s lifetime",
        env::ChannelOpened {
            channel_id: channel,
            link_id: 7,
            ttl_ms: 60_000,
        },
        &[],
        &[],
    );
    g.env(
        "channel-opened",
        "largest link id and a lifetime of 0",
        env::ChannelOpened {
            channel_id: [0xFF; 16],
            link_id: u32::MAX,
            ttl_ms: 0,
        },
        &[MAX_VALUE, ZERO_ALLOWED],
        &[],
    );
    g.truncations(
        d,
        "channel-opened",
        &w,
        &[(1, 1), (9, 1), (17, 17), (24, 21)],
    );
    g.trailing(d, "channel-opened", &w, &[0], "one zero byte");
    g.invalid(
        d,
        "channel-opened",
        "link id 0, which is never assigned",
        t::set_u32_at(&w, 17, 0),
        InvalidValue,
        17,
        &[ZERO_ID],
        &[],
    );

    // JoinChannel: channel_id 1..17.
    let w = g.env(
        "join-channel",
        "the channel id from a QR code",
        env::JoinChannel {
            channel_id: channel,
        },
        &[],
        &[],
    );
    g.env(
        "join-channel",
        "an all-zero channel id decodes (the relay does not know it)",
        env::JoinChannel {
            channel_id: [0; 16],
        },
        &[ZERO_ALLOWED],
        &[],
    );
    g.truncations(d, "join-channel", &w, &[(1, 1), (16, 1)]);
    g.trailing(d, "join-channel", &w, &[0], "one zero byte");

    // ChannelJoined: channel_id 1..17, link_id 17..21.
    let w = g.env(
        "channel-joined",
        "channel id and link id 3",
        env::ChannelJoined {
            channel_id: channel,
            link_id: 3,
        },
        &[],
        &[],
    );
    g.env(
        "channel-joined",
        "largest link id",
        env::ChannelJoined {
            channel_id: [0xFF; 16],
            link_id: u32::MAX,
        },
        &[MAX_VALUE],
        &[],
    );
    g.truncations(d, "channel-joined", &w, &[(1, 1), (17, 17), (20, 17)]);
    g.trailing(d, "channel-joined", &w, &[0], "one zero byte");
    g.invalid(
        d,
        "channel-joined",
        "link id 0",
        t::set_u32_at(&w, 17, 0),
        InvalidValue,
        17,
        &[ZERO_ID],
        &[],
    );

    // Frames with one 32-byte field: 1..33.
    type KeyFrame = fn([u8; 32]) -> EnvelopeFrame;
    let key_frames: [(&str, &str, KeyFrame); 4] = [
        ("register-route", "primary key", |k| {
            env::RegisterRoute { primary_key: k }.into()
        }),
        ("route-challenge", "relay ephemeral key", |k| {
            env::RouteChallenge { relay_ephemeral: k }.into()
        }),
        ("route-proof", "HMAC", |k| env::RouteProof { mac: k }.into()),
        ("attach-route", "pinned primary key", |k| {
            env::AttachRoute { primary_key: k }.into()
        }),
    ];
    for (name, what, make) in key_frames {
        let w = g.env(name, format!("a {what}"), make(key), &[], &[]);
        g.env(
            name,
            format!("an all-0xFF {what}"),
            make([0xFF; 32]),
            &[],
            &[],
        );
        g.truncations(d, name, &w, &[(1, 1), (32, 1)]);
        g.trailing(d, name, &w, &[0], "one zero byte");
    }

    // RouteAttached and PeerState: link_id 1..5, bool 5.
    type LinkBool = fn(u32, bool) -> EnvelopeFrame;
    let link_bools: [(&str, &str, LinkBool); 2] = [
        (
            "route-attached",
            "primary_online",
            |link_id, primary_online| {
                env::RouteAttached {
                    link_id,
                    primary_online,
                }
                .into()
            },
        ),
        ("peer-state", "online", |link_id, online| {
            env::PeerState { link_id, online }.into()
        }),
    ];
    for (name, field, make) in link_bools {
        let w = g.env(
            name,
            format!("link 5, {field} true"),
            make(5, true),
            &[],
            &[],
        );
        g.env(
            name,
            format!("largest link id, {field} false"),
            make(u32::MAX, false),
            &[MAX_VALUE],
            &[],
        );
        g.truncations(d, name, &w, &[(1, 1), (3, 1), (5, 5)]);
        g.trailing(d, name, &w, &[0], "one zero byte");
        for byte in [0x02, 0xFF] {
            g.invalid(
                d,
                name,
                format!("{field} byte {byte:#04x}: a bool is 0x00 or 0x01 only"),
                t::set_u8_at(&w, 5, byte),
                InvalidBool,
                5,
                &[NON_CANONICAL_BOOL],
                &[],
            );
        }
        g.invalid(
            d,
            name,
            "link id 0",
            t::set_u32_at(&w, 1, 0),
            InvalidValue,
            1,
            &[ZERO_ID],
            &[],
        );
    }

    // LinkOpened: link_id 1..5.
    let w = g.env(
        "link-opened",
        "link 5",
        env::LinkOpened { link_id: 5 },
        &[],
        &[],
    );
    g.env(
        "link-opened",
        "largest link id",
        env::LinkOpened { link_id: u32::MAX },
        &[MAX_VALUE],
        &[],
    );
    g.truncations(d, "link-opened", &w, &[(1, 1), (4, 1)]);
    g.trailing(d, "link-opened", &w, &[0], "one zero byte");
    g.invalid(
        d,
        "link-opened",
        "link id 0",
        t::set_u32_at(&w, 1, 0),
        InvalidValue,
        1,
        &[ZERO_ID],
        &[],
    );

    // LinkClosed: link_id 1..5, code 5..7.
    let w = g.env(
        "link-closed",
        "link 5 closed with peer_gone",
        env::LinkClosed {
            link_id: 5,
            code: Code::PEER_GONE,
        },
        &[],
        &[],
    );
    g.env(
        "link-closed",
        "code 4099, which version 1 does not define: kept as a number",
        env::LinkClosed {
            link_id: u32::MAX,
            code: Code(4099),
        },
        &[UNKNOWN_CODE],
        &["ERR-01"],
    );
    g.truncations(d, "link-closed", &w, &[(1, 1), (5, 5), (6, 5)]);
    g.trailing(d, "link-closed", &w, &[0], "one zero byte");
    g.invalid(
        d,
        "link-closed",
        "link id 0",
        t::set_u32_at(&w, 1, 0),
        InvalidValue,
        1,
        &[ZERO_ID],
        &[],
    );

    // Data: link_id 1..5, payload rest<65535> from 5.
    let w = g.env(
        "data",
        "a 32-byte payload on link 5",
        env::Data {
            link_id: 5,
            payload: Bytes::from(pattern(32)),
        },
        &[],
        &[],
    );
    g.env(
        "data",
        "a 1-byte payload, the shortest",
        env::Data {
            link_id: 1,
            payload: Bytes::from_static(&[0x42]),
        },
        &[MIN_LENGTH],
        &[],
    );
    g.env(
        "data",
        "a 65,535-byte payload (a full Noise message): the largest envelope frame, 65,540 bytes",
        env::Data {
            link_id: u32::MAX,
            payload: Bytes::from(pattern(MAX_NOISE_MESSAGE)),
        },
        &[MAX_LENGTH, LARGE_INPUT],
        &["ENC-01"],
    );
    g.truncations(d, "data", &w, &[(1, 1), (3, 1), (5, 5)]);
    g.invalid(
        d,
        "data",
        "link id 0",
        t::set_u32_at(&w, 1, 0),
        InvalidValue,
        1,
        &[ZERO_ID],
        &[],
    );
    g.invalid(
        d,
        "data",
        "a 65,536-byte payload, one above the Noise message limit",
        cat(&[&[0x0E, 0, 0, 0, 5], &pattern(MAX_NOISE_MESSAGE + 1)]),
        LengthExceedsLimit,
        5,
        &[OVER_MAX_LENGTH, LARGE_INPUT],
        &[],
    );

    // Ping and Pong: nonce 1..9.
    for (name, make) in [
        (
            "ping",
            (|nonce| env::Ping { nonce }.into()) as fn(u64) -> EnvelopeFrame,
        ),
        ("pong", |nonce| env::Pong { nonce }.into()),
    ] {
        let w = g.env(
            name,
            "nonce 0x0102030405060708",
            make(0x0102_0304_0506_0708),
            &[],
            &[],
        );
        g.env(name, "nonce 0", make(0), &[ZERO_ALLOWED], &[]);
        g.env(name, "the largest nonce", make(u64::MAX), &[MAX_VALUE], &[]);
        g.truncations(d, name, &w, &[(1, 1), (8, 1)]);
        g.trailing(d, name, &w, &[0], "one zero byte");
    }

    // Error: code 1..3, link_id 3..7, message str8<128> at 7.
    let w = g.env(
        "error",
        "unknown_link on link 5 with a message",
        env::Error {
            code: Code::UNKNOWN_LINK,
            link_id: 5,
            message: "no such link".into(),
        },
        &[],
        &[],
    );
    g.env(
        "error",
        "link id 0 (the connection), an empty message and a code version 1 does not define",
        env::Error {
            code: Code(4098),
            link_id: 0,
            message: String::new(),
        },
        &[ZERO_ALLOWED, EMPTY_FIELD, UNKNOWN_CODE],
        &["ERR-01"],
    );
    g.env(
        "error",
        "a 128-byte message of 2-byte characters: the longest",
        env::Error {
            code: Code::TOO_MANY_CHANNELS,
            link_id: 0,
            message: "é".repeat(MAX_ERROR_MESSAGE / 2),
        },
        &[MAX_LENGTH, MULTIBYTE_UTF8],
        &["ENC-01"],
    );
    g.truncations(d, "error", &w, &[(2, 1), (6, 3), (7, 7), (12, 8)]);
    g.trailing(d, "error", &w, &[0], "one zero byte");
    g.invalid(
        d,
        "error",
        "a 129-byte message, one above str8<128>",
        t::oversized_str8_at(&w, 7, MAX_ERROR_MESSAGE),
        LengthExceedsLimit,
        7,
        &[OVER_MAX_LENGTH],
        &[],
    );
    g.invalid(
        d,
        "error",
        "message length 255 and no message bytes: refused from the length alone",
        t::bare_u8_length_at(&w, 7, 255),
        LengthExceedsLimit,
        7,
        &[OVER_MAX_LENGTH, ALLOCATION_BAIT],
        &[],
    );
    utf8_cases(&mut g, d, "error", &w, 7, "message");

    g.finish("envelope.json", "envelope")
}

/// Invalid UTF-8 in the `str8` at `offset`: each fails at the length byte.
fn utf8_cases(g: &mut Gen, d: Decoder, name: &str, wire: &[u8], offset: usize, field: &str) {
    for (bytes, what, flag) in [
        (
            &[0xC3, 0x28][..],
            "a lead byte followed by a non-continuation byte",
            INVALID_UTF8,
        ),
        (
            &[0xC0, 0xAF][..],
            "an overlong encoding of '/'",
            OVERLONG_UTF8,
        ),
        (
            &[0xED, 0xA0, 0x80][..],
            "an encoded UTF-16 surrogate (U+D800)",
            SURROGATE_UTF8,
        ),
        (
            &[b'a', 0xE2, 0x82][..],
            "a 3-byte character cut after 2 bytes",
            INVALID_UTF8,
        ),
    ] {
        g.invalid(
            d,
            name,
            format!("{field} is not UTF-8: {what}"),
            t::replace_str8_at(wire, offset, bytes),
            InvalidUtf8,
            offset,
            &[flag],
            &[],
        );
    }
}

// ---------------------------------------------------------------------------
// Session (spec §6, §7, §8)
// ---------------------------------------------------------------------------

const MEDIA_ID: [u8; 32] = [0x5A; 32];
const CLIENT_ID: [u8; 16] = [0xC7; 16];

fn chat(chat_id: u64, title: &str) -> Chat {
    Chat {
        chat_id,
        contact_id: chat_id + 100,
        title: title.into(),
        unread: 2,
        last_message_id: 900,
    }
}

fn message(message_id: u64, body: Body) -> Message {
    Message {
        message_id,
        chat_id: 1,
        sender: 101,
        timestamp_ms: 1_700_000_000_000,
        status: MessageStatus::Delivered,
        body,
    }
}

fn media() -> MediaRef {
    MediaRef {
        media_id: MEDIA_ID,
        size: 12,
        mime: "text/plain".into(),
        name: "a.txt".into(),
        caption: "hello".into(),
    }
}

fn session() -> VectorFile {
    let mut g = Gen::new("session");
    let d = Decoder::Session;

    g.invalid(
        d,
        "empty",
        "an empty plaintext has no type byte",
        vec![],
        Empty,
        0,
        &[EMPTY_INPUT],
        &[],
    );
    for (ty, what) in [
        (0x00, "0x00, never assigned"),
        (0x05, "0x05, after PairingComplete"),
        (0x19, "0x19, after Ack"),
        (0x27, "0x27, after Unlink"),
        (0x38, "0x38, after TransferCancel"),
        (0x7F, "0x7F, the last critical code"),
    ] {
        g.invalid(
            d,
            "unknown-type",
            format!("type {what}: an unknown critical type is refused"),
            vec![ty, 1, 2],
            UnknownFrameType,
            0,
            &[UNKNOWN_CRITICAL_TYPE],
            &[],
        );
    }
    for (ty, body, what) in [
        (
            0x80,
            &[0xDE, 0xAD][..],
            "0x80, the first ignorable code, with a 2-byte body",
        ),
        (
            0xFF,
            &[][..],
            "0xFF, the last ignorable code, with an empty body",
        ),
    ] {
        g.sess(
            "unknown",
            format!("type {what}: kept as unknown so that it can be skipped"),
            InnerFrame::Unknown {
                frame_type: ty,
                body: Bytes::copy_from_slice(body),
            },
            &[IGNORABLE_TYPE],
            &["ENC-10"],
        );
    }
    g.sess(
        "unknown",
        "an ignorable frame of exactly 65,519 bytes, the inner frame limit",
        InnerFrame::Unknown {
            frame_type: 0x80,
            body: Bytes::from(pattern(MAX_INNER_FRAME - 1)),
        },
        &[IGNORABLE_TYPE, MAX_LENGTH, LARGE_INPUT],
        &["ENC-10", "SESS-01"],
    );
    g.invalid(
        d,
        "frame-too-long",
        "an ignorable frame of 65,520 bytes, one above the inner frame limit: refused before its type is read",
        cat(&[&[0x80], &pattern(MAX_INNER_FRAME)]),
        LengthExceedsLimit,
        0,
        &[OVER_MAX_LENGTH, LARGE_INPUT],
        &["SESS-01"],
    );

    control_frames(&mut g);
    sync_frames(&mut g);
    event_frames(&mut g);
    send_frames(&mut g);
    messaging_frames(&mut g);
    media_frames(&mut g);

    g.finish("session.json", "session")
}

fn control_frames(g: &mut Gen) {
    let d = Decoder::Session;

    // Close: code 1..3, message str8<128> at 3.
    let w = g.sess(
        "close",
        "unlinked, with a message",
        sess::Close {
            code: Code::UNLINKED,
            message: "bye".into(),
        },
        &[],
        &[],
    );
    g.sess(
        "close",
        "normal closure with an empty message",
        sess::Close {
            code: Code::NORMAL_CLOSURE,
            message: String::new(),
        },
        &[EMPTY_FIELD],
        &[],
    );
    g.sess(
        "close",
        "a code version 1 does not define and a 128-byte message of 2-byte characters",
        sess::Close {
            code: Code(4199),
            message: "é".repeat(MAX_ERROR_MESSAGE / 2),
        },
        &[UNKNOWN_CODE, MAX_LENGTH, MULTIBYTE_UTF8],
        &["ERR-01", "ENC-01"],
    );
    g.truncations(d, "close", &w, &[(2, 1), (3, 3), (5, 4)]);
    g.trailing(d, "close", &w, &[0], "one zero byte");
    g.invalid(
        d,
        "close",
        "a 129-byte message, one above str8<128>",
        t::oversized_str8_at(&w, 3, MAX_ERROR_MESSAGE),
        LengthExceedsLimit,
        3,
        &[OVER_MAX_LENGTH],
        &[],
    );
    g.invalid(
        d,
        "close",
        "message length 255 and no message bytes",
        t::bare_u8_length_at(&w, 3, 255),
        LengthExceedsLimit,
        3,
        &[OVER_MAX_LENGTH, ALLOCATION_BAIT],
        &[],
    );
    utf8_cases(g, d, "close", &w, 3, "message");

    // Error: code 1..3, ref_id 3..7, message str8<128> at 7.
    let w = g.sess(
        "error",
        "unknown_chat for request 7",
        sess::Error {
            code: Code::UNKNOWN_CHAT,
            ref_id: 7,
            message: "no such chat".into(),
        },
        &[],
        &[],
    );
    g.sess(
        "error",
        "ref id 0, an empty message and a code version 1 does not define",
        sess::Error {
            code: Code(4299),
            ref_id: 0,
            message: String::new(),
        },
        &[ZERO_ALLOWED, EMPTY_FIELD, UNKNOWN_CODE],
        &["ERR-01"],
    );
    g.sess(
        "error",
        "a 128-byte message: the longest",
        sess::Error {
            code: Code::INVALID_REQUEST,
            ref_id: u32::MAX,
            message: "m".repeat(MAX_ERROR_MESSAGE),
        },
        &[MAX_LENGTH],
        &["ENC-01"],
    );
    g.truncations(d, "error", &w, &[(4, 3), (7, 7), (9, 8)]);
    g.trailing(d, "error", &w, &[0], "one zero byte");
    g.invalid(
        d,
        "error",
        "a 129-byte message, one above str8<128>",
        t::oversized_str8_at(&w, 7, MAX_ERROR_MESSAGE),
        LengthExceedsLimit,
        7,
        &[OVER_MAX_LENGTH],
        &[],
    );
    g.invalid(
        d,
        "error",
        "message is not UTF-8",
        t::replace_str8_at(&w, 7, &[0xFF]),
        InvalidUtf8,
        7,
        &[INVALID_UTF8],
        &[],
    );

    // Frames without a body.
    for (name, frame) in [
        ("rekey", InnerFrame::Rekey),
        ("pairing-complete", InnerFrame::PairingComplete),
        ("unlink", InnerFrame::Unlink),
    ] {
        let w = g.sess(
            name,
            "the type byte alone: the body is empty",
            frame,
            &[],
            &[],
        );
        g.trailing(d, name, &w, &[0x00], "one zero byte");
        g.trailing(d, name, &w, &w.clone(), "a second copy of itself");
        g.trailing(d, name, &w, &[0xFF; 8], "8 bytes of 0xFF");
    }
}

fn sync_frames(g: &mut Gen) {
    let d = Decoder::Session;

    // Resume: log_id 1..9, seq 9..17.
    let w = g.sess(
        "resume",
        "resume from seq 125 of a log",
        sess::Resume {
            log_id: 0x0123_4567_89AB_CDEF,
            seq: 125,
        },
        &[],
        &[],
    );
    g.sess(
        "resume",
        "(0, 0): a companion with nothing",
        sess::Resume { log_id: 0, seq: 0 },
        &[ZERO_ALLOWED],
        &[],
    );
    g.sess(
        "resume",
        "the largest values",
        sess::Resume {
            log_id: u64::MAX,
            seq: u64::MAX,
        },
        &[MAX_VALUE],
        &[],
    );
    g.truncations(d, "resume", &w, &[(1, 1), (9, 9), (16, 9)]);
    g.trailing(d, "resume", &w, &[0], "one zero byte");

    // ResumeAccepted: head 1..9.
    let w = g.sess(
        "resume-accepted",
        "head 128",
        sess::ResumeAccepted { head: 128 },
        &[],
        &[],
    );
    g.sess(
        "resume-accepted",
        "head 0: a log without events",
        sess::ResumeAccepted { head: 0 },
        &[ZERO_ALLOWED],
        &[],
    );
    g.truncations(d, "resume-accepted", &w, &[(1, 1), (5, 1)]);
    g.trailing(d, "resume-accepted", &w, &[0], "one zero byte");

    // SnapshotBegin: log_id 1..9, seq 9..17, chat_count 17..21,
    // contact_count 21..25.
    let w = g.sess(
        "snapshot-begin",
        "log 7 as of seq 120, 3 chats and 2 contacts",
        sess::SnapshotBegin {
            log_id: 7,
            seq: 120,
            chat_count: 3,
            contact_count: 2,
        },
        &[],
        &[],
    );
    g.sess(
        "snapshot-begin",
        "the largest log id, seq 0 and no chats or contacts",
        sess::SnapshotBegin {
            log_id: u64::MAX,
            seq: 0,
            chat_count: 0,
            contact_count: 0,
        },
        &[MAX_VALUE, ZERO_ALLOWED],
        &[],
    );
    g.truncations(
        d,
        "snapshot-begin",
        &w,
        &[(1, 1), (12, 9), (20, 17), (24, 21)],
    );
    g.trailing(d, "snapshot-begin", &w, &[0], "one zero byte");
    g.invalid(
        d,
        "snapshot-begin",
        "log id 0",
        t::set_u64_at(&w, 1, 0),
        InvalidValue,
        1,
        &[ZERO_ID],
        &[],
    );

    // ChatPage: count 1..3, then chats. One chat "Ada": chat_id 3..11,
    // contact_id 11..19, title length 19, title 20..23, unread 23..27,
    // last_message_id 27..35.
    let w = g.sess(
        "chat-page",
        "one chat",
        sess::ChatPage {
            chats: vec![chat(1, "Ada")],
        },
        &[],
        &[],
    );
    g.sess(
        "chat-page",
        "two chats",
        sess::ChatPage {
            chats: vec![chat(1, "Ada"), chat(2, "Grace")],
        },
        &[],
        &[],
    );
    g.sess(
        "chat-page",
        "an empty page",
        sess::ChatPage { chats: vec![] },
        &[EMPTY_FIELD],
        &[],
    );
    g.sess(
        "chat-page",
        "a chat with a 128-byte title, the most unread messages and no last message",
        sess::ChatPage {
            chats: vec![Chat {
                chat_id: u64::MAX,
                contact_id: 1,
                title: "t".repeat(MAX_TITLE),
                unread: u32::MAX,
                last_message_id: 0,
            }],
        },
        &[MAX_LENGTH, MAX_VALUE, ZERO_ALLOWED],
        &["ENC-01"],
    );
    // Cut at 10: 7 bytes cannot hold one chat (29 bytes at least), so the
    // count check fails at the first item; cut at 34: the last field.
    g.truncations(d, "chat-page", &w, &[(2, 1), (10, 3), (34, 27)]);
    g.trailing(d, "chat-page", &w, &[0], "one zero byte");
    g.invalid(
        d,
        "chat-page",
        "501 chats announced, one above list16<Chat, 500>: refused from the count",
        vec![0x13, 0x01, 0xF5],
        LengthExceedsLimit,
        1,
        &[OVER_MAX_LENGTH],
        &[],
    );
    g.invalid(
        d,
        "chat-page",
        "65,535 chats announced with a 2-byte body",
        vec![0x13, 0xFF, 0xFF, 0, 0],
        LengthExceedsLimit,
        1,
        &[OVER_MAX_LENGTH, ALLOCATION_BAIT],
        &[],
    );
    g.invalid(
        d,
        "chat-page",
        "500 chats announced and one present: the input cannot hold them at 29 bytes each, so nothing is allocated",
        t::set_u16_at(&w, 1, 500),
        Truncated,
        3,
        &[TRUNCATED, ALLOCATION_BAIT],
        &["ENC-07"],
    );
    g.invalid(
        d,
        "chat-page",
        "chat id 0",
        t::set_u64_at(&w, 3, 0),
        InvalidValue,
        3,
        &[ZERO_ID],
        &[],
    );
    g.invalid(
        d,
        "chat-page",
        "contact id 0",
        t::set_u64_at(&w, 11, 0),
        InvalidValue,
        11,
        &[ZERO_ID],
        &[],
    );
    g.invalid(
        d,
        "chat-page",
        "a 129-byte title, one above str8<128>",
        t::oversized_str8_at(&w, 19, MAX_TITLE),
        LengthExceedsLimit,
        19,
        &[OVER_MAX_LENGTH],
        &[],
    );
    g.invalid(
        d,
        "chat-page",
        "title is not UTF-8",
        t::replace_str8_at(&w, 19, &[0xC3, 0x28]),
        InvalidUtf8,
        19,
        &[INVALID_UTF8],
        &[],
    );

    // ContactPage: count 1..3, then contacts. "Ada Lovelace": contact_id
    // 3..11, name length 11, name 12..24.
    let ada = || Contact {
        contact_id: 101,
        name: "Ada Lovelace".into(),
    };
    let w = g.sess(
        "contact-page",
        "one contact",
        sess::ContactPage {
            contacts: vec![ada()],
        },
        &[],
        &[],
    );
    g.sess(
        "contact-page",
        "two contacts, one with the largest id and a 128-byte name of 2-byte characters",
        sess::ContactPage {
            contacts: vec![
                ada(),
                Contact {
                    contact_id: u64::MAX,
                    name: "ü".repeat(MAX_TITLE / 2),
                },
            ],
        },
        &[MAX_LENGTH, MAX_VALUE, MULTIBYTE_UTF8],
        &["ENC-01"],
    );
    g.sess(
        "contact-page",
        "an empty page",
        sess::ContactPage { contacts: vec![] },
        &[EMPTY_FIELD],
        &[],
    );
    // Cut at 11: 8 bytes cannot hold one contact (9 bytes at least).
    g.truncations(d, "contact-page", &w, &[(2, 1), (11, 3), (15, 12)]);
    g.trailing(d, "contact-page", &w, &[0], "one zero byte");
    g.invalid(
        d,
        "contact-page",
        "501 contacts announced, one above list16<Contact, 500>",
        vec![0x14, 0x01, 0xF5],
        LengthExceedsLimit,
        1,
        &[OVER_MAX_LENGTH],
        &[],
    );
    g.invalid(
        d,
        "contact-page",
        "65,535 contacts announced with a 2-byte body",
        vec![0x14, 0xFF, 0xFF, 0, 0],
        LengthExceedsLimit,
        1,
        &[OVER_MAX_LENGTH, ALLOCATION_BAIT],
        &[],
    );
    g.invalid(
        d,
        "contact-page",
        "100 contacts announced and one present: refused before any allocation",
        t::set_u16_at(&w, 1, 100),
        Truncated,
        3,
        &[TRUNCATED, ALLOCATION_BAIT],
        &["ENC-07"],
    );
    g.invalid(
        d,
        "contact-page",
        "2 contacts announced and one present: the second is missing",
        t::set_u16_at(&w, 1, 2),
        Truncated,
        24,
        &[TRUNCATED],
        &[],
    );
    g.invalid(
        d,
        "contact-page",
        "contact id 0",
        t::set_u64_at(&w, 3, 0),
        InvalidValue,
        3,
        &[ZERO_ID],
        &[],
    );
    g.invalid(
        d,
        "contact-page",
        "a 129-byte name, one above str8<128>",
        t::oversized_str8_at(&w, 11, MAX_TITLE),
        LengthExceedsLimit,
        11,
        &[OVER_MAX_LENGTH],
        &[],
    );
    g.invalid(
        d,
        "contact-page",
        "name is not UTF-8",
        t::replace_str8_at(&w, 11, &[0xED, 0xA0, 0x80]),
        InvalidUtf8,
        11,
        &[SURROGATE_UTF8],
        &[],
    );

    // MessagePage: request_id 1..5, chat_id 5..13, has_more 13, count
    // 14..16, then messages. Message "hi": message_id 16..24, chat_id
    // 24..32, sender 32..40, timestamp_ms 40..48, status 48, body kind 49,
    // body len 50..52, text 52..54.
    let w = g.sess(
        "message-page",
        "a snapshot page (request 0) of one text message, more history exists",
        sess::MessagePage {
            request_id: 0,
            chat_id: 1,
            has_more: true,
            messages: vec![message(900, Body::Text("hi".into()))],
        },
        &[],
        &[],
    );
    g.sess(
        "message-page",
        "an empty answer to request 42 with has_more false: the no-more-history marker",
        sess::MessagePage {
            request_id: 42,
            chat_id: 7,
            has_more: false,
            messages: vec![],
        },
        &[EMPTY_FIELD],
        &["SYNC-22"],
    );
    g.sess(
        "message-page",
        "text, media and unknown-kind bodies, each status",
        sess::MessagePage {
            request_id: 3,
            chat_id: 1,
            has_more: false,
            messages: vec![
                Message {
                    status: MessageStatus::None,
                    sender: 101,
                    ..message(900, Body::Text("hello".into()))
                },
                Message {
                    status: MessageStatus::Sent,
                    sender: 0,
                    ..message(901, Body::Media(media()))
                },
                Message {
                    status: MessageStatus::Read,
                    ..message(
                        902,
                        Body::Unknown {
                            kind: 9,
                            content: Bytes::from_static(&[1, 2, 3]),
                        },
                    )
                },
            ],
        },
        &[UNKNOWN_KIND],
        &["SYNC-02"],
    );
    g.sess(
        "message-page",
        "100 messages (the most) with empty unknown-kind bodies",
        sess::MessagePage {
            request_id: 5,
            chat_id: 1,
            has_more: true,
            messages: (1..=100)
                .map(|id| {
                    message(
                        id,
                        Body::Unknown {
                            kind: 0,
                            content: Bytes::new(),
                        },
                    )
                })
                .collect(),
        },
        &[MAX_LENGTH, UNKNOWN_KIND],
        &["ENC-01", "SYNC-02"],
    );
    // Cut at 30: 14 bytes cannot hold one message (36 bytes at least).
    g.truncations(
        d,
        "message-page",
        &w,
        &[(4, 1), (13, 13), (15, 14), (30, 16), (53, 52)],
    );
    g.trailing(d, "message-page", &w, &[0], "one zero byte");
    for byte in [0x02, 0xFF] {
        g.invalid(
            d,
            "message-page",
            format!("has_more byte {byte:#04x}"),
            t::set_u8_at(&w, 13, byte),
            InvalidBool,
            13,
            &[NON_CANONICAL_BOOL],
            &[],
        );
    }
    for byte in [4, 0xFF] {
        g.invalid(
            d,
            "message-page",
            format!("message status {byte}: the status enumeration is closed (0 to 3)"),
            t::set_u8_at(&w, 48, byte),
            InvalidValue,
            48,
            &[INVALID_ENUM],
            &[],
        );
    }
    g.invalid(
        d,
        "message-page",
        "101 messages announced, one above list16<Message, 100>",
        t::bare_u16_length_at(&w, 14, 101),
        LengthExceedsLimit,
        14,
        &[OVER_MAX_LENGTH],
        &[],
    );
    g.invalid(
        d,
        "message-page",
        "65,535 messages announced and none present",
        t::bare_u16_length_at(&w, 14, 0xFFFF),
        LengthExceedsLimit,
        14,
        &[OVER_MAX_LENGTH, ALLOCATION_BAIT],
        &[],
    );
    g.invalid(
        d,
        "message-page",
        "100 messages announced and one present: refused before any allocation",
        t::set_u16_at(&w, 14, 100),
        Truncated,
        16,
        &[TRUNCATED, ALLOCATION_BAIT],
        &["ENC-07"],
    );
    for (at, field) in [
        (5, "page chat id"),
        (16, "message id"),
        (24, "message chat id"),
    ] {
        g.invalid(
            d,
            "message-page",
            format!("{field} 0"),
            t::set_u64_at(&w, at, 0),
            InvalidValue,
            at,
            &[ZERO_ID],
            &[],
        );
    }

    // SnapshotEnd: seq 1..9.
    let w = g.sess(
        "snapshot-end",
        "seq 120",
        sess::SnapshotEnd { seq: 120 },
        &[],
        &[],
    );
    g.sess(
        "snapshot-end",
        "seq 0: the snapshot of an empty log",
        sess::SnapshotEnd { seq: 0 },
        &[ZERO_ALLOWED],
        &[],
    );
    g.truncations(d, "snapshot-end", &w, &[(1, 1), (8, 1)]);
    g.trailing(d, "snapshot-end", &w, &[0], "one zero byte");

    // Ack: seq 1..9.
    let w = g.sess("ack", "seq 126", sess::Ack { seq: 126 }, &[], &[]);
    g.sess("ack", "seq 0", sess::Ack { seq: 0 }, &[ZERO_ALLOWED], &[]);
    g.sess(
        "ack",
        "the largest seq",
        sess::Ack { seq: u64::MAX },
        &[MAX_VALUE],
        &[],
    );
    g.truncations(d, "ack", &w, &[(1, 1), (5, 1)]);
    g.trailing(d, "ack", &w, &[0], "one zero byte");
}

fn event_frames(g: &mut Gen) {
    let d = Decoder::Session;
    let event = |seq, body| InnerFrame::from(sess::Event { seq, body });

    // Every event: seq 1..9, kind 9, body 10.. (the rest of the frame).
    // MessageAdded: message_id 10..18, chat_id 18..26, sender 26..34,
    // timestamp_ms 34..42, status 42, body kind 43, len 44..46, text 46..48.
    let w = g.sess(
        "event",
        "MessageAdded: a text message",
        event(
            121,
            EventBody::MessageAdded(message(901, Body::Text("yo".into()))),
        ),
        &[],
        &["SYNC-08"],
    );
    g.sess(
        "event",
        "MessageAdded: a media message from the account's owner",
        event(
            122,
            EventBody::MessageAdded(Message {
                sender: 0,
                status: MessageStatus::Sent,
                ..message(902, Body::Media(media()))
            }),
        ),
        &[ZERO_ALLOWED],
        &["SYNC-08"],
    );
    g.sess(
        "event",
        "MessageAdded: a message whose body kind 200 is unknown, kept opaque",
        event(
            123,
            EventBody::MessageAdded(Message {
                status: MessageStatus::None,
                ..message(
                    903,
                    Body::Unknown {
                        kind: 200,
                        content: Bytes::from_static(b"{\"poll\":1}"),
                    },
                )
            }),
        ),
        &[UNKNOWN_KIND],
        &["SYNC-02"],
    );
    g.truncations(
        d,
        "event",
        &w,
        &[(4, 1), (9, 9), (10, 10), (30, 26), (47, 46)],
    );
    g.invalid(
        d,
        "event",
        "MessageAdded with one byte after the message: the body must decode exactly",
        t::with_trailing(&w, &[0]),
        TrailingBytes,
        w.len(),
        &[TRAILING_BYTES],
        &["SYNC-08"],
    );
    g.invalid(
        d,
        "event",
        "seq 0: seqs start at 1",
        t::set_u64_at(&w, 1, 0),
        InvalidValue,
        1,
        &[ZERO_ID],
        &[],
    );
    g.invalid(
        d,
        "event",
        "MessageAdded with message id 0",
        t::set_u64_at(&w, 10, 0),
        InvalidValue,
        10,
        &[ZERO_ID],
        &["SYNC-08"],
    );
    g.invalid(
        d,
        "event",
        "MessageAdded with message status 4",
        t::set_u8_at(&w, 42, 4),
        InvalidValue,
        42,
        &[INVALID_ENUM],
        &["SYNC-08"],
    );
    g.invalid(
        d,
        "event",
        "MessageAdded whose text body length is 4,097, one above 4,096, with no text",
        t::bare_u16_length_at(&w, 44, 4097),
        LengthExceedsLimit,
        44,
        &[OVER_MAX_LENGTH, ALLOCATION_BAIT],
        &["SYNC-01"],
    );
    g.invalid(
        d,
        "event",
        "MessageAdded whose text is not UTF-8",
        t::replace_str16_at(&w, 44, &[0xFE, 0xFF]),
        InvalidUtf8,
        46,
        &[INVALID_UTF8],
        &["SYNC-01"],
    );
    g.invalid(
        d,
        "event",
        "MessageAdded with an empty text body: a text is 1 to 4,096 bytes",
        t::replace_str16_at(&w, 44, &[]),
        Truncated,
        46,
        &[EMPTY_FIELD],
        &["SYNC-01"],
    );

    // StatusChanged: chat_id 10..18, message_id 18..26, status 26.
    let w = g.sess(
        "event",
        "StatusChanged: message 900 read",
        event(
            124,
            EventBody::StatusChanged {
                chat_id: 1,
                message_id: 900,
                status: MessageStatus::Read,
            },
        ),
        &[],
        &[],
    );
    g.sess(
        "event",
        "StatusChanged: status none, the largest ids",
        event(
            u64::MAX,
            EventBody::StatusChanged {
                chat_id: u64::MAX,
                message_id: u64::MAX,
                status: MessageStatus::None,
            },
        ),
        &[MAX_VALUE],
        &[],
    );
    for byte in [4, 0xFF] {
        g.invalid(
            d,
            "event",
            format!("StatusChanged with status {byte}: the enumeration is closed (0 to 3)"),
            t::set_u8_at(&w, 26, byte),
            InvalidValue,
            26,
            &[INVALID_ENUM],
            &["SYNC-08"],
        );
    }
    g.truncations(d, "event", &w, &[(14, 10), (26, 26)]);
    g.invalid(
        d,
        "event",
        "StatusChanged with one byte after the status",
        t::with_trailing(&w, &[0]),
        TrailingBytes,
        w.len(),
        &[TRAILING_BYTES],
        &["SYNC-08"],
    );
    g.invalid(
        d,
        "event",
        "StatusChanged with message id 0",
        t::set_u64_at(&w, 18, 0),
        InvalidValue,
        18,
        &[ZERO_ID],
        &[],
    );

    // ChatUpdated: chat_id 10..18, contact_id 18..26, title length 26,
    // title 27..30, unread 30..34, last_message_id 34..42.
    let w = g.sess(
        "event",
        "ChatUpdated: chat 1",
        event(125, EventBody::ChatUpdated(chat(1, "Ada"))),
        &[],
        &[],
    );
    g.sess(
        "event",
        "ChatUpdated: an empty title and no unread messages",
        event(
            126,
            EventBody::ChatUpdated(Chat {
                title: String::new(),
                unread: 0,
                ..chat(2, "")
            }),
        ),
        &[EMPTY_FIELD],
        &[],
    );
    g.truncations(d, "event", &w, &[(40, 34)]);
    g.invalid(
        d,
        "event",
        "ChatUpdated with one byte after the chat",
        t::with_trailing(&w, &[0]),
        TrailingBytes,
        w.len(),
        &[TRAILING_BYTES],
        &["SYNC-08"],
    );
    g.invalid(
        d,
        "event",
        "ChatUpdated with contact id 0",
        t::set_u64_at(&w, 18, 0),
        InvalidValue,
        18,
        &[ZERO_ID],
        &[],
    );
    g.invalid(
        d,
        "event",
        "ChatUpdated with a 129-byte title",
        t::oversized_str8_at(&w, 26, MAX_TITLE),
        LengthExceedsLimit,
        26,
        &[OVER_MAX_LENGTH],
        &[],
    );

    // ChatRead: chat_id 10..18, up_to 18..26.
    let w = g.sess(
        "event",
        "ChatRead: chat 1 read up to message 900",
        event(
            127,
            EventBody::ChatRead {
                chat_id: 1,
                up_to: 900,
            },
        ),
        &[],
        &[],
    );
    g.sess(
        "event",
        "ChatRead: the largest ids",
        event(
            128,
            EventBody::ChatRead {
                chat_id: u64::MAX,
                up_to: u64::MAX,
            },
        ),
        &[MAX_VALUE],
        &[],
    );
    g.truncations(d, "event", &w, &[(20, 18)]);
    g.invalid(
        d,
        "event",
        "ChatRead with one byte after it",
        t::with_trailing(&w, &[0]),
        TrailingBytes,
        w.len(),
        &[TRAILING_BYTES],
        &["SYNC-08"],
    );
    for (at, field) in [(10, "chat id"), (18, "up_to")] {
        g.invalid(
            d,
            "event",
            format!("ChatRead with {field} 0"),
            t::set_u64_at(&w, at, 0),
            InvalidValue,
            at,
            &[ZERO_ID],
            &[],
        );
    }

    // ContactUpdated: contact_id 10..18, name length 18, name 19..31.
    let w = g.sess(
        "event",
        "ContactUpdated: contact 101",
        event(
            129,
            EventBody::ContactUpdated(Contact {
                contact_id: 101,
                name: "Ada Lovelace".into(),
            }),
        ),
        &[],
        &[],
    );
    g.sess(
        "event",
        "ContactUpdated: an empty name",
        event(
            130,
            EventBody::ContactUpdated(Contact {
                contact_id: u64::MAX,
                name: String::new(),
            }),
        ),
        &[EMPTY_FIELD, MAX_VALUE],
        &[],
    );
    g.truncations(d, "event", &w, &[(18, 18), (25, 19)]);
    g.invalid(
        d,
        "event",
        "ContactUpdated with one byte after the contact",
        t::with_trailing(&w, &[0]),
        TrailingBytes,
        w.len(),
        &[TRAILING_BYTES],
        &["SYNC-08"],
    );
    g.invalid(
        d,
        "event",
        "ContactUpdated with a 129-byte name",
        t::oversized_str8_at(&w, 18, MAX_TITLE),
        LengthExceedsLimit,
        18,
        &[OVER_MAX_LENGTH],
        &[],
    );
    g.invalid(
        d,
        "event",
        "ContactUpdated whose name is not UTF-8",
        t::replace_str8_at(&w, 18, &[0xC0, 0xAF]),
        InvalidUtf8,
        18,
        &[OVERLONG_UTF8],
        &[],
    );

    // Unknown kinds are kept ([SYNC-09]); their body is still `rest`.
    for (kind, body) in [
        (0u8, &[0u8][..]),
        (6, &[1, 2, 3][..]),
        (255, &[0xFF; 16][..]),
    ] {
        g.sess(
            "event",
            format!("kind {kind}, which version 1 does not define: acknowledged and ignored"),
            event(
                131,
                EventBody::Unknown {
                    kind,
                    body: Bytes::copy_from_slice(body),
                },
            ),
            &[UNKNOWN_KIND],
            &["SYNC-09"],
        );
    }
    g.invalid(
        d,
        "event",
        "unknown kind 6 with no body: the body is rest, at least one byte",
        vec![0x17, 0, 0, 0, 0, 0, 0, 0, 131, 6],
        Truncated,
        10,
        &[UNKNOWN_KIND, EMPTY_FIELD],
        &[],
    );
}

fn send_frames(g: &mut Gen) {
    let d = Decoder::Session;

    // Send: client_id 1..17, chat_id 17..25, body kind 25, len 26..28,
    // content 28...
    let w = g.sess(
        "send",
        "send \"hi\" to chat 1",
        sess::Send {
            client_id: CLIENT_ID,
            chat_id: 1,
            body: Body::Text("hi".into()),
        },
        &[],
        &[],
    );
    g.sess(
        "send",
        "a 4,096-byte text of 2-byte characters: the longest body",
        sess::Send {
            client_id: [0; 16],
            chat_id: u64::MAX,
            body: Body::Text("ü".repeat(MAX_BODY / 2)),
        },
        &[MAX_LENGTH, MULTIBYTE_UTF8],
        &["ENC-01", "SYNC-01"],
    );
    g.sess(
        "send",
        "a 1-byte text",
        sess::Send {
            client_id: CLIENT_ID,
            chat_id: 1,
            body: Body::Text("k".into()),
        },
        &[MIN_LENGTH],
        &[],
    );
    let wm = g.sess(
        "send",
        "a media body: media id, size, mime, name and caption",
        sess::Send {
            client_id: CLIENT_ID,
            chat_id: 1,
            body: Body::Media(media()),
        },
        &[],
        &["SYNC-01"],
    );
    g.sess(
        "send",
        "a media body with the longest mime (64), name (255) and caption (1,024)",
        sess::Send {
            client_id: CLIENT_ID,
            chat_id: 1,
            body: Body::Media(MediaRef {
                media_id: MEDIA_ID,
                size: u64::MAX,
                mime: "m".repeat(MAX_MIME),
                name: "n".repeat(MAX_FILE_NAME),
                caption: "c".repeat(MAX_CAPTION),
            }),
        },
        &[MAX_LENGTH],
        &["ENC-01", "SYNC-01"],
    );
    g.sess(
        "send",
        "a media body with empty mime, name and caption",
        sess::Send {
            client_id: CLIENT_ID,
            chat_id: 1,
            body: Body::Media(MediaRef {
                media_id: [0; 32],
                size: 0,
                mime: String::new(),
                name: String::new(),
                caption: String::new(),
            }),
        },
        &[EMPTY_FIELD, ZERO_ALLOWED],
        &["SYNC-01"],
    );
    g.sess(
        "send",
        "a body of kind 9, which version 1 does not define: kept opaque",
        sess::Send {
            client_id: CLIENT_ID,
            chat_id: 1,
            body: Body::Unknown {
                kind: 9,
                content: Bytes::from_static(&[1, 2, 3]),
            },
        },
        &[UNKNOWN_KIND],
        &["SYNC-02"],
    );
    g.sess(
        "send",
        "a body of unknown kind 0 with no content: an unknown body may be empty",
        sess::Send {
            client_id: CLIENT_ID,
            chat_id: 1,
            body: Body::Unknown {
                kind: 0,
                content: Bytes::new(),
            },
        },
        &[UNKNOWN_KIND, EMPTY_FIELD],
        &["SYNC-02"],
    );
    g.truncations(
        d,
        "send",
        &w,
        &[(10, 1), (20, 17), (25, 25), (27, 26), (29, 28)],
    );
    g.trailing(d, "send", &w, &[0], "one zero byte");
    g.invalid(
        d,
        "send",
        "chat id 0",
        t::set_u64_at(&w, 17, 0),
        InvalidValue,
        17,
        &[ZERO_ID],
        &[],
    );

    // Text bodies.
    g.invalid(
        d,
        "send",
        "an empty text body: a text is 1 to 4,096 bytes",
        t::replace_str16_at(&w, 26, &[]),
        Truncated,
        28,
        &[EMPTY_FIELD],
        &["SYNC-01"],
    );
    g.invalid(
        d,
        "send",
        "a text of 4,097 bytes, one above the body limit",
        t::replace_str16_at(&w, 26, &vec![b'x'; MAX_BODY + 1]),
        LengthExceedsLimit,
        26,
        &[OVER_MAX_LENGTH],
        &["SYNC-01"],
    );
    g.invalid(
        d,
        "send",
        "body length 65,535 and no content: refused from the length alone",
        t::bare_u16_length_at(&w, 26, 0xFFFF),
        LengthExceedsLimit,
        26,
        &[OVER_MAX_LENGTH, ALLOCATION_BAIT],
        &["SYNC-01"],
    );
    g.invalid(
        d,
        "send",
        "a text that is not UTF-8",
        t::replace_str16_at(&w, 26, &[b'h', 0xC3]),
        InvalidUtf8,
        28,
        &[INVALID_UTF8],
        &["SYNC-01"],
    );
    g.invalid(
        d,
        "send",
        "body length 5 with a 2-byte text",
        t::set_u16_at(&w, 26, 5),
        Truncated,
        28,
        &[TRUNCATED],
        &[],
    );

    // Media bodies: content 28..92 = media_id 28..60, size 60..68, mime
    // length 68, mime 69..79, name length 79, name 80..85, caption length
    // 85..87, caption 87..92.
    assert_eq!(wm.len(), 92, "media Send layout");
    let content = &wm[28..];
    let send_with = |content: &[u8]| -> Vec<u8> { cat(&[&wm[..25], &t::body(2, content)]) };
    g.invalid(
        d,
        "send",
        "media body length one short of its content: the caption ends outside the body",
        t::set_u16_at(&wm, 26, 63),
        Truncated,
        87,
        &[NESTED_LENGTH],
        &["SYNC-01"],
    );
    g.invalid(
        d,
        "send",
        "media body length one more than its content, with one extra byte: the content must be filled exactly",
        t::with_trailing(&t::set_u16_at(&wm, 26, 65), &[0]),
        TrailingBytes,
        92,
        &[NESTED_LENGTH, TRAILING_BYTES],
        &["SYNC-01"],
    );
    g.invalid(
        d,
        "send",
        "media body length one more than the bytes that follow",
        t::set_u16_at(&wm, 26, 65),
        Truncated,
        28,
        &[TRUNCATED],
        &[],
    );
    g.invalid(
        d,
        "send",
        "media body of only 10 bytes: the media id is cut",
        send_with(&content[..10]),
        Truncated,
        28,
        &[NESTED_LENGTH],
        &["SYNC-01"],
    );
    g.invalid(
        d,
        "send",
        "media with a 65-byte mime, one above str8<64>",
        send_with(&t::oversized_str8_at(content, 40, MAX_MIME)),
        LengthExceedsLimit,
        68,
        &[OVER_MAX_LENGTH, NESTED_LENGTH],
        &[],
    );
    g.invalid(
        d,
        "send",
        "media whose name is not UTF-8",
        send_with(&t::replace_str8_at(content, 51, &[0xC3, 0x28])),
        InvalidUtf8,
        79,
        &[INVALID_UTF8, NESTED_LENGTH],
        &[],
    );
    g.invalid(
        d,
        "send",
        "media with a 1,025-byte caption, one above str16<1024>",
        send_with(&t::oversized_str16_at(content, 57, MAX_CAPTION)),
        LengthExceedsLimit,
        85,
        &[OVER_MAX_LENGTH, NESTED_LENGTH],
        &[],
    );
    g.invalid(
        d,
        "send",
        "media whose caption length is 65,535 with no caption bytes",
        send_with(&t::bare_u16_length_at(content, 57, 0xFFFF)),
        LengthExceedsLimit,
        85,
        &[OVER_MAX_LENGTH, ALLOCATION_BAIT, NESTED_LENGTH],
        &[],
    );
    // Unknown kinds are bounded like any body.
    g.invalid(
        d,
        "send",
        "a body of unknown kind 9 with 4,097 bytes of content",
        cat(&[&w[..25], &t::body(9, &[0; MAX_BODY + 1])]),
        LengthExceedsLimit,
        26,
        &[UNKNOWN_KIND, OVER_MAX_LENGTH],
        &[],
    );
}

fn messaging_frames(g: &mut Gen) {
    let d = Decoder::Session;

    // SendAck: client_id 1..17, message_id 17..25, seq 25..33.
    let w = g.sess(
        "send-ack",
        "the send became message 900, event 127",
        sess::SendAck {
            client_id: CLIENT_ID,
            message_id: 900,
            seq: 127,
        },
        &[],
        &[],
    );
    g.sess(
        "send-ack",
        "the largest message id, seq 1",
        sess::SendAck {
            client_id: [0; 16],
            message_id: u64::MAX,
            seq: 1,
        },
        &[MAX_VALUE],
        &[],
    );
    g.truncations(d, "send-ack", &w, &[(16, 1), (30, 25)]);
    g.trailing(d, "send-ack", &w, &[0], "one zero byte");
    for (at, field) in [(17, "message id"), (25, "seq")] {
        g.invalid(
            d,
            "send-ack",
            format!("{field} 0"),
            t::set_u64_at(&w, at, 0),
            InvalidValue,
            at,
            &[ZERO_ID],
            &[],
        );
    }

    // SendFailed: client_id 1..17, code 17..19.
    let w = g.sess(
        "send-failed",
        "unknown_chat",
        sess::SendFailed {
            client_id: CLIENT_ID,
            code: Code::UNKNOWN_CHAT,
        },
        &[],
        &[],
    );
    g.sess(
        "send-failed",
        "a code version 1 does not define",
        sess::SendFailed {
            client_id: [0xFF; 16],
            code: Code(0xFFFF),
        },
        &[UNKNOWN_CODE],
        &["ERR-01"],
    );
    g.truncations(d, "send-failed", &w, &[(17, 17), (18, 17)]);
    g.trailing(d, "send-failed", &w, &[0], "one zero byte");

    // MarkRead: chat_id 1..9, up_to 9..17.
    let w = g.sess(
        "mark-read",
        "chat 1 up to message 900",
        sess::MarkRead {
            chat_id: 1,
            up_to: 900,
        },
        &[],
        &[],
    );
    g.sess(
        "mark-read",
        "the largest ids",
        sess::MarkRead {
            chat_id: u64::MAX,
            up_to: u64::MAX,
        },
        &[MAX_VALUE],
        &[],
    );
    g.truncations(d, "mark-read", &w, &[(12, 9)]);
    g.trailing(d, "mark-read", &w, &[0], "one zero byte");
    for (at, field) in [(1, "chat id"), (9, "up_to")] {
        g.invalid(
            d,
            "mark-read",
            format!("{field} 0"),
            t::set_u64_at(&w, at, 0),
            InvalidValue,
            at,
            &[ZERO_ID],
            &[],
        );
    }

    // Typing: chat_id 1..9, active 9.
    let w = g.sess(
        "typing",
        "typing in chat 1",
        sess::Typing {
            chat_id: 1,
            active: true,
        },
        &[],
        &[],
    );
    g.sess(
        "typing",
        "stopped typing",
        sess::Typing {
            chat_id: u64::MAX,
            active: false,
        },
        &[MAX_VALUE],
        &[],
    );
    g.truncations(d, "typing", &w, &[(9, 9)]);
    g.trailing(d, "typing", &w, &[0], "one zero byte");
    g.invalid(
        d,
        "typing",
        "active byte 0x02",
        t::set_u8_at(&w, 9, 2),
        InvalidBool,
        9,
        &[NON_CANONICAL_BOOL],
        &[],
    );
    g.invalid(
        d,
        "typing",
        "chat id 0",
        t::set_u64_at(&w, 1, 0),
        InvalidValue,
        1,
        &[ZERO_ID],
        &[],
    );

    // HistoryRequest: request_id 1..5, chat_id 5..13, before 13..21, limit
    // 21..23.
    let w = g.sess(
        "history-request",
        "the newest 50 messages of chat 1",
        sess::HistoryRequest {
            request_id: 5,
            chat_id: 1,
            before: 0,
            limit: 50,
        },
        &[],
        &[],
    );
    for (limit, what) in [(0, "0"), (u16::MAX, "65,535")] {
        g.sess(
            "history-request",
            format!("limit {what} decodes: a limit outside 1 to 100 is a request error, not a malformed frame"),
            sess::HistoryRequest {
                request_id: u32::MAX,
                chat_id: 7,
                before: 900,
                limit,
            },
            &[REQUEST_ERROR_NOT_MALFORMED],
            &["SYNC-23"],
        );
    }
    g.truncations(d, "history-request", &w, &[(3, 1), (21, 21), (22, 21)]);
    g.trailing(d, "history-request", &w, &[0], "one zero byte");
    g.invalid(
        d,
        "history-request",
        "chat id 0",
        t::set_u64_at(&w, 5, 0),
        InvalidValue,
        5,
        &[ZERO_ID],
        &[],
    );
}

fn media_frames(g: &mut Gen) {
    let d = Decoder::Session;

    // UploadBegin: transfer_id 1..5, media_id 5..37, size 37..45, mime
    // length 45, mime 46..56, name length 56, name 57..62.
    let w = g.sess(
        "upload-begin",
        "a 12-byte text file",
        sess::UploadBegin {
            transfer_id: 1,
            media_id: MEDIA_ID,
            size: 12,
            mime: "text/plain".into(),
            name: "a.txt".into(),
        },
        &[],
        &[],
    );
    g.sess(
        "upload-begin",
        "the longest mime (64) and name (255); size 0 decodes (it is a request error)",
        sess::UploadBegin {
            transfer_id: u32::MAX,
            media_id: [0; 32],
            size: 0,
            mime: "m".repeat(MAX_MIME),
            name: "n".repeat(MAX_FILE_NAME),
        },
        &[MAX_LENGTH, REQUEST_ERROR_NOT_MALFORMED],
        &["ENC-01", "MEDIA-03"],
    );
    g.truncations(
        d,
        "upload-begin",
        &w,
        &[(30, 5), (45, 45), (50, 46), (57, 57)],
    );
    g.trailing(d, "upload-begin", &w, &[0], "one zero byte");
    g.invalid(
        d,
        "upload-begin",
        "a 65-byte mime, one above str8<64>",
        t::oversized_str8_at(&w, 45, MAX_MIME),
        LengthExceedsLimit,
        45,
        &[OVER_MAX_LENGTH],
        &[],
    );
    g.invalid(
        d,
        "upload-begin",
        "mime length 255 and nothing after it",
        t::bare_u8_length_at(&w, 45, 255),
        LengthExceedsLimit,
        45,
        &[OVER_MAX_LENGTH, ALLOCATION_BAIT],
        &[],
    );
    g.invalid(
        d,
        "upload-begin",
        "a name that is not UTF-8",
        t::replace_str8_at(&w, 56, &[0xE2, 0x28, 0xA1]),
        InvalidUtf8,
        56,
        &[INVALID_UTF8],
        &[],
    );

    // UploadReady: transfer_id 1..5, offset 5..13, credit 13..15.
    let w = g.sess(
        "upload-ready",
        "a new upload with 8 chunks of credit",
        sess::UploadReady {
            transfer_id: 1,
            offset: 0,
            credit: 8,
        },
        &[],
        &[],
    );
    g.sess(
        "upload-ready",
        "resume from byte 61,440 with 64 chunks of credit",
        sess::UploadReady {
            transfer_id: u32::MAX,
            offset: 61_440,
            credit: 64,
        },
        &[],
        &["MEDIA-04"],
    );
    g.truncations(d, "upload-ready", &w, &[(1, 1), (13, 13), (14, 13)]);
    g.trailing(d, "upload-ready", &w, &[0], "one zero byte");

    // Chunk: transfer_id 1..5, offset 5..13, data rest<61440> from 13.
    let w = g.sess(
        "chunk",
        "3 bytes at offset 256",
        sess::Chunk {
            transfer_id: 2,
            offset: 0x100,
            data: Bytes::from_static(b"abc"),
        },
        &[],
        &[],
    );
    g.sess(
        "chunk",
        "1 byte, the shortest",
        sess::Chunk {
            transfer_id: 0,
            offset: 0,
            data: Bytes::from_static(&[0]),
        },
        &[MIN_LENGTH],
        &[],
    );
    g.sess(
        "chunk",
        "61,440 bytes, the largest chunk",
        sess::Chunk {
            transfer_id: 7,
            offset: 3 * MAX_CHUNK as u64,
            data: Bytes::from(pattern(MAX_CHUNK)),
        },
        &[MAX_LENGTH, LARGE_INPUT],
        &["ENC-01"],
    );
    g.truncations(d, "chunk", &w, &[(1, 1), (7, 5), (13, 13)]);
    g.invalid(
        d,
        "chunk",
        "61,441 bytes of data, one above MAX_CHUNK (the frame is under the frame limit)",
        cat(&[&w[..13], &pattern(MAX_CHUNK + 1)]),
        LengthExceedsLimit,
        13,
        &[OVER_MAX_LENGTH, LARGE_INPUT],
        &[],
    );

    // Credit: transfer_id 1..5, chunks 5..7.
    let w = g.sess(
        "credit",
        "4 more chunks",
        sess::Credit {
            transfer_id: 1,
            chunks: 4,
        },
        &[],
        &[],
    );
    g.sess(
        "credit",
        "65,535 chunks decodes: too much credit is a session error, not a malformed frame",
        sess::Credit {
            transfer_id: u32::MAX,
            chunks: u16::MAX,
        },
        &[REQUEST_ERROR_NOT_MALFORMED, MAX_VALUE],
        &["MEDIA-10"],
    );
    g.truncations(d, "credit", &w, &[(5, 5), (6, 5)]);
    g.trailing(d, "credit", &w, &[0], "one zero byte");

    // UploadDone: transfer_id 1..5, media_id 5..37.
    let w = g.sess(
        "upload-done",
        "upload 1 stored",
        sess::UploadDone {
            transfer_id: 1,
            media_id: MEDIA_ID,
        },
        &[],
        &[],
    );
    g.sess(
        "upload-done",
        "transfer 0 and an all-zero media id",
        sess::UploadDone {
            transfer_id: 0,
            media_id: [0; 32],
        },
        &[ZERO_ALLOWED],
        &[],
    );
    g.truncations(d, "upload-done", &w, &[(4, 1), (36, 5)]);
    g.trailing(d, "upload-done", &w, &[0], "one zero byte");

    // DownloadRequest: transfer_id 1..5, media_id 5..37, offset 37..45,
    // length 45..53, credit 53..55.
    let w = g.sess(
        "download-request",
        "a whole file with 16 chunks of credit",
        sess::DownloadRequest {
            transfer_id: 2,
            media_id: MEDIA_ID,
            offset: 0,
            length: 0,
            credit: 16,
        },
        &[],
        &[],
    );
    g.sess(
        "download-request",
        "a range: 90 bytes from byte 10",
        sess::DownloadRequest {
            transfer_id: 3,
            media_id: MEDIA_ID,
            offset: 10,
            length: 90,
            credit: 64,
        },
        &[],
        &[],
    );
    g.truncations(d, "download-request", &w, &[(37, 37), (45, 45), (54, 53)]);
    g.trailing(d, "download-request", &w, &[0], "one zero byte");

    // DownloadReady: transfer_id 1..5, size 5..13, offset 13..21, length
    // 21..29.
    let w = g.sess(
        "download-ready",
        "the whole 12-byte file follows",
        sess::DownloadReady {
            transfer_id: 2,
            size: 12,
            offset: 0,
            length: 12,
        },
        &[],
        &[],
    );
    g.sess(
        "download-ready",
        "90 bytes from byte 10 of a 100-byte file",
        sess::DownloadReady {
            transfer_id: 3,
            size: 100,
            offset: 10,
            length: 90,
        },
        &[],
        &[],
    );
    g.truncations(d, "download-ready", &w, &[(5, 5), (28, 21)]);
    g.trailing(d, "download-ready", &w, &[0], "one zero byte");

    // TransferCancel: transfer_id 1..5, code 5..7.
    let w = g.sess(
        "transfer-cancel",
        "media_hash_mismatch",
        sess::TransferCancel {
            transfer_id: 2,
            code: Code::MEDIA_HASH_MISMATCH,
        },
        &[],
        &[],
    );
    g.sess(
        "transfer-cancel",
        "transfer 0 and a code version 1 does not define",
        sess::TransferCancel {
            transfer_id: 0,
            code: Code(4399),
        },
        &[UNKNOWN_CODE, ZERO_ALLOWED],
        &["ERR-01"],
    );
    g.truncations(d, "transfer-cancel", &w, &[(5, 5), (6, 5)]);
    g.trailing(d, "transfer-cancel", &w, &[0], "one zero byte");
}

// ---------------------------------------------------------------------------
// Handshake payloads (spec §4.2, §5.1)
// ---------------------------------------------------------------------------

fn handshake_payloads() -> VectorFile {
    let mut g = Gen::new("handshake");

    // PairInit: capabilities 0..4, account_name length 4, account_name
    // 5..8 ("Ada"), device_name length 8, device_name 9..16 ("Pixel 9").
    let d = Decoder::PairInit;
    let init = |capabilities, account: &str, device: &str| PairInit {
        capabilities,
        account_name: account.into(),
        device_name: device.into(),
    };
    let w = init(0, "Ada", "Pixel 9").to_vec().expect("encodes");
    let w = g.valid(d, "pair-init", "account Ada, device Pixel 9", w, &[], &[]);
    g.valid(
        d,
        "pair-init",
        "every capability bit set (unknown bits are ignored, not refused) and empty names",
        init(u32::MAX, "", "").to_vec().expect("encodes"),
        &[CAPABILITY_BITS, EMPTY_FIELD],
        &["ENC-11"],
    );
    g.valid(
        d,
        "pair-init",
        "64-byte names, the longest, one of 2-byte characters",
        init(0, &"é".repeat(MAX_NAME / 2), &"d".repeat(MAX_NAME))
            .to_vec()
            .expect("encodes"),
        &[MAX_LENGTH, MULTIBYTE_UTF8],
        &["ENC-01"],
    );
    g.invalid(
        d,
        "pair-init",
        "an empty payload",
        vec![],
        Empty,
        0,
        &[EMPTY_INPUT],
        &[],
    );
    g.truncations(
        d,
        "pair-init",
        &w,
        &[(2, 0), (4, 4), (6, 5), (8, 8), (12, 9)],
    );
    g.trailing(d, "pair-init", &w, &[0], "one zero byte");
    g.invalid(
        d,
        "pair-init",
        "a 65-byte account name, one above str8<64>",
        t::oversized_str8_at(&w, 4, MAX_NAME),
        LengthExceedsLimit,
        4,
        &[OVER_MAX_LENGTH],
        &[],
    );
    g.invalid(
        d,
        "pair-init",
        "account name length 255 and nothing after it",
        t::bare_u8_length_at(&w, 4, 255),
        LengthExceedsLimit,
        4,
        &[OVER_MAX_LENGTH, ALLOCATION_BAIT],
        &[],
    );
    g.invalid(
        d,
        "pair-init",
        "a 65-byte device name",
        t::oversized_str8_at(&w, 8, MAX_NAME),
        LengthExceedsLimit,
        8,
        &[OVER_MAX_LENGTH],
        &[],
    );
    g.invalid(
        d,
        "pair-init",
        "an account name that is not UTF-8",
        t::replace_str8_at(&w, 4, &[0xC3, 0x28]),
        InvalidUtf8,
        4,
        &[INVALID_UTF8],
        &[],
    );
    g.invalid(
        d,
        "pair-init",
        "a device name that is not UTF-8",
        t::replace_str8_at(&w, 8, &[0xED, 0xA0, 0x80]),
        InvalidUtf8,
        8,
        &[SURROGATE_UTF8],
        &[],
    );

    // PairAccept: capabilities 0..4, device_name length 4, device_name
    // 5..22 ("Firefox on laptop").
    let d = Decoder::PairAccept;
    let accept = |capabilities, device: &str| PairAccept {
        capabilities,
        device_name: device.into(),
    };
    let w = g.valid(
        d,
        "pair-accept",
        "device Firefox on laptop",
        accept(0, "Firefox on laptop").to_vec().expect("encodes"),
        &[],
        &[],
    );
    g.valid(
        d,
        "pair-accept",
        "capability bit 0 set (ignored) and an empty device name",
        accept(1, "").to_vec().expect("encodes"),
        &[CAPABILITY_BITS, EMPTY_FIELD],
        &["ENC-11"],
    );
    g.valid(
        d,
        "pair-accept",
        "a 64-byte device name",
        accept(0, &"ü".repeat(MAX_NAME / 2))
            .to_vec()
            .expect("encodes"),
        &[MAX_LENGTH, MULTIBYTE_UTF8],
        &["ENC-01"],
    );
    g.invalid(
        d,
        "pair-accept",
        "an empty payload",
        vec![],
        Empty,
        0,
        &[EMPTY_INPUT],
        &[],
    );
    g.truncations(d, "pair-accept", &w, &[(3, 0), (4, 4), (10, 5)]);
    g.trailing(d, "pair-accept", &w, &[0], "one zero byte");
    g.invalid(
        d,
        "pair-accept",
        "a 65-byte device name",
        t::oversized_str8_at(&w, 4, MAX_NAME),
        LengthExceedsLimit,
        4,
        &[OVER_MAX_LENGTH],
        &[],
    );
    g.invalid(
        d,
        "pair-accept",
        "a device name that is not UTF-8",
        t::replace_str8_at(&w, 4, &[b'a', 0x80]),
        InvalidUtf8,
        4,
        &[INVALID_UTF8],
        &[],
    );

    // Hello: capabilities 0..4.
    let d = Decoder::Hello;
    let w = g.valid(
        d,
        "hello",
        "no capabilities",
        Hello { capabilities: 0 }.to_vec(),
        &[],
        &[],
    );
    g.valid(
        d,
        "hello",
        "every capability bit set: unknown bits are ignored",
        Hello {
            capabilities: u32::MAX,
        }
        .to_vec(),
        &[CAPABILITY_BITS],
        &["ENC-11"],
    );
    g.invalid(
        d,
        "hello",
        "an empty payload",
        vec![],
        Empty,
        0,
        &[EMPTY_INPUT],
        &[],
    );
    g.truncations(d, "hello", &w, &[(1, 0), (3, 0)]);
    g.trailing(d, "hello", &w, &[0], "one zero byte");
    g.trailing(d, "hello", &w, &w.clone(), "a second Hello");

    g.finish("handshake-payloads.json", "handshake_payload")
}

// ---------------------------------------------------------------------------
// QR payload (spec §4.1)
// ---------------------------------------------------------------------------

fn qr() -> VectorFile {
    let mut g = Gen::new("qr");
    let d = Decoder::Qr;
    let payload = |ttl_s, url: &str| QrPayload {
        channel_id: ramp(0xA0),
        companion_key: ramp(0x20),
        pairing_secret: ramp(0x40),
        ttl_s,
        relay_url: url.into(),
    };
    let text = |p: &QrPayload| p.to_text().expect("encodes").into_bytes();
    let as_text = |payload: &[u8]| t::qr_text(payload).into_bytes();

    // The payload: ver 0, flags 1, channel_id 2..18, companion_key 18..50,
    // pairing_secret 50..82, ttl_s 82..84, url length 84, url 85...
    let sample = payload(60, "ws://127.0.0.1:8080");
    let bin = sample.to_binary().expect("encodes");
    let valid = text(&sample);
    g.valid(
        d,
        "payload",
        "a loopback relay and a 60 s code",
        valid.clone(),
        &[],
        &[],
    );
    g.valid(
        d,
        "payload",
        "a wss relay with a path, and the longest ttl",
        text(&payload(u16::MAX, "wss://relay.example.org/tandem")),
        &[MAX_VALUE],
        &[],
    );
    let longest = payload(0, &format!("wss://{}", "a".repeat(MAX_RELAY_URL - 6)));
    let longest_text = text(&longest);
    assert_eq!(longest_text.len(), MAX_QR_TEXT);
    g.valid(
        d,
        "payload",
        "a 128-byte relay URL, the longest: a 348-character text; ttl 0",
        longest_text.clone(),
        &[MAX_LENGTH, ZERO_ALLOWED],
        &["ENC-01"],
    );
    for prefix in ["tandem:", "Tandem:"] {
        let mut input = prefix.as_bytes().to_vec();
        input.extend_from_slice(&valid[7..]);
        g.valid(
            d,
            "prefix",
            format!("the prefix written {prefix}: matched without regard to case"),
            input,
            &[PREFIX_CASE],
            &["QR-02"],
        );
    }

    // Text-level failures: offsets are in the text.
    g.invalid(
        d,
        "prefix",
        "an empty text",
        vec![],
        Empty,
        0,
        &[EMPTY_INPUT],
        &[],
    );
    for (input, what) in [
        ("HTTPS://example.com/", "a URL"),
        ("TANDEM", "the prefix without its colon"),
        ("TANDEM-AE", "a dash instead of the colon"),
    ] {
        g.invalid(
            d,
            "prefix",
            format!("no TANDEM: prefix: {what}"),
            input.as_bytes().to_vec(),
            InvalidPrefix,
            0,
            &[INVALID_PREFIX],
            &[],
        );
    }
    let mut spaced = b" ".to_vec();
    spaced.extend_from_slice(&valid);
    g.invalid(
        d,
        "prefix",
        "a space before the prefix",
        spaced,
        InvalidPrefix,
        0,
        &[INVALID_PREFIX],
        &[],
    );
    g.invalid(
        d,
        "base32",
        "lower-case base32",
        t::qr_text_lower_case(&bin).into_bytes(),
        InvalidBase32,
        7,
        &[LOWER_CASE_BASE32],
        &["QR-03"],
    );
    let mut one_lower = valid.clone();
    one_lower[20] = one_lower[20].to_ascii_lowercase();
    assert_ne!(one_lower, valid, "character 20 is a letter");
    g.invalid(
        d,
        "base32",
        "one lower-case character at text offset 20",
        one_lower,
        InvalidBase32,
        20,
        &[LOWER_CASE_BASE32],
        &["QR-03"],
    );
    g.invalid(
        d,
        "base32",
        "RFC 4648 padding with '='",
        t::qr_text_padded(&bin).expect("needs padding").into_bytes(),
        InvalidBase32,
        7 + bin.len() * 8 / 5 + 1,
        &[BASE32_PADDING],
        &["QR-03"],
    );
    g.invalid(
        d,
        "base32",
        "non-zero bits after the last whole byte: a second text for the same payload",
        t::qr_text_with_trailing_bits(&bin)
            .expect("has unused bits")
            .into_bytes(),
        InvalidBase32,
        valid.len() - 1,
        &[BASE32_TRAILING_BITS],
        &["QR-03"],
    );
    for (at, ch) in [(7, b'0'), (30, b'1'), (31, b'8')] {
        let mut input = valid.clone();
        input[at] = ch;
        g.invalid(
            d,
            "base32",
            format!(
                "'{}' at text offset {at}, outside the base32 alphabet",
                ch as char
            ),
            input,
            InvalidBase32,
            at,
            &[BASE32_ALPHABET],
            &["QR-03"],
        );
    }
    g.invalid(
        d,
        "base32",
        "two characters more: a length no whole number of bytes has",
        t::with_trailing(&valid, b"AA"),
        InvalidBase32,
        // The first character at which the length is no longer possible.
        valid.len() + 1,
        &[BASE32_LENGTH],
        &["QR-03"],
    );
    g.invalid(
        d,
        "payload",
        "349 characters, one above the longest text: refused before decoding",
        t::with_trailing(&longest_text, b"A"),
        LengthExceedsLimit,
        0,
        &[OVER_MAX_LENGTH],
        &[],
    );

    // Payload-level failures: offsets are in the decoded payload.
    g.invalid(
        d,
        "payload",
        "the prefix alone: an empty payload",
        b"TANDEM:".to_vec(),
        Empty,
        0,
        &[EMPTY_INPUT],
        &[],
    );
    for byte in [0x00, 0x02] {
        g.invalid(
            d,
            "payload",
            format!("version {byte}: only 1 is supported"),
            as_text(&t::set_u8_at(&bin, 0, byte)),
            UnsupportedVersion,
            0,
            &[UNSUPPORTED_VERSION],
            &[],
        );
    }
    for byte in [0x01, 0x80] {
        g.invalid(
            d,
            "payload",
            format!("flags {byte:#04x}: reserved bits must be 0"),
            as_text(&t::set_u8_at(&bin, 1, byte)),
            ReservedNonzero,
            1,
            &[RESERVED_NONZERO],
            &[],
        );
    }
    for (len, offset) in [(1, 1), (40, 18), (84, 84), (90, 85)] {
        g.invalid(
            d,
            "payload",
            format!(
                "the base32 of the first {len} of the {} payload bytes: the field at payload byte {offset} is incomplete",
                bin.len()
            ),
            as_text(&t::truncate(&bin, len)),
            Truncated,
            offset,
            &[TRUNCATED],
            &[],
        );
    }
    g.invalid(
        d,
        "payload",
        "a strict prefix of the text: the last 7 characters cut, so that 20 whole 8-character groups (100 bytes) remain",
        valid[..7 + 160].to_vec(),
        Truncated,
        85,
        &[TRUNCATED],
        &[],
    );
    g.invalid(
        d,
        "payload",
        "one byte after the relay URL",
        as_text(&t::with_trailing(&bin, &[0])),
        TrailingBytes,
        bin.len(),
        &[TRAILING_BYTES],
        &[],
    );
    g.invalid(
        d,
        "payload",
        "a 129-byte relay URL: its text is 350 characters, so the text limit refuses it before decoding",
        as_text(&t::replace_str8_at(
            &bin,
            84,
            format!("wss://{}", "a".repeat(MAX_RELAY_URL - 5)).as_bytes(),
        )),
        LengthExceedsLimit,
        0,
        &[OVER_MAX_LENGTH],
        &[],
    );
    g.invalid(
        d,
        "payload",
        "relay URL length 129 (one above str8<128>) followed by a 19-byte URL: refused from the length",
        as_text(&t::set_u8_at(&bin, 84, 129)),
        LengthExceedsLimit,
        84,
        &[OVER_MAX_LENGTH, ALLOCATION_BAIT],
        &[],
    );
    for (url, what) in [
        (&b"http://example.com"[..], "an http URL"),
        (b"ws://", "a ws:// URL without a host"),
        (b"ws://exa mple.org", "a URL with a space"),
        (
            "wss://例え.jp".as_bytes(),
            "a URL with non-ASCII characters (hosts use punycode)",
        ),
        (b"relay.example.org", "a host without a scheme"),
    ] {
        g.invalid(
            d,
            "payload",
            format!("relay URL: {what}"),
            as_text(&t::replace_str8_at(&bin, 84, url)),
            InvalidValue,
            84,
            &[INVALID_URL],
            &["QR-05"],
        );
    }
    g.invalid(
        d,
        "payload",
        "a relay URL that is not UTF-8",
        as_text(&t::replace_str8_at(&bin, 84, b"ws://\xC3\x28")),
        InvalidUtf8,
        84,
        &[INVALID_UTF8],
        &[],
    );

    g.finish("qr.json", "qr")
}
