//! The relay's routing logic as a sans-IO state machine (spec §3): pairing
//! channels, routes with proof of ownership, links, forwarding, liveness
//! notices, limits and timers. The tokio server feeds it connections and
//! frames; the protocol core's tests drive it in memory.
//!
//! Link ids are allocated from one counter for the whole relay, so that a
//! link has the same id on both of its connections and a `Data` frame is
//! forwarded as the very bytes that arrived, without re-encoding.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
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

/// `Data`'s type byte (spec §3.2).
const DATA: u8 = 0x0E;

/// A hasher for ids the relay allocates itself (connection and link ids):
/// no client chooses them, so the hash need not resist collisions made on
/// purpose, and a multiply is much cheaper than SipHash on the forwarding
/// path. Maps keyed by client-chosen values (primary keys, addresses)
/// keep the default hasher.
#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        // Fibonacci hashing; the high bits, which hashbrown uses, mix well.
        self.0 = (self.0 ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// A `HashMap` keyed by a relay-allocated id.
pub(crate) type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

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
    links: HashSet<u32, BuildHasherDefault<IdHasher>>,
    channels_open: usize,
    /// The last frame received from, or forwarded to, this connection.
    last_received: Instant,
    received_any: bool,
    /// The deadline of this connection's entry in the timer heap.
    armed: Instant,
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
    /// The deadline of this channel's entry in the timer heap.
    armed: Instant,
}

/// What a timer-heap entry is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum TimerKey {
    Conn(ConnId),
    Channel([u8; 16]),
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
    conns: IdMap<ConnId, Conn>,
    links: IdMap<u32, Link>,
    channels: HashMap<[u8; 16], Channel>,
    routes: HashMap<[u8; 32], Route>,
    channels_per_address: HashMap<IpAddr, usize>,
    next_link_id: u32,
    outputs: VecDeque<Output>,
    /// Deadlines, earliest first. An entry may be stale: it is checked
    /// against its connection or channel when it comes due, and re-armed
    /// at the real deadline if that moved later. Frames therefore cost no
    /// heap operation, and [`Router::timeout`] and [`Router::next_timeout`]
    /// do not scan every connection.
    timers: BinaryHeap<Reverse<(Instant, TimerKey)>>,
}

impl Router {
    /// An empty router.
    pub fn new(config: RouterConfig, rng: Box<dyn Random>) -> Self {
        Self {
            config,
            rng,
            conns: IdMap::default(),
            links: IdMap::default(),
            channels: HashMap::new(),
            routes: HashMap::new(),
            channels_per_address: HashMap::new(),
            next_link_id: 0,
            outputs: VecDeque::new(),
            timers: BinaryHeap::new(),
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
    ///
    /// `now` is when the relay accepted the TCP connection: `SETUP_TIMEOUT`
    /// runs from then ([RLY-22]).
    pub fn connect(&mut self, now: Instant, conn: ConnId, address: IpAddr) {
        let mut state = Conn {
            address,
            role: Role::Fresh,
            links: HashSet::default(),
            channels_open: 0,
            last_received: now,
            received_any: false,
            armed: now,
        };
        state.armed = self.conn_deadline(&state);
        self.timers
            .push(Reverse((state.armed, TimerKey::Conn(conn))));
        self.conns.insert(conn, state);
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
        if !state.received_any {
            state.received_any = true;
            // The deadline only moves later, unless `IDLE_TIMEOUT` was
            // configured shorter than `SETUP_TIMEOUT`.
            let deadline = now + self.config.idle_timeout;
            if deadline < state.armed {
                state.armed = deadline;
                self.timers.push(Reverse((deadline, TimerKey::Conn(conn))));
            }
        }
        // The forwarding path: a well-formed `Data` frame is routed from its
        // header alone, by the same rules as the codec's decoder (a
        // non-zero link id, 1 to 65,535 payload bytes; spec §3.2), so that
        // the payload is never looked at. Anything else is decoded.
        if let Some(link_id) = data_link_id(&message) {
            return self.data(now, conn, link_id, message);
        }
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
            EnvelopeFrame::Data(data) => self.data(now, conn, data.link_id, message),
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

    /// Runs the timers: channel expiry, idle and setup timeouts. Calling
    /// it early, or more often than needed, is harmless.
    pub fn timeout(&mut self, now: Instant) {
        while let Some(&Reverse((due, key))) = self.timers.peek() {
            if due > now {
                break;
            }
            self.timers.pop();
            match key {
                TimerKey::Conn(conn) => self.conn_due(now, due, conn),
                TimerKey::Channel(channel_id) => self.channel_due(now, due, channel_id),
            }
        }
    }

    /// When [`Router::timeout`] should run next (possibly earlier than
    /// anything expires, never later).
    pub fn next_timeout(&self) -> Option<Instant> {
        self.timers.peek().map(|Reverse((due, _))| *due)
    }

    /// When a connection's setup or idle timer expires.
    fn conn_deadline(&self, state: &Conn) -> Instant {
        let limit = if state.received_any {
            self.config.idle_timeout
        } else {
            self.config.setup_timeout.min(self.config.idle_timeout)
        };
        state.last_received + limit
    }

    fn conn_due(&mut self, now: Instant, due: Instant, conn: ConnId) {
        let Some(state) = self.conns.get(&conn) else {
            return;
        };
        if state.armed != due {
            // A stale entry: a newer one is in the heap.
            return;
        }
        let deadline = self.conn_deadline(state);
        if deadline > now {
            if let Some(state) = self.conns.get_mut(&conn) {
                state.armed = deadline;
            }
            self.timers.push(Reverse((deadline, TimerKey::Conn(conn))));
            return;
        }
        let code = if !state.received_any
            && now.saturating_since(state.last_received) >= self.config.setup_timeout
        {
            Code::SETUP_TIMEOUT
        } else {
            Code::IDLE_TIMEOUT
        };
        // [RLY-19] [RLY-22] idle and setup timeouts close the connection.
        self.close(conn, code, "timeout".into());
    }

    fn channel_due(&mut self, now: Instant, due: Instant, channel_id: [u8; 16]) {
        let Some(channel) = self.channels.get_mut(&channel_id) else {
            return;
        };
        if channel.armed != due {
            return;
        }
        if channel.deadline > now {
            // Joining moved the deadline to `PAIRING_CHANNEL_MAX`.
            channel.armed = channel.deadline;
            let deadline = channel.deadline;
            self.timers
                .push(Reverse((deadline, TimerKey::Channel(channel_id))));
            return;
        }
        let link_id = channel.link_id;
        // [RLY-04], [RLY-05] channels end with `channel_expired`.
        self.end_link(link_id, Code::CHANNEL_EXPIRED);
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
        let deadline = now + self.config.channel_ttl;
        self.channels.insert(
            channel_id,
            Channel {
                link_id,
                deadline,
                joined: false,
                address,
                armed: deadline,
            },
        );
        self.timers
            .push(Reverse((deadline, TimerKey::Channel(channel_id))));
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

    fn data(&mut self, now: Instant, conn: ConnId, link_id: u32, message: Bytes) {
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
            Some(target) => {
                // [RLY-19] Traffic either way keeps a connection from being
                // idle: a client that only receives is not idle.
                if let Some(state) = self.conns.get_mut(&target) {
                    state.last_received = now;
                }
                self.outputs.push_back(Output::Send(target, message));
            }
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
        if link.companion != from && link.primary != Some(from) {
            // `from` is no longer an end of it: a route's link outlives its
            // primary's connection, and the companion stays attached
            // ([RLY-17]: it learns `PeerState(online = false)` instead).
            return;
        }
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
                if let Some(channel) = self.channels.remove(&channel_id)
                    && let Some(count) = self.channels_per_address.get_mut(&channel.address)
                {
                    *count = count.saturating_sub(1);
                    if *count == 0 {
                        self.channels_per_address.remove(&channel.address);
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

/// The link id of a well-formed `Data` frame, or `None` for any other
/// frame (which the decoder then judges).
fn data_link_id(message: &[u8]) -> Option<u32> {
    match message {
        [DATA, a, b, c, d, payload @ ..]
            if !payload.is_empty() && payload.len() <= tandem_codec::limits::MAX_NOISE_MESSAGE =>
        {
            let link_id = u32::from_be_bytes([*a, *b, *c, *d]);
            (link_id != 0).then_some(link_id)
        }
        _ => None,
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::net::Ipv4Addr;

    use tandem_codec::envelope::{AttachRoute, Data, Ping, RegisterRoute, RouteProof};
    use tandem_proto::random::SeededRandom;

    use super::*;

    const ADDR: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    fn at(ms: u64) -> Instant {
        Instant::from_micros(ms * 1_000)
    }

    fn router() -> Router {
        Router::new(RouterConfig::default(), Box::new(SeededRandom::new(1)))
    }

    fn frame(router: &mut Router, now: Instant, conn: ConnId, frame: impl Into<EnvelopeFrame>) {
        router.frame(now, conn, frame.into().to_bytes().unwrap());
    }

    fn outputs(router: &mut Router) -> Vec<Output> {
        std::iter::from_fn(|| router.poll()).collect()
    }

    fn decoded(output: &Output) -> EnvelopeFrame {
        match output {
            Output::Send(_, bytes) => EnvelopeFrame::decode(bytes).unwrap(),
            Output::Close(..) => panic!("a close"),
        }
    }

    #[test]
    fn the_data_fast_path_agrees_with_the_decoder() {
        let mut cases: Vec<Vec<u8>> = vec![
            vec![DATA],
            vec![DATA, 0, 0, 0, 1],
            vec![DATA, 0, 0, 0, 0, 7],
            vec![DATA, 0, 0, 0, 1, 7],
            vec![DATA, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3],
            vec![0x0F, 0, 0, 0, 1, 7],
        ];
        let mut max = vec![DATA, 0, 0, 1, 0];
        max.resize(5 + 65_535, 9);
        cases.push(max.clone());
        max.push(9);
        cases.push(max);
        for case in cases {
            let bytes = Bytes::from(case);
            let decoded = match EnvelopeFrame::decode(&bytes) {
                Ok(EnvelopeFrame::Data(data)) => Some(data.link_id),
                _ => None,
            };
            assert_eq!(
                data_link_id(&bytes),
                decoded,
                "{:?}",
                &bytes[..bytes.len().min(8)]
            );
        }
    }

    #[test]
    fn setup_and_idle_deadlines_follow_the_last_frame() {
        let mut r = router();
        r.connect(at(0), 1, ADDR);
        r.connect(at(0), 2, ADDR);
        assert_eq!(r.next_timeout(), Some(at(10_000)));
        frame(&mut r, at(5_000), 1, Ping { nonce: 1 });
        outputs(&mut r);
        // The stale entry fires early, is re-armed, and closes nothing.
        r.timeout(at(10_000));
        assert_eq!(
            outputs(&mut r),
            [Output::Close(2, Code::SETUP_TIMEOUT, "timeout".into())]
        );
        assert_eq!(r.next_timeout(), Some(at(65_000)));
        r.timeout(at(64_999));
        assert!(outputs(&mut r).is_empty());
        r.timeout(at(65_000));
        assert_eq!(
            outputs(&mut r),
            [Output::Close(1, Code::IDLE_TIMEOUT, "timeout".into())]
        );
        assert_eq!(r.next_timeout(), None);
    }

    #[test]
    fn a_joined_channel_lives_until_pairing_channel_max() {
        let mut r = router();
        r.connect(at(0), 1, ADDR);
        r.connect(at(0), 2, ADDR);
        frame(&mut r, at(0), 1, EnvelopeFrame::OpenChannel);
        let EnvelopeFrame::ChannelOpened(opened) = decoded(&outputs(&mut r)[0]) else {
            panic!("expected ChannelOpened");
        };
        frame(
            &mut r,
            at(30_000),
            2,
            tandem_codec::envelope::JoinChannel {
                channel_id: opened.channel_id,
            },
        );
        outputs(&mut r);
        // Keep both connections alive past the channel's first deadline.
        for t in [50_000, 100_000, 150_000] {
            frame(&mut r, at(t), 1, Ping { nonce: 1 });
            frame(&mut r, at(t), 2, Ping { nonce: 1 });
            r.timeout(at(t));
        }
        outputs(&mut r);
        r.timeout(at(179_999));
        assert!(outputs(&mut r).is_empty());
        r.timeout(at(180_000));
        let closed = outputs(&mut r);
        assert_eq!(closed.len(), 2);
        assert!(closed.iter().all(|o| {
            decoded(o)
                == LinkClosed {
                    link_id: opened.link_id,
                    code: Code::CHANNEL_EXPIRED,
                }
                .into()
        }));
    }

    #[test]
    fn a_primary_that_goes_away_leaves_its_companions_attached() {
        let mut r = router();
        let key = StaticKeypair::generate(&mut SeededRandom::new(9));
        let primary_key = key.public().0;
        r.connect(at(0), 1, ADDR);
        r.connect(at(0), 2, ADDR);
        frame(&mut r, at(1), 2, AttachRoute { primary_key });
        frame(&mut r, at(1), 1, RegisterRoute { primary_key });
        let out = outputs(&mut r);
        let EnvelopeFrame::RouteChallenge(challenge) = decoded(&out[1]) else {
            panic!("expected RouteChallenge");
        };
        let mac = route_proof::prove(&key, &challenge.relay_ephemeral).unwrap();
        frame(&mut r, at(2), 1, RouteProof { mac });
        outputs(&mut r);
        r.disconnect(1);
        let out = outputs(&mut r);
        // [RLY-17] offline, and no LinkClosed: the attachment stays.
        assert_eq!(out.len(), 1);
        assert_eq!(
            decoded(&out[0]),
            PeerState {
                link_id: 1,
                online: false
            }
            .into()
        );
        assert_eq!(r.census().routes, 0);
        frame(
            &mut r,
            at(3),
            2,
            Data {
                link_id: 1,
                payload: Bytes::from_static(b"x"),
            },
        );
        assert!(matches!(decoded(&outputs(&mut r)[0]),
            EnvelopeFrame::Error(e) if e.code == Code::PRIMARY_OFFLINE));
    }
}
