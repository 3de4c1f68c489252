//! A companion against a serving phone over the real relay (spec §7, §8,
//! §9): sync, send, statuses, echo, live inject, media, history and revocation,
//! with `serve` in this process and as the built binary.

#![allow(clippy::unwrap_used)]

mod common;

use bytes::Bytes;
use common::*;
use sha2::{Digest, Sha256};
use tandem_codec::Code;
use tandem_codec::session::{Body, MediaRef, MessageStatus};
use tandem_phone::commands::{self, InjectOutcome, LinkPrompt};
use tandem_proto::companion::{Companion, CompanionEvent, UploadRequest};
use tandem_proto::store::{MediaState, Store};

fn text(s: &str) -> Body {
    Body::Text(s.to_owned())
}

/// The companion's copy equals the phone's store.
async fn assert_mirrors(companion: &Driven<Companion>, state: &tandem_phone::state::State) {
    let cache = companion.call(|c, _| c.cache().clone()).await;
    let store = store(state);
    assert_eq!(cache.log_id, store.log_id());
    assert_eq!(cache.seq, store.head().unwrap());
    assert_eq!(
        cache.chats.values().cloned().collect::<Vec<_>>().len(),
        store.chats().unwrap().len()
    );
    for chat in store.chats().unwrap() {
        assert_eq!(cache.chats.get(&chat.chat_id), Some(&chat));
    }
    let messages: Vec<_> = cache.messages.values().cloned().collect();
    assert_eq!(messages, store.all_messages().unwrap());
}

async fn scenario(binary: bool) {
    let relay = Relay::start().await;
    let (_dir, path) = temp();
    let state = new_phone(&path);
    let mut phone = if binary {
        Phone::binary(&state, &relay.url)
    } else {
        Phone::in_process(&state, &relay.url)
    };
    phone.wait_line("route registered").await;

    // Pair through the serving phone.
    let mut pairing = pairing(&relay.url, "Laptop");
    let code = shown_code(&mut pairing).await;
    if binary {
        let out = run_bin(state.dir(), &["link", "--yes", &code]).await;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    } else {
        commands::link(&state, &code, false, async |_: &LinkPrompt| true)
            .await
            .unwrap();
    }
    let credentials = paired(&mut pairing).await;
    phone.wait_line("linked: Laptop").await;

    // First sync: the snapshot has the seeded chats.
    let mut companion = companion(&relay.url, credentials);
    synced(&mut companion).await;
    phone.wait_line("companion connected: Laptop").await;
    assert_mirrors(&companion, &state).await;

    // A send to Echo: acknowledged, delivered, read, answered.
    let echo = chat_id(&state, "Echo");
    let client_id = companion
        .call(move |c, _| c.send_message(echo, text("hi there")))
        .await
        .unwrap();
    let message_id = companion
        .wait("SendAcked", |e| match e {
            CompanionEvent::SendAcked {
                client_id: id,
                message_id,
            } if *id == client_id => Some(*message_id),
            _ => None,
        })
        .await;
    for status in [MessageStatus::Delivered, MessageStatus::Read] {
        companion
            .wait("status", |e| {
                matches!(e, CompanionEvent::StatusChanged { message_id: m, status: s } if *m == message_id && *s == status)
                    .then_some(())
            })
            .await;
    }
    companion
        .wait("echo typing", |e| {
            matches!(e, CompanionEvent::Typing { chat_id, active: true } if *chat_id == echo)
                .then_some(())
        })
        .await;
    companion
        .wait("echo answer", |e| match e {
            CompanionEvent::MessageAdded(m) if m.body == text("echo: hi there") => Some(()),
            _ => None,
        })
        .await;

    // An injected message arrives live.
    if binary {
        let out = run_bin(state.dir(), &["inject", "--from", "Ada", "are you there?"]).await;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("Delivered"));
    } else {
        let outcome = commands::inject(&state, "Ada Lovelace", "are you there?")
            .await
            .unwrap();
        assert_eq!(outcome, InjectOutcome::Delivered);
    }
    companion
        .wait("injected", |e| match e {
            CompanionEvent::MessageAdded(m) if m.body == text("are you there?") => Some(()),
            _ => None,
        })
        .await;

    // Media: upload, durable on the phone, sent, answered, downloaded.
    let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let data = Bytes::from(data);
    let media_id: [u8; 32] = Sha256::digest(&data).into();
    let upload = {
        let data = data.clone();
        companion
            .call(move |c, _| {
                c.upload(UploadRequest {
                    media_id,
                    size: data.len() as u64,
                    mime: "application/octet-stream".into(),
                    name: "notes.bin".into(),
                    source: Box::new(data),
                })
            })
            .await
            .unwrap()
    };
    companion
        .wait("upload", |e| match e {
            CompanionEvent::UploadComplete { transfer_id, .. } if *transfer_id == upload => {
                Some(())
            }
            CompanionEvent::TransferFailed { transfer_id, code } if *transfer_id == upload => {
                panic!("upload failed: {code}")
            }
            _ => None,
        })
        .await;
    assert_eq!(
        store(&state).media_state(&media_id).unwrap(),
        MediaState::Complete { size: 200_000 }
    );
    let on_disk = std::fs::read(state.store_paths().media.join(hex::encode(media_id))).unwrap();
    assert_eq!(on_disk, data.to_vec());
    let body = Body::Media(MediaRef {
        media_id,
        size: 200_000,
        mime: "application/octet-stream".into(),
        name: "notes.bin".into(),
        caption: "my notes".into(),
    });
    let media_send = companion
        .call(move |c, _| c.send_message(echo, body))
        .await
        .unwrap();
    companion
        .wait("media SendAcked", |e| {
            matches!(e, CompanionEvent::SendAcked { client_id, .. } if *client_id == media_send)
                .then_some(())
        })
        .await;
    companion
        .wait("echo of the file", |e| match e {
            CompanionEvent::MessageAdded(m)
                if m.body == text("echo: got your file notes.bin (200000 bytes)") =>
            {
                Some(())
            }
            _ => None,
        })
        .await;
    let download = companion
        .call(move |c, _| c.download(media_id, 0, 0))
        .await
        .unwrap();
    let verified = companion
        .wait("download", |e| match e {
            CompanionEvent::DownloadComplete {
                transfer_id,
                verified,
                ..
            } if *transfer_id == download => Some(*verified),
            _ => None,
        })
        .await;
    assert!(verified);
    let mut got = Vec::new();
    for event in &companion.seen {
        if let CompanionEvent::DownloadChunk {
            transfer_id,
            offset,
            data,
        } = event
            && *transfer_id == download
        {
            assert_eq!(*offset as usize, got.len());
            got.extend_from_slice(data);
        }
    }
    assert_eq!(got, data.to_vec());

    // History on demand, with the end marker.
    let ada = chat_id(&state, "Ada Lovelace");
    let request = companion
        .call(move |c, _| c.request_history(ada, 0, 100))
        .await
        .unwrap();
    let has_more = companion
        .wait("history", |e| match e {
            CompanionEvent::History {
                request_id,
                has_more,
                ..
            } if *request_id == request => Some(*has_more),
            _ => None,
        })
        .await;
    assert!(!has_more);

    // The echo has answered everything: the companion catches up with
    // the head and mirrors the phone.
    let head = store(&state).head().unwrap();
    let mut seq = companion.call(|c, _| c.cache().seq).await;
    while seq < head {
        companion.next("catching up", |_| Some(())).await;
        seq = companion.call(|c, _| c.cache().seq).await;
    }
    assert_mirrors(&companion, &state).await;

    // Revoked while connected: told at once, wiped, gone from the list.
    let device = commands::devices(&state).await.unwrap()[0]
        .device_id
        .clone();
    if binary {
        let out = run_bin(state.dir(), &["revoke", &device]).await;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("has been told"));
    } else {
        let outcome = commands::revoke(&state, &device).await.unwrap();
        assert!(outcome.was_linked && outcome.was_connected);
    }
    let code = companion
        .wait("Wiped", |e| match e {
            CompanionEvent::Wiped { code, .. } => Some(*code),
            _ => None,
        })
        .await;
    assert_eq!(code, Code::DEVICE_REVOKED);
    assert!(commands::devices(&state).await.unwrap().is_empty());
    companion.stop().await;
    phone.stop().await;
    relay.stop().await;
}

#[tokio::test]
async fn a_companion_syncs_sends_and_transfers_with_serve_in_process() {
    scenario(false).await;
}

#[tokio::test]
async fn a_companion_syncs_sends_and_transfers_with_the_serve_binary() {
    scenario(true).await;
}
