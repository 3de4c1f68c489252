//! Keepalive and idle cases (spec §3.6): Ping answered with the same nonce
//! ([ENV-02]) in every state, an unsolicited Pong ignored, and the idle
//! timeout ([RLY-19]): enforced, not fooled by WebSocket pings, and never
//! applied to a client that only receives.

use std::time::Instant;

use tandem_codec::Code;
use tandem_codec::envelope::Pong;

use super::{RelayCase, case, check_timing, data, expect_data};
use crate::case::{CaseResult, Failure};
use crate::relay::ctx::Ctx;
use crate::relay::faults::*;

pub(super) fn cases() -> Vec<RelayCase> {
    vec![
        case("ENV-02", 1, &[], "Ping on a fresh connection gets Pong with the same nonce, for nonces 0, 1, 2^64-1 and a random one", &[], fresh_pings),
        case("ENV-02", 2, &[], "Ping from a registered primary and from an attached companion gets Pong with the same nonce", &[], role_pings),
        case("ENV-02", 3, &[], "an unsolicited Pong is ignored: no answer, no close", &[UNSOLICITED_PONG], unsolicited_pong),
        case("RLY-19", 1, &["RLY-25", "TRN-06"], "a connection with no traffic for IDLE_TIMEOUT is closed with idle_timeout", &[IDLE], idle)
            .limit(|p| p.idle_timeout * 3),
        case("RLY-19", 2, &[], "a companion that only receives Data is not idle: it stays open past IDLE_TIMEOUT", &[], receive_only)
            .limit(|p| p.idle_timeout * 3),
        case("RLY-19", 3, &[], "WebSocket Ping control frames are not traffic: the connection is still closed with idle_timeout", &[WEBSOCKET_PINGS_ONLY], websocket_pings)
            .limit(|p| p.idle_timeout * 3),
        case("RLY-19", 4, &[], "a client that sends Ping every third of IDLE_TIMEOUT stays open past it", &[], kept_alive)
            .limit(|p| p.idle_timeout * 3),
    ]
}

async fn fresh_pings(ctx: Ctx) -> CaseResult {
    let mut peer = ctx.connect("client").await?;
    for nonce in [0, 1, u64::MAX, ctx.u64()] {
        peer.ping(ctx.wait(), nonce).await?;
    }
    Ok(())
}

async fn role_pings(ctx: Ctx) -> CaseResult {
    let mut pair = ctx.pair().await?;
    pair.primary.ping(ctx.wait(), ctx.u64()).await?;
    pair.companion.ping(ctx.wait(), ctx.u64()).await
}

async fn unsolicited_pong(ctx: Ctx) -> CaseResult {
    let mut peer = ctx.connect("client").await?;
    peer.send(Pong { nonce: 99 }).await?;
    peer.expect_nothing(ctx.quiet(), "an unsolicited Pong is ignored (§3.6)")
        .await?;
    peer.ping(ctx.wait(), 100).await
}

async fn idle(ctx: Ctx) -> CaseResult {
    let mut peer = ctx.connect("client").await?;
    peer.no_keepalive();
    peer.ping(ctx.wait(), 1).await?;
    let last = Instant::now();
    let idle = ctx.params().idle_timeout;
    peer.expect_close(
        idle + ctx.slack(idle) + ctx.wait(),
        Code::IDLE_TIMEOUT,
        "[RLY-19] nothing sent or received for IDLE_TIMEOUT",
    )
    .await?;
    check_timing(&ctx, "the idle_timeout close", last, Instant::now(), idle)
}

async fn receive_only(ctx: Ctx) -> CaseResult {
    let mut pair = ctx.pair().await?;
    pair.companion.no_keepalive();
    let idle = ctx.params().idle_timeout;
    let step = idle / 4;
    let until = Instant::now() + idle + idle / 2;
    let mut sent = 0;
    while Instant::now() < until {
        let payload = ctx.bytes(16);
        pair.primary
            .send(data(pair.primary_link, payload.clone()))
            .await?;
        sent += 1;
        expect_data(
            &ctx,
            &mut pair.companion,
            pair.companion_link,
            &payload,
            "the primary's Data, while only receiving",
        )
        .await?;
        // The companion waits for the next frame, which comes after `step`.
        match pair
            .companion
            .next(step, "nothing until the next Data")
            .await
        {
            Err(f) if f.kind == crate::case::FailKind::Timeout => {}
            Err(f) => return Err(f),
            Ok(event) => {
                return Err(Failure::fail(
                    "a companion that receives Data every quarter of IDLE_TIMEOUT to stay open [RLY-19: a client that only receives is not idle]",
                    event.describe(),
                ));
            }
        }
    }
    ctx.note(format!(
        "{sent} Data frames received over 1.5 × IDLE_TIMEOUT without sending"
    ));
    pair.companion.ping(ctx.wait(), 7).await
}

async fn websocket_pings(ctx: Ctx) -> CaseResult {
    let mut peer = ctx.connect("client").await?;
    peer.no_keepalive();
    peer.ping(ctx.wait(), 1).await?;
    let last = Instant::now();
    let idle = ctx.params().idle_timeout;
    let deadline = last + idle + ctx.slack(idle) + ctx.wait();
    let step = idle / 4;
    loop {
        peer.send_websocket_ping().await?;
        let left = deadline.saturating_duration_since(Instant::now());
        match peer
            .next(
                step.min(left),
                "a Close frame with code 4002 (idle_timeout) despite WebSocket Pings",
            )
            .await
        {
            Err(f) if f.kind == crate::case::FailKind::Timeout => {
                if Instant::now() >= deadline {
                    return Err(Failure::timeout(
                        "a Close frame with code 4002: WebSocket Pings are not Tandem traffic (§2.3) [RLY-19]",
                        "the connection stayed open",
                    ));
                }
            }
            Err(f) => return Err(f),
            Ok(crate::relay::peer::Event::Close(Some(code), _)) if code == Code::IDLE_TIMEOUT.0 => {
                return check_timing(&ctx, "the idle_timeout close", last, Instant::now(), idle);
            }
            Ok(event) => {
                return Err(Failure::fail(
                    "a Close frame with code 4002 (idle_timeout) [RLY-19]",
                    event.describe(),
                ));
            }
        }
    }
}

async fn kept_alive(ctx: Ctx) -> CaseResult {
    let mut peer = ctx.connect("client").await?;
    peer.no_keepalive();
    let idle = ctx.params().idle_timeout;
    let until = Instant::now() + idle + idle / 2;
    let mut nonce = 0;
    while Instant::now() < until {
        nonce += 1;
        peer.ping(ctx.wait(), nonce).await?;
        match peer.next(idle / 3, "nothing").await {
            Err(f) if f.kind == crate::case::FailKind::Timeout => {}
            Err(f) => return Err(f),
            Ok(event) => {
                return Err(Failure::fail(
                    "a connection that sends Ping every third of IDLE_TIMEOUT to stay open [RLY-19]",
                    event.describe(),
                ));
            }
        }
    }
    Ok(())
}
