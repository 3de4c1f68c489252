//! The hostile-client test of issue #6 (spec §3.9, §11.9): a real primary
//! and a real companion (the protocol core's state machines, driven over
//! WebSockets to the relay) exchange messages while hostile clients send
//! text, malformed and oversized envelopes, frames for links they do not
//! own, forged route proofs, channel floods, never-completing upgrades and
//! silent connections. Every message arrives exactly once, the pair never
//! loses its connection, and each hostile client gets its code.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::fmt::Debug;
use std::time::Duration;

use bytes::Bytes;
use common::{Client, RawClient, Relay, Target, WAIT, config};
use futures_util::{SinkExt, StreamExt};
use tandem_codec::Code;
use tandem_codec::envelope::{
    AttachRoute, Data, EnvelopeFrame, JoinChannel, LinkClosed, RegisterRoute, RouteProof,
};
use tandem_codec::session::Body;
use tandem_proto::companion::{Companion, CompanionConfig, CompanionEvent, Credentials};
use tandem_proto::primary::{Primary, PrimaryConfig, PrimaryEvent};
use tandem_proto::random::SeededRandom;
use tandem_proto::store::{CompanionRecord, MemoryStore, Store};
use tandem_proto::{Instant, StaticKeypair, Transmit};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

/// At least this many messages each way.
const MESSAGES: usize = 150;
/// Messages sent each way before waiting for them.
const BATCH: usize = 10;

/// The calling contract the primary and the companion share.
trait Machine: Send + 'static {
    type Event: Send + Debug + 'static;
    fn connected(&mut self, now: Instant);
    fn frame(&mut self, now: Instant, frame: Bytes);
    fn disconnected(&mut self, now: Instant);
    fn timeout(&mut self, now: Instant);
    fn transmit(&mut self) -> Option<Transmit>;
    fn event(&mut self) -> Option<Self::Event>;
    fn deadline(&self) -> Option<Instant>;
}

macro_rules! machine {
    ($ty:ty, $event:ty) => {
        impl Machine for $ty {
            type Event = $event;
            fn connected(&mut self, now: Instant) {
                self.handle_connected(now).unwrap();
            }
            fn frame(&mut self, now: Instant, frame: Bytes) {
                self.handle_frame(now, frame).unwrap();
            }
            fn disconnected(&mut self, now: Instant) {
                self.handle_disconnected(now);
            }
            fn timeout(&mut self, now: Instant) {
                self.handle_timeout(now).unwrap();
            }
            fn transmit(&mut self) -> Option<Transmit> {
                self.poll_transmit()
            }
            fn event(&mut self) -> Option<Self::Event> {
                self.poll_event()
            }
            fn deadline(&self) -> Option<Instant> {
                self.poll_timeout()
            }
        }
    };
}

machine!(Primary<MemoryStore>, PrimaryEvent);
machine!(Companion, CompanionEvent);

type Command<M> = Box<dyn FnOnce(&mut M, Instant) + Send>;

/// What a driver reports.
#[derive(Debug)]
enum Report<E> {
    Event(E),
    /// The WebSocket ended: for the pair, a failure of the test.
    Disconnected(String),
}

/// A machine driven over a real WebSocket by its own task.
struct Endpoint<M: Machine> {
    commands: mpsc::UnboundedSender<Command<M>>,
    reports: mpsc::UnboundedReceiver<Report<M::Event>>,
    seen: Vec<M::Event>,
}

impl<M: Machine> Endpoint<M> {
    fn spawn(machine: M, relay: &Relay, epoch: tokio::time::Instant) -> Self {
        let (commands, rx) = mpsc::unbounded_channel();
        let (tx, reports) = mpsc::unbounded_channel();
        let url = relay.url();
        let addr = relay.addr;
        tokio::spawn(drive(machine, url, addr, epoch, rx, tx));
        Endpoint {
            commands,
            reports,
            seen: Vec::new(),
        }
    }

    fn command(&self, command: impl FnOnce(&mut M, Instant) + Send + 'static) {
        self.commands.send(Box::new(command)).unwrap();
    }

    /// Waits until `done` holds for the events seen so far.
    async fn until(&mut self, what: &str, mut done: impl FnMut(&[M::Event]) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while !done(&self.seen) {
            let report = tokio::time::timeout_at(deadline, self.reports.recv())
                .await
                .unwrap_or_else(|_| {
                    let notable: Vec<String> = self
                        .seen
                        .iter()
                        .map(|e| format!("{e:?}"))
                        .filter(|e| !e.starts_with("MessageSent") && !e.starts_with("MessageAdded"))
                        .take(20)
                        .collect();
                    panic!(
                        "timed out waiting for {what}; {} events, notable: {notable:#?}",
                        self.seen.len()
                    )
                });
            match report {
                Some(Report::Event(event)) => self.seen.push(event),
                Some(Report::Disconnected(why)) => panic!("the pair lost its connection: {why}"),
                None => panic!("the driver stopped"),
            }
        }
    }
}

fn now(epoch: tokio::time::Instant) -> Instant {
    Instant::from_duration(epoch.elapsed())
}

/// The driver loop: feed `handle_frame`, drain `poll_transmit`, honour
/// `poll_timeout`, run the test's commands.
async fn drive<M: Machine>(
    mut machine: M,
    url: String,
    addr: std::net::SocketAddr,
    epoch: tokio::time::Instant,
    mut commands: mpsc::UnboundedReceiver<Command<M>>,
    reports: mpsc::UnboundedSender<Report<M::Event>>,
) {
    let relay = RelayAddr { url, addr };
    let mut ws = relay.connect().await;
    machine.connected(now(epoch));
    loop {
        let mut closing = false;
        while let Some(transmit) = machine.transmit() {
            match transmit {
                Transmit::Frame(bytes) => ws.feed(Message::Binary(bytes)).await.unwrap(),
                Transmit::Close { code, reason } => {
                    let _ = reports.send(Report::Disconnected(format!(
                        "closed by us: {code:?} {reason}"
                    )));
                    closing = true;
                    break;
                }
            }
        }
        if closing {
            let _ = ws.close(None).await;
            return;
        }
        ws.flush().await.unwrap();
        while let Some(event) = machine.event() {
            let _ = reports.send(Report::Event(event));
        }
        let deadline = machine.deadline().map(|d| epoch + d.since_epoch());
        let timer = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            message = ws.next() => match message {
                Some(Ok(Message::Binary(bytes))) => machine.frame(now(epoch), bytes),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                other => {
                    machine.disconnected(now(epoch));
                    let _ = reports.send(Report::Disconnected(format!("{other:?}")));
                    return;
                }
            },
            command = commands.recv() => match command {
                Some(command) => command(&mut machine, now(epoch)),
                None => return,
            },
            () = timer => machine.timeout(now(epoch)),
        }
    }
}

struct RelayAddr {
    url: String,
    addr: std::net::SocketAddr,
}

impl RelayAddr {
    async fn connect(&self) -> tokio_tungstenite::WebSocketStream<tokio::net::TcpStream> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let stream = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        let mut request = self.url.as_str().into_client_request().unwrap();
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", "tandem.v1".parse().unwrap());
        tokio_tungstenite::client_async(request, stream)
            .await
            .unwrap()
            .0
    }
}

fn text(s: String) -> Body {
    Body::Text(s)
}

/// The hostile clients; each returns what it observed, for the final
/// assertions.
async fn hostile(
    relay: std::net::SocketAddr,
    primary_key: [u8; 32],
    victim_link: u32,
    rounds: usize,
) -> Vec<String> {
    let mut tasks = tokio::task::JoinSet::new();
    for round in 0..rounds {
        let r = relay;
        tasks.spawn(async move {
            let mut c = Client::connect_from(&r, 20).await;
            c.ws.send(Message::Text("not binary".into())).await.unwrap();
            c.expect_close(Code::UNSUPPORTED_DATA).await;
            format!("text {round}: 1003")
        });
        let r = relay;
        tasks.spawn(async move {
            let mut c = Client::connect_from(&r, 21).await;
            c.send_bytes(vec![0x0E, 0, 0]).await;
            c.expect_close(Code::MALFORMED_FRAME).await;
            format!("malformed {round}: 4000")
        });
        let r = relay;
        tasks.spawn(async move {
            let mut c = Client::connect_from(&r, 22).await;
            c.send_bytes(vec![0x0E; 70_000]).await;
            c.expect_close(Code::MESSAGE_TOO_BIG).await;
            format!("oversized {round}: 1009")
        });
        let r = relay;
        tasks.spawn(async move {
            // Frames on the pair's link, which it does not own: refused,
            // never forwarded ([RLY-15]).
            let mut c = Client::connect_from(&r, 23).await;
            for _ in 0..5 {
                c.send(Data {
                    link_id: victim_link,
                    payload: Bytes::from_static(b"forged"),
                })
                .await;
                let EnvelopeFrame::Error(e) = c.recv().await else {
                    panic!("expected Error");
                };
                assert_eq!(e.code, Code::UNKNOWN_LINK);
                c.send(LinkClosed {
                    link_id: victim_link,
                    code: Code::NORMAL_CLOSURE,
                })
                .await;
                let EnvelopeFrame::Error(e) = c.recv().await else {
                    panic!("expected Error");
                };
                assert_eq!(e.code, Code::UNKNOWN_LINK);
            }
            c.send(JoinChannel {
                channel_id: [round as u8; 16],
            })
            .await;
            let EnvelopeFrame::Error(e) = c.recv().await else {
                panic!("expected Error");
            };
            assert_eq!(e.code, Code::UNKNOWN_CHANNEL);
            format!("foreign link {round}: 4014, 4010")
        });
        let r = relay;
        tasks.spawn(async move {
            // A forged claim to the pair's route: 4006, and the route stays.
            let mut c = Client::connect_from(&r, 24).await;
            c.send(RegisterRoute { primary_key }).await;
            let EnvelopeFrame::RouteChallenge(_) = c.recv().await else {
                panic!("expected RouteChallenge");
            };
            c.send(RouteProof {
                mac: [round as u8; 32],
            })
            .await;
            c.expect_close(Code::ROUTE_PROOF_FAILED).await;
            format!("forged proof {round}: 4006")
        });
        let r = relay;
        tasks.spawn(async move {
            // A channel flood from one address ([RLY-06]).
            let mut c = Client::connect_from(&r, 25 + round as u8).await;
            for _ in 0..20 {
                c.send(EnvelopeFrame::OpenChannel).await;
            }
            let mut refused = 0;
            for _ in 0..20 {
                match c.recv().await {
                    EnvelopeFrame::ChannelOpened(_) => {}
                    EnvelopeFrame::Error(e) if e.code == Code::TOO_MANY_CHANNELS => refused += 1,
                    other => panic!("unexpected {other:?}"),
                }
            }
            assert_eq!(refused, 18);
            format!("channel flood {round}: 18 x 4013")
        });
        let r = relay;
        tasks.spawn(async move {
            // An attacher that sends garbage into the primary's handshake:
            // the primary closes the link; the pair is unaffected.
            let mut c = Client::connect_from(&r, 40).await;
            c.send(AttachRoute { primary_key }).await;
            let EnvelopeFrame::RouteAttached(attached) = c.recv().await else {
                panic!("expected RouteAttached");
            };
            c.send(Data {
                link_id: attached.link_id,
                payload: Bytes::from(vec![0xAB; 200]),
            })
            .await;
            let frame = c.recv().await;
            assert!(
                matches!(frame, EnvelopeFrame::LinkClosed(ref l) if l.link_id == attached.link_id),
                "{frame:?}"
            );
            format!("garbage handshake {round}: {frame:?}")
        });
        let r = relay;
        tasks.spawn(async move {
            // Upgraded, then silent: 4003.
            let mut c = Client::connect_from(&r, 41).await;
            c.expect_close(Code::SETUP_TIMEOUT).await;
            format!("silent {round}: 4003")
        });
        let r = relay;
        tasks.spawn(async move {
            // An upgrade that never completes: dropped.
            let mut tcp = common::tcp_from(r, 42).await;
            tcp.write_all(b"GET / HTTP/1.1\r\nUpgrade: websocket\r\n")
                .await
                .unwrap();
            let mut rest = Vec::new();
            let n = tokio::time::timeout(WAIT, tcp.read_to_end(&mut rest))
                .await
                .unwrap()
                .unwrap_or(0);
            assert_eq!(n, 0);
            format!("slowloris {round}: dropped")
        });
        let r = relay;
        tasks.spawn(async move {
            // A fragmented message growing past the limit: 1009.
            let mut raw = RawClient::connect(&r, 43).await;
            raw.frame(false, 0x2, &[0x0E; 30_000], true).await;
            raw.frame(false, 0x0, &[0; 30_000], true).await;
            raw.frame(true, 0x0, &[0; 30_000], true).await;
            assert_eq!(raw.close_code().await, Some(1009));
            format!("fragments {round}: 1009")
        });
    }
    let mut seen = Vec::new();
    while let Some(result) = tasks.join_next().await {
        seen.push(result.unwrap());
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_active_pair_is_intact_while_hostile_clients_attack() {
    let mut config = config();
    config.router.setup_timeout = Duration::from_millis(500);
    let relay = Relay::start(config).await;
    let epoch = tokio::time::Instant::now();

    // A primary with one contact and one linked companion.
    let mut rng = SeededRandom::new(77);
    let primary_identity = StaticKeypair::generate(&mut rng);
    let companion_identity = StaticKeypair::generate(&mut rng);
    let mut primary = Primary::new(
        PrimaryConfig::default(),
        primary_identity.clone(),
        MemoryStore::new(1),
    );
    let contact = primary.add_contact(now(epoch), "Ada").unwrap();
    let chat = primary.store().chats().unwrap()[0].chat_id;
    primary
        .link_for_testing(CompanionRecord {
            key: companion_identity.public(),
            device_name: "laptop".into(),
            linked_at_ms: 0,
            last_seen_ms: 0,
            cursor: 0,
        })
        .unwrap();
    let companion = Companion::new(
        CompanionConfig::default(),
        Credentials {
            identity: companion_identity,
            primary_key: primary_identity.public(),
            account_name: "test".into(),
        },
        Box::new(SeededRandom::new(78)),
    );
    let mut primary = Endpoint::spawn(primary, &relay, epoch);
    primary
        .until("the route", |e| e.contains(&PrimaryEvent::RouteRegistered))
        .await;
    let mut companion = Endpoint::spawn(companion, &relay, epoch);
    companion
        .until("the first sync", |e| {
            e.iter().any(|e| matches!(e, CompanionEvent::Synced { .. }))
        })
        .await;
    let link = primary.seen.iter().find_map(|e| match e {
        PrimaryEvent::CompanionConnected { link_id, .. } => Some(*link_id),
        _ => None,
    });
    let link = match link {
        Some(link) => link,
        None => {
            primary
                .until("the companion", |e| {
                    e.iter()
                        .any(|e| matches!(e, PrimaryEvent::CompanionConnected { .. }))
                })
                .await;
            primary
                .seen
                .iter()
                .find_map(|e| match e {
                    PrimaryEvent::CompanionConnected { link_id, .. } => Some(*link_id),
                    _ => None,
                })
                .unwrap()
        }
    };

    // The attack runs while the pair talks.
    let ups = |events: &[PrimaryEvent]| {
        events
            .iter()
            .filter(|e| matches!(e, PrimaryEvent::MessageSent(m) if matches!(&m.body, Body::Text(t) if t.starts_with("up "))))
            .count()
    };
    let downs = |events: &[CompanionEvent]| {
        events
            .iter()
            .filter(|e| matches!(e, CompanionEvent::MessageAdded(m) if matches!(&m.body, Body::Text(t) if t.starts_with("down "))))
            .count()
    };
    let acks = |events: &[CompanionEvent]| {
        events
            .iter()
            .filter(|e| matches!(e, CompanionEvent::SendAcked { .. }))
            .count()
    };

    // The attack runs while the pair talks: batches of messages each way,
    // each batch waited for (so that the pair's own burst stays well
    // under SEND_QUEUE), until the attack is over and at least MESSAGES
    // went each way.
    let attack = tokio::spawn(hostile(relay.addr, primary_identity.public().0, link, 3));
    let mut sent = 0;
    while sent < MESSAGES || !attack.is_finished() {
        assert!(sent < 5_000, "the attack did not end");
        for i in sent..sent + BATCH {
            companion.command(move |c: &mut Companion, _| {
                c.send_message(chat, text(format!("up {i}"))).unwrap();
            });
            primary.command(move |p: &mut Primary<MemoryStore>, now| {
                p.receive_message(now, contact, text(format!("down {i}")))
                    .unwrap();
            });
        }
        sent += BATCH;
        primary.until("a batch of sends", |e| ups(e) >= sent).await;
        companion
            .until("a batch of messages and acks", |e| {
                downs(e) >= sent && acks(e) >= sent
            })
            .await;
    }
    let observed = tokio::time::timeout(Duration::from_secs(60), attack)
        .await
        .expect("the hostile clients finish")
        .unwrap();

    // Exactly once each way, in order.
    let mut up_counts: HashMap<String, usize> = HashMap::new();
    for event in &primary.seen {
        if let PrimaryEvent::MessageSent(m) = event
            && let Body::Text(t) = &m.body
        {
            *up_counts.entry(t.clone()).or_default() += 1;
        }
    }
    assert_eq!(up_counts.len(), sent);
    assert!(up_counts.values().all(|&n| n == 1), "{up_counts:?}");
    let downs_seen: Vec<String> = companion
        .seen
        .iter()
        .filter_map(|e| match e {
            CompanionEvent::MessageAdded(m) => match &m.body {
                Body::Text(t) if t.starts_with("down ") => Some(t.clone()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    let expected: Vec<String> = (0..sent).map(|i| format!("down {i}")).collect();
    assert_eq!(downs_seen, expected);
    assert!(
        !primary
            .seen
            .iter()
            .any(|e| matches!(e, PrimaryEvent::ConnectionLost { .. })),
        "{:?}",
        primary.seen
    );
    assert!(!companion.seen.iter().any(|e| matches!(
        e,
        CompanionEvent::ConnectionLost { .. } | CompanionEvent::SessionEnded { .. }
    )));

    // Every hostile client got its code.
    assert_eq!(observed.len(), 3 * 10, "{observed:#?}");
    // The relay counted them.
    let (_, metrics) = relay.get("/metrics").await;
    for sample in [
        "tandem_relay_closes_total{code=\"1003\",reason=\"unsupported_data\"} 3",
        "tandem_relay_closes_total{code=\"1009\",reason=\"message_too_big\"} 6",
        "tandem_relay_closes_total{code=\"4000\",reason=\"malformed_frame\"} 3",
        "tandem_relay_closes_total{code=\"4003\",reason=\"setup_timeout\"} 3",
        "tandem_relay_closes_total{code=\"4006\",reason=\"route_proof_failed\"} 3",
        "tandem_relay_routes 1",
    ] {
        assert!(
            metrics.lines().any(|l| l == sample),
            "{sample} missing from\n{metrics}"
        );
    }
}
