//! `show-qr` (spec §4, §12.5.3): the pairing flow of `tandem-web pair`, with
//! each code handed on as text instead of drawn ([QR-07], [QR-08]), the check
//! code shown ([PAIR-04]) and the link stored after `PairingComplete` ([PAIR-08]).

use std::time::Duration;

use tandem_client::{Clock, Driver, DriverConfig, DriverEvent, Events, Handle};
use tandem_codec::Code;
use tandem_proto::StaticKeypair;
use tandem_proto::companion::pairing::{Pairing, PairingConfig, PairingEvent};
use tandem_proto::random::OsRandom;

use super::AdapterOptions;
use crate::error::WebError;
use crate::pair::{check_relay, now_ms};
use crate::state::{Link, StateDir, StateLock};

/// How long closing the pairing connection may take.
const CLOSE_WITHIN: Duration = Duration::from_secs(5);

/// What a pairing report means for the person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Show this code, the `number`th.
    Code {
        /// `TANDEM:...`.
        text: String,
        /// 1 for the first.
        number: u32,
    },
    /// Show the check code.
    CheckCode {
        /// Six digits.
        digits: String,
        /// The account's name, from the primary.
        account_name: String,
    },
    /// Linked: the link is stored.
    Linked(Box<Link>),
    /// Pairing ended without a link.
    Failed {
        /// Why.
        code: Code,
        /// For people.
        message: String,
    },
    /// Nothing to show.
    Nothing,
}

/// A pairing in progress, on its own relay connection.
pub(crate) struct PairingRun {
    state: StateDir,
    handle: Handle<Pairing>,
    events: Events<PairingEvent>,
    driver: Option<Driver<Pairing>>,
    relay_url: String,
    device_name: String,
    primary_device: String,
    over: bool,
    _lock: StateLock,
}

impl PairingRun {
    /// Opens a pairing channel on the runner's relay with a new key pair;
    /// the folder must not be linked.
    pub(crate) fn start(state: &StateDir, options: &AdapterOptions) -> Result<Self, WebError> {
        let relay_url = options.relay_url.as_str();
        let device_name = options.device_name.as_str();
        check_relay(relay_url, options.allow_plain_ws)?;
        let transport = crate::session::transport(options.ca.as_deref())?;
        let lock = state.lock()?;
        if let Some(link) = state.link()? {
            return Err(WebError::AlreadyLinked {
                dir: state.dir().to_owned(),
                account: link.credentials.account_name,
            });
        }
        let mut rng = OsRandom::new()?;
        let identity = StaticKeypair::generate(&mut rng);
        let config = PairingConfig {
            relay_url: relay_url.to_owned(),
            device_name: device_name.to_owned(),
            faults: options.faults,
            ..PairingConfig::default()
        };
        let machine = Pairing::new(config, identity, Box::new(OsRandom::new()?));
        let config = DriverConfig::once(relay_url).with_transport(transport);
        let (handle, events, driver) = tandem_client::spawn(machine, config, Clock::start());
        Ok(Self {
            state: state.clone(),
            handle,
            events,
            driver: Some(driver),
            relay_url: relay_url.to_owned(),
            device_name: device_name.to_owned(),
            primary_device: String::new(),
            over: false,
            _lock: lock,
        })
    }

    /// The next report; `None` once the driver is gone. Cancel-safe.
    pub(crate) async fn recv(&mut self) -> Option<DriverEvent<PairingEvent>> {
        self.events.recv().await
    }

    /// Whether pairing ended, linked or not.
    pub(crate) fn is_over(&self) -> bool {
        self.over
    }

    /// Acts on a report: the link stored when the primary completed it.
    pub(crate) fn apply(&mut self, event: DriverEvent<PairingEvent>) -> Outcome {
        if self.over {
            return Outcome::Nothing;
        }
        match event {
            DriverEvent::Machine(PairingEvent::ShowCode { text, number, .. }) => {
                Outcome::Code { text, number }
            }
            DriverEvent::Machine(PairingEvent::CheckCode {
                code,
                account_name,
                primary_device,
            }) => {
                self.primary_device = primary_device;
                Outcome::CheckCode {
                    digits: code.digits(),
                    account_name,
                }
            }
            DriverEvent::Machine(PairingEvent::Paired(credentials)) => {
                let link = Link {
                    credentials,
                    relay_url: self.relay_url.clone(),
                    device_name: self.device_name.clone(),
                    primary_device: self.primary_device.clone(),
                    linked_at_ms: now_ms(),
                };
                self.end(match self.state.save_link(&link) {
                    Ok(()) => Outcome::Linked(Box::new(link)),
                    Err(err) => Outcome::Failed {
                        code: Code::INTERNAL_ERROR,
                        message: format!("cannot store the link: {err}"),
                    },
                })
            }
            DriverEvent::Machine(PairingEvent::Failed { code, reason }) => {
                self.end(Outcome::Failed {
                    code,
                    message: reason,
                })
            }
            DriverEvent::ConnectFailed { error, .. } => self.end(Outcome::Failed {
                code: Code(1006),
                message: format!("cannot reach the relay at {}: {error}", self.relay_url),
            }),
            // The machine's own `Failed(going_away)` comes after this, with
            // less to say.
            DriverEvent::Disconnected { code, reason } => self.end(Outcome::Failed {
                code,
                message: format!("the relay connection closed: {reason}"),
            }),
            DriverEvent::MachineError(reason) => self.end(Outcome::Failed {
                code: Code::INTERNAL_ERROR,
                message: reason,
            }),
            DriverEvent::Stopped => self.end(Outcome::Failed {
                code: Code::GOING_AWAY,
                message: "the pairing connection stopped".into(),
            }),
            _ => Outcome::Nothing,
        }
    }

    fn end(&mut self, outcome: Outcome) -> Outcome {
        self.over = true;
        outcome
    }

    /// Closes the pairing connection (a pairing still running ends there).
    pub(crate) async fn close(mut self) {
        self.handle.shutdown().await;
        if let Some(driver) = self.driver.take()
            && tokio::time::timeout(CLOSE_WITHIN, driver.join())
                .await
                .is_err()
        {
            tracing::warn!("the pairing connection did not close in time");
        }
    }
}
