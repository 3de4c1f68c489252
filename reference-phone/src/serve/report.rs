//! What `serve` prints, one line per happening, for people and for the
//! tests that read its output: the relay connection (spec §2.4), who
//! connects and disconnects (§9.2), pairing (§4.5) and revocation (§9.3).

use tandem_client::DriverEvent;
use tandem_codec::Code;
use tandem_proto::primary::PrimaryEvent;

use crate::display::{device_id, plain};

/// A code with its name, `4102 device_revoked`.
pub fn code(code: Code) -> String {
    match code.name() {
        Some(name) => format!("{} {name}", code.0),
        None => code.0.to_string(),
    }
}

/// The line for a driver event, if it deserves one. `name` gives a
/// companion's device name by device id.
pub(crate) fn line(
    event: &DriverEvent<PrimaryEvent>,
    name: impl Fn(&tandem_proto::PublicKey) -> Option<String>,
) -> Option<String> {
    let who = |key: &tandem_proto::PublicKey| match name(key) {
        Some(n) => format!("{} ({})", plain(&n), device_id(key)),
        None => device_id(key),
    };
    Some(match event {
        DriverEvent::Connected => "relay: connected".into(),
        DriverEvent::ConnectFailed { error, retry_in } => match retry_in {
            Some(delay) => format!("relay: {error}; retrying in {} ms", delay.as_millis()),
            None => format!("relay: {error}"),
        },
        DriverEvent::Disconnected { code: c, reason } => {
            format!("relay: disconnected ({}): {reason}", code(*c))
        }
        DriverEvent::MachineError(err) => format!("error: {err}"),
        DriverEvent::Stopped => "relay: stopped".into(),
        DriverEvent::Machine(event) => match event {
            PrimaryEvent::RouteRegistered => {
                "route registered: companions can reach this phone".into()
            }
            PrimaryEvent::ConnectionLost { code: c } => {
                format!("relay: connection lost ({})", code(*c))
            }
            PrimaryEvent::CompanionConnected { key, .. } => {
                format!("companion connected: {}", who(key))
            }
            PrimaryEvent::CompanionDisconnected {
                key: Some(key),
                code: c,
                ..
            } => {
                format!("companion disconnected: {} ({})", who(key), code(*c))
            }
            PrimaryEvent::CompanionDisconnected { key: None, .. } => return None,
            PrimaryEvent::CompanionRefused { key, code: c } => {
                format!("companion refused: {} ({})", device_id(key), code(*c))
            }
            PrimaryEvent::ConfirmPairing {
                device_name, key, ..
            } => {
                format!(
                    "pairing: {} ({}) waits for confirmation",
                    plain(device_name),
                    device_id(key)
                )
            }
            PrimaryEvent::Paired { key, device_name } => {
                format!("linked: {} ({})", plain(device_name), device_id(key))
            }
            PrimaryEvent::PairingFailed { code: c, reason } => {
                format!("pairing failed ({}): {}", code(*c), plain(reason))
            }
            PrimaryEvent::MessageSent(message) => format!(
                "sent: message {} in chat {}",
                message.message_id, message.chat_id
            ),
            PrimaryEvent::CompanionTyping { .. } => return None,
            PrimaryEvent::Unlinked { key } => format!("unlinked by the companion: {}", who(key)),
            PrimaryEvent::RelayError {
                code: c, message, ..
            } => {
                format!("relay error ({}): {}", code(*c), plain(message))
            }
            PrimaryEvent::StoreFailed(reason) => format!("store failed: {reason}"),
            other => format!("{other:?}"),
        },
        other => format!("{other:?}"),
    })
}
