//! The local control channel between the CLI and a running `serve`: a unix
//! socket in the state folder (owner-only), one JSON object per line. It
//! carries what must reach the serving primary at once: links (spec §4.5),
//! revocations ([DEV-04]), inbox pokes and status ([DEV-01]).

pub mod client;
pub mod protocol;
pub(crate) mod server;

pub use client::{ControlClient, ControlError};
pub use protocol::{Reply, Request};
