//! Limit cases (spec §3.9): the setup timeout with and without an upgrade
//! ([RLY-22]), slow consumers closed with 4004 without stalling anyone else
//! ([RLY-23]), and the connection limit ([RLY-24]).

use std::time::{Duration, Instant};

use tandem_codec::Code;
use tandem_codec::envelope::EnvelopeFrame;
use tokio::sync::mpsc;

use super::{RelayCase, case, check_timing, data, expect_data};
use crate::case::{CaseResult, Failure};
use crate::relay::ctx::Ctx;
use crate::relay::faults::*;
use crate::relay::peer::{Event, Peer, SUBPROTOCOL};

/// Payload of each flood frame.
const FLOOD_PAYLOAD: usize = 60_000;

pub(super) fn cases() -> Vec<RelayCase> {
    vec![
        case("RLY-22", 1, &["RLY-25", "TRN-06"], "an upgraded connection that sends no frame is closed with setup_timeout after SETUP_TIMEOUT", &[SILENT_CONNECTION], silent)
            .limit(|p| p.setup_timeout * 3),
        case("RLY-22", 2, &[], "a TCP connection that does not finish its upgrade is closed after SETUP_TIMEOUT", &[STALLED_UPGRADE], |ctx| {
            stalled(ctx, true)
        })
        .limit(|p| p.setup_timeout * 3),
        case("RLY-22", 3, &[], "a TCP connection that sends nothing at all is closed after SETUP_TIMEOUT", &[STALLED_UPGRADE], |ctx| {
            stalled(ctx, false)
        })
        .limit(|p| p.setup_timeout * 3),
        case("RLY-22", 4, &[], "a connection that sent its first frame in time is still open after SETUP_TIMEOUT", &[], in_time)
            .limit(|p| p.setup_timeout * 3),
        case("RLY-23", 1, &["RLY-25", "RLY-18", "TRN-06"], "a companion that stops reading is closed with slow_consumer; the primary and its other companion carry on", &[NEVER_READS], slow_companion),
        case("RLY-23", 2, &["RLY-17", "TRN-06"], "a primary that stops reading is closed with slow_consumer; its companion learns it is offline and carries on", &[NEVER_READS], slow_primary),
        case("RLY-24", 1, &["RLY-25"], "the connection after MAX_CONNECTIONS is closed with over_capacity right after its upgrade, unread", &[CONNECTION_FLOOD], capacity)
            .own_relay(),
    ]
}

async fn silent(ctx: Ctx) -> CaseResult {
    let mut peer = ctx.connect("client").await?;
    peer.no_keepalive();
    let setup = ctx.params().setup_timeout;
    peer.expect_close(
        setup + ctx.slack(setup) + ctx.wait(),
        Code::SETUP_TIMEOUT,
        "[RLY-22] no first frame within SETUP_TIMEOUT",
    )
    .await?;
    check_timing(
        &ctx,
        "the setup_timeout close",
        peer.opened_at,
        Instant::now(),
        setup,
    )
}

async fn stalled(ctx: Ctx, partial: bool) -> CaseResult {
    let mut client = ctx.raw("client").await?;
    if partial {
        let head = client.request_head(Some(SUBPROTOCOL), &[]);
        let half = &head.as_bytes()[..head.len() / 2];
        client.write(half, "half an upgrade request").await?;
    }
    let setup = ctx.params().setup_timeout;
    let at = client
        .expect_eof(
            setup + ctx.slack(setup) + ctx.wait(),
            "[RLY-22] the upgrade was not completed within SETUP_TIMEOUT",
        )
        .await?;
    check_timing(
        &ctx,
        "the end of the TCP connection",
        client.opened_at,
        at,
        setup,
    )
}

async fn in_time(ctx: Ctx) -> CaseResult {
    let mut peer = ctx.connect("client").await?;
    peer.no_keepalive();
    peer.ping(ctx.wait(), 1).await?;
    let p = ctx.params();
    if p.idle_timeout <= p.setup_timeout {
        ctx.note("IDLE_TIMEOUT is not longer than SETUP_TIMEOUT: the connection is checked just before IDLE_TIMEOUT instead");
    }
    let margin = ctx
        .slack(p.setup_timeout)
        .min(p.idle_timeout.saturating_sub(p.setup_timeout) / 2);
    let check_at = peer.opened_at + p.setup_timeout.min(p.idle_timeout * 3 / 4) + margin;
    peer.expect_nothing(
        check_at.saturating_duration_since(Instant::now()),
        "a connection with a first frame is past its setup",
    )
    .await?;
    peer.ping(ctx.wait(), 2).await
}

/// Floods `target_link` from `sender` with 60 kB Data until `done` says
/// the reader was dropped, sending one small Data to `bystander_link`
/// every 16 frames and reporting it on `to_bystander`.
async fn flood(
    ctx: &Ctx,
    sender: &mut Peer,
    target_link: u32,
    bystander_link: Option<u32>,
    to_bystander: Option<mpsc::UnboundedSender<Vec<u8>>>,
    mut done: impl FnMut(&EnvelopeFrame) -> bool,
    skip: impl Fn(&EnvelopeFrame) -> bool,
) -> Result<usize, Failure> {
    let p = ctx.params();
    let limit = p.send_queue_frames + p.send_queue_bytes / FLOOD_PAYLOAD + 1_000;
    let payload = ctx.bytes(FLOOD_PAYLOAD);
    let started = Instant::now();
    let give_up = ctx.scaled(Duration::from_secs(30));
    for n in 0..limit {
        sender.send(data(target_link, payload.clone())).await?;
        if let (Some(link), Some(tx), 0) = (bystander_link, to_bystander.as_ref(), n % 16) {
            let small = ctx.bytes(32);
            sender.send(data(link, small.clone())).await?;
            let _ = tx.send(small);
        }
        while let Some(event) = sender.poll_now().await {
            match event {
                Event::Frame(f) if done(&f) => return Ok(n + 1),
                Event::Frame(f) if skip(&f) => {}
                other => {
                    return Err(Failure::fail(
                        format!("{} to keep being served during the flood", sender.name()),
                        other.describe(),
                    ));
                }
            }
        }
        if started.elapsed() > give_up {
            break;
        }
    }
    // The queue should be full by now; wait a last moment for the news.
    let event = sender
        .next(ctx.wait(), "news that the reader was dropped")
        .await?;
    match event {
        Event::Frame(f) if done(&f) => Ok(limit),
        other => Err(Failure::fail(
            format!(
                "the relay to drop the reader after {limit} frames of {FLOOD_PAYLOAD} bytes it did not read [RLY-23]"
            ),
            other.describe(),
        )),
    }
}

async fn slow_companion(ctx: Ctx) -> CaseResult {
    let pair = ctx.pair().await?;
    let (mut primary, mut slow) = (pair.primary, pair.companion);
    slow.no_keepalive();
    let (mut bystander, b_link, _) = ctx.companion(pair.key.public().0).await?;
    let b_primary_link = ctx.link_opened(&mut primary).await?;
    let slow_link = pair.primary_link;
    let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
    let flooding = async {
        let sent = flood(
            &ctx,
            &mut primary,
            slow_link,
            Some(b_primary_link),
            Some(tx),
            |f| matches!(f, EnvelopeFrame::LinkClosed(c) if c.link_id == slow_link && c.code == Code::PEER_GONE),
            |_| false,
        )
        .await?;
        ctx.note(format!(
            "the primary sent {sent} frames before it learned that the companion was dropped"
        ));
        Ok::<(), Failure>(())
    };
    let watching = async {
        while let Some(payload) = rx.recv().await {
            expect_data(
                &ctx,
                &mut bystander,
                b_link,
                &payload,
                "its Data while another companion does not read",
            )
            .await?;
        }
        Ok::<(), Failure>(())
    };
    let (flooded, watched) = tokio::join!(flooding, watching);
    flooded?;
    watched?;
    let skipped = slow
        .expect_close_after(
            ctx.wait() * 4,
            Code::SLOW_CONSUMER,
            "[RLY-23] its send queue was full",
            |f| matches!(f, EnvelopeFrame::Data(d) if d.link_id == pair.companion_link),
        )
        .await?;
    ctx.note(format!(
        "the slow companion read {skipped} frames before its Close"
    ));
    // The primary is still served: Errors for its Data that was in flight
    // to the dropped link, then Pong.
    primary
        .send(tandem_codec::envelope::Ping { nonce: 1 })
        .await?;
    primary
        .expect_skipping(
            ctx.wait(),
            "Pong 1: the primary is still served [RLY-23]",
            |f| matches!(f, EnvelopeFrame::Error(e) if e.code == Code::UNKNOWN_LINK && e.link_id == slow_link),
            |f| matches!(f, EnvelopeFrame::Pong(p) if p.nonce == 1).then_some(()),
        )
        .await?;
    let last = ctx.bytes(32);
    primary.send(data(b_primary_link, last.clone())).await?;
    expect_data(
        &ctx,
        &mut bystander,
        b_link,
        &last,
        "Data after the slow companion was dropped",
    )
    .await
}

async fn slow_primary(ctx: Ctx) -> CaseResult {
    let pair = ctx.pair().await?;
    let (mut slow, mut companion) = (pair.primary, pair.companion);
    slow.no_keepalive();
    let link = pair.companion_link;
    let sent = flood(
        &ctx,
        &mut companion,
        link,
        None,
        None,
        |f| matches!(f, EnvelopeFrame::PeerState(p) if p.link_id == link && !p.online),
        |_| false,
    )
    .await?;
    ctx.note(format!(
        "the companion sent {sent} frames before it learned that the primary was dropped"
    ));
    slow.expect_close_after(
        ctx.wait() * 4,
        Code::SLOW_CONSUMER,
        "[RLY-23] its send queue was full",
        |f| matches!(f, EnvelopeFrame::Data(_)),
    )
    .await?;
    // The companion is still served: Errors for Data in flight, then Pong.
    companion
        .send(tandem_codec::envelope::Ping { nonce: 5 })
        .await?;
    companion
        .expect_skipping(
            ctx.wait(),
            "Pong 5: the companion is still served [RLY-23]",
            |f| matches!(f, EnvelopeFrame::Error(e) if e.code == Code::PRIMARY_OFFLINE),
            |f| matches!(f, EnvelopeFrame::Pong(p) if p.nonce == 5).then_some(()),
        )
        .await
}

async fn capacity(ctx: Ctx) -> CaseResult {
    let max = ctx.params().max_connections;
    let mut held = Vec::with_capacity(max);
    for n in 0..max {
        let mut peer = ctx.connect("client").await.map_err(|f| Failure {
            expected: format!(
                "connection {} of MAX_CONNECTIONS = {max} to be accepted: {}",
                n + 1,
                f.expected
            ),
            ..f
        })?;
        peer.send(tandem_codec::envelope::Ping { nonce: n as u64 })
            .await?;
        held.push(peer);
    }
    for (n, peer) in held.iter_mut().enumerate() {
        peer.expect(ctx.wait(), "Pong", |f| {
            matches!(f, EnvelopeFrame::Pong(p) if p.nonce == n as u64).then_some(())
        })
        .await?;
    }
    ctx.note(format!("{max} connections open"));
    let mut extra = ctx.connect("client").await?;
    extra
        .send(tandem_codec::envelope::Ping { nonce: 4005 })
        .await?;
    extra
        .expect_close(
            ctx.wait(),
            Code::OVER_CAPACITY,
            "[RLY-24] beyond MAX_CONNECTIONS, closed without reading its frames",
        )
        .await?;
    let mut first = held.swap_remove(0);
    first.ping(ctx.wait(), 1).await
}
