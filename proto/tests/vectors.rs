//! The handshake vectors (`spec/vectors/handshakes.json`, spec §13.3) and
//! the worked example (`spec/appendix-a-worked-example.md`) are generated
//! here from fixed keys, and the checked-in files must match byte for
//! byte. Regenerate after a deliberate change with
//! `TANDEM_BLESS=1 cargo test -p tandem-proto --test vectors`.

#![allow(clippy::unwrap_used)]

use std::fmt::Write as _;
use std::path::PathBuf;

use bytes::{Bytes, BytesMut};
use serde_json::{Value, json};
use tandem_codec::envelope::{
    AttachRoute, ChannelJoined, ChannelOpened, Data, EnvelopeFrame, JoinChannel, LinkOpened,
    RegisterRoute, RouteAttached, RouteChallenge, RouteProof,
};
use tandem_codec::handshake::{Hello, PairAccept, PairInit};
use tandem_codec::qr::QrPayload;
use tandem_codec::session::{
    Ack, Body, Chat, ChatPage, Contact, ContactPage, Event, EventBody, InnerFrame, Message,
    MessagePage, MessageStatus, Resume, Send, SendAck, SnapshotBegin, SnapshotEnd,
};
use tandem_proto::handshake::{
    CompanionPairing, CompanionReconnect, PrimaryPairing, read_reconnect,
};
use tandem_proto::noise::{self, CheckCode, HandshakeOptions};
use tandem_proto::random::{self, SeededRandom};
use tandem_proto::{Session, StaticKeypair, route_proof};

fn spec_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../spec")
        .join(relative)
}

/// Compares `generated` with the checked-in file, or writes it when
/// blessing.
fn check_file(relative: &str, generated: &str) {
    let path = spec_path(relative);
    if std::env::var_os("TANDEM_BLESS").is_some() {
        std::fs::write(&path, generated).unwrap();
        return;
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == generated,
        "{relative} differs from what the code generates; after a deliberate change run \
         `TANDEM_BLESS=1 cargo test -p tandem-proto --test vectors`"
    );
}

fn fixed(key: [u8; 32]) -> HandshakeOptions {
    HandshakeOptions {
        fixed_ephemeral: Some(key),
    }
}

/// The keys of one transcript, drawn from a seed.
struct Keys {
    initiator: StaticKeypair,
    initiator_ephemeral: [u8; 32],
    responder: StaticKeypair,
    responder_ephemeral: [u8; 32],
    psk: [u8; 32],
    channel_id: [u8; 16],
}

impl Keys {
    fn from_seed(seed: u64) -> Self {
        let mut rng = SeededRandom::new(seed);
        Self {
            initiator: StaticKeypair::generate(&mut rng),
            initiator_ephemeral: random::array(&mut rng),
            responder: StaticKeypair::generate(&mut rng),
            responder_ephemeral: random::array(&mut rng),
            psk: random::array(&mut rng),
            channel_id: random::array(&mut rng),
        }
    }

    fn from_vector(v: &Value) -> Self {
        let key = |name: &str| -> [u8; 32] {
            hex::decode(v[name].as_str().unwrap())
                .unwrap()
                .try_into()
                .unwrap()
        };
        let prologue = hex::decode(v["prologue"].as_str().unwrap()).unwrap();
        let mut channel_id = [0u8; 16];
        if v["kind"] == "pairing" {
            channel_id.copy_from_slice(&prologue[noise::PAIRING_PROLOGUE_LABEL.len()..]);
        }
        Self {
            initiator: StaticKeypair::from_private(key("initiator_static")),
            initiator_ephemeral: key("initiator_ephemeral"),
            responder: StaticKeypair::from_private(key("responder_static")),
            responder_ephemeral: key("responder_ephemeral"),
            psk: if v["kind"] == "pairing" {
                key("psk")
            } else {
                [0; 32]
            },
            channel_id,
        }
    }

    fn qr(&self) -> QrPayload {
        QrPayload {
            channel_id: self.channel_id,
            companion_key: self.responder.public().0,
            pairing_secret: self.psk,
            ttl_s: 60,
            relay_url: "wss://relay.example.org".into(),
        }
    }
}

fn seal(session: &mut Session, frame: &InnerFrame) -> Bytes {
    let mut out = Vec::new();
    session.seal(frame, &mut out).unwrap();
    out.remove(0)
}

fn plain(frame: &InnerFrame) -> Vec<u8> {
    let mut buf = BytesMut::new();
    frame.encode(&mut buf).unwrap();
    buf.to_vec()
}

/// A pairing: messages 1 and 2, both sessions, and the check code.
struct Pairing {
    init: PairInit,
    accept: PairAccept,
    msg1: Vec<u8>,
    msg2: Vec<u8>,
    primary: Session,
    check_code: CheckCode,
}

fn pair(keys: &Keys, init: PairInit, accept: PairAccept) -> Pairing {
    let (pairing, msg1) = PrimaryPairing::start(
        &keys.initiator,
        &keys.qr(),
        &init,
        &fixed(keys.initiator_ephemeral),
    )
    .unwrap();
    let responder = CompanionPairing::new(
        &keys.responder,
        &keys.channel_id,
        &keys.psk,
        &fixed(keys.responder_ephemeral),
    )
    .unwrap();
    let (companion, msg2) = responder.respond(&msg1, &accept).unwrap();
    let primary = pairing.finish(&msg2).unwrap();
    assert_eq!(primary.check_code, companion.check_code);
    assert_eq!(
        primary.session.handshake_hash(),
        companion.session.handshake_hash()
    );
    Pairing {
        init,
        accept,
        msg1,
        msg2,
        primary: primary.session,
        check_code: primary.check_code,
    }
}

/// A reconnect: messages 1 and 2 and both sessions (companion, primary).
fn reconnect(keys: &Keys) -> (Vec<u8>, Vec<u8>, Session, Session) {
    let hello = Hello { capabilities: 0 };
    let (handshake, msg1) = CompanionReconnect::start(
        &keys.initiator,
        &keys.responder.public(),
        hello,
        &fixed(keys.initiator_ephemeral),
    )
    .unwrap();
    let incoming =
        read_reconnect(&keys.responder, &msg1, &fixed(keys.responder_ephemeral)).unwrap();
    let (primary, msg2) = incoming.accept(hello).unwrap();
    let (companion, _) = handshake.finish(&msg2).unwrap();
    (msg1, msg2, companion, primary)
}

fn base(id: &str, comment: &str, kind: &str, keys: &Keys) -> serde_json::Map<String, Value> {
    let (protocol, prologue) = if kind == "pairing" {
        (
            noise::PAIRING_PROTOCOL,
            noise::pairing_prologue(&keys.channel_id),
        )
    } else {
        (
            noise::RECONNECT_PROTOCOL,
            noise::reconnect_prologue(&keys.responder.public().0),
        )
    };
    let mut v = serde_json::Map::new();
    v.insert("id".into(), json!(id));
    v.insert("comment".into(), json!(comment));
    v.insert("kind".into(), json!(kind));
    v.insert("protocol_name".into(), json!(protocol));
    v.insert("prologue".into(), json!(hex::encode(prologue)));
    v.insert(
        "initiator_static".into(),
        json!(hex::encode(keys.initiator.private())),
    );
    v.insert(
        "initiator_ephemeral".into(),
        json!(hex::encode(keys.initiator_ephemeral)),
    );
    v.insert(
        "responder_static".into(),
        json!(hex::encode(keys.responder.private())),
    );
    v.insert(
        "responder_ephemeral".into(),
        json!(hex::encode(keys.responder_ephemeral)),
    );
    if kind == "pairing" {
        v.insert("psk".into(), json!(hex::encode(keys.psk)));
    }
    v
}

fn message(payload: &[u8], ciphertext: &[u8]) -> Value {
    json!({ "payload": hex::encode(payload), "ciphertext": hex::encode(ciphertext) })
}

fn transport(sender: &str, frame: &InnerFrame, ciphertext: &[u8]) -> Value {
    json!({ "sender": sender, "payload": hex::encode(plain(frame)), "ciphertext": hex::encode(ciphertext) })
}

fn names(i: u64) -> (PairInit, PairAccept) {
    let init = PairInit {
        capabilities: 0,
        account_name: ["Ada Lovelace", "Grace Hopper", "Émilie du Châtelet"][i as usize % 3].into(),
        device_name: ["Pixel 9", "iPhone", "Fairphone 5"][i as usize % 3].into(),
    };
    let accept = PairAccept {
        capabilities: 0,
        device_name: ["Firefox on laptop", "Chromium on desktop", "Tandem web"][i as usize % 3]
            .into(),
    };
    (init, accept)
}

fn handshake_vectors() -> Value {
    let mut vectors = Vec::new();
    for i in 1..=3u64 {
        let keys = Keys::from_seed(1_000 + i);
        let (init, accept) = names(i);
        let mut p = pair(&keys, init, accept);
        let complete = seal(&mut p.primary, &InnerFrame::PairingComplete);
        let mut v = base(
            &format!("handshake-pairing-{i:03}"),
            "pairing, then PairingComplete from the primary",
            "pairing",
            &keys,
        );
        v.insert(
            "messages".into(),
            json!([
                message(&p.init.to_vec().unwrap(), &p.msg1),
                message(&p.accept.to_vec().unwrap(), &p.msg2),
                transport("initiator", &InnerFrame::PairingComplete, &complete),
            ]),
        );
        v.insert(
            "handshake_hash".into(),
            json!(hex::encode(p.primary.handshake_hash())),
        );
        v.insert("check_code".into(), json!(p.check_code.digits()));
        v.insert("result".into(), json!("valid"));
        vectors.push(Value::Object(v));
    }
    for i in 1..=3u64 {
        let keys = Keys::from_seed(2_000 + i);
        let (msg1, msg2, mut companion, mut primary) = reconnect(&keys);
        let resume = InnerFrame::from(Resume { log_id: 0, seq: 0 });
        let resumed = seal(&mut companion, &resume);
        let snapshot = InnerFrame::from(SnapshotEnd { seq: 0 });
        let answered = seal(&mut primary, &snapshot);
        let hello = Hello { capabilities: 0 }.to_vec();
        let mut v = base(
            &format!("handshake-reconnect-{i:03}"),
            "reconnect, then Resume and an answer",
            "reconnect",
            &keys,
        );
        v.insert(
            "messages".into(),
            json!([
                message(&hello, &msg1),
                message(&hello, &msg2),
                transport("initiator", &resume, &resumed),
                transport("responder", &snapshot, &answered),
            ]),
        );
        v.insert(
            "handshake_hash".into(),
            json!(hex::encode(companion.handshake_hash())),
        );
        v.insert("result".into(), json!("valid"));
        vectors.push(Value::Object(v));
    }
    // Invalid pairings: the reader of the last message must fail.
    let keys = Keys::from_seed(3_001);
    let (init, accept) = names(0);
    let p = pair(&keys, init.clone(), accept.clone());
    let mut flipped = p.msg2.clone();
    flipped[40] ^= 0x01;
    let mut v = base(
        "handshake-pairing-invalid-001",
        "message 2 tampered in transit",
        "pairing",
        &keys,
    );
    v.insert(
        "messages".into(),
        json!([
            message(&init.to_vec().unwrap(), &p.msg1),
            message(&accept.to_vec().unwrap(), &flipped)
        ]),
    );
    v.insert("result".into(), json!("invalid"));
    v.insert(
        "tamper".into(),
        json!("message 2 ciphertext: byte 40 flipped"),
    );
    v.insert("error".into(), json!("handshake_failed"));
    vectors.push(Value::Object(v));

    let mut flipped = p.msg1.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0x80;
    let mut v = base(
        "handshake-pairing-invalid-002",
        "message 1 tampered in transit",
        "pairing",
        &keys,
    );
    v.insert(
        "messages".into(),
        json!([message(&init.to_vec().unwrap(), &flipped)]),
    );
    v.insert("result".into(), json!("invalid"));
    v.insert(
        "tamper".into(),
        json!("message 1 ciphertext: last byte flipped"),
    );
    v.insert("error".into(), json!("handshake_failed"));
    vectors.push(Value::Object(v));

    // The companion used another PSK: its message 2 does not decrypt.
    let mut wrong = Keys::from_seed(3_001);
    wrong.psk[0] ^= 0xFF;
    let responder = CompanionPairing::new(
        &wrong.responder,
        &wrong.channel_id,
        &wrong.psk,
        &fixed(wrong.responder_ephemeral),
    )
    .unwrap();
    let (_, bad_msg2) = responder.respond(&p.msg1, &accept).unwrap();
    let mut v = base(
        "handshake-pairing-invalid-003",
        "the companion mixed another PSK into message 2",
        "pairing",
        &keys,
    );
    v.insert(
        "messages".into(),
        json!([
            message(&init.to_vec().unwrap(), &p.msg1),
            message(&accept.to_vec().unwrap(), &bad_msg2)
        ]),
    );
    v.insert("result".into(), json!("invalid"));
    v.insert("tamper".into(), json!("responder used another psk"));
    v.insert("error".into(), json!("handshake_failed"));
    vectors.push(Value::Object(v));

    // Message 1 made for another channel: the prologue differs.
    let mut other = Keys::from_seed(3_001);
    other.channel_id[0] ^= 0xFF;
    let (_, other_msg1) = PrimaryPairing::start(
        &other.initiator,
        &other.qr(),
        &init,
        &fixed(other.initiator_ephemeral),
    )
    .unwrap();
    let mut v = base(
        "handshake-pairing-invalid-004",
        "message 1 from a handshake on another channel",
        "pairing",
        &keys,
    );
    v.insert(
        "messages".into(),
        json!([message(&init.to_vec().unwrap(), &other_msg1)]),
    );
    v.insert("result".into(), json!("invalid"));
    v.insert("tamper".into(), json!("prologue names another channel"));
    v.insert("error".into(), json!("handshake_failed"));
    vectors.push(Value::Object(v));

    // Reconnect to the wrong primary key, and a tampered message 2.
    let keys = Keys::from_seed(3_002);
    let impostor = StaticKeypair::generate(&mut SeededRandom::new(3_003));
    let hello = Hello { capabilities: 0 };
    let (_, msg1) = CompanionReconnect::start(
        &keys.initiator,
        &impostor.public(),
        hello,
        &fixed(keys.initiator_ephemeral),
    )
    .unwrap();
    let mut v = base(
        "handshake-reconnect-invalid-001",
        "message 1 addressed to another primary key",
        "reconnect",
        &keys,
    );
    v.insert("messages".into(), json!([message(&hello.to_vec(), &msg1)]));
    v.insert("result".into(), json!("invalid"));
    v.insert(
        "tamper".into(),
        json!("initiator used another responder static key"),
    );
    v.insert("error".into(), json!("handshake_failed"));
    vectors.push(Value::Object(v));

    let (msg1, msg2, ..) = reconnect(&keys);
    let mut flipped = msg2.clone();
    flipped[0] ^= 0x01;
    let mut v = base(
        "handshake-reconnect-invalid-002",
        "message 2 tampered in transit",
        "reconnect",
        &keys,
    );
    v.insert(
        "messages".into(),
        json!([
            message(&hello.to_vec(), &msg1),
            message(&hello.to_vec(), &flipped)
        ]),
    );
    v.insert("result".into(), json!("invalid"));
    v.insert(
        "tamper".into(),
        json!("message 2 ciphertext: byte 0 flipped"),
    );
    v.insert("error".into(), json!("handshake_failed"));
    vectors.push(Value::Object(v));

    json!({ "schema": "tandem-handshake-vectors/1", "vectors": vectors })
}

#[test]
fn handshake_vectors_match_the_code() {
    let text = serde_json::to_string_pretty(&handshake_vectors()).unwrap() + "\n";
    check_file("vectors/handshakes.json", &text);
}

/// Replays every checked-in vector from its keys alone, as another
/// implementation would ([VEC-04]).
#[test]
fn every_handshake_vector_replays_from_its_keys() {
    let text = std::fs::read_to_string(spec_path("vectors/handshakes.json")).unwrap();
    let file: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(file["schema"], "tandem-handshake-vectors/1");
    let vectors = file["vectors"].as_array().unwrap();
    assert!(vectors.len() >= 12);
    for v in vectors {
        let id = v["id"].as_str().unwrap();
        let keys = Keys::from_vector(v);
        let messages = v["messages"].as_array().unwrap();
        let bytes = |m: &Value, k: &str| hex::decode(m[k].as_str().unwrap()).unwrap();
        let valid = v["result"] == "valid";
        if v["kind"] == "pairing" {
            let init = PairInit::decode(&bytes(&messages[0], "payload")).unwrap();
            let qr = keys.qr();
            let (pairing, msg1) = PrimaryPairing::start(
                &keys.initiator,
                &qr,
                &init,
                &fixed(keys.initiator_ephemeral),
            )
            .unwrap();
            let responder = CompanionPairing::new(
                &keys.responder,
                &keys.channel_id,
                &keys.psk,
                &fixed(keys.responder_ephemeral),
            )
            .unwrap();
            if valid {
                assert_eq!(msg1, bytes(&messages[0], "ciphertext"), "{id}: message 1");
                let accept = PairAccept::decode(&bytes(&messages[1], "payload")).unwrap();
                let (mut companion, msg2) = responder.respond(&msg1, &accept).unwrap();
                assert_eq!(msg2, bytes(&messages[1], "ciphertext"), "{id}: message 2");
                let primary = pairing.finish(&msg2).unwrap();
                assert_eq!(
                    hex::encode(primary.session.handshake_hash()),
                    v["handshake_hash"],
                    "{id}: hash"
                );
                assert_eq!(
                    primary.check_code.digits(),
                    v["check_code"],
                    "{id}: check code"
                );
                let frame = companion
                    .session
                    .open(&bytes(&messages[2], "ciphertext"))
                    .unwrap();
                assert_eq!(
                    plain(&frame),
                    bytes(&messages[2], "payload"),
                    "{id}: transport"
                );
            } else if messages.len() == 1 {
                let accept = PairAccept {
                    capabilities: 0,
                    device_name: "x".into(),
                };
                let err = responder
                    .respond(&bytes(&messages[0], "ciphertext"), &accept)
                    .map(|_| ())
                    .expect_err(id);
                assert_eq!(err.code().name(), v["error"].as_str(), "{id}");
            } else {
                let err = pairing
                    .finish(&bytes(&messages[1], "ciphertext"))
                    .map(|_| ())
                    .expect_err(id);
                assert_eq!(err.code().name(), v["error"].as_str(), "{id}");
            }
        } else {
            let hello = Hello { capabilities: 0 };
            let msg1 = bytes(&messages[0], "ciphertext");
            let incoming = read_reconnect(&keys.responder, &msg1, &fixed(keys.responder_ephemeral));
            if valid {
                let (handshake, own1) = CompanionReconnect::start(
                    &keys.initiator,
                    &keys.responder.public(),
                    hello,
                    &fixed(keys.initiator_ephemeral),
                )
                .unwrap();
                assert_eq!(own1, msg1, "{id}: message 1");
                let (mut primary, msg2) = incoming.unwrap().accept(hello).unwrap();
                assert_eq!(msg2, bytes(&messages[1], "ciphertext"), "{id}: message 2");
                let (_, _) = handshake.finish(&msg2).unwrap();
                assert_eq!(
                    hex::encode(primary.handshake_hash()),
                    v["handshake_hash"],
                    "{id}: hash"
                );
                let frame = primary.open(&bytes(&messages[2], "ciphertext")).unwrap();
                assert_eq!(
                    plain(&frame),
                    bytes(&messages[2], "payload"),
                    "{id}: transport"
                );
            } else if messages.len() == 1 {
                assert_eq!(
                    incoming.map(|_| ()).expect_err(id).code().name(),
                    v["error"].as_str(),
                    "{id}"
                );
            } else {
                let (handshake, _) = CompanionReconnect::start(
                    &keys.initiator,
                    &keys.responder.public(),
                    hello,
                    &fixed(keys.initiator_ephemeral),
                )
                .unwrap();
                let err = handshake
                    .finish(&bytes(&messages[1], "ciphertext"))
                    .map(|_| ())
                    .expect_err(id);
                assert_eq!(err.code().name(), v["error"].as_str(), "{id}");
            }
        }
    }
}

/// Hex wrapped at 64 digits per line, in a code block.
fn block(bytes: &[u8]) -> String {
    let hex = hex::encode(bytes);
    let lines: Vec<&str> = hex
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!("```\n{}\n```\n", lines.join("\n"))
}

fn envelope(frame: impl Into<EnvelopeFrame>) -> Vec<u8> {
    frame.into().to_bytes().unwrap().to_vec()
}

/// One encrypted frame of the example: plaintext, Noise message, `Data`.
fn sealed(out: &mut String, title: &str, session: &mut Session, link_id: u32, frame: InnerFrame) {
    let message = seal(session, &frame);
    let data = envelope(Data {
        link_id,
        payload: message.clone(),
    });
    writeln!(out, "**{title}**\n").unwrap();
    writeln!(
        out,
        "Inner frame ({} bytes):\n\n{}",
        plain(&frame).len(),
        block(&plain(&frame))
    )
    .unwrap();
    writeln!(out, "`Data` frame on link {link_id} ({} bytes; the Noise message follows the 5-byte header):\n\n{}", data.len(), block(&data)).unwrap();
}

fn worked_example() -> String {
    let keys = Keys::from_seed(4_242);
    let primary = &keys.initiator;
    let companion = &keys.responder;
    let mut rng = SeededRandom::new(4_243);
    let reconnect_companion_ephemeral: [u8; 32] = random::array(&mut rng);
    let reconnect_primary_ephemeral: [u8; 32] = random::array(&mut rng);
    let relay_ephemeral = StaticKeypair::generate(&mut rng);
    let public = |private: &[u8; 32]| StaticKeypair::from_private(*private).public();

    let mut out = String::new();
    out.push_str(include_str!("worked_example/intro.md"));
    writeln!(out, "## A.1 Fixed keys\n").unwrap();
    writeln!(out, "| Key | Private | Public |\n|---|---|---|").unwrap();
    for (name, private) in [
        ("Primary static", *primary.private()),
        ("Companion static", *companion.private()),
        (
            "Pairing, primary ephemeral (initiator)",
            keys.initiator_ephemeral,
        ),
        (
            "Pairing, companion ephemeral (responder)",
            keys.responder_ephemeral,
        ),
        (
            "Reconnect, companion ephemeral (initiator)",
            reconnect_companion_ephemeral,
        ),
        (
            "Reconnect, primary ephemeral (responder)",
            reconnect_primary_ephemeral,
        ),
        ("Relay ephemeral (route proof)", *relay_ephemeral.private()),
    ] {
        writeln!(
            out,
            "| {name} | `{}` | `{}` |",
            hex::encode(private),
            public(&private)
        )
        .unwrap();
    }
    let qr = keys.qr();
    writeln!(out, "\nThe channel id is `{}`, the `pairing_secret` `{}`, the relay `{}`. The relay gives the pairing channel link id 1 and the route attachment link id 2.\n", hex::encode(keys.channel_id), hex::encode(keys.psk), qr.relay_url).unwrap();

    writeln!(out, "## A.2 The QR payload\n").unwrap();
    writeln!(
        out,
        "`OpenChannel` from the companion:\n\n{}",
        block(&envelope(EnvelopeFrame::OpenChannel))
    )
    .unwrap();
    writeln!(
        out,
        "`ChannelOpened` from the relay (link 1, 60,000 ms):\n\n{}",
        block(&envelope(ChannelOpened {
            channel_id: keys.channel_id,
            link_id: 1,
            ttl_ms: 60_000
        }))
    )
    .unwrap();
    let binary = qr.to_binary().unwrap();
    writeln!(out, "The payload ({} bytes: version 1, flags 0, channel id, companion key, pairing secret, `ttl_s` 60, the URL with its length):\n\n{}", binary.len(), block(&binary)).unwrap();
    writeln!(
        out,
        "The text in the QR code ({} characters, QR alphanumeric mode):\n\n```\n{}\n```\n",
        qr.to_text().unwrap().len(),
        qr.to_text().unwrap()
    )
    .unwrap();

    let (init, accept) = (
        PairInit {
            capabilities: 0,
            account_name: "Ada Lovelace".into(),
            device_name: "Ada's phone".into(),
        },
        PairAccept {
            capabilities: 0,
            device_name: "Firefox on laptop".into(),
        },
    );
    let mut p = pair(&keys, init.clone(), accept.clone());
    writeln!(out, "## A.3 Handshake message 1\n").unwrap();
    writeln!(
        out,
        "`JoinChannel` from the primary and `ChannelJoined` from the relay:\n\n{}\n{}",
        block(&envelope(JoinChannel {
            channel_id: keys.channel_id
        })),
        block(&envelope(ChannelJoined {
            channel_id: keys.channel_id,
            link_id: 1
        }))
    )
    .unwrap();
    writeln!(
        out,
        "Prologue (`tandem/1 pair` and the channel id):\n\n{}",
        block(&noise::pairing_prologue(&keys.channel_id))
    )
    .unwrap();
    writeln!(
        out,
        "`PairInit` payload (account \"Ada Lovelace\", device \"Ada's phone\"):\n\n{}",
        block(&init.to_vec().unwrap())
    )
    .unwrap();
    writeln!(out, "Message 1 ({} bytes: ephemeral key 32, encrypted static key 32 + 16, encrypted payload):\n\n{}", p.msg1.len(), block(&p.msg1)).unwrap();
    writeln!(
        out,
        "As a `Data` frame on link 1:\n\n{}",
        block(&envelope(Data {
            link_id: 1,
            payload: Bytes::from(p.msg1.clone())
        }))
    )
    .unwrap();

    writeln!(out, "## A.4 Handshake message 2\n").unwrap();
    writeln!(
        out,
        "`PairAccept` payload (device \"Firefox on laptop\"):\n\n{}",
        block(&accept.to_vec().unwrap())
    )
    .unwrap();
    writeln!(
        out,
        "Message 2 ({} bytes: ephemeral key 32, encrypted payload):\n\n{}",
        p.msg2.len(),
        block(&p.msg2)
    )
    .unwrap();
    writeln!(
        out,
        "As a `Data` frame on link 1:\n\n{}",
        block(&envelope(Data {
            link_id: 1,
            payload: Bytes::from(p.msg2.clone())
        }))
    )
    .unwrap();

    writeln!(out, "## A.5 Check code\n").unwrap();
    let h = *p.primary.handshake_hash();
    let digest = {
        use sha2::Digest;
        sha2::Sha256::new()
            .chain_update(noise::CHECK_CODE_LABEL)
            .chain_update(h)
            .finalize()
    };
    let first = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
    writeln!(out, "Handshake hash `h`:\n\n{}", block(&h)).unwrap();
    writeln!(
        out,
        "`SHA-256(\"tandem/1 check-code\" || h)`:\n\n{}",
        block(&digest)
    )
    .unwrap();
    writeln!(out, "Its first four bytes are the `u32` {first}; {first} mod 1,000,000 = {}, shown as **{}** on both devices.\n", p.check_code.value(), p.check_code).unwrap();

    writeln!(out, "## A.6 The first encrypted frames of a sync\n").unwrap();
    sealed(
        &mut out,
        "PairingComplete, primary → companion",
        &mut p.primary,
        1,
        InnerFrame::PairingComplete,
    );
    let challenge = RouteChallenge {
        relay_ephemeral: relay_ephemeral.public().0,
    };
    let mac = route_proof::prove(primary, &challenge.relay_ephemeral).unwrap();
    assert!(route_proof::verify(
        &relay_ephemeral,
        &primary.public().0,
        &mac
    ));
    writeln!(out, "The primary registers its route (§3.4): `RegisterRoute`, the relay's `RouteChallenge`, the primary's `RouteProof`:\n\n{}\n{}\n{}", block(&envelope(RegisterRoute { primary_key: primary.public().0 })), block(&envelope(challenge)), block(&envelope(RouteProof { mac }))).unwrap();
    writeln!(out, "The companion attaches (`AttachRoute`, `RouteAttached` with link 2 and the primary online) and the primary learns of it (`LinkOpened`):\n\n{}\n{}\n{}", block(&envelope(AttachRoute { primary_key: primary.public().0 })), block(&envelope(RouteAttached { link_id: 2, primary_online: true })), block(&envelope(LinkOpened { link_id: 2 }))).unwrap();
    let hello = Hello { capabilities: 0 };
    let (handshake, msg1) = CompanionReconnect::start(
        companion,
        &primary.public(),
        hello,
        &fixed(reconnect_companion_ephemeral),
    )
    .unwrap();
    let incoming = read_reconnect(primary, &msg1, &fixed(reconnect_primary_ephemeral)).unwrap();
    let (mut primary_session, msg2) = incoming.accept(hello).unwrap();
    let (mut companion_session, _) = handshake.finish(&msg2).unwrap();
    writeln!(
        out,
        "Reconnect prologue (`tandem/1 reconnect` and the primary key):\n\n{}",
        block(&noise::reconnect_prologue(&primary.public().0))
    )
    .unwrap();
    writeln!(
        out,
        "Reconnect message 1 with `Hello` (capabilities 0), as a `Data` frame on link 2:\n\n{}",
        block(&envelope(Data {
            link_id: 2,
            payload: Bytes::from(msg1)
        }))
    )
    .unwrap();
    writeln!(
        out,
        "Reconnect message 2, as a `Data` frame on link 2:\n\n{}",
        block(&envelope(Data {
            link_id: 2,
            payload: Bytes::from(msg2)
        }))
    )
    .unwrap();
    writeln!(
        out,
        "Handshake hash of the reconnect:\n\n{}",
        block(primary_session.handshake_hash())
    )
    .unwrap();

    let log_id = 0x5EED_0000_0000_0001u64;
    let ada = Contact {
        contact_id: 1,
        name: "Ada".into(),
    };
    let incoming_message = Message {
        message_id: 1,
        chat_id: 1,
        sender: 1,
        timestamp_ms: 1_764_000_000_000,
        status: MessageStatus::None,
        body: Body::Text("Hi! Are you there?".into()),
    };
    let chat = Chat {
        chat_id: 1,
        contact_id: 1,
        title: "Ada".into(),
        unread: 1,
        last_message_id: 1,
    };
    sealed(
        &mut out,
        "Resume(0, 0), companion → primary: it has nothing",
        &mut companion_session,
        2,
        Resume { log_id: 0, seq: 0 }.into(),
    );
    sealed(
        &mut out,
        "SnapshotBegin, primary → companion: log id, seq 3, one chat, one contact",
        &mut primary_session,
        2,
        SnapshotBegin {
            log_id,
            seq: 3,
            chat_count: 1,
            contact_count: 1,
        }
        .into(),
    );
    sealed(
        &mut out,
        "ChatPage",
        &mut primary_session,
        2,
        ChatPage {
            chats: vec![chat.clone()],
        }
        .into(),
    );
    sealed(
        &mut out,
        "ContactPage",
        &mut primary_session,
        2,
        ContactPage {
            contacts: vec![ada],
        }
        .into(),
    );
    sealed(
        &mut out,
        "MessagePage (request 0, chat 1, no older messages)",
        &mut primary_session,
        2,
        MessagePage {
            request_id: 0,
            chat_id: 1,
            has_more: false,
            messages: vec![incoming_message],
        }
        .into(),
    );
    sealed(
        &mut out,
        "SnapshotEnd(3)",
        &mut primary_session,
        2,
        SnapshotEnd { seq: 3 }.into(),
    );
    sealed(
        &mut out,
        "Ack(3), companion → primary",
        &mut companion_session,
        2,
        Ack { seq: 3 }.into(),
    );

    writeln!(out, "## A.7 One sent message\n").unwrap();
    let client_id: [u8; 16] = random::array(&mut rng);
    let body = Body::Text("Hello, Ada!".into());
    sealed(
        &mut out,
        "Send, companion → primary",
        &mut companion_session,
        2,
        Send {
            client_id,
            chat_id: 1,
            body: body.clone(),
        }
        .into(),
    );
    sealed(
        &mut out,
        "SendAck, primary → companion: message 2, event 4",
        &mut primary_session,
        2,
        SendAck {
            client_id,
            message_id: 2,
            seq: 4,
        }
        .into(),
    );
    let sent = Message {
        message_id: 2,
        chat_id: 1,
        sender: 0,
        timestamp_ms: 1_764_000_060_000,
        status: MessageStatus::Sent,
        body,
    };
    sealed(
        &mut out,
        "Event(4, MessageAdded)",
        &mut primary_session,
        2,
        Event {
            seq: 4,
            body: EventBody::MessageAdded(sent),
        }
        .into(),
    );
    sealed(
        &mut out,
        "Ack(4), companion → primary",
        &mut companion_session,
        2,
        Ack { seq: 4 }.into(),
    );
    out
}

#[test]
fn the_worked_example_matches_the_code() {
    check_file("appendix-a-worked-example.md", &worked_example());
}
