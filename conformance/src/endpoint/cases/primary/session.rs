//! The encrypted session with a primary under test (spec §6): decryption
//! failures end it with `LinkClosed(decrypt_failed)` ([SESS-09],
//! [SESS-02]), undecodable or unknown critical frames with
//! `Close(malformed_session_frame)` ([SESS-10], [ENC-09]), frames of the
//! wrong role or state with `Close(unexpected_session_frame)` ([SESS-03],
//! [SESS-04]); ignorable frames and `Rekey` leave it running ([ENC-10],
//! [SESS-08]); a `Close` received ends it ([SESS-06], [ERR-01]).

use bytes::Bytes;
use tandem_codec::Code;
use tandem_codec::session::{
    Ack, Body, Close, Error, HistoryRequest, InnerFrame, Resume, Send, SnapshotEnd,
};

use super::steps::{expect_close_then_link_closed, expect_decrypt_failed};
use crate::case::{CaseResult, Failure, ensure};
use crate::endpoint::as_companion::Paired;
use crate::endpoint::cases::checks::received;
use crate::endpoint::cases::{EndpointCase, primary_case as c};
use crate::endpoint::ctx::Ctx;
use crate::endpoint::faults::*;
use crate::endpoint::link::{Incoming, Link};

/// The request id of the runner's probe.
const PROBE_ID: u32 = 0x5E55;

/// A chat id the primary under test does not have.
const NO_CHAT: u64 = 0x7A7A_7A7A_7A7A;

/// The session cases.
pub(super) fn cases() -> Vec<EndpointCase> {
    vec![
        c("SESS-09", 1, &[], "drops the session with LinkClosed(decrypt_failed) when a transport message was tampered with, acts on nothing, and lets the companion reconnect", |ctx| async move {
            let (paired, mut link) = session(&ctx).await?;
            let mut payload = link.seal_only(&resume())?.to_vec();
            let middle = payload.len() / 2;
            payload[middle] ^= 0x40;
            link.send_payload(payload.into()).await?;
            decrypt_failed_then_reconnect(&ctx, &paired, &mut link, "a tampered Resume").await
        })
        .needs(&["pair", "reconnect"])
        .faults(&[TAMPERED_FRAME]),
        c("SESS-09", 2, &[], "drops the session with LinkClosed(decrypt_failed) when a transport message comes a second time", |ctx| async move {
            let (paired, mut link) = session(&ctx).await?;
            link.send(&harmless_error()).await?;
            let replay = link.sent_payloads.last().cloned().unwrap_or_default();
            link.send_payload(replay).await?;
            decrypt_failed_then_reconnect(&ctx, &paired, &mut link, "a replayed Error").await
        })
        .needs(&["pair", "reconnect"])
        .faults(&[REPLAYED_FRAME]),
        c("SESS-09", 3, &[], "drops the session with LinkClosed(decrypt_failed) when two transport messages come in the wrong order", |ctx| async move {
            let (paired, mut link) = session(&ctx).await?;
            let first = link.seal_only(&harmless_error())?;
            let second = link.seal_only(&harmless_error())?;
            link.send_payload(second).await?;
            link.send_payload(first).await?;
            decrypt_failed_then_reconnect(&ctx, &paired, &mut link, "the second Error before the first").await
        })
        .needs(&["pair", "reconnect"])
        .faults(&[REORDERED_FRAMES]),
        c("SESS-02", 1, &["SESS-09"], "treats a Data payload of 16 bytes as a decryption failure: LinkClosed(decrypt_failed)", |ctx| async move {
            let (paired, mut link) = session(&ctx).await?;
            link.send_payload(Bytes::from(ctx.relay().bytes(16))).await?;
            decrypt_failed_then_reconnect(&ctx, &paired, &mut link, "a payload shorter than 17 bytes").await
        })
        .needs(&["pair", "reconnect"])
        .faults(&[SHORT_PAYLOAD]),
        c("SESS-10", 1, &["ENC-02"], "ends the session with Close(malformed_session_frame) for a Resume cut short", |ctx| async move {
            malformed(ctx, &[0x10, 0, 0, 0], "a truncated Resume").await
        })
        .needs(&["pair", "reconnect"])
        .faults(&[MALFORMED_INNER_FRAME]),
        c("SESS-10", 2, &["ENC-03"], "ends the session with Close(malformed_session_frame) for a Resume with a trailing byte", |ctx| async move {
            let mut plain = plain(&resume())?;
            plain.push(0);
            malformed(ctx, &plain, "a Resume with a trailing byte").await
        })
        .needs(&["pair", "reconnect"])
        .faults(&[MALFORMED_INNER_FRAME]),
        c("ENC-09", 2, &["SESS-10"], "ends the session with Close(malformed_session_frame) for an inner frame of the unknown critical type 0x7E", |ctx| async move {
            malformed(ctx, &[0x7E, 1, 2, 3], "an unknown critical inner frame type").await
        })
        .needs(&["pair", "reconnect"])
        .faults(&[UNKNOWN_CRITICAL_FRAME]),
        c("ENC-10", 2, &[], "discards an inner frame of the unknown ignorable type 0xF0 and goes on serving the session", |ctx| async move {
            let (_, mut link, _) = ctx.live_primary().await?;
            link.send_plain(&[0xF0, 1, 2, 3], "inner frame of the unknown type 0xF0").await?;
            probe(&ctx, &mut link, "after an ignorable frame [ENC-10]").await
        })
        .needs(&["pair", "reconnect", "sync"])
        .faults(&[UNKNOWN_IGNORABLE_FRAME]),
        c("SESS-03", 1, &[], "ends a live session with Close(unexpected_session_frame) when the companion sends SnapshotEnd, a primary's frame", |ctx| async move {
            wrong_role(ctx, InnerFrame::SnapshotEnd(SnapshotEnd { seq: 0 })).await
        })
        .needs(&["pair", "reconnect", "sync"])
        .faults(&[WRONG_ROLE_FRAME]),
        c("SESS-03", 2, &[], "ends a live session with Close(unexpected_session_frame) when the companion sends PairingComplete, a primary's frame", |ctx| async move {
            wrong_role(ctx, InnerFrame::PairingComplete).await
        })
        .needs(&["pair", "reconnect", "sync"])
        .faults(&[WRONG_ROLE_FRAME]),
        c("SESS-04", 1, &["RECON-04"], "ends the session with Close(unexpected_session_frame) when the companion's first frame is Ack instead of Resume", |ctx| async move {
            before_resume(ctx, InnerFrame::Ack(Ack { seq: 0 })).await
        })
        .needs(&["pair", "reconnect"])
        .faults(&[FRAME_BEFORE_RESUME]),
        c("SESS-04", 2, &["RECON-04"], "ends the session with Close(unexpected_session_frame) for a HistoryRequest before Resume, without answering it", |ctx| async move {
            before_resume(ctx, history_probe()).await
        })
        .needs(&["pair", "reconnect"])
        .faults(&[FRAME_BEFORE_RESUME]),
        c("SESS-04", 3, &["RECON-04"], "ends the session with Close(unexpected_session_frame) for a Send before Resume, and does not apply it", send_before_resume)
            .needs(&["pair", "reconnect", "sync"])
            .faults(&[FRAME_BEFORE_RESUME]),
        c("SESS-08", 1, &["SESS-04"], "follows a Rekey sent before Resume and serves the Resume sealed under the new key", |ctx| async move {
            let (_, mut link) = session(&ctx).await?;
            rekey(&mut link).await?;
            let snapshot = ctx.read_snapshot(&mut link).await?;
            ensure(snapshot.begin.is_some(), "a snapshot to Resume(0, 0) after Rekey [SESS-08]", || format!("{:?}", snapshot.frames))
        })
        .needs(&["pair", "reconnect", "sync"])
        .faults(&[EARLY_REKEY]),
        c("SESS-08", 2, &[], "follows two Rekeys in a live session and answers the frames sealed under each new key", |ctx| async move {
            let (_, mut link, _) = ctx.live_primary().await?;
            rekey(&mut link).await?;
            probe(&ctx, &mut link, "after a Rekey [SESS-08]").await?;
            rekey(&mut link).await?;
            probe(&ctx, &mut link, "after a second Rekey [SESS-08]").await
        })
        .needs(&["pair", "reconnect", "sync"])
        .faults(&[EARLY_REKEY]),
        c("SESS-06", 1, &[], "stops using a session the companion ended with Close(normal_closure): answers nothing sent after it", |ctx| async move {
            after_close(ctx, Code::NORMAL_CLOSURE).await
        })
        .needs(&["pair", "reconnect", "sync"])
        .faults(&[CLOSED_SESSION]),
        c("ERR-01", 3, &["SESS-06", "ERR-02"], "treats Close with the unknown session code 4150 as the end of the session: answers nothing sent after it", |ctx| async move {
            after_close(ctx, Code(4150)).await
        })
        .needs(&["pair", "reconnect", "sync"])
        .faults(&[UNKNOWN_CODE, CLOSED_SESSION]),
        c("SESS-01", 1, &["TRN-04"], "keeps every inner frame of a snapshot at most 65,519 bytes when one chat's recent messages hold more (24 texts of 4,096 bytes)", large_snapshot)
            .needs(&["pair", "reconnect", "sync", "inject"]),
    ]
}

/// The largest inner frame (§6.1).
const MAX_INNER_FRAME: usize = 65_519;

/// Texts of the largest size (§7.1) the large snapshot case injects.
const LONG_TEXTS: usize = 24;

async fn large_snapshot(ctx: Ctx) -> CaseResult {
    let answer = ctx
        .ok("add-contact Long Letters")
        .await?
        .unwrap_or_default();
    let chat_id: u64 = answer
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| {
            Failure::fail(
                "`<contact_id> <chat_id>` from add-contact (§12.5.3)",
                answer.clone(),
            )
        })?;
    for i in 0..LONG_TEXTS {
        let text = format!("{i:04}{}", "x".repeat(4092));
        ctx.ok(&format!("inject {chat_id} {text}")).await?;
    }
    let (_, _, snapshot) = ctx.live_primary().await?;
    for frame in &snapshot.frames {
        let len = plain(frame)?.len();
        ensure(
            len <= MAX_INNER_FRAME,
            "inner frames of at most 65,519 bytes [SESS-01]",
            || format!("{} of {len} bytes", frame.name()),
        )?;
    }
    let sent: usize = snapshot
        .pages
        .iter()
        .filter(|p| p.chat_id == chat_id)
        .map(|p| p.messages.len())
        .sum();
    ctx.note(format!(
        "the snapshot carries {sent} of the chat's {LONG_TEXTS} long texts"
    ));
    ensure(
        sent > 0,
        "the chat's newest messages in the snapshot's message pages (§7.3)",
        || "none".to_owned(),
    )
}

/// A paired companion with a route session whose handshake just finished
/// (no transport frame sent yet).
async fn session(ctx: &Ctx) -> Result<(Paired, Link), Failure> {
    let paired = ctx.pair_primary().await?;
    let link = ctx.reconnect(&paired).await?;
    Ok((paired, link))
}

fn resume() -> InnerFrame {
    InnerFrame::Resume(Resume { log_id: 0, seq: 0 })
}

/// An `Error` that a companion may send before `Resume` (§6.3, §6.4).
fn harmless_error() -> InnerFrame {
    InnerFrame::Error(Error {
        code: Code::UNKNOWN_TRANSFER,
        ref_id: 77,
        message: "no such transfer".into(),
    })
}

fn history_probe() -> InnerFrame {
    InnerFrame::HistoryRequest(HistoryRequest {
        request_id: PROBE_ID,
        chat_id: NO_CHAT,
        before: 0,
        limit: 10,
    })
}

fn plain(frame: &InnerFrame) -> Result<Vec<u8>, Failure> {
    let mut out = bytes::BytesMut::new();
    frame
        .encode(&mut out)
        .map_err(|e| Failure::harness("an inner frame that encodes", e.to_string()))?;
    Ok(out.to_vec())
}

/// Frames a live primary may send unasked.
fn chatter(frame: &InnerFrame) -> bool {
    matches!(frame, InnerFrame::Typing(_) | InnerFrame::Event(_))
}

/// Asks for history of a chat that does not exist; the primary's
/// `Error(unknown_chat, request_id)` ([SYNC-23]) shows the session works.
async fn probe(ctx: &Ctx, link: &mut Link, why: &str) -> CaseResult {
    link.send(&history_probe()).await?;
    link.expect_frame_skipping(
        ctx.wait(),
        &format!("Error(unknown_chat, {PROBE_ID}) for a HistoryRequest of an unknown chat ({why})"),
        chatter,
        |f| matches!(f, InnerFrame::Error(e) if e.ref_id == PROBE_ID && e.code == Code::UNKNOWN_CHAT).then_some(()),
    )
    .await
}

async fn rekey(link: &mut Link) -> CaseResult {
    let session = link
        .session
        .as_mut()
        .ok_or_else(|| Failure::harness("a session on the link", "no handshake finished"))?;
    let payload = session
        .rekey_now_for_testing()
        .map_err(|e| Failure::harness("a Rekey that seals", e.to_string()))?;
    link.send_payload(payload).await
}

async fn decrypt_failed_then_reconnect(
    ctx: &Ctx,
    paired: &Paired,
    link: &mut Link,
    why: &str,
) -> CaseResult {
    expect_decrypt_failed(ctx, link, why).await?;
    ctx.note("the companion reconnects: the failure ended one session, not the link");
    ctx.reconnect(paired).await.map(|_| ())
}

async fn malformed(ctx: Ctx, plain: &[u8], what: &str) -> CaseResult {
    let (_, mut link) = session(&ctx).await?;
    link.send_plain(plain, what).await?;
    expect_close_then_link_closed(&ctx, &mut link, Code::MALFORMED_SESSION_FRAME, what).await
}

async fn wrong_role(ctx: Ctx, frame: InnerFrame) -> CaseResult {
    let (_, mut link, _) = ctx.live_primary().await?;
    link.send(&frame).await?;
    let why = format!("{} from a companion [SESS-03]", frame.name());
    expect_close_then_link_closed(&ctx, &mut link, Code::UNEXPECTED_SESSION_FRAME, &why).await
}

async fn before_resume(ctx: Ctx, frame: InnerFrame) -> CaseResult {
    let (_, mut link) = session(&ctx).await?;
    link.send(&frame).await?;
    let why = format!("{} before Resume [SESS-04]", frame.name());
    expect_close_then_link_closed(&ctx, &mut link, Code::UNEXPECTED_SESSION_FRAME, &why).await
}

async fn send_before_resume(ctx: Ctx) -> CaseResult {
    const TEXT: &str = "sent before Resume";
    let (_, mut link) = session(&ctx).await?;
    link.send(&InnerFrame::Send(Send {
        client_id: ctx.relay().array(),
        chat_id: 1,
        body: Body::Text(TEXT.into()),
    }))
    .await?;
    expect_close_then_link_closed(
        &ctx,
        &mut link,
        Code::UNEXPECTED_SESSION_FRAME,
        "Send before Resume [SESS-04]",
    )
    .await?;
    let held = received(&ctx).await?;
    ensure(
        !held.iter().any(|m| m.body == Body::Text(TEXT.into())),
        "no message from a Send refused before Resume [SESS-04]",
        || format!("{held:?}"),
    )
}

async fn after_close(ctx: Ctx, code: Code) -> CaseResult {
    let (_, mut link, _) = ctx.live_primary().await?;
    link.send(&InnerFrame::Close(Close {
        code,
        message: String::new(),
    }))
    .await?;
    ctx.note("the runner's companion keeps the link and sends a request after its Close");
    link.send(&history_probe()).await?;
    link.expect_quiet(
        ctx.quiet() * 2,
        "the session ended with the companion's Close [SESS-06]",
        |i| matches!(i, Incoming::LinkClosed(_) | Incoming::PeerState(_)),
    )
    .await
}
