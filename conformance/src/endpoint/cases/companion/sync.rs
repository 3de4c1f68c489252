//! Sync with a companion under test (spec §7): first sync and forced
//! resync from a snapshot, events in order and decoded exactly, unknown
//! kinds kept or acknowledged, sends kept until answered and resent with
//! their client id, refused sends, and history pages.

use bytes::Bytes;
use serde_json::Value;
use tandem_codec::Code;
use tandem_codec::session::{
    Body, Event, EventBody, HistoryRequest, InnerFrame, MediaRef, MessagePage, MessageStatus,
    ResumeAccepted, SendFailed,
};
use tandem_proto::StaticKeypair;

use crate::case::{CaseResult, Failure, ensure};
use crate::endpoint::as_primary::Primary;
use crate::endpoint::cases::checks::received;
use crate::endpoint::cases::companion::support::{
    chatter, comes_back, ends_with, event_not_applied, holds, is_send_of, live, next_send, plain,
    resumes_from, send_text, serve_any, shown,
};
use crate::endpoint::cases::{EndpointCase, companion_case as c};
use crate::endpoint::ctx::Ctx;
use crate::endpoint::faults::{
    CUT_CONNECTION, EVENT_GAP, FORCED_RESYNC, LOST_SEND_ACK, MALFORMED_INNER_FRAME, REFUSED_SEND,
    REPEATED_EVENT, UNKNOWN_BODY_KIND, UNKNOWN_EVENT_KIND,
};
use crate::endpoint::link::Incoming;
use crate::endpoint::model::Model;

const LIVE: &[&str] = &["pair", "reconnect", "sync"];
const SENDS: &[&str] = &["pair", "reconnect", "sync", "send"];

/// The sync cases.
pub(super) fn cases() -> Vec<EndpointCase> {
    let mut cases = vec![
        c(
            "SYNC-05",
            1,
            &["RECON-04", "SYNC-14"],
            "builds its copy from a first snapshot and acknowledges it",
            |ctx| async move {
                let model = Model::new(ctx.relay().u64() | 1, 3, 4);
                let mut resumed = ctx.live_companion(&model).await?;
                let got = received(&ctx).await?;
                ensure(
                    got == model.all_messages(),
                    "`received` to hold exactly the snapshot's messages",
                    || format!("{} messages: {got:?}", got.len()),
                )?;
                let event = {
                    let mut model = model.clone();
                    model.incoming_text(1, "live")
                };
                let seq = event.seq;
                resumed.link.send(&InnerFrame::Event(event)).await?;
                ctx.expect_ack(&mut resumed.link, seq).await.map(|_| ())
            },
        )
        .needs(&["pair", "reconnect", "sync"]),
    ];
    cases.extend(events());
    cases.extend(sends());
    cases.extend(history());
    cases
}

/// An event of `body` appended to `model`.
fn push(model: &mut Model, body: EventBody) -> Event {
    model.head += 1;
    let event = Event {
        seq: model.head,
        body,
    };
    model.events.insert(model.head, event.clone());
    event
}

/// A live companion that gets `event` must close with
/// `unexpected_session_frame` and apply nothing of it ([SYNC-12]).
async fn refuses_seq(ctx: Ctx, seq_offset: u64, why: &'static str) -> CaseResult {
    let mut live = live(&ctx, 2, 3).await?;
    let before = live.model.all_messages();
    let head = live.model.head;
    let mut event = event_not_applied(&live.model, why);
    event.seq = head + seq_offset;
    live.link().send(&InnerFrame::Event(event)).await?;
    ends_with(&ctx, live.link(), head, Code::UNEXPECTED_SESSION_FRAME, why).await?;
    holds(
        &ctx,
        &before,
        "the out-of-order event not applied [SYNC-12]",
    )
    .await
}

/// A live companion that decrypts an `Event` whose bytes `corrupt`
/// changed must close with `malformed_session_frame` and apply nothing.
async fn refuses_event_bytes(
    ctx: Ctx,
    body: impl FnOnce(&mut Model) -> Event,
    corrupt: impl FnOnce(&mut Vec<u8>),
    why: &str,
) -> CaseResult {
    let mut live = live(&ctx, 2, 3).await?;
    let before = live.model.all_messages();
    let head = live.model.head;
    let event = body(&mut live.model.clone());
    let mut bytes = plain(&InnerFrame::Event(event))?;
    corrupt(&mut bytes);
    live.link().send_plain(&bytes, why).await?;
    ends_with(&ctx, live.link(), head, Code::MALFORMED_SESSION_FRAME, why).await?;
    holds(&ctx, &before, "nothing of the malformed event applied").await
}

fn events() -> Vec<EndpointCase> {
    vec![
        c(
            "SYNC-12",
            1,
            &[],
            "closes with unexpected_session_frame on an event whose seq skips one, and does not apply it",
            |ctx| refuses_seq(ctx, 2, "an event seq that skips one [SYNC-12]"),
        )
        .needs(LIVE)
        .faults(&[EVENT_GAP]),
        c(
            "SYNC-12",
            2,
            &[],
            "closes with unexpected_session_frame on an event whose seq it already applied",
            |ctx| refuses_seq(ctx, 0, "an event seq repeated [SYNC-12]"),
        )
        .needs(LIVE)
        .faults(&[REPEATED_EVENT]),
        c(
            "SYNC-12",
            3,
            &["SYNC-03"],
            "after ResumeAccepted closes with unexpected_session_frame when the first event is not its seq + 1",
            |ctx| async move {
                let mut live = live(&ctx, 1, 2).await?;
                let head = live.model.head;
                ctx.tap().cut();
                let mut resumed = resumes_from(&ctx, live.resumed, &live.model, head).await?;
                live.model.incoming_text(1, "skipped");
                let second = live.model.incoming_text(1, "after a gap");
                resumed
                    .link
                    .send(&InnerFrame::ResumeAccepted(ResumeAccepted { head: second.seq }))
                    .await?;
                resumed.link.send(&InnerFrame::Event(second)).await?;
                ends_with(
                    &ctx,
                    &mut resumed.link,
                    head,
                    Code::UNEXPECTED_SESSION_FRAME,
                    "a replay that starts after a gap [SYNC-12]",
                )
                .await
            },
        )
        .needs(LIVE)
        .faults(&[EVENT_GAP, CUT_CONNECTION]),
        c(
            "SYNC-09",
            1,
            &["SYNC-14"],
            "acknowledges an event of an unknown kind, ignores it, and applies the next event",
            |ctx| async move {
                let mut live = live(&ctx, 2, 2).await?;
                let unknown = push(
                    &mut live.model,
                    EventBody::Unknown {
                        kind: 0xc8,
                        body: Bytes::from_static(&[1, 2, 3, 4, 5]),
                    },
                );
                let seq = unknown.seq;
                live.link().send(&InnerFrame::Event(unknown)).await?;
                ctx.expect_ack(live.link(), seq).await?;
                let next = live.model.incoming_text(2, "after the unknown kind");
                let next_seq = next.seq;
                live.link().send(&InnerFrame::Event(next)).await?;
                ctx.expect_ack(live.link(), next_seq).await?;
                holds(&ctx, &live.model.all_messages(), "the unknown event ignored, the next applied [SYNC-09]").await
            },
        )
        .needs(LIVE)
        .faults(&[UNKNOWN_EVENT_KIND]),
        c(
            "SYNC-02",
            1,
            &["SYNC-09"],
            "keeps a message whose body kind it does not know as an opaque (kind, content) and acknowledges it",
            |ctx| async move {
                let mut live = live(&ctx, 1, 2).await?;
                let event = live.model.add_message(
                    1,
                    101,
                    Body::Unknown {
                        kind: 0x2a,
                        content: Bytes::from_static(b"\x00\x01opaque content"),
                    },
                );
                let seq = event.seq;
                live.link().send(&InnerFrame::Event(event)).await?;
                ctx.expect_ack(live.link(), seq).await?;
                holds(&ctx, &live.model.all_messages(), "the unknown body kept with its kind and content [SYNC-02]").await
            },
        )
        .needs(LIVE)
        .faults(&[UNKNOWN_BODY_KIND]),
        c(
            "SYNC-01",
            1,
            &["SESS-10"],
            "closes with malformed_session_frame on a text body that is not UTF-8",
            |ctx| {
                refuses_event_bytes(
                    ctx,
                    |model| model.incoming_text(1, "abcd"),
                    |bytes| {
                        let end = bytes.len();
                        bytes[end - 4..].copy_from_slice(&[0xff, 0xfe, 0xc0, 0x80]);
                    },
                    "a text body that is not UTF-8 [SYNC-01]",
                )
            },
        )
        .needs(LIVE)
        .faults(&[MALFORMED_INNER_FRAME]),
        c(
            "SYNC-01",
            2,
            &["SESS-10"],
            "closes with malformed_session_frame on a media body whose content does not fill its len exactly",
            |ctx| {
                refuses_event_bytes(
                    ctx,
                    |model| model.add_message(1, 0, Body::Media(media_ref())),
                    |bytes| {
                        // One byte more inside the body: len + 1, content + 1.
                        let content = media_content_len(&media_ref());
                        let at = bytes.len() - content - 2;
                        let len = u16::from_be_bytes([bytes[at], bytes[at + 1]]) + 1;
                        bytes[at..at + 2].copy_from_slice(&len.to_be_bytes());
                        bytes.push(0);
                    },
                    "a media body with a byte left over [SYNC-01]",
                )
            },
        )
        .needs(LIVE)
        .faults(&[MALFORMED_INNER_FRAME]),
        c(
            "SYNC-08",
            1,
            &["SESS-10"],
            "closes with malformed_session_frame on a StatusChanged event with a byte left over",
            |ctx| {
                refuses_event_bytes(
                    ctx,
                    |model| {
                        push(
                            model,
                            EventBody::StatusChanged {
                                chat_id: 1,
                                message_id: 1001,
                                status: MessageStatus::Read,
                            },
                        )
                    },
                    |bytes| bytes.push(0),
                    "an event body longer than its kind [SYNC-08]",
                )
            },
        )
        .needs(LIVE)
        .faults(&[MALFORMED_INNER_FRAME]),
        c(
            "SYNC-05",
            2,
            &["SYNC-14"],
            "discards its whole copy on a snapshot forced in a live session and resumes from the new log",
            |ctx| async move {
                let mut live = live(&ctx, 2, 3).await?;
                let mut fresh = Model::new(live.model.log_id ^ 0x5a5a, 1, 2);
                fresh.incoming_text(1, "only in the resync");
                ctx.serve_snapshot(live.link(), &fresh).await?;
                holds(&ctx, &fresh.all_messages(), "only the forced snapshot's messages [SYNC-05]").await?;
                ctx.tap().cut();
                let resumed = resumes_from(&ctx, live.resumed, &fresh, fresh.head).await?;
                drop(resumed);
                Ok(())
            },
        )
        .needs(LIVE)
        .faults(&[FORCED_RESYNC, CUT_CONNECTION]),
    ]
}

/// The media reference the sync cases put in a message.
fn media_ref() -> MediaRef {
    MediaRef {
        media_id: [0x11; 32],
        size: 1234,
        mime: "image/png".into(),
        name: "photo.png".into(),
        caption: "a caption".into(),
    }
}

/// The content length of a media body (§7.1).
fn media_content_len(media: &MediaRef) -> usize {
    32 + 8 + 1 + media.mime.len() + 1 + media.name.len() + 2 + media.caption.len()
}

/// How a case interrupts a companion that has sends in flight.
#[derive(Clone, Copy)]
enum Interruption {
    /// The relay connection is cut.
    Cut,
    /// The companion is killed and started again.
    Crash,
    /// The companion is restarted.
    Restart,
}

/// Two sends go out, their acknowledgements are lost to `interruption`,
/// and after the resume the companion must send both again, same client
/// ids, in order ([SYNC-19]).
async fn sends_survive(ctx: Ctx, interruption: Interruption) -> CaseResult {
    let mut live = live(&ctx, 1, 2).await?;
    let head = live.model.head;
    let texts = ["first in flight", "second in flight"];
    let mut ids = Vec::new();
    for text in texts {
        let id = send_text(&ctx, 1, text).await?;
        let send = next_send(&ctx, live.link(), head, "the Send of `send`").await?;
        is_send_of(&send, id, text, "the Send of `send` [SYNC-17]")?;
        ids.push(id);
    }
    match interruption {
        Interruption::Cut => ctx.tap().cut(),
        Interruption::Crash => ctx.crash().await?,
        Interruption::Restart => ctx.restart().await?,
    }
    let mut resumed = match interruption {
        Interruption::Cut => resumes_from(&ctx, live.resumed, &live.model, head).await?,
        Interruption::Crash | Interruption::Restart => comes_back(&ctx, live.resumed).await?,
    };
    serve_any(&ctx, &mut resumed, &live.model).await?;
    for (id, text) in ids.iter().zip(texts) {
        let send = next_send(
            &ctx,
            &mut resumed.link,
            head,
            "the unacknowledged sends again after the resume [SYNC-19]",
        )
        .await?;
        is_send_of(
            &send,
            *id,
            text,
            "the same client id, in the original order [SYNC-19]",
        )?;
        let (ack, event) = live
            .model
            .apply_send(send.client_id, send.chat_id, send.body);
        resumed.link.send(&InnerFrame::SendAck(ack)).await?;
        if let Some(event) = event {
            resumed.link.send(&InnerFrame::Event(event)).await?;
        }
    }
    ctx.expect_ack(&mut resumed.link, live.model.head).await?;
    holds(&ctx, &live.model.all_messages(), "both sends applied once").await
}

/// A live companion whose send is refused with `code` must show it as
/// failed with that code, hold no message for it, and never send it again
/// ([SYNC-20], [ERR-02]).
pub(super) async fn refused_send(ctx: Ctx, code: Code) -> CaseResult {
    let mut live = live(&ctx, 1, 2).await?;
    let head = live.model.head;
    let client_id = send_text(&ctx, 1, "refused").await?;
    next_send(&ctx, live.link(), head, "the Send of `send`").await?;
    live.link()
        .send(&InnerFrame::SendFailed(SendFailed { client_id, code }))
        .await?;
    let wanted = hex::encode(client_id);
    let shown = ctx
        .event(
            "send_result",
            "`send_result` for the refused send [SYNC-20]",
            |e| {
                (e.get("client_id").and_then(Value::as_str) == Some(wanted.as_str()))
                    .then(|| e.clone())
            },
        )
        .await?;
    ensure(
        shown.get("code").and_then(Value::as_u64) == Some(u64::from(code.0))
            && shown.get("message_id").is_none_or(Value::is_null),
        format!(
            "send_result with code {} and no message_id [SYNC-20] [ERR-02]",
            code.0
        ),
        || shown.to_string(),
    )?;
    holds(
        &ctx,
        &live.model.all_messages(),
        "no message for the refused send",
    )
    .await?;
    ctx.tap().cut();
    let mut resumed = comes_back(&ctx, live.resumed).await?;
    ctx.serve_resume(&mut resumed.link, &live.model, head)
        .await?;
    resumed
        .link
        .expect_quiet(
            ctx.quiet(),
            "no Send again for a refused send [SYNC-20]",
            |i| !matches!(i, Incoming::Frame(InnerFrame::Send(_))),
        )
        .await
}

fn sends() -> Vec<EndpointCase> {
    vec![
        c(
            "SYNC-19",
            1,
            &["SYNC-17"],
            "resends both unacknowledged sends with the same client ids, in order, after a lost connection",
            |ctx| sends_survive(ctx, Interruption::Cut),
        )
        .needs(SENDS)
        .faults(&[LOST_SEND_ACK, CUT_CONNECTION]),
        c(
            "SYNC-19",
            2,
            &["CONF-05"],
            "resends both unacknowledged sends with the same client ids, in order, after it is killed and started again",
            |ctx| sends_survive(ctx, Interruption::Crash),
        )
        .needs(&["pair", "reconnect", "sync", "send", "restart"])
        .faults(&[LOST_SEND_ACK]),
        c(
            "SYNC-19",
            3,
            &["CONF-10"],
            "resends both unacknowledged sends with the same client ids, in order, after a restart",
            |ctx| sends_survive(ctx, Interruption::Restart),
        )
        .needs(&["pair", "reconnect", "sync", "send", "restart"])
        .faults(&[LOST_SEND_ACK]),
        c(
            "SYNC-19",
            4,
            &[],
            "queues a send made while the primary is offline and sends it after the next resume",
            |ctx| async move {
                let live = live(&ctx, 1, 2).await?;
                let head = live.model.head;
                let key = StaticKeypair::from_private(*live.resumed.key.private());
                live.resumed.link.peer.close().await;
                ctx.event("peer", "`peer` online: false after the primary left (§7.6)", |e| {
                    (e.get("online") == Some(&Value::Bool(false))).then_some(())
                })
                .await?;
                let id = send_text(&ctx, 1, "while offline").await?;
                let peer = ctx.relay().primary(&key).await?;
                let mut resumed = ctx.accept_resume(Primary { key, peer }).await?;
                let resume = resumed.resume;
                ensure(
                    resume.log_id == live.model.log_id && resume.seq == head,
                    format!("Resume({}, {head})", live.model.log_id),
                    || format!("Resume({}, {})", resume.log_id, resume.seq),
                )?;
                ctx.serve_resume(&mut resumed.link, &live.model, head).await?;
                let send = next_send(&ctx, &mut resumed.link, head, "the queued send after the resume [SYNC-19]").await?;
                is_send_of(&send, id, "while offline", "the send queued while offline")
            },
        )
        .needs(SENDS),
        c(
            "SYNC-20",
            1,
            &["SYNC-19"],
            "shows a send refused with SendFailed(unknown_chat) as failed and drops it",
            |ctx| refused_send(ctx, Code::UNKNOWN_CHAT),
        )
        .needs(SENDS)
        .faults(&[REFUSED_SEND, CUT_CONNECTION]),
    ]
}

/// Waits for the companion's `HistoryRequest` for `chat_id`.
async fn history_request(
    ctx: &Ctx,
    link: &mut crate::endpoint::link::Link,
    head: u64,
) -> Result<HistoryRequest, Failure> {
    link.expect_frame_skipping(
        ctx.wait(),
        "HistoryRequest after `history` (§7.7)",
        |f| chatter(f, head),
        |f| match f {
            InnerFrame::HistoryRequest(h) => Some(*h),
            _ => None,
        },
    )
    .await
}

/// Checks that `history <chat_id>` sends no `HistoryRequest`: the chat
/// has no more history ([SYNC-22]).
async fn asks_no_more(
    ctx: &Ctx,
    link: &mut crate::endpoint::link::Link,
    chat_id: u64,
) -> CaseResult {
    let _answer = ctx.request(&format!("history {chat_id}")).await?;
    link.expect_quiet(
        ctx.quiet(),
        "no HistoryRequest after a page with has_more = false [SYNC-22]",
        |i| !matches!(i, Incoming::Frame(InnerFrame::HistoryRequest(_))),
    )
    .await
}

fn history() -> Vec<EndpointCase> {
    vec![
        c(
            "SYNC-22",
            1,
            &[],
            "pages back through history with HistoryRequest until has_more = false, then asks no more",
            |ctx| async move {
                let mut live = live(&ctx, 1, 45).await?;
                let head = live.model.head;
                for _ in 0..45 {
                    let oldest = received(&ctx).await?.first().map_or(0, |m| m.message_id);
                    ctx.ok("history 1").await?;
                    let request = history_request(&ctx, live.link(), head).await?;
                    ensure(
                        request.chat_id == 1 && request.before == oldest && (1..=100).contains(&request.limit),
                        format!("HistoryRequest(chat 1, before {oldest}, limit 1..=100) (§7.7)"),
                        || format!("{request:?}"),
                    )?;
                    let (messages, has_more) =
                        live.model.history(1, request.before, usize::from(request.limit));
                    let first = messages.first().map_or(0, |m| m.message_id);
                    live.link()
                        .send(&InnerFrame::MessagePage(MessagePage {
                            request_id: request.request_id,
                            chat_id: 1,
                            has_more,
                            messages,
                        }))
                        .await?;
                    shown(&ctx, first).await?;
                    if !has_more {
                        break;
                    }
                }
                holds(&ctx, &live.model.all_messages(), "every page applied").await?;
                asks_no_more(&ctx, live.link(), 1).await
            },
        )
        .needs(&["pair", "reconnect", "sync", "history"]),
        c(
            "SYNC-22",
            2,
            &["SYNC-07"],
            "asks for no history of a chat whose snapshot page said has_more = false",
            |ctx| async move {
                let mut live = live(&ctx, 1, 5).await?;
                asks_no_more(&ctx, live.link(), 1).await
            },
        )
        .needs(&["pair", "reconnect", "sync", "history"]),
    ]
}
