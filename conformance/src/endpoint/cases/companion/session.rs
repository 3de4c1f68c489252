//! The encrypted session as a companion receives it (spec §6, §1.6, §10.1):
//! transport messages that fail to decrypt or decode, frame types it does
//! not know or may not receive, `Close`, `Error` and `Rekey`, and codes it
//! does not know. The companion ends the session with the right code and
//! acts on no part of what it refused.

use bytes::Bytes;
use tandem_codec::Code;
use tandem_codec::session::{
    Ack, Error, HistoryRequest, InnerFrame, Resume, Send, SendAck, SnapshotEnd,
};

use crate::case::{CaseResult, ensure};
use crate::endpoint::cases::companion::support::{
    Live, chatter, close_session, comes_back_without, ends_with, event_not_applied,
    event_with_code, holds, link_closed, live, plain, resumes_from, send_text, stays_linked,
};
use crate::endpoint::cases::{EndpointCase, companion_case as c};
use crate::endpoint::ctx::Ctx;
use crate::endpoint::faults::{CLOSED_SESSION, REFUSED_SEND, UNKNOWN_CODE};
use crate::endpoint::faults::{
    EARLY_REKEY, FRAME_BEFORE_RESUME, MALFORMED_INNER_FRAME, REORDERED_FRAMES, REPLAYED_FRAME,
    SHORT_PAYLOAD, TAMPERED_FRAME, UNKNOWN_CRITICAL_FRAME, UNKNOWN_IGNORABLE_FRAME,
    WRONG_ROLE_FRAME,
};
use crate::endpoint::model::Model;

const LIVE: &[&str] = &["pair", "reconnect", "sync"];

/// The session cases.
pub(super) fn cases() -> Vec<EndpointCase> {
    let mut cases = decrypt_failures();
    cases.extend(undecodable_frames());
    cases.extend(unexpected_frames());
    cases.extend(close_error_rekey());
    cases
}

/// A companion that gets `payload` where the next transport message of
/// a live session should be must end the session with
/// `LinkClosed(decrypt_failed)` and apply none of it ([SESS-09]).
async fn refuses_payload(
    ctx: Ctx,
    payload: impl FnOnce(&mut Live) -> Result<Bytes, crate::case::Failure>,
) -> CaseResult {
    let mut live = live(&ctx, 2, 3).await?;
    let before = live.model.all_messages();
    let bytes = payload(&mut live)?;
    let head = live.model.head;
    live.link().send_payload(bytes).await?;
    link_closed(
        &ctx,
        live.link(),
        head,
        Code::DECRYPT_FAILED,
        "a transport message that does not decrypt [SESS-09]",
    )
    .await?;
    holds(
        &ctx,
        &before,
        "nothing of the refused message applied [SESS-09]",
    )
    .await?;
    let resumed = resumes_from(&ctx, live.resumed, &live.model, head).await?;
    drop(resumed);
    stays_linked(&ctx, "a decryption failure is no logout [DEV-09]").await
}

fn decrypt_failures() -> Vec<EndpointCase> {
    vec![
        c(
            "SESS-09",
            1,
            &["DEV-09"],
            "ends the session with LinkClosed(decrypt_failed) on a tampered transport message and applies nothing of it",
            |ctx| {
                refuses_payload(ctx, |live| {
                    let event = event_not_applied(&live.model, "tampered");
                    let mut payload = live.link().seal_only(&InnerFrame::Event(event))?.to_vec();
                    let middle = payload.len() / 2;
                    payload[middle] ^= 0x01;
                    Ok(Bytes::from(payload))
                })
            },
        )
        .needs(LIVE)
        .faults(&[TAMPERED_FRAME]),
        c(
            "SESS-09",
            2,
            &[],
            "ends the session with LinkClosed(decrypt_failed) on a replayed transport message",
            |ctx| {
                refuses_payload(ctx, |live| {
                    live.link()
                        .sent_payloads
                        .last()
                        .cloned()
                        .ok_or_else(|| crate::case::Failure::harness("a payload sent before", "none"))
                })
            },
        )
        .needs(LIVE)
        .faults(&[REPLAYED_FRAME]),
        c(
            "SESS-09",
            3,
            &[],
            "ends the session with LinkClosed(decrypt_failed) when two transport messages arrive in the wrong order, applying neither",
            |ctx| {
                refuses_payload(ctx, |live| {
                    let first = event_not_applied(&live.model, "first");
                    let mut second = first.clone();
                    second.seq += 1;
                    live.link().seal_only(&InnerFrame::Event(first))?;
                    live.link().seal_only(&InnerFrame::Event(second))
                })
            },
        )
        .needs(LIVE)
        .faults(&[REORDERED_FRAMES]),
        c(
            "SESS-02",
            1,
            &["SESS-09"],
            "treats a Data payload of 16 bytes (shorter than a tag and a type byte) as a decryption failure",
            |ctx| refuses_payload(ctx, |_| Ok(Bytes::from(vec![0x5a; 16]))),
        )
        .needs(LIVE)
        .faults(&[SHORT_PAYLOAD]),
        c(
            "SESS-02",
            2,
            &["SESS-09"],
            "treats a Data payload of one byte as a decryption failure",
            |ctx| refuses_payload(ctx, |_| Ok(Bytes::from_static(&[0x17]))),
        )
        .needs(LIVE)
        .faults(&[SHORT_PAYLOAD]),
    ]
}

/// A companion that decrypts `plaintext` in a live session must end it
/// with `code` and apply nothing of it.
async fn refuses_plaintext(
    ctx: Ctx,
    code: Code,
    why: &str,
    plaintext: impl FnOnce(&Live) -> Result<Vec<u8>, crate::case::Failure>,
) -> CaseResult {
    let mut live = live(&ctx, 2, 3).await?;
    let before = live.model.all_messages();
    let bytes = plaintext(&live)?;
    let head = live.model.head;
    live.link().send_plain(&bytes, why).await?;
    ends_with(&ctx, live.link(), head, code, why).await?;
    holds(&ctx, &before, "nothing of the refused frame applied").await
}

fn undecodable_frames() -> Vec<EndpointCase> {
    vec![
        c(
            "SESS-10",
            1,
            &[],
            "sends Close(malformed_session_frame) for an Event frame cut short",
            |ctx| {
                refuses_plaintext(ctx, Code::MALFORMED_SESSION_FRAME, "an Event cut short [SESS-10]", |live| {
                    let mut bytes = plain(&InnerFrame::Event(event_not_applied(&live.model, "cut")))?;
                    bytes.truncate(6);
                    Ok(bytes)
                })
            },
        )
        .needs(LIVE)
        .faults(&[MALFORMED_INNER_FRAME]),
        c(
            "SESS-10",
            2,
            &[],
            "sends Close(malformed_session_frame) for a SnapshotEnd whose seq is 3 bytes long",
            |ctx| {
                refuses_plaintext(ctx, Code::MALFORMED_SESSION_FRAME, "SnapshotEnd with a short seq [SESS-10]", |_| {
                    let bytes = plain(&InnerFrame::SnapshotEnd(SnapshotEnd { seq: 1 }))?;
                    Ok(bytes[..4].to_vec())
                })
            },
        )
        .needs(LIVE)
        .faults(&[MALFORMED_INNER_FRAME]),
        c(
            "ENC-09",
            1,
            &["SESS-10"],
            "closes the session with malformed_session_frame on an unknown critical frame type (0x7e)",
            |ctx| {
                refuses_plaintext(ctx, Code::MALFORMED_SESSION_FRAME, "unknown critical type 0x7e [ENC-09]", |_| {
                    Ok(vec![0x7e, 1, 2, 3, 4])
                })
            },
        )
        .needs(LIVE)
        .faults(&[UNKNOWN_CRITICAL_FRAME]),
        c(
            "ENC-09",
            2,
            &[],
            "closes the session with malformed_session_frame on the unassigned critical frame type 0x05",
            |ctx| {
                refuses_plaintext(ctx, Code::MALFORMED_SESSION_FRAME, "unassigned critical type 0x05 [ENC-09]", |_| {
                    Ok(vec![0x05])
                })
            },
        )
        .needs(LIVE)
        .faults(&[UNKNOWN_CRITICAL_FRAME]),
        c(
            "ENC-10",
            1,
            &[],
            "discards inner frames of unknown ignorable types (0x80, 0xfe) and applies the event after them",
            |ctx| async move {
                let mut live = live(&ctx, 2, 3).await?;
                live.link().send_plain(&[0x80], "unknown ignorable type 0x80").await?;
                live.link()
                    .send_plain(&[0xfe, 0xde, 0xad, 0xbe, 0xef], "unknown ignorable type 0xfe")
                    .await?;
                let event = live.model.incoming_text(1, "after the unknown frames");
                let seq = event.seq;
                live.link().send(&InnerFrame::Event(event)).await?;
                ctx.expect_ack(live.link(), seq).await?;
                holds(&ctx, &live.model.all_messages(), "the event after the ignorable frames applied [ENC-10]").await
            },
        )
        .needs(LIVE)
        .faults(&[UNKNOWN_IGNORABLE_FRAME]),
    ]
}

/// A live companion that receives `frame` (one the primary may not send)
/// must close with `unexpected_session_frame` ([SESS-03]).
async fn refuses_frame(ctx: Ctx, frame: InnerFrame, why: &str) -> CaseResult {
    let mut live = live(&ctx, 2, 3).await?;
    let before = live.model.all_messages();
    let head = live.model.head;
    live.link().send(&frame).await?;
    ends_with(&ctx, live.link(), head, Code::UNEXPECTED_SESSION_FRAME, why).await?;
    holds(&ctx, &before, "nothing changed by the refused frame").await?;
    stays_linked(&ctx, "a frame from the wrong role is no logout [DEV-09]").await
}

/// Pairs, reads the companion's first `Resume`, and sends `frame` before
/// any answer to it: the companion must close with
/// `unexpected_session_frame` ([SESS-04]).
async fn refused_before_answer(ctx: Ctx, frame: InnerFrame, why: &str) -> CaseResult {
    let linked = ctx.pair_companion().await?;
    let mut resumed = ctx.accept_resume(linked.primary).await?;
    resumed.link.send(&frame).await?;
    ends_with(
        &ctx,
        &mut resumed.link,
        0,
        Code::UNEXPECTED_SESSION_FRAME,
        why,
    )
    .await?;
    holds(
        &ctx,
        &[],
        "nothing applied before the answer to Resume [SESS-04]",
    )
    .await
}

fn unexpected_frames() -> Vec<EndpointCase> {
    let send = InnerFrame::Send(Send {
        client_id: [7; 16],
        chat_id: 1,
        body: tandem_codec::session::Body::Text("from the wrong side".into()),
    });
    let send_for_case = send.clone();
    vec![
        c(
            "SESS-03",
            1,
            &[],
            "closes with unexpected_session_frame when the primary sends Send, a companion's frame",
            move |ctx| refuses_frame(ctx, send_for_case.clone(), "Send from the primary [SESS-03]"),
        )
        .needs(LIVE)
        .faults(&[WRONG_ROLE_FRAME]),
        c(
            "SESS-03",
            2,
            &[],
            "closes with unexpected_session_frame when the primary sends Ack, a companion's frame",
            |ctx| refuses_frame(ctx, InnerFrame::Ack(Ack { seq: 1 }), "Ack from the primary [SESS-03]"),
        )
        .needs(LIVE)
        .faults(&[WRONG_ROLE_FRAME]),
        c(
            "SESS-03",
            3,
            &[],
            "closes with unexpected_session_frame when the primary sends HistoryRequest",
            |ctx| {
                refuses_frame(
                    ctx,
                    InnerFrame::HistoryRequest(HistoryRequest {
                        request_id: 1,
                        chat_id: 1,
                        before: 0,
                        limit: 10,
                    }),
                    "HistoryRequest from the primary [SESS-03]",
                )
            },
        )
        .needs(LIVE)
        .faults(&[WRONG_ROLE_FRAME]),
        c(
            "SESS-03",
            4,
            &["DEV-09"],
            "closes with unexpected_session_frame when the primary sends Unlink, and stays linked",
            |ctx| refuses_frame(ctx, InnerFrame::Unlink, "Unlink from the primary [SESS-03]"),
        )
        .needs(LIVE)
        .faults(&[WRONG_ROLE_FRAME]),
        c(
            "SESS-03",
            5,
            &[],
            "closes with unexpected_session_frame when the primary sends Resume, a companion's frame",
            |ctx| {
                refuses_frame(
                    ctx,
                    InnerFrame::Resume(Resume { log_id: 1, seq: 0 }),
                    "Resume from the primary [SESS-03]",
                )
            },
        )
        .needs(LIVE)
        .faults(&[WRONG_ROLE_FRAME]),
        c(
            "SESS-04",
            1,
            &[],
            "closes with unexpected_session_frame on an Event before ResumeAccepted or SnapshotBegin",
            |ctx| async move {
                let event = Model::new(1, 1, 0).incoming_text(1, "too early");
                refused_before_answer(ctx, InnerFrame::Event(event), "an Event before the answer to Resume [SESS-04]").await
            },
        )
        .needs(LIVE)
        .faults(&[FRAME_BEFORE_RESUME]),
        c(
            "SESS-04",
            2,
            &[],
            "closes with unexpected_session_frame on a SendAck before ResumeAccepted or SnapshotBegin",
            |ctx| {
                refused_before_answer(
                    ctx,
                    InnerFrame::SendAck(SendAck {
                        client_id: [9; 16],
                        message_id: 5,
                        seq: 1,
                    }),
                    "a SendAck before the answer to Resume [SESS-04]",
                )
            },
        )
        .needs(LIVE)
        .faults(&[FRAME_BEFORE_RESUME]),
        c(
            "SESS-04",
            3,
            &["SESS-08"],
            "accepts Rekey before the answer to Resume, switches its receiving key, and syncs after it",
            |ctx| async move {
                let model = Model::new(ctx.relay().u64() | 1, 2, 2);
                let linked = ctx.pair_companion().await?;
                let mut resumed = ctx.accept_resume(linked.primary).await?;
                rekey(&mut resumed.link).await?;
                ctx.serve_snapshot(&mut resumed.link, &model).await?;
                holds(&ctx, &model.all_messages(), "the snapshot after the Rekey [SESS-08]").await
            },
        )
        .needs(LIVE)
        .faults(&[EARLY_REKEY]),
    ]
}

/// Sends `Rekey` and switches the runner's sending key.
async fn rekey(link: &mut crate::endpoint::link::Link) -> CaseResult {
    let session = link
        .session
        .as_mut()
        .ok_or_else(|| crate::case::Failure::harness("a session", "none"))?;
    let payload = session
        .rekey_now_for_testing()
        .map_err(|e| crate::case::Failure::harness("a Rekey that seals", e.to_string()))?;
    link.send_payload(payload).await
}

fn close_error_rekey() -> Vec<EndpointCase> {
    vec![
        c(
            "SESS-08",
            1,
            &[],
            "switches its receiving key right after a Rekey in a live session and applies the next event",
            |ctx| async move {
                let mut live = live(&ctx, 2, 3).await?;
                rekey(live.link()).await?;
                let event = live.model.incoming_text(2, "under the new key");
                let seq = event.seq;
                live.link().send(&InnerFrame::Event(event)).await?;
                ctx.expect_ack(live.link(), seq).await?;
                holds(&ctx, &live.model.all_messages(), "the event sent under the new key [SESS-08]").await
            },
        )
        .needs(LIVE)
        .faults(&[EARLY_REKEY]),
        c(
            "SESS-05",
            1,
            &["SESS-10"],
            "after its own Close(malformed_session_frame) sends LinkClosed with the same code and nothing else on the session",
            |ctx| async move {
                let mut live = live(&ctx, 1, 2).await?;
                let head = live.model.head;
                live.link().send_plain(&[0x17, 0x00], "an Event cut short").await?;
                live.link()
                    .expect_frame_skipping(
                        ctx.wait(),
                        "Close(malformed_session_frame) [SESS-10]",
                        |f| chatter(f, head),
                        |f| matches!(f, InnerFrame::Close(c) if c.code == Code::MALFORMED_SESSION_FRAME).then_some(()),
                    )
                    .await?;
                live.link()
                    .expect(ctx.wait(), "LinkClosed(malformed_session_frame) right after its Close [SESS-05]", |i| {
                        matches!(i, crate::endpoint::link::Incoming::LinkClosed(c) if *c == Code::MALFORMED_SESSION_FRAME.0)
                            .then_some(())
                    })
                    .await
            },
        )
        .needs(LIVE)
        .faults(&[MALFORMED_INNER_FRAME]),
        c(
            "SESS-06",
            1,
            &["ERR-01", "TRN-07"],
            "stops using a session the primary closed with Close(internal_error), keeps its link and resends a later send after resuming",
            |ctx| async move {
                let mut live = live(&ctx, 1, 2).await?;
                let head = live.model.head;
                close_session(live.link(), Code::INTERNAL_ERROR, "device_revoked").await?;
                event_with_code(&ctx, "closed", Code::INTERNAL_ERROR, "the session closed by the primary [SESS-06]").await?;
                let client_id = send_text(&ctx, 1, "after the close").await?;
                let mut resumed = comes_back_without(
                    &ctx,
                    live.resumed,
                    |i| matches!(i, crate::endpoint::link::Incoming::Frame(InnerFrame::Send(_))),
                    ", and no Send on the session the primary closed [SESS-06]",
                )
                .await?;
                ctx.serve_resume(&mut resumed.link, &live.model, head).await?;
                let send = crate::endpoint::cases::companion::support::next_send(
                    &ctx,
                    &mut resumed.link,
                    head,
                    "the send made while the session was closed, after the resume [SYNC-19]",
                )
                .await?;
                ensure(send.client_id == client_id, "the client id `send` answered", || {
                    hex::encode(send.client_id)
                })
            },
        )
        .needs(&["pair", "reconnect", "sync", "send"])
        .faults(&[CLOSED_SESSION]),
        c(
            "ERR-01",
            1,
            &["SESS-06", "DEV-09"],
            "ends the session on Close with an unknown code of the session range (4199), shows the number, and stays linked",
            |ctx| async move {
                let mut live = live(&ctx, 1, 2).await?;
                let head = live.model.head;
                close_session(live.link(), Code(4199), "unknown").await?;
                live.link().close_link(Code(4199)).await?;
                event_with_code(&ctx, "closed", Code(4199), "the unknown code's number shown [ERR-01]").await?;
                let resumed = resumes_from(&ctx, live.resumed, &live.model, head).await?;
                drop(resumed);
                stays_linked(&ctx, "an unknown code is no logout [DEV-09]").await
            },
        )
        .needs(LIVE)
        .faults(&[UNKNOWN_CODE]),
        c(
            "ERR-01",
            2,
            &["ERR-02"],
            "keeps the session open after an Error with an unknown code of the sync range (4299)",
            |ctx| async move {
                let mut live = live(&ctx, 1, 2).await?;
                live.link()
                    .send(&InnerFrame::Error(Error {
                        code: Code(4299),
                        ref_id: 0,
                        message: "unknown".into(),
                    }))
                    .await?;
                let event = live.model.incoming_text(1, "after the error");
                let seq = event.seq;
                live.link().send(&InnerFrame::Event(event)).await?;
                ctx.expect_ack(live.link(), seq).await?;
                holds(&ctx, &live.model.all_messages(), "the event after the Error applied").await
            },
        )
        .needs(LIVE)
        .faults(&[UNKNOWN_CODE]),
        c(
            "ERR-02",
            1,
            &["SYNC-20", "ERR-01"],
            "shows a send refused with an unknown code (4250) as failed with that number, never as sent, and does not send it again",
            |ctx| super::sync::refused_send(ctx, Code(4250)),
        )
        .needs(&["pair", "reconnect", "sync", "send"])
        .faults(&[UNKNOWN_CODE, REFUSED_SEND]),
    ]
}
