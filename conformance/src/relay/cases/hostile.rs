//! Hostile clients next to an active pair (spec §3, §11.9): while a
//! primary and its companion exchange Data, other clients send text,
//! oversized and malformed messages, relay-only frames, a wrong proof for
//! the pair's route, Data and LinkClosed on the pair's link, channel
//! floods and unknown joins, and attach and vanish. The pair's Data must
//! arrive in order and unchanged, and the pair must see nothing of it but
//! links opening and closing on the primary ([RLY-14], [RLY-15], [RLY-08]).

use tandem_codec::Code;
use tandem_codec::envelope::{
    AttachRoute, EnvelopeFrame, JoinChannel, LinkClosed, RegisterRoute, RouteProof,
};

use super::{RelayCase, case, data, expect_error};
use crate::case::{CaseResult, Failure};
use crate::relay::ctx::{Ctx, Pair};
use crate::relay::faults::*;
use crate::relay::peer::{Event, Peer};

pub(super) fn cases() -> Vec<RelayCase> {
    vec![case(
        "RLY-14",
        5,
        &[
            "RLY-15", "RLY-08", "RLY-20", "RLY-21", "RLY-06", "TRN-03", "TRN-04",
        ],
        "ten kinds of hostile client do not disturb an active pair: its Data arrives in order, unchanged, and nothing else reaches it",
        &[
            TEXT_MESSAGE,
            OVERSIZED_MESSAGE,
            MALFORMED_FRAME,
            RELAY_ONLY_FRAME,
            WRONG_ROUTE_PROOF,
            FOREIGN_LINK,
            CHANNEL_FLOOD,
            UNKNOWN_CHANNEL_JOIN,
            ABRUPT_DISCONNECT,
        ],
        hostile,
    )]
}

/// One hostile client, start to end.
async fn attack(ctx: &Ctx, pair: &Pair, round: usize) -> CaseResult {
    let mut h = ctx.connect("hostile").await?;
    match round {
        0 => {
            h.send_text("{\"type\":\"data\"}").await?;
            h.expect_close(ctx.wait(), Code::UNSUPPORTED_DATA, "[TRN-03]")
                .await
        }
        1 => {
            let mut big = vec![0x0E, 0, 0, 0, 0];
            big[1..5].copy_from_slice(&pair.companion_link.to_be_bytes());
            big.extend(ctx.bytes(65_536));
            h.send_bytes(big, "Data of 65,541 bytes on the pair's link")
                .await?;
            h.expect_close(ctx.wait(), Code::MESSAGE_TOO_BIG, "[TRN-04]")
                .await
        }
        2 => {
            let mut truncated = vec![0x0E];
            truncated.extend_from_slice(&pair.primary_link.to_be_bytes());
            h.send_bytes(truncated, "Data without a payload on the pair's link")
                .await?;
            h.expect_close(ctx.wait(), Code::MALFORMED_FRAME, "[RLY-20]")
                .await
        }
        3 => {
            h.send(EnvelopeFrame::RouteRegistered).await?;
            h.expect_close(ctx.wait(), Code::UNEXPECTED_FRAME, "[RLY-21]")
                .await
        }
        4 => {
            h.send(RegisterRoute {
                primary_key: pair.key.public().0,
            })
            .await?;
            h.expect(ctx.wait(), "RouteChallenge", |f| {
                matches!(f, EnvelopeFrame::RouteChallenge(_)).then_some(())
            })
            .await?;
            h.send(RouteProof { mac: ctx.array() }).await?;
            h.expect_close(ctx.wait(), Code::ROUTE_PROOF_FAILED, "[RLY-08]")
                .await
        }
        5 => {
            for link in [pair.companion_link, pair.primary_link] {
                h.send(data(link, ctx.bytes(20))).await?;
                expect_error(ctx, &mut h, Code::UNKNOWN_LINK, "[RLY-15] the pair's link").await?;
            }
            Ok(())
        }
        6 => {
            h.send(LinkClosed {
                link_id: pair.companion_link,
                code: Code::PEER_GONE,
            })
            .await?;
            expect_error(ctx, &mut h, Code::UNKNOWN_LINK, "[RLY-15] the pair's link")
                .await
                .map(|_| ())
        }
        7 => {
            for _ in 0..ctx.params().max_channels_per_connection {
                ctx.open_channel(&mut h).await?;
            }
            h.send(EnvelopeFrame::OpenChannel).await?;
            expect_error(ctx, &mut h, Code::TOO_MANY_CHANNELS, "[RLY-06]")
                .await
                .map(|_| ())
        }
        8 => {
            for _ in 0..10 {
                h.send(JoinChannel {
                    channel_id: ctx.array(),
                })
                .await?;
                expect_error(ctx, &mut h, Code::UNKNOWN_CHANNEL, "[RLY-03]").await?;
            }
            Ok(())
        }
        _ => {
            h.send(AttachRoute {
                primary_key: pair.key.public().0,
            })
            .await?;
            h.expect(ctx.wait(), "RouteAttached", |f| {
                matches!(f, EnvelopeFrame::RouteAttached(_)).then_some(())
            })
            .await?;
            h.drop_abruptly();
            Ok(())
        }
    }
}

/// Waits for the pair's Data with `payload`, skipping what the primary
/// may see of other links.
async fn receive(
    ctx: &Ctx,
    peer: &mut Peer,
    link: u32,
    payload: &[u8],
    is_primary: bool,
) -> CaseResult {
    let what = "the pair's next Data, unchanged and in order [RLY-14]";
    loop {
        let event = peer.next(ctx.wait(), what).await?;
        match &event {
            Event::Frame(EnvelopeFrame::Data(d))
                if d.link_id == link && d.payload[..] == *payload =>
            {
                return Ok(());
            }
            Event::Frame(EnvelopeFrame::LinkOpened(l)) if is_primary && l.link_id != link => {}
            Event::Frame(EnvelopeFrame::LinkClosed(c)) if is_primary && c.link_id != link => {}
            _ => {
                return Err(Failure::fail(
                    format!("{} to receive {what}", peer.name()),
                    event.describe(),
                ));
            }
        }
    }
}

async fn hostile(ctx: Ctx) -> CaseResult {
    let mut pair = ctx.pair().await?;
    for round in 0..10 {
        attack(&ctx, &pair, round).await?;
        for k in 0..5 {
            let up = ctx.bytes(50 + round * 10 + k);
            pair.companion
                .send(data(pair.companion_link, up.clone()))
                .await?;
            let down = ctx.bytes(60 + round * 10 + k);
            pair.primary
                .send(data(pair.primary_link, down.clone()))
                .await?;
            receive(&ctx, &mut pair.primary, pair.primary_link, &up, true).await?;
            receive(&ctx, &mut pair.companion, pair.companion_link, &down, false).await?;
        }
    }
    pair.companion
        .expect_nothing(
            ctx.quiet(),
            "nothing of the hostile clients reaches the companion",
        )
        .await?;
    // The primary may still see the last attacker's link close.
    match pair.primary.next(ctx.quiet(), "nothing").await {
        Err(f) if f.kind == crate::case::FailKind::Timeout => Ok(()),
        Err(f) => Err(f),
        Ok(Event::Frame(EnvelopeFrame::LinkClosed(c))) if c.link_id != pair.primary_link => Ok(()),
        Ok(other) => Err(Failure::fail(
            "nothing more for the primary",
            other.describe(),
        )),
    }
}
