//! What §11 asks of a primary that shows on the wire and in its adapter:
//! fresh random ephemeral keys in every handshake ([SEC-08]), the device
//! name beside the check code and declining as easy as confirming
//! ([SEC-04]), and a notice whenever a companion is linked ([SEC-05]).

use tandem_codec::handshake::Hello;
use tandem_proto::handshake::CompanionReconnect;
use tandem_proto::noise::HandshakeOptions;

use super::steps::{respond, scan_for_message1};
use crate::case::{CaseResult, Failure, ensure};
use crate::endpoint::cases::{EndpointCase, primary_case as c};
use crate::endpoint::ctx::Ctx;
use crate::endpoint::link::Incoming;

/// Bytes of a Noise ephemeral public key at the start of each message.
const EPHEMERAL: usize = 32;

/// The security cases.
pub(super) fn cases() -> Vec<EndpointCase> {
    vec![
        c("SEC-08", 1, &["PAIR-01"], "starts two pairing handshakes with two different, random-looking ephemeral keys", pairing_ephemerals)
            .needs(&["pair"]),
        c("SEC-08", 2, &["RECON-01"], "answers two reconnects with two different, random-looking ephemeral keys", reconnect_ephemerals)
            .needs(&["pair", "reconnect"]),
        c("SEC-04", 1, &["PAIR-04"], "shows the companion's device name beside the check code, and takes decline as it takes confirm", |ctx| async move {
            let mut offer = ctx.offer_qr().await?;
            ctx.scan(&offer.text).await?;
            let paired = ctx.answer_pairing(&mut offer).await?;
            ctx.expect_check_code(&paired).await?;
            ctx.ok("decline").await.map(|_| ())
        })
        .needs(&["pair"]),
        c("SEC-05", 1, &["CONF-09"], "tells the person when a companion is linked: a linked event with its device name", |ctx| async move {
            ctx.pair_primary().await.map(|_| ())
        })
        .needs(&["pair"]),
    ]
}

/// The leading ephemeral key of a handshake message.
fn ephemeral(message: &[u8]) -> Result<[u8; EPHEMERAL], Failure> {
    message
        .get(..EPHEMERAL)
        .and_then(|e| <[u8; EPHEMERAL]>::try_from(e).ok())
        .ok_or_else(|| {
            Failure::fail(
                "a handshake message of at least 32 bytes",
                format!("{} bytes", message.len()),
            )
        })
}

/// Fails unless `a` and `b` differ and each has between 64 and 192 ones
/// of its 256 bits (far outside that is not drawn at random).
fn distinct_random(a: &[u8; EPHEMERAL], b: &[u8; EPHEMERAL], which: &str) -> CaseResult {
    ensure(
        a != b,
        format!("two different ephemeral keys in two {which} [SEC-08]"),
        || hex::encode(a),
    )?;
    for key in [a, b] {
        let ones: u32 = key.iter().map(|x| x.count_ones()).sum();
        ensure(
            (64..=192).contains(&ones),
            format!("an ephemeral key whose bits look random in the {which} [SEC-08]"),
            || format!("{} ({ones} ones of 256)", hex::encode(key)),
        )?;
    }
    Ok(())
}

async fn pairing_ephemerals(ctx: Ctx) -> CaseResult {
    let mut first = ctx.offer_qr().await?;
    let message = scan_for_message1(&ctx, &mut first).await?;
    let one = ephemeral(&message)?;
    let (paired, reply) = respond(&first, &message, &first.qr.pairing_secret, 0)?;
    first.link.send_payload(reply.into()).await?;
    ctx.expect_check_code(&paired).await?;
    ctx.ok("decline").await?;
    ctx.event("pairing_failed", "`pairing_failed` after decline", |_| {
        Some(())
    })
    .await?;
    let mut second = ctx.offer_qr().await?;
    let two = ephemeral(&scan_for_message1(&ctx, &mut second).await?)?;
    distinct_random(&one, &two, "pairing handshakes")
}

async fn reconnect_ephemerals(ctx: Ctx) -> CaseResult {
    let paired = ctx.pair_primary().await?;
    let mut keys = Vec::new();
    for _ in 0..2 {
        let mut link = ctx.attach(&paired.primary_key).await?;
        let (_, message) = CompanionReconnect::start(
            &paired.identity,
            &paired.primary_key,
            Hello { capabilities: 0 },
            &HandshakeOptions::default(),
        )
        .map_err(|e| Failure::harness("reconnect message 1", e.to_string()))?;
        link.send_payload(message.into()).await?;
        let reply = link
            .expect(ctx.wait(), "reconnect handshake message 2", |i| match i {
                Incoming::Handshake(b) => Some(b.clone()),
                _ => None,
            })
            .await?;
        keys.push(ephemeral(&reply)?);
        link.close_link(tandem_codec::Code::NORMAL_CLOSURE).await?;
    }
    distinct_random(&keys[0], &keys[1], "reconnect answers")
}
