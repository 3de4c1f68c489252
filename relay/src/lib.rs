//! The Tandem relay (spec §2, §3): the WebSocket server that both the
//! primary and its companions connect to. It opens pairing channels,
//! routes companions to their primary, reports whether the primary is
//! online, applies limits, and forwards ciphertext it cannot read.
//!
//! [`router`] holds the routing logic as a sans-IO state machine; the tokio
//! server around it is filled by issue #6.

pub mod router;
