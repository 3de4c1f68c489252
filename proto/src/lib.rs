//! The Tandem sans-IO protocol core: the pairing and reconnect handshakes
//! (spec §4, §5), the encrypted session (§6), and the sync and media state
//! machines of both endpoints (§7, §8, §9). Bytes and time go in; bytes,
//! timers and events come out. No sockets, no clock, no filesystem, no
//! threads: it builds for `wasm32-unknown-unknown`, and the IO shells
//! (`tandem-phone`, `tandem-web`, the conformance runner) are thin drivers
//! around it.
//!
//! # The machines
//!
//! - [`primary::Primary`]: the phone. One relay connection, its route, all
//!   its companions, pairing, and serving sync and media from a
//!   [`store::Store`] that the driver implements durably.
//! - [`companion::Companion`]: a linked companion. It reconnects, resumes
//!   or resyncs, applies events in order and keeps its sends until the
//!   primary answers them.
//! - [`companion::pairing::Pairing`]: a companion being linked: QR codes,
//!   their rotation, the handshake and the check code.
//!
//! # Calling contract
//!
//! Every machine is driven the same way, in the style of quinn-proto:
//!
//! 1. Call `handle_connected(now)` when the WebSocket to the relay is open,
//!    `handle_frame(now, message)` for each binary message it receives, and
//!    `handle_disconnected(now)` when it closes. `now` is the driver's
//!    monotonic time as an [`Instant`]; the core never reads a clock.
//! 2. After each input, drain `poll_transmit()` until it returns `None`,
//!    sending each [`Transmit::Frame`] as one binary message (or closing
//!    the WebSocket on [`Transmit::Close`]), then drain `poll_event()`.
//! 3. Arm one timer for `poll_timeout()`; when it fires, call
//!    `handle_timeout(now)` and go to step 2. Recompute the timer after
//!    every input.
//!
//! Application actions (`send_message`, `link`, `revoke`, ...) are inputs
//! too: drain the outputs after them.
//!
//! ```
//! use tandem_codec::envelope::EnvelopeFrame;
//! use tandem_proto::companion::{Companion, CompanionConfig, Credentials};
//! use tandem_proto::random::SeededRandom;
//! use tandem_proto::{Instant, StaticKeypair, Transmit};
//!
//! let mut rng = SeededRandom::new(7); // tests only: use OsRandom for real keys
//! let credentials = Credentials {
//!     identity: StaticKeypair::generate(&mut rng),
//!     primary_key: StaticKeypair::generate(&mut rng).public(),
//!     account_name: "Ada".into(),
//! };
//! let mut companion = Companion::new(CompanionConfig::default(), credentials, Box::new(rng));
//!
//! // 1. The WebSocket is open.
//! let now = Instant::from_micros(0);
//! companion.handle_connected(now).unwrap();
//! // 2. Drain what to send: the companion attaches to its primary's route.
//! let Some(Transmit::Frame(bytes)) = companion.poll_transmit() else { panic!() };
//! assert!(matches!(EnvelopeFrame::decode(&bytes), Ok(EnvelopeFrame::AttachRoute(_))));
//! assert_eq!(companion.poll_transmit(), None);
//! // 3. The keepalive timer is armed.
//! assert!(companion.poll_timeout().is_some());
//! ```

pub mod companion;
mod error;
#[doc(hidden)]
pub mod faults;
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
