//! The Tandem relay (spec §2, §3): the WebSocket server that both the
//! primary and its companions connect to. It opens pairing channels,
//! routes companions to their primary, reports whether the primary is
//! online, applies the limits of §3.9, and forwards ciphertext it cannot
//! read.
//!
//! [`router`] holds the routing logic as a sans-IO state machine; [`run`]
//! is the tokio server around it (mini-redis style: the caller binds the
//! listener and supplies the shutdown future).
//!
//! Inside: one task per connection reads and writes its WebSocket
//! (`connection`); routing decisions are made under one mutex that holds
//! the router and every connection's bounded send queue (`hub`, `outbox`);
//! a timer task runs the router's expiries; the HTTP upgrade, `/healthz`
//! and `/metrics` share the port (`http`, `metrics`); with a certificate
//! ([`run_tls`]) all of it runs over TLS (`tls`, spec §2.5).
//!
//! [`forwarder`] is not part of the relay: it is the raw baseline that the
//! benchmarks measure the relay against.

mod config;
mod connection;
pub mod forwarder;
mod http;
mod hub;
mod metrics;
mod outbox;
mod readahead;
pub mod router;
mod server;
mod tls;

pub use config::{MAX_CONNECTIONS, RelayConfig, SEND_QUEUE_BYTES, SEND_QUEUE_FRAMES};
pub use http::SUBPROTOCOLS;
pub use router::RouterConfig;
pub use server::{RunError, run, run_tls};
pub use tls::{TlsConfig, TlsError};
