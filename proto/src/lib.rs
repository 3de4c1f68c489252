//! The Tandem sans-IO protocol core: pairing and reconnect handshakes, the
//! encrypted session and the sync state machines, driven by bytes and time
//! in, bytes, timers and events out. No sockets, no clock, no filesystem,
//! no threads: it builds for `wasm32-unknown-unknown`.
//!
//! Being built by issue #5; the codec it builds on is `tandem-codec`.

pub mod companion;
mod error;
pub mod handshake;
mod keys;
pub mod noise;
mod paging;
pub mod primary;
pub mod random;
pub mod route_proof;
mod session;
pub mod store;
mod time;
mod wire;

pub use error::Error;
pub use keys::{PublicKey, StaticKeypair};
pub use session::{REKEY_INTERVAL, Session};
pub use time::Instant;
pub use wire::{PING_INTERVAL, Transmit};
