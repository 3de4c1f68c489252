//! Criterion benchmarks of the core (issue #5): pairing and reconnect
//! handshakes, and session throughput (encode + encrypt, decrypt + decode)
//! for 64-byte and 60 KiB frames, each beside raw snow doing the same
//! pattern, suite and message sizes in the same run.
//!
//! `cargo bench -p tandem-proto --bench core` (pure-Rust primitives) and
//! `cargo bench -p tandem-proto --bench core --features ring`.

#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use tandem_codec::handshake::{Hello, PairAccept, PairInit};
use tandem_codec::qr::QrPayload;
use tandem_codec::session::{Body, Chunk, InnerFrame, Send};
use tandem_proto::handshake::{
    CompanionPairing, CompanionReconnect, PrimaryPairing, read_reconnect,
};
use tandem_proto::noise::{self, HandshakeOptions};
use tandem_proto::random::SeededRandom;
use tandem_proto::{Session, StaticKeypair};

fn keys() -> (StaticKeypair, StaticKeypair) {
    let mut rng = SeededRandom::new(1);
    (
        StaticKeypair::generate(&mut rng),
        StaticKeypair::generate(&mut rng),
    )
}

fn qr(companion: &StaticKeypair) -> QrPayload {
    QrPayload {
        channel_id: [7; 16],
        companion_key: companion.public().0,
        pairing_secret: [9; 32],
        ttl_s: 60,
        relay_url: "wss://relay.example.org".into(),
    }
}

fn init() -> PairInit {
    PairInit {
        capabilities: 0,
        account_name: "Ada Lovelace".into(),
        device_name: "Ada's phone".into(),
    }
}

fn accept() -> PairAccept {
    PairAccept {
        capabilities: 0,
        device_name: "Firefox on laptop".into(),
    }
}

fn raw_builder<'a>(protocol: &str, prologue: &'a [u8], private: &'a [u8]) -> snow::Builder<'a> {
    snow::Builder::new(protocol.parse().unwrap())
        .prologue(prologue)
        .unwrap()
        .local_private_key(private)
        .unwrap()
}

fn raw_handshake(
    initiator: &mut snow::HandshakeState,
    responder: &mut snow::HandshakeState,
    p1: &[u8],
    p2: &[u8],
) {
    let mut m = [0u8; 1024];
    let mut p = [0u8; 1024];
    let n = initiator.write_message(p1, &mut m).unwrap();
    responder.read_message(&m[..n], &mut p).unwrap();
    let n = responder.write_message(p2, &mut m).unwrap();
    initiator.read_message(&m[..n], &mut p).unwrap();
}

fn handshakes(c: &mut Criterion) {
    let (primary, companion) = keys();
    let options = HandshakeOptions::default();
    let qr = qr(&companion);
    let (init, accept) = (init(), accept());
    let mut group = c.benchmark_group("handshake");
    group.throughput(Throughput::Elements(1));

    group.bench_function("pairing/tandem", |b| {
        b.iter(|| {
            let (pairing, msg1) = PrimaryPairing::start(&primary, &qr, &init, &options).unwrap();
            let responder =
                CompanionPairing::new(&companion, &qr.channel_id, &qr.pairing_secret, &options)
                    .unwrap();
            let (_, msg2) = responder.respond(&msg1, &accept).unwrap();
            black_box(pairing.finish(&msg2).unwrap().check_code)
        })
    });
    let prologue = noise::pairing_prologue(&qr.channel_id);
    let (p1, p2) = (init.to_vec().unwrap(), accept.to_vec().unwrap());
    group.bench_function("pairing/raw-snow", |b| {
        b.iter(|| {
            let mut i = raw_builder(noise::PAIRING_PROTOCOL, &prologue, primary.private())
                .remote_public_key(&companion.public().0)
                .unwrap()
                .psk(2, &qr.pairing_secret)
                .unwrap()
                .build_initiator()
                .unwrap();
            let mut r = raw_builder(noise::PAIRING_PROTOCOL, &prologue, companion.private())
                .psk(2, &qr.pairing_secret)
                .unwrap()
                .build_responder()
                .unwrap();
            raw_handshake(&mut i, &mut r, &p1, &p2);
            black_box(i.into_transport_mode().unwrap());
            black_box(r.into_transport_mode().unwrap());
        })
    });

    let hello = Hello { capabilities: 0 };
    group.bench_function("reconnect/tandem", |b| {
        b.iter(|| {
            let (handshake, msg1) =
                CompanionReconnect::start(&companion, &primary.public(), hello, &options).unwrap();
            let (_, msg2) = read_reconnect(&primary, &msg1, &options)
                .unwrap()
                .accept(hello)
                .unwrap();
            black_box(handshake.finish(&msg2).unwrap())
        })
    });
    let prologue = noise::reconnect_prologue(&primary.public().0);
    let h = hello.to_vec();
    group.bench_function("reconnect/raw-snow", |b| {
        b.iter(|| {
            let mut i = raw_builder(noise::RECONNECT_PROTOCOL, &prologue, companion.private())
                .remote_public_key(&primary.public().0)
                .unwrap()
                .build_initiator()
                .unwrap();
            let mut r = raw_builder(noise::RECONNECT_PROTOCOL, &prologue, primary.private())
                .build_responder()
                .unwrap();
            raw_handshake(&mut i, &mut r, &h, &h);
            black_box(i.into_transport_mode().unwrap());
            black_box(r.into_transport_mode().unwrap());
        })
    });
    group.finish();
}

/// Two connected sessions.
fn sessions() -> (Session, Session) {
    let (primary, companion) = keys();
    let options = HandshakeOptions::default();
    let hello = Hello { capabilities: 0 };
    let (handshake, msg1) =
        CompanionReconnect::start(&companion, &primary.public(), hello, &options).unwrap();
    let (primary_session, msg2) = read_reconnect(&primary, &msg1, &options)
        .unwrap()
        .accept(hello)
        .unwrap();
    let (companion_session, _) = handshake.finish(&msg2).unwrap();
    (companion_session, primary_session)
}

fn raw_transports() -> (snow::TransportState, snow::TransportState) {
    let (primary, companion) = keys();
    let prologue = noise::reconnect_prologue(&primary.public().0);
    let mut i = raw_builder(noise::RECONNECT_PROTOCOL, &prologue, companion.private())
        .remote_public_key(&primary.public().0)
        .unwrap()
        .build_initiator()
        .unwrap();
    let mut r = raw_builder(noise::RECONNECT_PROTOCOL, &prologue, primary.private())
        .build_responder()
        .unwrap();
    raw_handshake(&mut i, &mut r, &[], &[]);
    (
        i.into_transport_mode().unwrap(),
        r.into_transport_mode().unwrap(),
    )
}

fn throughput(c: &mut Criterion) {
    let small = InnerFrame::from(Send {
        client_id: [3; 16],
        chat_id: 42,
        body: Body::Text("x".repeat(64 - 1 - 16 - 8 - 3)),
    });
    let large = InnerFrame::from(Chunk {
        transfer_id: 1,
        offset: 0,
        data: Bytes::from(vec![0xAB; 61_440]),
    });
    let mut group = c.benchmark_group("session");
    for (name, frame) in [("64B", small), ("60KiB", large)] {
        let plain_len = frame.to_bytes().unwrap().len();
        group.throughput(Throughput::Bytes(plain_len as u64));
        let (mut tx, mut rx) = sessions();
        let mut out = Vec::with_capacity(2);
        group.bench_with_input(
            BenchmarkId::new("tandem seal+open", name),
            &frame,
            |b, frame| {
                b.iter(|| {
                    out.clear();
                    tx.seal(frame, &mut out).unwrap();
                    for message in &out {
                        black_box(rx.open(message).unwrap());
                    }
                })
            },
        );
        let (mut raw_tx, mut raw_rx) = raw_transports();
        let payload = vec![0xAB; plain_len];
        let mut message = vec![0u8; plain_len + 16];
        let mut decrypted = vec![0u8; plain_len];
        group.bench_with_input(
            BenchmarkId::new("raw snow write+read", name),
            &payload,
            |b, payload| {
                b.iter(|| {
                    let n = raw_tx.write_message(payload, &mut message).unwrap();
                    black_box(raw_rx.read_message(&message[..n], &mut decrypted).unwrap());
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, handshakes, throughput);
criterion_main!(benches);
