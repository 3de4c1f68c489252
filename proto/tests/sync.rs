//! Sync over the in-memory network (spec §7): first sync, live events,
//! resume, resync after compaction, exactly-once sends, history, read
//! marks, revocation and unlinking.

#![allow(clippy::unwrap_used)]

mod harness;

use std::time::Duration;

use harness::Net;
use tandem_codec::Code;
use tandem_codec::session::{Body, MessageStatus};
use tandem_proto::companion::CompanionEvent;
use tandem_proto::primary::{PrimaryConfig, PrimaryEvent};
use tandem_proto::store::{MemoryStore, Store};

const LIMIT: Duration = Duration::from_secs(120);

fn text(s: &str) -> Body {
    Body::Text(s.to_owned())
}

/// A primary with two contacts and a few messages, and one linked companion.
fn seeded(seed: u64) -> (Net, usize) {
    let config = PrimaryConfig {
        snapshot_recent: 100,
        ..PrimaryConfig::default()
    };
    let mut net = Net::new(seed, config, MemoryStore::new(seed + 1));
    let now = net.now;
    let ada = net.primary().add_contact(now, "Ada").unwrap();
    let bob = net.primary().add_contact(now, "Bob").unwrap();
    for i in 0..5 {
        net.primary()
            .receive_message(now, ada, text(&format!("hello {i}")))
            .unwrap();
    }
    net.primary().receive_message(now, bob, text("hi")).unwrap();
    let companion = net.add_linked_companion("laptop");
    net.connect_primary();
    net.connect_companion(companion);
    (net, companion)
}

/// The companion's copy equals the primary's state.
fn assert_mirrors(net: &Net, i: usize) {
    let cache = net.companions[i].machine.cache();
    let store = net.store();
    let chats: Vec<_> = store.chats().unwrap();
    assert_eq!(cache.chats.len(), chats.len());
    for chat in &chats {
        assert_eq!(cache.chats.get(&chat.chat_id), Some(chat));
    }
    let messages: Vec<_> = store.all_messages().cloned().collect();
    let cached: Vec<_> = cache.messages.values().cloned().collect();
    assert_eq!(cached, messages);
    assert_eq!(cache.seq, store.head().unwrap());
    assert_eq!(cache.log_id, store.log_id());
}

#[test]
fn first_sync_gives_the_companion_the_whole_state() {
    let (mut net, c) = seeded(1);
    assert!(net.run_until(LIMIT, |n| n.all_synced()));
    assert_mirrors(&net, c);
    let events = &net.companions[c].events;
    assert!(events.contains(&CompanionEvent::SnapshotStarted));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, CompanionEvent::Synced { .. }))
    );
    // The snapshot's acknowledgement reaches the primary's durable cursor.
    net.advance(Duration::from_millis(200));
    let record = &net.store().companions().unwrap()[0];
    assert_eq!(record.cursor, net.store().head().unwrap());
}

#[test]
fn live_events_arrive_in_order_and_are_acknowledged() {
    let (mut net, c) = seeded(2);
    assert!(net.run_until(LIMIT, |n| n.all_synced()));
    let now = net.now;
    let ada = net.store().contacts().unwrap()[0].contact_id;
    let message = net
        .primary()
        .receive_message(now, ada, text("live"))
        .unwrap();
    net.drive();
    assert!(
        net.companions[c]
            .events
            .contains(&CompanionEvent::MessageAdded(message.clone()))
    );
    net.primary()
        .set_status(now, message.message_id, MessageStatus::Read)
        .unwrap();
    net.advance(Duration::from_millis(150));
    assert_mirrors(&net, c);
    assert_eq!(
        net.store().companions().unwrap()[0].cursor,
        net.store().head().unwrap()
    );
}

#[test]
fn a_message_the_owner_sends_on_the_phone_reaches_the_companion() {
    let (mut net, c) = seeded(9);
    assert!(net.run_until(LIMIT, |n| n.all_synced()));
    let now = net.now;
    let chat = net.store().chats().unwrap()[0].chat_id;
    let message = net
        .primary()
        .send_own_message(now, chat, text("from the phone"))
        .unwrap();
    assert_eq!((message.sender, message.status), (0, MessageStatus::Sent));
    net.drive();
    assert!(
        net.companions[c]
            .events
            .contains(&CompanionEvent::MessageAdded(message.clone()))
    );
    net.advance(Duration::from_millis(150));
    assert_mirrors(&net, c);
    // A chat that does not exist is refused, and nothing is stored.
    let head = net.store().head().unwrap();
    assert!(net.primary().send_own_message(now, 999, text("x")).is_err());
    assert_eq!(net.store().head().unwrap(), head);
}

#[test]
fn a_send_whose_ack_was_lost_is_applied_exactly_once() {
    let (mut net, c) = seeded(3);
    assert!(net.run_until(LIMIT, |n| n.all_synced()));
    let chat = net.store().chats().unwrap()[0].chat_id;
    let client_id = net.companions[c]
        .machine
        .send_message(chat, text("only once"))
        .unwrap();
    // One step carries the Send to the primary, which applies it and
    // queues its SendAck; the connection dies before that is delivered.
    net.step();
    net.cut_companion(c);
    assert_eq!(net.companions[c].machine.outbox().pending().len(), 1);
    assert!(net.run_until(LIMIT, |n| n.all_synced()
        && n.companions[c].machine.outbox().pending().is_empty()));
    let copies = net
        .store()
        .all_messages()
        .filter(|m| m.body == text("only once"))
        .count();
    assert_eq!(copies, 1, "the retried send must not be applied twice");
    assert!(
        net.companions[c].events.iter().any(
            |e| matches!(e, CompanionEvent::SendAcked { client_id: id, .. } if *id == client_id)
        )
    );
    assert_mirrors(&net, c);
}

#[test]
fn sends_while_the_primary_is_offline_are_delivered_when_it_returns() {
    let (mut net, c) = seeded(4);
    assert!(net.run_until(LIMIT, |n| n.all_synced()));
    let chat = net.store().chats().unwrap()[0].chat_id;
    // Take the primary away without letting it reconnect at once.
    let store = net.primary.take().unwrap();
    if let Some(conn) = net.primary_conn.take() {
        net.router.disconnect(conn);
    }
    net.drive();
    assert!(
        net.companions[c]
            .events
            .contains(&CompanionEvent::PrimaryOnline(false))
    );
    net.companions[c]
        .machine
        .send_message(chat, text("queued 1"))
        .unwrap();
    net.companions[c]
        .machine
        .send_message(chat, text("queued 2"))
        .unwrap();
    net.drive();
    assert_eq!(net.companions[c].machine.outbox().pending().len(), 2);
    net.primary = Some(store);
    let now = net.now;
    net.primary().handle_disconnected(now);
    net.connect_primary();
    assert!(net.run_until(LIMIT, |n| n.all_synced()
        && n.companions[c].machine.outbox().pending().is_empty()));
    let texts: Vec<_> = net.store().all_messages().map(|m| m.body.clone()).collect();
    let first = texts.iter().position(|b| *b == text("queued 1")).unwrap();
    let second = texts.iter().position(|b| *b == text("queued 2")).unwrap();
    assert!(first < second, "queued sends keep their order");
    assert_mirrors(&net, c);
}

#[test]
fn resume_replays_exactly_the_missed_events() {
    let (mut net, c) = seeded(5);
    assert!(net.run_until(LIMIT, |n| n.all_synced()));
    net.companions[c].auto_reconnect = false;
    net.cut_companion(c);
    let now = net.now;
    let ada = net.store().contacts().unwrap()[0].contact_id;
    for i in 0..30 {
        net.primary()
            .receive_message(now, ada, text(&format!("missed {i}")))
            .unwrap();
    }
    net.companions[c].events.clear();
    net.companions[c].auto_reconnect = true;
    net.connect_companion(c);
    assert!(net.run_until(LIMIT, |n| n.all_synced()));
    let events = &net.companions[c].events;
    assert!(
        !events.contains(&CompanionEvent::SnapshotStarted),
        "a resume, not a snapshot"
    );
    let added = events
        .iter()
        .filter(|e| matches!(e, CompanionEvent::MessageAdded(_)))
        .count();
    assert_eq!(added, 30);
    assert_mirrors(&net, c);
}

#[test]
fn a_companion_behind_a_compacted_log_is_resynced_from_a_snapshot() {
    let (mut net, c) = seeded(6);
    assert!(net.run_until(LIMIT, |n| n.all_synced()));
    net.companions[c].auto_reconnect = false;
    net.cut_companion(c);
    let now = net.now;
    let ada = net.store().contacts().unwrap()[0].contact_id;
    for i in 0..10 {
        net.primary()
            .receive_message(now, ada, text(&format!("while away {i}")))
            .unwrap();
    }
    let head = net.store().head().unwrap();
    net.primary().store_mut().compact_through(head);
    net.companions[c].events.clear();
    net.companions[c].auto_reconnect = true;
    net.connect_companion(c);
    assert!(net.run_until(LIMIT, |n| n.all_synced()));
    assert!(
        net.companions[c]
            .events
            .contains(&CompanionEvent::SnapshotStarted)
    );
    assert_mirrors(&net, c);
}

#[test]
fn history_pages_end_with_a_no_more_marker() {
    let config = PrimaryConfig {
        snapshot_recent: 5,
        ..PrimaryConfig::default()
    };
    let mut net = Net::new(7, config, MemoryStore::new(8));
    let now = net.now;
    let ada = net.primary().add_contact(now, "Ada").unwrap();
    for i in 0..23 {
        net.primary()
            .receive_message(now, ada, text(&format!("m{i}")))
            .unwrap();
    }
    let c = net.add_linked_companion("laptop");
    net.connect_primary();
    net.connect_companion(c);
    assert!(net.run_until(LIMIT, |n| n.all_synced()));
    let chat = net.store().chats().unwrap()[0].chat_id;
    assert_eq!(net.companions[c].machine.cache().messages_of(chat).len(), 5);
    assert_eq!(
        net.companions[c].machine.cache().older_history.get(&chat),
        Some(&true)
    );
    let mut pages = 0;
    loop {
        let oldest = net.companions[c].machine.cache().messages_of(chat)[0].message_id;
        net.companions[c]
            .machine
            .request_history(chat, oldest, 10)
            .unwrap();
        net.drive();
        pages += 1;
        if net.companions[c].machine.cache().older_history.get(&chat) == Some(&false) {
            break;
        }
        assert!(pages < 10);
    }
    assert_eq!(pages, 2, "18 older messages come in pages of 10 and 8");
    assert_eq!(
        net.companions[c].machine.cache().messages_of(chat).len(),
        23
    );
    // A bad limit and an unknown chat get typed errors, not a close.
    net.companions[c]
        .machine
        .request_history(chat, 0, 0)
        .unwrap();
    net.companions[c]
        .machine
        .request_history(999, 0, 10)
        .unwrap();
    net.drive();
    let codes: Vec<Code> = net.companions[c]
        .events
        .iter()
        .filter_map(|e| match e {
            CompanionEvent::RequestFailed { code, .. } => Some(*code),
            _ => None,
        })
        .collect();
    assert_eq!(codes, vec![Code::INVALID_REQUEST, Code::UNKNOWN_CHAT]);
    assert!(net.companions[c].machine.is_live());
}

#[test]
fn mark_read_updates_every_companion() {
    let (mut net, c) = seeded(9);
    let other = net.add_linked_companion("tablet");
    net.connect_companion(other);
    assert!(net.run_until(LIMIT, |n| n.all_synced()));
    let chat = net
        .store()
        .chats()
        .unwrap()
        .into_iter()
        .find(|c| c.unread > 0)
        .unwrap();
    net.companions[c]
        .machine
        .mark_read(chat.chat_id, chat.last_message_id)
        .unwrap();
    assert!(net.run_until(LIMIT, |n| n.all_synced()));
    assert_eq!(net.store().chat(chat.chat_id).unwrap().unwrap().unread, 0);
    for i in [c, other] {
        assert_eq!(
            net.companions[i].machine.cache().chats[&chat.chat_id].unread,
            0
        );
    }
}

#[test]
fn a_revoked_companion_is_told_at_once_and_wipes() {
    let (mut net, c) = seeded(10);
    assert!(net.run_until(LIMIT, |n| n.all_synced()));
    let key = net.companions[c].machine.credentials().identity.public();
    let now = net.now;
    assert!(net.primary().revoke(now, &key).unwrap());
    net.drive();
    assert!(
        net.companions[c].events.iter().any(
            |e| matches!(e, CompanionEvent::Wiped { code, .. } if *code == Code::DEVICE_REVOKED)
        )
    );
    assert!(net.companions[c].machine.is_wiped());
    assert!(net.companions[c].machine.cache().chats.is_empty());
}

#[test]
fn a_revoked_key_that_reconnects_gets_an_authenticated_refusal() {
    let (mut net, c) = seeded(11);
    assert!(net.run_until(LIMIT, |n| n.all_synced()));
    net.companions[c].auto_reconnect = false;
    net.cut_companion(c);
    let key = net.companions[c].machine.credentials().identity.public();
    let now = net.now;
    net.primary().revoke(now, &key).unwrap();
    net.connect_companion(c);
    net.drive();
    assert!(
        net.companions[c].events.iter().any(
            |e| matches!(e, CompanionEvent::Wiped { code, .. } if *code == Code::DEVICE_REVOKED)
        )
    );
    assert!(
        net.primary_events
            .contains(&PrimaryEvent::CompanionRefused {
                key,
                code: Code::DEVICE_REVOKED
            })
    );
}

#[test]
fn an_unknown_key_is_refused_with_unknown_device() {
    let (mut net, _) = seeded(12);
    let stranger = tandem_proto::companion::Credentials {
        identity: tandem_proto::StaticKeypair::generate(
            &mut tandem_proto::random::SeededRandom::new(99),
        ),
        primary_key: net.primary_identity.public(),
        account_name: "x".into(),
    };
    let s = net.add_companion(stranger);
    net.connect_companion(s);
    net.drive();
    assert!(
        net.companions[s].events.iter().any(
            |e| matches!(e, CompanionEvent::Wiped { code, .. } if *code == Code::UNKNOWN_DEVICE)
        )
    );
    assert!(
        net.store().all_messages().count() > 0,
        "nothing changed on the primary"
    );
}

#[test]
fn unlinking_deletes_the_link_before_confirming() {
    let (mut net, c) = seeded(13);
    assert!(net.run_until(LIMIT, |n| n.all_synced()));
    net.companions[c].machine.unlink().unwrap();
    net.drive();
    assert!(
        net.companions[c]
            .events
            .iter()
            .any(|e| matches!(e, CompanionEvent::Wiped { code, .. } if *code == Code::UNLINKED))
    );
    assert!(net.store().companions().unwrap().is_empty());
    let key = net.companions[c].machine.credentials().identity.public();
    assert_eq!(
        net.store().key_status(&key).unwrap(),
        tandem_proto::store::KeyStatus::Revoked
    );
}

#[test]
fn a_restarted_primary_serves_from_its_store() {
    let (mut net, c) = seeded(14);
    assert!(net.run_until(LIMIT, |n| n.all_synced()));
    let chat = net.store().chats().unwrap()[0].chat_id;
    net.companions[c]
        .machine
        .send_message(chat, text("before restart"))
        .unwrap();
    net.drive();
    net.restart_primary();
    assert!(net.run_until(LIMIT, |n| n.all_synced()));
    net.companions[c]
        .machine
        .send_message(chat, text("after restart"))
        .unwrap();
    assert!(net.run_until(LIMIT, |n| n.all_synced()
        && n.companions[c].machine.outbox().pending().is_empty()));
    assert_mirrors(&net, c);
}
