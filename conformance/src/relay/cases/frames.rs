//! Frame cases (spec §3.7, §1.6): every invalid envelope vector of §13,
//! sent by a client, closes its connection with malformed_frame
//! ([RLY-20]; 1009 for one longer than a message may be, [TRN-04]); every
//! frame only the relay may send, and frames not allowed in the sender's
//! state, close it with unexpected_frame ([RLY-21]); ignorable frame types
//! are discarded ([ENC-10]).

use tandem_codec::Code;
use tandem_codec::envelope::{
    ChannelJoined, ChannelOpened, EnvelopeFrame, Error as ErrorFrame, JoinChannel, LinkOpened,
    PeerState, RouteAttached, RouteChallenge, RouteProof,
};

use super::{RelayCase, case};
use crate::case::{CaseResult, Failure};
use crate::codec::vectors::{self, Vector};
use crate::relay::ctx::Ctx;
use crate::relay::faults::*;

/// Builds a frame that only the relay may send.
type Build = fn(&Ctx) -> EnvelopeFrame;

/// The largest WebSocket message a relay accepts (§2.3).
const MAX_MESSAGE: usize = 65_540;

pub(super) fn cases() -> Vec<RelayCase> {
    let mut cases = Vec::new();
    // Vector-driven cases keep the vector's id, so that they stay stable
    // when vectors are added (§12.2).
    let envelope: Vec<Vector> = vectors::embedded()
        .unwrap_or_default()
        .into_iter()
        .filter(|v| v.decoder == "envelope")
        .collect();
    for v in envelope.iter().filter(|v| !v.is_valid()) {
        let vector = v.clone();
        let title = format!(
            "a client frame that does not decode closes with malformed_frame: {}",
            v.comment
        );
        let also: &[&str] = if v.error.as_deref() == Some("unknown_frame_type") {
            &["TRN-06", "ENC-09"]
        } else {
            &["TRN-06"]
        };
        cases.push(case(
            "RLY-20",
            &v.id,
            also,
            &title,
            &[MALFORMED_FRAME],
            move |ctx| malformed(ctx, vector.clone()),
        ));
    }
    let ignorable: Vec<Vector> = envelope
        .iter()
        .filter(|v| v.is_valid() && v.decoded.as_ref().is_some_and(|d| d["type"] == "unknown"))
        .cloned()
        .collect();
    cases.push(case(
        "ENC-10",
        1,
        &[],
        "frames of unknown ignorable types (0x80–0xFF) are discarded, and the connection goes on",
        &[],
        move |ctx| ignored(ctx, ignorable.clone()),
    ));
    let relay_only: [(&str, Build); 8] = [
        ("ChannelOpened", |c| {
            ChannelOpened {
                channel_id: c.array(),
                link_id: 1,
                ttl_ms: 60_000,
            }
            .into()
        }),
        ("ChannelJoined", |c| {
            ChannelJoined {
                channel_id: c.array(),
                link_id: 1,
            }
            .into()
        }),
        ("RouteChallenge", |c| {
            RouteChallenge {
                relay_ephemeral: c.array(),
            }
            .into()
        }),
        ("RouteRegistered", |_| EnvelopeFrame::RouteRegistered),
        ("RouteAttached", |_| {
            RouteAttached {
                link_id: 1,
                primary_online: true,
            }
            .into()
        }),
        ("LinkOpened", |_| LinkOpened { link_id: 1 }.into()),
        ("PeerState", |_| {
            PeerState {
                link_id: 1,
                online: true,
            }
            .into()
        }),
        ("Error", |_| {
            ErrorFrame {
                code: Code::UNKNOWN_LINK,
                link_id: 0,
                message: "from a client".into(),
            }
            .into()
        }),
    ];
    for (n, (name, build)) in relay_only.into_iter().enumerate() {
        let title = format!("{name} sent by a client closes the connection with unexpected_frame");
        cases.push(case(
            "RLY-21",
            n + 1,
            &["TRN-06"],
            &title,
            &[RELAY_ONLY_FRAME],
            move |ctx| async move {
                let frame = build(&ctx);
                let mut peer = ctx.connect("client").await?;
                peer.send(frame).await?;
                peer.expect_close(
                    ctx.wait(),
                    Code::UNEXPECTED_FRAME,
                    "[RLY-21] a frame only the relay sends",
                )
                .await
            },
        ));
    }
    cases.push(case(
        "RLY-21",
        9,
        &[],
        "JoinChannel on a companion's connection closes it with unexpected_frame",
        &[COMPANION_JOINS],
        |ctx| async move {
            let mut peer = ctx.connect("companion").await?;
            let (channel_id, _, _) = ctx.open_channel(&mut peer).await?;
            peer.send(JoinChannel { channel_id }).await?;
            peer.expect_close(
                ctx.wait(),
                Code::UNEXPECTED_FRAME,
                "[RLY-21] JoinChannel on a companion's connection",
            )
            .await
        },
    ));
    cases.push(case(
        "RLY-21",
        10,
        &[],
        "RouteProof on a fresh connection, with no challenge, closes it with unexpected_frame",
        &[PROOF_WITHOUT_CHALLENGE],
        |ctx| async move {
            let mut peer = ctx.connect("client").await?;
            peer.send(RouteProof { mac: ctx.array() }).await?;
            peer.expect_close(
                ctx.wait(),
                Code::UNEXPECTED_FRAME,
                "[RLY-21] RouteProof without a challenge",
            )
            .await
        },
    ));
    cases.push(case(
        "RLY-21",
        11,
        &[],
        "RouteProof after the route is registered closes the connection with unexpected_frame",
        &[PROOF_WITHOUT_CHALLENGE],
        |ctx| async move {
            let key = ctx.keypair();
            let mut primary = ctx.primary(&key).await?;
            primary.send(RouteProof { mac: ctx.array() }).await?;
            primary
                .expect_close(
                    ctx.wait(),
                    Code::UNEXPECTED_FRAME,
                    "[RLY-21] RouteProof without a pending challenge",
                )
                .await
        },
    ));
    cases
}

async fn malformed(ctx: Ctx, vector: Vector) -> CaseResult {
    let bytes = hex::decode(&vector.input)
        .map_err(|e| Failure::harness("the vector's hex", e.to_string()))?;
    let (code, why) = if bytes.len() > MAX_MESSAGE {
        (
            Code::MESSAGE_TOO_BIG,
            format!("[TRN-04] a message of {} bytes", bytes.len()),
        )
    } else {
        (
            Code::MALFORMED_FRAME,
            format!(
                "[RLY-20] {} at byte {}",
                vector.error.as_deref().unwrap_or("?"),
                vector.offset.unwrap_or(0)
            ),
        )
    };
    let mut peer = ctx.connect("client").await?;
    peer.send_bytes(bytes, &format!("vector {}", vector.id))
        .await?;
    peer.expect_close(ctx.wait(), code, &why).await
}

async fn ignored(ctx: Ctx, vectors: Vec<Vector>) -> CaseResult {
    let mut peer = ctx.connect("client").await?;
    for (n, v) in vectors.iter().enumerate() {
        let bytes = hex::decode(&v.input)
            .map_err(|e| Failure::harness("the vector's hex", e.to_string()))?;
        peer.send_bytes(bytes, &format!("vector {}", v.id)).await?;
        peer.ping(ctx.wait(), n as u64).await?;
    }
    Ok(())
}
