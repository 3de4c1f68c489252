//! Handshake and session failures (spec §4.6, §5.3, §6): tampered,
//! replayed, reordered, truncated and unexpected messages each end in the
//! spec's code, and a malicious relay's meddling is always detected.

#![allow(clippy::unwrap_used)]

mod harness;

use bytes::Bytes;
use harness::Net;
use tandem_codec::Code;
use tandem_codec::envelope::{AttachRoute, Data, EnvelopeFrame};
use tandem_codec::handshake::{Hello, PairAccept, PairInit};
use tandem_codec::qr::QrPayload;
use tandem_codec::session::{Ack, InnerFrame, Resume, Typing};
use tandem_proto::handshake::{
    CompanionPairing, CompanionReconnect, PrimaryPairing, read_reconnect,
};
use tandem_proto::noise::HandshakeOptions;
use tandem_proto::primary::PrimaryConfig;
use tandem_proto::random::SeededRandom;
use tandem_proto::store::{CompanionRecord, MemoryStore};
use tandem_proto::{Error, Session, StaticKeypair};

fn keys(seed: u64) -> (StaticKeypair, StaticKeypair) {
    let mut rng = SeededRandom::new(seed);
    (
        StaticKeypair::generate(&mut rng),
        StaticKeypair::generate(&mut rng),
    )
}

/// A reconnect handshake between a companion and a primary: both sessions.
fn reconnected(seed: u64) -> (Session, Session) {
    let (companion, primary) = keys(seed);
    let options = HandshakeOptions::default();
    let (initiator, msg1) = CompanionReconnect::start(
        &companion,
        &primary.public(),
        Hello { capabilities: 0 },
        &options,
    )
    .unwrap();
    let incoming = read_reconnect(&primary, &msg1, &options).unwrap();
    assert_eq!(incoming.companion_key(), companion.public());
    let (primary_session, msg2) = incoming.accept(Hello { capabilities: 0 }).unwrap();
    let (companion_session, _) = initiator.finish(&msg2).unwrap();
    assert_eq!(
        companion_session.handshake_hash(),
        primary_session.handshake_hash()
    );
    (companion_session, primary_session)
}

fn seal(session: &mut Session, frame: InnerFrame) -> Bytes {
    let mut out = Vec::new();
    session.seal(&frame, &mut out).unwrap();
    assert_eq!(out.len(), 1);
    out.remove(0)
}

#[test]
fn a_tampered_reconnect_message_fails_on_either_side() {
    let (companion, primary) = keys(1);
    let options = HandshakeOptions::default();
    let (_, mut msg1) = CompanionReconnect::start(
        &companion,
        &primary.public(),
        Hello { capabilities: 0 },
        &options,
    )
    .unwrap();
    let last = msg1.len() - 1;
    msg1[last] ^= 1;
    let err = read_reconnect(&primary, &msg1, &options).err().unwrap();
    assert_eq!(err.code(), Code::HANDSHAKE_FAILED);

    let (initiator, msg1) = CompanionReconnect::start(
        &companion,
        &primary.public(),
        Hello { capabilities: 0 },
        &options,
    )
    .unwrap();
    let (_, mut msg2) = read_reconnect(&primary, &msg1, &options)
        .unwrap()
        .accept(Hello { capabilities: 0 })
        .unwrap();
    msg2[40] ^= 1;
    assert_eq!(
        initiator.finish(&msg2).err().unwrap().code(),
        Code::HANDSHAKE_FAILED
    );
}

#[test]
fn a_reconnect_to_the_wrong_primary_key_fails() {
    let (companion, primary) = keys(2);
    let (_, impostor) = keys(3);
    let options = HandshakeOptions::default();
    let (_, msg1) = CompanionReconnect::start(
        &companion,
        &impostor.public(),
        Hello { capabilities: 0 },
        &options,
    )
    .unwrap();
    // The prologue binds the primary key ([RECON-02]) and `es` uses it.
    assert_eq!(
        read_reconnect(&primary, &msg1, &options)
            .err()
            .unwrap()
            .code(),
        Code::HANDSHAKE_FAILED
    );
}

#[test]
fn a_pairing_message_from_another_channel_fails() {
    let (companion, primary) = keys(4);
    let options = HandshakeOptions::default();
    let qr = QrPayload {
        channel_id: [1; 16],
        companion_key: companion.public().0,
        pairing_secret: [2; 32],
        ttl_s: 60,
        relay_url: "ws://127.0.0.1:1".into(),
    };
    let init = PairInit {
        capabilities: 0,
        account_name: "a".into(),
        device_name: "p".into(),
    };
    let (_, msg1) = PrimaryPairing::start(&primary, &qr, &init, &options).unwrap();
    // The same secret on another channel: the prologue differs ([PAIR-02]).
    let responder = CompanionPairing::new(&companion, &[9; 16], &[2; 32], &options).unwrap();
    let accept = PairAccept {
        capabilities: 0,
        device_name: "c".into(),
    };
    assert_eq!(
        responder.respond(&msg1, &accept).err().unwrap().code(),
        Code::HANDSHAKE_FAILED
    );
}

#[test]
fn transport_tampering_replay_reordering_and_truncation_are_fatal() {
    let (mut companion, mut primary) = reconnected(5);
    let first = seal(&mut companion, Resume { log_id: 0, seq: 0 }.into());
    let second = seal(&mut companion, Ack { seq: 0 }.into());
    // Reordered: the second message before the first.
    let (mut c2, mut p2) = reconnected(6);
    let a = seal(&mut c2, Ack { seq: 1 }.into());
    let b = seal(&mut c2, Ack { seq: 2 }.into());
    assert!(matches!(p2.open(&b), Err(Error::DecryptFailed)));
    drop(a);
    // In order it works; a replay of the first then fails.
    assert!(primary.open(&first).is_ok());
    assert!(matches!(primary.open(&first), Err(Error::DecryptFailed)));
    // Tampered.
    let (mut c3, mut p3) = reconnected(7);
    let mut tampered = seal(&mut c3, Ack { seq: 3 }.into()).to_vec();
    tampered[0] ^= 0x80;
    assert!(matches!(p3.open(&tampered), Err(Error::DecryptFailed)));
    // Shorter than a tag and a type byte ([SESS-02]).
    let (_, mut p4) = reconnected(8);
    assert!(matches!(p4.open(&[0u8; 16]), Err(Error::DecryptFailed)));
    drop(second);
}

#[test]
fn rekeying_keeps_the_session_going_and_a_missing_rekey_is_fatal() {
    let (mut companion, mut primary) = reconnected(9);
    companion.set_rekey_interval_for_testing(3);
    primary.set_rekey_interval_for_testing(3);
    for seq in 0..10u64 {
        let mut out = Vec::new();
        companion.seal(&Ack { seq }.into(), &mut out).unwrap();
        for message in out {
            let frame = primary.open(&message).unwrap();
            if frame != InnerFrame::Rekey {
                assert_eq!(frame, Ack { seq }.into());
            }
        }
    }
    // A sender that never rekeys ([SESS-08]).
    let (mut sloppy, mut strict) = reconnected(10);
    strict.set_rekey_interval_for_testing(3);
    for seq in 0..3 {
        strict.open(&seal(&mut sloppy, Ack { seq }.into())).unwrap();
    }
    assert!(matches!(
        strict.open(&seal(&mut sloppy, Ack { seq: 3 }.into())),
        Err(Error::RekeyRequired)
    ));
}

#[test]
fn undecodable_plaintext_is_a_malformed_frame() {
    let (mut companion, mut primary) = reconnected(11);
    let garbage = companion.seal_raw_for_testing(&[0x7F, 1, 2]).unwrap();
    let err = primary.open(&garbage).unwrap_err();
    assert_eq!(err.code(), Code::MALFORMED_SESSION_FRAME);
    let ignorable = companion.seal_raw_for_testing(&[0x80, 1, 2]).unwrap();
    assert!(matches!(
        primary.open(&ignorable),
        Ok(InnerFrame::Unknown {
            frame_type: 0x80,
            ..
        })
    ));
}

/// A hand-driven companion with a linked key, after its handshake: the
/// network, the client index, its link id and its session.
fn rogue(seed: u64) -> (Net, usize, u32, Session) {
    let mut net = Net::new(seed, PrimaryConfig::default(), MemoryStore::new(seed));
    let identity = StaticKeypair::generate(&mut SeededRandom::new(seed + 100));
    net.primary()
        .link_for_testing(CompanionRecord {
            key: identity.public(),
            device_name: "rogue".into(),
            linked_at_ms: 0,
            last_seen_ms: 0,
            cursor: 0,
        })
        .unwrap();
    net.connect_primary();
    let r = net.add_raw();
    net.raw_send(
        r,
        AttachRoute {
            primary_key: net.primary_identity.public().0,
        },
    );
    let link_id = match net.raw_take(r).as_slice() {
        [EnvelopeFrame::RouteAttached(attached)] => attached.link_id,
        other => panic!("unexpected {other:?}"),
    };
    let options = HandshakeOptions::default();
    let (handshake, msg1) = CompanionReconnect::start(
        &identity,
        &net.primary_identity.public(),
        Hello { capabilities: 0 },
        &options,
    )
    .unwrap();
    net.raw_send(
        r,
        Data {
            link_id,
            payload: msg1.into(),
        },
    );
    let msg2 = match net.raw_take(r).as_slice() {
        [EnvelopeFrame::Data(data)] => data.payload.clone(),
        other => panic!("unexpected {other:?}"),
    };
    let (session, _) = handshake.finish(&msg2).unwrap();
    (net, r, link_id, session)
}

/// What the primary answered: decrypted inner frames and the link-close
/// code, if any.
fn answers(net: &mut Net, r: usize, session: &mut Session) -> (Vec<InnerFrame>, Option<Code>) {
    let mut frames = Vec::new();
    let mut closed = None;
    for frame in net.raw_take(r) {
        match frame {
            EnvelopeFrame::Data(data) => frames.push(session.open(&data.payload).unwrap()),
            EnvelopeFrame::LinkClosed(link) => closed = Some(link.code),
            other => panic!("unexpected {other:?}"),
        }
    }
    (frames, closed)
}

fn close_code(frames: &[InnerFrame]) -> Option<Code> {
    frames.iter().find_map(|f| match f {
        InnerFrame::Close(close) => Some(close.code),
        _ => None,
    })
}

#[test]
fn a_frame_before_resume_is_unexpected() {
    let (mut net, r, link_id, mut session) = rogue(20);
    let payload = seal(
        &mut session,
        Typing {
            chat_id: 1,
            active: true,
        }
        .into(),
    );
    net.raw_send(r, Data { link_id, payload });
    let (frames, closed) = answers(&mut net, r, &mut session);
    assert_eq!(close_code(&frames), Some(Code::UNEXPECTED_SESSION_FRAME));
    assert_eq!(closed, Some(Code::UNEXPECTED_SESSION_FRAME));
}

#[test]
fn a_tampered_message_closes_the_link_with_decrypt_failed() {
    let (mut net, r, link_id, mut session) = rogue(21);
    let mut payload = seal(&mut session, Resume { log_id: 0, seq: 0 }.into()).to_vec();
    payload[3] ^= 1;
    net.raw_send(
        r,
        Data {
            link_id,
            payload: payload.into(),
        },
    );
    let frames = net.raw_take(r);
    assert_eq!(
        frames,
        vec![EnvelopeFrame::LinkClosed(
            tandem_codec::envelope::LinkClosed {
                link_id,
                code: Code::DECRYPT_FAILED
            }
        )],
        "no Close inside a session that cannot be trusted, and nothing applied"
    );
}

#[test]
fn an_ack_beyond_what_was_sent_is_out_of_range() {
    let (mut net, r, link_id, mut session) = rogue(22);
    let payload = seal(&mut session, Resume { log_id: 0, seq: 0 }.into());
    net.raw_send(r, Data { link_id, payload });
    let (frames, _) = answers(&mut net, r, &mut session);
    let end = frames.iter().find_map(|f| match f {
        InnerFrame::SnapshotEnd(end) => Some(end.seq),
        _ => None,
    });
    let payload = seal(
        &mut session,
        Ack {
            seq: end.unwrap() + 5,
        }
        .into(),
    );
    net.raw_send(r, Data { link_id, payload });
    let (frames, closed) = answers(&mut net, r, &mut session);
    assert_eq!(close_code(&frames), Some(Code::ACK_OUT_OF_RANGE));
    assert_eq!(closed, Some(Code::ACK_OUT_OF_RANGE));
}

#[test]
fn unknown_inner_types_follow_the_critical_and_ignorable_ranges() {
    let (mut net, r, link_id, mut session) = rogue(23);
    let payload = seal(&mut session, Resume { log_id: 0, seq: 0 }.into());
    net.raw_send(r, Data { link_id, payload });
    answers(&mut net, r, &mut session);
    let payload = session.seal_raw_for_testing(&[0xC0, 1, 2, 3]).unwrap();
    net.raw_send(r, Data { link_id, payload });
    let (frames, closed) = answers(&mut net, r, &mut session);
    assert!(
        frames.is_empty() && closed.is_none(),
        "an ignorable frame is discarded"
    );
    let payload = session.seal_raw_for_testing(&[0x7E]).unwrap();
    net.raw_send(r, Data { link_id, payload });
    let (frames, closed) = answers(&mut net, r, &mut session);
    assert_eq!(close_code(&frames), Some(Code::MALFORMED_SESSION_FRAME));
    assert_eq!(closed, Some(Code::MALFORMED_SESSION_FRAME));
}

#[test]
fn a_relay_that_drops_or_duplicates_data_is_detected_and_nothing_is_lost() {
    use tandem_codec::session::Body;
    let config = PrimaryConfig {
        snapshot_recent: 100,
        ..PrimaryConfig::default()
    };
    let mut net = Net::new(24, config, MemoryStore::new(24));
    let now = net.now;
    let ada = net.primary().add_contact(now, "Ada").unwrap();
    let c = net.add_linked_companion("laptop");
    net.connect_primary();
    net.connect_companion(c);
    assert!(net.run_until(std::time::Duration::from_secs(60), |n| n.all_synced()));
    net.faults.drop_per_mille = 100;
    net.faults.duplicate_per_mille = 100;
    let chat = tandem_proto::store::Store::chats(net.store()).unwrap()[0].chat_id;
    for i in 0..20 {
        let now = net.now;
        net.primary()
            .receive_message(now, ada, Body::Text(format!("in {i}")))
            .unwrap();
        net.companions[c]
            .machine
            .send_message(chat, Body::Text(format!("out {i}")))
            .unwrap();
        net.drive();
    }
    let ended = net.companions[c]
        .events
        .iter()
        .filter(|e| {
            matches!(
                e,
                tandem_proto::companion::CompanionEvent::SessionEnded { .. }
            )
        })
        .count();
    assert!(
        ended > 0,
        "meddling ends sessions instead of passing silently"
    );
    net.faults = harness::Faults::default();
    assert!(
        net.run_until(std::time::Duration::from_secs(600), |n| n.all_synced()
            && n.companions[c].machine.outbox().pending().is_empty())
    );
    for i in 0..20 {
        let out = Body::Text(format!("out {i}"));
        assert_eq!(
            net.store().all_messages().filter(|m| m.body == out).count(),
            1
        );
    }
    let cache: Vec<_> = net.companions[c]
        .machine
        .cache()
        .messages
        .values()
        .cloned()
        .collect();
    let store: Vec<_> = net.store().all_messages().cloned().collect();
    assert_eq!(cache, store);
}

/// [ENV-06]: a frame from the relay that does not decode closes the
/// connection with `malformed_frame`; the Close reaches the driver even
/// though the machine already counts the connection as lost.
#[test]
fn an_undecodable_relay_frame_closes_the_connection_with_malformed_frame() {
    use tandem_proto::Transmit;
    use tandem_proto::companion::{Companion, CompanionConfig, Credentials};
    use tandem_proto::primary::Primary;

    fn close_of(mut next: impl FnMut() -> Option<Transmit>) -> Option<Code> {
        std::iter::from_fn(&mut next).find_map(|t| match t {
            Transmit::Close { code, .. } => Some(code),
            Transmit::Frame(_) => None,
        })
    }
    let garbage = Bytes::from_static(&[0x0f, 0x00]);
    let now = tandem_proto::Instant::from_micros(0);

    let (primary_key, companion_key) = keys(40);
    let credentials = Credentials {
        identity: companion_key,
        primary_key: primary_key.public(),
        account_name: "Ada".into(),
    };
    let mut companion = Companion::new(
        CompanionConfig::default(),
        credentials,
        Box::new(SeededRandom::new(41)),
    );
    companion.handle_connected(now).unwrap();
    let _ = companion.handle_frame(now, garbage.clone());
    assert_eq!(
        close_of(|| companion.poll_transmit()),
        Some(Code::MALFORMED_FRAME)
    );

    let mut primary = Primary::new(PrimaryConfig::default(), primary_key, MemoryStore::new(42));
    primary.handle_connected(now).unwrap();
    let _ = primary.handle_frame(now, garbage);
    assert_eq!(
        close_of(|| primary.poll_transmit()),
        Some(Code::MALFORMED_FRAME)
    );
}
