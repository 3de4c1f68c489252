//! Link cases (spec §3.5): attachments before and after registration
//! ([RLY-11], [RLY-13]), the route limit ([RLY-12]), forwarding byte for
//! byte, in order and to the right link ([RLY-14]), unknown links
//! ([RLY-15]), an offline primary ([RLY-16]), peer state ([RLY-17]) and
//! links that end ([RLY-18]).

use std::collections::HashSet;
use std::time::Duration;

use tandem_codec::Code;
use tandem_codec::envelope::{EnvelopeFrame, JoinChannel, LinkClosed};

use super::{RelayCase, case, data, expect_data, expect_error};
use crate::case::{CaseResult, Failure, ensure};
use crate::relay::ctx::Ctx;
use crate::relay::faults::*;
use crate::relay::peer::{Event, Peer};

/// Frames each way in the ordering case: fewer than the embedded relay's
/// send queue (128), so that a reader slowed by a loaded machine is never
/// taken for a slow consumer.
const ORDERED: u64 = 100;

pub(super) fn cases() -> Vec<RelayCase> {
    vec![
        case(
            "RLY-11",
            1,
            &["RLY-13", "RLY-17"],
            "a companion attached before the route is registered gets LinkOpened to the primary and PeerState(online) once it is",
            &[],
            attach_before,
        ),
        case(
            "RLY-12",
            1,
            &["RLY-25"],
            "AttachRoute beyond MAX_LINKS_PER_ROUTE gets Error(route_full); the connection stays open",
            &[ATTACH_FLOOD],
            route_full,
        ),
        case(
            "RLY-13",
            1,
            &[],
            "each companion that attaches to a registered route is announced with LinkOpened and a link id of its own",
            &[],
            attach_after,
        ),
        case(
            "RLY-13",
            2,
            &["RLY-17"],
            "a primary that registers again gets LinkOpened for every companion still attached",
            &[],
            reregister,
        ),
        case(
            "RLY-14",
            1,
            &[],
            "Data of 1 to 65,535 bytes is forwarded unchanged both ways on a route link",
            &[],
            byte_exact,
        ),
        case(
            "RLY-14",
            2,
            &[],
            "300 Data frames each way, sent at once, arrive in order, each once",
            &[],
            in_order,
        ),
        case(
            "RLY-14",
            3,
            &["RLY-02"],
            "Data on a pairing channel is forwarded unchanged both ways",
            &[],
            channel_data,
        ),
        case(
            "RLY-14",
            4,
            &[],
            "with three companions, Data goes only to the link it names, and comes from the right link",
            &[],
            multiplexed,
        ),
        case(
            "RLY-15",
            1,
            &["RLY-14"],
            "Data on another companion's link id gets Error(unknown_link) and reaches no one",
            &[FOREIGN_LINK],
            foreign_data,
        ),
        case(
            "RLY-15",
            2,
            &[],
            "Data from a primary on a link id it does not have gets Error(unknown_link)",
            &[FOREIGN_LINK],
            primary_unknown_link,
        ),
        case(
            "RLY-15",
            3,
            &[],
            "LinkClosed for a link id the sender does not own gets Error(unknown_link)",
            &[FOREIGN_LINK],
            foreign_close,
        ),
        case(
            "RLY-16",
            1,
            &["RLY-11"],
            "Data from a companion whose primary never registered gets Error(primary_offline, link_id)",
            &[],
            offline_never,
        ),
        case(
            "RLY-16",
            2,
            &["RLY-17"],
            "Data from a companion whose primary left gets Error(primary_offline, link_id)",
            &[],
            offline_after,
        ),
        case(
            "RLY-17",
            1,
            &[],
            "every attached companion gets PeerState(offline) when the primary closes, and PeerState(online) when it returns",
            &[],
            peer_state,
        ),
        case(
            "RLY-17",
            2,
            &[],
            "a primary whose TCP connection drops without a Close frame is reported offline",
            &[ABRUPT_DISCONNECT],
            peer_state_abrupt,
        ),
        case(
            "RLY-18",
            1,
            &[],
            "a companion whose connection closes is reported to the primary with LinkClosed(peer_gone)",
            &[],
            |ctx| companion_leaves(ctx, false),
        ),
        case(
            "RLY-18",
            2,
            &[],
            "a companion whose TCP connection drops is reported to the primary with LinkClosed(peer_gone)",
            &[ABRUPT_DISCONNECT],
            |ctx| companion_leaves(ctx, true),
        ),
        case(
            "RLY-18",
            3,
            &["RLY-15"],
            "a companion's LinkClosed reaches the primary and releases the link id",
            &[],
            companion_closes_link,
        ),
        case(
            "RLY-18",
            4,
            &["RLY-15"],
            "a primary's LinkClosed reaches the companion with its code and releases the link id",
            &[],
            primary_closes_link,
        ),
    ]
}

async fn attach_before(ctx: Ctx) -> CaseResult {
    let key = ctx.keypair();
    let (mut companion, c_link, online) = ctx.companion(key.public().0).await?;
    ensure(
        !online,
        "RouteAttached with primary_online = false: no primary holds the route [RLY-11]",
        || "primary_online = true".into(),
    )?;
    let mut primary = ctx.primary(&key).await?;
    ctx.link_opened(&mut primary).await?;
    companion
        .expect(
            ctx.wait(),
            "PeerState(online = true) once the primary registered [RLY-17]",
            |f| match f {
                EnvelopeFrame::PeerState(p) if p.link_id == c_link && p.online => Some(()),
                _ => None,
            },
        )
        .await
}

async fn route_full(ctx: Ctx) -> CaseResult {
    let key = ctx.keypair().public().0;
    let mut peers = Vec::new();
    for _ in 0..ctx.params().max_links_per_route {
        peers.push(ctx.companion(key).await?.0);
    }
    let mut extra = ctx.connect("companion").await?;
    extra
        .send(tandem_codec::envelope::AttachRoute { primary_key: key })
        .await?;
    expect_error(
        &ctx,
        &mut extra,
        Code::ROUTE_FULL,
        "[RLY-12] MAX_LINKS_PER_ROUTE",
    )
    .await?;
    extra.ping(ctx.wait(), 12).await
}

async fn attach_after(ctx: Ctx) -> CaseResult {
    let key = ctx.keypair();
    let mut primary = ctx.primary(&key).await?;
    let mut links = HashSet::new();
    let mut companions = Vec::new();
    for _ in 0..3 {
        let (companion, c_link, online) = ctx.companion(key.public().0).await?;
        ensure(online, "RouteAttached with primary_online = true", || {
            "primary_online = false".into()
        })?;
        let p_link = ctx.link_opened(&mut primary).await?;
        ensure(
            p_link != 0 && links.insert(p_link),
            "a link id not used before on this connection [RLY-13]",
            || format!("link id {p_link} again"),
        )?;
        companions.push((companion, c_link, p_link));
    }
    // Each announced link reaches its own companion.
    for (companion, c_link, p_link) in &mut companions {
        let payload = ctx.bytes(16);
        primary.send(data(*p_link, payload.clone())).await?;
        expect_data(&ctx, companion, *c_link, &payload, "Data on its link").await?;
    }
    Ok(())
}

async fn reregister(ctx: Ctx) -> CaseResult {
    let key = ctx.keypair();
    let mut first = ctx.primary(&key).await?;
    let mut companions = Vec::new();
    for _ in 0..2 {
        let (companion, c_link, _) = ctx.companion(key.public().0).await?;
        ctx.link_opened(&mut first).await?;
        companions.push((companion, c_link));
    }
    first.close().await;
    for (companion, c_link) in &mut companions {
        wait_peer_state(&ctx, companion, *c_link, false).await?;
    }
    let mut second = ctx.primary(&key).await?;
    let mut announced = HashSet::new();
    for _ in 0..companions.len() {
        announced.insert(ctx.link_opened(&mut second).await?);
    }
    ensure(
        announced.len() == companions.len(),
        "one LinkOpened per attached companion [RLY-13]",
        || format!("link ids {announced:?}"),
    )?;
    for (companion, c_link) in &mut companions {
        wait_peer_state(&ctx, companion, *c_link, true).await?;
    }
    Ok(())
}

async fn wait_peer_state(ctx: &Ctx, companion: &mut Peer, link: u32, online: bool) -> CaseResult {
    let what = format!("PeerState(link {link}, online = {online}) [RLY-17]");
    companion
        .expect(ctx.wait(), &what, |f| match f {
            EnvelopeFrame::PeerState(p) if p.link_id == link && p.online == online => Some(()),
            _ => None,
        })
        .await
}

async fn byte_exact(ctx: Ctx) -> CaseResult {
    let mut pair = ctx.pair().await?;
    for len in [1usize, 2, 31, 255, 256, 4_096, 65_534, 65_535] {
        let up = ctx.bytes(len);
        pair.companion
            .send(data(pair.companion_link, up.clone()))
            .await?;
        expect_data(
            &ctx,
            &mut pair.primary,
            pair.primary_link,
            &up,
            &format!("{len} bytes from the companion"),
        )
        .await?;
        let down = ctx.bytes(len);
        pair.primary
            .send(data(pair.primary_link, down.clone()))
            .await?;
        expect_data(
            &ctx,
            &mut pair.companion,
            pair.companion_link,
            &down,
            &format!("{len} bytes from the primary"),
        )
        .await?;
    }
    Ok(())
}

/// A payload that carries its sequence number and a length that varies.
fn numbered(ctx: &Ctx, seq: u64) -> Vec<u8> {
    let mut payload = seq.to_be_bytes().to_vec();
    let extra = usize::try_from(seq % 61).unwrap_or(0) * 5;
    payload.extend(ctx.bytes(extra));
    payload
}

async fn receive_numbered(
    ctx: &Ctx,
    peer: &mut Peer,
    link: u32,
    expected: &[Vec<u8>],
) -> CaseResult {
    for (seq, payload) in expected.iter().enumerate() {
        let event = peer.next(ctx.wait(), &format!("Data number {seq}")).await?;
        match event {
            Event::Frame(EnvelopeFrame::Data(d))
                if d.link_id == link && d.payload[..] == payload[..] => {}
            Event::Frame(EnvelopeFrame::Data(d)) => {
                let got = d
                    .payload
                    .get(..8)
                    .and_then(|b| b.try_into().ok())
                    .map(u64::from_be_bytes);
                return Err(Failure::fail(
                    format!(
                        "{} to receive Data number {seq} next, unchanged [RLY-14]",
                        peer.name()
                    ),
                    match got {
                        Some(n) if d.link_id == link => {
                            format!("Data number {n} ({} bytes)", d.payload.len())
                        }
                        _ => format!("Data on link {} of {} bytes", d.link_id, d.payload.len()),
                    },
                ));
            }
            other => {
                return Err(Failure::fail(
                    format!("{} to receive Data number {seq}", peer.name()),
                    other.describe(),
                ));
            }
        }
    }
    peer.expect_nothing(ctx.quiet(), "every frame arrived once")
        .await
}

async fn in_order(ctx: Ctx) -> CaseResult {
    let pair = ctx.pair().await?;
    let (mut primary, mut companion) = (pair.primary, pair.companion);
    let up: Vec<Vec<u8>> = (0..ORDERED).map(|s| numbered(&ctx, s)).collect();
    let down: Vec<Vec<u8>> = (0..ORDERED)
        .map(|s| numbered(&ctx, s + 1_000_000))
        .collect();
    let (c_link, p_link) = (pair.companion_link, pair.primary_link);
    let send_up = async {
        for p in &up {
            companion.send(data(c_link, p.clone())).await?;
        }
        receive_numbered(&ctx, &mut companion, c_link, &down).await
    };
    let send_down = async {
        for p in &down {
            primary.send(data(p_link, p.clone())).await?;
        }
        receive_numbered(&ctx, &mut primary, p_link, &up).await
    };
    let (a, b) = tokio::join!(send_up, send_down);
    a.and(b)
}

async fn channel_data(ctx: Ctx) -> CaseResult {
    let mut companion = ctx.connect("companion").await?;
    let (channel_id, c_link, _) = ctx.open_channel(&mut companion).await?;
    let mut primary = ctx.connect("primary").await?;
    primary.send(JoinChannel { channel_id }).await?;
    let p_link = primary
        .expect(ctx.wait(), "ChannelJoined", |f| match f {
            EnvelopeFrame::ChannelJoined(j) if j.channel_id == channel_id => Some(j.link_id),
            _ => None,
        })
        .await?;
    wait_peer_state(&ctx, &mut companion, c_link, true).await?;
    for len in [1usize, 48, 96, 65_535] {
        let down = ctx.bytes(len);
        primary.send(data(p_link, down.clone())).await?;
        expect_data(
            &ctx,
            &mut companion,
            c_link,
            &down,
            "the primary's Data on the channel",
        )
        .await?;
        let up = ctx.bytes(len);
        companion.send(data(c_link, up.clone())).await?;
        expect_data(
            &ctx,
            &mut primary,
            p_link,
            &up,
            "the companion's Data on the channel",
        )
        .await?;
    }
    Ok(())
}

async fn multiplexed(ctx: Ctx) -> CaseResult {
    let key = ctx.keypair();
    let mut primary = ctx.primary(&key).await?;
    let mut companions = Vec::new();
    for _ in 0..3 {
        let (companion, c_link, _) = ctx.companion(key.public().0).await?;
        let p_link = ctx.link_opened(&mut primary).await?;
        companions.push((companion, c_link, p_link));
    }
    let down: Vec<Vec<u8>> = (0..3).map(|_| ctx.bytes(40)).collect();
    for ((_, _, p_link), payload) in companions.iter().zip(&down) {
        primary.send(data(*p_link, payload.clone())).await?;
    }
    for ((companion, c_link, _), payload) in companions.iter_mut().zip(&down) {
        expect_data(
            &ctx,
            companion,
            *c_link,
            payload,
            "the Data sent on its own link",
        )
        .await?;
        companion
            .expect_nothing(ctx.quiet(), "Data for other links is not delivered here")
            .await?;
    }
    // Upwards in reverse order: each arrives on the right link.
    for (companion, c_link, p_link) in companions.iter_mut().rev() {
        let up = ctx.bytes(24);
        companion.send(data(*c_link, up.clone())).await?;
        expect_data(
            &ctx,
            &mut primary,
            *p_link,
            &up,
            "the companion's Data on its link",
        )
        .await?;
    }
    Ok(())
}

async fn foreign_data(ctx: Ctx) -> CaseResult {
    let mut pair = ctx.pair().await?;
    let (mut other, other_link, _) = ctx.companion(pair.key.public().0).await?;
    ctx.link_opened(&mut pair.primary).await?;
    let payload = ctx.bytes(33);
    other.send(data(pair.companion_link, payload)).await?;
    expect_error(
        &ctx,
        &mut other,
        Code::UNKNOWN_LINK,
        "[RLY-15] the link is another companion's",
    )
    .await?;
    pair.primary
        .expect_nothing(ctx.quiet(), "the stranger's Data is not forwarded")
        .await?;
    pair.companion
        .expect_nothing(ctx.quiet(), "the stranger's Data is not forwarded")
        .await?;
    let mine = ctx.bytes(8);
    other.send(data(other_link, mine.clone())).await?;
    ctx.note("the companion's own link still works");
    pair.primary
        .expect(
            ctx.wait(),
            "the companion's Data on its own link",
            |f| match f {
                EnvelopeFrame::Data(d)
                    if d.payload[..] == mine[..] && d.link_id != pair.primary_link =>
                {
                    Some(())
                }
                _ => None,
            },
        )
        .await
}

async fn primary_unknown_link(ctx: Ctx) -> CaseResult {
    let mut pair = ctx.pair().await?;
    let bogus = pair.primary_link.wrapping_add(1_000_003).max(1);
    pair.primary.send(data(bogus, ctx.bytes(5))).await?;
    expect_error(
        &ctx,
        &mut pair.primary,
        Code::UNKNOWN_LINK,
        "[RLY-15] no such link",
    )
    .await?;
    pair.companion
        .expect_nothing(ctx.quiet(), "nothing is forwarded")
        .await
}

async fn foreign_close(ctx: Ctx) -> CaseResult {
    let mut pair = ctx.pair().await?;
    let mut stranger = ctx.connect("hostile").await?;
    stranger
        .send(LinkClosed {
            link_id: pair.companion_link,
            code: Code::NORMAL_CLOSURE,
        })
        .await?;
    expect_error(
        &ctx,
        &mut stranger,
        Code::UNKNOWN_LINK,
        "[RLY-15] LinkClosed on a link the sender does not own",
    )
    .await?;
    pair.primary
        .expect_nothing(ctx.quiet(), "the link stays open")
        .await?;
    let payload = ctx.bytes(9);
    pair.companion
        .send(data(pair.companion_link, payload.clone()))
        .await?;
    expect_data(
        &ctx,
        &mut pair.primary,
        pair.primary_link,
        &payload,
        "Data on the link the stranger tried to close",
    )
    .await
}

async fn offline_never(ctx: Ctx) -> CaseResult {
    let (mut companion, link, _) = ctx.companion(ctx.keypair().public().0).await?;
    companion.send(data(link, ctx.bytes(12))).await?;
    let error = expect_error(
        &ctx,
        &mut companion,
        Code::PRIMARY_OFFLINE,
        "[RLY-16] no primary holds the route",
    )
    .await?;
    ensure(
        error.link_id == link,
        format!("Error(primary_offline) naming link {link} [RLY-16]"),
        || format!("link_id {}", error.link_id),
    )
}

async fn offline_after(ctx: Ctx) -> CaseResult {
    let mut pair = ctx.pair().await?;
    pair.primary.close().await;
    wait_peer_state(&ctx, &mut pair.companion, pair.companion_link, false).await?;
    pair.companion
        .send(data(pair.companion_link, ctx.bytes(12)))
        .await?;
    let error = expect_error(
        &ctx,
        &mut pair.companion,
        Code::PRIMARY_OFFLINE,
        "[RLY-16] the primary left",
    )
    .await?;
    ensure(
        error.link_id == pair.companion_link,
        format!("Error(primary_offline) naming link {}", pair.companion_link),
        || format!("link_id {}", error.link_id),
    )
}

async fn peer_state(ctx: Ctx) -> CaseResult {
    let key = ctx.keypair();
    let mut primary = ctx.primary(&key).await?;
    let mut companions = Vec::new();
    for _ in 0..2 {
        let (companion, link, _) = ctx.companion(key.public().0).await?;
        ctx.link_opened(&mut primary).await?;
        companions.push((companion, link));
    }
    primary.close().await;
    for (companion, link) in &mut companions {
        wait_peer_state(&ctx, companion, *link, false).await?;
    }
    let _primary = ctx.primary(&key).await?;
    for (companion, link) in &mut companions {
        wait_peer_state(&ctx, companion, *link, true).await?;
    }
    Ok(())
}

async fn peer_state_abrupt(ctx: Ctx) -> CaseResult {
    let pair = ctx.pair().await?;
    let mut companion = pair.companion;
    pair.primary.drop_abruptly();
    wait_peer_state(&ctx, &mut companion, pair.companion_link, false).await
}

async fn companion_leaves(ctx: Ctx, abrupt: bool) -> CaseResult {
    let pair = ctx.pair().await?;
    let mut primary = pair.primary;
    if abrupt {
        pair.companion.drop_abruptly();
    } else {
        pair.companion.close().await;
    }
    let link = pair.primary_link;
    primary
        .expect(
            ctx.wait(),
            &format!("LinkClosed(link {link}, peer_gone) [RLY-18]"),
            |f| match f {
                EnvelopeFrame::LinkClosed(c) if c.link_id == link && c.code == Code::PEER_GONE => {
                    Some(())
                }
                _ => None,
            },
        )
        .await
}

async fn companion_closes_link(ctx: Ctx) -> CaseResult {
    let mut pair = ctx.pair().await?;
    pair.companion
        .send(LinkClosed {
            link_id: pair.companion_link,
            code: Code::NORMAL_CLOSURE,
        })
        .await?;
    let link = pair.primary_link;
    // §3.5 forwards "with the code given"; [RLY-18] names peer_gone for a
    // companion that closes its link. Either is accepted until the spec
    // settles it.
    let code = pair
        .primary
        .expect(
            ctx.wait(),
            &format!(
                "LinkClosed(link {link}) with the companion's code 1000, or peer_gone [RLY-18]"
            ),
            |f| match f {
                EnvelopeFrame::LinkClosed(c)
                    if c.link_id == link
                        && (c.code == Code::NORMAL_CLOSURE || c.code == Code::PEER_GONE) =>
                {
                    Some(c.code)
                }
                _ => None,
            },
        )
        .await?;
    ctx.note(format!("the primary got code {}", code.0));
    pair.companion
        .send(data(pair.companion_link, ctx.bytes(4)))
        .await?;
    expect_error(
        &ctx,
        &mut pair.companion,
        Code::UNKNOWN_LINK,
        "[RLY-15] the link id was released",
    )
    .await?;
    pair.primary
        .expect_nothing(ctx.quiet(), "nothing is forwarded on a closed link")
        .await
}

async fn primary_closes_link(ctx: Ctx) -> CaseResult {
    let mut pair = ctx.pair().await?;
    pair.primary
        .send(LinkClosed {
            link_id: pair.primary_link,
            code: Code::DEVICE_REVOKED,
        })
        .await?;
    let link = pair.companion_link;
    pair.companion
        .expect(
            ctx.wait(),
            &format!("LinkClosed(link {link}, 4102) with the primary's code (§3.5)"),
            |f| match f {
                EnvelopeFrame::LinkClosed(c)
                    if c.link_id == link && c.code == Code::DEVICE_REVOKED =>
                {
                    Some(())
                }
                _ => None,
            },
        )
        .await?;
    pair.primary
        .send(data(pair.primary_link, ctx.bytes(4)))
        .await?;
    expect_error(
        &ctx,
        &mut pair.primary,
        Code::UNKNOWN_LINK,
        "[RLY-15] the link id was released",
    )
    .await?;
    pair.companion
        .expect_nothing(
            Duration::from_millis(100).max(ctx.quiet()),
            "nothing is forwarded on a closed link",
        )
        .await
}
