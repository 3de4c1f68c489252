//! `devices` and `revoke` (spec §9.2, §9.3): the linked companions with
//! name, device id, linked-at and last-seen times or "connected now"
//! ([DEV-01]), and revocation, through a running `serve` so that a
//! connected companion is told at once ([DEV-04]).

use std::time::Duration;

use serde::Serialize;
use tandem_proto::store::Store;

use super::CommandError;
use crate::control::client::{ControlClient, Serving};
use crate::control::protocol::{Reply, Request};
use crate::display::{device_id, normalize_device_id, plain};
use crate::serve::find_device;
use crate::state::State;

/// One linked companion.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DeviceRow {
    /// Its device id (spec §9.2).
    pub device_id: String,
    /// Its device name, as plain text ([DEV-03]).
    pub name: String,
    /// Its key, hex.
    pub key: String,
    /// When it was linked, Unix milliseconds.
    pub linked_at_ms: u64,
    /// When it was last seen, Unix milliseconds (0: never).
    pub last_seen_ms: u64,
    /// Whether it has a session with the running `serve` now.
    pub connected: bool,
}

/// What a revocation did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RevokeOutcome {
    /// The device id.
    pub device_id: String,
    /// Whether it was linked until now.
    pub was_linked: bool,
    /// Whether a session was open and told `device_revoked` at once.
    pub was_connected: bool,
}

/// The linked companions.
pub async fn devices(state: &State) -> Result<Vec<DeviceRow>, CommandError> {
    let store = state.store()?;
    let connected = match ControlClient::find(state, Duration::from_secs(2)).await {
        Ok(Serving::Yes(mut client)) => match client.call(&Request::Status).await? {
            Reply::Status { connected, .. } => connected,
            _ => Vec::new(),
        },
        _ => Vec::new(),
    };
    Ok(store
        .companions()?
        .into_iter()
        .map(|record| {
            let id = device_id(&record.key);
            DeviceRow {
                connected: connected.contains(&id),
                device_id: id,
                name: plain(&record.device_name),
                key: record.key.to_string(),
                linked_at_ms: record.linked_at_ms,
                last_seen_ms: record.last_seen_ms,
            }
        })
        .collect())
}

/// Revokes the companion with this device id (or a unique prefix of at
/// least four digits).
pub async fn revoke(state: &State, device: &str) -> Result<RevokeOutcome, CommandError> {
    match ControlClient::find(state, Duration::from_secs(5)).await? {
        Serving::Yes(mut client) => {
            match client
                .call(&Request::Revoke {
                    device: device.to_owned(),
                })
                .await?
            {
                Reply::Revoked {
                    device_id,
                    was_linked,
                    was_connected,
                } => Ok(RevokeOutcome {
                    device_id,
                    was_linked,
                    was_connected,
                }),
                Reply::Failed { reason, .. } => Err(CommandError::NotFound(reason)),
                other => Err(CommandError::Invalid(format!("unexpected reply {other:?}"))),
            }
        }
        Serving::No(_lock) => {
            let mut store = state.store()?;
            let wanted = normalize_device_id(device);
            let key = find_device(&store.companions()?, &wanted).ok_or_else(|| {
                CommandError::NotFound(format!("no linked companion has device id {device}"))
            })?;
            // [DEV-05] Durable before it is shown as revoked.
            let was_linked = store.revoke_companion(&key)?;
            Ok(RevokeOutcome {
                device_id: device_id(&key),
                was_linked,
                was_connected: false,
            })
        }
    }
}
