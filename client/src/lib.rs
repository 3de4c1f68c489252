//! The Tandem client driver: runs any sans-IO machine of `tandem-proto`
//! (primary, companion, pairing companion) over one WebSocket to a relay
//! (spec §2), with its timers on tokio and reconnects with exponential
//! backoff and full jitter ([RECON-08], [RECON-09]).
//!
//! The reference phone (`tandem-phone`), the reference web companion and
//! the tests all use it. It owns no protocol logic: it follows the core's
//! calling contract (see `tandem_proto`'s crate docs) and nothing else.
//!
//! # Shape
//!
//! [`spawn`] moves a [`Machine`] into a tokio task and returns a
//! [`Handle`] (the command channel: closures run on the machine, between
//! inputs, with the current time) and an [`Events`] receiver (the event
//! channel: the machine's events and the connection's ups and downs). When
//! the driver stops it gives the machine back through [`Driver::join`].
//!
//! The byte stream comes from a [`Transport`]: by default a
//! [`TlsTransport`], which opens `ws://` as plain TCP and `wss://` over
//! rustls, verifying the relay's certificate against the webpki roots and
//! any extra CA given (`--ca FILE`, spec §2.5, [TRN-08], [TRN-09]).
//!
//! ```no_run
//! use tandem_client::{Clock, DriverConfig, DriverEvent};
//! use tandem_codec::session::Body;
//! use tandem_proto::companion::{Companion, CompanionConfig, CompanionEvent, Credentials};
//! use tandem_proto::random::OsRandom;
//!
//! # async fn example(credentials: Credentials) -> Result<(), Box<dyn std::error::Error>> {
//! let companion = Companion::new(CompanionConfig::default(), credentials, Box::new(OsRandom::new()?));
//! let (handle, mut events, driver) =
//!     tandem_client::spawn(companion, DriverConfig::new("ws://127.0.0.1:8080"), Clock::start());
//! while let Some(event) = events.recv().await {
//!     match event {
//!         DriverEvent::Machine(CompanionEvent::Synced { .. }) => {
//!             // Commands run on the machine between its inputs.
//!             handle
//!                 .call(|c, _now| c.send_message(1, Body::Text("hello".into())))
//!                 .await??;
//!         }
//!         DriverEvent::Machine(CompanionEvent::SendAcked { .. }) => break,
//!         other => println!("{other:?}"),
//!     }
//! }
//! handle.shutdown().await;
//! let _companion = driver.join().await?;
//! # Ok(()) }
//! ```

mod backoff;
mod clock;
mod connect;
mod driver;
mod duration;
mod error;
mod event;
mod handle;
mod machine;
mod tls;
mod transport;

pub use backoff::{Backoff, RECONNECT_BASE, RECONNECT_MAX};
pub use clock::Clock;
pub use connect::{SUBPROTOCOL, Target};
pub use driver::{Driver, DriverConfig, spawn};
pub use duration::parse_duration;
pub use error::{ConnectError, DriverGone};
pub use event::{DriverEvent, Events};
pub use handle::Handle;
pub use machine::Machine;
pub use tls::{CertificateProblem, TlsSetupError, TlsTransport};
pub use transport::{ConnectFuture, Io, PlainTcp, Transport};
