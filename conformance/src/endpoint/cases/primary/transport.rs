//! The primary's relay connection (spec §2, §3): the subprotocol it offers
//! and the answers it accepts ([TRN-01]), what it does with text, oversized,
//! undecodable and unknown frames from the relay ([TRN-03], [TRN-04],
//! [ENV-06], [ENC-09], [ENC-10]), keepalive ([ENV-02]), route challenges
//! ([ENV-01]), and codes whose text it must not parse ([ENV-05], [TRN-07]).

use std::time::Duration;

use bytes::Bytes;
use tandem_codec::Code;
use tandem_codec::envelope::{EnvelopeFrame, Ping, RouteChallenge};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use super::steps::{
    expect_connection_close, expect_no_join, expect_pairing_failed_event, qr_payload, qr_text,
    refusal, route_conn_seen, route_connection, route_proof, scan_any, sent_frame, tap_watch,
};
use crate::case::{CaseResult, Failure, ensure};
use crate::endpoint::cases::checks::status;
use crate::endpoint::cases::{EndpointCase, primary_case as c};
use crate::endpoint::ctx::Ctx;
use crate::endpoint::faults::*;
use crate::endpoint::tap::TapEvent;
use crate::relay::peer::SUBPROTOCOL;

/// The largest envelope frame (§2.3, §3.1).
const MAX_MESSAGE: usize = 65_540;

/// The transport and envelope cases.
pub(super) fn cases() -> Vec<EndpointCase> {
    vec![
        c("TRN-01", 1, &[], "offers the subprotocol tandem.v1 when it connects to the relay", offers_subprotocol),
        c("TRN-01", 2, &[], "fails a connection whose 101 response selects a subprotocol it did not offer (tandem.v9), and registers its route once the relay answers correctly", |ctx| async move {
            wrong_selection(ctx, Some("tandem.v9")).await
        })
        .faults(&[WRONG_SUBPROTOCOL]),
        c("TRN-01", 3, &[], "fails a connection whose 101 response selects no subprotocol, and registers its route once the relay answers correctly", |ctx| async move {
            wrong_selection(ctx, None).await
        })
        .faults(&[WRONG_SUBPROTOCOL]),
        c("TRN-03", 1, &["TRN-04", "SESS-01"], "sends only binary messages of at most 65,540 bytes while it pairs and answers a reconnect", only_binary)
            .needs(&["pair", "reconnect"]),
        c("TRN-03", 2, &["TRN-06"], "closes the relay connection with 1003 unsupported_data when the relay sends a text message", |ctx| async move {
            injected_fatal(ctx, Message::text("hello"), Code::UNSUPPORTED_DATA, "a text message [TRN-03]").await
        })
        .faults(&[TEXT_MESSAGE]),
        c("TRN-04", 1, &["TRN-06"], "closes the relay connection with 1009 message_too_big when the relay sends a message of 65,541 bytes", |ctx| async move {
            let mut big = vec![0u8; MAX_MESSAGE + 1];
            // A Data frame for link 1 whose payload is one byte too long.
            big[..5].copy_from_slice(&[0x0E, 0, 0, 0, 1]);
            injected_fatal(ctx, Message::binary(big), Code::MESSAGE_TOO_BIG, "a message above 65,540 bytes [TRN-04]").await
        })
        .faults(&[OVERSIZED_MESSAGE]),
        c("ENV-06", 1, &["TRN-06"], "closes the relay connection with 4000 malformed_frame when the relay sends a truncated Ping", |ctx| async move {
            injected_fatal(ctx, Message::binary(vec![0x0F, 0x00]), Code::MALFORMED_FRAME, "a frame that does not decode [ENV-06]").await
        })
        .faults(&[MALFORMED_ENVELOPE]),
        c("ENC-09", 1, &["ENV-06", "TRN-06"], "closes the relay connection with 4000 malformed_frame when the relay sends an envelope frame of the unknown critical type 0x7E", |ctx| async move {
            injected_fatal(ctx, Message::binary(vec![0x7E, 1, 2, 3]), Code::MALFORMED_FRAME, "an unknown critical frame type [ENC-09]").await
        })
        .faults(&[UNKNOWN_ENVELOPE_TYPE]),
        c("ENC-10", 1, &["ENV-02"], "ignores an envelope frame of the unknown ignorable type 0xF0 and keeps the connection", ignorable_envelope)
            .faults(&[UNKNOWN_ENVELOPE_TYPE]),
        c("ENV-02", 1, &[], "answers the relay's Ping with a Pong of the same nonce", |ctx| async move {
            let conn = route_connection(&ctx).await?;
            ping_pong(&ctx, conn).await
        }),
        c("ENV-01", 1, &[], "does not answer a RouteChallenge for which it sent no RegisterRoute", unsolicited_challenge)
            .needs(&["pair"])
            .faults(&[UNSOLICITED_CHALLENGE]),
        c("ENV-05", 1, &["CONF-09"], "acts on the code of the relay's Error(unknown_channel), not on a message that names channel_taken", misleading_error_message)
            .needs(&["pair"])
            .faults(&[MISLEADING_ERROR_MESSAGE, UNKNOWN_CHANNEL_CODE]),
        c("ENV-05", 2, &["CONF-09"], "acts on the code of the relay's Error(channel_taken), not on a message that names unknown_channel", misleading_taken_message)
            .needs(&["pair"])
            .faults(&[MISLEADING_ERROR_MESSAGE, TAKEN_CHANNEL]),
        c("TRN-07", 1, &["TRN-05"], "treats the relay's Close 1001 whose reason names device_revoked as a lost connection: registers its route again and keeps its link", |ctx| async move {
            relay_closes(ctx, 1001, "4102 device_revoked: this device was unlinked").await
        })
        .needs(&["pair", "reconnect"])
        .faults(&[MISLEADING_CLOSE_REASON]),
        c("ERR-01", 2, &["ERR-02"], "treats the relay's Close with the unknown transport code 4099 as fatal for the connection only: registers its route again and keeps its link", |ctx| async move {
            relay_closes(ctx, 4099, "").await
        })
        .needs(&["pair", "reconnect"])
        .faults(&[UNKNOWN_CODE]),
        c("TRN-08", 1, &["TRN-12"], "refuses a code that names a plain ws:// relay off loopback (ws://192.0.2.1:9/), which the person did not configure", plain_remote_relay)
            .needs(&["pair"])
            .faults(&[PLAIN_REMOTE_RELAY]),
    ]
}

/// Whether an offered `Sec-WebSocket-Protocol` list names tandem.v1.
fn offers_v1(protocols: Option<&str>) -> bool {
    protocols.is_some_and(|p| p.split(',').any(|name| name.trim() == SUBPROTOCOL))
}

async fn offers_subprotocol(ctx: Ctx) -> CaseResult {
    let mut events = ctx.tap().subscribe();
    ctx.start("").await?;
    let offered = tap_watch(&mut events, ctx.wait(), |e| match e {
        TapEvent::Opened { protocols, .. } => Some(protocols.clone()),
        _ => None,
    })
    .await
    .ok_or_else(|| Failure::timeout("the primary to connect to its relay", "no connection"))?;
    ensure(
        offers_v1(offered.as_deref()),
        format!("Sec-WebSocket-Protocol offering {SUBPROTOCOL} [TRN-01]"),
        || {
            offered
                .clone()
                .unwrap_or_else(|| "no Sec-WebSocket-Protocol header".to_owned())
        },
    )
}

async fn wrong_selection(ctx: Ctx, selected: Option<&str>) -> CaseResult {
    ctx.tap().select_protocol(selected);
    let mut events = ctx.tap().subscribe();
    ctx.start("").await?;
    let conn = tap_watch(&mut events, ctx.wait(), |e| match e {
        TapEvent::Opened { conn, .. } => Some(*conn),
        _ => None,
    })
    .await
    .ok_or_else(|| Failure::timeout("the primary to connect to its relay", "no connection"))?;
    let used = tap_watch(&mut events, ctx.quiet() * 3, |e| match e {
        TapEvent::FromImplementation { conn: c, .. } if *c == conn => Some(()),
        TapEvent::TextFromImplementation { conn: c } if *c == conn => Some(()),
        _ => None,
    })
    .await;
    ensure(
        used.is_none(),
        format!(
            "no frame on a connection whose response selected {} [TRN-01]",
            selected.unwrap_or("no subprotocol")
        ),
        || "the primary sent frames on it".to_owned(),
    )?;
    ctx.tap().reset_selection();
    route_proof(
        &ctx,
        &mut events,
        ctx.wait() + ctx.scaled(Duration::from_secs(10)),
    )
    .await?;
    Ok(())
}

async fn only_binary(ctx: Ctx) -> CaseResult {
    let mut events = ctx.tap().subscribe();
    let paired = ctx.pair_primary().await?;
    let _link = ctx.reconnect(&paired).await?;
    let mut seen = 0usize;
    loop {
        match events.try_recv() {
            Ok(TapEvent::TextFromImplementation { conn }) => {
                return Err(Failure::fail(
                    "only binary WebSocket messages [TRN-03]",
                    format!("a text message on connection {conn}"),
                ));
            }
            Ok(TapEvent::FromImplementation { bytes, .. }) => {
                seen += 1;
                ensure(
                    bytes.len() <= MAX_MESSAGE,
                    "messages of at most 65,540 bytes [TRN-04]",
                    || format!("a message of {} bytes", bytes.len()),
                )?;
            }
            Ok(_) => {}
            Err(tokio::sync::broadcast::error::TryRecvError::Lagged(_)) => {}
            Err(_) => break,
        }
    }
    ctx.note(format!("{seen} binary messages from the primary checked"));
    ensure(seen > 0, "the primary's frames on the tap", || {
        "none".to_owned()
    })
}

async fn injected_fatal(ctx: Ctx, message: Message, code: Code, why: &str) -> CaseResult {
    let conn = route_connection(&ctx).await?;
    let mut events = ctx.tap().subscribe();
    ensure(
        ctx.tap().inject(conn, message),
        "the primary's connection open",
        || "it ended".to_owned(),
    )?;
    expect_connection_close(&ctx, &mut events, conn, code, why).await
}

async fn ping_pong(ctx: &Ctx, conn: usize) -> CaseResult {
    let nonce = ctx.relay().u64();
    let mut events = ctx.tap().subscribe();
    let ping = EnvelopeFrame::from(Ping { nonce })
        .to_bytes()
        .map_err(|e| Failure::harness("a Ping that encodes", e.to_string()))?;
    ensure(
        ctx.tap().inject(conn, Message::Binary(ping)),
        "the primary's connection open",
        || "it ended".to_owned(),
    )?;
    let answered = tap_watch(&mut events, ctx.wait(), |e| match sent_frame(e) {
        Some((c, EnvelopeFrame::Pong(p))) if c == conn => Some(p.nonce),
        _ => None,
    })
    .await;
    ensure(
        answered == Some(nonce),
        format!("Pong({nonce}) on the same connection [ENV-02]"),
        || answered.map_or("no Pong".to_owned(), |n| format!("Pong({n})")),
    )
}

async fn ignorable_envelope(ctx: Ctx) -> CaseResult {
    let conn = route_connection(&ctx).await?;
    let mut events = ctx.tap().subscribe();
    ensure(
        ctx.tap()
            .inject(conn, Message::Binary(Bytes::from_static(&[0xF0, 1, 2, 3]))),
        "the primary's connection open",
        || "it ended".to_owned(),
    )?;
    let closed = tap_watch(&mut events, ctx.quiet(), |e| match e {
        TapEvent::Closed { conn: c, code, .. } if *c == conn => Some(*code),
        _ => None,
    })
    .await;
    ensure(
        closed.is_none(),
        "the connection kept open after an ignorable frame type [ENC-10]",
        || format!("it was closed with {closed:?}"),
    )?;
    ping_pong(&ctx, conn).await
}

async fn unsolicited_challenge(ctx: Ctx) -> CaseResult {
    let mut events = ctx.tap().subscribe();
    ctx.pair_primary().await?;
    let conn = route_conn_seen(&ctx, &mut events).await;
    let challenge = EnvelopeFrame::from(RouteChallenge {
        relay_ephemeral: ctx.relay().keypair().public().0,
    })
    .to_bytes()
    .map_err(|e| Failure::harness("a RouteChallenge that encodes", e.to_string()))?;
    let mut events = ctx.tap().subscribe();
    ensure(
        ctx.tap().inject(conn, Message::Binary(challenge)),
        "the primary's connection open",
        || "it ended".to_owned(),
    )?;
    // A new connection registers again and rightly proves: only a proof on
    // the connection that got the unsolicited challenge counts.
    let proof = tap_watch(&mut events, ctx.quiet() * 2, |e| {
        sent_frame(e).and_then(|(c, f)| {
            (c == conn && matches!(f, EnvelopeFrame::RouteProof(_))).then_some(())
        })
    })
    .await;
    ensure(
        proof.is_none(),
        "no RouteProof for a RouteChallenge without a RegisterRoute [ENV-01]",
        || "RouteProof".to_owned(),
    )
}

async fn misleading_error_message(ctx: Ctx) -> CaseResult {
    ctx.tap().rewrite(|frame| match frame {
        EnvelopeFrame::Error(mut e) => {
            e.message = "channel_taken (4011): another device already joined".to_owned();
            EnvelopeFrame::Error(e)
        }
        other => other,
    });
    let text = qr_text(&qr_payload(&ctx, ctx.tap().url()))?;
    let refused = scan_any(&ctx, &text).await?;
    ensure(
        refused.as_deref() != Some("channel_taken"),
        "no `err channel_taken` for Error(unknown_channel) whose message names channel_taken [ENV-05]",
        || "err channel_taken".to_owned(),
    )?;
    expect_pairing_failed_event(&ctx, Code::UNKNOWN_CHANNEL).await
}

async fn relay_closes(ctx: Ctx, code: u16, reason: &str) -> CaseResult {
    let mut events = ctx.tap().subscribe();
    let paired = ctx.pair_primary().await?;
    let conn = route_conn_seen(&ctx, &mut events).await;
    let mut events = ctx.tap().subscribe();
    let close = Message::Close(Some(CloseFrame {
        code: CloseCode::from(code),
        reason: reason.into(),
    }));
    ensure(
        ctx.tap().inject(conn, close),
        "the primary's connection open",
        || "it ended".to_owned(),
    )?;
    route_proof(
        &ctx,
        &mut events,
        ctx.wait() + ctx.scaled(Duration::from_secs(5)),
    )
    .await?;
    let companions = status(&ctx, "companions").await?;
    ensure(
        companions.as_u64() == Some(1),
        "the link kept (`companions: 1`) after the relay closed the connection",
        || companions.to_string(),
    )?;
    ctx.reconnect(&paired).await.map(|_| ())
}

async fn plain_remote_relay(ctx: Ctx) -> CaseResult {
    let text = qr_text(&qr_payload(&ctx, "ws://192.0.2.1:9/"))?;
    let mut events = ctx.tap().subscribe();
    let refused = refusal(&ctx, &text).await?;
    ensure(
        refused.is_some(),
        "an `err` (or `pairing_failed` for a code given at start) for a code naming ws://192.0.2.1:9/ [TRN-08] [TRN-12]",
        || "ok: the primary started linking through a plain relay off loopback".to_owned(),
    )?;
    expect_no_join(
        &ctx,
        &mut events,
        ctx.quiet(),
        "a refused code sends nothing",
    )
    .await
}

async fn misleading_taken_message(ctx: Ctx) -> CaseResult {
    ctx.tap().rewrite(|frame| match frame {
        EnvelopeFrame::Error(mut e) => {
            e.message = "unknown_channel (4010): no such channel".to_owned();
            EnvelopeFrame::Error(e)
        }
        other => other,
    });
    let offer = ctx.offer_qr().await?;
    let _thief = ctx.join_channel(&offer.qr).await?;
    let refused = scan_any(&ctx, &offer.text).await?;
    ensure(
        refused.as_deref() != Some("unknown_channel"),
        "no `err unknown_channel` for Error(channel_taken) whose message names unknown_channel [ENV-05]",
        || "err unknown_channel".to_owned(),
    )?;
    expect_pairing_failed_event(&ctx, Code::CHANNEL_TAKEN).await
}
