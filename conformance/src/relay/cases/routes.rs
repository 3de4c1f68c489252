//! Route cases (spec §3.4): fresh challenge keys ([RLY-07]), the route
//! proof right and wrong, from another key, for a low-order key and
//! replayed ([RLY-08]), a failed proof leaving the holder alone, a route
//! replaced by a newer connection ([RLY-09]) and the role rules
//! ([RLY-10]).

use std::collections::HashSet;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use tandem_codec::Code;
use tandem_codec::envelope::{AttachRoute, EnvelopeFrame, RegisterRoute, RouteProof};
use tandem_proto::route_proof::{ROUTE_PROOF_LABEL, prove};

use super::{RelayCase, case, data, expect_data};
use crate::case::{CaseResult, Failure, ensure};
use crate::relay::ctx::Ctx;
use crate::relay::faults::*;
use crate::relay::peer::Peer;

/// X25519 points of small order (and their non-canonical encodings): the
/// shared secret with any private key is all zeros.
const LOW_ORDER: [&str; 7] = [
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
    "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
];

pub(super) fn cases() -> Vec<RelayCase> {
    vec![
        case(
            "RLY-07",
            1,
            &["SEC-08"],
            "eight RegisterRoute attempts for one key get eight different RouteChallenge keys",
            &[],
            fresh_challenges,
        ),
        case(
            "RLY-08",
            1,
            &[],
            "a RouteProof computed as §3.4 says registers the route",
            &[],
            |ctx| async move {
                let key = ctx.keypair();
                ctx.primary(&key).await.map(|_| ())
            },
        ),
        case(
            "RLY-08",
            2,
            &["TRN-06"],
            "a random RouteProof MAC closes the connection with route_proof_failed",
            &[WRONG_ROUTE_PROOF],
            |ctx| bad_proof(ctx, Bad::Random),
        ),
        case(
            "RLY-08",
            3,
            &["TRN-06"],
            "a RouteProof made with another key closes the connection with route_proof_failed",
            &[FOREIGN_KEY_PROOF],
            |ctx| bad_proof(ctx, Bad::OtherKey),
        ),
        case(
            "RLY-08",
            4,
            &["TRN-06", "SEC-09"],
            "a low-order primary key with a MAC keyed by the all-zero secret closes with route_proof_failed",
            &[LOW_ORDER_KEY],
            low_order,
        ),
        case(
            "RLY-08",
            5,
            &["RLY-07"],
            "the proof of an earlier challenge, replayed, closes with route_proof_failed",
            &[REPLAYED_ROUTE_PROOF],
            replayed,
        ),
        case(
            "RLY-08",
            6,
            &["RLY-14"],
            "a failed proof for a held route leaves its primary and companions undisturbed",
            &[WRONG_ROUTE_PROOF],
            failed_takeover,
        ),
        case(
            "RLY-09",
            1,
            &["RLY-13"],
            "a second registration of a route closes the old connection with route_replaced and moves the links",
            &[],
            replaced,
        ),
        case(
            "RLY-10",
            1,
            &["RLY-21"],
            "a primary that sends OpenChannel is closed with unexpected_frame",
            &[ROLE_MIX],
            |ctx| primary_mixes(ctx, Mix::OpenChannel),
        ),
        case(
            "RLY-10",
            2,
            &["RLY-21"],
            "a primary that sends AttachRoute is closed with unexpected_frame",
            &[ROLE_MIX],
            |ctx| primary_mixes(ctx, Mix::Attach),
        ),
        case(
            "RLY-10",
            3,
            &["RLY-21"],
            "a primary that sends RegisterRoute again is closed with unexpected_frame",
            &[ROLE_MIX],
            |ctx| primary_mixes(ctx, Mix::Register),
        ),
        case(
            "RLY-10",
            4,
            &["RLY-21"],
            "an attached companion that sends RegisterRoute is closed with unexpected_frame",
            &[ROLE_MIX],
            |ctx| companion_registers(ctx, false),
        ),
        case(
            "RLY-10",
            5,
            &["RLY-21"],
            "a companion with a pairing channel that sends RegisterRoute is closed with unexpected_frame",
            &[ROLE_MIX],
            |ctx| companion_registers(ctx, true),
        ),
    ]
}

async fn challenge(ctx: &Ctx, peer: &mut Peer, primary_key: [u8; 32]) -> Result<[u8; 32], Failure> {
    peer.send(RegisterRoute { primary_key }).await?;
    peer.expect(ctx.wait(), "RouteChallenge [RLY-07]", |f| match f {
        EnvelopeFrame::RouteChallenge(c) => Some(c.relay_ephemeral),
        _ => None,
    })
    .await
}

async fn fresh_challenges(ctx: Ctx) -> CaseResult {
    let key = ctx.keypair();
    let mut seen = HashSet::new();
    for _ in 0..8 {
        let mut peer = ctx.connect("primary").await?;
        let ephemeral = challenge(&ctx, &mut peer, key.public().0).await?;
        ensure(
            ephemeral != [0; 32],
            "a relay_ephemeral that is a real public key",
            || "all zeros".into(),
        )?;
        ensure(
            seen.insert(ephemeral),
            "a relay_ephemeral never used before [RLY-07]",
            || format!("{} again", hex::encode(ephemeral)),
        )?;
        peer.close().await;
    }
    Ok(())
}

enum Bad {
    Random,
    OtherKey,
}

async fn bad_proof(ctx: Ctx, bad: Bad) -> CaseResult {
    let key = ctx.keypair();
    let mut peer = ctx.connect("primary").await?;
    let ephemeral = challenge(&ctx, &mut peer, key.public().0).await?;
    let mac = match bad {
        Bad::Random => ctx.array(),
        Bad::OtherKey => prove(&ctx.keypair(), &ephemeral).unwrap_or_default(),
    };
    peer.send(RouteProof { mac }).await?;
    peer.expect_close(
        ctx.wait(),
        Code::ROUTE_PROOF_FAILED,
        "[RLY-08] the MACs differ",
    )
    .await
}

/// The MAC a primary would send if it took the all-zero shared secret of
/// a low-order key at face value.
fn zero_secret_mac(primary_key: &[u8; 32], ephemeral: &[u8; 32]) -> [u8; 32] {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&[0u8; 32]) else {
        return [0; 32];
    };
    mac.update(ROUTE_PROOF_LABEL);
    mac.update(primary_key);
    mac.update(ephemeral);
    mac.finalize().into_bytes().into()
}

async fn low_order(ctx: Ctx) -> CaseResult {
    for point in LOW_ORDER {
        let mut key = [0u8; 32];
        hex::decode_to_slice(point, &mut key)
            .map_err(|e| Failure::harness("a low-order point", e.to_string()))?;
        let mut peer = ctx.connect("primary").await?;
        let ephemeral = challenge(&ctx, &mut peer, key).await?;
        peer.send(RouteProof {
            mac: zero_secret_mac(&key, &ephemeral),
        })
        .await?;
        peer.expect_close(
            ctx.wait(),
            Code::ROUTE_PROOF_FAILED,
            &format!("[RLY-08] the shared secret with {point} is all zeros"),
        )
        .await?;
    }
    Ok(())
}

async fn replayed(ctx: Ctx) -> CaseResult {
    let key = ctx.keypair();
    let mut first = ctx.connect("primary").await?;
    let old = challenge(&ctx, &mut first, key.public().0).await?;
    let old_proof = prove(&key, &old).unwrap_or_default();
    first.close().await;
    let mut second = ctx.connect("primary").await?;
    let new = challenge(&ctx, &mut second, key.public().0).await?;
    ensure(
        new != old,
        "a new relay_ephemeral for the new attempt [RLY-07]",
        || "the same key again".into(),
    )?;
    second.send(RouteProof { mac: old_proof }).await?;
    second
        .expect_close(
            ctx.wait(),
            Code::ROUTE_PROOF_FAILED,
            "[RLY-08] the proof answers another challenge",
        )
        .await
}

async fn failed_takeover(ctx: Ctx) -> CaseResult {
    let mut pair = ctx.pair().await?;
    let mut thief = ctx.connect("hostile").await?;
    challenge(&ctx, &mut thief, pair.key.public().0).await?;
    thief.send(RouteProof { mac: ctx.array() }).await?;
    thief
        .expect_close(
            ctx.wait(),
            Code::ROUTE_PROOF_FAILED,
            "[RLY-08] a wrong proof",
        )
        .await?;
    pair.companion
        .expect_nothing(ctx.quiet(), "the route's holder did not change")
        .await?;
    pair.primary.ping(ctx.wait(), 11).await?;
    let payload = ctx.bytes(100);
    pair.companion
        .send(data(pair.companion_link, payload.clone()))
        .await?;
    expect_data(
        &ctx,
        &mut pair.primary,
        pair.primary_link,
        &payload,
        "Data from the companion",
    )
    .await
}

async fn replaced(ctx: Ctx) -> CaseResult {
    let mut pair = ctx.pair().await?;
    let mut newer = ctx.connect("primary").await?;
    ctx.register(&mut newer, &pair.key).await?;
    pair.primary
        .expect_close(
            ctx.wait(),
            Code::ROUTE_REPLACED,
            "[RLY-09] a newer connection registered the route",
        )
        .await?;
    let link = ctx.link_opened(&mut newer).await?;
    let payload = ctx.bytes(77);
    pair.companion
        .send(data(pair.companion_link, payload.clone()))
        .await?;
    // The companion may see the primary go offline and come back.
    newer
        .expect(
            ctx.wait(),
            "the companion's Data on the new primary's link [RLY-09]",
            |f| match f {
                EnvelopeFrame::Data(d) if d.link_id == link && d.payload[..] == payload[..] => {
                    Some(())
                }
                _ => None,
            },
        )
        .await
}

enum Mix {
    OpenChannel,
    Attach,
    Register,
}

async fn primary_mixes(ctx: Ctx, mix: Mix) -> CaseResult {
    let key = ctx.keypair();
    let mut primary = ctx.primary(&key).await?;
    match mix {
        Mix::OpenChannel => primary.send(EnvelopeFrame::OpenChannel).await?,
        Mix::Attach => {
            primary
                .send(AttachRoute {
                    primary_key: ctx.keypair().public().0,
                })
                .await?
        }
        Mix::Register => {
            primary
                .send(RegisterRoute {
                    primary_key: key.public().0,
                })
                .await?
        }
    }
    primary
        .expect_close(
            ctx.wait(),
            Code::UNEXPECTED_FRAME,
            "[RLY-10] a connection holding a route may not take another role",
        )
        .await
}

async fn companion_registers(ctx: Ctx, channel: bool) -> CaseResult {
    let mut companion = if channel {
        let mut peer = ctx.connect("companion").await?;
        ctx.open_channel(&mut peer).await?;
        peer
    } else {
        ctx.companion(ctx.keypair().public().0).await?.0
    };
    companion
        .send(RegisterRoute {
            primary_key: ctx.keypair().public().0,
        })
        .await?;
    companion
        .expect_close(
            ctx.wait(),
            Code::UNEXPECTED_FRAME,
            "[RLY-10] a companion may not register a route",
        )
        .await
}
