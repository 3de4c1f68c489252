//! The phone child: the reference phone's SQLite store under the core's
//! primary, driven over the relay, with companions linked from seeds. On
//! stdin, `inject N` logs N events while companions are away.

use tandem_client::{Clock, DriverConfig, DriverEvent};
use tandem_codec::session::{Body, EventBody, Message, MessageStatus};
use tandem_phone::store::{SqliteStore, StorePaths};
use tandem_proto::primary::{Primary, PrimaryEvent};
use tandem_proto::store::{Commit, KeyStatus, Store};
use tandem_proto::{Error as ProtoError, Instant};

use super::{runtime, stdin_lines};
use crate::Error;
use crate::cli::PhoneArgs;
use crate::fixture::{self, STEP};
use crate::keys::{self, Role};

/// The chat that injected messages arrive in.
const INJECT_CHAT: u64 = 1;

/// `serve-phone`.
pub(crate) fn serve(args: &PhoneArgs) -> Result<(), Error> {
    let mut store = SqliteStore::open(&StorePaths::in_folder(&args.store))?;
    // Companion `j` of this phone is the companion of pair `seed + j`.
    for j in 1..=args.companions as u64 {
        let key = keys::key(args.seed, Role::Companion, j).public();
        if !matches!(store.key_status(&key)?, KeyStatus::Linked(_)) {
            store.link_companion(fixture::record(key))?;
        }
    }
    runtime(1)?.block_on(async {
        let clock = Clock::start();
        let identity = keys::key(args.seed, Role::Primary, 0);
        let config = fixture::primary_config(&clock, args.companions);
        let primary = Primary::new(config, identity, store);
        let (handle, mut events, driver) =
            tandem_client::spawn(primary, DriverConfig::new(&args.relay), clock);
        fixture::wait_for(&mut events, "the phone's route", STEP, |e| {
            matches!(e, PrimaryEvent::RouteRegistered).then_some(())
        })
        .await?;
        tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                if let DriverEvent::Machine(PrimaryEvent::StoreFailed(reason)) = event {
                    eprintln!("tandem-load phone: store failed: {reason}");
                }
            }
        });
        println!("ready");
        let mut lines = stdin_lines();
        while let Some(line) = lines.recv().await {
            let Some(count) = line.strip_prefix("inject ") else {
                continue;
            };
            let count: u64 = count.parse()?;
            let head = handle
                .call(move |phone, now| inject(phone, now, count))
                .await??;
            println!("injected {head}");
        }
        handle.shutdown().await;
        let _ = driver.join().await;
        Ok(())
    })
}

/// Logs `count` events in one commit: incoming messages in one chat, each
/// a `MessageAdded` and a `ChatUpdated` (a last `ChatUpdated` alone when
/// `count` is odd). Returns the new head.
fn inject(phone: &mut Primary<SqliteStore>, now: Instant, count: u64) -> Result<u64, ProtoError> {
    let store = phone.store();
    let store_error = |e: tandem_proto::store::StoreError| ProtoError::Store(e.0);
    let mut seq = store.head().map_err(store_error)?;
    let mut message_id = store.max_message_id().map_err(store_error)?;
    let mut chat = store
        .chat(INJECT_CHAT)
        .map_err(store_error)?
        .ok_or_else(|| ProtoError::Store("the store has no chat 1".into()))?;
    let mut commit = Commit::default();
    for i in 0..count {
        seq += 1;
        if i.is_multiple_of(2) && i + 1 < count {
            message_id += 1;
            let message = Message {
                message_id,
                chat_id: chat.chat_id,
                sender: chat.contact_id,
                timestamp_ms: message_id,
                status: MessageStatus::None,
                body: Body::Text(format!("missed message {message_id}")),
            };
            chat.unread = chat.unread.saturating_add(1);
            chat.last_message_id = message_id;
            commit.messages.push(message.clone());
            commit.events.push((seq, EventBody::MessageAdded(message)));
        } else {
            commit
                .events
                .push((seq, EventBody::ChatUpdated(chat.clone())));
        }
    }
    commit.chats.push(chat);
    phone.store_mut().commit(commit).map_err(store_error)?;
    phone.store_changed(now)?;
    Ok(seq)
}
