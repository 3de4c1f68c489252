//! Sync with a primary under test (spec §7): resume or snapshot (§7.2,
//! §7.3), numbered events within the window (§7.4), acknowledgements and
//! cursors (§7.5), sends exactly once (§7.6), history (§7.7), read marks
//! (§7.8). The runner plays the companion; `inject` and `send` make state.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use bytes::{BufMut, BytesMut};
use tandem_codec::Code;
use tandem_codec::session::{
    Ack, Body, Event, EventBody, HistoryRequest, InnerFrame, MarkRead, MediaRef, Message,
    MessagePage, Resume, Send, SendAck,
};

use crate::case::{FailKind, Failure, ensure};
use crate::endpoint::as_companion::{Paired, Snapshot};
use crate::endpoint::cases::checks::received;
use crate::endpoint::cases::{EndpointCase, primary_case as c};
use crate::endpoint::ctx::Ctx;
use crate::endpoint::faults::{
    ACK_AHEAD, ACK_BACKWARDS, BAD_HISTORY_LIMIT, DUPLICATE_SEND, LOST_SEND_ACK,
    MALFORMED_INNER_FRAME, NEVER_ACKS, STALE_RESUME, UNKNOWN_BODY_KIND, UNKNOWN_CHAT,
    UNKNOWN_MEDIA,
};
use crate::endpoint::link::{Incoming, Link, describe_inner};

/// Capabilities of a case that syncs with state made through `inject`.
pub(super) const SYNCED: &[&str] = &["pair", "reconnect", "sync", "inject"];

/// Capabilities of a case that also restarts the primary.
const SYNCED_RESTART: &[&str] = &["pair", "reconnect", "sync", "inject", "restart"];

/// Capabilities of a case that also sends messages.
const SENDING: &[&str] = &["pair", "reconnect", "sync", "inject", "send"];

/// Capabilities of a case that sends messages and restarts the primary.
const SENDING_RESTART: &[&str] = &["pair", "reconnect", "sync", "inject", "send", "restart"];

/// Capabilities of a case that reads history.
const HISTORY: &[&str] = &["pair", "reconnect", "sync", "inject", "history"];

/// Capabilities of a case that marks chats read.
const READING: &[&str] = &["pair", "reconnect", "sync", "inject", "read"];

/// `EVENT_WINDOW` (§7.4).
const EVENT_WINDOW: u64 = 1_024;

/// A live route session of the runner's companion with the primary.
pub(super) struct Live {
    /// The link the primary stored.
    pub paired: Paired,
    /// The session.
    pub link: Link,
    /// The primary's log id, from the first snapshot.
    pub log_id: u64,
    /// The highest seq applied (and acknowledged).
    pub seq: u64,
}

/// Pairs a runner companion, syncs it from a snapshot and acknowledges it.
pub(super) async fn live(ctx: &Ctx) -> Result<Live, Failure> {
    let (paired, link, snapshot) = ctx.live_primary().await?;
    Ok(Live {
        paired,
        link,
        log_id: snapshot.begin.map_or(0, |b| b.log_id),
        seq: snapshot.end,
    })
}

/// `add-contact <name>`: the new chat's id.
pub(super) async fn add_chat(ctx: &Ctx, name: &str) -> Result<u64, Failure> {
    let answer = ctx
        .ok(&format!("add-contact {name}"))
        .await?
        .unwrap_or_default();
    answer
        .split(' ')
        .nth(1)
        .and_then(|chat| chat.parse().ok())
        .ok_or_else(|| {
            Failure::fail(
                "`ok <contact_id> <chat_id>` for `add-contact` (§12.5.3)",
                format!("`ok {answer}`"),
            )
        })
}

/// `inject <chat_id> <text>`: the new message's id.
pub(super) async fn inject(ctx: &Ctx, chat_id: u64, text: &str) -> Result<u64, Failure> {
    let answer = ctx
        .ok(&format!("inject {chat_id} {text}"))
        .await?
        .unwrap_or_default();
    answer.parse().map_err(|_| {
        Failure::fail(
            "`ok <message_id>` for `inject` (§12.5.3)",
            format!("`ok {answer}`"),
        )
    })
}

/// A chat with `count` texts from its contact, injected while no
/// companion is connected: its id.
pub(super) async fn chat_with(ctx: &Ctx, name: &str, count: usize) -> Result<u64, Failure> {
    let chat_id = add_chat(ctx, name).await?;
    for n in 0..count {
        inject(ctx, chat_id, &format!("{name} {n}")).await?;
    }
    Ok(chat_id)
}

/// Ends the session as a companion that quits: `Close(normal_closure)`.
pub(super) async fn leave(mut link: Link) -> Result<(), Failure> {
    link.send(&InnerFrame::Close(tandem_codec::session::Close {
        code: Code::NORMAL_CLOSURE,
        message: String::new(),
    }))
    .await
}

/// Reconnects and sends `Resume(log_id, seq)`.
pub(super) async fn resume(
    ctx: &Ctx,
    paired: &Paired,
    log_id: u64,
    seq: u64,
) -> Result<Link, Failure> {
    let mut link = ctx.reconnect(paired).await?;
    link.send(&InnerFrame::Resume(Resume { log_id, seq }))
        .await?;
    Ok(link)
}

/// How the runner's companion is separated from the primary before it
/// resumes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Interruption {
    /// The companion only reconnects.
    Reconnect,
    /// The primary is restarted in between.
    Restart,
    /// The primary crashes in between.
    Crash,
}

impl Interruption {
    /// Restarts or crashes the primary; a reconnect leaves it running.
    pub(super) async fn apply(self, ctx: &Ctx) -> Result<(), Failure> {
        match self {
            Self::Reconnect => Ok(()),
            Self::Restart => ctx.restart().await,
            Self::Crash => ctx.crash().await,
        }
    }
}

/// Leaves the session, interrupts the primary `how`, resumes from
/// `live.seq` and waits for `ResumeAccepted`: the new session.
pub(super) async fn rejoin(
    ctx: &Ctx,
    live: Live,
    how: Interruption,
    why: &str,
) -> Result<Link, Failure> {
    let Live {
        paired,
        link,
        log_id,
        seq,
    } = live;
    leave(link).await?;
    how.apply(ctx).await?;
    let mut link = resume(ctx, &paired, log_id, seq).await?;
    expect_resumed(ctx, &mut link, why).await?;
    Ok(link)
}

/// A new chat with "Ada" and then a live session: the chat's id and the
/// session.
pub(super) async fn chat_and_live(ctx: &Ctx) -> Result<(u64, Live), Failure> {
    let chat = add_chat(ctx, "Ada").await?;
    let live = live(ctx).await?;
    Ok((chat, live))
}

/// Acknowledges every event through `seq`.
pub(super) async fn acknowledge(link: &mut Link, seq: u64) -> Result<(), Failure> {
    link.send(&InnerFrame::Ack(Ack { seq })).await
}

/// Marks `chat_id` read up to `up_to`.
async fn mark_read(link: &mut Link, chat_id: u64, up_to: u64) -> Result<(), Failure> {
    link.send(&InnerFrame::MarkRead(MarkRead { chat_id, up_to }))
        .await
}

/// Injects a text, reads the events it brings and returns the seq of the
/// last one (the session's seq when none came).
async fn inject_last_seq(
    ctx: &Ctx,
    live: &mut Live,
    chat_id: u64,
    text: &str,
) -> Result<u64, Failure> {
    let (_, events) = inject_seen(ctx, &mut live.link, chat_id, text).await?;
    Ok(last_seq(&events, live.seq))
}

/// Reads the events from `after` + 1 to `head` that a resume brings.
async fn read_after(
    ctx: &Ctx,
    link: &mut Link,
    after: u64,
    head: u64,
    why: &str,
) -> Result<Vec<Event>, Failure> {
    let count = usize::try_from(head.saturating_sub(after)).unwrap_or(0);
    read_events(ctx, link, count, why).await
}

/// The ids of the messages of `chat_id` that `received` lists.
async fn message_ids(ctx: &Ctx, chat_id: u64) -> Result<Vec<u64>, Failure> {
    Ok(received(ctx)
        .await?
        .iter()
        .filter(|m| m.chat_id == chat_id)
        .map(|m| m.message_id)
        .collect())
}

/// Waits for `ResumeAccepted` and returns its head.
pub(super) async fn expect_resumed(ctx: &Ctx, link: &mut Link, why: &str) -> Result<u64, Failure> {
    link.expect_frame_skipping(
        ctx.wait(),
        &format!("ResumeAccepted ({why})"),
        |f| matches!(f, InnerFrame::Typing(_)),
        |f| match f {
            InnerFrame::ResumeAccepted(r) => Some(r.head),
            _ => None,
        },
    )
    .await
}

/// Reads frames until `done` says the list is complete; Typing is
/// skipped, anything that is not an inner frame fails.
pub(super) async fn gather(
    ctx: &Ctx,
    link: &mut Link,
    what: &str,
    mut done: impl FnMut(&[InnerFrame]) -> bool,
) -> Result<Vec<InnerFrame>, Failure> {
    let deadline = Instant::now() + ctx.wait();
    let mut frames = Vec::new();
    while !done(&frames) {
        let left = deadline.saturating_duration_since(Instant::now());
        match link.next(left, what).await? {
            Incoming::Frame(InnerFrame::Typing(_)) | Incoming::PeerState(_) => {}
            Incoming::Frame(f) => frames.push(f),
            other => {
                return Err(Failure::fail(
                    format!("{what}, as inner frames"),
                    other.describe(),
                ));
            }
        }
    }
    Ok(frames)
}

/// The events among `frames`.
pub(super) fn events_of(frames: &[InnerFrame]) -> Vec<Event> {
    frames
        .iter()
        .filter_map(|f| match f {
            InnerFrame::Event(e) => Some(e.clone()),
            _ => None,
        })
        .collect()
}

/// Reads `count` events (other frames are kept too).
pub(super) async fn read_events(
    ctx: &Ctx,
    link: &mut Link,
    count: usize,
    why: &str,
) -> Result<Vec<Event>, Failure> {
    let frames = gather(ctx, link, &format!("{count} events ({why})"), |f| {
        events_of(f).len() >= count
    })
    .await?;
    Ok(events_of(&frames))
}

/// Injects a text and reads the events it brings (its `MessageAdded`
/// and whatever follows at once): the message id and the events.
pub(super) async fn inject_seen(
    ctx: &Ctx,
    link: &mut Link,
    chat_id: u64,
    text: &str,
) -> Result<(u64, Vec<Event>), Failure> {
    let message_id = inject(ctx, chat_id, text).await?;
    let events = events_until_added(ctx, link, message_id).await?;
    Ok((message_id, events))
}

/// Reads events through the `MessageAdded` of `message_id` and what
/// follows at once.
pub(super) async fn events_until_added(
    ctx: &Ctx,
    link: &mut Link,
    message_id: u64,
) -> Result<Vec<Event>, Failure> {
    let mut frames = gather(
        ctx,
        link,
        &format!("MessageAdded for message {message_id}"),
        |f| {
            added(&events_of(f))
                .iter()
                .any(|m| m.message_id == message_id)
        },
    )
    .await?;
    frames.extend(drain(ctx, link).await?);
    Ok(events_of(&frames))
}

/// The seq of the last event, or `otherwise` when there is none.
pub(super) fn last_seq(events: &[Event], otherwise: u64) -> u64 {
    events.last().map_or(otherwise, |e| e.seq)
}

/// Sends `send` and expects `SendFailed(client id, code)`; returns it.
async fn expect_send_failed(
    ctx: &Ctx,
    link: &mut Link,
    send: &Send,
    code: Code,
) -> Result<InnerFrame, Failure> {
    link.send(&InnerFrame::Send(send.clone())).await?;
    let answer = link
        .expect_frame_skipping(
            ctx.wait(),
            "SendFailed [SYNC-20]",
            |f| matches!(f, InnerFrame::Typing(_)),
            |f| Some(f.clone()),
        )
        .await?;
    ensure(
        matches!(&answer, InnerFrame::SendFailed(f) if f.client_id == send.client_id && f.code == code),
        format!(
            "SendFailed(client id, {}) [SYNC-20]",
            code.name().unwrap_or_default()
        ),
        || describe_inner(&answer),
    )?;
    Ok(answer)
}

/// Checks that `events` are numbered `first`, `first + 1`, … ([SYNC-11]).
pub(super) fn ensure_consecutive(events: &[Event], first: u64) -> Result<(), Failure> {
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    let wanted: Vec<u64> = (first..first + seqs.len() as u64).collect();
    ensure(
        seqs == wanted,
        format!(
            "events numbered {first}, {}, … in order, without gaps or repeats [SYNC-11]",
            first + 1
        ),
        || format!("seqs {seqs:?}"),
    )
}

/// Checks that no event (or any other frame but Typing) comes for a while.
pub(super) async fn ensure_no_frames(ctx: &Ctx, link: &mut Link, why: &str) -> Result<(), Failure> {
    link.expect_quiet(ctx.quiet(), why, |i| {
        matches!(
            i,
            Incoming::Frame(InnerFrame::Typing(_)) | Incoming::PeerState(_)
        )
    })
    .await
}

/// The messages that `MessageAdded` events carry.
pub(super) fn added(events: &[Event]) -> Vec<Message> {
    events
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::MessageAdded(m) => Some(m.clone()),
            _ => None,
        })
        .collect()
}

/// A `Send` of a text with a fresh client id.
pub(super) fn text_send(ctx: &Ctx, chat_id: u64, text: &str) -> Send {
    Send {
        client_id: ctx.relay().array(),
        chat_id,
        body: Body::Text(text.to_owned()),
    }
}

/// Sends `send` and waits for its `SendAck` and the `MessageAdded` event
/// it names; returns the acknowledgement and every event read.
pub(super) async fn send_applied(
    ctx: &Ctx,
    link: &mut Link,
    send: &Send,
) -> Result<(SendAck, Vec<Event>), Failure> {
    link.send(&InnerFrame::Send(send.clone())).await?;
    let frames = gather(
        ctx,
        link,
        "SendAck and the MessageAdded it names [SYNC-17]",
        |f| {
            let ack = f.iter().find_map(|f| match f {
                InnerFrame::SendAck(a) if a.client_id == send.client_id => Some(a.seq),
                _ => None,
            });
            ack.is_some_and(|seq| events_of(f).iter().any(|e| e.seq >= seq))
                || f.iter()
                    .any(|f| matches!(f, InnerFrame::SendFailed(_) | InnerFrame::Close(_)))
        },
    )
    .await?;
    let mut frames = frames;
    frames.extend(drain(ctx, link).await?);
    let ack = frames.iter().find_map(|f| match f {
        InnerFrame::SendAck(a) if a.client_id == send.client_id => Some(*a),
        _ => None,
    });
    let ack = ack.ok_or_else(|| {
        Failure::fail(
            "SendAck for the send [SYNC-17]",
            frames
                .iter()
                .map(describe_inner)
                .collect::<Vec<_>>()
                .join(", "),
        )
    })?;
    Ok((ack, events_of(&frames)))
}

/// Reads the inner frames that come until nothing comes for a while.
pub(super) async fn drain(ctx: &Ctx, link: &mut Link) -> Result<Vec<InnerFrame>, Failure> {
    let mut frames = Vec::new();
    loop {
        match link.next(ctx.quiet(), "nothing more").await {
            Ok(Incoming::Frame(InnerFrame::Typing(_)) | Incoming::PeerState(_)) => {}
            Ok(Incoming::Frame(f)) => frames.push(f),
            Ok(other) => return Err(Failure::fail("inner frames or nothing", other.describe())),
            Err(f) if f.kind == FailKind::Timeout => return Ok(frames),
            Err(f) => return Err(f),
        }
    }
}

/// Sends `send` again and expects exactly `first` back, and no event.
pub(super) async fn expect_same_answer(
    ctx: &Ctx,
    link: &mut Link,
    send: &Send,
    first: &InnerFrame,
) -> Result<(), Failure> {
    link.send(&InnerFrame::Send(send.clone())).await?;
    let answer = link
        .expect_frame_skipping(
            ctx.wait(),
            "the same answer as the first time [SYNC-18]",
            |f| matches!(f, InnerFrame::Typing(_)),
            |f| Some(f.clone()),
        )
        .await?;
    ensure(
        &answer == first,
        format!("{} again [SYNC-18]", describe_inner(first)),
        || describe_inner(&answer),
    )?;
    ensure_no_frames(ctx, link, "a repeated Send is not applied again [SYNC-18]").await
}

/// Checks that `received` holds exactly `count` messages with `text`.
pub(super) async fn ensure_stored(ctx: &Ctx, text: &str, count: usize) -> Result<(), Failure> {
    let messages = received(ctx).await?;
    let found = messages
        .iter()
        .filter(|m| m.body == Body::Text(text.to_owned()))
        .count();
    ensure(
        found == count,
        format!("`received` to hold the text `{text}` {count} time(s)"),
        || format!("{found} time(s) among {} messages", messages.len()),
    )
}

/// Sends `Resume` with these values on a new session and expects a
/// snapshot instead of `ResumeAccepted` ([SYNC-04]).
async fn expect_snapshot_for(ctx: &Ctx, live: Live, log_id: u64, seq: u64) -> Result<(), Failure> {
    let Live { paired, link, .. } = live;
    leave(link).await?;
    let mut link = resume(ctx, &paired, log_id, seq).await?;
    let snapshot = ctx.collect_snapshot(&mut link).await?;
    ensure(
        snapshot.begin.is_some(),
        format!("a snapshot for Resume({log_id}, {seq}) [SYNC-04]"),
        || format!("{:?}", snapshot.frames),
    )
}

/// The frames of `snapshot` and the events after it, checked to be the
/// state as of its seq ([SYNC-06]).
fn ensure_as_of(snapshot: &Snapshot, after: &[Event], store: &[Message]) -> Result<(), Failure> {
    let in_snapshot: BTreeSet<u64> = snapshot
        .pages
        .iter()
        .flat_map(|p| p.messages.iter().map(|m| m.message_id))
        .collect();
    let from_events: BTreeSet<u64> = added(after).iter().map(|m| m.message_id).collect();
    let both: Vec<&u64> = in_snapshot.intersection(&from_events).collect();
    ensure(
        both.is_empty(),
        "no message both in the snapshot and in an event after it [SYNC-06]",
        || format!("messages {both:?} in both"),
    )?;
    let all: BTreeSet<u64> = store.iter().map(|m| m.message_id).collect();
    let seen: BTreeSet<u64> = in_snapshot.union(&from_events).copied().collect();
    ensure(
        all == seen,
        "the snapshot plus the events after it to be the whole store [SYNC-06]",
        || format!("store {all:?}, seen {seen:?}"),
    )
}

/// The snapshot's message pages, by chat.
fn page_of(snapshot: &Snapshot, chat_id: u64) -> Option<&MessagePage> {
    snapshot.pages.iter().find(|p| p.chat_id == chat_id)
}

/// A `Send` whose media body is followed inside its `len` by one byte
/// more than the content needs ([SYNC-01]).
fn send_with_padded_media(client_id: [u8; 16], chat_id: u64) -> Vec<u8> {
    let mut content = BytesMut::new();
    content.put_slice(&[7; 32]);
    content.put_u64(10);
    for text in ["text/plain", "a.txt"] {
        content.put_u8(text.len() as u8);
        content.put_slice(text.as_bytes());
    }
    content.put_u16(0);
    content.put_u8(0);
    let mut plain = BytesMut::new();
    plain.put_u8(0x20);
    plain.put_slice(&client_id);
    plain.put_u64(chat_id);
    plain.put_u8(2);
    plain.put_u16(content.len() as u16);
    plain.put_slice(&content);
    plain.to_vec()
}

/// Sends a history request and waits for its answer.
pub(super) async fn history(
    ctx: &Ctx,
    link: &mut Link,
    request: HistoryRequest,
) -> Result<InnerFrame, Failure> {
    let id = request.request_id;
    link.send(&InnerFrame::HistoryRequest(request)).await?;
    link.expect_frame_skipping(
        ctx.wait(),
        "a MessagePage or Error for the HistoryRequest [SYNC-22] [SYNC-23]",
        |f| matches!(f, InnerFrame::Typing(_) | InnerFrame::Event(_)),
        |f| match f {
            InnerFrame::MessagePage(p) if p.request_id == id => Some(f.clone()),
            InnerFrame::Error(e) if e.ref_id == id => Some(f.clone()),
            _ => None,
        },
    )
    .await
}

/// A history page, or a failure naming what came instead.
async fn history_page(
    ctx: &Ctx,
    link: &mut Link,
    chat_id: u64,
    before: u64,
    limit: u16,
) -> Result<MessagePage, Failure> {
    let request_id = u32::try_from(ctx.relay().u64() % 1_000_000).unwrap_or(1) + 1;
    let answer = history(
        ctx,
        link,
        HistoryRequest {
            request_id,
            chat_id,
            before,
            limit,
        },
    )
    .await?;
    match answer {
        InnerFrame::MessagePage(p) => Ok(p),
        other => Err(Failure::fail(
            format!("a MessagePage for chat {chat_id} before {before}, limit {limit} [SYNC-22]"),
            describe_inner(&other),
        )),
    }
}

/// Checks a history page: its message ids, oldest first, and `has_more`.
fn ensure_page(page: &MessagePage, ids: &[u64], has_more: bool) -> Result<(), Failure> {
    let got: Vec<u64> = page.messages.iter().map(|m| m.message_id).collect();
    ensure(
        got == ids && page.has_more == has_more,
        format!("messages {ids:?} oldest first with has_more = {has_more} [SYNC-22]"),
        || format!("messages {got:?} with has_more = {}", page.has_more),
    )
}

/// Checks that `answer` is `Error(code, ref_id)`.
fn expect_error(answer: &InnerFrame, code: Code, ref_id: u32, why: &str) -> Result<(), Failure> {
    ensure(
        matches!(&answer, InnerFrame::Error(e) if e.code == code && e.ref_id == ref_id),
        format!(
            "Error({}, {ref_id}) ({why})",
            code.name().unwrap_or_default()
        ),
        || describe_inner(answer),
    )
}

/// Expects the session to end with `code`, skipping events.
pub(super) async fn expect_closed(
    ctx: &Ctx,
    link: &mut Link,
    code: Code,
    why: &str,
) -> Result<(), Failure> {
    link.expect_end(ctx.wait(), code, why, |f| {
        matches!(
            f,
            InnerFrame::Typing(_) | InnerFrame::Event(_) | InnerFrame::SendAck(_)
        )
    })
    .await
}

/// Expects `MarkRead` to bring `ChatRead` and `ChatUpdated` with no
/// unread messages ([SYNC-24]).
async fn expect_read_events(
    ctx: &Ctx,
    link: &mut Link,
    chat_id: u64,
    up_to: u64,
    who: &str,
) -> Result<Vec<Event>, Failure> {
    let frames = gather(
        ctx,
        link,
        &format!("ChatRead and ChatUpdated to {who} [SYNC-24]"),
        |f| {
            let events = events_of(f);
            events.iter().any(|e| matches!(e.body, EventBody::ChatRead { chat_id: c, .. } if c == chat_id))
                && events.iter().any(|e| matches!(&e.body, EventBody::ChatUpdated(c) if c.chat_id == chat_id && c.unread == 0))
        },
    )
    .await?;
    let events = events_of(&frames);
    ensure(
        events
            .iter()
            .any(|e| e.body == EventBody::ChatRead { chat_id, up_to }),
        format!("ChatRead(chat {chat_id}, up to {up_to}) to {who} [SYNC-24]"),
        || format!("{events:?}"),
    )?;
    Ok(events)
}

/// The sync cases.
pub(super) fn cases() -> Vec<EndpointCase> {
    let mut cases = resume_cases();
    cases.extend(snapshot_cases());
    cases.extend(event_cases());
    cases.extend(send_cases());
    cases.extend(history_cases());
    cases
}

fn resume_cases() -> Vec<EndpointCase> {
    let mut cases = vec![
        c(
            "SYNC-03",
            1,
            &["SYNC-11", "RECON-04"],
            "answers a resume from its own log with ResumeAccepted(head) and exactly the missed events in order",
            |ctx| async move {
                let (chat, live) = chat_and_live(&ctx).await?;
                let acked = live.seq;
                leave(live.link).await?;
                let first = inject(&ctx, chat, "missed one").await?;
                let second = inject(&ctx, chat, "missed two").await?;
                let mut link = resume(&ctx, &live.paired, live.log_id, acked).await?;
                let head = expect_resumed(&ctx, &mut link, "every missed event is in the log [SYNC-03]").await?;
                ensure(head > acked, format!("a head above the acknowledged seq {acked}"), || head.to_string())?;
                let events = read_after(&ctx, &mut link, acked, head, "the missed events [SYNC-03]").await?;
                ensure_consecutive(&events, acked + 1)?;
                let ids: Vec<u64> = added(&events).iter().map(|m| m.message_id).collect();
                ensure(ids == [first, second], format!("MessageAdded for {first} then {second} [SYNC-03]"), || format!("{ids:?}"))?;
                ensure_no_frames(&ctx, &mut link, "nothing after the head until something changes [SYNC-03]").await
            },
        )
        .needs(SYNCED),
        c(
            "SYNC-03",
            2,
            &["SYNC-11"],
            "answers a resume at its head with ResumeAccepted(head) and no event",
            |ctx| async move {
                let (chat, mut live) = chat_and_live(&ctx).await?;
                let last = inject_last_seq(&ctx, &mut live, chat, "seen").await?;
                acknowledge(&mut live.link, last).await?;
                leave(live.link).await?;
                let mut link = resume(&ctx, &live.paired, live.log_id, last).await?;
                let head = expect_resumed(&ctx, &mut link, "a resume at the head [SYNC-03]").await?;
                ensure(head == last, format!("ResumeAccepted({last})"), || format!("ResumeAccepted({head})"))?;
                ensure_no_frames(&ctx, &mut link, "no event after a resume at the head [SYNC-03]").await
            },
        )
        .needs(SYNCED),
        c(
            "SYNC-03",
            3,
            &["SYNC-11", "SYNC-16"],
            "resumes from an acknowledged seq below the head with exactly the events after it",
            |ctx| async move {
                let (chat, mut live) = chat_and_live(&ctx).await?;
                let mut events = Vec::new();
                for n in 0..3 {
                    events.extend(inject_seen(&ctx, &mut live.link, chat, &format!("text {n}")).await?.1);
                }
                ensure_consecutive(&events, live.seq + 1)?;
                let middle = live.seq + 2;
                acknowledge(&mut live.link, middle).await?;
                leave(live.link).await?;
                let mut link = resume(&ctx, &live.paired, live.log_id, middle).await?;
                let head = expect_resumed(&ctx, &mut link, "the events after the cursor are in the log [SYNC-03]").await?;
                let again = read_after(&ctx, &mut link, middle, head, "the events after the resume point").await?;
                ensure_consecutive(&again, middle + 1)?;
                ensure(again[..] == events[2..], "the same events as the first time, from the resume point on [SYNC-03]", || format!("{again:?}"))
            },
        )
        .needs(SYNCED),
        c(
            "SYNC-04",
            1,
            &[],
            "sends a snapshot, not ResumeAccepted, to a resume from an unknown log id",
            |ctx| async move {
                let live = live(&ctx).await?;
                let (log_id, seq) = (live.log_id ^ 0x5a5a_5a5a_5a5a_5a5a, live.seq);
                expect_snapshot_for(&ctx, live, log_id, seq).await
            },
        )
        .needs(SYNCED)
        .faults(&[STALE_RESUME]),
        c(
            "SYNC-04",
            2,
            &[],
            "sends a snapshot, not ResumeAccepted, to a resume from a seq above its head",
            |ctx| async move {
                let live = live(&ctx).await?;
                let (log_id, seq) = (live.log_id, live.seq + 50);
                expect_snapshot_for(&ctx, live, log_id, seq).await
            },
        )
        .needs(SYNCED)
        .faults(&[STALE_RESUME]),
        c(
            "SYNC-04",
            3,
            &[],
            "sends a snapshot to a resume with log id 0, whatever its seq",
            |ctx| async move {
                let chat = add_chat(&ctx, "Ada").await?;
                inject(&ctx, chat, "hello").await?;
                let live = live(&ctx).await?;
                expect_snapshot_for(&ctx, live, 0, 1).await
            },
        )
        .needs(SYNCED),
    ];
    let survivals = [
        (
            1,
            Interruption::Restart,
            "keeps the log and the acknowledged cursor across its restart: a resume from the acknowledged seq is accepted",
        ),
        (
            2,
            Interruption::Crash,
            "keeps the log and the acknowledged cursor across a crash: a resume from the acknowledged seq is accepted",
        ),
    ];
    cases.extend(survivals.into_iter().map(|(n, how, title)| {
        c(
            "SYNC-16",
            n,
            &["SYNC-03", "SYNC-10"],
            title,
            move |ctx| async move { cursor_survives(&ctx, how).await },
        )
        .needs(SYNCED_RESTART)
    }));
    cases
}

/// Acknowledges events, restarts (or crashes) the primary, and resumes
/// from the acknowledged seq ([SYNC-16]).
async fn cursor_survives(ctx: &Ctx, how: Interruption) -> Result<(), Failure> {
    let (chat, mut live) = chat_and_live(ctx).await?;
    let acked = inject_last_seq(ctx, &mut live, chat, "before the restart").await?;
    acknowledge(&mut live.link, acked).await?;
    ensure_no_frames(ctx, &mut live.link, "nothing after the Ack").await?;
    how.apply(ctx).await?;
    inject(ctx, chat, "after the restart").await?;
    let mut link = resume(ctx, &live.paired, live.log_id, acked).await?;
    let head = expect_resumed(ctx, &mut link, "the log and cursor survived [SYNC-16]").await?;
    let after = read_after(ctx, &mut link, acked, head, "the events after the cursor").await?;
    ensure_consecutive(&after, acked + 1)?;
    let texts: Vec<Body> = added(&after).into_iter().map(|m| m.body).collect();
    ensure(
        texts == [Body::Text("after the restart".into())],
        "only the message added after the restart [SYNC-03]",
        || format!("{texts:?}"),
    )
}

fn snapshot_cases() -> Vec<EndpointCase> {
    vec![
        c(
            "SYNC-06",
            1,
            &["SYNC-11"],
            "sends a snapshot as of its seq while messages arrive: later events only after SnapshotEnd",
            |ctx| async move {
                let chat = chat_with(&ctx, "Ada", 3).await?;
                let paired = ctx.pair_primary().await?;
                let mut link = ctx.reconnect(&paired).await?;
                let injecting = async {
                    for n in 0..6 {
                        inject(&ctx, chat, &format!("during {n}")).await?;
                    }
                    Ok::<(), Failure>(())
                };
                let (snapshot, injected) = tokio::join!(ctx.read_snapshot(&mut link), injecting);
                injected?;
                let snapshot = snapshot?;
                let begin_seq = snapshot.begin.map_or(0, |b| b.seq);
                ensure(begin_seq == snapshot.end, format!("SnapshotEnd({begin_seq}) like SnapshotBegin [SYNC-06]"), || format!("SnapshotEnd({})", snapshot.end))?;
                let store = received(&ctx).await?;
                let from_pages: usize = snapshot.pages.iter().map(|p| p.messages.len()).sum();
                let mut after = Vec::new();
                while from_pages + added(&after).len() < store.len() {
                    after.extend(read_events(&ctx, &mut link, 1, "the events after the snapshot [SYNC-06]").await?);
                }
                ensure_consecutive(&after, snapshot.end + 1)?;
                ensure_as_of(&snapshot, &after, &store)
            },
        )
        .needs(SYNCED),
        c(
            "SYNC-07",
            1,
            &["SYNC-06"],
            "sends the chat list first, counts that match SnapshotBegin, and every contact",
            |ctx| async move {
                for name in ["Ada", "Grace", "Edsger"] {
                    chat_with(&ctx, name, 1).await?;
                }
                let (_, _, snapshot) = ctx.live_primary().await?;
                let begin = snapshot.begin.ok_or_else(|| Failure::fail("SnapshotBegin", "none"))?;
                let chat_pages = snapshot.frames.iter().filter(|f| matches!(f, InnerFrame::ChatPage(_))).count();
                let leading = snapshot.frames.iter().skip(1).take_while(|f| matches!(f, InnerFrame::ChatPage(_))).count();
                ensure(
                    chat_pages > 0 && leading == chat_pages,
                    "every ChatPage right after SnapshotBegin, before contacts and messages [SYNC-07]",
                    || snapshot.frames.iter().map(InnerFrame::name).collect::<Vec<_>>().join(", "),
                )?;
                ensure(
                    snapshot.chats.len() == 3 && begin.chat_count == 3,
                    "chat_count 3 and 3 chats in the ChatPages (§7.3)",
                    || format!("chat_count {}, {} chats", begin.chat_count, snapshot.chats.len()),
                )?;
                ensure(
                    snapshot.contacts.len() == 3 && begin.contact_count == 3,
                    "contact_count 3 and 3 contacts in the ContactPages (§7.3)",
                    || format!("contact_count {}, {} contacts", begin.contact_count, snapshot.contacts.len()),
                )
            },
        )
        .needs(SYNCED),
        c(
            "SYNC-07",
            2,
            &["SYNC-22"],
            "sets has_more in a snapshot MessagePage exactly when older messages exist, newest messages oldest first",
            |ctx| async move {
                let long = chat_with(&ctx, "Ada", 23).await?;
                let short = chat_with(&ctx, "Grace", 2).await?;
                let (_, _, snapshot) = ctx.live_primary().await?;
                let store = received(&ctx).await?;
                for (chat, more) in [(long, true), (short, false)] {
                    let page = page_of(&snapshot, chat).ok_or_else(|| {
                        Failure::fail(format!("a snapshot MessagePage for chat {chat} [SYNC-07]"), "none")
                    })?;
                    let all: Vec<u64> = store.iter().filter(|m| m.chat_id == chat).map(|m| m.message_id).collect();
                    let got: Vec<u64> = page.messages.iter().map(|m| m.message_id).collect();
                    ensure(
                        !got.is_empty() && all.ends_with(&got) && got.len() <= 20,
                        format!("the newest messages of chat {chat} (at most 20), oldest first (§7.3)"),
                        || format!("{got:?} of {all:?}"),
                    )?;
                    ensure(
                        page.has_more == (got.len() < all.len()) && page.has_more == more,
                        format!("has_more = {more} for chat {chat} [SYNC-07]"),
                        || format!("has_more = {} with {} of {} messages", page.has_more, got.len(), all.len()),
                    )?;
                }
                Ok(())
            },
        )
        .needs(SYNCED),
        c(
            "SYNC-07",
            3,
            &[],
            "sends MessagePages for at most SNAPSHOT_CHATS (50) chats, the first ones of the chat list",
            |ctx| async move {
                for n in 0..52 {
                    chat_with(&ctx, &format!("Contact{n}"), 1).await?;
                }
                let (_, _, snapshot) = ctx.live_primary().await?;
                ensure(
                    snapshot.pages.len() <= 50,
                    "MessagePages for at most 50 chats [SYNC-07]",
                    || format!("{} pages", snapshot.pages.len()),
                )?;
                let first: BTreeSet<u64> = snapshot.chats.iter().take(50).map(|c| c.chat_id).collect();
                let paged: Vec<u64> = snapshot.pages.iter().map(|p| p.chat_id).filter(|c| !first.contains(c)).collect();
                ensure(
                    paged.is_empty(),
                    "message pages only for the first 50 chats of the chat list [SYNC-07]",
                    || format!("pages for chats {paged:?}"),
                )
            },
        )
        .needs(SYNCED)
        .longer(Duration::from_secs(20)),
    ]
}

fn event_cases() -> Vec<EndpointCase> {
    vec![
        c(
            "SYNC-11",
            1,
            &["SYNC-08"],
            "sends every change as events numbered one after another, each decoding exactly",
            |ctx| async move {
                let mut live = live(&ctx).await?;
                let chat = add_chat(&ctx, "Ada").await?;
                let mut last = 0;
                for n in 0..10 {
                    last = inject(&ctx, chat, &format!("text {n}")).await?;
                }
                let events = events_until_added(&ctx, &mut live.link, last).await?;
                ensure(added(&events).len() == 10, "ten MessageAdded events [SYNC-11]", || format!("{events:?}"))?;
                ensure_consecutive(&events, live.seq + 1)?;
                ensure_no_frames(&ctx, &mut live.link, "no event repeated [SYNC-11]").await
            },
        )
        .needs(SYNCED),
        c(
            "SYNC-08",
            1,
            &["SYNC-11", "SYNC-24"],
            "sends events of every kind (MessageAdded, ChatUpdated, ChatRead, ContactUpdated) that decode exactly",
            |ctx| async move {
                let mut live = live(&ctx).await?;
                let chat = add_chat(&ctx, "Ada").await?;
                let message = inject(&ctx, chat, "hello").await?;
                mark_read(&mut live.link, chat, message).await?;
                let mut frames = gather(&ctx, &mut live.link, "events through ChatRead [SYNC-24]", |f| {
                    events_of(f).iter().any(|e| matches!(e.body, EventBody::ChatRead { .. }))
                })
                .await?;
                frames.extend(drain(&ctx, &mut live.link).await?);
                let events = events_of(&frames);
                ensure_consecutive(&events, live.seq + 1)?;
                let kinds: BTreeSet<u8> = events.iter().map(|e| e.body.kind()).collect();
                ensure(
                    [1, 3, 4, 5].iter().all(|k| kinds.contains(k)),
                    "events of kinds 1, 3, 4 and 5 that decode [SYNC-08]",
                    || format!("kinds {kinds:?}"),
                )
            },
        )
        .needs(READING),
        c(
            "SYNC-10",
            1,
            &["SYNC-16"],
            "makes an event durable before it sends it: after a crash the event is still in the log",
            |ctx| async move {
                let (chat, mut live) = chat_and_live(&ctx).await?;
                let (message, events) = inject_seen(&ctx, &mut live.link, chat, "durable").await?;
                let seq = last_seq(&events, 0);
                ctx.crash().await?;
                ensure(
                    received(&ctx).await?.iter().any(|m| m.message_id == message),
                    format!("message {message} in the store after the crash [SYNC-10]"),
                    || "it is gone".into(),
                )?;
                let mut link = resume(&ctx, &live.paired, live.log_id, seq).await?;
                let head = expect_resumed(&ctx, &mut link, "the sent event survived the crash [SYNC-10]").await?;
                ensure(head >= seq, format!("a head of at least {seq}"), || head.to_string())
            },
        )
        .needs(SYNCED_RESTART),
        c(
            "SYNC-13",
            1,
            &["SYNC-11"],
            "never has more than EVENT_WINDOW (1,024) events unacknowledged, and sends the rest after an Ack",
            |ctx| async move {
                let chat = add_chat(&ctx, "Ada").await?;
                let read_up_to = inject(&ctx, chat, "read me").await?;
                let mut live = live(&ctx).await?;
                let marks = EVENT_WINDOW / 2 + 8;
                for _ in 0..marks {
                    mark_read(&mut live.link, chat, read_up_to).await?;
                }
                let window = usize::try_from(EVENT_WINDOW).unwrap_or(0);
                let events = read_events_within(&ctx, &mut live.link, window).await?;
                ensure_consecutive(&events, live.seq + 1)?;
                ensure_no_frames(&ctx, &mut live.link, "nothing beyond EVENT_WINDOW unacknowledged events [SYNC-13]").await?;
                let last = live.seq + EVENT_WINDOW;
                acknowledge(&mut live.link, last).await?;
                let rest = read_events(&ctx, &mut live.link, 16, "the held-back events after the Ack [SYNC-13]").await?;
                ensure_consecutive(&rest, last + 1)
            },
        )
        .needs(READING)
        .faults(&[NEVER_ACKS])
        .longer(Duration::from_secs(30)),
        c(
            "SYNC-15",
            1,
            &[],
            "closes the session with ack_out_of_range on an Ack of a seq it has not sent",
            |ctx| async move {
                let mut live = live(&ctx).await?;
                acknowledge(&mut live.link, live.seq + 5).await?;
                expect_closed(&ctx, &mut live.link, Code::ACK_OUT_OF_RANGE, "an Ack ahead of what was sent [SYNC-15]").await
            },
        )
        .needs(SYNCED)
        .faults(&[ACK_AHEAD]),
        c(
            "SYNC-15",
            2,
            &[],
            "closes the session with ack_out_of_range on an Ack lower than a previous one",
            |ctx| async move {
                let (chat, mut live) = chat_and_live(&ctx).await?;
                let last = inject_last_seq(&ctx, &mut live, chat, "one").await?;
                acknowledge(&mut live.link, last).await?;
                acknowledge(&mut live.link, last - 1).await?;
                expect_closed(&ctx, &mut live.link, Code::ACK_OUT_OF_RANGE, "an Ack going backwards [SYNC-15]").await
            },
        )
        .needs(SYNCED)
        .faults(&[ACK_BACKWARDS]),
        c(
            "SYNC-15",
            3,
            &[],
            "closes the session with ack_out_of_range on an Ack one beyond the last event sent",
            |ctx| async move {
                let (chat, mut live) = chat_and_live(&ctx).await?;
                let last = inject_last_seq(&ctx, &mut live, chat, "one").await?;
                acknowledge(&mut live.link, last + 1).await?;
                expect_closed(&ctx, &mut live.link, Code::ACK_OUT_OF_RANGE, "an Ack one past the last event [SYNC-15]").await
            },
        )
        .needs(SYNCED)
        .faults(&[ACK_AHEAD]),
        c(
            "SYNC-24",
            1,
            &["SYNC-08"],
            "applies MarkRead and sends ChatRead and ChatUpdated (unread 0) to the companion that sent it",
            |ctx| async move {
                let chat = add_chat(&ctx, "Ada").await?;
                inject(&ctx, chat, "one").await?;
                let last = inject(&ctx, chat, "two").await?;
                let mut live = live(&ctx).await?;
                mark_read(&mut live.link, chat, last).await?;
                let events = expect_read_events(&ctx, &mut live.link, chat, last, "the sender").await?;
                ensure_consecutive(&events, live.seq + 1)
            },
        )
        .needs(READING),
        c(
            "SYNC-24",
            2,
            &[],
            "sends ChatRead and ChatUpdated for one companion's MarkRead to every companion, the sender included",
            |ctx| async move {
                let chat = add_chat(&ctx, "Ada").await?;
                let last = inject(&ctx, chat, "one").await?;
                let mut first = live(&ctx).await?;
                let mut second = live(&ctx).await?;
                mark_read(&mut first.link, chat, last).await?;
                expect_read_events(&ctx, &mut first.link, chat, last, "the sender").await?;
                expect_read_events(&ctx, &mut second.link, chat, last, "the other companion").await?;
                Ok(())
            },
        )
        .needs(READING),
        c(
            "SYNC-24",
            3,
            &[],
            "answers MarkRead for an unknown chat with Error(unknown_chat, 0) and keeps the session",
            |ctx| async move {
                let mut live = live(&ctx).await?;
                mark_read(&mut live.link, 9_999_999, 1).await?;
                let answer = live.link.expect_frame_skipping(ctx.wait(), "Error(unknown_chat, 0) [SYNC-24]", |f| matches!(f, InnerFrame::Typing(_)), |f| Some(f.clone())).await?;
                expect_error(&answer, Code::UNKNOWN_CHAT, 0, "MarkRead of an unknown chat [SYNC-24]")?;
                ensure_no_frames(&ctx, &mut live.link, "the session stays open").await
            },
        )
        .needs(&["pair", "reconnect", "sync", "read"])
        .faults(&[UNKNOWN_CHAT]),
    ]
}

/// Reads exactly `count` events, with time for a large batch.
async fn read_events_within(
    ctx: &Ctx,
    link: &mut Link,
    count: usize,
) -> Result<Vec<Event>, Failure> {
    let deadline = Instant::now() + ctx.scaled(Duration::from_secs(30));
    let mut events = Vec::with_capacity(count);
    while events.len() < count {
        let left = deadline.saturating_duration_since(Instant::now());
        match link.next(left, "EVENT_WINDOW events [SYNC-13]").await {
            Ok(Incoming::Frame(InnerFrame::Event(e))) => events.push(e),
            Ok(Incoming::Frame(InnerFrame::Typing(_)) | Incoming::PeerState(_)) => {}
            Ok(other) => return Err(Failure::fail("events [SYNC-13]", other.describe())),
            Err(f) if f.kind == FailKind::Timeout => {
                return Err(Failure::timeout(
                    format!("{count} events without an Ack [SYNC-13]"),
                    format!("{} events", events.len()),
                ));
            }
            Err(f) => return Err(f),
        }
    }
    Ok(events)
}

fn send_cases() -> Vec<EndpointCase> {
    vec![
        c(
            "SYNC-17",
            1,
            &["SYNC-10", "SYNC-11"],
            "applies a Send once and answers SendAck naming the new message and its MessageAdded event",
            |ctx| async move {
                let (chat, mut live) = chat_and_live(&ctx).await?;
                let send = text_send(&ctx, chat, "from the companion");
                let (ack, events) = send_applied(&ctx, &mut live.link, &send).await?;
                let named = events.iter().find(|e| e.seq == ack.seq);
                let message = named.and_then(|e| match &e.body {
                    EventBody::MessageAdded(m) => Some(m.clone()),
                    _ => None,
                });
                ensure(
                    message.as_ref().is_some_and(|m| m.message_id == ack.message_id && m.chat_id == chat && m.sender == 0 && m.body == send.body),
                    format!("the event {} of SendAck to add message {} from the owner with the sent text [SYNC-17]", ack.seq, ack.message_id),
                    || format!("{named:?}"),
                )?;
                ensure_stored(&ctx, "from the companion", 1).await
            },
        )
        .needs(SENDING),
        c(
            "SYNC-17",
            2,
            &[],
            "applies the same client id from two companions as two sends, keyed by companion key",
            |ctx| async move {
                let chat = add_chat(&ctx, "Ada").await?;
                let mut first = live(&ctx).await?;
                let mut second = live(&ctx).await?;
                let send = text_send(&ctx, chat, "same client id");
                let (a, _) = send_applied(&ctx, &mut first.link, &send).await?;
                let (b, _) = send_applied(&ctx, &mut second.link, &send).await?;
                ensure(a.message_id != b.message_id, "two messages for two companions' sends [SYNC-17]", || format!("{a:?} and {b:?}"))?;
                ensure_stored(&ctx, "same client id", 2).await
            },
        )
        .needs(SENDING),
        c(
            "SYNC-18",
            1,
            &["SYNC-17"],
            "answers a repeated Send in the same session with the same SendAck and applies it once",
            |ctx| async move {
                let (chat, mut live) = chat_and_live(&ctx).await?;
                let send = text_send(&ctx, chat, "once");
                let (ack, _) = send_applied(&ctx, &mut live.link, &send).await?;
                expect_same_answer(&ctx, &mut live.link, &send, &InnerFrame::SendAck(ack)).await?;
                ensure_stored(&ctx, "once", 1).await
            },
        )
        .needs(SENDING)
        .faults(&[DUPLICATE_SEND]),
        c(
            "SYNC-18",
            2,
            &["SYNC-17"],
            "answers a Send repeated after a reconnect with the same SendAck and applies it once",
            |ctx| async move { repeat_after(&ctx, Interruption::Reconnect).await },
        )
        .needs(SENDING)
        .faults(&[DUPLICATE_SEND, LOST_SEND_ACK]),
        c(
            "SYNC-18",
            3,
            &["SYNC-17"],
            "answers a Send repeated after the primary's restart with the same SendAck and applies it once",
            |ctx| async move { repeat_after(&ctx, Interruption::Restart).await },
        )
        .needs(SENDING_RESTART)
        .faults(&[DUPLICATE_SEND]),
        c(
            "SYNC-18",
            4,
            &["SYNC-17", "SYNC-10"],
            "answers a Send repeated after the primary crashed with the same SendAck and applies it once",
            |ctx| async move { repeat_after(&ctx, Interruption::Crash).await },
        )
        .needs(SENDING_RESTART)
        .faults(&[DUPLICATE_SEND]),
        c(
            "SYNC-18",
            5,
            &["SYNC-17"],
            "applies a Send whose SendAck was lost with the connection once, and answers its retry with the same SendAck",
            |ctx| async move {
                let (chat, Live { paired, mut link, log_id, seq }) = chat_and_live(&ctx).await?;
                let send = text_send(&ctx, chat, "lost ack");
                link.send(&InnerFrame::Send(send.clone())).await?;
                drop(link);
                let mut link = resume(&ctx, &paired, log_id, seq).await?;
                expect_resumed(&ctx, &mut link, "a resume after the lost connection").await?;
                let (ack, _) = send_applied(&ctx, &mut link, &send).await?;
                expect_same_answer(&ctx, &mut link, &send, &InnerFrame::SendAck(ack)).await?;
                ensure_stored(&ctx, "lost ack", 1).await
            },
        )
        .needs(SENDING)
        .faults(&[LOST_SEND_ACK]),
        c(
            "SYNC-20",
            1,
            &["SYNC-18"],
            "answers a Send to an unknown chat with SendFailed(unknown_chat), adds nothing, and answers its retry the same",
            |ctx| async move {
                let mut live = live(&ctx).await?;
                let send = text_send(&ctx, 9_999_999, "nowhere");
                let failed = expect_send_failed(&ctx, &mut live.link, &send, Code::UNKNOWN_CHAT).await?;
                ensure_no_frames(&ctx, &mut live.link, "no event for a refused send [SYNC-20]").await?;
                expect_same_answer(&ctx, &mut live.link, &send, &failed).await?;
                ensure_stored(&ctx, "nowhere", 0).await
            },
        )
        .needs(&["pair", "reconnect", "sync", "send"])
        .faults(&[UNKNOWN_CHAT, DUPLICATE_SEND]),
        c(
            "SYNC-20",
            2,
            &["SYNC-18"],
            "stores a SendFailed like a success: the retry after the chat came to exist still gets SendFailed",
            |ctx| async move {
                let first = add_chat(&ctx, "Ada").await?;
                let mut live = live(&ctx).await?;
                let send = text_send(&ctx, first + 1, "too early");
                let failed = expect_send_failed(&ctx, &mut live.link, &send, Code::UNKNOWN_CHAT).await?;
                let Live { paired, link, .. } = live;
                leave(link).await?;
                let created = add_chat(&ctx, "Grace").await?;
                ctx.note(format!("the new chat is {created}; the refused send named {}", first + 1));
                let mut link = resume(&ctx, &paired, 0, 0).await?;
                ctx.collect_snapshot(&mut link).await?;
                expect_same_answer(&ctx, &mut link, &send, &failed).await?;
                ensure_stored(&ctx, "too early", 0).await
            },
        )
        .needs(SENDING)
        .faults(&[UNKNOWN_CHAT, DUPLICATE_SEND]),
        c(
            "SYNC-20",
            3,
            &[],
            "answers a Send of a media message whose file it does not hold with SendFailed(media_not_found)",
            |ctx| async move {
                let (chat, mut live) = chat_and_live(&ctx).await?;
                let send = Send {
                    client_id: ctx.relay().array(),
                    chat_id: chat,
                    body: Body::Media(MediaRef {
                        media_id: ctx.relay().array(),
                        size: 1000,
                        mime: "image/png".into(),
                        name: "missing.png".into(),
                        caption: String::new(),
                    }),
                };
                expect_send_failed(&ctx, &mut live.link, &send, Code::MEDIA_NOT_FOUND).await?;
                ensure_no_frames(&ctx, &mut live.link, "no event for a refused send [SYNC-20]").await
            },
        )
        .needs(SENDING)
        .faults(&[UNKNOWN_MEDIA]),
        c(
            "SYNC-01",
            1,
            &["SESS-10"],
            "closes the session with malformed_session_frame on a Send whose media body does not fill its len exactly",
            |ctx| async move {
                let (chat, mut live) = chat_and_live(&ctx).await?;
                let plain = send_with_padded_media(ctx.relay().array(), chat);
                live.link.send_plain(&plain, "Send with a media body one byte longer than its content").await?;
                expect_closed(&ctx, &mut live.link, Code::MALFORMED_SESSION_FRAME, "a known body kind must decode exactly [SYNC-01]").await
            },
        )
        .needs(SYNCED)
        .faults(&[MALFORMED_INNER_FRAME]),
        c(
            "SYNC-02",
            1,
            &["SYNC-20"],
            "does not reject a Send with a body of unknown kind as malformed: it answers it and keeps the session",
            |ctx| async move {
                let (chat, mut live) = chat_and_live(&ctx).await?;
                let send = Send {
                    client_id: ctx.relay().array(),
                    chat_id: chat,
                    body: Body::Unknown { kind: 0x42, content: bytes::Bytes::from_static(b"future") },
                };
                live.link.send(&InnerFrame::Send(send.clone())).await?;
                let answer = live.link.expect_frame_skipping(
                    ctx.wait(),
                    "SendAck or SendFailed for the send [SYNC-02]",
                    |f| matches!(f, InnerFrame::Typing(_) | InnerFrame::Event(_)),
                    |f| Some(f.clone()),
                ).await?;
                ensure(
                    matches!(&answer, InnerFrame::SendAck(a) if a.client_id == send.client_id)
                        || matches!(&answer, InnerFrame::SendFailed(f) if f.client_id == send.client_id),
                    "SendAck or SendFailed, not a Close, for a body of unknown kind [SYNC-02]",
                    || describe_inner(&answer),
                )?;
                let check = text_send(&ctx, chat, "still open");
                send_applied(&ctx, &mut live.link, &check).await.map(|_| ())
            },
        )
        .needs(SENDING)
        .faults(&[UNKNOWN_BODY_KIND]),
    ]
}

/// Sends, interrupts, resumes and sends again ([SYNC-18]).
async fn repeat_after(ctx: &Ctx, how: Interruption) -> Result<(), Failure> {
    let (chat, mut live) = chat_and_live(ctx).await?;
    let text = "exactly once";
    let send = text_send(ctx, chat, text);
    let (ack, events) = send_applied(ctx, &mut live.link, &send).await?;
    live.seq = last_seq(&events, ack.seq);
    acknowledge(&mut live.link, live.seq).await?;
    let mut link = rejoin(ctx, live, how, "a resume from the acknowledged seq").await?;
    expect_same_answer(ctx, &mut link, &send, &InnerFrame::SendAck(ack)).await?;
    ensure_stored(ctx, text, 1).await
}

fn history_cases() -> Vec<EndpointCase> {
    let mut cases = vec![
        c(
            "SYNC-22",
            1,
            &["SYNC-07"],
            "pages history newest first, oldest first within a page, with has_more until the no-more marker",
            |ctx| async move {
                let chat = chat_with(&ctx, "Ada", 25).await?;
                let mut live = live(&ctx).await?;
                let ids = message_ids(&ctx, chat).await?;
                let page = history_page(&ctx, &mut live.link, chat, 0, 10).await?;
                ensure_page(&page, &ids[15..], true)?;
                let page = history_page(&ctx, &mut live.link, chat, ids[15], 10).await?;
                ensure_page(&page, &ids[5..15], true)?;
                let page = history_page(&ctx, &mut live.link, chat, ids[5], 10).await?;
                ensure_page(&page, &ids[..5], false)
            },
        )
        .needs(HISTORY),
        c(
            "SYNC-22",
            2,
            &[],
            "sets has_more false when the page ends exactly at the chat's oldest message, true when one is left",
            |ctx| async move {
                let chat = chat_with(&ctx, "Ada", 10).await?;
                let mut live = live(&ctx).await?;
                let ids = message_ids(&ctx, chat).await?;
                let page = history_page(&ctx, &mut live.link, chat, 0, 10).await?;
                ensure_page(&page, &ids, false)?;
                let page = history_page(&ctx, &mut live.link, chat, 0, 9).await?;
                ensure_page(&page, &ids[1..], true)
            },
        )
        .needs(HISTORY),
        c(
            "SYNC-22",
            3,
            &[],
            "answers history of an empty chat, or before its oldest message, with an empty page and has_more false",
            |ctx| async move {
                let empty = add_chat(&ctx, "Ada").await?;
                let full = chat_with(&ctx, "Grace", 2).await?;
                let mut live = live(&ctx).await?;
                let page = history_page(&ctx, &mut live.link, empty, 0, 50).await?;
                ensure_page(&page, &[], false)?;
                let oldest = message_ids(&ctx, full).await?.into_iter().min().unwrap_or(1);
                let page = history_page(&ctx, &mut live.link, full, oldest, 50).await?;
                ensure_page(&page, &[], false)
            },
        )
        .needs(HISTORY),
    ];
    // (n, title, chat id (0: a real chat), limit, the Error's code, fault)
    let errors = [
        (
            1,
            "answers a HistoryRequest for an unknown chat with Error(unknown_chat, request_id)",
            9_999_999,
            10,
            Code::UNKNOWN_CHAT,
            UNKNOWN_CHAT,
        ),
        (
            2,
            "answers a HistoryRequest with limit 0 with Error(invalid_request, request_id)",
            0,
            0,
            Code::INVALID_REQUEST,
            BAD_HISTORY_LIMIT,
        ),
        (
            3,
            "answers a HistoryRequest with limit 101 with Error(invalid_request, request_id) and keeps the session",
            0,
            101,
            Code::INVALID_REQUEST,
            BAD_HISTORY_LIMIT,
        ),
    ];
    cases.extend(
        errors
            .into_iter()
            .map(|(n, title, chat_id, limit, code, fault)| {
                c("SYNC-23", n, &[], title, move |ctx| async move {
                    history_error(&ctx, chat_id, limit, code).await
                })
                .needs(HISTORY)
                .faults(&[fault])
            }),
    );
    cases
}

/// A history request that must get `Error(code, request_id)`, after which
/// a good request is still answered; `chat_id` 0 means a real chat.
async fn history_error(ctx: &Ctx, chat_id: u64, limit: u16, code: Code) -> Result<(), Failure> {
    let chat = chat_with(ctx, "Ada", 2).await?;
    let mut live = live(ctx).await?;
    let request_id = 4711;
    let asked = if chat_id == 0 { chat } else { chat_id };
    let answer = history(
        ctx,
        &mut live.link,
        HistoryRequest {
            request_id,
            chat_id: asked,
            before: 0,
            limit,
        },
    )
    .await?;
    expect_error(&answer, code, request_id, "[SYNC-23]")?;
    let page = history_page(ctx, &mut live.link, chat, 0, 10).await?;
    ensure(
        page.messages.len() == 2,
        "the session still answers history after the Error [SYNC-23]",
        || format!("{} messages", page.messages.len()),
    )
}
