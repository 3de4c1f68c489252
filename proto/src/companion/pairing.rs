//! The companion's side of pairing (spec §4): open a channel, show its QR
//! code, rotate it when it expires (at most `QR_MAX_CODES` codes), answer
//! the handshake, show the check code, and wait for the primary's
//! `PairingComplete` before storing anything ([PAIR-08]).

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;
use tandem_codec::Code;
use tandem_codec::envelope::{ChannelOpened, EnvelopeFrame};
use tandem_codec::handshake::PairAccept;
use tandem_codec::qr::QrPayload;
use tandem_codec::session::InnerFrame;

use super::Credentials;
use crate::faults::{Fault, Faults};
use crate::handshake::CompanionPairing;
use crate::noise::{CheckCode, HandshakeOptions};
use crate::random::{self, Random};
use crate::wire::{Keepalive, PING_INTERVAL, Transmit, Wire};
use crate::{Error, Instant, Session, StaticKeypair};

/// Settings of a pairing companion.
#[derive(Clone, Debug)]
pub struct PairingConfig {
    /// The relay URL to put in the QR code.
    pub relay_url: String,
    /// This companion's device name, shown on the primary.
    pub device_name: String,
    /// `QR_MAX_CODES`.
    pub max_codes: u32,
    /// `HANDSHAKE_TIMEOUT`, from the primary joining to message 1.
    pub handshake_timeout: Duration,
    /// How long to wait for the person to confirm on the primary
    /// (`PAIRING_CONFIRM_TIMEOUT` plus a margin).
    pub confirm_timeout: Duration,
    /// `PING_INTERVAL`.
    pub ping_interval: Duration,
    /// Test-only handshake knobs.
    #[doc(hidden)]
    pub handshake_options: HandshakeOptions,
    /// Deliberate bugs for the conformance self-test (feature `faults`).
    #[doc(hidden)]
    pub faults: Faults,
}

impl Default for PairingConfig {
    fn default() -> Self {
        Self {
            relay_url: "ws://127.0.0.1:8080".into(),
            device_name: "Tandem web".into(),
            max_codes: 5,
            handshake_timeout: Duration::from_secs(10),
            confirm_timeout: Duration::from_secs(130),
            ping_interval: PING_INTERVAL,
            handshake_options: HandshakeOptions::default(),
            faults: Faults::default(),
        }
    }
}

/// What happened during pairing.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PairingEvent {
    /// Show this code (the `number`th of at most `QR_MAX_CODES`).
    ShowCode {
        /// The payload.
        qr: QrPayload,
        /// The text to render as the QR code.
        text: String,
        /// 1 for the first code.
        number: u32,
        /// How long the relay keeps the channel.
        expires_in: Duration,
    },
    /// A primary joined the channel.
    PrimaryJoined,
    /// Show the check code; the person confirms on the primary.
    CheckCode {
        /// The code.
        code: CheckCode,
        /// The account's name.
        account_name: String,
        /// The primary's device name.
        primary_device: String,
    },
    /// Linked: store these credentials (owner-only), then reconnect on the
    /// route.
    Paired(Credentials),
    /// Pairing ended without a link.
    Failed {
        /// Why.
        code: Code,
        /// For people.
        reason: String,
    },
}

enum State {
    Idle,
    Opening,
    Showing {
        link_id: u32,
        handshake: Box<CompanionPairing>,
        deadline: Option<Instant>,
    },
    Confirming {
        link_id: u32,
        session: Box<Session>,
        account_name: String,
        deadline: Instant,
    },
    Done,
}

/// The pairing flow of a companion.
pub struct Pairing {
    config: PairingConfig,
    identity: StaticKeypair,
    rng: Box<dyn Random>,
    wire: Wire,
    state: State,
    codes_shown: u32,
    events: VecDeque<PairingEvent>,
}

impl Pairing {
    /// A pairing flow for a companion with this (new) identity.
    pub fn new(config: PairingConfig, identity: StaticKeypair, rng: Box<dyn Random>) -> Self {
        let wire = Wire::new(config.ping_interval);
        Self {
            config,
            identity,
            rng,
            wire,
            state: State::Idle,
            codes_shown: 0,
            events: VecDeque::new(),
        }
    }

    /// Whether pairing has ended (linked or failed).
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// The WebSocket is open: ask for a channel.
    pub fn handle_connected(&mut self, now: Instant) -> Result<(), Error> {
        self.wire.connected(now);
        self.open_channel()
    }

    /// The WebSocket closed: pairing cannot go on.
    pub fn handle_disconnected(&mut self, _now: Instant) {
        self.wire.disconnected();
        if !self.is_done() {
            self.fail(Code::GOING_AWAY, "the relay connection was lost");
        }
    }

    /// One binary message from the relay.
    pub fn handle_frame(&mut self, now: Instant, message: Bytes) -> Result<(), Error> {
        let frame = match EnvelopeFrame::decode(&message) {
            Ok(frame) => frame,
            Err(err) => {
                self.wire.close(Code::MALFORMED_FRAME, err.to_string());
                self.fail(Code::MALFORMED_FRAME, "the relay sent a malformed frame");
                return Ok(());
            }
        };
        if self.wire.received(now, &frame)? {
            return Ok(());
        }
        match (std::mem::replace(&mut self.state, State::Done), frame) {
            (State::Opening, EnvelopeFrame::ChannelOpened(opened)) => self.show(opened),
            (
                State::Showing {
                    link_id, handshake, ..
                },
                EnvelopeFrame::PeerState(peer),
            ) if peer.link_id == link_id && peer.online => {
                self.events.push_back(PairingEvent::PrimaryJoined);
                self.state = State::Showing {
                    link_id,
                    handshake,
                    deadline: Some(now + self.config.handshake_timeout),
                };
                Ok(())
            }
            (
                State::Showing {
                    link_id, handshake, ..
                },
                EnvelopeFrame::Data(data),
            ) if data.link_id == link_id => {
                let accept = PairAccept {
                    capabilities: 0,
                    device_name: self.config.device_name.clone(),
                };
                match handshake.respond(&data.payload, &accept) {
                    Ok((paired, reply)) => {
                        self.wire.send_data(link_id, reply.into())?;
                        self.events.push_back(PairingEvent::CheckCode {
                            code: paired.check_code,
                            account_name: paired.primary.account_name.clone(),
                            primary_device: paired.primary.device_name,
                        });
                        if self.config.faults.has(Fault::LinkedBeforePairingComplete) {
                            // Fault [PAIR-08]: linked without `PairingComplete`.
                            self.wire.close_link(link_id, Code::NORMAL_CLOSURE)?;
                            self.events.push_back(PairingEvent::Paired(Credentials {
                                identity: self.identity.clone(),
                                primary_key: paired.primary_key,
                                account_name: paired.primary.account_name,
                            }));
                            self.state = State::Done;
                            return Ok(());
                        }
                        self.state = State::Confirming {
                            link_id,
                            session: Box::new(paired.session),
                            account_name: paired.primary.account_name,
                            deadline: now + self.config.confirm_timeout,
                        };
                        Ok(())
                    }
                    Err(err) => {
                        // [PAIR-11] A failed handshake stores nothing; the
                        // channel is not retried.
                        self.wire.close_link(link_id, err.code())?;
                        self.rotate(Code::HANDSHAKE_FAILED, &err.to_string())
                    }
                }
            }
            (
                State::Confirming {
                    link_id,
                    mut session,
                    account_name,
                    deadline,
                },
                EnvelopeFrame::Data(data),
            ) if data.link_id == link_id => {
                match session.open(&data.payload) {
                    // [PAIR-08] The companion MUST NOT store the primary key
                    // until it has decrypted `PairingComplete`.
                    Ok(InnerFrame::PairingComplete) => {
                        let primary_key = session
                            .remote_static()
                            .map(crate::PublicKey)
                            .ok_or_else(|| Error::Handshake("no primary key".into()))?;
                        self.wire.close_link(link_id, Code::NORMAL_CLOSURE)?;
                        self.events.push_back(PairingEvent::Paired(Credentials {
                            identity: self.identity.clone(),
                            primary_key,
                            account_name,
                        }));
                        self.state = State::Done;
                        Ok(())
                    }
                    Ok(InnerFrame::Close(close)) => {
                        self.fail(close.code, &close.message);
                        Ok(())
                    }
                    Ok(InnerFrame::Rekey | InnerFrame::Unknown { .. }) => {
                        self.state = State::Confirming {
                            link_id,
                            session,
                            account_name,
                            deadline,
                        };
                        Ok(())
                    }
                    Ok(_)
                        if self
                            .config
                            .faults
                            .has(Fault::IgnoreFrameBeforePairingComplete) =>
                    {
                        // Fault [PAIR-09]: another frame is ignored.
                        self.state = State::Confirming {
                            link_id,
                            session,
                            account_name,
                            deadline,
                        };
                        Ok(())
                    }
                    // [PAIR-09] Anything else is `unexpected_session_frame`.
                    Ok(other) => {
                        self.wire
                            .close_link(link_id, Code::UNEXPECTED_SESSION_FRAME)?;
                        self.fail(
                            Code::UNEXPECTED_SESSION_FRAME,
                            &format!("unexpected {}", other.name()),
                        );
                        Ok(())
                    }
                    Err(err) => {
                        self.wire.close_link(link_id, err.code())?;
                        self.fail(err.code(), &err.to_string());
                        Ok(())
                    }
                }
            }
            (
                State::Showing { link_id, .. } | State::Confirming { link_id, .. },
                EnvelopeFrame::LinkClosed(closed),
            ) if closed.link_id == link_id => {
                if closed.code == Code::CHANNEL_EXPIRED {
                    self.rotate(closed.code, "the code expired")
                } else {
                    self.fail(closed.code, "the channel was closed");
                    Ok(())
                }
            }
            (State::Opening, EnvelopeFrame::Error(error)) => {
                self.fail(error.code, &error.message);
                Ok(())
            }
            (state, _) => {
                // Frames for other links, or late ones: ignored.
                self.state = state;
                Ok(())
            }
        }
    }

    /// The timer fired.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), Error> {
        if self.wire.on_timeout(now)? == Keepalive::Dead && !self.is_done() {
            self.fail(Code::GOING_AWAY, "the relay connection went silent");
            return Ok(());
        }
        match &self.state {
            State::Showing {
                link_id,
                deadline: Some(d),
                ..
            } if *d <= now => {
                let link_id = *link_id;
                self.wire.close_link(link_id, Code::HANDSHAKE_TIMEOUT)?;
                self.rotate(
                    Code::HANDSHAKE_TIMEOUT,
                    "the primary did not finish the handshake",
                )
            }
            State::Confirming {
                link_id, deadline, ..
            } if *deadline <= now => {
                let link_id = *link_id;
                self.wire.close_link(link_id, Code::HANDSHAKE_TIMEOUT)?;
                self.fail(
                    Code::HANDSHAKE_TIMEOUT,
                    "the link was not confirmed on the primary",
                );
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// The next thing to do on the WebSocket.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.wire.poll()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<PairingEvent> {
        self.events.pop_front()
    }

    /// When to call [`Pairing::handle_timeout`].
    pub fn poll_timeout(&self) -> Option<Instant> {
        let state = match &self.state {
            State::Showing { deadline, .. } => *deadline,
            State::Confirming { deadline, .. } => Some(*deadline),
            _ => None,
        };
        [self.wire.timeout(), state].into_iter().flatten().min()
    }

    fn open_channel(&mut self) -> Result<(), Error> {
        self.wire.send(EnvelopeFrame::OpenChannel)?;
        self.state = State::Opening;
        Ok(())
    }

    fn show(&mut self, opened: ChannelOpened) -> Result<(), Error> {
        // [QR-01] A fresh random `pairing_secret` for every code shown.
        let pairing_secret: [u8; 32] = random::array(self.rng.as_mut());
        let handshake = CompanionPairing::new(
            &self.identity,
            &opened.channel_id,
            &pairing_secret,
            &self.config.handshake_options,
        )?;
        let qr = QrPayload {
            channel_id: opened.channel_id,
            companion_key: self.identity.public().0,
            pairing_secret,
            ttl_s: u16::try_from(opened.ttl_ms / 1000).unwrap_or(u16::MAX),
            relay_url: self.config.relay_url.clone(),
        };
        let text = qr.to_text()?;
        self.codes_shown += 1;
        self.events.push_back(PairingEvent::ShowCode {
            qr,
            text,
            number: self.codes_shown,
            expires_in: Duration::from_millis(u64::from(opened.ttl_ms)),
        });
        self.state = State::Showing {
            link_id: opened.link_id,
            handshake: Box::new(handshake),
            deadline: None,
        };
        Ok(())
    }

    /// The code is used up: show a new one, unless `QR_MAX_CODES` were
    /// shown ([QR-07], [QR-08]).
    fn rotate(&mut self, code: Code, reason: &str) -> Result<(), Error> {
        if self.codes_shown >= self.config.max_codes {
            self.fail(
                code,
                &format!("{reason}; gave up after {} codes", self.codes_shown),
            );
            return Ok(());
        }
        self.open_channel()
    }

    fn fail(&mut self, code: Code, reason: &str) {
        self.events.push_back(PairingEvent::Failed {
            code,
            reason: reason.to_owned(),
        });
        self.state = State::Done;
    }
}
