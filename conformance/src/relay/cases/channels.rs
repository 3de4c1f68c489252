//! Pairing channel cases (spec §3.3): fresh random channel ids ([RLY-01]),
//! one primary per channel ([RLY-02]), unknown, expired and closed channels
//! ([RLY-03]), expiry of unjoined and joined channels ([RLY-04], [RLY-05])
//! and the channel limits ([RLY-06]).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use tandem_codec::Code;
use tandem_codec::envelope::{EnvelopeFrame, JoinChannel, LinkClosed};

use super::{RelayCase, case, check_timing, data, expect_data, expect_error};
use crate::case::{CaseResult, ensure};
use crate::relay::ctx::Ctx;
use crate::relay::faults::*;
use crate::relay::peer::{Connect, Peer};

/// Channels opened for [RLY-01].
const SAMPLE: usize = 32;

pub(super) fn cases() -> Vec<RelayCase> {
    vec![
        case("RLY-01", 1, &["SEC-08"], "32 channels get 32 distinct random channel ids and non-zero link ids", &[], fresh_ids),
        case("RLY-02", 1, &[], "a second JoinChannel for a joined channel gets Error(channel_taken); the first primary keeps the channel", &[SECOND_JOIN], second_join),
        case("RLY-03", 1, &[], "JoinChannel for a channel id that was never opened gets Error(unknown_channel)", &[UNKNOWN_CHANNEL_JOIN], unknown_channel),
        case("RLY-03", 2, &["RLY-04"], "JoinChannel for an expired channel gets Error(unknown_channel)", &[UNKNOWN_CHANNEL_JOIN], expired_channel)
            .limit(|p| p.channel_ttl * 2),
        case("RLY-03", 3, &[], "JoinChannel for a channel its companion closed gets Error(unknown_channel)", &[UNKNOWN_CHANNEL_JOIN], |ctx| {
            gone_channel(ctx, false)
        }),
        case("RLY-03", 4, &[], "JoinChannel for a channel whose companion disconnected gets Error(unknown_channel)", &[UNKNOWN_CHANNEL_JOIN], |ctx| {
            gone_channel(ctx, true)
        }),
        case("RLY-04", 1, &["RLY-25"], "an unjoined channel ends with LinkClosed(channel_expired) after ttl_ms = CHANNEL_TTL", &[], unjoined_expiry)
            .limit(|p| p.channel_ttl * 2),
        case("RLY-05", 1, &["RLY-25"], "a joined channel ends with LinkClosed(channel_expired) PAIRING_CHANNEL_MAX after it opened", &[], joined_expiry)
            .limit(|p| p.pairing_channel_max * 2),
        case("RLY-06", 1, &["RLY-25"], "OpenChannel beyond MAX_CHANNELS_PER_CONNECTION gets Error(too_many_channels); the connection stays open", &[CHANNEL_FLOOD], per_connection),
        case("RLY-06", 2, &["RLY-25"], "OpenChannel beyond MAX_CHANNELS_PER_ADDRESS from one address gets Error(too_many_channels); another address still opens one", &[CHANNEL_FLOOD], per_address),
    ]
}

async fn fresh_ids(ctx: Ctx) -> CaseResult {
    let mut peer = ctx.connect("companion").await?;
    let mut ids = HashSet::new();
    let mut links = HashSet::new();
    let mut ones = 0u32;
    for _ in 0..SAMPLE {
        let (channel, link, _) = ctx.open_channel(&mut peer).await?;
        ensure(link != 0, "a non-zero link id", || "link id 0".into())?;
        ensure(
            ids.insert(channel),
            "a channel id never given before",
            || format!("{} again", hex::encode(channel)),
        )?;
        links.insert(link);
        ones += channel.iter().map(|b| b.count_ones()).sum::<u32>();
        peer.send(LinkClosed {
            link_id: link,
            code: Code::NORMAL_CLOSURE,
        })
        .await?;
    }
    // 4,096 random bits have about 2,048 ones; 1,800..2,300 is far outside
    // what a random generator misses (more than 7 standard deviations).
    let bits = u32::try_from(SAMPLE * 128).unwrap_or(u32::MAX);
    ensure(
        (1_800..=2_300).contains(&ones),
        "channel ids whose bits look random (about half ones)",
        || format!("{ones} ones in {bits} bits"),
    )?;
    peer.ping(ctx.wait(), 1).await
}

async fn second_join(ctx: Ctx) -> CaseResult {
    let mut companion = ctx.connect("companion").await?;
    let (channel_id, c_link, _) = ctx.open_channel(&mut companion).await?;
    let mut first = ctx.connect("primary").await?;
    first.send(JoinChannel { channel_id }).await?;
    let p_link = first
        .expect(ctx.wait(), "ChannelJoined for the channel", |f| match f {
            EnvelopeFrame::ChannelJoined(j) if j.channel_id == channel_id && j.link_id != 0 => {
                Some(j.link_id)
            }
            _ => None,
        })
        .await?;
    companion
        .expect(
            ctx.wait(),
            "PeerState(online = true) once a primary joined",
            |f| match f {
                EnvelopeFrame::PeerState(p) if p.link_id == c_link && p.online => Some(()),
                _ => None,
            },
        )
        .await?;
    let mut second = ctx.connect("primary").await?;
    second.send(JoinChannel { channel_id }).await?;
    expect_error(
        &ctx,
        &mut second,
        Code::CHANNEL_TAKEN,
        "[RLY-02] the channel is joined",
    )
    .await?;
    second.ping(ctx.wait(), 2).await?;
    let payload = ctx.bytes(64);
    first.send(data(p_link, payload.clone())).await?;
    expect_data(
        &ctx,
        &mut companion,
        c_link,
        &payload,
        "Data from the first primary",
    )
    .await?;
    second
        .expect_nothing(ctx.quiet(), "the second primary has no link")
        .await
}

async fn unknown_channel(ctx: Ctx) -> CaseResult {
    let mut primary = ctx.connect("primary").await?;
    primary
        .send(JoinChannel {
            channel_id: ctx.array(),
        })
        .await?;
    expect_error(
        &ctx,
        &mut primary,
        Code::UNKNOWN_CHANNEL,
        "[RLY-03] no such channel",
    )
    .await?;
    primary.ping(ctx.wait(), 3).await
}

async fn expired_channel(ctx: Ctx) -> CaseResult {
    let mut companion = ctx.connect("companion").await?;
    let (channel_id, link, ttl) = ctx.open_channel(&mut companion).await?;
    let within =
        Duration::from_millis(u64::from(ttl)) + ctx.slack(ctx.params().channel_ttl) + ctx.wait();
    companion
        .expect(
            within,
            "LinkClosed(channel_expired) [RLY-04]",
            |f| match f {
                EnvelopeFrame::LinkClosed(c)
                    if c.link_id == link && c.code == Code::CHANNEL_EXPIRED =>
                {
                    Some(())
                }
                _ => None,
            },
        )
        .await?;
    let mut primary = ctx.connect("primary").await?;
    primary.send(JoinChannel { channel_id }).await?;
    expect_error(
        &ctx,
        &mut primary,
        Code::UNKNOWN_CHANNEL,
        "[RLY-03] the channel expired",
    )
    .await
    .map(|_| ())
}

async fn gone_channel(ctx: Ctx, disconnect: bool) -> CaseResult {
    let mut companion = ctx.connect("companion").await?;
    let (channel_id, link, _) = ctx.open_channel(&mut companion).await?;
    if disconnect {
        companion.close().await;
    } else {
        companion
            .send(LinkClosed {
                link_id: link,
                code: Code::NORMAL_CLOSURE,
            })
            .await?;
        // A Ping answered means the LinkClosed before it was processed.
        companion.ping(ctx.wait(), 4).await?;
    }
    let mut primary = ctx.connect("primary").await?;
    primary.send(JoinChannel { channel_id }).await?;
    let what = "Error(unknown_channel): the channel ended with its companion [RLY-03]";
    let joined = primary
        .expect(ctx.wait(), what, |f| match f {
            EnvelopeFrame::Error(e) if e.code == Code::UNKNOWN_CHANNEL => Some(None),
            EnvelopeFrame::ChannelJoined(j) if disconnect => Some(Some(j.link_id)),
            _ => None,
        })
        .await?;
    if let Some(p_link) = joined {
        // The relay had not yet seen the companion go: it must now tell
        // the primary ([RLY-18]), and then the channel is gone.
        ctx.note("the join came before the relay saw the companion's close; waiting for LinkClosed(peer_gone)");
        primary
            .expect(
                ctx.wait(),
                "LinkClosed(peer_gone) for the channel whose companion left [RLY-18]",
                |f| match f {
                    EnvelopeFrame::LinkClosed(c)
                        if c.link_id == p_link && c.code == Code::PEER_GONE =>
                    {
                        Some(())
                    }
                    _ => None,
                },
            )
            .await?;
        primary.send(JoinChannel { channel_id }).await?;
        expect_error(
            &ctx,
            &mut primary,
            Code::UNKNOWN_CHANNEL,
            "[RLY-03] the channel ended",
        )
        .await?;
    }
    Ok(())
}

async fn unjoined_expiry(ctx: Ctx) -> CaseResult {
    let mut companion = ctx.connect("companion").await?;
    let sent = Instant::now();
    let (_, link, ttl_ms) = ctx.open_channel(&mut companion).await?;
    let declared = ctx.params().channel_ttl;
    ensure(
        u128::from(ttl_ms) == declared.as_millis(),
        format!(
            "ChannelOpened with ttl_ms = CHANNEL_TTL = {}",
            declared.as_millis()
        ),
        || format!("ttl_ms = {ttl_ms}"),
    )?;
    let within = declared + ctx.slack(declared) + ctx.wait();
    companion
        .expect(
            within,
            "LinkClosed(channel_expired) when the channel's ttl_ms runs out [RLY-04]",
            |f| match f {
                EnvelopeFrame::LinkClosed(c)
                    if c.link_id == link && c.code == Code::CHANNEL_EXPIRED =>
                {
                    Some(())
                }
                _ => None,
            },
        )
        .await?;
    check_timing(
        &ctx,
        "LinkClosed(channel_expired)",
        sent,
        Instant::now(),
        declared,
    )?;
    companion.ping(ctx.wait(), 5).await
}

async fn joined_expiry(ctx: Ctx) -> CaseResult {
    let mut companion = ctx.connect("companion").await?;
    let sent = Instant::now();
    let (channel_id, link, _) = ctx.open_channel(&mut companion).await?;
    let mut primary = ctx.connect("primary").await?;
    primary.send(JoinChannel { channel_id }).await?;
    primary
        .expect(ctx.wait(), "ChannelJoined", |f| {
            matches!(f, EnvelopeFrame::ChannelJoined(_)).then_some(())
        })
        .await?;
    let max = ctx.params().pairing_channel_max;
    let within = max + ctx.slack(max) + ctx.wait();
    companion
        .expect_skipping(
            within,
            "LinkClosed(channel_expired) PAIRING_CHANNEL_MAX after the channel opened [RLY-05]",
            |f| matches!(f, EnvelopeFrame::PeerState(p) if p.online),
            |f| match f {
                EnvelopeFrame::LinkClosed(c)
                    if c.link_id == link && c.code == Code::CHANNEL_EXPIRED =>
                {
                    Some(())
                }
                _ => None,
            },
        )
        .await?;
    check_timing(
        &ctx,
        "LinkClosed(channel_expired) of the joined channel",
        sent,
        Instant::now(),
        max,
    )
}

async fn per_connection(ctx: Ctx) -> CaseResult {
    let mut peer = ctx.connect("companion").await?;
    for _ in 0..ctx.params().max_channels_per_connection {
        ctx.open_channel(&mut peer).await?;
    }
    peer.send(EnvelopeFrame::OpenChannel).await?;
    expect_error(
        &ctx,
        &mut peer,
        Code::TOO_MANY_CHANNELS,
        "[RLY-06] MAX_CHANNELS_PER_CONNECTION",
    )
    .await?;
    peer.ping(ctx.wait(), 6).await
}

async fn per_address(ctx: Ctx) -> CaseResult {
    let per_connection = ctx.params().max_channels_per_connection;
    let per_address = ctx.params().max_channels_per_address;
    let from = |host| Connect {
        source: Some(host),
        ..Connect::default()
    };
    let mut peers: Vec<Peer> = Vec::new();
    let mut opened = 0;
    while opened < per_address {
        let mut peer = ctx.connect_with("companion", from(1)).await?;
        for _ in 0..per_connection.min(per_address - opened) {
            ctx.open_channel(&mut peer).await?;
            opened += 1;
        }
        peers.push(peer);
    }
    let mut extra = ctx.connect_with("companion", from(1)).await?;
    extra.send(EnvelopeFrame::OpenChannel).await?;
    expect_error(
        &ctx,
        &mut extra,
        Code::TOO_MANY_CHANNELS,
        "[RLY-06] MAX_CHANNELS_PER_ADDRESS",
    )
    .await?;
    extra.ping(ctx.wait(), 7).await?;
    // The limit is per address: 127.0.0.2 may still open one.
    let mut other = ctx.connect_with("companion", from(2)).await?;
    ctx.open_channel(&mut other).await.map(|_| ())
}
