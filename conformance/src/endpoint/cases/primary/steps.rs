//! Steps the primary cases of §2–§6, §11 and §12.5 share: watching the
//! tap for the implementation's own envelope frames (§3), a scan that
//! must be refused locally (§4.1, §4.6), the pairing handshake's message 1
//! and hand-made message 2 (§4.2), and the ends of a session (§6.4, §6.6).

use std::time::Duration;

use bytes::Bytes;
use tandem_codec::Code;
use tandem_codec::envelope::EnvelopeFrame;
use tandem_codec::handshake::PairAccept;
use tandem_codec::qr::QrPayload;
use tandem_codec::session::InnerFrame;
use tandem_proto::StaticKeypair;
use tandem_proto::handshake::{CompanionPaired, CompanionPairing};
use tandem_proto::noise::HandshakeOptions;
use tokio::sync::broadcast::Receiver;

use crate::case::{Failure, ensure};
use crate::endpoint::adapter::Reply;
use crate::endpoint::as_companion::{DEVICE_NAME, Offer};
use crate::endpoint::cases::checks::status;
use crate::endpoint::ctx::Ctx;
use crate::endpoint::link::{Incoming, Link};
use crate::endpoint::tap::TapEvent;
use crate::relay::peer::code_name;

/// The pairing suite of §4.2 ([PAIR-01]).
pub(super) const PAIRING_SUITE: &str = tandem_proto::noise::PAIRING_PROTOCOL;

pub(super) use crate::endpoint::tap::watch as tap_watch;

/// The envelope frame the implementation sent, if the event is one.
pub(super) fn sent_frame(event: &TapEvent) -> Option<(usize, &EnvelopeFrame)> {
    match event {
        TapEvent::FromImplementation {
            conn,
            frame: Some(frame),
            ..
        } => Some((*conn, frame)),
        _ => None,
    }
}

/// Starts the implementation and waits for its `RouteProof` (§3.4): the
/// number of the connection that holds its route.
pub(super) async fn route_connection(ctx: &Ctx) -> Result<usize, Failure> {
    let mut events = ctx.tap().subscribe();
    ctx.start("").await?;
    route_proof(ctx, &mut events, ctx.wait()).await
}

/// Waits for a `RouteProof` on any connection.
pub(super) async fn route_proof(
    ctx: &Ctx,
    events: &mut Receiver<TapEvent>,
    within: Duration,
) -> Result<usize, Failure> {
    tap_watch(events, within, |e| {
        sent_frame(e)
            .and_then(|(conn, f)| matches!(f, EnvelopeFrame::RouteProof(_)).then_some(conn))
    })
    .await
    .ok_or_else(|| {
        ctx.note("no RouteProof from the implementation");
        Failure::timeout(
            "the primary to register its route: RegisterRoute, then RouteProof (§3.4)",
            "no RouteProof",
        )
    })
}

/// Waits for the implementation to end connection `conn` itself with a
/// Close frame of `code` ([TRN-06]).
pub(super) async fn expect_connection_close(
    ctx: &Ctx,
    events: &mut Receiver<TapEvent>,
    conn: usize,
    code: Code,
    why: &str,
) -> Result<(), Failure> {
    let ended = tap_watch(events, ctx.wait(), |e| match e {
        TapEvent::Closed {
            conn: c,
            by_implementation,
            code,
        } if *c == conn => Some((*by_implementation, *code)),
        _ => None,
    })
    .await;
    let expected = format!(
        "the primary to close its relay connection with a Close frame of code {}{} ({why})",
        code.0,
        code_name(code.0)
    );
    match ended {
        Some((true, Some(c))) if c == code.0 => Ok(()),
        Some((true, Some(c))) => Err(Failure::fail(
            expected,
            format!("Close code {c}{}", code_name(c)),
        )),
        Some((true, None)) => Err(Failure::fail(expected, "it ended without a Close frame")),
        Some((false, _)) => Err(Failure::fail(expected, "the tap ended it first")),
        None => Err(Failure::timeout(expected, "the connection stayed open")),
    }
}

/// Fails if the implementation sends `JoinChannel` within `during`
/// (§4.6: a code refused locally sends nothing).
pub(super) async fn expect_no_join(
    ctx: &Ctx,
    events: &mut Receiver<TapEvent>,
    during: Duration,
    why: &str,
) -> Result<(), Failure> {
    let joined = tap_watch(events, during, |e| {
        sent_frame(e).and_then(|(_, f)| matches!(f, EnvelopeFrame::JoinChannel(_)).then_some(()))
    })
    .await;
    ctx.note(format!("watched for JoinChannel: {joined:?}"));
    ensure(
        joined.is_none(),
        format!("no JoinChannel from the primary ({why})"),
        || "JoinChannel".to_owned(),
    )
}

/// How the implementation refused a scanned code: the `err` code word of
/// `link`, or the `reason` of `pairing_failed` for a code given at start.
pub(super) async fn refusal(ctx: &Ctx, text: &str) -> Result<Option<String>, Failure> {
    if ctx.takes_qr_at_start() {
        ctx.start(text).await?;
        return ctx
            .event(
                "pairing_failed",
                "`pairing_failed` for the code given at start",
                |e| Some(e.get("reason").and_then(|r| r.as_str()).map(str::to_owned)),
            )
            .await;
    }
    match ctx.request(&format!("link {text}")).await? {
        Reply::Err { code, .. } => Ok(Some(code)),
        Reply::Ok(_) => Ok(None),
    }
}

/// Has the primary scan `text` whatever it answers: the `err` code word
/// of `link`, if any (a code given at start has no answer; its outcome
/// is an event).
pub(super) async fn scan_any(ctx: &Ctx, text: &str) -> Result<Option<String>, Failure> {
    if ctx.takes_qr_at_start() {
        ctx.start(text).await?;
        return Ok(None);
    }
    match ctx.request(&format!("link {text}")).await? {
        Reply::Err { code, .. } => Ok(Some(code)),
        Reply::Ok(_) => Ok(None),
    }
}

/// Has the primary scan `text`, which it must refuse locally with `kind`
/// and without sending `JoinChannel` ([QR-02]–[QR-05], §4.6).
pub(super) async fn expect_refused(
    ctx: &Ctx,
    text: &str,
    kind: &str,
    rule: &str,
) -> Result<(), Failure> {
    let mut events = ctx.tap().subscribe();
    let refused = refusal(ctx, text).await?;
    ensure(
        refused.as_deref() == Some(kind),
        format!(
            "`err {kind}` for the code `{}` {rule}",
            crate::codec::check::shorten(text)
        ),
        || match &refused {
            Some(code) => format!("err {code}"),
            None => "ok".to_owned(),
        },
    )?;
    expect_no_join(
        ctx,
        &mut events,
        ctx.quiet(),
        "a code refused locally sends nothing",
    )
    .await?;
    expect_nothing_stored(ctx).await
}

/// Checks that the primary stores no companion (`status`, §12.5.3).
pub(super) async fn expect_nothing_stored(ctx: &Ctx) -> Result<(), Failure> {
    let companions = status(ctx, "companions").await?;
    ensure(
        companions.as_u64() == Some(0),
        "`companions: 0` in `status`: nothing stored [PAIR-11]",
        || companions.to_string(),
    )
}

/// Has the primary scan the offer and waits for handshake message 1.
pub(super) async fn scan_for_message1(ctx: &Ctx, offer: &mut Offer) -> Result<Bytes, Failure> {
    ctx.scan(&offer.text).await?;
    offer
        .link
        .expect_skipping(
            ctx.wait(),
            "handshake message 1 on the channel [PAIR-03]",
            |i| matches!(i, Incoming::PeerState(_)),
            |i| match i {
                Incoming::Handshake(b) => Some(b.clone()),
                _ => None,
            },
        )
        .await
}

/// Answers `message1` as the offer's companion with `secret` as the PSK
/// and `capabilities` in `PairAccept`: the responder's result and message 2.
pub(super) fn respond(
    offer: &Offer,
    message1: &[u8],
    secret: &[u8; 32],
    capabilities: u32,
) -> Result<(CompanionPaired, Vec<u8>), Failure> {
    let accept = PairAccept {
        capabilities,
        device_name: DEVICE_NAME.into(),
    };
    CompanionPairing::new(
        &offer.identity,
        &offer.qr.channel_id,
        secret,
        &HandshakeOptions::default(),
    )
    .map_err(|e| Failure::harness("a responder handshake", e.to_string()))?
    .respond(message1, &accept)
    .map_err(|e| {
        Failure::fail(
            "a message 1 the responder can read [PAIR-01]",
            e.to_string(),
        )
    })
}

/// A QR payload naming `relay_url`, with a fresh channel id, key and
/// secret (no channel behind it).
pub(super) fn qr_payload(ctx: &Ctx, relay_url: &str) -> QrPayload {
    QrPayload {
        channel_id: ctx.relay().array(),
        companion_key: ctx.relay().keypair().public().0,
        pairing_secret: ctx.relay().array(),
        ttl_s: 60,
        relay_url: relay_url.to_owned(),
    }
}

/// The text of `qr`.
pub(super) fn qr_text(qr: &QrPayload) -> Result<String, Failure> {
    qr.to_text()
        .map_err(|e| Failure::harness("a QR text", e.to_string()))
}

/// The connection on which the primary sent its `RouteProof` (waiting for
/// it if need be), else the newest connection.
pub(super) async fn route_conn_seen(ctx: &Ctx, events: &mut Receiver<TapEvent>) -> usize {
    // Waits for the proof itself: until it is sent, the primary is still
    // waiting for a challenge and would rightly answer one.
    tap_watch(events, ctx.wait(), |e| {
        sent_frame(e).and_then(|(c, f)| matches!(f, EnvelopeFrame::RouteProof(_)).then_some(c))
    })
    .await
    .unwrap_or_else(|| ctx.tap().connections_opened())
}

/// Message 2 of `suite` made by hand with any `payload` and PSK: reads
/// `message1` as the responder with the pairing prologue of `offer`.
pub(super) fn raw_message2(
    offer: &Offer,
    identity: &StaticKeypair,
    psk: &[u8; 32],
    message1: &[u8],
    payload: &[u8],
) -> Result<Vec<u8>, Failure> {
    let harness =
        |e: snow::Error| Failure::harness("a hand-made handshake message 2", e.to_string());
    let params: snow::params::NoiseParams = PAIRING_SUITE.parse().map_err(harness)?;
    let prologue = tandem_proto::noise::pairing_prologue(&offer.qr.channel_id);
    let mut state = snow::Builder::new(params)
        .prologue(&prologue)
        .and_then(|b| b.local_private_key(identity.private()))
        .and_then(|b| b.psk(2, psk))
        .and_then(|b| b.build_responder())
        .map_err(harness)?;
    let mut buffer = vec![0u8; 65_535];
    state.read_message(message1, &mut buffer).map_err(|e| {
        Failure::fail(
            "a message 1 of Noise_IKpsk2 for the QR code's key and channel [PAIR-01] [PAIR-02]",
            e.to_string(),
        )
    })?;
    let len = state.write_message(payload, &mut buffer).map_err(harness)?;
    buffer.truncate(len);
    Ok(buffer)
}

/// Waits for the failed handshake to end the channel: `LinkClosed` with
/// `code` (§4.6), `pairing_failed`, and nothing stored ([PAIR-11]).
pub(super) async fn expect_failed_pairing(
    ctx: &Ctx,
    link: &mut Link,
    code: Code,
) -> Result<(), Failure> {
    link.expect_skipping(
        ctx.wait() + ctx.scaled(Duration::from_secs(1)),
        &format!(
            "LinkClosed({}{}) on the channel [PAIR-11]",
            code.0,
            code_name(code.0)
        ),
        |i| matches!(i, Incoming::PeerState(_)),
        |i| matches!(i, Incoming::LinkClosed(c) if *c == code.0).then_some(()),
    )
    .await?;
    expect_pairing_failed_event(ctx, code).await?;
    expect_nothing_stored(ctx).await
}

/// Waits for `pairing_failed` with `code` ([CONF-09]).
pub(super) async fn expect_pairing_failed_event(ctx: &Ctx, code: Code) -> Result<(), Failure> {
    let got = ctx
        .event(
            "pairing_failed",
            &format!("`pairing_failed` with code {} [CONF-09]", code.0),
            |e| Some(e.get("code").and_then(serde_json::Value::as_u64)),
        )
        .await?;
    ensure(
        got == Some(u64::from(code.0)),
        format!(
            "`pairing_failed` with code {}{} [CONF-09]",
            code.0,
            code_name(code.0)
        ),
        || format!("code {got:?}"),
    )
}

/// Waits for `Close(code)` and then `LinkClosed(code)` with nothing
/// between them or after the `Close` ([SESS-05]).
pub(super) async fn expect_close_then_link_closed(
    ctx: &Ctx,
    link: &mut Link,
    code: Code,
    why: &str,
) -> Result<(), Failure> {
    let name = code_name(code.0);
    link.expect_skipping(
        ctx.wait(),
        &format!("Close({}{name}) ({why})", code.0),
        |i| matches!(i, Incoming::PeerState(_)),
        |i| matches!(i, Incoming::Frame(InnerFrame::Close(c)) if c.code == code).then_some(()),
    )
    .await?;
    link.expect_skipping(
        ctx.wait(),
        &format!(
            "LinkClosed({}{name}) right after the Close [SESS-05]",
            code.0
        ),
        |i| matches!(i, Incoming::PeerState(_)),
        |i| matches!(i, Incoming::LinkClosed(c) if *c == code.0).then_some(()),
    )
    .await
}

/// Waits for the primary to drop the session with
/// `LinkClosed(decrypt_failed)`, acting on nothing first ([SESS-09]).
pub(super) async fn expect_decrypt_failed(
    ctx: &Ctx,
    link: &mut Link,
    why: &str,
) -> Result<(), Failure> {
    link.expect_skipping(
        ctx.wait(),
        &format!("LinkClosed(4110 decrypt_failed) and nothing else ({why}) [SESS-09]"),
        |i| {
            matches!(i, Incoming::PeerState(_))
                || matches!(i, Incoming::Frame(InnerFrame::Close(c)) if c.code == Code::DECRYPT_FAILED)
        },
        |i| matches!(i, Incoming::LinkClosed(c) if *c == Code::DECRYPT_FAILED.0).then_some(()),
    )
    .await
}
