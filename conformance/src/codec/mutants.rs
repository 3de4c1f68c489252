//! Deliberately broken variants of the reference codec adapter (spec §12.7),
//! for the runner's self-test: each breaks one rule of the spec on purpose,
//! and declares which vectors' cases must then not pass and with which
//! verdict. `tandem-conformance codec-adapter --mutant NAME` runs one;
//! `tandem-conformance faults` lists them with the runner's own faults.

use crate::codec::vectors::Vector;
use crate::verdict::Verdict;

/// One broken variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CodecMutant {
    /// Decodes a frame with bytes after its last field, ignoring them.
    AcceptTrailingBytes,
    /// Reports every error one byte after where it is.
    WrongOffset,
    /// Reports `truncated` as `length_exceeds_limit`.
    TruncatedAsLength,
    /// Reads any non-zero `bool` byte as true.
    AcceptBadBool,
    /// Keeps an unknown critical frame type as an ignorable one.
    IgnoreUnknownCritical,
    /// Exits (as a crash would) on a length above its limit.
    CrashOnLimit,
    /// Never answers a request with an empty input.
    HangOnEmpty,
    /// Answers every `session` request with `err not_implemented`.
    NoSessionDecoder,
    /// Exits with status 3 ("not implemented") before answering.
    ExitNotImplemented,
    /// Exits with status 1 before answering.
    ExitFailure,
    /// Refuses a QR text whose prefix is not in upper case.
    CaseSensitivePrefix,
    /// Drops the last byte (or character) of every encoding.
    EncodeDropsLastByte,
}

impl CodecMutant {
    /// Every mutant.
    pub const ALL: [CodecMutant; 12] = [
        Self::AcceptTrailingBytes,
        Self::WrongOffset,
        Self::TruncatedAsLength,
        Self::AcceptBadBool,
        Self::IgnoreUnknownCritical,
        Self::CrashOnLimit,
        Self::HangOnEmpty,
        Self::NoSessionDecoder,
        Self::ExitNotImplemented,
        Self::ExitFailure,
        Self::CaseSensitivePrefix,
        Self::EncodeDropsLastByte,
    ];

    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::AcceptTrailingBytes => "accept-trailing-bytes",
            Self::WrongOffset => "wrong-offset",
            Self::TruncatedAsLength => "truncated-as-length",
            Self::AcceptBadBool => "accept-bad-bool",
            Self::IgnoreUnknownCritical => "ignore-unknown-critical",
            Self::CrashOnLimit => "crash-on-limit",
            Self::HangOnEmpty => "hang-on-empty",
            Self::NoSessionDecoder => "no-session-decoder",
            Self::ExitNotImplemented => "exit-not-implemented",
            Self::ExitFailure => "exit-failure",
            Self::CaseSensitivePrefix => "case-sensitive-prefix",
            Self::EncodeDropsLastByte => "encode-drops-last-byte",
        }
    }

    /// The mutant with this name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The spec section and requirement it breaks.
    pub fn breaks(self) -> (&'static str, &'static str) {
        match self {
            Self::AcceptTrailingBytes => ("§1.4", "ENC-03"),
            Self::WrongOffset => ("§13.2", "VEC-03"),
            Self::TruncatedAsLength => ("§1.4", "ENC-02"),
            Self::AcceptBadBool => ("§1.4", "ENC-04"),
            Self::IgnoreUnknownCritical => ("§1.6", "ENC-09"),
            Self::CrashOnLimit => ("§1.4", "ENC-01"),
            Self::HangOnEmpty => ("§12.7", "CONF-14"),
            Self::NoSessionDecoder => ("§12.3", "CONF-01"),
            Self::ExitNotImplemented => ("§12.5.5", "CONF-11"),
            Self::ExitFailure => ("§12.3", "CONF-01"),
            Self::CaseSensitivePrefix => ("§4.1", "QR-02"),
            Self::EncodeDropsLastByte => ("§13.2", "VEC-01"),
        }
    }

    /// What it does, for people.
    pub fn description(self) -> &'static str {
        match self {
            Self::AcceptTrailingBytes => "decodes a frame followed by extra bytes and ignores them",
            Self::WrongOffset => "reports every decode error one byte later than it is",
            Self::TruncatedAsLength => "reports truncated input as length_exceeds_limit",
            Self::AcceptBadBool => "reads a bool byte other than 0x00 or 0x01 as true",
            Self::IgnoreUnknownCritical => {
                "keeps an unknown critical frame type instead of refusing it"
            }
            Self::CrashOnLimit => "exits, as a crash would, on a length above its field's limit",
            Self::HangOnEmpty => "never answers a request whose input is empty",
            Self::NoSessionDecoder => "answers `err not_implemented` to every session request",
            Self::ExitNotImplemented => {
                "exits with status 3 at start: the codec is declared not implemented"
            }
            Self::ExitFailure => {
                "exits with status 1 at start, which is never read as not implemented"
            }
            Self::CaseSensitivePrefix => {
                "refuses `tandem:` and other prefixes not written in upper case"
            }
            Self::EncodeDropsLastByte => "drops the last byte of every encoding it answers",
        }
    }

    /// The verdict the runner must give the vector's case under this
    /// mutant, when it is not `pass`.
    pub fn expected_verdict(self, v: &Vector) -> Option<Verdict> {
        let error = v.error.as_deref().unwrap_or_default();
        let invalid = !v.is_valid();
        match self {
            Self::AcceptTrailingBytes => {
                (invalid && error == "trailing_bytes" && v.decoder != "qr").then_some(Verdict::Fail)
            }
            Self::WrongOffset => invalid.then_some(Verdict::NonStrict),
            Self::TruncatedAsLength => (invalid && error == "truncated").then_some(Verdict::Fail),
            Self::AcceptBadBool => (invalid && error == "invalid_bool").then_some(Verdict::Fail),
            Self::IgnoreUnknownCritical => {
                (invalid && error == "unknown_frame_type").then_some(Verdict::Fail)
            }
            Self::CrashOnLimit => {
                (invalid && error == "length_exceeds_limit").then_some(Verdict::Fail)
            }
            Self::HangOnEmpty => v.input.is_empty().then_some(Verdict::Timeout),
            Self::NoSessionDecoder => (v.decoder == "session").then_some(Verdict::NotImplemented),
            Self::ExitNotImplemented => Some(Verdict::NotImplemented),
            Self::ExitFailure => Some(Verdict::Fail),
            Self::CaseSensitivePrefix => (v.decoder == "qr"
                && lower_case_prefix(&v.input)
                && v.error.as_deref() != Some("invalid_prefix"))
            .then_some(Verdict::Fail),
            Self::EncodeDropsLastByte => v.is_valid().then_some(Verdict::Fail),
        }
    }
}

/// Whether a QR text starts with `TANDEM:` in another case than upper.
pub fn lower_case_prefix(text: &str) -> bool {
    text.get(..tandem_codec::qr::PREFIX.len()).is_some_and(|p| {
        p.eq_ignore_ascii_case(tandem_codec::qr::PREFIX) && p != tandem_codec::qr::PREFIX
    })
}
