//! The relay's routing logic as a sans-IO state machine (spec §3): pairing
//! channels, routes with proof of ownership, links, forwarding, liveness
//! notices, limits and timers. The tokio server feeds it connections and
//! frames; the protocol core's tests drive it in memory.
//!
//! Link ids are allocated from one counter for the whole relay, so that a
//! link has the same id on both of its connections and a `Data` frame is
//! forwarded as the very bytes that arrived, without re-encoding.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::IpAddr;
use std::time::Duration;

use bytes::Bytes;
use tandem_codec::Code;
use tandem_codec::envelope::{
    ChannelJoined, ChannelOpened, EnvelopeFrame, Error as ErrorFrame, LinkClosed, LinkOpened,
    PeerState, Pong, RouteAttached, RouteChallenge,
};
use tandem_proto::random::{self, Random};
use tandem_proto::{Instant, StaticKeypair, route_proof};

/// A connection's id, chosen by the driver.
pub type ConnId = u64;

/// Limits and timers of spec §10.3 and §10.4; `Default` gives the spec's
/// defaults.
#[derive(Clone, Debug)]
pub struct RouterConfig {
    /// `CHANNEL_TTL`.
    pub channel_ttl: Duration,
    /// `PAIRING_CHANNEL_MAX`.
    pub pairing_channel_max: Duration,
    /// `MAX_CHANNELS_PER_CONNECTION`.
    pub max_channels_per_connection: usize,
    /// `MAX_CHANNELS_PER_ADDRESS`.
    pub max_channels_per_address: usize,
    /// `MAX_LINKS_PER_ROUTE`.
    pub max_links_per_route: usize,
    /// `IDLE_TIMEOUT`.
    pub idle_timeout: Duration,
    /// `SETUP_TIMEOUT` (first frame after the upgrade).
    pub setup_timeout: Duration,
}

impl Default for RouterConfig {
    fn default() -> Self {
        Self {
            channel_ttl: Duration::from_secs(60),
            pairing_channel_max: Duration::from_secs(180),
            max_channels_per_connection: 2,
            max_channels_per_address: 8,
            max_links_per_route: 16,
            idle_timeout: Duration::from_secs(60),
            setup_timeout: Duration::from_secs(10),
        }
    }
}

/// What the driver must do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Send this frame on this connection.
    Send(ConnId, Bytes),
    /// Close this connection with this code (the router has already
    /// forgotten it).
    Close(ConnId, Code, String),
}

#[derive(Debug)]
enum Role {
    Fresh,
    Companion,
    Proving {
        primary_key: [u8; 32],
        ephemeral: StaticKeypair,
    },
    Primary {
        primary_key: [u8; 32],
    },
}

#[derive(Debug)]
struct Conn {
    address: IpAddr,
    role: Role,
    links: HashSet<u32>,
    channels_open: usize,
    last_received: Instant,
    received_any: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LinkKind {
    Channel([u8; 16]),
    Route([u8; 32]),
}

#[derive(Debug)]
struct Link {
    kind: LinkKind,
    companion: ConnId,
    /// The primary's connection when it is there.
    primary: Option<ConnId>,
}

#[derive(Debug)]
struct Channel {
    link_id: u32,
    deadline: Instant,
    joined: bool,
    /// The companion's address, counted against `MAX_CHANNELS_PER_ADDRESS`.
    address: IpAddr,
}

#[derive(Debug, Default)]
struct Route {
    primary: Option<ConnId>,
    links: Vec<u32>,
}

/// The relay's routing state.
pub struct Router {
    config: RouterConfig,
    rng: Box<dyn Random>,
    conns: HashMap<ConnId, Conn>,
    links: HashMap<u32, Link>,
    channels: HashMap<[u8; 16], Channel>,
    routes: HashMap<[u8; 32], Route>,
    channels_per_address: HashMap<IpAddr, usize>,
    next_link_id: u32,
    outputs: VecDeque<Output>,
}

impl Router {
    /// An empty router.
    pub fn new(config: RouterConfig, rng: Box<dyn Random>) -> Self {
        Self {
            config,
            rng,
            conns: HashMap::new(),
            links: HashMap::new(),
            channels: HashMap::new(),
            routes: HashMap::new(),
            channels_per_address: HashMap::new(),
            next_link_id: 0,
            outputs: VecDeque::new(),
        }
    }

    /// Connections open now.
    pub fn connections(&self) -> usize {
        self.conns.len()
    }

    /// Pairing channels open now.
    pub fn channels(&self) -> usize {
        self.channels.len()
    }

    /// Routes held by a primary now.
    pub fn routes(&self) -> usize {
        self.routes.values().filter(|r| r.primary.is_some()).count()
    }

    /// A WebSocket was accepted.
    pub fn connect(&mut self, now: Instant, conn: ConnId, address: IpAddr) {
        self.conns.insert(
            conn,
            Conn {
                address,
                role: Role::Fresh,
                links: HashSet::new(),
                channels_open: 0,
                last_received: now,
                received_any: false,
            },
        );
    }

    /// A WebSocket closed (by the peer or by the driver).
    pub fn disconnect(&mut self, conn: ConnId) {
        let Some(state) = self.conns.remove(&conn) else {
            return;
        };
        if let Role::Primary { primary_key } = state.role {
            self.primary_gone(conn, &primary_key);
        }
        for link_id in state.links {
            self.release_link(link_id, conn, Code::PEER_GONE);
        }
    }

    /// One binary message from a connection. Text and oversized messages
    /// are the driver's to refuse (spec §2).
    pub fn frame(&mut self, now: Instant, conn: ConnId, message: Bytes) {
        let Some(state) = self.conns.get_mut(&conn) else {
            return;
        };
        state.last_received = now;
        state.received_any = true;
        let frame = match EnvelopeFrame::decode(&message) {
            Ok(frame) => frame,
            Err(err) => {
                // [RLY-20] A relay MUST close with `malformed_frame` a
                // connection that sends a frame it cannot decode.
                return self.close(conn, Code::MALFORMED_FRAME, err.to_string());
            }
        };
        match frame {
            EnvelopeFrame::Ping(ping) => self.send(conn, Pong { nonce: ping.nonce }),
            EnvelopeFrame::Pong(_) => {}
            EnvelopeFrame::Data(data) => self.data(conn, data.link_id, message),
            EnvelopeFrame::LinkClosed(closed) => self.client_closed_link(conn, closed),
            EnvelopeFrame::OpenChannel => self.open_channel(now, conn),
            EnvelopeFrame::JoinChannel(join) => self.join_channel(now, conn, join.channel_id),
            EnvelopeFrame::AttachRoute(attach) => self.attach(conn, attach.primary_key),
            EnvelopeFrame::RegisterRoute(register) => self.register(conn, register.primary_key),
            EnvelopeFrame::RouteProof(proof) => self.proof(conn, proof.mac),
            // [ENC-10] ignorable frames are discarded.
            EnvelopeFrame::Unknown { .. } => {}
            // [RLY-21] ... with `unexpected_frame` one that sends a frame its
            // role may not send.
            other => self.close(
                conn,
                Code::UNEXPECTED_FRAME,
                format!("{} is sent by the relay only", other.name()),
            ),
        }
    }

    /// Runs the timers: channel expiry, idle and setup timeouts.
    pub fn timeout(&mut self, now: Instant) {
        let expired: Vec<[u8; 16]> = self
            .channels
            .iter()
            .filter(|(_, channel)| channel.deadline <= now)
            .map(|(&id, _)| id)
            .collect();
        for channel_id in expired {
            if let Some(channel) = self.channels.get(&channel_id) {
                let link_id = channel.link_id;
                // [RLY-04], [RLY-05] channels end with `channel_expired`.
                self.end_link(link_id, Code::CHANNEL_EXPIRED);
            }
        }
        let mut idle = Vec::new();
        for (&conn, state) in &self.conns {
            if !state.received_any
                && now.saturating_since(state.last_received) >= self.config.setup_timeout
            {
                idle.push((conn, Code::SETUP_TIMEOUT));
            } else if now.saturating_since(state.last_received) >= self.config.idle_timeout {
                idle.push((conn, Code::IDLE_TIMEOUT));
            }
        }
        for (conn, code) in idle {
            // [RLY-19] [RLY-22] idle and setup timeouts close the connection.
            self.close(conn, code, "timeout".into());
        }
    }

    /// When [`Router::timeout`] should run next.
    pub fn next_timeout(&self) -> Option<Instant> {
        let channels = self.channels.values().map(|c| c.deadline).min();
        let conns = self
            .conns
            .values()
            .map(|c| {
                let limit = if c.received_any {
                    self.config.idle_timeout
                } else {
                    self.config.setup_timeout
                };
                c.last_received + limit
            })
            .min();
        [channels, conns].into_iter().flatten().min()
    }

    /// The next output.
    pub fn poll(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// Closes a connection for the driver's own reasons (slow consumer,
    /// shutdown, capacity): the router forgets it and says so.
    pub fn close(&mut self, conn: ConnId, code: Code, reason: String) {
        if self.conns.contains_key(&conn) {
            self.disconnect(conn);
            self.outputs.push_back(Output::Close(conn, code, reason));
        }
    }

    fn send(&mut self, conn: ConnId, frame: impl Into<EnvelopeFrame>) {
        match frame.into().to_bytes() {
            Ok(bytes) => self.outputs.push_back(Output::Send(conn, bytes)),
            Err(err) => {
                self.outputs
                    .push_back(Output::Close(conn, Code::INTERNAL_ERROR, err.to_string()))
            }
        }
    }

    fn error(&mut self, conn: ConnId, code: Code, link_id: u32, message: &str) {
        self.send(
            conn,
            ErrorFrame {
                code,
                link_id,
                message: message.to_owned(),
            },
        );
    }

    fn allocate_link(&mut self) -> u32 {
        loop {
            self.next_link_id = self.next_link_id.wrapping_add(1);
            if self.next_link_id != 0 && !self.links.contains_key(&self.next_link_id) {
                return self.next_link_id;
            }
        }
    }

    fn role_allows(&mut self, conn: ConnId, companion_frame: bool) -> bool {
        let Some(state) = self.conns.get_mut(&conn) else {
            return false;
        };
        match (&state.role, companion_frame) {
            (Role::Fresh, true) => {
                state.role = Role::Companion;
                true
            }
            (Role::Companion, true) => true,
            (Role::Fresh | Role::Primary { .. }, false) => true,
            _ => {
                // [RLY-10] A connection MUST NOT both hold a route and attach
                // to one or open a channel.
                self.close(
                    conn,
                    Code::UNEXPECTED_FRAME,
                    "frame not allowed for this connection's role".into(),
                );
                false
            }
        }
    }

    fn open_channel(&mut self, now: Instant, conn: ConnId) {
        if !self.role_allows(conn, true) {
            return;
        }
        let Some(state) = self.conns.get(&conn) else {
            return;
        };
        let address = state.address;
        let per_address = self
            .channels_per_address
            .get(&address)
            .copied()
            .unwrap_or(0);
        // [RLY-06] limits on channels per connection and per address.
        if state.channels_open >= self.config.max_channels_per_connection
            || per_address >= self.config.max_channels_per_address
        {
            return self.error(
                conn,
                Code::TOO_MANY_CHANNELS,
                0,
                "too many pairing channels",
            );
        }
        // [RLY-01] a fresh random channel id from a CSPRNG.
        let channel_id: [u8; 16] = random::array(self.rng.as_mut());
        let link_id = self.allocate_link();
        self.links.insert(
            link_id,
            Link {
                kind: LinkKind::Channel(channel_id),
                companion: conn,
                primary: None,
            },
        );
        self.channels.insert(
            channel_id,
            Channel {
                link_id,
                deadline: now + self.config.channel_ttl,
                joined: false,
                address,
            },
        );
        *self.channels_per_address.entry(address).or_default() += 1;
        if let Some(state) = self.conns.get_mut(&conn) {
            state.channels_open += 1;
            state.links.insert(link_id);
        }
        let ttl_ms = u32::try_from(self.config.channel_ttl.as_millis()).unwrap_or(u32::MAX);
        self.send(
            conn,
            ChannelOpened {
                channel_id,
                link_id,
                ttl_ms,
            },
        );
    }

    fn join_channel(&mut self, now: Instant, conn: ConnId, channel_id: [u8; 16]) {
        if !self.role_allows(conn, false) {
            return;
        }
        let Some(channel) = self.channels.get_mut(&channel_id) else {
            // [RLY-03] An unknown or expired channel gets `unknown_channel`.
            return self.error(conn, Code::UNKNOWN_CHANNEL, 0, "no such pairing channel");
        };
        if channel.joined {
            // [RLY-02] at most one primary per channel.
            return self.error(
                conn,
                Code::CHANNEL_TAKEN,
                0,
                "the channel was already joined",
            );
        }
        channel.joined = true;
        channel.deadline = channel.deadline.max(now)
            + self
                .config
                .pairing_channel_max
                .saturating_sub(self.config.channel_ttl);
        let link_id = channel.link_id;
        let Some(link) = self.links.get_mut(&link_id) else {
            return;
        };
        link.primary = Some(conn);
        let companion = link.companion;
        if let Some(state) = self.conns.get_mut(&conn) {
            state.links.insert(link_id);
        }
        self.send(
            conn,
            ChannelJoined {
                channel_id,
                link_id,
            },
        );
        self.send(
            companion,
            PeerState {
                link_id,
                online: true,
            },
        );
    }

    fn attach(&mut self, conn: ConnId, primary_key: [u8; 32]) {
        if !self.role_allows(conn, true) {
            return;
        }
        let route = self.routes.entry(primary_key).or_default();
        // [RLY-12] at most `MAX_LINKS_PER_ROUTE` attachments.
        if route.links.len() >= self.config.max_links_per_route {
            return self.error(
                conn,
                Code::ROUTE_FULL,
                0,
                "too many companions attached to this route",
            );
        }
        let primary = route.primary;
        let link_id = self.allocate_link();
        self.links.insert(
            link_id,
            Link {
                kind: LinkKind::Route(primary_key),
                companion: conn,
                primary,
            },
        );
        self.routes
            .entry(primary_key)
            .or_default()
            .links
            .push(link_id);
        if let Some(state) = self.conns.get_mut(&conn) {
            state.links.insert(link_id);
        }
        // [RLY-11] attachments are accepted while the primary is offline.
        self.send(
            conn,
            RouteAttached {
                link_id,
                primary_online: primary.is_some(),
            },
        );
        if let Some(primary) = primary {
            if let Some(state) = self.conns.get_mut(&primary) {
                state.links.insert(link_id);
            }
            // [RLY-13] `LinkOpened` for each attached companion.
            self.send(primary, LinkOpened { link_id });
        }
    }

    fn register(&mut self, conn: ConnId, primary_key: [u8; 32]) {
        let Some(state) = self.conns.get_mut(&conn) else {
            return;
        };
        if !matches!(state.role, Role::Fresh) || !state.links.is_empty() {
            return self.close(
                conn,
                Code::UNEXPECTED_FRAME,
                "RegisterRoute on a connection with a role".into(),
            );
        }
        // [RLY-07] a fresh ephemeral key for every attempt.
        let ephemeral = StaticKeypair::generate(self.rng.as_mut());
        let relay_ephemeral = ephemeral.public().0;
        state.role = Role::Proving {
            primary_key,
            ephemeral,
        };
        self.send(conn, RouteChallenge { relay_ephemeral });
    }

    fn proof(&mut self, conn: ConnId, mac: [u8; 32]) {
        let Some(state) = self.conns.get_mut(&conn) else {
            return;
        };
        let Role::Proving {
            primary_key,
            ephemeral,
        } = &state.role
        else {
            return self.close(
                conn,
                Code::UNEXPECTED_FRAME,
                "RouteProof without a challenge".into(),
            );
        };
        let primary_key = *primary_key;
        // [RLY-08] The relay MUST close with `route_proof_failed` if the MACs
        // differ or the shared secret is all zeros.
        if !route_proof::verify(ephemeral, &primary_key, &mac) {
            return self.close(conn, Code::ROUTE_PROOF_FAILED, "route proof failed".into());
        }
        state.role = Role::Primary { primary_key };
        let previous = self.routes.get(&primary_key).and_then(|r| r.primary);
        if let Some(old) = previous {
            // [RLY-09] the old holder is closed with `route_replaced`.
            self.close(
                old,
                Code::ROUTE_REPLACED,
                "the route was registered by a newer connection".into(),
            );
        }
        let route = self.routes.entry(primary_key).or_default();
        route.primary = Some(conn);
        let links = route.links.clone();
        self.send(conn, tandem_codec::envelope::EnvelopeFrame::RouteRegistered);
        for link_id in links {
            let Some(link) = self.links.get_mut(&link_id) else {
                continue;
            };
            link.primary = Some(conn);
            let companion = link.companion;
            if let Some(state) = self.conns.get_mut(&conn) {
                state.links.insert(link_id);
            }
            self.send(conn, LinkOpened { link_id });
            self.send(
                companion,
                PeerState {
                    link_id,
                    online: true,
                },
            );
        }
    }

    fn data(&mut self, conn: ConnId, link_id: u32, message: Bytes) {
        let Some(link) = self.links.get(&link_id) else {
            // [RLY-15] `Data` for a link id the sender does not own.
            return self.error(conn, Code::UNKNOWN_LINK, link_id, "no such link");
        };
        let target = if link.companion == conn {
            link.primary
        } else if link.primary == Some(conn) {
            Some(link.companion)
        } else {
            return self.error(conn, Code::UNKNOWN_LINK, link_id, "not your link");
        };
        match target {
            // [RLY-14] forwarded unchanged, in order, without duplication.
            Some(target) => self.outputs.push_back(Output::Send(target, message)),
            // [RLY-16] `Data` from a companion whose primary is offline.
            None => self.error(
                conn,
                Code::PRIMARY_OFFLINE,
                link_id,
                "the primary is offline",
            ),
        }
    }

    fn client_closed_link(&mut self, conn: ConnId, closed: LinkClosed) {
        let owned = self
            .links
            .get(&closed.link_id)
            .is_some_and(|link| link.companion == conn || link.primary == Some(conn));
        if !owned {
            return self.error(conn, Code::UNKNOWN_LINK, closed.link_id, "no such link");
        }
        self.release_link(closed.link_id, conn, closed.code);
    }

    /// Ends a link from the relay's side: both ends are told.
    fn end_link(&mut self, link_id: u32, code: Code) {
        let Some(link) = self.links.get(&link_id) else {
            return;
        };
        let companion = link.companion;
        let primary = link.primary;
        self.forget_link(link_id);
        self.send(companion, LinkClosed { link_id, code });
        if let Some(primary) = primary {
            self.send(primary, LinkClosed { link_id, code });
        }
    }

    /// A link ends because `from` closed it or went away: the other end is
    /// told ([RLY-18]).
    fn release_link(&mut self, link_id: u32, from: ConnId, code: Code) {
        let Some(link) = self.links.get(&link_id) else {
            return;
        };
        let other = if link.companion == from {
            link.primary
        } else {
            Some(link.companion)
        };
        self.forget_link(link_id);
        if let Some(other) = other {
            self.send(other, LinkClosed { link_id, code });
        }
    }

    fn forget_link(&mut self, link_id: u32) {
        let Some(link) = self.links.remove(&link_id) else {
            return;
        };
        for conn in [Some(link.companion), link.primary].into_iter().flatten() {
            if let Some(state) = self.conns.get_mut(&conn) {
                state.links.remove(&link_id);
            }
        }
        match link.kind {
            LinkKind::Channel(channel_id) => {
                if let Some(channel) = self.channels.remove(&channel_id) {
                    if let Some(count) = self.channels_per_address.get_mut(&channel.address) {
                        *count = count.saturating_sub(1);
                        if *count == 0 {
                            self.channels_per_address.remove(&channel.address);
                        }
                    }
                }
                if let Some(state) = self.conns.get_mut(&link.companion) {
                    state.channels_open = state.channels_open.saturating_sub(1);
                }
            }
            LinkKind::Route(primary_key) => {
                if let Some(route) = self.routes.get_mut(&primary_key) {
                    route.links.retain(|&l| l != link_id);
                    if route.links.is_empty() && route.primary.is_none() {
                        self.routes.remove(&primary_key);
                    }
                }
            }
        }
    }

    /// The primary of a route went away: its companions learn it is
    /// offline ([RLY-17]); channels it joined end.
    fn primary_gone(&mut self, conn: ConnId, primary_key: &[u8; 32]) {
        let Some(route) = self.routes.get_mut(primary_key) else {
            return;
        };
        if route.primary != Some(conn) {
            return;
        }
        route.primary = None;
        let links = route.links.clone();
        if links.is_empty() {
            self.routes.remove(primary_key);
        }
        for link_id in links {
            let Some(link) = self.links.get_mut(&link_id) else {
                continue;
            };
            link.primary = None;
            let companion = link.companion;
            self.send(
                companion,
                PeerState {
                    link_id,
                    online: false,
                },
            );
        }
    }
}

/// Counts what the router holds, for metrics and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Census {
    /// Connections.
    pub connections: usize,
    /// Channels.
    pub channels: usize,
    /// Registered routes.
    pub routes: usize,
}

impl Router {
    /// What the router holds now.
    pub fn census(&self) -> Census {
        Census {
            connections: self.connections(),
            channels: self.channels(),
            routes: self.routes(),
        }
    }
}
