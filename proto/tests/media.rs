//! Media over the in-memory network (spec §8): uploads checked against
//! their hash, resumed after a lost connection from what the primary made
//! durable, downloads whole or by range, and the typed failures.

#![allow(clippy::unwrap_used)]

mod harness;

use std::time::Duration;

use bytes::Bytes;
use harness::Net;
use sha2::{Digest, Sha256};
use tandem_codec::Code;
use tandem_codec::session::{Body, MediaRef};
use tandem_proto::companion::{CompanionEvent, UploadRequest};
use tandem_proto::primary::PrimaryConfig;
use tandem_proto::random::{Random, SeededRandom};
use tandem_proto::store::{MediaState, MemoryStore, Store};

const LIMIT: Duration = Duration::from_secs(120);

fn file(len: usize, seed: u64) -> (Bytes, [u8; 32]) {
    let mut data = vec![0u8; len];
    SeededRandom::new(seed).fill(&mut data);
    let hash: [u8; 32] = Sha256::digest(&data).into();
    (Bytes::from(data), hash)
}

fn synced_net(seed: u64) -> (Net, usize) {
    let mut net = Net::new(seed, PrimaryConfig::default(), MemoryStore::new(seed));
    let now = net.now;
    net.primary().add_contact(now, "Ada").unwrap();
    let c = net.add_linked_companion("laptop");
    net.connect_primary();
    net.connect_companion(c);
    assert!(net.run_until(LIMIT, |n| n.all_synced()));
    (net, c)
}

fn upload(net: &mut Net, c: usize, data: &Bytes, media_id: [u8; 32]) -> u32 {
    net.companions[c]
        .machine
        .upload(UploadRequest {
            media_id,
            size: data.len() as u64,
            mime: "application/octet-stream".into(),
            name: "file.bin".into(),
            source: Box::new(data.clone()),
        })
        .unwrap()
}

fn has(net: &Net, c: usize, pred: impl Fn(&CompanionEvent) -> bool) -> bool {
    net.companions[c].events.iter().any(pred)
}

fn downloaded(net: &Net, c: usize, t: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let mut next = None;
    for event in &net.companions[c].events {
        if let CompanionEvent::DownloadChunk {
            transfer_id,
            offset,
            data,
        } = event
            && *transfer_id == t
        {
            let expected = *next.get_or_insert(*offset);
            assert_eq!(*offset, expected, "chunks arrive in order without gaps");
            out.extend_from_slice(data);
            next = Some(offset + data.len() as u64);
        }
    }
    out
}

#[test]
fn upload_then_send_then_download_whole_and_by_range() {
    let (mut net, c) = synced_net(1);
    let (data, media_id) = file(300_000, 2);
    let t = upload(&mut net, c, &data, media_id);
    assert!(net.run_until(LIMIT, |n| has(
        n,
        c,
        |e| matches!(e, CompanionEvent::UploadComplete { transfer_id, .. } if *transfer_id == t)
    )));
    assert_eq!(
        net.store().media_state(&media_id).unwrap(),
        MediaState::Complete { size: 300_000 }
    );

    let chat = net.store().chats().unwrap()[0].chat_id;
    let body = Body::Media(MediaRef {
        media_id,
        size: 300_000,
        mime: "application/octet-stream".into(),
        name: "file.bin".into(),
        caption: "a file".into(),
    });
    net.companions[c]
        .machine
        .send_message(chat, body.clone())
        .unwrap();
    assert!(net.run_until(LIMIT, |n| {
        n.companions[c].machine.outbox().pending().is_empty()
    }));
    assert!(net.store().all_messages().any(|m| m.body == body));

    let whole = net.companions[c].machine.download(media_id, 0, 0).unwrap();
    assert!(net.run_until(LIMIT, |n| has(n, c, |e| matches!(e, CompanionEvent::DownloadComplete { transfer_id, verified: true, .. } if *transfer_id == whole))));
    assert_eq!(downloaded(&net, c, whole), data.to_vec());

    let part = net.companions[c]
        .machine
        .download(media_id, 1_000, 70_000)
        .unwrap();
    assert!(net.run_until(LIMIT, |n| has(n, c, |e| matches!(e, CompanionEvent::DownloadComplete { transfer_id, .. } if *transfer_id == part))));
    assert_eq!(downloaded(&net, c, part), data[1_000..71_000].to_vec());
}

#[test]
fn an_upload_resumes_from_what_the_primary_holds() {
    let (mut net, c) = synced_net(3);
    // 82 chunks: more than the initial credit of 32, so it cannot finish
    // in the few steps before the cut.
    let (data, media_id) = file(5_000_000, 4);
    let t = upload(&mut net, c, &data, media_id);
    // Let some chunks through, then cut the connection mid-transfer.
    for _ in 0..3 {
        net.step();
    }
    net.cut_companion(c);
    let held = match net.store().media_state(&media_id).unwrap() {
        MediaState::Partial { bytes } => bytes,
        other => panic!("expected a partial upload, got {other:?}"),
    };
    assert!(held > 0);
    net.companions[c].events.clear();
    assert!(net.run_until(LIMIT, |n| has(
        n,
        c,
        |e| matches!(e, CompanionEvent::UploadComplete { transfer_id, .. } if *transfer_id == t)
    )));
    // The first progress after the reconnect starts where the primary was.
    let resumed_at = net.companions[c].events.iter().find_map(|e| match e {
        CompanionEvent::UploadProgress { sent, .. } => Some(*sent),
        _ => None,
    });
    assert_eq!(resumed_at, Some(held));
    assert_eq!(
        net.store().media_state(&media_id).unwrap(),
        MediaState::Complete { size: 5_000_000 }
    );
    let stored = net.store().read_media(&media_id, 0, 5_000_000).unwrap();
    assert_eq!(stored, data);
}

#[test]
fn a_download_resumes_after_a_lost_connection_and_still_verifies() {
    let (mut net, c) = synced_net(5);
    let (data, media_id) = file(5_000_000, 6);
    let t = upload(&mut net, c, &data, media_id);
    assert!(net.run_until(LIMIT, |n| has(
        n,
        c,
        |e| matches!(e, CompanionEvent::UploadComplete { transfer_id, .. } if *transfer_id == t)
    )));
    let d = net.companions[c].machine.download(media_id, 0, 0).unwrap();
    for _ in 0..3 {
        net.step();
    }
    net.cut_companion(c);
    assert!(net.run_until(LIMIT, |n| has(n, c, |e| matches!(e, CompanionEvent::DownloadComplete { transfer_id, verified: true, .. } if *transfer_id == d))));
    assert_eq!(downloaded(&net, c, d), data.to_vec());
}

#[test]
fn a_file_that_does_not_match_its_hash_is_discarded() {
    let (mut net, c) = synced_net(7);
    let (data, _) = file(100_000, 8);
    let wrong = [7u8; 32];
    let t = upload(&mut net, c, &data, wrong);
    assert!(net.run_until(LIMIT, |n| has(n, c, |e| matches!(
        e,
        CompanionEvent::TransferFailed { .. }
    ))));
    assert!(has(&net, c, |e| *e
        == CompanionEvent::TransferFailed {
            transfer_id: t,
            code: Code::MEDIA_HASH_MISMATCH
        }));
    assert_eq!(net.store().media_state(&wrong).unwrap(), MediaState::Absent);
    // A message naming media the primary does not hold is refused.
    let chat = net.store().chats().unwrap()[0].chat_id;
    let body = Body::Media(MediaRef {
        media_id: wrong,
        size: 100_000,
        mime: "x/y".into(),
        name: "f".into(),
        caption: String::new(),
    });
    let client_id = net.companions[c].machine.send_message(chat, body).unwrap();
    net.drive();
    assert!(has(&net, c, |e| *e
        == CompanionEvent::SendFailed {
            client_id,
            code: Code::MEDIA_NOT_FOUND
        }));
}

#[test]
fn unknown_media_and_oversized_uploads_get_typed_errors() {
    let (mut net, c) = synced_net(9);
    let d = net.companions[c].machine.download([9u8; 32], 0, 0).unwrap();
    net.drive();
    assert!(has(&net, c, |e| *e
        == CompanionEvent::TransferFailed {
            transfer_id: d,
            code: Code::MEDIA_NOT_FOUND
        }));
    let t = net.companions[c]
        .machine
        .upload(UploadRequest {
            media_id: [1u8; 32],
            size: (1 << 30) + 1,
            mime: "x/y".into(),
            name: "huge".into(),
            source: Box::new(Bytes::new()),
        })
        .unwrap();
    net.drive();
    assert!(has(&net, c, |e| *e
        == CompanionEvent::TransferFailed {
            transfer_id: t,
            code: Code::MEDIA_TOO_LARGE
        }));
    assert!(
        net.companions[c].machine.is_live(),
        "request errors leave the session open"
    );
}
