//! The web companion's errors and the exit status each maps to, so that
//! scripts can tell "the phone is away, the send is queued" (spec §7.6)
//! from "this device was unlinked" (§9.5) from a plain failure.

use std::path::PathBuf;
use std::process::ExitCode;

use tandem_codec::Code;

use crate::reasons;

/// Exit status: something failed.
pub const EXIT_FAILURE: u8 = 1;
/// Exit status: the phone is not connected (a `send` is queued in the
/// state folder and goes out at the next connection).
pub const EXIT_PHONE_OFFLINE: u8 = 3;
/// Exit status: this companion is not linked (never paired, or unlinked or
/// revoked and wiped).
pub const EXIT_NOT_LINKED: u8 = 4;

/// What went wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebError {
    /// A file or folder of the state could not be used.
    #[error("{path}: {reason}")]
    State {
        /// The file or folder.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Another `tandem-web` uses this state folder.
    #[error("another tandem-web is using {0}; stop it first (one process per state folder)")]
    Busy(PathBuf),
    /// No credentials in the state folder.
    #[error("this companion is not linked ({0} holds no credentials): run `tandem-web pair` first")]
    NotLinked(PathBuf),
    /// `pair` on a folder that already holds credentials.
    #[error("{dir} is already linked to {account}: run `tandem-web unlink` first")]
    AlreadyLinked {
        /// The state folder.
        dir: PathBuf,
        /// The account it is linked to.
        account: String,
    },
    /// The relay could not be reached in time.
    #[error("cannot reach the relay at {url}: {reason}")]
    Relay {
        /// The relay URL.
        url: String,
        /// The last failure.
        reason: String,
    },
    /// The relay says the phone is not connected.
    #[error("{0}")]
    PhoneOffline(String),
    /// The phone did not answer in time.
    #[error("{0}")]
    Timeout(String),
    /// Pairing ended without a link ([DEV-09]).
    #[error("pairing failed: {}", reasons::pairing_failure(*code, reason))]
    PairingFailed {
        /// Why.
        code: Code,
        /// The core's words.
        reason: String,
    },
    /// The companion was unlinked or revoked and wiped its state
    /// ([RECON-07], [DEV-09]).
    #[error("{}", reasons::wiped(*code))]
    Wiped {
        /// `device_revoked`, `unknown_device` or `unlinked`.
        code: Code,
    },
    /// The phone refused a request.
    #[error("the phone refused: {}", reasons::code_text(*code))]
    Refused {
        /// Why.
        code: Code,
    },
    /// A downloaded file did not match its media id ([MEDIA-08]).
    #[error("the download does not match its media id (media_hash_mismatch); the file was deleted")]
    HashMismatch,
    /// Something named on the command line does not exist or is ambiguous.
    #[error("{0}")]
    NotFound(String),
    /// A value is out of range.
    #[error("{0}")]
    Invalid(String),
    /// A local file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The failure.
        source: std::io::Error,
    },
    /// The protocol core failed.
    #[error("{0}")]
    Core(#[from] tandem_proto::Error),
    /// The relay driver stopped.
    #[error("the connection to the relay stopped unexpectedly")]
    DriverGone,
}

impl From<tandem_client::DriverGone> for WebError {
    fn from(_: tandem_client::DriverGone) -> Self {
        Self::DriverGone
    }
}

impl WebError {
    /// The exit status for this error.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(match self {
            Self::PhoneOffline(_) => EXIT_PHONE_OFFLINE,
            Self::NotLinked(_) | Self::Wiped { .. } => EXIT_NOT_LINKED,
            _ => EXIT_FAILURE,
        })
    }

    /// A file error with its path.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }
}
