//! `unlink` (spec §9.4): the state is wiped no later than `Unlink` leaves
//! ([DEV-07]) and the phone's `Close(unlinked)` awaited briefly; with no
//! session the wipe is immediate and the person told the phone still lists it ([DEV-08]).

use std::time::Duration;

use tandem_client::DriverEvent;
use tandem_codec::Code;
use tandem_proto::companion::CompanionEvent;
use tokio::time::Instant;

use crate::console::Console;
use crate::error::WebError;
use crate::reasons;
use crate::session::Session;

/// `HANDSHAKE_TIMEOUT` (spec §10.3): how long to wait for the confirmation.
const CONFIRM_WAIT: Duration = Duration::from_secs(10);

/// How the unlink went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unlinked {
    /// Whether the phone confirmed with `Close(unlinked)`.
    pub confirmed: bool,
    /// Queued sends that were never delivered and are gone.
    pub dropped: usize,
    /// This device's id, for removing it on the phone.
    pub device_id: String,
}

/// Unlinks this companion and wipes its state.
pub async fn unlink(
    session: &mut Session,
    console: &Console,
    timeout: Duration,
) -> Result<Unlinked, WebError> {
    // Relay unreachable or the phone silent: unlink here all the same.
    if let Err(err @ WebError::Wiped { .. }) = session.wait_ready(timeout).await {
        return Err(err);
    }
    let dropped = session.pending().await?.len();
    let device_id = session.link().device_id();
    // Sent in the session when there is one; wiped either way.
    let carried = session.unlink().await?;
    let confirmed = carried && confirmation(session).await?;
    if dropped > 0 {
        console.line(format!(
            "{dropped} queued message(s) were never delivered and are dropped."
        ));
    }
    if confirmed {
        console.line(format!(
            "Logged out: the phone confirmed. {}",
            reasons::wiped(Code::UNLINKED)
        ));
    } else {
        console.line(format!(
            "Logged out here: this device holds no account data any more. The phone did not \
             confirm, so it still lists this device (id {device_id}) until you remove it there \
             (tandem-phone revoke '{device_id}')."
        ));
    }
    Ok(Unlinked {
        confirmed,
        dropped,
        device_id,
    })
}

/// Waits for the phone's `Close(unlinked)`: the core then ends the session
/// without a `SessionEnded`, and the driver stops.
async fn confirmation(session: &mut Session) -> Result<bool, WebError> {
    let deadline = Instant::now() + CONFIRM_WAIT;
    loop {
        let event = match tokio::time::timeout_at(deadline, session.next()).await {
            Ok(Ok(Some(event))) => event,
            Ok(Ok(None)) => return Ok(true),
            Ok(Err(err)) => return Err(err),
            Err(_) => return Ok(false),
        };
        match event {
            DriverEvent::Machine(CompanionEvent::SessionEnded { .. })
            | DriverEvent::Machine(CompanionEvent::ConnectionLost { .. }) => return Ok(false),
            DriverEvent::Stopped => return Ok(true),
            _ => {}
        }
    }
}
