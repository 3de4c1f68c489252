//! The phone SIGKILLed at random points (issue 7): during a burst of sends and
//! injects, every acknowledged send is stored once and every event arrives by
//! resume ([SYNC-17], [SYNC-03]); an upload resumes from durable bytes ([MEDIA-04]).

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;

use bytes::Bytes;
use common::*;
use sha2::{Digest, Sha256};
use tandem_codec::limits::MAX_CHUNK;
use tandem_codec::session::Body;
use tandem_proto::companion::{Companion, CompanionEvent, UploadRequest};
use tandem_proto::random::SeededRandom;
use tandem_proto::store::{MediaState, Store};

const KILLS: usize = 5;
const SENDS_PER_ROUND: usize = 30;
const INJECTS_PER_ROUND: usize = 4;

fn text(s: &str) -> Body {
    Body::Text(s.to_owned())
}

async fn serving_phone_with_companion(
    relay: &Relay,
    state: &tandem_phone::state::State,
) -> (Phone, Driven<Companion>) {
    let mut phone = Phone::binary(state, &relay.url);
    phone.wait_line("route registered").await;
    let mut pairing = pairing(&relay.url, "Laptop");
    let code = shown_code(&mut pairing).await;
    let out = run_bin(state.dir(), &["link", "--yes", &code]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut companion = companion(&relay.url, paired(&mut pairing).await);
    synced(&mut companion).await;
    (phone, companion)
}

/// Runs until `done` holds, moving on each companion event.
async fn until(
    companion: &mut Driven<Companion>,
    what: &str,
    mut done: impl AsyncFnMut(&Driven<Companion>) -> bool,
) {
    while !done(companion).await {
        companion.next(what, |_| Some(())).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_a_burst_loses_and_doubles_nothing() {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    println!("kill-point seed {seed}");
    let mut rng = SeededRandom::new(seed);
    let relay = Relay::start().await;
    let (_dir, path) = temp();
    let state_dir = path.join("phone");
    let out = run_bin(&state_dir, &["init", "--name", "Ada"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let state = tandem_phone::state::State::new(&state_dir);
    let (mut phone, mut companion) = serving_phone_with_companion(&relay, &state).await;
    let chats = [chat_id(&state, "Ada Lovelace"), chat_id(&state, "Echo")];

    let mut sends: Vec<String> = Vec::new();
    let mut injected: Vec<String> = Vec::new();
    let mut pending_at_kills = 0;
    for round in 0..KILLS {
        let mut injects = Vec::new();
        for i in 0..INJECTS_PER_ROUND {
            let body = format!("inject {round}.{i}");
            let dir = state_dir.clone();
            injects.push(tokio::spawn(async move {
                let out = run_bin(&dir, &["inject", "--from", "Ada", &body]).await;
                (body, out)
            }));
        }
        let mut ids = Vec::new();
        for i in 0..SENDS_PER_ROUND {
            let body = format!("send {round}.{i}");
            let chat = chats[i % 2];
            let t = text(&body);
            ids.push(
                companion
                    .call(move |c, _| c.send_message(chat, t))
                    .await
                    .unwrap(),
            );
            sends.push(body);
        }
        // The kill point: right after a random number of this round's
        // sends were acknowledged, with the rest in flight.
        let kill_after = 1 + (rng.next_u64() % (SENDS_PER_ROUND as u64 / 2)) as usize;
        let mut acked = 0;
        while acked < kill_after {
            companion
                .next("an acknowledgement", |e| match e {
                    CompanionEvent::SendAcked { client_id, .. } if ids.contains(client_id) => {
                        Some(())
                    }
                    _ => None,
                })
                .await;
            acked += 1;
        }
        phone.stop().await; // SIGKILL
        let pending = companion.call(|c, _| c.outbox().pending().len()).await;
        println!("round {round}: killed after {acked} acknowledgements, {pending} sends pending");
        pending_at_kills += pending;
        phone = Phone::binary(&state, &relay.url);
        for inject in injects {
            let (body, out) = inject.await.unwrap();
            assert!(
                out.status.success(),
                "{body}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            injected.push(body);
        }
        phone.wait_line("route registered").await;
    }

    assert!(
        pending_at_kills > 0,
        "the kills landed in the middle of bursts"
    );
    // Everything settles: no send pending, the inbox applied, the
    // companion at the head of the log.
    until(&mut companion, "the sends", async |c| {
        c.call(|c, _| c.outbox().pending().is_empty()).await
    })
    .await;
    // The simulated statuses keep moving for a moment after the last
    // send: settle on the companion mirroring the store exactly.
    until(&mut companion, "the head", async |c| {
        let store = store(&state);
        let waiting = store.inbox(10).unwrap().len();
        let messages = store.all_messages().unwrap();
        let head = store.head().unwrap();
        let cache = c.call(|c, _| c.cache().clone()).await;
        waiting == 0
            && cache.seq == head
            && cache.messages.values().cloned().collect::<Vec<_>>() == messages
    })
    .await;

    companion.drain();
    let store = store(&state);
    let messages = store.all_messages().unwrap();
    let count = |body: &str, from_me: bool| {
        messages
            .iter()
            .filter(|m| m.body == text(body) && (m.sender == 0) == from_me)
            .count()
    };
    for body in &sends {
        assert_eq!(count(body, true), 1, "{body} must be stored exactly once");
    }
    for body in &injected {
        assert_eq!(count(body, false), 1, "{body} must be stored exactly once");
    }
    // Every acknowledgement names the message that holds that send.
    let by_id: HashMap<u64, &tandem_codec::session::Message> =
        messages.iter().map(|m| (m.message_id, m)).collect();
    let acks: Vec<u64> = companion
        .seen
        .iter()
        .filter_map(|e| match e {
            CompanionEvent::SendAcked { message_id, .. } => Some(*message_id),
            _ => None,
        })
        .collect();
    assert_eq!(acks.len(), sends.len());
    for id in acks {
        assert_eq!(by_id[&id].sender, 0);
    }
    // Every event reached the companion (checked above), by resume: one
    // snapshot only.
    let snapshots = companion
        .seen
        .iter()
        .filter(|e| matches!(e, CompanionEvent::SnapshotStarted))
        .count();
    assert_eq!(snapshots, 1, "restarts resume; they never force a resync");
    companion.stop().await;
    phone.stop().await;
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_an_upload_resumes_from_the_durable_bytes() {
    let relay = Relay::start().await;
    let (_dir, path) = temp();
    let state = new_phone(&path);
    let (phone, mut companion) = serving_phone_with_companion(&relay, &state).await;

    let size = 200 * MAX_CHUNK;
    let data: Vec<u8> = (0..size)
        .map(|i| (i % 253) as u8 ^ (i / 253) as u8)
        .collect();
    let data = Bytes::from(data);
    let media_id: [u8; 32] = Sha256::digest(&data).into();
    let source = data.clone();
    let transfer = companion
        .call(move |c, _| {
            c.upload(UploadRequest {
                media_id,
                size: size as u64,
                mime: "application/octet-stream".into(),
                name: "big.bin".into(),
                source: Box::new(source),
            })
        })
        .await
        .unwrap();
    // Past the first credit, so the phone has granted more: it wrote
    // chunks durably first.
    companion
        .wait("progress past the first credit", |e| match e {
            CompanionEvent::UploadProgress {
                transfer_id, sent, ..
            } if *transfer_id == transfer && *sent > 40 * MAX_CHUNK as u64 => Some(()),
            _ => None,
        })
        .await;
    phone.stop().await; // SIGKILL
    let held = match store(&state).media_state(&media_id).unwrap() {
        MediaState::Partial { bytes } => bytes,
        other => panic!("expected a partial upload, got {other:?}"),
    };
    assert!(held >= 8 * MAX_CHUNK as u64, "{held} bytes held");
    assert_eq!(held % MAX_CHUNK as u64, 0, "whole chunks only");
    assert_eq!(
        store(&state)
            .read_media(&media_id, 0, held as usize)
            .unwrap(),
        data.slice(..held as usize)
    );

    let mut phone = Phone::binary(&state, &relay.url);
    phone.wait_line("route registered").await;
    companion
        .wait("the upload", |e| match e {
            CompanionEvent::UploadComplete { transfer_id, .. } if *transfer_id == transfer => {
                Some(())
            }
            CompanionEvent::TransferFailed { transfer_id, code } if *transfer_id == transfer => {
                panic!("upload failed: {code}")
            }
            _ => None,
        })
        .await;
    assert_eq!(
        store(&state).media_state(&media_id).unwrap(),
        MediaState::Complete { size: size as u64 }
    );
    let file = std::fs::read(state.store_paths().media.join(hex::encode(media_id))).unwrap();
    assert_eq!(<[u8; 32]>::from(Sha256::digest(&file)), media_id);
    companion.stop().await;
    phone.stop().await;
    relay.stop().await;
}
