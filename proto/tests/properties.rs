//! Property tests over random schedules (issue #5): sends, incoming
//! messages, status changes, cut connections and restarts of either side,
//! interleaved at any step. Whatever the schedule, once the network heals:
//! every send is applied exactly once, every event reached each companion
//! once and in order (or it was resynced), and the companions mirror the
//! primary's store, which lost nothing it acknowledged.

#![allow(clippy::unwrap_used)]

mod harness;

use std::collections::HashSet;
use std::time::Duration;

use harness::Net;
use proptest::prelude::*;
use tandem_codec::session::{Body, MessageStatus};
use tandem_proto::companion::CompanionEvent;
use tandem_proto::primary::PrimaryConfig;
use tandem_proto::store::{MemoryStore, Store};

const COMPANIONS: usize = 2;

#[derive(Clone, Debug)]
enum Op {
    Send(usize),
    Incoming,
    Delivered,
    Step(u8),
    Drive,
    CutCompanion(usize),
    CutPrimary,
    RestartCompanion(usize),
    RestartPrimary,
    Advance(u16),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..COMPANIONS).prop_map(Op::Send),
        3 => Just(Op::Incoming),
        1 => Just(Op::Delivered),
        4 => (1u8..6).prop_map(Op::Step),
        2 => Just(Op::Drive),
        1 => (0..COMPANIONS).prop_map(Op::CutCompanion),
        1 => Just(Op::CutPrimary),
        1 => (0..COMPANIONS).prop_map(Op::RestartCompanion),
        1 => Just(Op::RestartPrimary),
        2 => (1u16..3000).prop_map(Op::Advance),
    ]
}

fn run(seed: u64, ops: &[Op]) -> Result<(), TestCaseError> {
    let config = PrimaryConfig {
        snapshot_recent: 1_000,
        ..PrimaryConfig::default()
    };
    let mut net = Net::new(seed, config, MemoryStore::new(seed + 1));
    let now = net.now;
    let contact = net.primary().add_contact(now, "Ada").unwrap();
    for i in 0..COMPANIONS {
        net.add_linked_companion(&format!("companion {i}"));
    }
    net.connect_primary();
    for i in 0..COMPANIONS {
        net.connect_companion(i);
    }
    let chat = net.store().chats().unwrap()[0].chat_id;
    let mut sent = Vec::new();
    let mut incoming = 0;
    for op in ops {
        let now = net.now;
        match op {
            Op::Send(i) => {
                let text = format!("send {} from {i}", sent.len());
                net.companions[*i]
                    .machine
                    .send_message(chat, Body::Text(text.clone()))
                    .unwrap();
                sent.push(text);
            }
            Op::Incoming => {
                incoming += 1;
                if let Some(primary) = net.primary.as_mut() {
                    primary
                        .receive_message(now, contact, Body::Text(format!("incoming {incoming}")))
                        .unwrap();
                }
            }
            Op::Delivered => {
                let last_own = net
                    .store()
                    .all_messages()
                    .filter(|m| m.sender == 0)
                    .last()
                    .map(|m| m.message_id);
                if let (Some(id), Some(primary)) = (last_own, net.primary.as_mut()) {
                    primary
                        .set_status(now, id, MessageStatus::Delivered)
                        .unwrap();
                }
            }
            Op::Step(n) => {
                for _ in 0..*n {
                    net.step();
                }
            }
            Op::Drive => net.drive(),
            Op::CutCompanion(i) => net.cut_companion(*i),
            Op::CutPrimary => net.cut_primary(),
            Op::RestartCompanion(i) => net.restart_companion(*i),
            Op::RestartPrimary => net.restart_primary(),
            Op::Advance(ms) => net.advance(Duration::from_millis(u64::from(*ms))),
        }
    }
    // Heal: reconnect everyone and let it settle.
    let settled = net.run_until(Duration::from_secs(3_600), |n| {
        n.all_synced()
            && n.companions
                .iter()
                .all(|c| c.machine.outbox().pending().is_empty())
    });
    prop_assert!(settled, "the network did not settle");

    // Every send applied exactly once.
    for text in &sent {
        let copies = net
            .store()
            .all_messages()
            .filter(|m| m.body == Body::Text(text.clone()))
            .count();
        prop_assert_eq!(copies, 1, "{} applied {} times", text, copies);
    }
    // Nothing acknowledged was lost: every acknowledged send is stored as
    // the message its SendAck named.
    for slot in &net.companions {
        for event in &slot.events {
            if let CompanionEvent::SendAcked { message_id, .. } = event {
                prop_assert!(net.store().message(*message_id).unwrap().is_some());
            }
        }
    }
    let head = net.store().head().unwrap();
    let store_messages: Vec<_> = net.store().all_messages().cloned().collect();
    for slot in &net.companions {
        // Events in order and once within each synced stretch.
        let mut seen = HashSet::new();
        let mut last = 0;
        for event in &slot.events {
            match event {
                CompanionEvent::SnapshotStarted => {
                    seen.clear();
                    last = 0;
                }
                CompanionEvent::MessageAdded(m) => {
                    prop_assert!(
                        seen.insert(m.message_id),
                        "message {} delivered twice",
                        m.message_id
                    );
                    prop_assert!(m.message_id > last, "messages out of order");
                    last = m.message_id;
                }
                _ => {}
            }
        }
        // The companion mirrors the primary.
        let cache = slot.machine.cache();
        prop_assert_eq!(cache.seq, head);
        let cached: Vec<_> = cache.messages.values().cloned().collect();
        prop_assert_eq!(&cached, &store_messages);
        let chats = net.store().chats().unwrap();
        prop_assert_eq!(cache.chats.len(), chats.len());
        for chat in &chats {
            prop_assert_eq!(cache.chats.get(&chat.chat_id), Some(chat));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn any_schedule_converges_with_sends_applied_exactly_once(
        seed in any::<u64>(),
        ops in prop::collection::vec(op(), 1..40),
    ) {
        run(seed, &ops)?;
    }
}
