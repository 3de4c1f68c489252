//! Pairing a companion under test (spec §4, §2.5): the QR code it shows
//! and rotates, the handshake it answers, the check code, the first
//! frame it accepts, and what it stores only after `PairingComplete`.

use std::time::Duration;

use serde_json::Value;
use tandem_codec::Code;
use tandem_codec::handshake::PairInit;
use tandem_codec::qr::QrPayload;
use tandem_codec::session::{Error, InnerFrame, ResumeAccepted};
use tandem_proto::handshake::PrimaryPairing;
use tandem_proto::noise::HandshakeOptions;

use crate::case::{CaseResult, Failure, ensure};
use crate::endpoint::as_primary::ACCOUNT_NAME;
use crate::endpoint::as_primary::Primary;
use crate::endpoint::cases::companion::support::{event_with_code, link_closed, linked_is, plain};
use crate::endpoint::cases::{EndpointCase, companion_case as c};
use crate::endpoint::ctx::Ctx;
use crate::endpoint::faults::UNKNOWN_CAPABILITIES;
use crate::endpoint::faults::{
    DECLINED, NO_PAIRING_COMPLETE, OVER_DEVICE_LIMIT, TAMPERED_HANDSHAKE, WRONG_PROLOGUE,
    WRONG_PSK, WRONG_STATIC_KEY,
};
use crate::endpoint::link::{Incoming, Link};
use crate::endpoint::tap::TapEvent;
use crate::relay::params::RelayParams;

/// The pairing cases.
pub(super) fn cases() -> Vec<EndpointCase> {
    let mut cases = vec![
        c(
            "PAIR-08",
            1,
            &["PAIR-01", "PAIR-02", "PAIR-04", "QR-01"],
            "pairs through the QR code, shows the check code, and reports linked only after PairingComplete",
            |ctx| async move {
                let linked = ctx.pair_companion().await?;
                let status = ctx.ok_json("status").await?;
                ensure(
                    status.get("linked") == Some(&serde_json::Value::Bool(true)),
                    "status linked: true after PairingComplete [PAIR-08]",
                    || status.to_string(),
                )?;
                ensure(
                    linked.device_name.len() <= 64,
                    "a device name of at most 64 bytes",
                    || linked.device_name.clone(),
                )
            },
        )
        .needs(PAIR),
    ];
    cases.extend(outcomes());
    cases.extend(handshake_failures());
    cases.extend(rotation());
    cases
}

/// Capabilities of a pairing case.
const PAIR: &[&str] = &["pair"];

/// The runner's primary, the code the companion shows, and the channel
/// link the primary joined with it.
async fn join_shown_code(ctx: &Ctx) -> Result<(Primary, QrPayload, Link), Failure> {
    let primary = ctx.runner_primary().await?;
    let (_, qr) = ctx.show_qr().await?;
    let link = ctx.join_channel(&qr).await?;
    Ok((primary, qr, link))
}

/// Checks that no event of one of `types` comes for a while.
async fn no_event_of(ctx: &Ctx, types: &[&str], why: &str) -> Result<(), Failure> {
    ctx.no_event(ctx.quiet(), why, |e| {
        e.get("type")
            .and_then(Value::as_str)
            .is_some_and(|t| types.contains(&t))
    })
    .await
}

/// Checks that `new` has a new channel and pairing secret and the same
/// companion key as `old`.
fn ensure_rotated(old: &QrPayload, new: &QrPayload, what: &str) -> Result<(), Failure> {
    ensure(
        new.channel_id != old.channel_id
            && new.pairing_secret != old.pairing_secret
            && new.companion_key == old.companion_key,
        what,
        || format!("{new:?} after {old:?}"),
    )
}

/// The runner's primary answers the finished handshake with
/// `Close(code)` instead of `PairingComplete` ([PAIR-08]).
async fn closed_before_complete(ctx: Ctx, code: Code, message: &str, why: &str) -> CaseResult {
    let close = plain(&InnerFrame::Close(tandem_codec::session::Close {
        code,
        message: message.into(),
    }))?;
    not_linked_after(ctx, close, code, false, why).await
}

/// The runner's primary sends `first` as the first frame of the pairing
/// session; the companion must end it with `unexpected_session_frame`
/// ([PAIR-09]).
async fn refuses_first_frame(ctx: Ctx, first: &InnerFrame, why: &str) -> CaseResult {
    let frame = plain(first)?;
    not_linked_after(ctx, frame, Code::UNEXPECTED_SESSION_FRAME, true, why).await
}

/// The relay setup of the rotation cases: `CHANNEL_TTL` of [`SHORT_TTL`].
fn short_ttl(params: &mut RelayParams, scale: f64) {
    params.channel_ttl = SHORT_TTL.mul_f64(scale);
}

/// After a finished handshake the runner sends `first` as the first
/// transport frame instead of `PairingComplete`; the companion must end
/// the attempt with `code` (its own `Close`/`LinkClosed` when `by_companion`),
/// report `pairing_failed`, and hold no link, even after a restart.
async fn not_linked_after(
    ctx: Ctx,
    first: Vec<u8>,
    code: Code,
    by_companion: bool,
    why: &str,
) -> CaseResult {
    let (primary, qr, mut link) = join_shown_code(&ctx).await?;
    let paired = ctx
        .pairing_handshake(&mut link, &primary.key, &qr, &Ctx::pair_init())
        .await?;
    link.session = Some(paired.session);
    link.send_plain(&first, why).await?;
    if by_companion {
        link.expect_end(ctx.wait(), code, why, |_| false).await?;
    } else {
        link.close_link(code).await?;
    }
    event_with_code(&ctx, "pairing_failed", code, why).await?;
    no_event_of(
        &ctx,
        &["linked"],
        "`linked` without PairingComplete [PAIR-08]",
    )
    .await?;
    linked_is(
        &ctx,
        false,
        "nothing stored before PairingComplete [PAIR-08]",
    )
    .await?;
    if ctx.has("restart").await? {
        ctx.restart().await?;
        linked_is(
            &ctx,
            false,
            "no link found after a restart [PAIR-08] [PAIR-11]",
        )
        .await?;
    }
    Ok(())
}

fn outcomes() -> Vec<EndpointCase> {
    vec![
        c(
            "PAIR-08",
            2,
            &["PAIR-11", "DEV-09", "CONF-09"],
            "reports pairing_failed(pairing_rejected) when the link is declined, and stores nothing",
            |ctx| async move {
                closed_before_complete(ctx, Code::PAIRING_REJECTED, "declined", "Close(pairing_rejected) [PAIR-11]").await
            },
        )
        .needs(PAIR)
        .faults(&[DECLINED]),
        c(
            "PAIR-10",
            1,
            &["DEV-09", "PAIR-08"],
            "reports pairing_failed(device_limit) when the primary is at its companion limit, and stores nothing",
            |ctx| async move {
                closed_before_complete(ctx, Code::DEVICE_LIMIT, "four is enough", "Close(device_limit) [PAIR-10]").await
            },
        )
        .needs(PAIR)
        .faults(&[OVER_DEVICE_LIMIT]),
        c(
            "PAIR-09",
            1,
            &["PAIR-08"],
            "refuses ResumeAccepted as the first frame of a pairing session with unexpected_session_frame",
            |ctx| async move {
                let first = InnerFrame::ResumeAccepted(ResumeAccepted { head: 1 });
                refuses_first_frame(ctx, &first, "ResumeAccepted first [PAIR-09]").await
            },
        )
        .needs(PAIR)
        .faults(&[NO_PAIRING_COMPLETE]),
        c(
            "PAIR-09",
            2,
            &["PAIR-08"],
            "refuses Error as the first frame of a pairing session with unexpected_session_frame",
            |ctx| async move {
                let first = InnerFrame::Error(Error {
                    code: Code::INVALID_REQUEST,
                    ref_id: 0,
                    message: String::new(),
                });
                refuses_first_frame(ctx, &first, "Error first [PAIR-09]").await
            },
        )
        .needs(PAIR)
        .faults(&[NO_PAIRING_COMPLETE]),
        c(
            "PAIR-09",
            3,
            &["PAIR-08"],
            "refuses an Event as the first frame of a pairing session with unexpected_session_frame",
            |ctx| async move {
                let event = crate::endpoint::model::Model::new(1, 1, 1).snapshot();
                let first = event.first().ok_or_else(|| Failure::harness("a snapshot frame", "none"))?;
                refuses_first_frame(ctx, first, "SnapshotBegin first [PAIR-09]").await
            },
        )
        .needs(PAIR)
        .faults(&[NO_PAIRING_COMPLETE]),
        c(
            "PAIR-05",
            1,
            &["SEC-02"],
            "sends capabilities 0 in PairAccept and shows the account name from PairInit",
            |ctx| async move {
                let (primary, qr, mut link) = join_shown_code(&ctx).await?;
                let paired = ctx
                    .pairing_handshake(&mut link, &primary.key, &qr, &Ctx::pair_init())
                    .await?;
                ensure(
                    paired.companion.capabilities == 0,
                    "PairAccept.capabilities 0 [PAIR-05]",
                    || format!("{:#x}", paired.companion.capabilities),
                )?;
                ctx.event("check_code", "check_code with the account name of PairInit [SEC-02]", |e| {
                    (e.get("account_name").and_then(Value::as_str) == Some(ACCOUNT_NAME)).then_some(())
                })
                .await?;
                link.session = Some(paired.session);
                link.send(&InnerFrame::PairingComplete).await?;
                let name = ctx
                    .event("linked", "`linked` [PAIR-08]", |e| {
                        Some(e.get("account_name").and_then(Value::as_str).unwrap_or_default().to_owned())
                    })
                    .await?;
                ensure(name == ACCOUNT_NAME, format!("linked to `{ACCOUNT_NAME}` [SEC-02]"), || name)
            },
        )
        .needs(PAIR),
        c(
            "ENC-11",
            1,
            &["PAIR-01"],
            "ignores capability bits it does not know in PairInit and pairs",
            |ctx| async move {
                let (primary, qr, mut link) = join_shown_code(&ctx).await?;
                let init = PairInit {
                    capabilities: 0xffff_ffff,
                    ..Ctx::pair_init()
                };
                let paired = ctx.pairing_handshake(&mut link, &primary.key, &qr, &init).await?;
                link.session = Some(paired.session);
                link.send(&InnerFrame::PairingComplete).await?;
                ctx.event("linked", "`linked` after PairingComplete [ENC-11]", |_| Some(()))
                    .await
            },
        )
        .needs(PAIR)
        .faults(&[UNKNOWN_CAPABILITIES]),
    ]
}

/// The runner's primary sends a message 1 that `spoil` made wrong; the
/// companion must close the channel link with `handshake_failed`, show
/// no check code, store nothing, and show a new code ([PAIR-11]).
pub(super) async fn refuses_message_1(
    ctx: Ctx,
    spoil: fn(&mut QrPayload),
    tamper: fn(&mut Vec<u8>),
) -> CaseResult {
    let (primary, qr, mut link) = join_shown_code(&ctx).await?;
    let mut wrong = qr.clone();
    spoil(&mut wrong);
    let (_, mut message) = PrimaryPairing::start(
        &primary.key,
        &wrong,
        &Ctx::pair_init(),
        &HandshakeOptions::default(),
    )
    .map_err(|e| Failure::harness("handshake message 1", e.to_string()))?;
    tamper(&mut message);
    link.send_payload(message.into()).await?;
    link_closed(
        &ctx,
        &mut link,
        0,
        Code::HANDSHAKE_FAILED,
        "a message 1 that does not decrypt [PAIR-11]",
    )
    .await?;
    shows_new_code(&ctx, &qr).await
}

/// Checks that no check code was shown, nothing stored, and a new code
/// with a new channel and secret and the same key came ([PAIR-11]).
async fn shows_new_code(ctx: &Ctx, old: &QrPayload) -> CaseResult {
    let new = next_code(
        ctx,
        ctx.wait(),
        "a new code after the failed handshake [PAIR-11]",
    )
    .await?;
    ensure_rotated(
        old,
        &new,
        "a new channel and pairing secret with the same companion key [PAIR-11] [QR-07]",
    )?;
    no_event_of(
        ctx,
        &["check_code", "linked"],
        "`check_code` or `linked` for a failed handshake [PAIR-11]",
    )
    .await?;
    linked_is(
        ctx,
        false,
        "nothing stored after a failed handshake [PAIR-11]",
    )
    .await
}

fn handshake_failures() -> Vec<EndpointCase> {
    vec![
        c(
            "PAIR-11",
            1,
            &["PAIR-01"],
            "closes the channel link with handshake_failed on a message 1 to another companion key, and shows a new code",
            |ctx| refuses_message_1(ctx, |qr| qr.companion_key = tandem_proto::StaticKeypair::from_private([0x42; 32]).public().0, |_| {}),
        )
        .needs(PAIR)
        .faults(&[WRONG_STATIC_KEY]),
        c(
            "PAIR-11",
            2,
            &["PAIR-02"],
            "closes the channel link with handshake_failed on a message 1 whose prologue names another channel",
            |ctx| refuses_message_1(ctx, |qr| qr.channel_id[0] ^= 0xff, |_| {}),
        )
        .needs(PAIR)
        .faults(&[WRONG_PROLOGUE]),
        c(
            "PAIR-11",
            3,
            &[],
            "closes the channel link with handshake_failed on a message 1 with one bit flipped",
            |ctx| refuses_message_1(ctx, |_| {}, |message| if let Some(byte) = message.get_mut(60) { *byte ^= 0x40 }),
        )
        .needs(PAIR)
        .faults(&[TAMPERED_HANDSHAKE]),
        c(
            "PAIR-11",
            4,
            &["PAIR-08"],
            "stores nothing and shows a new code when the primary fails message 2 (another pairing secret) with handshake_failed",
            |ctx| async move {
                let (primary, qr, mut link) = join_shown_code(&ctx).await?;
                let mut wrong = qr.clone();
                wrong.pairing_secret[0] ^= 0x01;
                let (state, message) = PrimaryPairing::start(&primary.key, &wrong, &Ctx::pair_init(), &HandshakeOptions::default())
                    .map_err(|e| Failure::harness("handshake message 1", e.to_string()))?;
                link.send_payload(message.into()).await?;
                let reply = link
                    .expect_skipping(
                        ctx.wait(),
                        "handshake message 2",
                        |i| matches!(i, Incoming::PeerState(_)),
                        |i| match i {
                            Incoming::Handshake(b) => Some(b.clone()),
                            _ => None,
                        },
                    )
                    .await?;
                ensure(state.finish(&reply).is_err(), "message 2 to fail under another pairing secret", || "it decrypted".into())?;
                link.close_link(Code::HANDSHAKE_FAILED).await?;
                no_event_of(&ctx, &["linked"], "`linked` after a failed handshake [PAIR-08]").await?;
                linked_is(&ctx, false, "nothing stored after a failed handshake [PAIR-11]").await
            },
        )
        .needs(PAIR)
        .faults(&[WRONG_PSK]),
    ]
}

/// `CHANNEL_TTL` on the runner's relay for the rotation cases.
const SHORT_TTL: Duration = Duration::from_millis(1_000);

/// Waits for the next `qr` event and decodes it.
async fn next_code(ctx: &Ctx, within: Duration, why: &str) -> Result<QrPayload, Failure> {
    let text = ctx
        .event_within(within, "qr", why, |e| {
            e.get("text").and_then(Value::as_str).map(str::to_owned)
        })
        .await?;
    QrPayload::from_text(&text).map_err(|e| {
        Failure::fail(
            "a valid QR payload in the `qr` event [QR-07]",
            format!("`{text}`: {e}"),
        )
    })
}

fn rotation() -> Vec<EndpointCase> {
    vec![
        c(
            "QR-07",
            1,
            &["QR-01"],
            "shows a new code with a new channel and pairing secret and the same key when the relay expires the channel (CHANNEL_TTL 1 s)",
            |ctx| async move {
                let (_, first) = ctx.show_qr().await?;
                let within = ctx.scaled(SHORT_TTL * 3) + ctx.wait();
                let second = next_code(&ctx, within, "a new code after channel_expired [QR-07]").await?;
                ensure_rotated(&first, &second, "a new channel id and pairing secret, the same companion key [QR-07] [QR-01]")
            },
        )
        .needs(PAIR)
        .relay(short_ttl)
        .longer(Duration::from_secs(5)),
        c(
            "QR-08",
            1,
            &["QR-07", "CONF-09"],
            "stops after 5 expired codes, reports pairing_failed(channel_expired) and opens no more channels (CHANNEL_TTL 1 s)",
            |ctx| async move {
                let mut tap = ctx.tap().subscribe();
                let (_, first) = ctx.show_qr().await?;
                let mut secrets = vec![first.pairing_secret];
                let within = ctx.scaled(SHORT_TTL * 3) + ctx.wait();
                for n in 2..=5 {
                    let code = next_code(&ctx, within, &format!("code {n} of 5 [QR-07]")).await?;
                    ensure(!secrets.contains(&code.pairing_secret), "a fresh pairing secret for every code [QR-01]", || hex::encode(code.pairing_secret))?;
                    secrets.push(code.pairing_secret);
                }
                ctx.event_within(within, "pairing_failed", "pairing_failed(channel_expired) after the 5th code expired [QR-08]", |e| {
                    (e.get("code").and_then(Value::as_u64) == Some(u64::from(Code::CHANNEL_EXPIRED.0))).then_some(())
                })
                .await?;
                ctx.no_event(ctx.scaled(SHORT_TTL * 2), "a 6th code [QR-08]", |e| {
                    e.get("type").and_then(Value::as_str) == Some("qr")
                })
                .await?;
                let mut opened = 0;
                while let Ok(event) = tap.try_recv() {
                    if let TapEvent::FromImplementation { frame: Some(tandem_codec::envelope::EnvelopeFrame::OpenChannel), .. } = event {
                        opened += 1;
                    }
                }
                ensure(opened == 5, "exactly 5 OpenChannel for 5 codes [QR-08]", || format!("{opened} OpenChannel"))?;
                linked_is(&ctx, false, "not linked after pairing timed out").await
            },
        )
        .needs(PAIR)
        .relay(short_ttl)
        .longer(Duration::from_secs(10)),
        c(
            "QR-06",
            1,
            &["TRN-12", "TRN-08"],
            "refuses to show a code for a plain ws:// relay on a non-loopback host it was not told to trust",
            |ctx| async move {
                ctx.start_with_relay("", "ws://192.0.2.7:9/").await?;
                let reply = ctx.request("show-qr").await?;
                ensure(
                    !matches!(reply, crate::endpoint::adapter::Reply::Ok(_)),
                    "an `err` to `show-qr` for ws://192.0.2.7:9/ (no code shown) [QR-06] [TRN-12]",
                    || format!("{reply:?}"),
                )?;
                no_event_of(&ctx, &["qr", "check_code"], "a `qr` or `check_code` event [QR-06]").await
            },
        )
        .needs(PAIR),
    ]
}
