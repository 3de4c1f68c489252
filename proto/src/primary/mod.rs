//! The primary's state machine (spec §3.4, §4, §5.2, §7, §8, §9): one relay
//! connection with its route, the companions multiplexed over it, pairing,
//! and serving sync and media from a [`Store`].
//!
//! Calling contract, as in quinn-proto: feed inputs with `handle_*` (the
//! driver's current time in each), then drain [`Primary::poll_transmit`]
//! onto the WebSocket, [`Primary::poll_event`] into the application, and
//! arm a timer for [`Primary::poll_timeout`], calling
//! [`Primary::handle_timeout`] when it fires.

mod changes;
mod link;
mod media;
mod served;

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use bytes::Bytes;
use tandem_codec::Code;
use tandem_codec::envelope::{
    ChannelJoined, EnvelopeFrame, JoinChannel, RegisterRoute, RouteChallenge, RouteProof,
};
use tandem_codec::qr::QrPayload;
use tandem_codec::session::{Body, InnerFrame, Message, MessageStatus, Typing};

use crate::faults::{Fault, Faults};
use crate::noise::{CheckCode, HandshakeOptions};
use crate::store::{CompanionRecord, Store};
use crate::wire::{Keepalive, PING_INTERVAL, Transmit, Wire};
use crate::{Error, Instant, PublicKey, StaticKeypair, route_proof};

use link::Link;

/// Settings of a primary. `Default` gives the spec's defaults (§10.3, §10.4).
#[derive(Clone, Debug)]
pub struct PrimaryConfig {
    /// The account's name, sent in `PairInit`.
    pub account_name: String,
    /// This device's name, sent in `PairInit`.
    pub device_name: String,
    /// Register the route on connect (a serving primary). A primary that
    /// only links a companion over a short connection sets `false`.
    pub register_route: bool,
    /// Unix time in milliseconds at the driver's epoch ([`Instant::ZERO`]);
    /// the core adds the monotonic time to it for message timestamps.
    pub wall_clock_at_epoch_ms: u64,
    /// `MAX_COMPANIONS`.
    pub max_companions: usize,
    /// `EVENT_WINDOW`.
    pub event_window: u64,
    /// `SNAPSHOT_RECENT`.
    pub snapshot_recent: usize,
    /// `SNAPSHOT_CHATS`: chats whose recent messages a snapshot carries.
    pub snapshot_chats: usize,
    /// `HANDSHAKE_TIMEOUT`.
    pub handshake_timeout: Duration,
    /// `PAIRING_CONFIRM_TIMEOUT`.
    pub confirm_timeout: Duration,
    /// `PING_INTERVAL`.
    pub ping_interval: Duration,
    /// `MAX_MEDIA_SIZE`.
    pub max_media_size: u64,
    /// Test-only handshake knobs (fixed ephemeral keys for vectors).
    #[doc(hidden)]
    pub handshake_options: HandshakeOptions,
    /// Deliberate bugs for the conformance self-test (feature `faults`).
    #[doc(hidden)]
    pub faults: Faults,
}

impl Default for PrimaryConfig {
    fn default() -> Self {
        Self {
            account_name: "Tandem".into(),
            device_name: "Tandem phone".into(),
            register_route: true,
            wall_clock_at_epoch_ms: 0,
            max_companions: 4,
            event_window: 1_024,
            snapshot_recent: 20,
            snapshot_chats: 50,
            handshake_timeout: Duration::from_secs(10),
            confirm_timeout: Duration::from_secs(120),
            ping_interval: PING_INTERVAL,
            max_media_size: 1 << 30,
            handshake_options: HandshakeOptions::default(),
            faults: Faults::default(),
        }
    }
}

/// What happened, for the application.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PrimaryEvent {
    /// The relay accepted our route: companions can reach us.
    RouteRegistered,
    /// The relay connection is gone (closed by either side or silent);
    /// the driver reconnects with backoff ([RECON-09]).
    ConnectionLost {
        /// Why.
        code: Code,
    },
    /// A linked companion completed a reconnect handshake.
    CompanionConnected {
        /// Its link.
        link_id: u32,
        /// Its key.
        key: PublicKey,
    },
    /// A companion's session ended.
    CompanionDisconnected {
        /// Its link.
        link_id: u32,
        /// Its key, when the handshake had identified it.
        key: Option<PublicKey>,
        /// Whether a transport frame from it decrypted in this session, so
        /// that it counts as seen ([DEV-02], [RECON-06]).
        seen: bool,
        /// Why.
        code: Code,
    },
    /// A revoked or unknown key tried to reconnect and was told why.
    CompanionRefused {
        /// The key.
        key: PublicKey,
        /// `device_revoked` or `unknown_device`.
        code: Code,
    },
    /// Pairing reached the confirmation step: show the name and code and
    /// call [`Primary::confirm_pairing`] ([PAIR-04]).
    ConfirmPairing {
        /// The pairing link, to pass back.
        link_id: u32,
        /// The companion's device name.
        device_name: String,
        /// Its key.
        key: PublicKey,
        /// The code to show.
        check_code: CheckCode,
    },
    /// A companion was linked and told so.
    Paired {
        /// Its key.
        key: PublicKey,
        /// Its device name.
        device_name: String,
    },
    /// Pairing failed.
    PairingFailed {
        /// Why.
        code: Code,
        /// For people.
        reason: String,
    },
    /// A companion's send was applied: the message to deliver to the
    /// wider network.
    MessageSent(Message),
    /// A companion reports the person typing.
    CompanionTyping {
        /// The chat.
        chat_id: u64,
        /// Typing or stopped.
        active: bool,
    },
    /// A companion unlinked itself.
    Unlinked {
        /// Its key.
        key: PublicKey,
    },
    /// The relay refused a request.
    RelayError {
        /// Why.
        code: Code,
        /// The link concerned, or 0.
        link_id: u32,
        /// For people.
        message: String,
    },
    /// A store operation failed; the session that needed it was closed.
    StoreFailed(String),
}

/// Whether pairing may go on, by the person's decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Confirmation {
    /// The person confirmed.
    Accept,
    /// The person declined.
    Reject,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RouteState {
    None,
    Requested,
    Proving,
    Registered,
}

/// The shared context a link's handlers work in.
pub(crate) struct Ctx<'a, S: Store> {
    pub(crate) config: &'a PrimaryConfig,
    pub(crate) identity: &'a StaticKeypair,
    pub(crate) store: &'a mut S,
    pub(crate) wire: &'a mut Wire,
    pub(crate) events: &'a mut VecDeque<PrimaryEvent>,
    pub(crate) now: Instant,
    /// Set when the handler committed events that every link must get.
    pub(crate) committed: bool,
}

impl<S: Store> Ctx<'_, S> {
    /// Commits a change durably; the caller acknowledges it only after
    /// this returns ([SYNC-10]).
    pub(crate) fn commit(&mut self, commit: crate::store::Commit) -> Result<(), Error> {
        let has_events = !commit.events.is_empty();
        self.store.commit(commit).map_err(store_error)?;
        self.committed |= has_events;
        Ok(())
    }

    pub(crate) fn wall_ms(&self) -> u64 {
        let since = u64::try_from(self.now.since_epoch().as_millis()).unwrap_or(u64::MAX);
        self.config.wall_clock_at_epoch_ms.saturating_add(since)
    }
}

/// The primary's protocol state: generic over its store.
pub struct Primary<S: Store> {
    config: PrimaryConfig,
    identity: StaticKeypair,
    store: S,
    wire: Wire,
    route: RouteState,
    links: BTreeMap<u32, Link>,
    pending_join: Option<QrPayload>,
    events: VecDeque<PrimaryEvent>,
}

impl<S: Store> Primary<S> {
    /// A primary with this identity and store, not connected yet.
    pub fn new(config: PrimaryConfig, identity: StaticKeypair, store: S) -> Self {
        let wire = Wire::new(config.ping_interval);
        Self {
            config,
            identity,
            store,
            wire,
            route: RouteState::None,
            links: BTreeMap::new(),
            pending_join: None,
            events: VecDeque::new(),
        }
    }

    /// The primary key (names the route).
    pub fn public_key(&self) -> PublicKey {
        self.identity.public()
    }

    /// The store, for reads by the application.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The store, for the application's own changes; call
    /// [`Primary::store_changed`] after committing events.
    pub fn store_mut(&mut self) -> &mut S {
        &mut self.store
    }

    /// Stops the primary and gives its store back (a restart keeps only
    /// what the store holds).
    pub fn into_store(self) -> S {
        self.store
    }

    /// Whether the route is registered.
    pub fn is_registered(&self) -> bool {
        self.route == RouteState::Registered
    }

    /// Keys of the companions with a live session now.
    pub fn connected_companions(&self) -> Vec<PublicKey> {
        self.links.values().filter_map(Link::served_key).collect()
    }

    /// The WebSocket to the relay is open.
    pub fn handle_connected(&mut self, now: Instant) -> Result<(), Error> {
        self.wire.connected(now);
        self.route = RouteState::None;
        if self.config.register_route {
            self.wire.send(RegisterRoute {
                primary_key: self.identity.public().0,
            })?;
            self.route = RouteState::Requested;
        }
        Ok(())
    }

    /// The WebSocket is gone: every link and session with it.
    pub fn handle_disconnected(&mut self, _now: Instant) {
        self.wire.disconnected();
        self.route = RouteState::None;
        let mut pairing_lost = self.pending_join.take().is_some();
        for (link_id, link) in std::mem::take(&mut self.links) {
            // A pairing cut before the link was stored ends without one
            // (§4.6); the person is told, as for any other failure.
            pairing_lost |= link.is_pairing();
            self.events.push_back(PrimaryEvent::CompanionDisconnected {
                link_id,
                key: link.served_key(),
                seen: link.seen(),
                code: Code::PEER_GONE,
            });
        }
        if pairing_lost {
            self.events.push_back(PrimaryEvent::PairingFailed {
                code: Code::GOING_AWAY,
                reason: "the relay connection was lost".into(),
            });
        }
    }

    /// One WebSocket binary message from the relay.
    pub fn handle_frame(&mut self, now: Instant, message: Bytes) -> Result<(), Error> {
        let frame = match EnvelopeFrame::decode(&message) {
            Ok(frame) => frame,
            Err(err) => {
                // [ENV-06] A client MUST close with `malformed_frame` a relay
                // connection that sends it a frame it cannot decode.
                self.lose_connection(Code::MALFORMED_FRAME, err.to_string());
                return Ok(());
            }
        };
        if self.wire.received(now, &frame)? {
            return Ok(());
        }
        match frame {
            EnvelopeFrame::RouteChallenge(RouteChallenge { relay_ephemeral })
                if self.route == RouteState::Requested =>
            {
                match route_proof::prove(&self.identity, &relay_ephemeral) {
                    Some(mac) => {
                        self.wire.send(RouteProof { mac })?;
                        self.route = RouteState::Proving;
                    }
                    None => self.lose_connection(Code::UNEXPECTED_FRAME, "low-order relay key"),
                }
            }
            EnvelopeFrame::RouteRegistered if self.route == RouteState::Proving => {
                self.route = RouteState::Registered;
                self.events.push_back(PrimaryEvent::RouteRegistered);
            }
            EnvelopeFrame::ChannelJoined(joined) => self.channel_joined(now, joined)?,
            EnvelopeFrame::LinkOpened(opened) if self.route == RouteState::Registered => {
                let deadline = now + self.config.handshake_timeout;
                self.links
                    .insert(opened.link_id, Link::awaiting_hello(deadline));
            }
            EnvelopeFrame::Data(data) => self.link_data(now, data.link_id, data.payload)?,
            EnvelopeFrame::LinkClosed(closed) => {
                if let Some(link) = self.links.remove(&closed.link_id) {
                    self.link_ended(closed.link_id, &link, closed.code);
                }
            }
            EnvelopeFrame::Error(error) => {
                if error.link_id == 0 && self.pending_join.take().is_some() {
                    self.events.push_back(PrimaryEvent::PairingFailed {
                        code: error.code,
                        reason: error.message.clone(),
                    });
                }
                self.events.push_back(PrimaryEvent::RelayError {
                    code: error.code,
                    link_id: error.link_id,
                    message: error.message,
                });
            }
            // [ENC-10] Ignorable frames are discarded.
            EnvelopeFrame::Unknown { .. } => {}
            // [ENV-01] A primary MUST answer a `RouteChallenge` only for a
            // `RegisterRoute` it sent; anything else a primary never gets is
            // a protocol violation by the relay.
            other => self.lose_connection(
                Code::UNEXPECTED_FRAME,
                format!("unexpected {} from the relay", other.name()),
            ),
        }
        Ok(())
    }

    /// The timer from [`Primary::poll_timeout`] fired.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), Error> {
        if self.wire.on_timeout(now)? == Keepalive::Dead {
            self.handle_disconnected(now);
            self.events.push_back(PrimaryEvent::ConnectionLost {
                code: Code::GOING_AWAY,
            });
            return Ok(());
        }
        let expired: Vec<u32> = self
            .links
            .iter()
            .filter(|(_, link)| link.deadline().is_some_and(|d| d <= now))
            .map(|(&id, _)| id)
            .collect();
        for link_id in expired {
            if let Some(link) = self.links.remove(&link_id) {
                let mut ctx = self.ctx(now);
                link.expire(&mut ctx, link_id)?;
            }
        }
        Ok(())
    }

    /// The next thing to do on the WebSocket.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.wire.poll()
    }

    /// The next event for the application.
    pub fn poll_event(&mut self) -> Option<PrimaryEvent> {
        self.events.pop_front()
    }

    /// When to call [`Primary::handle_timeout`] next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let links = self.links.values().filter_map(Link::deadline).min();
        [self.wire.timeout(), links].into_iter().flatten().min()
    }

    /// Starts linking the companion of a scanned QR code (spec §4). Refused
    /// at the companion limit before anything is sent ([PAIR-10]).
    pub fn link(&mut self, _now: Instant, qr: QrPayload) -> Result<(), Error> {
        // Fault [PAIR-10]: no local refusal at the limit.
        let limit_ignored = self.config.faults.has(Fault::IgnoreCompanionLimit);
        if !limit_ignored
            && self.store.companions().map_err(store_error)?.len() >= self.config.max_companions
        {
            return Err(Error::protocol(
                Code::DEVICE_LIMIT,
                "the companion limit is reached",
            ));
        }
        if !self.wire.is_connected() {
            return Err(Error::protocol(
                Code::GOING_AWAY,
                "not connected to the relay",
            ));
        }
        if self.pending_join.is_some() {
            return Err(Error::protocol(
                Code::INVALID_REQUEST,
                "a pairing is already in progress",
            ));
        }
        self.wire.send(JoinChannel {
            channel_id: qr.channel_id,
        })?;
        self.pending_join = Some(qr);
        Ok(())
    }

    /// The person's answer to [`PrimaryEvent::ConfirmPairing`].
    pub fn confirm_pairing(
        &mut self,
        now: Instant,
        link_id: u32,
        answer: Confirmation,
    ) -> Result<(), Error> {
        let Some(link) = self.links.remove(&link_id) else {
            return Err(Error::protocol(
                Code::UNKNOWN_LINK,
                "no pairing awaits confirmation there",
            ));
        };
        let mut ctx = self.ctx(now);
        link.confirm(&mut ctx, link_id, answer)
    }

    /// Revokes a companion: stored first, then the companion is told at
    /// once if connected ([DEV-04]). Returns whether it was linked.
    pub fn revoke(&mut self, now: Instant, key: &PublicKey) -> Result<bool, Error> {
        let was_linked = self.store.revoke_companion(key).map_err(store_error)?;
        let links: Vec<u32> = self
            .links
            .iter()
            .filter(|(_, link)| link.served_key().as_ref() == Some(key))
            .map(|(&id, _)| id)
            .collect();
        for link_id in links {
            if let Some(link) = self.links.remove(&link_id) {
                let mut ctx = self.ctx(now);
                link.close(
                    &mut ctx,
                    link_id,
                    Code::DEVICE_REVOKED,
                    "revoked on the primary",
                )?;
            }
        }
        Ok(was_linked)
    }

    /// Adds a contact and its chat (the simulated address book).
    pub fn add_contact(&mut self, now: Instant, name: &str) -> Result<u64, Error> {
        let commit = changes::add_contact(&self.store, name)?;
        let contact_id = commit.contacts.first().map(|c| c.contact_id).unwrap_or(0);
        self.commit(now, commit)?;
        Ok(contact_id)
    }

    /// A message arriving from the wider network, from `contact_id`.
    pub fn receive_message(
        &mut self,
        now: Instant,
        contact_id: u64,
        body: Body,
    ) -> Result<Message, Error> {
        let wall_ms = self.ctx(now).wall_ms();
        let (message, commit) = changes::incoming(&self.store, contact_id, body, wall_ms)?;
        self.commit(now, commit)?;
        Ok(message)
    }

    /// The owner sends a message from the primary itself: stored as sent,
    /// announced to every companion ([SYNC-10]: durable first).
    pub fn send_own_message(
        &mut self,
        now: Instant,
        chat_id: u64,
        body: Body,
    ) -> Result<Message, Error> {
        let wall_ms = self.ctx(now).wall_ms();
        let (message, commit) = changes::own(&self.store, chat_id, body, wall_ms)?;
        self.commit(now, commit)?;
        Ok(message)
    }

    /// The wider network moved a sent message's status.
    pub fn set_status(
        &mut self,
        now: Instant,
        message_id: u64,
        status: MessageStatus,
    ) -> Result<(), Error> {
        if let Some(commit) = changes::status(&self.store, message_id, status)? {
            self.commit(now, commit)?;
        }
        Ok(())
    }

    /// A contact is typing (or stopped) in a chat: tell every companion.
    pub fn contact_typing(
        &mut self,
        now: Instant,
        chat_id: u64,
        active: bool,
    ) -> Result<(), Error> {
        let frame = InnerFrame::from(Typing { chat_id, active });
        let mut links = std::mem::take(&mut self.links);
        let mut result = Ok(());
        for (&link_id, link) in links.iter_mut() {
            let mut ctx = self.ctx(now);
            result = result.and(link.send_if_live(&mut ctx, link_id, &frame));
        }
        self.links = links;
        result
    }

    /// Someone else changed the store (another process, the application):
    /// send new events to the companions.
    pub fn store_changed(&mut self, now: Instant) -> Result<(), Error> {
        self.pump(now)
    }

    /// Links a companion directly, without a handshake: for tests and
    /// fixtures that start from an already-paired state.
    #[doc(hidden)]
    pub fn link_for_testing(&mut self, record: CompanionRecord) -> Result<(), Error> {
        self.store.link_companion(record).map_err(store_error)
    }

    fn commit(&mut self, now: Instant, commit: crate::store::Commit) -> Result<(), Error> {
        self.ctx(now).commit(commit)?;
        self.pump(now)
    }

    fn pump(&mut self, now: Instant) -> Result<(), Error> {
        let ids: Vec<u32> = self.links.keys().copied().collect();
        for link_id in ids {
            let Some(link) = self.links.remove(&link_id) else {
                continue;
            };
            let mut ctx = self.ctx(now);
            if let Some(link) = link.pump(&mut ctx, link_id)? {
                self.links.insert(link_id, link);
            }
        }
        Ok(())
    }

    fn ctx(&mut self, now: Instant) -> Ctx<'_, S> {
        Ctx {
            config: &self.config,
            identity: &self.identity,
            store: &mut self.store,
            wire: &mut self.wire,
            events: &mut self.events,
            now,
            committed: false,
        }
    }

    /// Runs `f` on a link, which it consumes and may give back; a link not
    /// given back is gone. Events committed on the way go to every link.
    fn with_link(
        &mut self,
        now: Instant,
        link_id: u32,
        f: impl FnOnce(Link, &mut Ctx<'_, S>) -> Result<Option<Link>, Error>,
    ) -> Result<(), Error> {
        let Some(link) = self.links.remove(&link_id) else {
            return Ok(());
        };
        let mut ctx = self.ctx(now);
        let after = f(link, &mut ctx);
        let committed = ctx.committed;
        if let Some(link) = after? {
            self.links.insert(link_id, link);
        }
        if committed {
            self.pump(now)?;
        }
        Ok(())
    }

    fn channel_joined(&mut self, now: Instant, joined: ChannelJoined) -> Result<(), Error> {
        let Some(qr) = self
            .pending_join
            .take_if(|qr| qr.channel_id == joined.channel_id)
        else {
            self.lose_connection(
                Code::UNEXPECTED_FRAME,
                "ChannelJoined for a channel we did not join",
            );
            return Ok(());
        };
        let mut ctx = self.ctx(now);
        if let Some(link) = Link::start_pairing(&mut ctx, joined.link_id, &qr)? {
            self.links.insert(joined.link_id, link);
        }
        Ok(())
    }

    fn link_data(&mut self, now: Instant, link_id: u32, payload: Bytes) -> Result<(), Error> {
        if !self.links.contains_key(&link_id) {
            // Data for a link we closed: the relay may still deliver what
            // was in flight.
            return Ok(());
        }
        self.with_link(now, link_id, |link, ctx| link.data(ctx, link_id, &payload))
    }

    fn link_ended(&mut self, link_id: u32, link: &Link, code: Code) {
        if link.is_pairing() {
            self.events.push_back(PrimaryEvent::PairingFailed {
                code,
                reason: "the companion closed the pairing channel".into(),
            });
        }
        self.events.push_back(PrimaryEvent::CompanionDisconnected {
            link_id,
            key: link.served_key(),
            seen: link.seen(),
            code,
        });
    }

    fn lose_connection(&mut self, code: Code, reason: impl Into<String>) {
        self.wire.close(code, reason);
        self.handle_disconnected(Instant::ZERO);
        self.events.push_back(PrimaryEvent::ConnectionLost { code });
    }
}

pub(crate) fn store_error(err: crate::store::StoreError) -> Error {
    Error::Store(err.0)
}
