//! `link` (spec §4): shows the companion's name and check code and asks
//! ([PAIR-04], [PAIR-06]); a running `serve` on the code's relay links over
//! its own connection, otherwise a short connection of this command's does.

use std::sync::Arc;
use std::time::Duration;

use tandem_client::{Clock, DriverConfig, DriverEvent, Transport};
use tandem_codec::ErrorKind;
use tandem_codec::qr::QrPayload;
use tandem_proto::primary::{Confirmation, PrimaryEvent};

use super::CommandError;
use crate::control::client::{ControlClient, Serving};
use crate::control::protocol::{Reply, Request};
use crate::display::{device_id, plain};
use crate::phone::open_phone;
use crate::serve::same_relay;
use crate::state::State;

/// What the person is asked to confirm.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkPrompt {
    /// The companion's device name, as plain text ([DEV-03]).
    pub device_name: String,
    /// Its device id.
    pub device_id: String,
    /// The check code, `042 917`.
    pub check_code: String,
}

/// A companion linked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkOutcome {
    /// Its device name.
    pub device_name: String,
    /// Its device id.
    pub device_id: String,
    /// Whether the running `serve` linked it.
    pub via_serve: bool,
}

/// Parses QR text strictly; the errors say what the person needs to know
/// ([QR-04]: a code from an unsupported version says so).
pub fn decode_qr(text: &str) -> Result<QrPayload, CommandError> {
    QrPayload::from_text(text.trim()).map_err(|err| {
        CommandError::Qr(match err.kind {
            ErrorKind::UnsupportedVersion | ErrorKind::ReservedNonzero => format!(
                "this code is from an unsupported version of Tandem ({err}); update the phone"
            ),
            ErrorKind::InvalidPrefix => format!("this is not a Tandem code ({err})"),
            _ => format!("this Tandem code cannot be read ({err})"),
        })
    })
}

/// Links the companion of `qr_text`, asking `confirm` with its name and
/// check code. `allow_plain` lets a code name a plain `ws://` relay that is
/// not on this machine ([TRN-08]: only when the person says so).
pub async fn link(
    state: &State,
    qr_text: &str,
    allow_plain: bool,
    confirm: impl AsyncFnMut(&LinkPrompt) -> bool,
) -> Result<LinkOutcome, CommandError> {
    link_with_ca(state, qr_text, allow_plain, None, confirm).await
}

/// [`link`], trusting the extra CA certificates of the PEM file `ca` for a
/// `wss://` relay when this command opens its own connection (`--ca`,
/// spec §2.5).
pub async fn link_with_ca(
    state: &State,
    qr_text: &str,
    allow_plain: bool,
    ca: Option<&std::path::Path>,
    mut confirm: impl AsyncFnMut(&LinkPrompt) -> bool,
) -> Result<LinkOutcome, CommandError> {
    let qr = decode_qr(qr_text)?;
    let target = tandem_client::Target::parse(&qr.relay_url)?;
    if !target.tls && !allow_plain && !is_loopback(&target.host) {
        return Err(CommandError::Invalid(format!(
            "the code names the unencrypted relay {}; a relay off this machine needs wss:// \
             (pass --allow-plain-ws to use it anyway)",
            qr.relay_url
        )));
    }
    // The lock is not needed: linking writes no events.
    if let Serving::Yes(mut client) = ControlClient::find(state, Duration::from_secs(5)).await?
        && let Reply::Status { relay, .. } = client.call(&Request::Status).await?
        && same_relay(&relay, &qr.relay_url)
    {
        return through_serve(client, qr_text.trim(), &mut confirm).await;
    }
    let transport = tandem_client::TlsTransport::with_optional_ca(ca)
        .map_err(|err| CommandError::Invalid(err.to_string()))?;
    own_connection(state, qr, Arc::new(transport), &mut confirm).await
}

async fn through_serve(
    mut client: ControlClient,
    payload: &str,
    confirm: &mut impl AsyncFnMut(&LinkPrompt) -> bool,
) -> Result<LinkOutcome, CommandError> {
    client
        .send(&Request::Link {
            payload: payload.to_owned(),
        })
        .await?;
    let mut declined = false;
    loop {
        match client.reply().await? {
            Reply::Confirm {
                device_name,
                device_id,
                check_code,
            } => {
                let prompt = LinkPrompt {
                    device_name,
                    device_id,
                    check_code,
                };
                let accept = confirm(&prompt).await;
                declined = !accept;
                client.send(&Request::Answer { accept }).await?;
            }
            Reply::Paired {
                device_name,
                device_id,
            } => {
                return Ok(LinkOutcome {
                    device_name,
                    device_id,
                    via_serve: true,
                });
            }
            Reply::Failed { .. } if declined => return Err(CommandError::Declined),
            Reply::Failed { code, reason } => {
                return Err(CommandError::Refused {
                    code: tandem_codec::Code(code.unwrap_or(1011)),
                    reason,
                });
            }
            other => {
                return Err(CommandError::Invalid(format!("unexpected reply {other:?}")));
            }
        }
    }
}

async fn own_connection(
    state: &State,
    qr: QrPayload,
    transport: Arc<dyn Transport>,
    confirm: &mut impl AsyncFnMut(&LinkPrompt) -> bool,
) -> Result<LinkOutcome, CommandError> {
    let clock = Clock::start();
    let phone = open_phone(state, &clock, false)?;
    let config = DriverConfig::once(qr.relay_url.clone()).with_transport(transport);
    let (handle, mut events, driver) = tandem_client::spawn(phone, config, clock);
    let mut declined = false;
    let result = loop {
        let Some(event) = events.recv().await else {
            break Err(gone());
        };
        match event {
            DriverEvent::Connected => {
                let qr = qr.clone();
                if let Err(err) = handle.call(move |p, now| p.link(now, qr)).await? {
                    break Err(err.into());
                }
            }
            DriverEvent::ConnectFailed { error, .. } => break Err(error.into()),
            DriverEvent::Disconnected { .. } | DriverEvent::Stopped => break Err(gone()),
            DriverEvent::Machine(PrimaryEvent::ConfirmPairing {
                link_id,
                device_name,
                key,
                check_code,
            }) => {
                let prompt = LinkPrompt {
                    device_name: plain(&device_name),
                    device_id: device_id(&key),
                    check_code: check_code.to_string(),
                };
                let accept = confirm(&prompt).await;
                declined = !accept;
                let answer = if accept {
                    Confirmation::Accept
                } else {
                    Confirmation::Reject
                };
                // An error here means the confirmation timed out meanwhile;
                // the `PairingFailed` that says so follows.
                let _ = handle
                    .call(move |p, now| p.confirm_pairing(now, link_id, answer))
                    .await?;
            }
            DriverEvent::Machine(PrimaryEvent::Paired { key, device_name }) => {
                break Ok(LinkOutcome {
                    device_name: plain(&device_name),
                    device_id: device_id(&key),
                    via_serve: false,
                });
            }
            DriverEvent::Machine(PrimaryEvent::PairingFailed { .. }) if declined => {
                break Err(CommandError::Declined);
            }
            DriverEvent::Machine(PrimaryEvent::PairingFailed { code, reason }) => {
                break Err(CommandError::Refused { code, reason });
            }
            _ => {}
        }
    };
    // Sends what is queued (the `PairingComplete`), then closes.
    handle.shutdown().await;
    let _ = driver.join().await;
    result
}

fn gone() -> CommandError {
    CommandError::Refused {
        code: tandem_codec::Code(1006),
        reason: "the relay connection ended before the link was done".into(),
    }
}

/// `localhost`, `127.0.0.0/8` or `::1` ([TRN-08]).
pub(crate) fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}
