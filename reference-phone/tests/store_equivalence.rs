//! The SQLite store behaves exactly as the core's reference `MemoryStore`
//! (spec §7, §8, §9): the same random sequences of operations, with the
//! same results, and every read equal after each step.

#![allow(clippy::unwrap_used)]

use bytes::Bytes;
use proptest::prelude::*;
use tandem_codec::Code;
use tandem_codec::session::{Body, Chat, Contact, EventBody, MediaRef, Message, MessageStatus};
use tandem_phone::store::{Account, SqliteStore, StorePaths};
use tandem_proto::PublicKey;
use tandem_proto::store::{Commit, CompanionRecord, MemoryStore, SendOutcome, Store};

const IDS: u64 = 6;

#[derive(Clone, Debug)]
enum Op {
    Commit {
        messages: Vec<Message>,
        chats: Vec<Chat>,
        contacts: Vec<Contact>,
        events: Vec<EventBody>,
        /// Seq offset from the right one (0: correct).
        skew: i8,
        send: Option<(u8, u8, SendOutcome)>,
    },
    Link(u8, String, u64),
    Revoke(u8),
    Cursor(u8, u64, u64),
    Write(u8, bool, Vec<u8>),
    Complete(u8, i8),
    Discard(u8),
    Compact(u64),
}

fn key(i: u8) -> PublicKey {
    PublicKey([i; 32])
}

fn media_id(i: u8) -> [u8; 32] {
    [0x40 | i; 32]
}

fn status() -> impl Strategy<Value = MessageStatus> {
    prop_oneof![
        Just(MessageStatus::None),
        Just(MessageStatus::Sent),
        Just(MessageStatus::Delivered),
        Just(MessageStatus::Read),
    ]
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        "[a-zé ]{1,20}".prop_map(Body::Text),
        (
            0u8..3,
            1u64..1000,
            "[a-z/]{0,10}",
            "[a-z.]{0,10}",
            "[a-z ]{0,10}"
        )
            .prop_map(|(m, size, mime, name, caption)| Body::Media(MediaRef {
                media_id: media_id(m),
                size,
                mime,
                name,
                caption,
            })),
        (3u8..=255, proptest::collection::vec(any::<u8>(), 0..8)).prop_map(|(kind, c)| {
            Body::Unknown {
                kind,
                content: Bytes::from(c),
            }
        }),
    ]
}

fn message() -> impl Strategy<Value = Message> {
    (
        1..=IDS * 3,
        1..=IDS,
        0..=IDS,
        any::<u64>(),
        status(),
        body(),
    )
        .prop_map(
            |(message_id, chat_id, sender, timestamp_ms, status, body)| Message {
                message_id,
                chat_id,
                sender,
                timestamp_ms,
                status,
                body,
            },
        )
}

fn chat() -> impl Strategy<Value = Chat> {
    (
        1..=IDS,
        1..=IDS,
        "[A-Za-z]{0,12}",
        any::<u32>(),
        0..=IDS * 3,
    )
        .prop_map(
            |(chat_id, contact_id, title, unread, last_message_id)| Chat {
                chat_id,
                contact_id,
                title,
                unread,
                last_message_id,
            },
        )
}

fn contact() -> impl Strategy<Value = Contact> {
    (1..=IDS, "[A-Za-z]{0,12}").prop_map(|(contact_id, name)| Contact { contact_id, name })
}

fn event() -> impl Strategy<Value = EventBody> {
    prop_oneof![
        message().prop_map(EventBody::MessageAdded),
        (1..=IDS, 1..=IDS * 3, status()).prop_map(|(chat_id, message_id, status)| {
            EventBody::StatusChanged {
                chat_id,
                message_id,
                status,
            }
        }),
        chat().prop_map(EventBody::ChatUpdated),
        (1..=IDS, 1..=u64::MAX).prop_map(|(chat_id, up_to)| EventBody::ChatRead { chat_id, up_to }),
        contact().prop_map(EventBody::ContactUpdated),
        (6u8..=255, proptest::collection::vec(any::<u8>(), 1..8)).prop_map(|(kind, b)| {
            EventBody::Unknown {
                kind,
                body: Bytes::from(b),
            }
        }),
    ]
}

fn outcome() -> impl Strategy<Value = SendOutcome> {
    prop_oneof![
        (1u64..100, 1u64..100)
            .prop_map(|(message_id, seq)| SendOutcome::Applied { message_id, seq }),
        (4200u16..4310).prop_map(|c| SendOutcome::Failed(Code(c))),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (
            proptest::collection::vec(message(), 0..3),
            proptest::collection::vec(chat(), 0..2),
            proptest::collection::vec(contact(), 0..2),
            proptest::collection::vec(event(), 0..4),
            prop_oneof![8 => Just(0i8), 1 => -2i8..=2],
            proptest::option::of((0u8..3, 0u8..3, outcome())),
        )
            .prop_map(|(messages, chats, contacts, events, skew, send)| Op::Commit {
                messages,
                chats,
                contacts,
                events,
                skew,
                send,
            }),
        1 => (0u8..4, "[a-z ]{1,10}", any::<u64>()).prop_map(|(k, n, t)| Op::Link(k, n, t)),
        1 => (0u8..4).prop_map(Op::Revoke),
        1 => (0u8..4, any::<u64>(), any::<u64>()).prop_map(|(k, c, s)| Op::Cursor(k, c, s)),
        2 => (0u8..3, prop::bool::weighted(0.85), proptest::collection::vec(any::<u8>(), 1..200))
            .prop_map(|(m, right, data)| Op::Write(m, right, data)),
        1 => (0u8..3, -1i8..=1).prop_map(|(m, d)| Op::Complete(m, d)),
        1 => (0u8..3).prop_map(Op::Discard),
        1 => (0u64..12).prop_map(Op::Compact),
    ]
}

/// Both stores, side by side.
struct Pair {
    memory: MemoryStore,
    sqlite: SqliteStore,
    _dir: tempfile::TempDir,
}

fn pair(log_id: u64) -> Pair {
    // The behaviour is under test here, not the disk: a RAM disk keeps
    // thousands of fsyncs fast where there is one.
    let shm = std::path::Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        tempfile::tempdir_in(shm).unwrap()
    } else {
        tempfile::tempdir().unwrap()
    };
    let account = Account {
        name: "Ada".into(),
        device_name: "Pixel".into(),
    };
    let sqlite = SqliteStore::create(&StorePaths::in_folder(dir.path()), log_id, &account).unwrap();
    Pair {
        memory: MemoryStore::new(log_id),
        sqlite,
        _dir: dir,
    }
}

fn same<T: PartialEq + std::fmt::Debug, E: std::fmt::Debug>(
    what: &str,
    a: Result<T, E>,
    b: Result<T, E>,
) {
    match (a, b) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "{what}"),
        (Err(_), Err(_)) => {}
        (a, b) => panic!("{what}: memory {a:?}, sqlite {b:?}"),
    }
}

impl Pair {
    fn apply(&mut self, op: Op) {
        match op {
            Op::Commit {
                messages,
                chats,
                contacts,
                events,
                skew,
                send,
            } => {
                let head = self.memory.head().unwrap();
                let first = head.saturating_add_signed(i64::from(skew)) + 1;
                let commit = Commit {
                    messages,
                    chats,
                    contacts,
                    events: (first..).zip(events).collect(),
                    send: send.map(|(k, c, outcome)| (key(k), [c; 16], outcome)),
                };
                same(
                    "commit",
                    self.memory.commit(commit.clone()),
                    self.sqlite.commit(commit),
                );
            }
            Op::Link(k, device_name, t) => {
                let record = CompanionRecord {
                    key: key(k),
                    device_name,
                    linked_at_ms: t,
                    last_seen_ms: t / 2,
                    cursor: t % 50,
                };
                same(
                    "link",
                    self.memory.link_companion(record.clone()),
                    self.sqlite.link_companion(record),
                );
            }
            Op::Revoke(k) => same(
                "revoke",
                self.memory.revoke_companion(&key(k)),
                self.sqlite.revoke_companion(&key(k)),
            ),
            Op::Cursor(k, cursor, seen) => same(
                "cursor",
                self.memory.record_cursor(&key(k), cursor, seen),
                self.sqlite.record_cursor(&key(k), cursor, seen),
            ),
            Op::Write(m, right, data) => {
                let id = media_id(m);
                let held = match self.memory.media_state(&id).unwrap() {
                    tandem_proto::store::MediaState::Absent => 0,
                    tandem_proto::store::MediaState::Partial { bytes } => bytes,
                    // The core discards a complete file before writing to
                    // its id; writing to one is not a sequence it makes.
                    tandem_proto::store::MediaState::Complete { .. } => return,
                };
                if !right && held == 0 {
                    // MemoryStore creates an empty entry before it refuses
                    // a write at the wrong offset (reported to the core);
                    // the SQLite store changes nothing on a refused write.
                    return;
                }
                let offset = if right { held } else { held + 1 };
                same(
                    "write_media",
                    self.memory.write_media(&id, offset, &data),
                    self.sqlite.write_media(&id, offset, &data),
                );
            }
            Op::Complete(m, delta) => {
                let id = media_id(m);
                let size = match self.memory.media_state(&id).unwrap() {
                    tandem_proto::store::MediaState::Absent => 5,
                    tandem_proto::store::MediaState::Partial { bytes } => bytes,
                    tandem_proto::store::MediaState::Complete { size } => size,
                }
                .saturating_add_signed(i64::from(delta));
                same(
                    "complete_media",
                    self.memory.complete_media(&id, size),
                    self.sqlite.complete_media(&id, size),
                );
            }
            Op::Discard(m) => same(
                "discard_media",
                self.memory.discard_media(&media_id(m)),
                self.sqlite.discard_media(&media_id(m)),
            ),
            Op::Compact(back) => {
                let seq = self.memory.head().unwrap().saturating_sub(back);
                self.memory.compact_through(seq);
                self.sqlite.compact_through(seq).unwrap();
            }
        }
    }

    fn check(&self) {
        let (m, s) = (&self.memory, &self.sqlite);
        assert_eq!(m.log_id(), s.log_id());
        same("head", m.head(), s.head());
        same("first_retained", m.first_retained(), s.first_retained());
        for after in [0, 1, 3, 7] {
            for limit in [0, 2, 1000] {
                same(
                    "events_after",
                    m.events_after(after, limit),
                    s.events_after(after, limit),
                );
            }
        }
        same("max_message_id", m.max_message_id(), s.max_message_id());
        same("chats", m.chats(), s.chats());
        same("contacts", m.contacts(), s.contacts());
        same("companions", m.companions(), s.companions());
        for id in [0, 1, 2, 3, IDS, IDS + 1, u64::MAX] {
            same("chat", m.chat(id), s.chat(id));
            for before in [0, 3, 9, u64::MAX] {
                for limit in [0, 1, 5, 100] {
                    same(
                        "messages",
                        m.messages(id, before, limit),
                        s.messages(id, before, limit),
                    );
                }
            }
        }
        for id in 0..=IDS * 3 + 1 {
            same("message", m.message(id), s.message(id));
        }
        for k in 0..4 {
            same("key_status", m.key_status(&key(k)), s.key_status(&key(k)));
            for c in 0..3 {
                same(
                    "send_outcome",
                    m.send_outcome(&key(k), &[c; 16]),
                    s.send_outcome(&key(k), &[c; 16]),
                );
            }
        }
        for i in 0..3 {
            let id = media_id(i);
            same("media_state", m.media_state(&id), s.media_state(&id));
            for (offset, len) in [(0, 0), (0, 10_000), (3, 5), (150, 100), (10_000, 1)] {
                same(
                    "read_media",
                    m.read_media(&id, offset, len),
                    s.read_media(&id, offset, len),
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn sqlite_store_behaves_as_the_memory_store(log_id in 1u64.., ops in proptest::collection::vec(op(), 1..40)) {
        let mut pair = pair(log_id);
        for op in ops {
            pair.apply(op);
            pair.check();
        }
    }
}

#[test]
fn a_reopened_store_reads_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let paths = StorePaths::in_folder(dir.path());
    let account = Account {
        name: "Ada".into(),
        device_name: "Pixel".into(),
    };
    let mut memory = MemoryStore::new(9);
    let mut sqlite = SqliteStore::create(&paths, 9, &account).unwrap();
    let contact = Contact {
        contact_id: 1,
        name: "Bob".into(),
    };
    let commit = Commit {
        contacts: vec![contact.clone()],
        events: vec![(1, EventBody::ContactUpdated(contact))],
        send: Some((key(1), [7; 16], SendOutcome::Failed(Code::UNKNOWN_CHAT))),
        ..Commit::default()
    };
    memory.commit(commit.clone()).unwrap();
    sqlite.commit(commit).unwrap();
    sqlite.write_media(&media_id(1), 0, b"partial").unwrap();
    drop(sqlite);
    let sqlite = SqliteStore::open(&paths).unwrap();
    assert_eq!(sqlite.log_id(), 9);
    assert_eq!(sqlite.head().unwrap(), memory.head().unwrap());
    assert_eq!(
        sqlite.events_after(0, 10).unwrap(),
        memory.events_after(0, 10).unwrap()
    );
    assert_eq!(
        sqlite.send_outcome(&key(1), &[7; 16]).unwrap(),
        Some(SendOutcome::Failed(Code::UNKNOWN_CHAT))
    );
    assert_eq!(
        sqlite.read_media(&media_id(1), 0, 100).unwrap(),
        Bytes::from_static(b"partial")
    );
}
