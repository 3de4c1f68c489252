//! Pairing over the in-memory network (spec §4): the QR code, the IKpsk2
//! handshake, the check code on both sides, the person's confirmation, and
//! every failure ending with its code and nothing stored.

#![allow(clippy::unwrap_used)]

mod harness;

use std::time::Duration;

use harness::Net;
use tandem_codec::Code;
use tandem_codec::qr::QrPayload;
use tandem_proto::companion::pairing::{PairingConfig, PairingEvent};
use tandem_proto::primary::{Confirmation, PrimaryConfig, PrimaryEvent};
use tandem_proto::store::{CompanionRecord, MemoryStore, Store};

const LIMIT: Duration = Duration::from_secs(600);

fn net(seed: u64) -> Net {
    let mut net = Net::new(seed, PrimaryConfig::default(), MemoryStore::new(seed));
    net.connect_primary();
    net
}

fn shown_code(net: &Net, i: usize) -> QrPayload {
    net.pairings[i]
        .events
        .iter()
        .rev()
        .find_map(|e| match e {
            PairingEvent::ShowCode { qr, text, .. } => {
                assert_eq!(&QrPayload::from_text(text).unwrap(), qr);
                Some(qr.clone())
            }
            _ => None,
        })
        .expect("a code is shown")
}

fn confirmation(net: &Net) -> Option<(u32, String, tandem_proto::noise::CheckCode)> {
    net.primary_events.iter().find_map(|e| match e {
        PrimaryEvent::ConfirmPairing {
            link_id,
            device_name,
            check_code,
            ..
        } => Some((*link_id, device_name.clone(), *check_code)),
        _ => None,
    })
}

fn failure(net: &Net, i: usize) -> Option<Code> {
    net.pairings[i].events.iter().find_map(|e| match e {
        PairingEvent::Failed { code, .. } => Some(*code),
        _ => None,
    })
}

#[test]
fn pairing_links_after_confirmation_and_the_companion_then_syncs() {
    let mut net = net(1);
    let p = net.start_pairing(PairingConfig {
        device_name: "Firefox on laptop".into(),
        ..PairingConfig::default()
    });
    let qr = shown_code(&net, p);
    let now = net.now;
    net.primary().link(now, qr).unwrap();
    net.drive();
    let (link_id, device_name, phone_code) = confirmation(&net).expect("confirmation asked");
    assert_eq!(device_name, "Firefox on laptop");
    let web_code = net.pairings[p].events.iter().find_map(|e| match e {
        PairingEvent::CheckCode { code, .. } => Some(*code),
        _ => None,
    });
    assert_eq!(
        web_code,
        Some(phone_code),
        "both sides show the same check code"
    );
    // [PAIR-06] nothing is stored before the person confirms.
    assert!(net.store().companions().unwrap().is_empty());
    let now = net.now;
    net.primary()
        .confirm_pairing(now, link_id, Confirmation::Accept)
        .unwrap();
    net.drive();
    let credentials = net.pairings[p]
        .events
        .iter()
        .find_map(|e| match e {
            PairingEvent::Paired(c) => Some(c.clone()),
            _ => None,
        })
        .expect("paired");
    assert_eq!(credentials.primary_key, net.primary_identity.public());
    let linked = net.store().companions().unwrap();
    assert_eq!(linked.len(), 1);
    assert_eq!(linked[0].key, credentials.identity.public());
    assert_eq!(linked[0].device_name, "Firefox on laptop");
    // The new companion reconnects on the route and syncs.
    let c = net.add_companion(credentials);
    net.connect_companion(c);
    assert!(net.run_until(LIMIT, |n| n.all_synced()));
}

#[test]
fn a_declined_link_stores_nothing_and_tells_the_companion() {
    let mut net = net(2);
    let p = net.start_pairing(PairingConfig::default());
    let qr = shown_code(&net, p);
    let now = net.now;
    net.primary().link(now, qr).unwrap();
    net.drive();
    let (link_id, ..) = confirmation(&net).unwrap();
    net.primary()
        .confirm_pairing(now, link_id, Confirmation::Reject)
        .unwrap();
    net.drive();
    assert_eq!(failure(&net, p), Some(Code::PAIRING_REJECTED));
    assert!(net.store().companions().unwrap().is_empty());
}

#[test]
fn a_wrong_pairing_secret_fails_the_handshake() {
    let mut net = net(3);
    let p = net.start_pairing(PairingConfig::default());
    let mut qr = shown_code(&net, p);
    qr.pairing_secret[0] ^= 1;
    let now = net.now;
    net.primary().link(now, qr).unwrap();
    net.drive();
    assert!(confirmation(&net).is_none());
    assert!(net.primary_events.iter().any(
        |e| matches!(e, PrimaryEvent::PairingFailed { code, .. } if *code == Code::HANDSHAKE_FAILED)
    ));
    assert_eq!(failure(&net, p), Some(Code::HANDSHAKE_FAILED));
    assert!(net.store().companions().unwrap().is_empty());
}

#[test]
fn a_wrong_companion_key_fails_the_handshake() {
    let mut net = net(4);
    let p = net.start_pairing(PairingConfig::default());
    let mut qr = shown_code(&net, p);
    qr.companion_key =
        tandem_proto::StaticKeypair::generate(&mut tandem_proto::random::SeededRandom::new(5))
            .public()
            .0;
    let now = net.now;
    net.primary().link(now, qr).unwrap();
    net.drive();
    assert!(net.primary_events.iter().any(
        |e| matches!(e, PrimaryEvent::PairingFailed { code, .. } if *code == Code::HANDSHAKE_FAILED)
    ));
    assert!(confirmation(&net).is_none());
    assert!(net.store().companions().unwrap().is_empty());
}

#[test]
fn expired_codes_rotate_and_the_companion_gives_up_after_five() {
    let mut net = net(6);
    let p = net.start_pairing(PairingConfig::default());
    assert!(net.run_until(LIMIT, |n| failure(n, p).is_some()));
    let numbers: Vec<u32> = net.pairings[p]
        .events
        .iter()
        .filter_map(|e| match e {
            PairingEvent::ShowCode { number, qr, .. } => {
                assert_eq!(qr.ttl_s, 60);
                Some(*number)
            }
            _ => None,
        })
        .collect();
    assert_eq!(numbers, vec![1, 2, 3, 4, 5]);
    let secrets: std::collections::HashSet<[u8; 32]> = net.pairings[p]
        .events
        .iter()
        .filter_map(|e| match e {
            PairingEvent::ShowCode { qr, .. } => Some(qr.pairing_secret),
            _ => None,
        })
        .collect();
    assert_eq!(secrets.len(), 5, "[QR-01] a fresh secret for every code");
    assert_eq!(failure(&net, p), Some(Code::CHANNEL_EXPIRED));
}

#[test]
fn an_expired_code_cannot_be_joined() {
    let mut net = net(7);
    let p = net.start_pairing(PairingConfig {
        max_codes: 2,
        ..PairingConfig::default()
    });
    let first = shown_code(&net, p);
    net.advance(Duration::from_secs(61));
    let now = net.now;
    net.primary().link(now, first).unwrap();
    net.drive();
    assert!(net.primary_events.iter().any(
        |e| matches!(e, PrimaryEvent::PairingFailed { code, .. } if *code == Code::UNKNOWN_CHANNEL)
    ));
}

#[test]
fn a_pairing_cut_while_waiting_for_confirmation_is_reported_failed() {
    let mut net = net(12);
    let p = net.start_pairing(PairingConfig::default());
    let qr = shown_code(&net, p);
    let now = net.now;
    net.primary().link(now, qr).unwrap();
    net.drive();
    assert!(confirmation(&net).is_some());
    net.cut_primary();
    assert!(net.primary_events.iter().any(|e| matches!(
        e,
        PrimaryEvent::PairingFailed { code, .. } if *code == Code::GOING_AWAY
    )));
    assert!(net.store().companions().unwrap().is_empty());
}

#[test]
fn an_unconfirmed_link_times_out() {
    let mut net = net(8);
    let p = net.start_pairing(PairingConfig::default());
    let qr = shown_code(&net, p);
    let now = net.now;
    net.primary().link(now, qr).unwrap();
    assert!(net.run_until(LIMIT, |n| failure(n, p).is_some()));
    assert_eq!(failure(&net, p), Some(Code::HANDSHAKE_TIMEOUT));
    assert!(net.store().companions().unwrap().is_empty());
}

#[test]
fn a_primary_at_the_companion_limit_refuses_before_joining() {
    let mut net = net(9);
    for i in 0..4u8 {
        let record = CompanionRecord {
            key: tandem_proto::PublicKey([i + 1; 32]),
            device_name: format!("device {i}"),
            linked_at_ms: 0,
            last_seen_ms: 0,
            cursor: 0,
        };
        net.primary().link_for_testing(record).unwrap();
    }
    let p = net.start_pairing(PairingConfig::default());
    let qr = shown_code(&net, p);
    let now = net.now;
    let err = net.primary().link(now, qr).unwrap_err();
    assert_eq!(err.code(), Code::DEVICE_LIMIT);
    net.drive();
    assert!(
        !net.pairings[p]
            .events
            .contains(&PairingEvent::PrimaryJoined)
    );
}
