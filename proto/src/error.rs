//! Errors of the protocol core, each mapped to the wire code the spec
//! says to send (spec §10.2), in the style of h2's `proto::Error`.

use tandem_codec::{Code, DecodeError, EncodeError};

/// Why a handshake, a session or a state machine stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A handshake message did not decrypt, or was not the expected
    /// message ([PAIR-11], spec §5.3).
    #[error("handshake failed: {0}")]
    Handshake(String),
    /// A handshake payload did not decode.
    #[error("handshake payload: {0}")]
    HandshakePayload(DecodeError),
    /// A transport message did not decrypt: tampered, replayed, reordered
    /// or truncated ([SESS-09]).
    #[error("a session message failed to decrypt")]
    DecryptFailed,
    /// A decrypted inner frame did not decode ([SESS-10]).
    #[error("malformed session frame: {0}")]
    MalformedFrame(DecodeError),
    /// More than `REKEY_INTERVAL` messages arrived under one key ([SESS-08]).
    #[error("the peer did not rekey in time")]
    RekeyRequired,
    /// A frame we built breaks a limit of the spec ([ENC-08]); it was not
    /// sent.
    #[error("cannot encode frame: {0}")]
    Encode(#[from] EncodeError),
    /// The peer broke a rule of the protocol; `code` is what we send.
    #[error("protocol violation ({code}): {reason}")]
    Protocol {
        /// The code sent to the peer.
        code: Code,
        /// For people.
        reason: String,
    },
    /// Durable storage failed; nothing that depended on it was
    /// acknowledged.
    #[error("store failed: {0}")]
    Store(String),
    /// The system has no random generator.
    #[error("no random number generator is available")]
    NoRandom,
}

impl Error {
    /// The code this error is reported with on the wire.
    pub fn code(&self) -> Code {
        match self {
            Self::Handshake(_) | Self::HandshakePayload(_) => Code::HANDSHAKE_FAILED,
            Self::DecryptFailed => Code::DECRYPT_FAILED,
            Self::MalformedFrame(_) => Code::MALFORMED_SESSION_FRAME,
            Self::RekeyRequired => Code::REKEY_REQUIRED,
            Self::Protocol { code, .. } => *code,
            Self::Store(_) | Self::Encode(_) | Self::NoRandom => Code::INTERNAL_ERROR,
        }
    }

    pub(crate) fn protocol(code: Code, reason: impl Into<String>) -> Self {
        Self::Protocol {
            code,
            reason: reason.into(),
        }
    }

    pub(crate) fn handshake(err: snow::Error) -> Self {
        Self::Handshake(err.to_string())
    }
}

/// Cuts a reason to the 128 bytes a `Close` carries, on a char boundary.
pub(crate) fn close_reason(reason: &str) -> String {
    let mut end = reason.len().min(tandem_codec::limits::MAX_ERROR_MESSAGE);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    reason[..end].to_owned()
}
