//! A deterministic in-memory network for protocol tests: one primary, any
//! number of companions, the relay's real routing logic, and a virtual
//! clock. Nothing here touches a socket or sleeps; time moves only when a
//! test moves it, jumping straight to the next timer.

#![allow(dead_code, unreachable_pub)]

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use bytes::Bytes;
use tandem_proto::companion::pairing::{Pairing, PairingConfig, PairingEvent};
use tandem_proto::companion::{Companion, CompanionConfig, CompanionEvent, Credentials};
use tandem_proto::primary::{Primary, PrimaryConfig, PrimaryEvent};
use tandem_proto::random::SeededRandom;
use tandem_proto::store::{CompanionRecord, MemoryStore};
use tandem_proto::{Instant, StaticKeypair, Transmit};
use tandem_relay::router::{ConnId, Output, Router, RouterConfig};

/// Where a frame goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Endpoint {
    Primary,
    Companion(usize),
    Pairing(usize),
    Raw(usize),
}

pub struct PairingSlot {
    pub machine: Pairing,
    pub conn: Option<ConnId>,
    pub events: Vec<PairingEvent>,
}

pub struct CompanionSlot {
    pub machine: Companion,
    pub conn: Option<ConnId>,
    pub events: Vec<CompanionEvent>,
    /// Reconnect automatically when the connection is lost.
    pub auto_reconnect: bool,
}

/// Faults a malicious relay or a broken network injects into `Data`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Faults {
    /// Per mille of relay-bound `Data` frames dropped.
    pub drop_per_mille: u32,
    /// Per mille duplicated.
    pub duplicate_per_mille: u32,
}

pub struct Net {
    pub now: Instant,
    pub router: Router,
    pub primary: Option<Primary<MemoryStore>>,
    pub primary_identity: StaticKeypair,
    pub primary_config: PrimaryConfig,
    pub primary_conn: Option<ConnId>,
    pub primary_events: Vec<PrimaryEvent>,
    pub companions: Vec<CompanionSlot>,
    pub pairings: Vec<PairingSlot>,
    /// Hand-driven clients: what the relay sent each, in order.
    pub raw: Vec<(ConnId, Vec<Bytes>)>,
    pub faults: Faults,
    rng: SeededRandom,
    next_conn: ConnId,
    to_router: VecDeque<(ConnId, Bytes)>,
    pub frames_delivered: u64,
}

impl Net {
    /// A network with a primary (not connected yet) and its store.
    pub fn new(seed: u64, primary_config: PrimaryConfig, store: MemoryStore) -> Self {
        let mut rng = SeededRandom::new(seed);
        let primary_identity = StaticKeypair::generate(&mut rng);
        let router = Router::new(
            RouterConfig::default(),
            Box::new(SeededRandom::new(seed ^ 0xA5A5)),
        );
        let primary = Primary::new(primary_config.clone(), primary_identity.clone(), store);
        Self {
            now: Instant::from_micros(1_000_000),
            router,
            primary: Some(primary),
            primary_identity,
            primary_config,
            primary_conn: None,
            primary_events: Vec::new(),
            companions: Vec::new(),
            pairings: Vec::new(),
            raw: Vec::new(),
            faults: Faults::default(),
            rng,
            next_conn: 1,
            to_router: VecDeque::new(),
            frames_delivered: 0,
        }
    }

    pub fn primary(&mut self) -> &mut Primary<MemoryStore> {
        self.primary.as_mut().expect("the primary is running")
    }

    pub fn store(&self) -> &MemoryStore {
        self.primary
            .as_ref()
            .expect("the primary is running")
            .store()
    }

    /// Adds a companion that is already linked (as after pairing).
    pub fn add_linked_companion(&mut self, name: &str) -> usize {
        let identity = StaticKeypair::generate(&mut self.rng);
        let record = CompanionRecord {
            key: identity.public(),
            device_name: name.to_owned(),
            linked_at_ms: 0,
            last_seen_ms: 0,
            cursor: 0,
        };
        self.primary().link_for_testing(record).expect("link");
        let credentials = Credentials {
            identity,
            primary_key: self.primary_identity.public(),
            account_name: "test".into(),
        };
        self.add_companion(credentials)
    }

    pub fn add_companion(&mut self, credentials: Credentials) -> usize {
        let seed = self.rng.next_u64();
        let machine = Companion::new(
            CompanionConfig::default(),
            credentials,
            Box::new(SeededRandom::new(seed)),
        );
        self.companions.push(CompanionSlot {
            machine,
            conn: None,
            events: Vec::new(),
            auto_reconnect: true,
        });
        self.companions.len() - 1
    }

    /// Adds a companion that wants to pair, and connects it.
    pub fn start_pairing(&mut self, config: PairingConfig) -> usize {
        let identity = StaticKeypair::generate(&mut self.rng);
        let seed = self.rng.next_u64();
        let machine = Pairing::new(config, identity, Box::new(SeededRandom::new(seed)));
        let conn = self.new_conn();
        self.pairings.push(PairingSlot {
            machine,
            conn: Some(conn),
            events: Vec::new(),
        });
        let i = self.pairings.len() - 1;
        let now = self.now;
        self.pairings[i]
            .machine
            .handle_connected(now)
            .expect("connect");
        self.drive();
        i
    }

    /// Connects a client that a test drives by hand.
    pub fn add_raw(&mut self) -> usize {
        let conn = self.new_conn();
        self.raw.push((conn, Vec::new()));
        self.raw.len() - 1
    }

    /// Sends an envelope frame from a hand-driven client.
    pub fn raw_send(&mut self, i: usize, frame: impl Into<tandem_codec::envelope::EnvelopeFrame>) {
        let bytes = frame.into().to_bytes().expect("encodable");
        self.raw_send_bytes(i, bytes);
    }

    /// Sends raw bytes from a hand-driven client.
    pub fn raw_send_bytes(&mut self, i: usize, bytes: Bytes) {
        let conn = self.raw[i].0;
        self.to_router.push_back((conn, bytes));
        self.drive();
    }

    /// Takes what the relay sent a hand-driven client, decoded.
    pub fn raw_take(&mut self, i: usize) -> Vec<tandem_codec::envelope::EnvelopeFrame> {
        std::mem::take(&mut self.raw[i].1)
            .into_iter()
            .map(|b| {
                tandem_codec::envelope::EnvelopeFrame::decode(&b).expect("relay frames decode")
            })
            .collect()
    }

    fn new_conn(&mut self) -> ConnId {
        let conn = self.next_conn;
        self.next_conn += 1;
        self.router
            .connect(self.now, conn, IpAddr::V4(Ipv4Addr::LOCALHOST));
        conn
    }

    pub fn connect_primary(&mut self) {
        let conn = self.new_conn();
        self.primary_conn = Some(conn);
        let now = self.now;
        self.primary().handle_connected(now).expect("connect");
        self.drive();
    }

    pub fn connect_companion(&mut self, i: usize) {
        let conn = self.new_conn();
        self.companions[i].conn = Some(conn);
        let now = self.now;
        self.companions[i]
            .machine
            .handle_connected(now)
            .expect("connect");
        self.drive();
    }

    /// Cuts the primary's connection, as a network failure would.
    pub fn cut_primary(&mut self) {
        if let Some(conn) = self.primary_conn.take() {
            self.router.disconnect(conn);
            let now = self.now;
            if let Some(primary) = self.primary.as_mut() {
                primary.handle_disconnected(now);
            }
            self.drive();
        }
    }

    pub fn cut_companion(&mut self, i: usize) {
        if let Some(conn) = self.companions[i].conn.take() {
            self.router.disconnect(conn);
            let now = self.now;
            self.companions[i].machine.handle_disconnected(now);
            self.drive();
        }
    }

    /// Restarts the primary: everything but its store is lost.
    pub fn restart_primary(&mut self) {
        self.cut_primary();
        let store = self.primary.take().expect("running").into_store();
        self.primary = Some(Primary::new(
            self.primary_config.clone(),
            self.primary_identity.clone(),
            store,
        ));
        self.connect_primary();
    }

    /// Restarts a companion: it keeps its credentials and its persisted
    /// queue of pending sends, nothing else (brief: no message history).
    pub fn restart_companion(&mut self, i: usize) {
        self.cut_companion(i);
        let credentials = self.companions[i].machine.credentials().clone();
        let pending = self.companions[i].machine.outbox().pending().to_vec();
        let seed = self.rng.next_u64();
        let mut machine = Companion::new(
            CompanionConfig::default(),
            credentials,
            Box::new(SeededRandom::new(seed)),
        );
        machine.restore_outbox(pending);
        self.companions[i].machine = machine;
        self.connect_companion(i);
    }

    /// Moves frames until nothing is left to move.
    pub fn drive(&mut self) {
        for _ in 0..1_000_000 {
            if !self.step() {
                return;
            }
        }
        panic!("the network did not go quiet");
    }

    /// One round: client transmits to the router, router outputs to
    /// clients. Returns whether anything moved.
    pub fn step(&mut self) -> bool {
        let mut moved = false;
        // Clients → router.
        if let (Some(primary), Some(conn)) = (self.primary.as_mut(), self.primary_conn) {
            while let Some(transmit) = primary.poll_transmit() {
                moved = true;
                match transmit {
                    Transmit::Frame(bytes) => self.to_router.push_back((conn, bytes)),
                    Transmit::Close { .. } => {
                        self.router.disconnect(conn);
                        self.primary_conn = None;
                        break;
                    }
                }
            }
        }
        for i in 0..self.companions.len() {
            let Some(conn) = self.companions[i].conn else {
                continue;
            };
            while let Some(transmit) = self.companions[i].machine.poll_transmit() {
                moved = true;
                match transmit {
                    Transmit::Frame(bytes) => self.to_router.push_back((conn, bytes)),
                    Transmit::Close { .. } => {
                        self.router.disconnect(conn);
                        self.companions[i].conn = None;
                        break;
                    }
                }
            }
        }
        for i in 0..self.pairings.len() {
            let Some(conn) = self.pairings[i].conn else {
                continue;
            };
            while let Some(transmit) = self.pairings[i].machine.poll_transmit() {
                moved = true;
                match transmit {
                    Transmit::Frame(bytes) => self.to_router.push_back((conn, bytes)),
                    Transmit::Close { .. } => {
                        self.router.disconnect(conn);
                        self.pairings[i].conn = None;
                        break;
                    }
                }
            }
        }
        while let Some((conn, bytes)) = self.to_router.pop_front() {
            moved = true;
            let is_data = bytes.first() == Some(&0x0E);
            if is_data && self.chance(self.faults.drop_per_mille) {
                continue;
            }
            if is_data && self.chance(self.faults.duplicate_per_mille) {
                self.router.frame(self.now, conn, bytes.clone());
            }
            self.router.frame(self.now, conn, bytes);
        }
        // Router → clients.
        while let Some(output) = self.router.poll() {
            moved = true;
            match output {
                Output::Send(conn, bytes) => self.deliver(conn, bytes),
                Output::Close(conn, _, _) => self.closed_by_relay(conn),
            }
        }
        self.collect_events();
        moved
    }

    fn chance(&mut self, per_mille: u32) -> bool {
        per_mille > 0 && self.rng.next_u64() % 1000 < u64::from(per_mille)
    }

    fn endpoint(&self, conn: ConnId) -> Option<Endpoint> {
        if self.primary_conn == Some(conn) {
            return Some(Endpoint::Primary);
        }
        if let Some(i) = self.raw.iter().position(|(c, _)| *c == conn) {
            return Some(Endpoint::Raw(i));
        }
        if let Some(i) = self.pairings.iter().position(|p| p.conn == Some(conn)) {
            return Some(Endpoint::Pairing(i));
        }
        self.companions
            .iter()
            .position(|c| c.conn == Some(conn))
            .map(Endpoint::Companion)
    }

    fn deliver(&mut self, conn: ConnId, bytes: Bytes) {
        self.frames_delivered += 1;
        let now = self.now;
        match self.endpoint(conn) {
            Some(Endpoint::Primary) => {
                if let Some(primary) = self.primary.as_mut() {
                    primary
                        .handle_frame(now, bytes)
                        .expect("primary handles a frame");
                }
            }
            Some(Endpoint::Companion(i)) => {
                self.companions[i]
                    .machine
                    .handle_frame(now, bytes)
                    .expect("companion handles a frame");
            }
            Some(Endpoint::Pairing(i)) => {
                self.pairings[i]
                    .machine
                    .handle_frame(now, bytes)
                    .expect("pairing handles a frame");
            }
            Some(Endpoint::Raw(i)) => self.raw[i].1.push(bytes),
            None => {}
        }
    }

    fn closed_by_relay(&mut self, conn: ConnId) {
        let now = self.now;
        match self.endpoint(conn) {
            Some(Endpoint::Primary) => {
                self.primary_conn = None;
                if let Some(primary) = self.primary.as_mut() {
                    primary.handle_disconnected(now);
                }
            }
            Some(Endpoint::Companion(i)) => {
                self.companions[i].conn = None;
                self.companions[i].machine.handle_disconnected(now);
            }
            Some(Endpoint::Pairing(i)) => {
                self.pairings[i].conn = None;
                self.pairings[i].machine.handle_disconnected(now);
            }
            Some(Endpoint::Raw(_)) | None => {}
        }
    }

    fn collect_events(&mut self) {
        if let Some(primary) = self.primary.as_mut() {
            while let Some(event) = primary.poll_event() {
                self.primary_events.push(event);
            }
        }
        for slot in &mut self.companions {
            while let Some(event) = slot.machine.poll_event() {
                slot.events.push(event);
            }
        }
        for slot in &mut self.pairings {
            while let Some(event) = slot.machine.poll_event() {
                slot.events.push(event);
            }
        }
    }

    /// The earliest timer of any party.
    fn next_timer(&self) -> Option<Instant> {
        let primary = self.primary.as_ref().and_then(|p| p.poll_timeout());
        let companions = self
            .companions
            .iter()
            .filter_map(|c| c.machine.poll_timeout())
            .chain(
                self.pairings
                    .iter()
                    .filter_map(|p| p.machine.poll_timeout()),
            )
            .min();
        [primary, companions, self.router.next_timeout()]
            .into_iter()
            .flatten()
            .min()
    }

    /// Moves the clock to `to`, firing every timer on the way.
    pub fn advance_to(&mut self, to: Instant) {
        loop {
            self.drive();
            let next = self.next_timer().filter(|&t| t <= to);
            let Some(next) = next else { break };
            self.now = self.now.max(next);
            self.fire_timers();
        }
        self.now = self.now.max(to);
        self.fire_timers();
        self.drive();
    }

    pub fn advance(&mut self, by: Duration) {
        let to = self.now + by;
        self.advance_to(to);
    }

    fn fire_timers(&mut self) {
        let now = self.now;
        if let Some(primary) = self.primary.as_mut()
            && primary.poll_timeout().is_some_and(|t| t <= now)
        {
            primary.handle_timeout(now).expect("primary timeout");
        }
        for slot in &mut self.companions {
            if slot.machine.poll_timeout().is_some_and(|t| t <= now) {
                slot.machine.handle_timeout(now).expect("companion timeout");
            }
        }
        for slot in &mut self.pairings {
            if slot.machine.poll_timeout().is_some_and(|t| t <= now) {
                slot.machine.handle_timeout(now).expect("pairing timeout");
            }
        }
        self.router.timeout(now);
        self.reconnect_lost();
    }

    /// Reconnects clients whose connection is gone (the drivers do this
    /// with backoff; here it happens at the next timer).
    fn reconnect_lost(&mut self) {
        if self.primary_conn.is_none() && self.primary.is_some() {
            self.connect_primary();
        }
        for i in 0..self.companions.len() {
            if self.companions[i].conn.is_none()
                && self.companions[i].auto_reconnect
                && !self.companions[i].machine.is_wiped()
            {
                self.connect_companion(i);
            }
        }
    }

    /// Runs until `done` holds, moving the clock timer by timer, for at
    /// most `limit` of virtual time. Returns whether `done` held.
    pub fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&mut Net) -> bool) -> bool {
        let deadline = self.now + limit;
        loop {
            self.drive();
            if done(self) {
                return true;
            }
            let Some(next) = self.next_timer() else {
                self.reconnect_lost();
                self.drive();
                if done(self) {
                    return true;
                }
                if self.next_timer().is_none() {
                    return false;
                }
                continue;
            };
            if next > deadline {
                return false;
            }
            self.now = self.now.max(next);
            self.fire_timers();
        }
    }

    /// Whether every connected companion is live and current with the
    /// primary's log.
    pub fn all_synced(&mut self) -> bool {
        let head = tandem_proto::store::Store::head(self.store()).expect("head");
        self.companions
            .iter()
            .all(|c| c.machine.is_wiped() || (c.machine.is_live() && c.machine.cache().seq == head))
    }
}
