//! What the driver reports on its event channel: the machine's own events
//! and the state of the relay connection (spec §2.4: a lost connection is
//! never a logout; the driver reconnects with backoff, §5.4).

use std::time::Duration;

use tandem_codec::Code;
use tokio::sync::mpsc;

use crate::error::ConnectError;

/// One report from the driver.
#[derive(Debug)]
#[non_exhaustive]
pub enum DriverEvent<E> {
    /// An event of the machine.
    Machine(E),
    /// The WebSocket to the relay is open (after `attempt` failed tries).
    Connected,
    /// A connection attempt failed; the next one is in `retry_in`, or never
    /// when reconnecting is off.
    ConnectFailed {
        /// Why.
        error: ConnectError,
        /// The backoff delay drawn for the next attempt.
        retry_in: Option<Duration>,
    },
    /// The WebSocket closed or was lost.
    Disconnected {
        /// The close code, when a Close frame said one (1006 when none did).
        code: Code,
        /// For people.
        reason: String,
    },
    /// The machine failed internally (it could not encode a frame); the
    /// connection was closed with `internal_error`.
    MachineError(String),
    /// The driver stopped; [`crate::Driver::join`] gives the machine back.
    Stopped,
}

/// The receiving end of the event channel.
pub type Events<E> = mpsc::UnboundedReceiver<DriverEvent<E>>;
