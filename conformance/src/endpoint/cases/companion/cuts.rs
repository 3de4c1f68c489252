//! A lost connection at every point of a flow (spec §7.2, §7.3, §7.9): the
//! runner, as the primary, sends the first `k` frames of a first sync and
//! of the live events after it, makes sure the companion has handled them,
//! and drops its connection. The companion must come back, resume from
//! exactly what it applied (nothing of an unfinished snapshot), and end
//! with the primary's messages, none lost and none doubled.

use tandem_codec::envelope::{EnvelopeFrame, Ping};
use tandem_codec::session::{InnerFrame, Resume};
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::Message;

use super::support::comes_back;
use crate::case::{CaseResult, Failure, ensure};
use crate::endpoint::cases::checks::received;
use crate::endpoint::cases::{EndpointCase, companion_case as c};
use crate::endpoint::ctx::Ctx;
use crate::endpoint::faults::CUT_CONNECTION;
use crate::endpoint::model::Model;
use crate::endpoint::tap::{TapEvent, watch};

/// Chats and messages per chat of the store before the cut.
const CHATS: u64 = 2;
const PER_CHAT: u64 = 2;
/// Live events after the snapshot.
const LIVE_EVENTS: u64 = 3;

/// The primary's store before and after the live events, and the frames
/// of the flow: the snapshot as of the first, then the events.
fn flow(log_id: u64) -> (Model, Model, Vec<InnerFrame>) {
    let before = Model::new(log_id, CHATS, PER_CHAT);
    let mut after = before.clone();
    for i in 0..LIVE_EVENTS {
        after.incoming_text(1 + i % CHATS, &format!("live {i}"));
    }
    let mut frames = before.snapshot();
    frames.extend(
        after
            .events_after(before.head)
            .into_iter()
            .map(InnerFrame::Event),
    );
    (before, after, frames)
}

/// The cut cases: one per point of the flow, from before its first frame
/// to after its last.
pub(super) fn cases() -> Vec<EndpointCase> {
    let (_, _, frames) = flow(1);
    (0..=frames.len())
        .map(|k| {
            let title = match k {
                0 => "resumes from nothing after a cut before the first snapshot frame".to_owned(),
                k if k == frames.len() => {
                    "resumes from the newest event after a cut at the end of a first sync and its live events".to_owned()
                }
                k => format!(
                    "resumes from what it applied after a cut following frame {k} of a first sync and its live events"
                ),
            };
            c(
                "SYNC-05",
                format!("cut-{k}"),
                &["SYNC-12", "RECON-04"],
                &title,
                move |ctx| cut_after(ctx, k),
            )
            .needs(&["pair", "reconnect", "sync"])
            .faults(&[CUT_CONNECTION])
        })
        .collect()
}

/// Waits until `sent` `Data` frames have passed the tap towards the
/// implementation, then sends a Ping as the relay behind them on the same
/// connection and waits for its Pong: the implementation has handled every
/// frame before it.
async fn handled(
    ctx: &Ctx,
    events: &mut broadcast::Receiver<TapEvent>,
    sent: usize,
    nonce: u64,
) -> Result<(), Failure> {
    let conn = ctx.tap().connections_opened();
    let mut passed = 0;
    if sent > 0 {
        watch(events, ctx.wait(), |e| {
            if matches!(e, TapEvent::DataToImplementation { conn: c } if *c == conn) {
                passed += 1;
            }
            (passed == sent).then_some(())
        })
        .await
        .ok_or_else(|| {
            Failure::harness(
                format!("the relay to pass on {sent} Data frames"),
                format!("{passed} passed"),
            )
        })?;
    }
    let ping = EnvelopeFrame::from(Ping { nonce })
        .to_bytes()
        .map_err(|e| Failure::harness("a Ping that encodes", e.to_string()))?;
    ensure(
        ctx.tap().inject(conn, Message::Binary(ping)),
        "the companion's connection open",
        || "it ended".to_owned(),
    )?;
    let pong = watch(events, ctx.wait(), |e| match e {
        TapEvent::FromImplementation {
            frame: Some(EnvelopeFrame::Pong(p)),
            ..
        } => (p.nonce == nonce).then_some(()),
        _ => None,
    })
    .await;
    pong.ok_or_else(|| {
        Failure::timeout(
            format!("Pong({nonce}) to the relay's Ping [ENV-02]"),
            "no Pong",
        )
    })
}

async fn cut_after(ctx: Ctx, k: usize) -> CaseResult {
    let (before, after, frames) = flow(ctx.relay().u64() | 1);
    let linked = ctx.pair_companion().await?;
    let mut first = ctx.accept_resume(linked.primary).await?;
    let mut events = ctx.tap().subscribe();
    for frame in &frames[..k] {
        first.link.send(frame).await?;
    }
    handled(&ctx, &mut events, k, 0x4355_5400 + k as u64).await?;
    ctx.tap().cut();

    let snapshot_len = before.snapshot().len();
    let expected = if k < snapshot_len {
        // An unfinished snapshot is not a copy: nothing was applied.
        Resume { log_id: 0, seq: 0 }
    } else {
        Resume {
            log_id: before.log_id,
            seq: before.head + (k - snapshot_len) as u64,
        }
    };
    let mut back = comes_back(&ctx, first).await?;
    let resume = back.resume;
    ensure(
        resume == expected,
        format!(
            "Resume({}, {}): the highest seq it applied (§7.2) [SYNC-05] [SYNC-12]",
            expected.log_id, expected.seq
        ),
        || format!("Resume({}, {})", resume.log_id, resume.seq),
    )?;
    if resume.log_id == 0 {
        ctx.serve_snapshot(&mut back.link, &after).await?;
    } else {
        ctx.serve_resume(&mut back.link, &after, resume.seq).await?;
        if resume.seq < after.head {
            ctx.expect_ack(&mut back.link, after.head).await?;
        }
    }
    let got = received(&ctx).await?;
    let want = after.all_messages();
    ensure(
        got == want,
        format!(
            "`received` to hold the primary's {} messages, none lost or doubled",
            want.len()
        ),
        || format!("{} messages: {got:?}", got.len()),
    )
}
