//! The codec's one error type (spec §1.4): what was wrong, at which byte
//! offset, in which field, and which wire code and requirement it maps to.

use crate::code::Code;

/// Which layer a decode failure happened in; it decides the wire code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Layer {
    /// The relay envelope (spec §3). Failures close with `malformed_frame`.
    Envelope,
    /// Inner session frames (spec §6). Failures close with
    /// `malformed_session_frame`.
    Session,
    /// Noise handshake payloads (spec §4.2, §5.1). Failures end the
    /// handshake with `handshake_failed`.
    Handshake,
    /// The QR payload (spec §4.1). Failures are refused locally.
    Qr,
}

/// What was wrong with the input. The names are the error kinds of spec
/// §1.4 and the `error` field of invalid vectors (spec §13).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input was empty.
    Empty,
    /// The input ended before a field was complete ([ENC-02]).
    Truncated,
    /// Bytes were left after the last field ([ENC-03]).
    TrailingBytes,
    /// A length or count was above the field's maximum ([ENC-01]).
    LengthExceedsLimit,
    /// A `bool` byte other than 0 or 1 ([ENC-04]).
    InvalidBool,
    /// A string that is not UTF-8 ([ENC-05]).
    InvalidUtf8,
    /// A value outside its allowed set or range ([ENC-06]).
    InvalidValue,
    /// An unknown critical frame type ([ENC-09]).
    UnknownFrameType,
    /// An unknown protocol version ([QR-04]).
    UnsupportedVersion,
    /// A QR text without the `TANDEM:` prefix ([QR-02]).
    InvalidPrefix,
    /// A QR text whose base32 is not canonical ([QR-03]).
    InvalidBase32,
    /// A reserved field that is not zero ([QR-04]).
    ReservedNonzero,
}

impl ErrorKind {
    /// The kind's name as the spec and the vectors write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Empty => "empty",
            Self::Truncated => "truncated",
            Self::TrailingBytes => "trailing_bytes",
            Self::LengthExceedsLimit => "length_exceeds_limit",
            Self::InvalidBool => "invalid_bool",
            Self::InvalidUtf8 => "invalid_utf8",
            Self::InvalidValue => "invalid_value",
            Self::UnknownFrameType => "unknown_frame_type",
            Self::UnsupportedVersion => "unsupported_version",
            Self::InvalidPrefix => "invalid_prefix",
            Self::InvalidBase32 => "invalid_base32",
            Self::ReservedNonzero => "reserved_nonzero",
        }
    }

    /// Every kind, for tables and tests.
    pub const ALL: [ErrorKind; 12] = [
        Self::Empty,
        Self::Truncated,
        Self::TrailingBytes,
        Self::LengthExceedsLimit,
        Self::InvalidBool,
        Self::InvalidUtf8,
        Self::InvalidValue,
        Self::UnknownFrameType,
        Self::UnsupportedVersion,
        Self::InvalidPrefix,
        Self::InvalidBase32,
        Self::ReservedNonzero,
    ];

    /// Parses a kind from its spec name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }

    /// The requirement id the check that found this kind enforces.
    pub fn requirement(self) -> &'static str {
        match self {
            Self::Empty | Self::Truncated => "ENC-02",
            Self::TrailingBytes => "ENC-03",
            Self::LengthExceedsLimit => "ENC-01",
            Self::InvalidBool => "ENC-04",
            Self::InvalidUtf8 => "ENC-05",
            Self::InvalidValue => "ENC-06",
            Self::UnknownFrameType => "ENC-09",
            Self::UnsupportedVersion | Self::ReservedNonzero => "QR-04",
            Self::InvalidPrefix => "QR-02",
            Self::InvalidBase32 => "QR-03",
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A frame, payload or QR text that does not decode.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{layer:?} decode error: {kind} in `{field}` at byte {offset} [{}]", kind.requirement())]
pub struct DecodeError {
    /// What was wrong.
    pub kind: ErrorKind,
    /// Byte offset in the input where the faulty field starts (for QR text,
    /// the offset in the decoded payload, or in the text for prefix and
    /// base32 errors).
    pub offset: usize,
    /// The field being read, as the spec names it.
    pub field: &'static str,
    /// The layer the input belongs to.
    pub layer: Layer,
}

impl DecodeError {
    /// The code to send on the wire for this failure (spec §10.2), or `None`
    /// for a QR text, which is refused locally.
    pub fn wire_code(&self) -> Option<Code> {
        match self.layer {
            Layer::Envelope => Some(Code::MALFORMED_FRAME),
            Layer::Session => Some(Code::MALFORMED_SESSION_FRAME),
            Layer::Handshake => Some(Code::HANDSHAKE_FAILED),
            Layer::Qr => None,
        }
    }

    /// The requirement id that the failed check enforces.
    pub fn requirement(&self) -> &'static str {
        self.kind.requirement()
    }
}

/// A value that cannot be encoded because it breaks a limit of the spec
/// ([ENC-08]); the frame must not be sent.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// A string, list or payload is longer than its field allows.
    #[error("`{field}` is {len} long, above its limit of {max}")]
    TooLong {
        /// The field.
        field: &'static str,
        /// Its length (bytes or items).
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A field that must hold at least one byte or item is empty.
    #[error("`{field}` must not be empty")]
    Empty {
        /// The field.
        field: &'static str,
    },
    /// A value the spec does not allow (for example a link id of 0).
    #[error("`{field}` has a value the spec does not allow")]
    InvalidValue {
        /// The field.
        field: &'static str,
    },
}
