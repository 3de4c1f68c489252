//! The linked companion's state machine (spec §3.5, §5, §6, §7, §8, §9):
//! it attaches to its primary's route, runs the reconnect handshake when
//! the primary is online, resumes or takes a snapshot, applies events in
//! order, and keeps its sends until the primary answers them.
//!
//! Calling contract: `handle_connected` when the WebSocket opens,
//! `handle_frame` for each binary message, `handle_disconnected` when it
//! closes, `handle_timeout` when [`Companion::poll_timeout`] passes; after
//! each, drain [`Companion::poll_transmit`] and [`Companion::poll_event`].

mod cache;
mod media;
mod outbox;
pub mod pairing;

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;
use tandem_codec::Code;
use tandem_codec::envelope::{AttachRoute, EnvelopeFrame};
use tandem_codec::handshake::Hello;
use tandem_codec::session::{
    Ack, Body, Chat, Close, Contact, EventBody, HistoryRequest, InnerFrame, MarkRead, Message,
    Resume, Typing,
};

pub use cache::Cache;
pub use media::{MediaSource, UploadRequest};
pub use outbox::{Outbox, PendingSend};

use crate::faults::{Fault, Faults};
use crate::handshake::CompanionReconnect;
use crate::noise::HandshakeOptions;
use crate::random::{self, Random};
use crate::wire::{Keepalive, PING_INTERVAL, Transmit, Wire};
use crate::{Error, Instant, PublicKey, Session, StaticKeypair};

/// What a linked companion keeps across restarts: its key, its primary's
/// key and the account's name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    /// The companion's static key pair.
    pub identity: StaticKeypair,
    /// The primary key pinned at pairing ([RECON-03]).
    pub primary_key: PublicKey,
    /// The account's name, from pairing.
    pub account_name: String,
}

/// Settings of a companion. `Default` gives the spec's defaults.
#[derive(Clone, Debug)]
pub struct CompanionConfig {
    /// `PING_INTERVAL`.
    pub ping_interval: Duration,
    /// `HANDSHAKE_TIMEOUT`.
    pub handshake_timeout: Duration,
    /// `ACK_DELAY`.
    pub ack_delay: Duration,
    /// Unacknowledged events that trigger an immediate `Ack`.
    pub ack_batch: u64,
    /// Wait before attaching again after a failed handshake or a closed
    /// link (`RECONNECT_BASE`; doubled per failure up to `RECONNECT_MAX`).
    pub retry_base: Duration,
    /// `RECONNECT_MAX`.
    pub retry_max: Duration,
    /// Test-only handshake knobs.
    #[doc(hidden)]
    pub handshake_options: HandshakeOptions,
    /// Deliberate bugs for the conformance self-test (feature `faults`).
    #[doc(hidden)]
    pub faults: Faults,
}

impl Default for CompanionConfig {
    fn default() -> Self {
        Self {
            ping_interval: PING_INTERVAL,
            handshake_timeout: Duration::from_secs(10),
            ack_delay: Duration::from_millis(100),
            ack_batch: 256,
            retry_base: Duration::from_millis(250),
            retry_max: Duration::from_secs(30),
            handshake_options: HandshakeOptions::default(),
            faults: Faults::default(),
        }
    }
}

/// What happened, for the application.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CompanionEvent {
    /// Whether the primary is reachable (from the relay, spec §3.5).
    PrimaryOnline(bool),
    /// A session with the primary started; sync follows.
    SessionStarted,
    /// A snapshot started: the cache was cleared ([SYNC-05]).
    SnapshotStarted,
    /// The cache is current with the primary at this seq.
    Synced {
        /// The seq reached.
        seq: u64,
    },
    /// A chat was added or changed.
    ChatUpdated(Chat),
    /// A contact was added or changed.
    ContactUpdated(Contact),
    /// A message was added.
    MessageAdded(Message),
    /// A message's status moved.
    StatusChanged {
        /// The message.
        message_id: u64,
        /// Its new status.
        status: tandem_codec::session::MessageStatus,
    },
    /// The chat's contact is typing, or stopped.
    Typing {
        /// The chat.
        chat_id: u64,
        /// Typing or not.
        active: bool,
    },
    /// The primary applied a send.
    SendAcked {
        /// The send.
        client_id: [u8; 16],
        /// The message it became.
        message_id: u64,
    },
    /// The primary refused a send; it will not be retried.
    SendFailed {
        /// The send.
        client_id: [u8; 16],
        /// Why.
        code: Code,
    },
    /// The pending sends changed; persist [`Companion::outbox`].
    OutboxChanged,
    /// A history page arrived.
    History {
        /// The request.
        request_id: u32,
        /// The chat.
        chat_id: u64,
        /// Whether older messages exist ([SYNC-22]).
        has_more: bool,
        /// How many messages the page held.
        count: usize,
    },
    /// A request failed (`Error` frame).
    RequestFailed {
        /// Why.
        code: Code,
        /// The request or transfer id, or 0.
        ref_id: u32,
        /// For people.
        message: String,
    },
    /// Upload progress.
    UploadProgress {
        /// The transfer.
        transfer_id: u32,
        /// Bytes the primary holds or that are in flight.
        sent: u64,
        /// The file's size.
        size: u64,
    },
    /// The primary holds the whole file, hash checked.
    UploadComplete {
        /// The transfer.
        transfer_id: u32,
        /// The media id to send in a message.
        media_id: [u8; 32],
    },
    /// A download's range is known.
    DownloadStarted {
        /// The transfer.
        transfer_id: u32,
        /// The file's full size.
        size: u64,
        /// First byte of the range.
        offset: u64,
        /// Bytes in the range.
        length: u64,
    },
    /// Downloaded bytes at an offset; the driver writes them.
    DownloadChunk {
        /// The transfer.
        transfer_id: u32,
        /// Where they go.
        offset: u64,
        /// The bytes.
        data: Bytes,
    },
    /// A download finished; `verified` when the whole file matched its
    /// media id.
    DownloadComplete {
        /// The transfer.
        transfer_id: u32,
        /// The media.
        media_id: [u8; 32],
        /// Whether the SHA-256 of the whole file was checked and matched.
        verified: bool,
    },
    /// A transfer failed (cancelled, refused, or hash mismatch).
    TransferFailed {
        /// The transfer.
        transfer_id: u32,
        /// Why.
        code: Code,
    },
    /// The session ended; the companion reconnects by itself.
    SessionEnded {
        /// Why.
        code: Code,
    },
    /// The primary revoked or forgot this companion, or it unlinked: the
    /// driver MUST wipe the stored credentials and queue ([RECON-07]).
    Wiped {
        /// `device_revoked`, `unknown_device` or `unlinked`.
        code: Code,
        /// For people.
        reason: String,
    },
    /// The relay connection is gone; the driver reconnects with backoff.
    ConnectionLost {
        /// Why.
        code: Code,
    },
}

enum Phase {
    /// `Resume` sent; waiting for `ResumeAccepted` or `SnapshotBegin`.
    Resuming,
    /// Receiving a snapshot of log `log_id`; the copy follows no log until
    /// `SnapshotEnd` (a cut before it resumes from nothing, §7.2).
    Snapshot { log_id: u64 },
    /// Replaying events up to `head`, then live.
    Replaying { head: u64 },
    /// Current; live events.
    Live,
}

enum LinkState {
    /// No route attachment.
    Detached,
    /// `AttachRoute` sent.
    Attaching,
    /// Attached; the primary is offline.
    Waiting { link_id: u32 },
    /// Reconnect message 1 sent.
    Handshaking {
        link_id: u32,
        handshake: Box<CompanionReconnect>,
        deadline: Instant,
    },
    /// A session.
    Active {
        link_id: u32,
        session: Box<Session>,
        phase: Phase,
    },
}

/// A linked companion.
pub struct Companion {
    config: CompanionConfig,
    credentials: Credentials,
    rng: Box<dyn Random>,
    wire: Wire,
    link: LinkState,
    cache: Cache,
    outbox: Outbox,
    transfers: media::Transfers,
    events: VecDeque<CompanionEvent>,
    acked: u64,
    ack_deadline: Option<Instant>,
    retry_at: Option<Instant>,
    failures: u32,
    next_request_id: u32,
    unlinking: bool,
    wiped: bool,
}

impl Companion {
    /// A companion with stored credentials, not connected yet.
    pub fn new(config: CompanionConfig, credentials: Credentials, rng: Box<dyn Random>) -> Self {
        let wire = Wire::new(config.ping_interval);
        let transfers = media::Transfers::new(config.faults);
        Self {
            config,
            credentials,
            rng,
            wire,
            link: LinkState::Detached,
            cache: Cache::default(),
            outbox: Outbox::default(),
            transfers,
            events: VecDeque::new(),
            acked: 0,
            ack_deadline: None,
            retry_at: None,
            failures: 0,
            next_request_id: 0,
            unlinking: false,
            wiped: false,
        }
    }

    /// The synced state.
    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    /// The pending sends, for the driver to persist.
    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    /// Restores pending sends persisted before a restart.
    pub fn restore_outbox(&mut self, pending: Vec<PendingSend>) {
        self.outbox.restore(pending);
    }

    /// The credentials.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// Whether a session is live (synced or replaying).
    pub fn is_live(&self) -> bool {
        matches!(
            self.link,
            LinkState::Active {
                phase: Phase::Live | Phase::Replaying { .. },
                ..
            }
        )
    }

    /// Whether the companion was wiped and must not reconnect.
    pub fn is_wiped(&self) -> bool {
        self.wiped
    }

    /// The WebSocket to the relay is open.
    pub fn handle_connected(&mut self, now: Instant) -> Result<(), Error> {
        if self.wiped {
            return Ok(());
        }
        self.wire.connected(now);
        self.attach()
    }

    /// The WebSocket closed.
    pub fn handle_disconnected(&mut self, _now: Instant) {
        self.wire.disconnected();
        self.drop_session(Code::GOING_AWAY);
        self.link = LinkState::Detached;
        self.retry_at = None;
    }

    /// One binary message from the relay.
    pub fn handle_frame(&mut self, now: Instant, message: Bytes) -> Result<(), Error> {
        let frame = match EnvelopeFrame::decode(&message) {
            Ok(frame) => frame,
            Err(err) => {
                // [ENV-06] ... close with `malformed_frame`.
                self.lose_connection(Code::MALFORMED_FRAME, err.to_string());
                return Ok(());
            }
        };
        if self.wire.received(now, &frame)? {
            return Ok(());
        }
        match frame {
            EnvelopeFrame::RouteAttached(attached) if matches!(self.link, LinkState::Attaching) => {
                self.link = LinkState::Waiting {
                    link_id: attached.link_id,
                };
                self.events
                    .push_back(CompanionEvent::PrimaryOnline(attached.primary_online));
                if attached.primary_online {
                    self.start_handshake(now)?;
                }
            }
            EnvelopeFrame::PeerState(peer) if self.link_id() == Some(peer.link_id) => {
                self.events
                    .push_back(CompanionEvent::PrimaryOnline(peer.online));
                if peer.online {
                    if matches!(self.link, LinkState::Waiting { .. }) {
                        self.start_handshake(now)?;
                    }
                } else {
                    self.drop_session(Code::PEER_GONE);
                    self.link = LinkState::Waiting {
                        link_id: peer.link_id,
                    };
                }
            }
            EnvelopeFrame::Data(data) if self.link_id() == Some(data.link_id) => {
                self.data(now, data.payload)?
            }
            EnvelopeFrame::LinkClosed(closed) if self.link_id() == Some(closed.link_id) => {
                self.drop_session(closed.code);
                self.link = LinkState::Detached;
                if self.unlinking {
                    self.wipe(Code::UNLINKED, "unlinked");
                } else if self.wipes_on_relay_signal(closed.code) {
                    // Fault [RECON-07]: an unauthenticated signal wipes.
                    self.wipe(closed.code, "the relay closed the link");
                } else {
                    self.schedule_retry(now);
                }
            }
            EnvelopeFrame::Error(error) => self.relay_error(now, error)?,
            EnvelopeFrame::Unknown { .. }
            | EnvelopeFrame::Data(_)
            | EnvelopeFrame::PeerState(_)
            | EnvelopeFrame::LinkClosed(_) => {}
            other => self.lose_connection(
                Code::UNEXPECTED_FRAME,
                format!("unexpected {} from the relay", other.name()),
            ),
        }
        Ok(())
    }

    /// The timer from [`Companion::poll_timeout`] fired.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), Error> {
        if self.wire.on_timeout(now)? == Keepalive::Dead {
            self.handle_disconnected(now);
            self.events.push_back(CompanionEvent::ConnectionLost {
                code: Code::GOING_AWAY,
            });
            return Ok(());
        }
        if self.ack_deadline.is_some_and(|d| d <= now) {
            self.send_ack()?;
        }
        if let LinkState::Handshaking {
            link_id, deadline, ..
        } = &self.link
            && *deadline <= now
        {
            let link_id = *link_id;
            self.wire.close_link(link_id, Code::HANDSHAKE_TIMEOUT)?;
            self.link = LinkState::Detached;
            self.schedule_retry(now);
        }
        if self.retry_at.is_some_and(|at| at <= now) {
            self.retry_at = None;
            if matches!(self.link, LinkState::Detached) && self.wire.is_connected() {
                self.attach()?;
            }
        }
        Ok(())
    }

    /// The next thing to do on the WebSocket.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.wire.poll()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<CompanionEvent> {
        self.events.pop_front()
    }

    /// When to call [`Companion::handle_timeout`].
    pub fn poll_timeout(&self) -> Option<Instant> {
        let handshake = match &self.link {
            LinkState::Handshaking { deadline, .. } => Some(*deadline),
            _ => None,
        };
        [
            self.wire.timeout(),
            self.ack_deadline,
            self.retry_at,
            handshake,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Queues a message; it is sent now if a session is live and again
    /// after every resume until the primary answers ([SYNC-19]). Returns
    /// its client id.
    pub fn send_message(&mut self, chat_id: u64, body: Body) -> Result<[u8; 16], Error> {
        let pending = PendingSend {
            client_id: random::array(self.rng.as_mut()),
            chat_id,
            body,
        };
        let client_id = pending.client_id;
        let frame = InnerFrame::from(pending.frame());
        self.outbox.push(pending);
        self.events.push_back(CompanionEvent::OutboxChanged);
        if self.is_live() {
            self.seal(&frame)?;
        }
        Ok(client_id)
    }

    /// Marks a chat read up to a message.
    pub fn mark_read(&mut self, chat_id: u64, up_to: u64) -> Result<(), Error> {
        self.seal_live(&InnerFrame::from(MarkRead { chat_id, up_to }))
    }

    /// Tells the primary the person is typing, or stopped.
    pub fn typing(&mut self, chat_id: u64, active: bool) -> Result<(), Error> {
        self.seal_live(&InnerFrame::from(Typing { chat_id, active }))
    }

    /// Asks for older messages of a chat; returns the request id.
    pub fn request_history(&mut self, chat_id: u64, before: u64, limit: u16) -> Result<u32, Error> {
        self.next_request_id = self.next_request_id.wrapping_add(1).max(1);
        let request_id = self.next_request_id;
        self.seal_live(&InnerFrame::from(HistoryRequest {
            request_id,
            chat_id,
            before,
            limit,
        }))?;
        Ok(request_id)
    }

    /// Starts an upload; returns its transfer id. It survives lost
    /// sessions and resumes from what the primary holds ([MEDIA-04]).
    pub fn upload(&mut self, request: UploadRequest) -> Result<u32, Error> {
        let id = self.transfers.upload(request);
        self.start_transfers()?;
        Ok(id)
    }

    /// Starts a download of `length` bytes at `offset` (0: to the end);
    /// returns its transfer id.
    pub fn download(&mut self, media_id: [u8; 32], offset: u64, length: u64) -> Result<u32, Error> {
        let id = self.transfers.download(media_id, offset, length);
        self.start_transfers()?;
        Ok(id)
    }

    /// Unlinks this companion (spec §9.4): tells the primary if connected,
    /// and wipes in any case.
    pub fn unlink(&mut self) -> Result<(), Error> {
        if self.is_live() {
            // [DEV-07] The stored state goes now; the session stays only to
            // receive `Close(unlinked)`.
            self.unlinking = true;
            self.seal(&InnerFrame::Unlink)?;
            self.wipe(Code::UNLINKED, "unlinked");
            return Ok(());
        }
        self.wipe(Code::UNLINKED, "unlinked while the primary was unreachable");
        Ok(())
    }

    fn attach(&mut self) -> Result<(), Error> {
        self.wire.send(AttachRoute {
            primary_key: self.credentials.primary_key.0,
        })?;
        self.link = LinkState::Attaching;
        Ok(())
    }

    fn link_id(&self) -> Option<u32> {
        match &self.link {
            LinkState::Waiting { link_id }
            | LinkState::Handshaking { link_id, .. }
            | LinkState::Active { link_id, .. } => Some(*link_id),
            LinkState::Detached | LinkState::Attaching => None,
        }
    }

    fn start_handshake(&mut self, now: Instant) -> Result<(), Error> {
        let Some(link_id) = self.link_id() else {
            return Ok(());
        };
        let (handshake, message) = CompanionReconnect::start(
            &self.credentials.identity,
            &self.credentials.primary_key,
            Hello { capabilities: 0 },
            &self.config.handshake_options,
        )?;
        self.wire.send_data(link_id, message.into())?;
        self.link = LinkState::Handshaking {
            link_id,
            handshake: Box::new(handshake),
            deadline: now + self.config.handshake_timeout,
        };
        Ok(())
    }

    fn data(&mut self, now: Instant, payload: Bytes) -> Result<(), Error> {
        match std::mem::replace(&mut self.link, LinkState::Detached) {
            LinkState::Handshaking {
                link_id, handshake, ..
            } => match handshake.finish(&payload) {
                Ok((session, _hello)) => {
                    self.failures = 0;
                    self.link = LinkState::Active {
                        link_id,
                        session: Box::new(session),
                        phase: Phase::Resuming,
                    };
                    self.events.push_back(CompanionEvent::SessionStarted);
                    self.seal(&InnerFrame::from(Resume {
                        log_id: self.cache.log_id,
                        seq: self.cache.seq,
                    }))
                }
                Err(err) => {
                    self.wire.close_link(link_id, err.code())?;
                    self.schedule_retry(now);
                    Ok(())
                }
            },
            LinkState::Active {
                link_id,
                mut session,
                phase,
            } => {
                let frame = match session.open(&payload) {
                    Ok(frame) => frame,
                    Err(Error::DecryptFailed)
                        if self
                            .config
                            .faults
                            .has(Fault::CompanionIgnoresDecryptFailure) =>
                    {
                        // Fault [SESS-09]: the message is dropped, the
                        // session kept.
                        self.link = LinkState::Active {
                            link_id,
                            session,
                            phase,
                        };
                        return Ok(());
                    }
                    Err(err) => {
                        // [SESS-09] decryption failures are fatal: no silent
                        // drop; [SESS-10] undecodable frames get `Close`.
                        if !matches!(err, Error::DecryptFailed) {
                            let mut out = Vec::new();
                            let close = Close {
                                code: err.code(),
                                message: crate::error::close_reason(&err.to_string()),
                            };
                            session.seal(&InnerFrame::from(close), &mut out)?;
                            for message in out {
                                self.wire.send_data(link_id, message)?;
                            }
                        }
                        self.wire.close_link(link_id, err.code())?;
                        // The link was taken out of `self.link` above.
                        self.session_lost(err.code());
                        self.schedule_retry(now);
                        return Ok(());
                    }
                };
                self.link = LinkState::Active {
                    link_id,
                    session,
                    phase,
                };
                match self.frame(now, frame) {
                    Ok(()) => Ok(()),
                    Err(err @ Error::Encode(_)) => Err(err),
                    Err(err) => {
                        let code = err.code();
                        self.close_session(now, code, &err.to_string())
                    }
                }
            }
            other => {
                // Data before the handshake started or after it ended.
                self.link = other;
                Ok(())
            }
        }
    }

    fn frame(&mut self, now: Instant, frame: InnerFrame) -> Result<(), Error> {
        let phase = match &self.link {
            LinkState::Active { phase, .. } => phase,
            _ => return Ok(()),
        };
        match (phase, frame) {
            (_, InnerFrame::Close(close)) => self.closed(now, close),
            (_, InnerFrame::Rekey | InnerFrame::Unknown { .. }) => Ok(()),
            (_, InnerFrame::Error(error)) => {
                let mut events = Vec::new();
                if self.transfers.is_active(error.ref_id) && error.ref_id != 0 {
                    self.transfers.fail(error.ref_id, error.code, &mut events);
                }
                self.events.extend(events);
                self.events.push_back(CompanionEvent::RequestFailed {
                    code: error.code,
                    ref_id: error.ref_id,
                    message: error.message,
                });
                Ok(())
            }
            (Phase::Resuming, InnerFrame::ResumeAccepted(accepted)) => {
                if accepted.head == self.cache.seq {
                    self.set_phase(Phase::Live);
                    self.events
                        .push_back(CompanionEvent::Synced { seq: accepted.head });
                } else {
                    self.set_phase(Phase::Replaying {
                        head: accepted.head,
                    });
                }
                self.resume_work()
            }
            (_, InnerFrame::SnapshotBegin(begin)) if !matches!(phase, Phase::Snapshot { .. }) => {
                // [SYNC-05] A companion MUST discard all its synced state when
                // it receives `SnapshotBegin`.
                if !self.config.faults.has(Fault::KeepCacheOnSnapshot) {
                    // (Fault [SYNC-05]: `KeepCacheOnSnapshot` keeps it.)
                    self.cache.clear();
                }
                // Until `SnapshotEnd` nothing of the log is applied: a
                // resume from here starts from nothing (§7.2).
                self.cache.log_id = 0;
                self.cache.seq = 0;
                self.acked = 0;
                self.set_phase(Phase::Snapshot {
                    log_id: begin.log_id,
                });
                self.events.push_back(CompanionEvent::SnapshotStarted);
                Ok(())
            }
            (Phase::Snapshot { .. }, InnerFrame::ChatPage(page)) => {
                for chat in page.chats {
                    self.cache.chats.insert(chat.chat_id, chat.clone());
                    self.events.push_back(CompanionEvent::ChatUpdated(chat));
                }
                Ok(())
            }
            (Phase::Snapshot { .. }, InnerFrame::ContactPage(page)) => {
                for contact in page.contacts {
                    self.cache.contacts.insert(contact.contact_id, contact);
                }
                Ok(())
            }
            (Phase::Snapshot { .. }, InnerFrame::MessagePage(page)) if page.request_id == 0 => {
                self.refuse_unknown_bodies(&page.messages)?;
                self.cache
                    .add_messages(page.chat_id, page.messages, page.has_more);
                Ok(())
            }
            (Phase::Snapshot { log_id }, InnerFrame::SnapshotEnd(end)) => {
                self.cache.log_id = *log_id;
                self.cache.seq = end.seq;
                self.set_phase(Phase::Live);
                self.send_ack()?;
                self.events
                    .push_back(CompanionEvent::Synced { seq: end.seq });
                self.resume_work()
            }
            (Phase::Live | Phase::Replaying { .. }, InnerFrame::Event(event)) => {
                self.event(now, event.seq, event.body)
            }
            (Phase::Live | Phase::Replaying { .. }, InnerFrame::SendAck(ack)) => {
                if self.outbox.resolve(&ack.client_id).is_some() {
                    self.events.push_back(CompanionEvent::SendAcked {
                        client_id: ack.client_id,
                        message_id: ack.message_id,
                    });
                    self.events.push_back(CompanionEvent::OutboxChanged);
                }
                Ok(())
            }
            (Phase::Live | Phase::Replaying { .. }, InnerFrame::SendFailed(failed)) => {
                if self.outbox.resolve(&failed.client_id).is_some() {
                    self.events.push_back(CompanionEvent::SendFailed {
                        client_id: failed.client_id,
                        code: failed.code,
                    });
                    self.events.push_back(CompanionEvent::OutboxChanged);
                }
                Ok(())
            }
            (Phase::Live | Phase::Replaying { .. }, InnerFrame::MessagePage(page))
                if page.request_id != 0 =>
            {
                self.refuse_unknown_bodies(&page.messages)?;
                let count = page.messages.len();
                self.cache
                    .add_messages(page.chat_id, page.messages, page.has_more);
                self.events.push_back(CompanionEvent::History {
                    request_id: page.request_id,
                    chat_id: page.chat_id,
                    has_more: page.has_more,
                    count,
                });
                Ok(())
            }
            (Phase::Live | Phase::Replaying { .. }, InnerFrame::Typing(typing)) => {
                self.events.push_back(CompanionEvent::Typing {
                    chat_id: typing.chat_id,
                    active: typing.active,
                });
                Ok(())
            }
            (
                Phase::Live | Phase::Replaying { .. },
                frame @ (InnerFrame::UploadReady(_)
                | InnerFrame::Credit(_)
                | InnerFrame::UploadDone(_)
                | InnerFrame::DownloadReady(_)
                | InnerFrame::Chunk(_)
                | InnerFrame::TransferCancel(_)),
            ) => {
                let mut events = Vec::new();
                let handled = self.transfers.handle(frame, &mut events);
                // A transfer that failed is reported even when the session
                // ends with it.
                self.events.extend(events);
                let replies = handled?;
                for reply in &replies {
                    self.seal(reply)?;
                }
                self.pump_uploads()
            }
            (Phase::Resuming, _)
                if self.config.faults.has(Fault::IgnoreFrameBeforeResumeAnswer) =>
            {
                // Fault [SESS-04]: a frame before the resume's answer is
                // discarded.
                Ok(())
            }
            (_, other) => Err(Error::protocol(
                Code::UNEXPECTED_SESSION_FRAME,
                format!("unexpected {} from the primary", other.name()),
            )),
        }
    }

    fn event(&mut self, now: Instant, seq: u64, event: EventBody) -> Result<(), Error> {
        // [SYNC-12] A companion MUST close the session with
        // `unexpected_session_frame` when an event's seq is not one more
        // than the last it applied.
        // Fault [SYNC-12]: `IgnoreEventGap` applies it anyway.
        if seq != self.cache.seq + 1 && !self.config.faults.has(Fault::IgnoreEventGap) {
            return Err(Error::protocol(
                Code::UNEXPECTED_SESSION_FRAME,
                format!("event {seq} after {}", self.cache.seq),
            ));
        }
        if let EventBody::MessageAdded(message) = &event {
            self.refuse_unknown_bodies(std::slice::from_ref(message))?;
        }
        if let EventBody::Unknown { kind, .. } = &event
            && self.config.faults.has(Fault::CloseOnUnknownEventKind)
        {
            // Fault [SYNC-09]: an unknown event kind closes the session.
            return Err(Error::protocol(
                Code::MALFORMED_SESSION_FRAME,
                format!("unknown event kind {kind}"),
            ));
        }
        self.cache.apply(&event);
        self.cache.seq = seq;
        match event {
            EventBody::MessageAdded(message) => {
                self.events.push_back(CompanionEvent::MessageAdded(message))
            }
            EventBody::StatusChanged {
                message_id, status, ..
            } => self
                .events
                .push_back(CompanionEvent::StatusChanged { message_id, status }),
            EventBody::ChatUpdated(chat) => {
                self.events.push_back(CompanionEvent::ChatUpdated(chat))
            }
            EventBody::ContactUpdated(contact) => self
                .events
                .push_back(CompanionEvent::ContactUpdated(contact)),
            EventBody::ChatRead { .. } | EventBody::Unknown { .. } => {}
        }
        if let LinkState::Active {
            phase: Phase::Replaying { head },
            ..
        } = &self.link
            && seq >= *head
        {
            self.set_phase(Phase::Live);
            self.events.push_back(CompanionEvent::Synced { seq });
        }
        // [SYNC-14] A companion SHOULD acknowledge within `ACK_DELAY`, and at
        // once when it has 256 unacknowledged events.
        if self.cache.seq - self.acked >= self.config.ack_batch {
            self.send_ack()?;
        } else if self.ack_deadline.is_none() {
            self.ack_deadline = Some(now + self.config.ack_delay);
        }
        Ok(())
    }

    fn closed(&mut self, now: Instant, close: Close) -> Result<(), Error> {
        if let LinkState::Active { link_id, .. } = self.link {
            self.wire.close_link(link_id, close.code)?;
        }
        // [RECON-07] A companion that decrypts `Close(device_revoked)` or
        // `Close(unknown_device)` MUST wipe its keys, pinned primary key and
        // cache, and tell the person why.
        if [Code::DEVICE_REVOKED, Code::UNKNOWN_DEVICE, Code::UNLINKED].contains(&close.code) {
            self.link = LinkState::Detached;
            self.wipe(close.code, &close.message);
            return Ok(());
        }
        self.end_session(now, close.code);
        Ok(())
    }

    fn relay_error(
        &mut self,
        now: Instant,
        error: tandem_codec::envelope::Error,
    ) -> Result<(), Error> {
        self.events.push_back(CompanionEvent::RequestFailed {
            code: error.code,
            ref_id: error.link_id,
            message: error.message.clone(),
        });
        match error.code {
            Code::PRIMARY_OFFLINE => {
                self.drop_session(Code::PRIMARY_OFFLINE);
                if let Some(link_id) = self.link_id() {
                    self.link = LinkState::Waiting { link_id };
                }
                self.events.push_back(CompanionEvent::PrimaryOnline(false));
            }
            Code::ROUTE_FULL | Code::UNKNOWN_LINK => {
                self.drop_session(error.code);
                self.link = LinkState::Detached;
                self.schedule_retry(now);
            }
            code if self.wipes_on_relay_signal(code) => {
                // Fault [RECON-07]: an unauthenticated signal wipes.
                self.drop_session(code);
                self.link = LinkState::Detached;
                self.wipe(code, &error.message);
            }
            _ => {}
        }
        Ok(())
    }

    /// After a resume or snapshot: resend pending sends in order
    /// ([SYNC-19]) and restart transfers.
    fn resume_work(&mut self) -> Result<(), Error> {
        if self.config.faults.has(Fault::ResendWithNewClientId) && !self.outbox.pending().is_empty()
        {
            // Fault [SYNC-19]: every pending send gets a new client id.
            let mut pending = self.outbox.pending().to_vec();
            for send in &mut pending {
                send.client_id = random::array(self.rng.as_mut());
            }
            self.outbox.restore(pending);
            self.events.push_back(CompanionEvent::OutboxChanged);
        }
        // Fault [SYNC-19]: `NoResendAfterResume` sends nothing again.
        let resend = !self.config.faults.has(Fault::NoResendAfterResume);
        let frames: Vec<InnerFrame> = self
            .outbox
            .pending()
            .iter()
            .filter(|_| resend)
            .map(|p| p.frame().into())
            .collect();
        for frame in &frames {
            self.seal(frame)?;
        }
        self.start_transfers()
    }

    fn start_transfers(&mut self) -> Result<(), Error> {
        if !self.is_live() {
            return Ok(());
        }
        for frame in self.transfers.start_frames() {
            self.seal(&frame)?;
        }
        self.pump_uploads()
    }

    fn pump_uploads(&mut self) -> Result<(), Error> {
        let mut events = Vec::new();
        let frames = self.transfers.pump(&mut events);
        self.events.extend(events);
        for frame in &frames {
            self.seal(frame)?;
        }
        Ok(())
    }

    fn send_ack(&mut self) -> Result<(), Error> {
        self.ack_deadline = None;
        // Fault [SYNC-14]: `NeverAcknowledge` sends no `Ack`.
        let never = self.config.faults.has(Fault::NeverAcknowledge);
        if !never && self.cache.seq > self.acked && matches!(self.link, LinkState::Active { .. }) {
            self.acked = self.cache.seq;
            self.seal(&InnerFrame::from(Ack {
                seq: self.cache.seq,
            }))?;
        }
        Ok(())
    }

    /// Fault [SYNC-02]: with `RejectUnknownBodyKind`, a message of an
    /// unknown body kind closes the session instead of being kept.
    fn refuse_unknown_bodies(&self, messages: &[Message]) -> Result<(), Error> {
        if self.config.faults.has(Fault::RejectUnknownBodyKind)
            && let Some(kind) = messages.iter().find_map(|m| match &m.body {
                Body::Unknown { kind, .. } => Some(*kind),
                _ => None,
            })
        {
            return Err(Error::protocol(
                Code::MALFORMED_SESSION_FRAME,
                format!("unknown body kind {kind}"),
            ));
        }
        Ok(())
    }

    /// Fault [RECON-07]: with `WipeOnRelaySignal`, a relay's `LinkClosed` or
    /// `Error` with a logout code is taken for the primary's word.
    fn wipes_on_relay_signal(&self, code: Code) -> bool {
        self.config.faults.has(Fault::WipeOnRelaySignal)
            && [Code::DEVICE_REVOKED, Code::UNKNOWN_DEVICE].contains(&code)
    }

    fn set_phase(&mut self, new: Phase) {
        if let LinkState::Active { phase, .. } = &mut self.link {
            *phase = new;
        }
    }

    fn seal_live(&mut self, frame: &InnerFrame) -> Result<(), Error> {
        if !self.is_live() {
            return Err(Error::protocol(
                Code::PRIMARY_OFFLINE,
                "no live session with the primary",
            ));
        }
        self.seal(frame)
    }

    fn seal(&mut self, frame: &InnerFrame) -> Result<(), Error> {
        let LinkState::Active {
            link_id, session, ..
        } = &mut self.link
        else {
            return Ok(());
        };
        let mut out = Vec::with_capacity(1);
        session.seal(frame, &mut out)?;
        for message in out {
            self.wire.send_data(*link_id, message)?;
        }
        Ok(())
    }

    /// Ends the session with `Close(code)` and re-attaches later.
    fn close_session(&mut self, now: Instant, code: Code, reason: &str) -> Result<(), Error> {
        if let LinkState::Active { link_id, .. } = self.link {
            let close = Close {
                code,
                message: crate::error::close_reason(reason),
            };
            self.seal(&InnerFrame::from(close))?;
            self.wire.close_link(link_id, code)?;
        }
        self.end_session(now, code);
        Ok(())
    }

    fn end_session(&mut self, now: Instant, code: Code) {
        self.drop_session(code);
        self.link = LinkState::Detached;
        self.schedule_retry(now);
    }

    fn drop_session(&mut self, code: Code) {
        if matches!(
            self.link,
            LinkState::Active { .. } | LinkState::Handshaking { .. }
        ) {
            self.session_lost(code);
        }
    }

    fn session_lost(&mut self, code: Code) {
        self.transfers.session_lost();
        self.ack_deadline = None;
        self.events.push_back(CompanionEvent::SessionEnded { code });
    }

    fn schedule_retry(&mut self, now: Instant) {
        if self.wiped {
            return;
        }
        // [RECON-08] ... a random time between 0 and
        // `min(RECONNECT_MAX, RECONNECT_BASE * 2^attempt)`.
        let ceiling = self
            .config
            .retry_base
            .saturating_mul(1u32 << self.failures.min(16))
            .min(self.config.retry_max);
        self.failures = self.failures.saturating_add(1);
        let bits: [u8; 8] = random::array(self.rng.as_mut());
        let fraction = u64::from_le_bytes(bits) as f64 / u64::MAX as f64;
        self.retry_at = Some(now + ceiling.mul_f64(fraction));
    }

    fn wipe(&mut self, code: Code, reason: &str) {
        if self.wiped {
            return;
        }
        self.wiped = true;
        self.cache.clear();
        self.outbox.restore(Vec::new());
        self.retry_at = None;
        self.events.push_back(CompanionEvent::Wiped {
            code,
            reason: reason.to_owned(),
        });
    }

    fn lose_connection(&mut self, code: Code, reason: impl Into<String>) {
        self.wire.close(code, reason);
        self.handle_disconnected(Instant::ZERO);
        self.events
            .push_back(CompanionEvent::ConnectionLost { code });
    }
}
