//! The fault switches of the conformance self-test (`tandem_proto::faults`,
//! feature `faults`): each scenario runs once without faults and once with
//! one switched on, and the two must differ on the wire exactly as the
//! fault says. A switch that did nothing fails its test.

#![cfg(feature = "faults")]
#![allow(clippy::unwrap_used)]

mod harness;

use bytes::Bytes;
use harness::Net;
use sha2::{Digest, Sha256};
use tandem_codec::Code;
use tandem_codec::envelope::{
    AttachRoute, ChannelOpened, Data, EnvelopeFrame, Error as RelayError, LinkClosed, RouteAttached,
};
use tandem_codec::handshake::{Hello, PairInit};
use tandem_codec::limits::MAX_CHUNK;
use tandem_codec::qr::QrPayload;
use tandem_codec::session::{
    Ack, Body, Chat, ChatPage, Chunk, Contact, Credit, DownloadRequest, Event, EventBody,
    HistoryRequest, InnerFrame, MarkRead, Message, MessageStatus, Resume, ResumeAccepted, Send,
    SendAck, SnapshotBegin, SnapshotEnd, Typing, UploadBegin, UploadReady,
};
use tandem_proto::companion::pairing::{Pairing, PairingConfig, PairingEvent};
use tandem_proto::companion::{
    Companion, CompanionConfig, CompanionEvent, Credentials, UploadRequest,
};
use tandem_proto::faults::{Fault, Faults};
use tandem_proto::handshake::{CompanionReconnect, PrimaryPairing, read_reconnect};
use tandem_proto::noise::HandshakeOptions;
use tandem_proto::primary::{Confirmation, PrimaryConfig, PrimaryEvent};
use tandem_proto::random::SeededRandom;
use tandem_proto::store::{CompanionRecord, MemoryStore, Store};
use tandem_proto::{Instant, Session, StaticKeypair, Transmit};

/// Runs `scenario` without faults, then with `fault` alone.
fn both<T>(fault: Fault, scenario: impl Fn(Faults) -> T) -> (T, T) {
    (
        scenario(Faults::default()),
        scenario(Faults::default().with(fault)),
    )
}

fn seal(session: &mut Session, frame: InnerFrame) -> Bytes {
    let mut out = Vec::new();
    session.seal(&frame, &mut out).unwrap();
    assert_eq!(out.len(), 1);
    out.remove(0)
}

fn close_code(frames: &[InnerFrame]) -> Option<Code> {
    frames.iter().find_map(|f| match f {
        InnerFrame::Close(close) => Some(close.code),
        _ => None,
    })
}

fn names(frames: &[InnerFrame]) -> Vec<&'static str> {
    frames.iter().map(InnerFrame::name).collect()
}

fn text(s: &str) -> Body {
    Body::Text(s.into())
}

// ---------------------------------------------------------------------------
// The primary, against a hand-driven companion.

/// How the hand-driven companion's key stands on the primary.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Key {
    Linked,
    Revoked,
    Unknown,
}

/// A network whose primary has `faults`, `contacts` contacts (two events
/// each), and whatever `tweak` changes in its config.
fn primary_net(faults: Faults, contacts: usize, tweak: impl FnOnce(&mut PrimaryConfig)) -> Net {
    let mut config = PrimaryConfig {
        faults,
        ..PrimaryConfig::default()
    };
    tweak(&mut config);
    let mut net = Net::new(40, config, MemoryStore::new(40));
    for i in 0..contacts {
        let now = net.now;
        net.primary()
            .add_contact(now, &format!("Contact {i}"))
            .unwrap();
    }
    net
}

/// A hand-driven companion after its reconnect handshake.
struct Rogue {
    net: Net,
    r: usize,
    link_id: u32,
    session: Session,
    /// Frames that came with message 2.
    early: Vec<EnvelopeFrame>,
}

impl Rogue {
    fn connect(mut net: Net, key: Key) -> Self {
        let identity = StaticKeypair::generate(&mut SeededRandom::new(99));
        if key != Key::Unknown {
            net.primary()
                .link_for_testing(CompanionRecord {
                    key: identity.public(),
                    device_name: "rogue".into(),
                    linked_at_ms: 0,
                    last_seen_ms: 0,
                    cursor: 0,
                })
                .unwrap();
        }
        if key == Key::Revoked {
            let now = net.now;
            net.primary().revoke(now, &identity.public()).unwrap();
        }
        net.connect_primary();
        let r = net.add_raw();
        let primary_key = net.primary_identity.public();
        net.raw_send(
            r,
            AttachRoute {
                primary_key: primary_key.0,
            },
        );
        let link_id = match net.raw_take(r).as_slice() {
            [EnvelopeFrame::RouteAttached(attached)] => attached.link_id,
            other => panic!("unexpected {other:?}"),
        };
        let (handshake, msg1) = CompanionReconnect::start(
            &identity,
            &primary_key,
            Hello { capabilities: 0 },
            &HandshakeOptions::default(),
        )
        .unwrap();
        net.raw_send(
            r,
            Data {
                link_id,
                payload: msg1.into(),
            },
        );
        let mut frames = net.raw_take(r).into_iter();
        let msg2 = match frames.next() {
            Some(EnvelopeFrame::Data(data)) => data.payload,
            other => panic!("unexpected {other:?}"),
        };
        let (session, _) = handshake.finish(&msg2).unwrap();
        Self {
            net,
            r,
            link_id,
            session,
            early: frames.collect(),
        }
    }

    fn linked(net: Net) -> Self {
        Self::connect(net, Key::Linked)
    }

    fn send(&mut self, frame: impl Into<InnerFrame>) {
        let payload = seal(&mut self.session, frame.into());
        self.send_bytes(payload);
    }

    fn send_bytes(&mut self, payload: Bytes) {
        let link_id = self.link_id;
        self.net.raw_send(self.r, Data { link_id, payload });
    }

    /// What the primary sent since last asked: inner frames, and the code
    /// of the `LinkClosed` that ended the link, if one did.
    fn answers(&mut self) -> (Vec<InnerFrame>, Option<Code>) {
        let mut frames = Vec::new();
        let mut closed = None;
        let early = std::mem::take(&mut self.early);
        for frame in early.into_iter().chain(self.net.raw_take(self.r)) {
            match frame {
                EnvelopeFrame::Data(data) if closed.is_none() => {
                    frames.push(self.session.open(&data.payload).unwrap());
                }
                EnvelopeFrame::LinkClosed(link) => closed = Some(link.code),
                _ => {}
            }
        }
        (frames, closed)
    }

    fn frames(&mut self) -> Vec<InnerFrame> {
        self.answers().0
    }

    /// Sends `Resume` and returns the answer.
    fn resume(&mut self, log_id: u64, seq: u64) -> Vec<InnerFrame> {
        self.send(Resume { log_id, seq });
        self.frames()
    }

    fn log_id(&self) -> u64 {
        self.net.store().log_id()
    }

    fn head(&self) -> u64 {
        self.net.store().head().unwrap()
    }

    fn first_chat(&self) -> u64 {
        self.net.store().chats().unwrap()[0].chat_id
    }
}

fn event_seqs(frames: &[InnerFrame]) -> Vec<u64> {
    frames
        .iter()
        .filter_map(|f| match f {
            InnerFrame::Event(event) => Some(event.seq),
            _ => None,
        })
        .collect()
}

fn shown_code(events: &[PairingEvent]) -> QrPayload {
    events
        .iter()
        .rev()
        .find_map(|e| match e {
            PairingEvent::ShowCode { qr, .. } => Some(qr.clone()),
            _ => None,
        })
        .expect("a code is shown")
}

/// Pairs a companion up to the person's decision, answers `answer`, and
/// returns whether `link` was accepted and how many companions are stored.
fn pair(mut net: Net, answer: Confirmation) -> (bool, usize) {
    net.connect_primary();
    let p = net.start_pairing(PairingConfig::default());
    let qr = shown_code(&net.pairings[p].events);
    let now = net.now;
    if net.primary().link(now, qr).is_err() {
        return (false, net.store().companions().unwrap().len());
    }
    net.drive();
    let link_id = net
        .primary_events
        .iter()
        .find_map(|e| match e {
            PrimaryEvent::ConfirmPairing { link_id, .. } => Some(*link_id),
            _ => None,
        })
        .expect("confirmation asked");
    net.primary().confirm_pairing(now, link_id, answer).unwrap();
    net.drive();
    (true, net.store().companions().unwrap().len())
}

#[test]
fn store_link_before_confirm_keeps_a_declined_link() {
    let outcome = both(Fault::StoreLinkBeforeConfirm, |faults| {
        pair(primary_net(faults, 0, |_| {}), Confirmation::Reject)
    });
    assert_eq!(outcome, ((true, 0), (true, 1)));
}

#[test]
fn ignore_companion_limit_pairs_beyond_it() {
    let outcome = both(Fault::IgnoreCompanionLimit, |faults| {
        let mut net = primary_net(faults, 0, |c| c.max_companions = 1);
        net.add_linked_companion("first");
        pair(net, Confirmation::Accept)
    });
    assert_eq!(outcome, ((false, 1), (true, 2)));
}

#[test]
fn serve_revoked_key_sends_no_device_revoked() {
    let outcome = both(Fault::ServeRevokedKey, |faults| {
        let mut rogue = Rogue::connect(primary_net(faults, 0, |_| {}), Key::Revoked);
        let (frames, closed) = rogue.answers();
        (close_code(&frames), closed)
    });
    let revoked = Some(Code::DEVICE_REVOKED);
    assert_eq!(outcome, ((revoked, revoked), (None, None)));
}

#[test]
fn refuse_unknown_key_without_close_sends_only_link_closed() {
    let outcome = both(Fault::RefuseUnknownKeyWithoutClose, |faults| {
        let mut rogue = Rogue::connect(primary_net(faults, 0, |_| {}), Key::Unknown);
        let (frames, closed) = rogue.answers();
        (close_code(&frames), closed)
    });
    let unknown = Some(Code::UNKNOWN_DEVICE);
    assert_eq!(outcome, ((unknown, unknown), (None, unknown)));
}

#[test]
fn ignore_frame_before_resume_keeps_the_session() {
    let outcome = both(Fault::IgnoreFrameBeforeResume, |faults| {
        let mut rogue = Rogue::linked(primary_net(faults, 1, |_| {}));
        rogue.send(Typing {
            chat_id: 1,
            active: true,
        });
        let (frames, closed) = rogue.answers();
        if closed.is_some() {
            return (close_code(&frames), false);
        }
        let answer = rogue.resume(0, 0);
        (
            close_code(&frames),
            names(&answer).contains(&"SnapshotBegin"),
        )
    });
    assert_eq!(
        outcome,
        ((Some(Code::UNEXPECTED_SESSION_FRAME), false), (None, true))
    );
}

#[test]
fn primary_ignores_decrypt_failure_and_keeps_the_session() {
    let outcome = both(Fault::PrimaryIgnoresDecryptFailure, |faults| {
        let mut rogue = Rogue::linked(primary_net(faults, 1, |_| {}));
        // A message under no nonce of ours: what a replay looks like.
        rogue.send_bytes(Bytes::from(vec![0x55; 40]));
        let (_, closed) = rogue.answers();
        if closed.is_some() {
            return (closed, false);
        }
        let answer = rogue.resume(0, 0);
        (closed, names(&answer).contains(&"SnapshotBegin"))
    });
    assert_eq!(outcome, ((Some(Code::DECRYPT_FAILED), false), (None, true)));
}

/// Sends `plaintext` as a frame after the first sync; returns the close
/// code, in `Close` and in `LinkClosed`.
fn raw_frame_after_sync(faults: Faults, plaintext: &[u8]) -> (Option<Code>, Option<Code>) {
    let mut rogue = Rogue::linked(primary_net(faults, 1, |_| {}));
    rogue.resume(0, 0);
    let payload = rogue.session.seal_raw_for_testing(plaintext).unwrap();
    rogue.send_bytes(payload);
    let (frames, closed) = rogue.answers();
    (close_code(&frames), closed)
}

#[test]
fn discard_unknown_critical_frame_keeps_the_session() {
    let outcome = both(Fault::DiscardUnknownCriticalFrame, |faults| {
        raw_frame_after_sync(faults, &[0x7E, 1, 2])
    });
    let malformed = Some(Code::MALFORMED_SESSION_FRAME);
    assert_eq!(outcome, ((malformed, malformed), (None, None)));
}

#[test]
fn close_on_unknown_ignorable_frame_ends_the_session() {
    let outcome = both(Fault::CloseOnUnknownIgnorableFrame, |faults| {
        raw_frame_after_sync(faults, &[0xC0, 1, 2, 3])
    });
    let malformed = Some(Code::MALFORMED_SESSION_FRAME);
    assert_eq!(outcome, ((None, None), (malformed, malformed)));
}

#[test]
fn snapshot_instead_of_resume_never_accepts() {
    let outcome = both(Fault::SnapshotInsteadOfResume, |faults| {
        let mut rogue = Rogue::linked(primary_net(faults, 2, |_| {}));
        let (log_id, head) = (rogue.log_id(), rogue.head());
        names(&rogue.resume(log_id, head))[0]
    });
    assert_eq!(outcome, ("ResumeAccepted", "SnapshotBegin"));
}

#[test]
fn resume_skips_an_event_after_the_resume_point() {
    let outcome = both(Fault::ResumeSkipsAnEvent, |faults| {
        let mut rogue = Rogue::linked(primary_net(faults, 2, |_| {}));
        assert_eq!(rogue.head(), 4);
        let log_id = rogue.log_id();
        event_seqs(&rogue.resume(log_id, 2))
    });
    assert_eq!(outcome, (vec![3, 4], vec![4]));
}

#[test]
fn resume_foreign_log_accepts_another_log_id() {
    let outcome = both(Fault::ResumeForeignLog, |faults| {
        let mut rogue = Rogue::linked(primary_net(faults, 2, |_| {}));
        let foreign = rogue.log_id().wrapping_add(1).max(1);
        assert_ne!(foreign, rogue.log_id());
        names(&rogue.resume(foreign, 0))[0]
    });
    assert_eq!(outcome, ("SnapshotBegin", "ResumeAccepted"));
}

#[test]
fn ignore_event_window_sends_every_event() {
    let outcome = both(Fault::IgnoreEventWindow, |faults| {
        let mut rogue = Rogue::linked(primary_net(faults, 0, |c| c.event_window = 2));
        rogue.resume(0, 0);
        for name in ["A", "B", "C"] {
            let now = rogue.net.now;
            rogue.net.primary().add_contact(now, name).unwrap();
        }
        rogue.net.drive();
        event_seqs(&rogue.frames())
    });
    assert_eq!(outcome, (vec![1, 2], vec![1, 2, 3, 4, 5, 6]));
}

#[test]
fn ignore_ack_range_accepts_an_ack_never_sent() {
    let outcome = both(Fault::IgnoreAckRange, |faults| {
        let mut rogue = Rogue::linked(primary_net(faults, 1, |_| {}));
        rogue.resume(0, 0);
        rogue.send(Ack { seq: 7 });
        rogue.answers().1
    });
    assert_eq!(outcome, (Some(Code::ACK_OUT_OF_RANGE), None));
}

/// Sends the same `Send` twice; returns both `SendAck`s and how many
/// messages the store holds.
fn send_twice(faults: Faults) -> (SendAck, SendAck, usize) {
    let mut rogue = Rogue::linked(primary_net(faults, 1, |_| {}));
    rogue.resume(0, 0);
    let send = Send {
        client_id: [7; 16],
        chat_id: rogue.first_chat(),
        body: text("once"),
    };
    let mut acks = Vec::new();
    for _ in 0..2 {
        rogue.send(send.clone());
        acks.extend(rogue.frames().into_iter().filter_map(|f| match f {
            InnerFrame::SendAck(ack) => Some(ack),
            _ => None,
        }));
    }
    let [first, second] = <[SendAck; 2]>::try_from(acks).unwrap();
    (first, second, rogue.net.store().all_messages().count())
}

#[test]
fn apply_retried_send_twice_stores_two_messages() {
    let ((first, second, count), (first_f, second_f, count_f)) =
        both(Fault::ApplyRetriedSendTwice, send_twice);
    assert_eq!((first == second, count), (true, 1));
    assert_eq!(count_f, 2);
    assert_ne!(first_f.message_id, second_f.message_id);
}

#[test]
fn retried_send_ack_names_head_answers_differently() {
    let ((first, second, count), (first_f, second_f, count_f)) =
        both(Fault::RetriedSendAckNamesHead, send_twice);
    assert_eq!((first == second, count), (true, 1));
    assert_eq!(count_f, 1, "still applied once");
    assert_eq!(first_f.message_id, second_f.message_id);
    assert_ne!(first_f.seq, second_f.seq);
}

fn history(faults: Faults, chat: Option<u64>) -> InnerFrame {
    let mut rogue = Rogue::linked(primary_net(faults, 1, |_| {}));
    let contact = rogue.net.store().contacts().unwrap()[0].contact_id;
    for i in 0..3 {
        let now = rogue.net.now;
        rogue
            .net
            .primary()
            .receive_message(now, contact, text(&format!("m{i}")))
            .unwrap();
    }
    rogue.resume(0, 0);
    let chat_id = chat.unwrap_or_else(|| rogue.first_chat());
    rogue.send(HistoryRequest {
        request_id: 9,
        chat_id,
        before: 0,
        limit: 1,
    });
    rogue.frames().remove(0)
}

#[test]
fn history_never_has_more_hides_older_messages() {
    let outcome = both(Fault::HistoryNeverHasMore, |faults| {
        match history(faults, None) {
            InnerFrame::MessagePage(page) => page.has_more,
            other => panic!("unexpected {other:?}"),
        }
    });
    assert_eq!(outcome, (true, false));
}

#[test]
fn history_unknown_chat_empty_page_sends_no_error() {
    let outcome = both(Fault::HistoryUnknownChatEmptyPage, |faults| {
        history(faults, Some(999)).name()
    });
    assert_eq!(outcome, ("Error", "MessagePage"));
}

#[test]
fn mark_read_skips_sender_sends_it_no_read_event() {
    let outcome = both(Fault::MarkReadSkipsSender, |faults| {
        let mut rogue = Rogue::linked(primary_net(faults, 1, |_| {}));
        let contact = rogue.net.store().contacts().unwrap()[0].contact_id;
        let now = rogue.net.now;
        let message = rogue
            .net
            .primary()
            .receive_message(now, contact, text("read me"))
            .unwrap();
        rogue.resume(0, 0);
        rogue.send(MarkRead {
            chat_id: message.chat_id,
            up_to: message.message_id,
        });
        rogue
            .frames()
            .iter()
            .filter(|f| {
                matches!(
                    f,
                    InnerFrame::Event(Event {
                        body: EventBody::ChatRead { .. },
                        ..
                    })
                )
            })
            .count()
    });
    assert_eq!(outcome, (1, 0));
}

#[test]
fn skip_upload_hash_check_keeps_a_mismatching_file() {
    let outcome = both(Fault::SkipUploadHashCheck, |faults| {
        let mut rogue = Rogue::linked(primary_net(faults, 0, |_| {}));
        rogue.resume(0, 0);
        rogue.send(UploadBegin {
            transfer_id: 1,
            media_id: [9; 32],
            size: 10,
            mime: "text/plain".into(),
            name: "a.txt".into(),
        });
        assert_eq!(names(&rogue.frames()), ["UploadReady"]);
        rogue.send(Chunk {
            transfer_id: 1,
            offset: 0,
            data: Bytes::from(vec![1; 10]),
        });
        names(&rogue.frames())
    });
    assert_eq!(outcome, (vec!["TransferCancel"], vec!["UploadDone"]));
}

/// Asks for a three-chunk file the primary holds, with `credit`; returns
/// the frame names of the answer and the `LinkClosed` code.
fn download(faults: Faults, credit: u16) -> (Vec<&'static str>, Option<Code>) {
    let mut net = primary_net(faults, 0, |_| {});
    let data = vec![3u8; MAX_CHUNK * 3];
    let media_id: [u8; 32] = Sha256::digest(&data).into();
    let store = net.primary().store_mut();
    store.write_media(&media_id, 0, &data).unwrap();
    store.complete_media(&media_id, data.len() as u64).unwrap();
    let mut rogue = Rogue::linked(net);
    rogue.resume(0, 0);
    rogue.send(DownloadRequest {
        transfer_id: 1,
        media_id,
        offset: 0,
        length: 0,
        credit,
    });
    let (frames, closed) = rogue.answers();
    (names(&frames), closed)
}

#[test]
fn ignore_download_credit_sends_the_whole_file() {
    let outcome = both(Fault::IgnoreDownloadCredit, |faults| download(faults, 1));
    assert_eq!(
        outcome,
        (
            (vec!["DownloadReady", "Chunk"], None),
            (vec!["DownloadReady", "Chunk", "Chunk", "Chunk"], None)
        )
    );
}

#[test]
fn accept_excess_download_credit_does_not_close() {
    let outcome = both(Fault::AcceptExcessDownloadCredit, |faults| {
        download(faults, 33).1
    });
    assert_eq!(outcome, (Some(Code::CREDIT_EXCEEDED), None));
}

// ---------------------------------------------------------------------------
// The companion, against a hand-driven primary and relay.

const LINK: u32 = 7;

fn now() -> Instant {
    Instant::from_micros(1_000_000)
}

fn envelope(frame: impl Into<EnvelopeFrame>) -> Bytes {
    frame.into().to_bytes().unwrap()
}

fn companion(faults: Faults) -> (Companion, StaticKeypair) {
    let mut rng = SeededRandom::new(50);
    let identity = StaticKeypair::generate(&mut rng);
    let primary = StaticKeypair::generate(&mut rng);
    let credentials = Credentials {
        identity,
        primary_key: primary.public(),
        account_name: "Ada".into(),
    };
    let config = CompanionConfig {
        faults,
        ..CompanionConfig::default()
    };
    let machine = Companion::new(config, credentials, Box::new(SeededRandom::new(51)));
    (machine, primary)
}

/// A companion in session with a hand-driven primary, its `Resume` read.
struct Phone {
    companion: Companion,
    session: Session,
}

impl Phone {
    fn connect((mut companion, primary): (Companion, StaticKeypair)) -> Self {
        companion.handle_connected(now()).unwrap();
        let mut phone_session = None;
        companion
            .handle_frame(
                now(),
                envelope(RouteAttached {
                    link_id: LINK,
                    primary_online: true,
                }),
            )
            .unwrap();
        while let Some(transmit) = companion.poll_transmit() {
            if let Transmit::Frame(bytes) = transmit
                && let Ok(EnvelopeFrame::Data(data)) = EnvelopeFrame::decode(&bytes)
            {
                let incoming =
                    read_reconnect(&primary, &data.payload, &HandshakeOptions::default()).unwrap();
                let (session, msg2) = incoming.accept(Hello { capabilities: 0 }).unwrap();
                phone_session = Some((session, msg2));
            }
        }
        let (session, msg2) = phone_session.expect("reconnect message 1");
        companion
            .handle_frame(
                now(),
                envelope(Data {
                    link_id: LINK,
                    payload: msg2.into(),
                }),
            )
            .unwrap();
        let mut phone = Self { companion, session };
        let (frames, _) = phone.out();
        assert_eq!(names(&frames), ["Resume"]);
        phone
    }

    fn relay(&mut self, frame: impl Into<EnvelopeFrame>) {
        self.companion.handle_frame(now(), envelope(frame)).unwrap();
    }

    fn send(&mut self, frame: impl Into<InnerFrame>) {
        let payload = seal(&mut self.session, frame.into());
        self.send_bytes(payload);
    }

    fn send_bytes(&mut self, payload: Bytes) {
        self.relay(Data {
            link_id: LINK,
            payload,
        });
    }

    /// What the companion sent: inner frames, and the `LinkClosed` code.
    fn out(&mut self) -> (Vec<InnerFrame>, Option<Code>) {
        let mut frames = Vec::new();
        let mut closed = None;
        while let Some(transmit) = self.companion.poll_transmit() {
            let Transmit::Frame(bytes) = transmit else {
                continue;
            };
            match EnvelopeFrame::decode(&bytes).unwrap() {
                EnvelopeFrame::Data(data) => frames.push(self.session.open(&data.payload).unwrap()),
                EnvelopeFrame::LinkClosed(link) => closed = Some(link.code),
                _ => {}
            }
        }
        (frames, closed)
    }

    fn closed(&mut self) -> (Option<Code>, Option<Code>) {
        let (frames, closed) = self.out();
        (close_code(&frames), closed)
    }

    fn events(&mut self) -> Vec<CompanionEvent> {
        std::iter::from_fn(|| self.companion.poll_event()).collect()
    }

    /// A snapshot at `seq` holding `chats`.
    fn snapshot(&mut self, seq: u64, chats: Vec<Chat>) {
        self.send(SnapshotBegin {
            log_id: 77,
            seq,
            chat_count: u32::try_from(chats.len()).unwrap(),
            contact_count: 0,
        });
        if !chats.is_empty() {
            self.send(ChatPage { chats });
        }
        self.send(SnapshotEnd { seq });
    }

    fn synced(faults: Faults) -> Self {
        let mut phone = Self::connect(companion(faults));
        phone.snapshot(0, Vec::new());
        phone.out();
        phone.events();
        phone
    }
}

fn chat(chat_id: u64) -> Chat {
    Chat {
        chat_id,
        contact_id: 1,
        title: "Ada".into(),
        unread: 0,
        last_message_id: 0,
    }
}

/// A companion pairing with a hand-driven primary, after message 2.
fn pairing(faults: Faults) -> (Pairing, Session, Vec<PairingEvent>) {
    let mut rng = SeededRandom::new(60);
    let phone = StaticKeypair::generate(&mut rng);
    let web = StaticKeypair::generate(&mut rng);
    let config = PairingConfig {
        faults,
        ..PairingConfig::default()
    };
    let mut machine = Pairing::new(config, web, Box::new(SeededRandom::new(61)));
    machine.handle_connected(now()).unwrap();
    machine
        .handle_frame(
            now(),
            envelope(ChannelOpened {
                channel_id: [1; 16],
                link_id: LINK,
                ttl_ms: 60_000,
            }),
        )
        .unwrap();
    let mut events: Vec<PairingEvent> = std::iter::from_fn(|| machine.poll_event()).collect();
    let init = PairInit {
        capabilities: 0,
        account_name: "Ada".into(),
        device_name: "Phone".into(),
    };
    let (handshake, msg1) = PrimaryPairing::start(
        &phone,
        &shown_code(&events),
        &init,
        &HandshakeOptions::default(),
    )
    .unwrap();
    machine
        .handle_frame(
            now(),
            envelope(Data {
                link_id: LINK,
                payload: msg1.into(),
            }),
        )
        .unwrap();
    let mut msg2 = None;
    while let Some(transmit) = machine.poll_transmit() {
        if let Transmit::Frame(bytes) = transmit
            && let Ok(EnvelopeFrame::Data(data)) = EnvelopeFrame::decode(&bytes)
        {
            msg2 = Some(data.payload);
        }
    }
    let paired = handshake.finish(&msg2.expect("message 2")).unwrap();
    events.extend(std::iter::from_fn(|| machine.poll_event()));
    (machine, paired.session, events)
}

fn paired(events: &[PairingEvent]) -> bool {
    events.iter().any(|e| matches!(e, PairingEvent::Paired(_)))
}

fn pairing_send(machine: &mut Pairing, session: &mut Session, frame: InnerFrame) {
    let payload = seal(session, frame);
    machine
        .handle_frame(
            now(),
            envelope(Data {
                link_id: LINK,
                payload,
            }),
        )
        .unwrap();
}

#[test]
fn linked_before_pairing_complete_reports_paired_after_message_2() {
    let outcome = both(Fault::LinkedBeforePairingComplete, |faults| {
        paired(&pairing(faults).2)
    });
    assert_eq!(outcome, (false, true));
}

#[test]
fn ignore_frame_before_pairing_complete_waits_on() {
    let outcome = both(Fault::IgnoreFrameBeforePairingComplete, |faults| {
        let (mut machine, mut session, _) = pairing(faults);
        pairing_send(
            &mut machine,
            &mut session,
            ResumeAccepted { head: 0 }.into(),
        );
        let events: Vec<_> = std::iter::from_fn(|| machine.poll_event()).collect();
        let failed = events.iter().find_map(|e| match e {
            PairingEvent::Failed { code, .. } => Some(*code),
            _ => None,
        });
        if failed.is_some() {
            return (failed, false);
        }
        pairing_send(&mut machine, &mut session, InnerFrame::PairingComplete);
        let events: Vec<_> = std::iter::from_fn(|| machine.poll_event()).collect();
        (failed, paired(&events))
    });
    assert_eq!(
        outcome,
        ((Some(Code::UNEXPECTED_SESSION_FRAME), false), (None, true))
    );
}

#[test]
fn wipe_on_relay_signal_wipes_on_an_unauthenticated_link_closed_or_error() {
    let outcome = both(Fault::WipeOnRelaySignal, |faults| {
        let mut phone = Phone::synced(faults);
        phone.relay(LinkClosed {
            link_id: LINK,
            code: Code::DEVICE_REVOKED,
        });
        let by_link_closed = phone.companion.is_wiped();
        let mut phone = Phone::synced(faults);
        phone.relay(RelayError {
            code: Code::UNKNOWN_DEVICE,
            link_id: LINK,
            message: "forged".into(),
        });
        (by_link_closed, phone.companion.is_wiped())
    });
    assert_eq!(outcome, ((false, false), (true, true)));
}

#[test]
fn ignore_frame_before_resume_answer_keeps_the_session() {
    let outcome = both(Fault::IgnoreFrameBeforeResumeAnswer, |faults| {
        let mut phone = Phone::connect(companion(faults));
        phone.send(Event {
            seq: 1,
            body: EventBody::ContactUpdated(Contact {
                contact_id: 1,
                name: "Ada".into(),
            }),
        });
        phone.closed()
    });
    let unexpected = Some(Code::UNEXPECTED_SESSION_FRAME);
    assert_eq!(outcome, ((unexpected, unexpected), (None, None)));
}

#[test]
fn companion_ignores_decrypt_failure_and_keeps_the_session() {
    let outcome = both(Fault::CompanionIgnoresDecryptFailure, |faults| {
        let mut phone = Phone::connect(companion(faults));
        phone.send_bytes(Bytes::from(vec![0x55; 40]));
        let (_, closed) = phone.out();
        if closed.is_some() {
            return (closed, false);
        }
        phone.snapshot(0, Vec::new());
        let synced = phone
            .events()
            .iter()
            .any(|e| matches!(e, CompanionEvent::Synced { .. }));
        (closed, synced)
    });
    assert_eq!(outcome, ((Some(Code::DECRYPT_FAILED), false), (None, true)));
}

#[test]
fn reject_unknown_body_kind_closes_on_an_unknown_body() {
    let outcome = both(Fault::RejectUnknownBodyKind, |faults| {
        let mut phone = Phone::synced(faults);
        phone.send(Event {
            seq: 1,
            body: EventBody::MessageAdded(Message {
                message_id: 1,
                chat_id: 1,
                sender: 1,
                timestamp_ms: 0,
                status: MessageStatus::None,
                body: Body::Unknown {
                    kind: 9,
                    content: Bytes::from_static(b"future"),
                },
            }),
        });
        phone.closed().0
    });
    assert_eq!(outcome, (None, Some(Code::MALFORMED_SESSION_FRAME)));
}

#[test]
fn keep_cache_on_snapshot_keeps_a_chat_the_new_snapshot_lacks() {
    let outcome = both(Fault::KeepCacheOnSnapshot, |faults| {
        let mut phone = Phone::connect(companion(faults));
        phone.snapshot(0, vec![chat(1)]);
        phone.snapshot(0, vec![chat(2)]);
        phone
            .companion
            .cache()
            .chats
            .keys()
            .copied()
            .collect::<Vec<_>>()
    });
    assert_eq!(outcome, (vec![2], vec![1, 2]));
}

#[test]
fn close_on_unknown_event_kind_ends_the_session() {
    let outcome = both(Fault::CloseOnUnknownEventKind, |faults| {
        let mut phone = Phone::synced(faults);
        phone.send(Event {
            seq: 1,
            body: EventBody::Unknown {
                kind: 200,
                body: Bytes::from_static(&[1]),
            },
        });
        phone.closed().0
    });
    assert_eq!(outcome, (None, Some(Code::MALFORMED_SESSION_FRAME)));
}

#[test]
fn ignore_event_gap_applies_an_event_out_of_order() {
    let outcome = both(Fault::IgnoreEventGap, |faults| {
        let mut phone = Phone::synced(faults);
        phone.send(Event {
            seq: 3,
            body: EventBody::ChatUpdated(chat(1)),
        });
        (phone.closed().0, phone.companion.cache().seq)
    });
    assert_eq!(
        outcome,
        ((Some(Code::UNEXPECTED_SESSION_FRAME), 0), (None, 3))
    );
}

#[test]
fn never_acknowledge_sends_no_ack() {
    let outcome = both(Fault::NeverAcknowledge, |faults| {
        let mut phone = Phone::connect(companion(faults));
        phone.snapshot(5, Vec::new());
        names(&phone.out().0).contains(&"Ack")
    });
    assert_eq!(outcome, (true, false));
}

/// A send queued while offline; returns its client id and the client ids
/// of the `Send`s that follow the first sync.
fn resent(faults: Faults) -> ([u8; 16], Vec<[u8; 16]>) {
    let (mut machine, primary) = companion(faults);
    let client_id = machine.send_message(1, text("queued")).unwrap();
    let mut phone = Phone::connect((machine, primary));
    phone.snapshot(0, vec![chat(1)]);
    let sends = phone
        .out()
        .0
        .into_iter()
        .filter_map(|f| match f {
            InnerFrame::Send(send) => Some(send.client_id),
            _ => None,
        })
        .collect();
    (client_id, sends)
}

#[test]
fn no_resend_after_resume_keeps_the_send_queued() {
    let ((id, sends), (id_f, sends_f)) = both(Fault::NoResendAfterResume, resent);
    assert_eq!(sends, vec![id]);
    assert!(sends_f.is_empty());
    let _ = id_f;
}

#[test]
fn resend_with_new_client_id_changes_the_id() {
    let ((id, sends), (id_f, sends_f)) = both(Fault::ResendWithNewClientId, resent);
    assert_eq!(sends, vec![id]);
    assert_eq!(sends_f.len(), 1);
    assert_ne!(sends_f[0], id_f);
}

#[test]
fn accept_excess_upload_credit_does_not_close() {
    let outcome = both(Fault::AcceptExcessUploadCredit, |faults| {
        let mut phone = Phone::synced(faults);
        let data = Bytes::from_static(b"abcd");
        let t = phone
            .companion
            .upload(UploadRequest {
                media_id: Sha256::digest(&data).into(),
                size: 4,
                mime: "text/plain".into(),
                name: "a.txt".into(),
                source: Box::new(data),
            })
            .unwrap();
        assert_eq!(names(&phone.out().0), ["UploadBegin"]);
        phone.send(UploadReady {
            transfer_id: t,
            offset: 0,
            credit: 32,
        });
        assert_eq!(names(&phone.out().0), ["Chunk"]);
        phone.send(Credit {
            transfer_id: t,
            chunks: 8,
        });
        phone.closed()
    });
    let exceeded = Some(Code::CREDIT_EXCEEDED);
    assert_eq!(outcome, ((exceeded, exceeded), (None, None)));
}

#[test]
fn every_fault_has_a_test_here() {
    let source = include_str!("faults.rs");
    for fault in Fault::ALL {
        let variant = format!("{fault:?}");
        assert!(
            source.matches(&format!("Fault::{variant},")).count()
                + source.matches(&format!("Fault::{variant})")).count()
                >= 1,
            "no test switches on {variant}"
        );
    }
}
