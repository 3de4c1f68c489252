//! Pairing with a primary under test (spec §4): it scans the runner's QR
//! code, starts the handshake, shows the check code, and stores the link
//! only after the person confirms; malformed codes are refused locally
//! (§4.1) and every failure of §4.6 ends the attempt with its code.

use std::time::Duration;

use tandem_codec::Code;
use tandem_codec::qr::QrPayload;
use tandem_codec::session::InnerFrame;
use tandem_codec::testing;

use super::steps::{
    expect_close_then_link_closed, expect_failed_pairing, expect_no_join, expect_nothing_stored,
    expect_pairing_failed_event, expect_refused, qr_payload, qr_text, raw_message2, refusal,
    respond, scan_any, scan_for_message1,
};
use crate::case::{CaseResult, Failure, ensure};
use crate::endpoint::adapter::Reply;
use crate::endpoint::as_companion::Offer;
use crate::endpoint::cases::checks::status;
use crate::endpoint::cases::{EndpointCase, primary_case as c};
use crate::endpoint::ctx::Ctx;
use crate::endpoint::faults::*;
use crate::endpoint::link::Incoming;

/// `MAX_COMPANIONS` (§4.5, §10.4).
const MAX_COMPANIONS: usize = 4;

/// The pairing cases.
pub(super) fn cases() -> Vec<EndpointCase> {
    vec![
        c(
            "PAIR-07",
            1,
            &["PAIR-01", "PAIR-02", "PAIR-03", "PAIR-04", "PAIR-06"],
            "scans the code, shows the check code and the device name, stores the link on confirm and then sends PairingComplete",
            |ctx| async move {
                let paired = ctx.pair_primary().await?;
                let devices = ctx.ok_json("devices").await?;
                let listed = devices
                    .as_array()
                    .is_some_and(|d| d.iter().any(|x| x.get("device_id").and_then(|v| v.as_str()) == Some(paired.device_id.as_str())));
                ensure(
                    listed,
                    format!("`devices` to list the linked companion {}", paired.device_id),
                    || devices.to_string(),
                )
            },
        )
        .needs(&["pair", "devices"]),
        c("QR-02", 1, &["PAIR-03"], "accepts the prefix in lower case (`tandem:`) and starts the handshake", lower_case_prefix)
            .needs(&["pair"]),
        c("QR-02", 2, &[], "refuses a text without the prefix as invalid_prefix and sends nothing", |ctx| async move {
            let text = valid_text(&ctx)?;
            let bare = text.trim_start_matches(tandem_codec::qr::PREFIX).to_owned();
            expect_refused(&ctx, &bare, "invalid_prefix", "[QR-02]").await
        })
        .needs(&["pair"])
        .faults(&[MALFORMED_QR]),
        c("QR-02", 3, &[], "refuses a text with another prefix (`TANDEM2:`) as invalid_prefix and sends nothing", |ctx| async move {
            let text = valid_text(&ctx)?.replacen("TANDEM:", "TANDEM2:", 1);
            expect_refused(&ctx, &text, "invalid_prefix", "[QR-02]").await
        })
        .needs(&["pair"])
        .faults(&[MALFORMED_QR]),
        c("QR-03", 1, &[], "refuses lower-case base32 as invalid_base32 and sends nothing", |ctx| async move {
            let text = testing::qr_text_lower_case(&valid_payload(&ctx)?);
            expect_refused(&ctx, &text, "invalid_base32", "[QR-03]").await
        })
        .needs(&["pair"])
        .faults(&[MALFORMED_QR]),
        c("QR-03", 2, &[], "refuses base32 with `=` padding as invalid_base32 and sends nothing", |ctx| async move {
            let payload = valid_payload(&ctx)?;
            let text = testing::qr_text_padded(&payload).ok_or_else(|| Failure::harness("a payload that needs padding", "its length is a multiple of 5"))?;
            expect_refused(&ctx, &text, "invalid_base32", "[QR-03]").await
        })
        .needs(&["pair"])
        .faults(&[MALFORMED_QR]),
        c("QR-03", 3, &[], "refuses base32 with non-zero bits after the last whole byte as invalid_base32 and sends nothing", |ctx| async move {
            let payload = valid_payload(&ctx)?;
            let text = testing::qr_text_with_trailing_bits(&payload).ok_or_else(|| Failure::harness("a payload with unused base32 bits", "its length is a multiple of 5"))?;
            expect_refused(&ctx, &text, "invalid_base32", "[QR-03]").await
        })
        .needs(&["pair"])
        .faults(&[MALFORMED_QR]),
        c("QR-03", 4, &[], "refuses base32 with a character outside A–Z 2–7 (`1`) as invalid_base32 and sends nothing", |ctx| async move {
            let text = valid_text(&ctx)?;
            let prefix = tandem_codec::qr::PREFIX.len();
            let bad = format!("{}1{}", &text[..prefix + 4], &text[prefix + 5..]);
            expect_refused(&ctx, &bad, "invalid_base32", "[QR-03]").await
        })
        .needs(&["pair"])
        .faults(&[MALFORMED_QR]),
        c("QR-04", 1, &[], "refuses a payload of version 2 as unsupported_version and sends nothing", |ctx| async move {
            let payload = testing::set_u8_at(&valid_payload(&ctx)?, 0, 2);
            expect_refused(&ctx, &testing::qr_text(&payload), "unsupported_version", "[QR-04]").await
        })
        .needs(&["pair"])
        .faults(&[MALFORMED_QR]),
        c("QR-04", 2, &[], "refuses a payload with non-zero flags as reserved_nonzero and sends nothing", |ctx| async move {
            let payload = testing::set_u8_at(&valid_payload(&ctx)?, 1, 0x01);
            expect_refused(&ctx, &testing::qr_text(&payload), "reserved_nonzero", "[QR-04]").await
        })
        .needs(&["pair"])
        .faults(&[MALFORMED_QR]),
        c("QR-05", 1, &[], "refuses a relay_url with the scheme http:// as invalid_value and sends nothing", |ctx| async move {
            let payload = with_relay_url(&ctx, "http://127.0.0.1:8080/")?;
            expect_refused(&ctx, &testing::qr_text(&payload), "invalid_value", "[QR-05]").await
        })
        .needs(&["pair"])
        .faults(&[MALFORMED_QR]),
        c("QR-05", 2, &[], "refuses a relay_url that is not an absolute URL (`127.0.0.1:8080`) as invalid_value and sends nothing", |ctx| async move {
            let payload = with_relay_url(&ctx, "127.0.0.1:8080")?;
            expect_refused(&ctx, &testing::qr_text(&payload), "invalid_value", "[QR-05]").await
        })
        .needs(&["pair"])
        .faults(&[MALFORMED_QR]),
        c("PAIR-11", 1, &["PAIR-06", "SESS-05", "CONF-09"], "on decline sends Close(pairing_rejected) then LinkClosed, reports pairing_failed and stores nothing", declined)
            .needs(&["pair"])
            .faults(&[DECLINED]),
        c("PAIR-11", 2, &["PAIR-01"], "ends the attempt with LinkClosed(handshake_failed) when message 2 was made with another pairing secret, and stores nothing", |ctx| async move {
            failed_message2(ctx, Message2Fault::WrongPsk).await
        })
        .needs(&["pair"])
        .faults(&[WRONG_PSK]),
        c("PAIR-11", 3, &[], "ends the attempt with LinkClosed(handshake_failed) when message 2 was tampered with, and stores nothing", |ctx| async move {
            failed_message2(ctx, Message2Fault::Tampered).await
        })
        .needs(&["pair"])
        .faults(&[TAMPERED_HANDSHAKE]),
        c("PAIR-11", 4, &[], "ends the attempt with LinkClosed(handshake_failed) when the PairAccept in message 2 does not decode, and stores nothing", |ctx| async move {
            failed_message2(ctx, Message2Fault::BadPayload).await
        })
        .needs(&["pair"])
        .faults(&[BAD_HANDSHAKE_PAYLOAD]),
        c("PAIR-11", 5, &[], "ends the attempt with LinkClosed(handshake_timeout) when no message 2 comes within HANDSHAKE_TIMEOUT (10 s), and stores nothing", handshake_timeout)
            .needs(&["pair"])
            .faults(&[SILENT_COMPANION])
            .longer(Duration::from_secs(20)),
        c("PAIR-10", 1, &[], "with MAX_COMPANIONS (4) companions linked, refuses a fifth code locally with device_limit before it joins the channel", device_limit)
            .needs(&["pair"])
            .faults(&[OVER_DEVICE_LIMIT])
            .longer(Duration::from_secs(20)),
        c("PAIR-05", 1, &[], "sends capabilities 0 in PairInit", |ctx| async move {
            let mut offer = ctx.offer_qr().await?;
            ctx.scan(&offer.text).await?;
            let paired = ctx.answer_pairing(&mut offer).await?;
            ensure(
                paired.primary.capabilities == 0,
                "PairInit.capabilities 0: version 1 defines no bit [PAIR-05]",
                || format!("{:#010x}", paired.primary.capabilities),
            )
        })
        .needs(&["pair"]),
        c("ENC-11", 1, &["PAIR-07"], "ignores unknown capability bits in PairAccept and completes the pairing", unknown_capabilities)
            .needs(&["pair"])
            .faults(&[UNKNOWN_CAPABILITIES]),
        c("ERR-01", 1, &["ERR-02", "PAIR-11", "CONF-08"], "when the companion closes the channel with an unknown code (4050) before confirmation, reports pairing_failed with that number, stores nothing and refuses a later confirm", unknown_close_code)
            .needs(&["pair"])
            .faults(&[UNKNOWN_CODE]),
        c("CONF-09", 1, &["RLY-03"], "reports pairing_failed(unknown_channel) for a code whose channel does not exist", |ctx| async move {
            let mut qr = payload(&ctx);
            qr.channel_id = ctx.relay().array();
            let text = qr_text(&qr)?;
            let _ = scan_any(&ctx, &text).await?;
            expect_pairing_failed_event(&ctx, Code::UNKNOWN_CHANNEL).await?;
            expect_nothing_stored(&ctx).await
        })
        .needs(&["pair"])
        .faults(&[UNKNOWN_CHANNEL_CODE]),
        c("CONF-09", 2, &["SEC-01"], "reports pairing_failed(channel_taken) for a code whose channel another primary joined first", |ctx| async move {
            let offer = ctx.offer_qr().await?;
            let _thief = ctx.join_channel(&offer.qr).await?;
            let _ = scan_any(&ctx, &offer.text).await?;
            expect_pairing_failed_event(&ctx, Code::CHANNEL_TAKEN).await?;
            expect_nothing_stored(&ctx).await
        })
        .needs(&["pair"])
        .faults(&[TAKEN_CHANNEL]),
    ]
}

/// A QR payload for the runner's relay as the implementation sees it.
fn payload(ctx: &Ctx) -> QrPayload {
    qr_payload(ctx, ctx.tap().url())
}

/// The binary form of [`payload`].
fn valid_payload(ctx: &Ctx) -> Result<Vec<u8>, Failure> {
    payload(ctx)
        .to_binary()
        .map_err(|e| Failure::harness("a QR payload that encodes", e.to_string()))
}

/// The text form of [`payload`].
fn valid_text(ctx: &Ctx) -> Result<String, Failure> {
    Ok(testing::qr_text(&valid_payload(ctx)?))
}

/// [`payload`] with another `relay_url`, which may be invalid.
fn with_relay_url(ctx: &Ctx, url: &str) -> Result<Vec<u8>, Failure> {
    // ver, flags, channel_id, companion_key, pairing_secret, ttl_s.
    const RELAY_URL_AT: usize = 1 + 1 + 16 + 32 + 32 + 2;
    Ok(testing::replace_str8_at(
        &valid_payload(ctx)?,
        RELAY_URL_AT,
        url.as_bytes(),
    ))
}

async fn lower_case_prefix(ctx: Ctx) -> CaseResult {
    let mut offer = ctx.offer_qr().await?;
    let text = offer.text.replacen("TANDEM:", "tandem:", 1);
    ctx.scan(&text).await?;
    let paired = ctx.answer_pairing(&mut offer).await?;
    ctx.expect_check_code(&paired).await
}

async fn declined(ctx: Ctx) -> CaseResult {
    let mut offer = ctx.offer_qr().await?;
    ctx.scan(&offer.text).await?;
    let paired = ctx.answer_pairing(&mut offer).await?;
    ctx.expect_check_code(&paired).await?;
    offer.link.session = Some(paired.session);
    expect_nothing_stored(&ctx).await.map_err(|f| {
        Failure::fail(
            format!("{} before the person answers [PAIR-06]", f.expected),
            f.actual,
        )
    })?;
    ctx.ok("decline").await?;
    expect_close_then_link_closed(
        &ctx,
        &mut offer.link,
        Code::PAIRING_REJECTED,
        "the person declined, §4.5",
    )
    .await?;
    expect_pairing_failed_event(&ctx, Code::PAIRING_REJECTED).await?;
    expect_nothing_stored(&ctx).await
}

/// How the runner's companion spoils message 2.
#[derive(Clone, Copy)]
enum Message2Fault {
    WrongPsk,
    Tampered,
    BadPayload,
}

async fn failed_message2(ctx: Ctx, fault: Message2Fault) -> CaseResult {
    let mut offer = ctx.offer_qr().await?;
    let message1 = scan_for_message1(&ctx, &mut offer).await?;
    let reply = spoiled_message2(&ctx, &offer, &message1, fault)?;
    offer.link.send_payload(reply.into()).await?;
    expect_failed_pairing(&ctx, &mut offer.link, Code::HANDSHAKE_FAILED).await?;
    ctx.no_event(
        ctx.quiet(),
        "`check_code` or `linked` after a failed handshake [PAIR-11]",
        |e| {
            matches!(
                e.get("type").and_then(|t| t.as_str()),
                Some("check_code" | "linked")
            )
        },
    )
    .await
}

fn spoiled_message2(
    ctx: &Ctx,
    offer: &Offer,
    message1: &[u8],
    fault: Message2Fault,
) -> Result<Vec<u8>, Failure> {
    let secret = match fault {
        Message2Fault::WrongPsk => ctx.relay().array(),
        Message2Fault::Tampered | Message2Fault::BadPayload => offer.qr.pairing_secret,
    };
    if let Message2Fault::BadPayload = fault {
        // capabilities, then a device_name of 9 bytes with only 3 present.
        let payload = [0, 0, 0, 0, 9, b'a', b'b', b'c'];
        return raw_message2(offer, &offer.identity, &secret, message1, &payload);
    }
    let (_, mut reply) = respond(offer, message1, &secret, 0)?;
    if let Message2Fault::Tampered = fault
        && let Some(last) = reply.last_mut()
    {
        *last ^= 0x01;
    }
    Ok(reply)
}

async fn handshake_timeout(ctx: Ctx) -> CaseResult {
    let mut offer = ctx.offer_qr().await?;
    let _message1 = scan_for_message1(&ctx, &mut offer).await?;
    ctx.note("the runner's companion never answers message 1");
    offer
        .link
        .expect_skipping(
            ctx.scaled(Duration::from_secs(10)) + ctx.wait(),
            "LinkClosed(4105 handshake_timeout) HANDSHAKE_TIMEOUT after message 1 [PAIR-11]",
            |i| matches!(i, Incoming::PeerState(_)),
            |i| {
                matches!(i, Incoming::LinkClosed(c) if *c == Code::HANDSHAKE_TIMEOUT.0)
                    .then_some(())
            },
        )
        .await?;
    expect_pairing_failed_event(&ctx, Code::HANDSHAKE_TIMEOUT).await?;
    expect_nothing_stored(&ctx).await
}

async fn device_limit(ctx: Ctx) -> CaseResult {
    for _ in 0..MAX_COMPANIONS {
        ctx.pair_primary().await?;
    }
    let offer = ctx.offer_qr().await?;
    let mut events = ctx.tap().subscribe();
    let refused = refusal(&ctx, &offer.text).await?;
    ensure(
        refused.as_deref() == Some("device_limit"),
        "`err device_limit` for a fifth code (or `pairing_failed` with reason device_limit for one given at start) [PAIR-10]",
        || {
            refused
                .clone()
                .map_or("ok".to_owned(), |r| format!("err {r}"))
        },
    )?;
    expect_no_join(
        &ctx,
        &mut events,
        ctx.quiet(),
        "refused locally before it joins a channel [PAIR-10]",
    )
    .await?;
    let companions = status(&ctx, "companions").await?;
    ensure(
        companions.as_u64() == Some(MAX_COMPANIONS as u64),
        format!("`companions: {MAX_COMPANIONS}` in `status`"),
        || companions.to_string(),
    )
}

async fn unknown_capabilities(ctx: Ctx) -> CaseResult {
    let mut offer = ctx.offer_qr().await?;
    let message1 = scan_for_message1(&ctx, &mut offer).await?;
    let (paired, reply) = respond(&offer, &message1, &offer.qr.pairing_secret, 0xFFFF_FFFF)?;
    offer.link.send_payload(reply.into()).await?;
    ctx.expect_check_code(&paired).await?;
    offer.link.session = Some(paired.session);
    ctx.ok("confirm").await?;
    offer
        .link
        .expect_frame(
            ctx.wait(),
            "PairingComplete although PairAccept had unknown capability bits [ENC-11]",
            |f| matches!(f, InnerFrame::PairingComplete).then_some(()),
        )
        .await?;
    ctx.event(
        "linked",
        "`linked` once the link is stored [PAIR-07]",
        |_| Some(()),
    )
    .await
}

async fn unknown_close_code(ctx: Ctx) -> CaseResult {
    let mut offer = ctx.offer_qr().await?;
    ctx.scan(&offer.text).await?;
    let paired = ctx.answer_pairing(&mut offer).await?;
    ctx.expect_check_code(&paired).await?;
    offer.link.close_link(Code(4050)).await?;
    expect_pairing_failed_event(&ctx, Code(4050)).await?;
    expect_nothing_stored(&ctx).await?;
    let answer = ctx.request("confirm").await?;
    ensure(
        !matches!(answer, Reply::Ok(_)),
        "an `err` to `confirm` once the companion closed the channel: no link is pending [CONF-08]",
        || format!("{answer:?}"),
    )?;
    expect_nothing_stored(&ctx).await
}
