//! Reconnecting to a primary under test (spec §5): it answers the IK
//! handshake on its route, refuses unknown and revoked companion keys only
//! after completing it ([RECON-05]), fails handshakes of another suite,
//! prologue or key ([RECON-01], [RECON-02]), and changes nothing for a
//! handshake alone ([RECON-06]).

use bytes::Bytes;
use tandem_codec::Code;
use tandem_codec::handshake::Hello;
use tandem_codec::session::{InnerFrame, Resume};
use tandem_proto::handshake::CompanionReconnect;
use tandem_proto::noise::{HandshakeOptions, RECONNECT_PROTOCOL, reconnect_prologue};
use tandem_proto::{PublicKey, StaticKeypair};

use super::steps::expect_close_then_link_closed;
use crate::case::{CaseResult, Failure, ensure};
use crate::endpoint::as_companion::Paired;
use crate::endpoint::cases::{EndpointCase, primary_case as c};
use crate::endpoint::ctx::Ctx;
use crate::endpoint::faults::*;
use crate::endpoint::link::{Incoming, Link};

/// The reconnect cases.
pub(super) fn cases() -> Vec<EndpointCase> {
    vec![
        c(
            "RECON-04",
            1,
            &["SYNC-04", "SYNC-07"],
            "answers a linked companion's reconnect and sends a snapshot to Resume(0, 0)",
            |ctx| async move {
                let (_, _, snapshot) = ctx.live_primary().await?;
                ensure(
                    snapshot.begin.is_some(),
                    "a snapshot to Resume(0, 0) [SYNC-04]",
                    || format!("{:?}", snapshot.frames),
                )
            },
        )
        .needs(&["pair", "reconnect", "sync"]),
        c("RECON-05", 1, &["SESS-05", "RECON-01"], "answers a reconnect from a companion key it never linked with message 2, then Close(unknown_device) and LinkClosed, and acts on nothing sent after it", |ctx| async move {
            let paired = ctx.pair_primary().await?;
            let stranger = ctx.relay().keypair();
            refused_key(&ctx, &paired.primary_key, &stranger, Code::UNKNOWN_DEVICE).await
        })
        .needs(&["pair", "reconnect"])
        .faults(&[UNKNOWN_COMPANION]),
        c("RECON-05", 2, &["SESS-05", "DEV-04"], "answers a reconnect from a revoked companion with message 2, then Close(device_revoked) and LinkClosed", |ctx| async move {
            let paired = ctx.pair_primary().await?;
            ctx.ok(&format!("revoke {}", paired.device_id)).await?;
            refused_key(&ctx, &paired.primary_key, &paired.identity, Code::DEVICE_REVOKED).await
        })
        .needs(&["pair", "reconnect", "devices"])
        .faults(&[REVOKED]),
        c("RECON-06", 1, &["DEV-01"], "changes no state for a reconnect handshake alone or a replayed message 1: last_seen_ms stays null until a transport frame decrypts", handshake_alone)
            .needs(&["pair", "reconnect", "devices"])
            .faults(&[REPLAYED_HANDSHAKE]),
        c("RECON-01", 1, &[], "closes the link with LinkClosed(handshake_failed) when message 1 is encrypted to another primary key, and the companion can still reconnect", |ctx| async move {
            failed_message1(ctx, Message1Fault::OtherKey).await
        })
        .needs(&["pair", "reconnect"])
        .faults(&[WRONG_PRIMARY_KEY]),
        c("RECON-01", 2, &[], "closes the link with LinkClosed(handshake_failed) when message 1 uses Noise_IK_25519_ChaChaPoly_SHA256, and the companion can still reconnect", |ctx| async move {
            failed_message1(ctx, Message1Fault::OtherSuite).await
        })
        .needs(&["pair", "reconnect"])
        .faults(&[WRONG_SUITE]),
        c("RECON-01", 3, &[], "closes the link with LinkClosed(handshake_failed) when message 1 was tampered with, and the companion can still reconnect", |ctx| async move {
            failed_message1(ctx, Message1Fault::Tampered).await
        })
        .needs(&["pair", "reconnect"])
        .faults(&[TAMPERED_HANDSHAKE]),
        c("RECON-02", 1, &[], "closes the link with LinkClosed(handshake_failed) when message 1 was made with the prologue `tandem/2 reconnect`, and the companion can still reconnect", |ctx| async move {
            failed_message1(ctx, Message1Fault::OtherPrologue).await
        })
        .needs(&["pair", "reconnect"])
        .faults(&[WRONG_PROLOGUE]),
        c("PAIR-05", 2, &["RECON-01", "RECON-02"], "answers a reconnect with a Hello of capabilities 0", |ctx| async move {
            let paired = ctx.pair_primary().await?;
            let (_, hello) = handshake(&ctx, &paired, Hello { capabilities: 0 }).await?;
            ensure(
                hello.capabilities == 0,
                "Hello.capabilities 0 in message 2: version 1 defines no bit [PAIR-05]",
                || format!("{:#010x}", hello.capabilities),
            )
        })
        .needs(&["pair", "reconnect"]),
        c("ENC-11", 2, &["RECON-04"], "ignores unknown capability bits in the companion's Hello and serves its Resume", |ctx| async move {
            let paired = ctx.pair_primary().await?;
            let (mut link, _) = handshake(&ctx, &paired, Hello { capabilities: 0xFFFF_FFFF }).await?;
            let snapshot = ctx.read_snapshot(&mut link).await?;
            ensure(snapshot.begin.is_some(), "a snapshot to Resume(0, 0)", || format!("{:?}", snapshot.frames))
        })
        .needs(&["pair", "reconnect", "sync"])
        .faults(&[UNKNOWN_CAPABILITIES]),
    ]
}

/// Attaches and runs the IK handshake with `hello`: the session and the
/// primary's `Hello`.
async fn handshake(ctx: &Ctx, paired: &Paired, hello: Hello) -> Result<(Link, Hello), Failure> {
    handshake_as(ctx, &paired.primary_key, &paired.identity, hello).await
}

async fn handshake_as(
    ctx: &Ctx,
    primary_key: &PublicKey,
    identity: &StaticKeypair,
    hello: Hello,
) -> Result<(Link, Hello), Failure> {
    let mut link = ctx.attach(primary_key).await?;
    let (state, message) =
        CompanionReconnect::start(identity, primary_key, hello, &HandshakeOptions::default())
            .map_err(|e| Failure::harness("reconnect message 1", e.to_string()))?;
    link.send_payload(message.into()).await?;
    let reply = expect_message2(ctx, &mut link).await?;
    let (session, hello) = state.finish(&reply).map_err(|e| {
        Failure::fail(
            "a message 2 of Noise_IK from the primary's key [RECON-01] [RECON-02]",
            e.to_string(),
        )
    })?;
    link.session = Some(session);
    Ok((link, hello))
}

async fn expect_message2(ctx: &Ctx, link: &mut Link) -> Result<Bytes, Failure> {
    link.expect(
        ctx.wait(),
        "reconnect handshake message 2 [RECON-05]",
        |i| match i {
            Incoming::Handshake(b) => Some(b.clone()),
            _ => None,
        },
    )
    .await
}

async fn refused_key(
    ctx: &Ctx,
    primary_key: &PublicKey,
    identity: &StaticKeypair,
    code: Code,
) -> CaseResult {
    let (mut link, _) = handshake_as(ctx, primary_key, identity, Hello { capabilities: 0 }).await?;
    // The runner's companion goes on as if linked: nothing of it may be
    // applied ([RECON-05]).
    link.send(&InnerFrame::Resume(Resume { log_id: 0, seq: 0 }))
        .await?;
    expect_close_then_link_closed(
        ctx,
        &mut link,
        code,
        "a companion key that is not linked [RECON-05]",
    )
    .await
}

async fn handshake_alone(ctx: Ctx) -> CaseResult {
    let paired = ctx.pair_primary().await?;
    let mut link = ctx.attach(&paired.primary_key).await?;
    let (state, message) = CompanionReconnect::start(
        &paired.identity,
        &paired.primary_key,
        Hello { capabilities: 0 },
        &HandshakeOptions::default(),
    )
    .map_err(|e| Failure::harness("reconnect message 1", e.to_string()))?;
    link.send_payload(message.clone().into()).await?;
    let reply = expect_message2(&ctx, &mut link).await?;
    state
        .finish(&reply)
        .map_err(|e| Failure::fail("a message 2 of Noise_IK [RECON-01]", e.to_string()))?;
    expect_never_seen(&ctx, &paired, "after a handshake without a transport frame").await?;
    link.close_link(Code::NORMAL_CLOSURE).await?;
    ctx.note("the relay replays the companion's message 1 on a new attachment");
    let mut replay = ctx.attach(&paired.primary_key).await?;
    replay.send_payload(message.into()).await?;
    let _ = expect_message2(&ctx, &mut replay).await?;
    expect_never_seen(
        &ctx,
        &paired,
        "after that handshake-only session ended and a replayed message 1 was answered",
    )
    .await?;
    replay.close_link(Code::NORMAL_CLOSURE).await?;
    ctx.reconnect(&paired).await.map(|_| ())
}

/// Checks that the companion's `last_seen_ms` is still null ([RECON-06]).
async fn expect_never_seen(ctx: &Ctx, paired: &Paired, when: &str) -> CaseResult {
    let devices = ctx.ok_json("devices").await?;
    let entry = devices
        .as_array()
        .and_then(|list| {
            list.iter().find(|d| {
                d.get("device_id").and_then(|v| v.as_str()) == Some(paired.device_id.as_str())
            })
        })
        .cloned()
        .ok_or_else(|| {
            Failure::fail(
                format!("`devices` listing {}", paired.device_id),
                devices.to_string(),
            )
        })?;
    let last_seen = entry.get("last_seen_ms").cloned().unwrap_or_default();
    ensure(
        last_seen.is_null(),
        format!("`last_seen_ms: null` {when}: a handshake alone changes no state [RECON-06]"),
        || entry.to_string(),
    )
}

/// How the runner's companion spoils reconnect message 1.
#[derive(Clone, Copy)]
enum Message1Fault {
    OtherKey,
    OtherSuite,
    OtherPrologue,
    Tampered,
}

async fn failed_message1(ctx: Ctx, fault: Message1Fault) -> CaseResult {
    let paired = ctx.pair_primary().await?;
    let mut link = ctx.attach(&paired.primary_key).await?;
    let message = spoiled_message1(&ctx, &paired, fault)?;
    link.send_payload(message.into()).await?;
    link.expect_skipping(
        ctx.wait(),
        "LinkClosed(4100 handshake_failed) for a message 1 that does not decrypt (§5.3)",
        |i| matches!(i, Incoming::PeerState(_)),
        |i| matches!(i, Incoming::LinkClosed(c) if *c == Code::HANDSHAKE_FAILED.0).then_some(()),
    )
    .await?;
    ctx.reconnect(&paired).await.map(|_| ())
}

fn spoiled_message1(ctx: &Ctx, paired: &Paired, fault: Message1Fault) -> Result<Vec<u8>, Failure> {
    let key = paired.primary_key.0;
    let hello = Hello { capabilities: 0 }.to_vec();
    match fault {
        Message1Fault::OtherKey => {
            let other = ctx.relay().keypair().public().0;
            raw_message1(
                RECONNECT_PROTOCOL,
                &reconnect_prologue(&other),
                &paired.identity,
                &other,
                &hello,
            )
        }
        Message1Fault::OtherSuite => raw_message1(
            "Noise_IK_25519_ChaChaPoly_SHA256",
            &reconnect_prologue(&key),
            &paired.identity,
            &key,
            &hello,
        ),
        Message1Fault::OtherPrologue => {
            let mut prologue = b"tandem/2 reconnect".to_vec();
            prologue.extend_from_slice(&key);
            raw_message1(
                RECONNECT_PROTOCOL,
                &prologue,
                &paired.identity,
                &key,
                &hello,
            )
        }
        Message1Fault::Tampered => {
            let mut message = raw_message1(
                RECONNECT_PROTOCOL,
                &reconnect_prologue(&key),
                &paired.identity,
                &key,
                &hello,
            )?;
            if let Some(last) = message.last_mut() {
                *last ^= 0x01;
            }
            Ok(message)
        }
    }
}

/// Message 1 of an IK-like `suite` made by hand.
fn raw_message1(
    suite: &str,
    prologue: &[u8],
    identity: &StaticKeypair,
    remote: &[u8; 32],
    payload: &[u8],
) -> Result<Vec<u8>, Failure> {
    let harness =
        |e: snow::Error| Failure::harness("a hand-made reconnect message 1", e.to_string());
    let params: snow::params::NoiseParams = suite.parse().map_err(harness)?;
    let mut state = snow::Builder::new(params)
        .prologue(prologue)
        .and_then(|b| b.local_private_key(identity.private()))
        .and_then(|b| b.remote_public_key(remote))
        .and_then(|b| b.build_initiator())
        .map_err(harness)?;
    let mut buffer = vec![0u8; 65_535];
    let len = state.write_message(payload, &mut buffer).map_err(harness)?;
    buffer.truncate(len);
    Ok(buffer)
}
