//! Bad companion input never corrupts the store (spec §6, §5.2): malformed
//! vectors get `malformed_session_frame`, frames a companion may not send get
//! `unexpected_session_frame`, and unknown, revoked and wrong keys are refused.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::*;
use futures_util::{SinkExt, StreamExt};
use tandem_codec::Code;
use tandem_codec::envelope::{AttachRoute, Data, EnvelopeFrame, Pong};
use tandem_codec::handshake::Hello;
use tandem_codec::limits::MAX_INNER_FRAME;
use tandem_codec::session::{Ack, Body, InnerFrame, Resume};
use tandem_phone::state::State;
use tandem_proto::companion::{CompanionEvent, Credentials};
use tandem_proto::handshake::CompanionReconnect;
use tandem_proto::noise::HandshakeOptions;
use tandem_proto::random::OsRandom;
use tandem_proto::store::{CompanionRecord, Store};
use tandem_proto::{PublicKey, Session, StaticKeypair};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A companion driven frame by frame.
struct Raw {
    ws: Ws,
}

impl Raw {
    async fn connect(url: &str) -> Self {
        let mut request = url.into_client_request().unwrap();
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", "tandem.v1".parse().unwrap());
        let (ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
        Self { ws }
    }

    async fn send(&mut self, frame: impl Into<EnvelopeFrame>) {
        let bytes = frame.into().to_bytes().unwrap();
        self.ws.send(Message::Binary(bytes)).await.unwrap();
    }

    /// The next envelope frame, answering relay pings.
    async fn recv(&mut self) -> EnvelopeFrame {
        loop {
            let message = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("a frame in time")
                .expect("the connection is open")
                .unwrap();
            if let Message::Binary(bytes) = message {
                match EnvelopeFrame::decode(&bytes).unwrap() {
                    EnvelopeFrame::Ping(ping) => self.send(Pong { nonce: ping.nonce }).await,
                    frame => return frame,
                }
            }
        }
    }

    /// Attaches to the route; returns the link once the primary is online.
    async fn attach(&mut self, primary: PublicKey) -> u32 {
        self.send(AttachRoute {
            primary_key: primary.0,
        })
        .await;
        match self.recv().await {
            EnvelopeFrame::RouteAttached(attached) => {
                assert!(attached.primary_online);
                attached.link_id
            }
            other => panic!("expected RouteAttached, got {other:?}"),
        }
    }

    /// A reconnect handshake as `identity`, pinning `pinned`.
    async fn handshake(
        &mut self,
        link: u32,
        identity: &StaticKeypair,
        pinned: PublicKey,
    ) -> Session {
        let (handshake, msg1) = CompanionReconnect::start(
            identity,
            &pinned,
            Hello { capabilities: 0 },
            &HandshakeOptions::default(),
        )
        .unwrap();
        self.send(Data {
            link_id: link,
            payload: msg1.into(),
        })
        .await;
        match self.recv().await {
            EnvelopeFrame::Data(data) => handshake.finish(&data.payload).unwrap().0,
            other => panic!("expected message 2, got {other:?}"),
        }
    }

    async fn seal_raw(&mut self, link: u32, session: &mut Session, plaintext: &[u8]) {
        let payload = session.seal_raw_for_testing(plaintext).unwrap();
        self.send(Data {
            link_id: link,
            payload,
        })
        .await;
    }

    async fn seal(&mut self, link: u32, session: &mut Session, frame: InnerFrame) {
        let plaintext = frame.to_bytes().unwrap();
        self.seal_raw(link, session, &plaintext).await;
    }

    /// Reads the session until the phone's `Close` and its `LinkClosed`;
    /// returns the close code (or the `LinkClosed` code alone, negated in
    /// meaning: `None` when no `Close` came).
    async fn closed(&mut self, link: u32, session: &mut Session) -> Code {
        let (close, link_closed) = self.close_codes(link, session).await;
        let close = close.unwrap_or_else(|| panic!("LinkClosed({link_closed}) without a Close"));
        assert_eq!(close, link_closed);
        close
    }

    async fn close_codes(&mut self, link: u32, session: &mut Session) -> (Option<Code>, Code) {
        let mut code = None;
        loop {
            match self.recv().await {
                EnvelopeFrame::Data(data) if data.link_id == link => {
                    if let InnerFrame::Close(close) = session.open(&data.payload).unwrap() {
                        code = Some(close.code);
                    }
                }
                EnvelopeFrame::LinkClosed(closed) if closed.link_id == link => {
                    return (code, closed.code);
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    /// Reads the snapshot that answers `Resume(0, 0)`.
    async fn snapshot(&mut self, link: u32, session: &mut Session) {
        loop {
            match self.recv().await {
                EnvelopeFrame::Data(data) if data.link_id == link => {
                    if let InnerFrame::SnapshotEnd(_) = session.open(&data.payload).unwrap() {
                        return;
                    }
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }
}

/// What must not change.
#[derive(Debug, PartialEq)]
struct Fingerprint {
    head: u64,
    messages: Vec<tandem_codec::session::Message>,
    chats: Vec<tandem_codec::session::Chat>,
    contacts: Vec<tandem_codec::session::Contact>,
    companions: Vec<(PublicKey, String, u64)>,
}

fn fingerprint(state: &State) -> Fingerprint {
    let store = store(state);
    Fingerprint {
        head: store.head().unwrap(),
        messages: store.all_messages().unwrap(),
        chats: store.chats().unwrap(),
        contacts: store.contacts().unwrap(),
        companions: store
            .companions()
            .unwrap()
            .into_iter()
            .map(|c| (c.key, c.device_name, c.linked_at_ms))
            .collect(),
    }
}

fn link_directly(state: &State, identity: &StaticKeypair) {
    let mut store = store(state);
    store
        .link_companion(CompanionRecord {
            key: identity.public(),
            device_name: "raw".into(),
            linked_at_ms: 1,
            last_seen_ms: 0,
            cursor: 0,
        })
        .unwrap();
}

struct Vector {
    id: String,
    input: Vec<u8>,
    valid: bool,
    kind: String,
}

fn session_vectors() -> Vec<Vector> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../spec/vectors/session.json");
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    file["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| Vector {
            id: v["id"].as_str().unwrap().to_owned(),
            input: hex::decode(v["input"].as_str().unwrap()).unwrap(),
            valid: v["result"] == "valid",
            kind: v["decoded"]["type"].as_str().unwrap_or("").to_owned(),
        })
        .collect()
}

/// Frames only a primary sends: unexpected from a companion at any time.
const PRIMARY_ONLY: &[&str] = &[
    "event",
    "chat_page",
    "contact_page",
    "message_page",
    "resume_accepted",
    "snapshot_begin",
    "snapshot_end",
    "send_ack",
    "send_failed",
    "upload_ready",
    "upload_done",
    "download_ready",
    "pairing_complete",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_unexpected_frames_close_the_session_and_change_nothing() {
    let relay = Relay::start().await;
    let (_dir, path) = temp();
    let state = new_phone(&path);
    let identity = StaticKeypair::generate(&mut OsRandom::new().unwrap());
    link_directly(&state, &identity);
    let primary = state.identity().unwrap().public();
    let mut phone = Phone::in_process(&state, &relay.url);
    phone.wait_line("route registered").await;
    let before = fingerprint(&state);

    let mut raw = Raw::connect(&relay.url).await;
    let mut checked = 0;
    for vector in session_vectors() {
        // A frame above the inner frame limit cannot ride in a Noise
        // message at all; the Data frame limit refuses it first.
        if vector.input.len() > MAX_INNER_FRAME {
            continue;
        }
        let before_resume = if vector.valid {
            // Frames a companion may send first, or that end or leave the
            // session alone, are not bad input.
            if ["resume", "close", "error", "rekey", "unknown"].contains(&vector.kind.as_str()) {
                continue;
            }
            Code::UNEXPECTED_SESSION_FRAME
        } else {
            Code::MALFORMED_SESSION_FRAME
        };
        let link = raw.attach(primary).await;
        let mut session = raw.handshake(link, &identity, primary).await;
        raw.seal_raw(link, &mut session, &vector.input).await;
        let codes = raw.close_codes(link, &mut session).await;
        let expected = if vector.input.is_empty() {
            // [SESS-02] A transport message with no plaintext byte is a
            // decryption failure: LinkClosed(decrypt_failed), no Close.
            (None, Code::DECRYPT_FAILED)
        } else {
            (Some(before_resume), before_resume)
        };
        assert_eq!(codes, expected, "{}", vector.id);
        checked += 1;
    }
    // Live sessions: frames only a primary sends, a second Resume, and an
    // Ack beyond what was sent.
    for vector in session_vectors()
        .into_iter()
        .filter(|v| v.valid && (PRIMARY_ONLY.contains(&v.kind.as_str()) || v.kind == "resume"))
    {
        let link = raw.attach(primary).await;
        let mut session = raw.handshake(link, &identity, primary).await;
        raw.seal(
            link,
            &mut session,
            InnerFrame::from(Resume { log_id: 0, seq: 0 }),
        )
        .await;
        raw.snapshot(link, &mut session).await;
        raw.seal_raw(link, &mut session, &vector.input).await;
        assert_eq!(
            raw.closed(link, &mut session).await,
            Code::UNEXPECTED_SESSION_FRAME,
            "{} after Resume",
            vector.id
        );
        checked += 1;
    }
    let link = raw.attach(primary).await;
    let mut session = raw.handshake(link, &identity, primary).await;
    raw.seal(
        link,
        &mut session,
        InnerFrame::from(Resume { log_id: 0, seq: 0 }),
    )
    .await;
    raw.snapshot(link, &mut session).await;
    raw.seal(link, &mut session, InnerFrame::from(Ack { seq: u64::MAX }))
        .await;
    assert_eq!(raw.closed(link, &mut session).await, Code::ACK_OUT_OF_RANGE);
    assert!(checked > 200, "{checked} vectors sent");

    assert_eq!(fingerprint(&state), before, "bad input changed the store");
    // The phone still serves: a real companion with the same key syncs and
    // sends.
    let credentials = Credentials {
        identity,
        primary_key: primary,
        account_name: "Ada".into(),
    };
    let mut companion = companion(&relay.url, credentials);
    synced(&mut companion).await;
    let chat = chat_id(&state, "Ada Lovelace");
    companion
        .call(move |c, _| c.send_message(chat, Body::Text("still here".into())))
        .await
        .unwrap();
    companion
        .wait("SendAcked", |e| {
            matches!(e, CompanionEvent::SendAcked { .. }).then_some(())
        })
        .await;
    companion.stop().await;
    phone.stop().await;
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_revoked_and_wrong_keys_are_refused_and_change_nothing() {
    let relay = Relay::start().await;
    let (_dir, path) = temp();
    let state = new_phone(&path);
    let revoked = StaticKeypair::generate(&mut OsRandom::new().unwrap());
    link_directly(&state, &revoked);
    let primary = state.identity().unwrap().public();
    let mut phone = Phone::in_process(&state, &relay.url);
    phone.wait_line("route registered").await;
    let device = tandem_phone::display::device_id(&revoked.public());
    let outcome = tandem_phone::commands::revoke(&state, &device)
        .await
        .unwrap();
    assert!(outcome.was_linked && !outcome.was_connected);
    let before = fingerprint(&state);

    let mut raw = Raw::connect(&relay.url).await;
    // [RECON-05] Revoked: message 2, then Close(device_revoked), nothing else.
    let link = raw.attach(primary).await;
    let mut session = raw.handshake(link, &revoked, primary).await;
    assert_eq!(raw.closed(link, &mut session).await, Code::DEVICE_REVOKED);
    // Unknown: message 2, then Close(unknown_device).
    let stranger = StaticKeypair::generate(&mut OsRandom::new().unwrap());
    let link = raw.attach(primary).await;
    let mut session = raw.handshake(link, &stranger, primary).await;
    assert_eq!(raw.closed(link, &mut session).await, Code::UNKNOWN_DEVICE);
    // A message 1 for another primary key, and garbage: handshake_failed.
    let wrong = StaticKeypair::generate(&mut OsRandom::new().unwrap()).public();
    for payload in [
        CompanionReconnect::start(
            &stranger,
            &wrong,
            Hello { capabilities: 0 },
            &HandshakeOptions::default(),
        )
        .unwrap()
        .1,
        vec![0xAB; 96],
    ] {
        let link = raw.attach(primary).await;
        raw.send(Data {
            link_id: link,
            payload: Bytes::from(payload),
        })
        .await;
        match raw.recv().await {
            EnvelopeFrame::LinkClosed(closed) => {
                assert_eq!(
                    (closed.link_id, closed.code),
                    (link, Code::HANDSHAKE_FAILED)
                );
            }
            other => panic!("expected LinkClosed, got {other:?}"),
        }
    }
    // The core companion with the revoked key wipes itself on the
    // authenticated reason ([RECON-07]).
    let mut companion = companion(
        &relay.url,
        Credentials {
            identity: revoked,
            primary_key: primary,
            account_name: "Ada".into(),
        },
    );
    let code = companion
        .wait("Wiped", |e| match e {
            CompanionEvent::Wiped { code, .. } => Some(*code),
            _ => None,
        })
        .await;
    assert_eq!(code, Code::DEVICE_REVOKED);
    tokio::time::timeout(Duration::from_secs(5), companion.stop())
        .await
        .unwrap();
    phone.wait_line("companion refused").await;
    assert_eq!(fingerprint(&state), before);
    phone.stop().await;
    relay.stop().await;
}
