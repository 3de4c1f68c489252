//! The phone's commands as library functions (spec §4 linking, §9 devices,
//! §7 inspection, the inbox), shared by the CLI and the tests. Each reaches
//! a running `serve` through the control socket, or works on the state
//! folder itself when none runs.

mod devices;
mod init;
mod inject;
mod inspect;
mod link;

use tandem_codec::Code;

pub use devices::{DeviceRow, RevokeOutcome, devices, revoke};
pub use init::{InitOutcome, SEED_CONTACTS, init};
pub use inject::{InjectOutcome, inject};
pub use inspect::{ChatRow, MessageRow, body_text, chats, messages};
pub(crate) use link::is_loopback;
pub use link::{LinkOutcome, LinkPrompt, decode_qr, link, link_with_ca};

use crate::control::ControlError;
use crate::qr_image::QrImageError;
use crate::state::StateError;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// The state folder.
    #[error(transparent)]
    State(#[from] StateError),
    /// Talking to a running `serve`.
    #[error(transparent)]
    Control(#[from] ControlError),
    /// The QR image.
    #[error(transparent)]
    QrImage(#[from] QrImageError),
    /// The QR text was refused ([QR-02]–[QR-05]); nothing was sent.
    #[error("{0}")]
    Qr(String),
    /// The relay could not be reached.
    #[error(transparent)]
    Connect(#[from] tandem_client::ConnectError),
    /// The store failed.
    #[error("store: {0}")]
    Store(String),
    /// Something named on the command line does not exist.
    #[error("{0}")]
    NotFound(String),
    /// A value on the command line is out of range.
    #[error("{0}")]
    Invalid(String),
    /// The protocol refused (pairing failed, device limit, ...).
    #[error("{reason} ({})", crate::serve::code_text(*code))]
    Refused {
        /// The code.
        code: Code,
        /// For people.
        reason: String,
    },
    /// The person declined the link.
    #[error("the link was declined")]
    Declined,
}

impl From<tandem_proto::store::StoreError> for CommandError {
    fn from(err: tandem_proto::store::StoreError) -> Self {
        Self::Store(err.0)
    }
}

impl From<tandem_proto::Error> for CommandError {
    fn from(err: tandem_proto::Error) -> Self {
        Self::Refused {
            code: err.code(),
            reason: err.to_string(),
        }
    }
}

impl From<tandem_client::DriverGone> for CommandError {
    fn from(_: tandem_client::DriverGone) -> Self {
        Self::Refused {
            code: Code::INTERNAL_ERROR,
            reason: "the relay driver stopped".into(),
        }
    }
}
