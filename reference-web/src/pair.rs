//! `pair` (spec §4): shows each QR code (terminal, PNG, SVG, payload line),
//! rotates it on expiry up to `QR_MAX_CODES` ([QR-07], [QR-08]), shows the
//! check code ([PAIR-04]) and stores the link after `PairingComplete` ([PAIR-08]).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tandem_client::{Clock, DriverConfig, DriverEvent, Target};
use tandem_codec::Code;
use tandem_proto::StaticKeypair;
use tandem_proto::companion::pairing::{Pairing, PairingConfig, PairingEvent};
use tandem_proto::random::OsRandom;

use crate::console::Console;
use crate::error::WebError;
use crate::qr;
use crate::state::{Link, StateDir};

/// How to pair.
#[derive(Clone, Debug)]
pub struct PairOptions {
    /// The relay URL put in the QR code and stored for reconnecting.
    pub relay_url: String,
    /// Where to connect, when not `relay_url` (a proxy in the demo).
    pub connect_url: Option<String>,
    /// This companion's device name, shown on the phone.
    pub device_name: String,
    /// Write each code as a PNG image here.
    pub qr_png: Option<PathBuf>,
    /// Write each code as an SVG image here.
    pub qr_svg: Option<PathBuf>,
    /// Draw each code in the terminal.
    pub terminal_qr: bool,
    /// Allow a plain `ws://` relay off this machine ([QR-06], [TRN-12]).
    pub allow_plain_ws: bool,
    /// Extra CA certificates (PEM) to trust for a `wss://` relay (`--ca`).
    pub ca: Option<PathBuf>,
}

/// A code being shown, for callers that hand it on (the demo's phone).
#[derive(Clone, Debug)]
pub struct ShownCode {
    /// The payload text, `TANDEM:...`.
    pub text: String,
    /// 1 for the first code.
    pub number: u32,
    /// The PNG written, if any.
    pub png: Option<PathBuf>,
}

/// A completed link.
#[derive(Clone, Debug)]
pub struct Paired {
    /// What was stored.
    pub link: Link,
    /// The check code both devices showed, `042 917`.
    pub check_code: String,
}

/// Pairs this state folder with a phone. `on_code` sees every code after
/// its files are written.
pub async fn pair(
    state: &StateDir,
    options: &PairOptions,
    console: &Console,
    mut on_code: impl FnMut(&ShownCode),
) -> Result<Paired, WebError> {
    check_relay(&options.relay_url, options.allow_plain_ws)?;
    let transport = crate::session::transport(options.ca.as_deref())?;
    let _lock = state.lock()?;
    if let Some(link) = state.link()? {
        return Err(WebError::AlreadyLinked {
            dir: state.dir().to_owned(),
            account: link.credentials.account_name,
        });
    }
    let mut rng = OsRandom::new()?;
    let identity = StaticKeypair::generate(&mut rng);
    let config = PairingConfig {
        relay_url: options.relay_url.clone(),
        device_name: options.device_name.clone(),
        ..PairingConfig::default()
    };
    let max_codes = config.max_codes;
    let machine = Pairing::new(config, identity, Box::new(OsRandom::new()?));
    let url = options
        .connect_url
        .clone()
        .unwrap_or_else(|| options.relay_url.clone());
    let config = DriverConfig::once(url.clone()).with_transport(transport);
    let (handle, mut events, driver) = tandem_client::spawn(machine, config, Clock::start());
    let mut check_code = None;
    let mut primary_device = String::new();
    let result = loop {
        let Some(event) = events.recv().await else {
            break Err(WebError::DriverGone);
        };
        match event {
            DriverEvent::Connected => console.line(format!("Connected to the relay at {url}.")),
            DriverEvent::ConnectFailed { error, .. } => {
                break Err(WebError::Relay {
                    url: url.clone(),
                    reason: error.to_string(),
                });
            }
            DriverEvent::Machine(PairingEvent::ShowCode {
                text,
                number,
                expires_in,
                ..
            }) => {
                let shown = show(options, console, &text, number, max_codes, expires_in)?;
                on_code(&shown);
            }
            DriverEvent::Machine(PairingEvent::PrimaryJoined) => {
                console.line("The phone scanned the code; checking keys...");
            }
            DriverEvent::Machine(PairingEvent::CheckCode {
                code,
                account_name,
                primary_device: device,
            }) => {
                console.line(format!(
                    "Check code: {code}  (it must match the code on {}'s phone \"{}\"; \
                     confirm there)",
                    plain(&account_name),
                    plain(&device)
                ));
                check_code = Some(code.to_string());
                primary_device = device;
            }
            DriverEvent::Machine(PairingEvent::Paired(credentials)) => {
                let link = Link {
                    credentials,
                    relay_url: options.relay_url.clone(),
                    device_name: options.device_name.clone(),
                    primary_device: primary_device.clone(),
                    linked_at_ms: now_ms(),
                };
                state.save_link(&link)?;
                console.line(format!(
                    "Linked to {} (phone \"{}\"). This device: \"{}\", id {}.",
                    plain(&link.credentials.account_name),
                    plain(&link.primary_device),
                    link.device_name,
                    link.device_id()
                ));
                console.line(format!(
                    "Keys stored owner-only in {}.",
                    state.link_path().display()
                ));
                break Ok(Paired {
                    link,
                    check_code: check_code.clone().unwrap_or_default(),
                });
            }
            DriverEvent::Machine(PairingEvent::Failed { code, reason }) => {
                break Err(WebError::PairingFailed { code, reason });
            }
            DriverEvent::Disconnected { code, reason } => {
                break Err(WebError::PairingFailed {
                    code,
                    reason: format!("the relay connection closed: {reason}"),
                });
            }
            DriverEvent::MachineError(reason) => {
                break Err(WebError::PairingFailed {
                    code: Code::INTERNAL_ERROR,
                    reason,
                });
            }
            DriverEvent::Stopped => break Err(WebError::DriverGone),
            _ => {}
        }
    };
    handle.shutdown().await;
    let _ = driver.join().await;
    // A code that can no longer be used is no secret worth keeping.
    for path in [&options.qr_png, &options.qr_svg].into_iter().flatten() {
        let _ = std::fs::remove_file(path);
    }
    result
}

/// [QR-06], [TRN-12]: a plain `ws://` relay off this machine only when the
/// person chose it explicitly (`--allow-plain-ws`).
pub(crate) fn check_relay(url: &str, allow_plain_ws: bool) -> Result<(), WebError> {
    let target = Target::parse(url).map_err(|err| WebError::Relay {
        url: url.to_owned(),
        reason: err.to_string(),
    })?;
    let loopback = target.host.eq_ignore_ascii_case("localhost")
        || target
            .host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if !target.tls && !loopback && !allow_plain_ws {
        return Err(WebError::Invalid(format!(
            "{url} is a plain ws:// relay off this machine: messages stay end-to-end \
             encrypted, but anyone on the way sees who pairs and talks with whom, and can \
             pose as the relay (spec §2.5, §11.4). Use wss://, or pass --allow-plain-ws to \
             choose this relay anyway"
        )));
    }
    Ok(())
}

fn show(
    options: &PairOptions,
    console: &Console,
    text: &str,
    number: u32,
    max_codes: u32,
    expires_in: Duration,
) -> Result<ShownCode, WebError> {
    if let Some(path) = &options.qr_png {
        qr::write_png(text, path)?;
    }
    if let Some(path) = &options.qr_svg {
        qr::write_svg(text, path)?;
    }
    if number > 1 {
        console.line("The code expired unused; here is a new one.");
    }
    if options.terminal_qr {
        console.line(qr::terminal(text)?);
    }
    console.line(format!(
        "Code {number} of at most {max_codes}, valid for {} s. Scan it with the phone{}:",
        expires_in.as_secs(),
        scan_hint(options.qr_png.as_deref()),
    ));
    console.line(format!("QR {text}"));
    Ok(ShownCode {
        text: text.to_owned(),
        number,
        png: options.qr_png.clone(),
    })
}

fn scan_hint(png: Option<&Path>) -> String {
    match png {
        Some(path) => format!(" (tandem-phone link --qr-png {})", path.display()),
        None => " (tandem-phone link 'TANDEM:...')".into(),
    }
}

/// The phone's words, without control characters ([DEV-03]'s rule, applied
/// to what the phone sends too).
pub(crate) fn plain(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() || is_bidi_control(c) {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect()
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_ws_off_this_machine_needs_consent() {
        assert!(check_relay("ws://127.0.0.1:8080", false).is_ok());
        assert!(check_relay("ws://localhost:8080", false).is_ok());
        assert!(check_relay("ws://[::1]:8080", false).is_ok());
        assert!(check_relay("ws://relay.example:8080", false).is_err());
        assert!(check_relay("ws://relay.example:8080", true).is_ok());
        assert!(check_relay("wss://relay.example", false).is_ok());
        assert!(check_relay("http://x", true).is_err());
    }

    #[test]
    fn control_and_bidi_characters_are_made_visible() {
        assert_eq!(plain("Ada\u{202E}x\n"), "Ada\u{FFFD}x\u{FFFD}");
    }
}
