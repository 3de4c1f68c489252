//! The control protocol's messages: newline-delimited JSON, at most
//! [`MAX_LINE`] bytes each. A link is a short conversation (request,
//! `confirm`, answer, outcome: spec §4.5, [PAIR-04]); everything else is
//! one request and one reply.

use serde::{Deserialize, Serialize};

/// The longest line either side accepts.
pub const MAX_LINE: usize = 4_096;

/// From the CLI to `serve`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Link the companion of this QR text over the serving connection.
    Link {
        /// The QR payload text (`TANDEM:...`).
        payload: String,
    },
    /// The person's answer to a `confirm` reply.
    Answer {
        /// Whether they confirmed.
        accept: bool,
    },
    /// Revoke a linked companion by device id ([DEV-04]).
    Revoke {
        /// The device id (spaces allowed).
        device: String,
    },
    /// New inbox rows are waiting: apply them now.
    Inbox,
    /// Who is connected, and to which relay.
    Status,
}

/// From `serve` to the CLI.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum Reply {
    /// Show this and ask the person ([PAIR-04]); answer with
    /// [`Request::Answer`].
    Confirm {
        /// The companion's device name, as plain text ([DEV-03]).
        device_name: String,
        /// Its device id.
        device_id: String,
        /// The check code, `042 917`.
        check_code: String,
    },
    /// Linked.
    Paired {
        /// The companion's device name.
        device_name: String,
        /// Its device id.
        device_id: String,
    },
    /// Revoked (or already not linked).
    Revoked {
        /// The device id.
        device_id: String,
        /// Whether it was linked until now.
        was_linked: bool,
        /// Whether it had a session that was closed with `device_revoked`.
        was_connected: bool,
    },
    /// The serving phone's state.
    Status {
        /// The relay URL it serves on.
        relay: String,
        /// Whether its route is registered.
        registered: bool,
        /// Device ids of the companions connected now.
        connected: Vec<String>,
    },
    /// Done.
    Ok,
    /// The request failed.
    Failed {
        /// The protocol code, when there is one (spec §10.2).
        code: Option<u16>,
        /// For people.
        reason: String,
    },
}
