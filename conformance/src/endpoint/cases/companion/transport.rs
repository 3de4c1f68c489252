//! The companion's relay connection (spec §2, §3.6, §3.7): the
//! subprotocol it offers and requires, what it closes the connection for
//! and with which code, the keepalive, and that nothing the relay says at
//! this layer makes it forget its link.

use std::time::{Duration, Instant};

use tandem_codec::envelope::{EnvelopeFrame, Ping};
use tokio::sync::broadcast::Receiver;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

use crate::case::{CaseResult, Failure, ensure};
use crate::endpoint::cases::companion::support::{live, resumes_from, stays_linked};
use crate::endpoint::cases::{EndpointCase, companion_case as c};
use crate::endpoint::ctx::Ctx;
use crate::endpoint::faults::CUT_CONNECTION;
use crate::endpoint::faults::{
    MALFORMED_ENVELOPE, MISLEADING_CLOSE_REASON, OVERSIZED_MESSAGE, TEXT_MESSAGE, WRONG_SUBPROTOCOL,
};
use crate::endpoint::tap::TapEvent;

const LIVE: &[&str] = &["pair", "reconnect", "sync"];

/// The transport cases.
pub(super) fn cases() -> Vec<EndpointCase> {
    let mut cases = subprotocol();
    cases.extend(closes());
    cases.extend(keepalive());
    cases
}

/// Waits for a tap event that `accept` takes.
async fn tap_event<T>(
    rx: &mut Receiver<TapEvent>,
    within: Duration,
    what: &str,
    mut accept: impl FnMut(&TapEvent) -> Option<T>,
) -> Result<T, Failure> {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Ok(event)) => {
                if let Some(value) = accept(&event) {
                    return Ok(value);
                }
            }
            Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => {}
            Ok(Err(e)) => return Err(Failure::harness("the tap's events", e.to_string())),
            Err(_) => {
                return Err(Failure::timeout(
                    what.to_owned(),
                    "nothing such crossed the tap",
                ));
            }
        }
    }
}

/// Everything that crossed the tap and was not read yet.
fn drain(rx: &mut Receiver<TapEvent>) -> Vec<TapEvent> {
    let mut events = Vec::new();
    while let Ok(event) = rx.try_recv() {
        events.push(event);
    }
    events
}

fn subprotocol() -> Vec<EndpointCase> {
    vec![
        c(
            "TRN-01",
            1,
            &[],
            "offers the subprotocol tandem.v1 on every connection it opens, for pairing and for its route",
            |ctx| async move {
                let mut rx = ctx.tap().subscribe();
                let live = live(&ctx, 1, 1).await?;
                drop(live);
                let offers: Vec<Option<String>> = drain(&mut rx)
                    .into_iter()
                    .filter_map(|e| match e {
                        TapEvent::Opened { protocols, .. } => Some(protocols),
                        _ => None,
                    })
                    .collect();
                ensure(
                    offers.len() >= 2
                        && offers.iter().all(|o| {
                            o.as_deref().is_some_and(|p| p.split(',').any(|n| n.trim() == "tandem.v1"))
                        }),
                    "Sec-WebSocket-Protocol offering tandem.v1 on the pairing and the route connections [TRN-01]",
                    || format!("{offers:?}"),
                )
            },
        )
        .needs(LIVE),
        c(
            "TRN-01",
            2,
            &["DEV-09"],
            "fails a connection whose upgrade response selects no subprotocol: sends no frame on it, and reconnects once the relay selects one",
            |ctx| refuses_selection(ctx, None),
        )
        .needs(LIVE)
        .faults(&[WRONG_SUBPROTOCOL, CUT_CONNECTION]),
        c(
            "TRN-01",
            3,
            &[],
            "fails a connection whose upgrade response selects a subprotocol it did not offer (tandem.v0)",
            |ctx| refuses_selection(ctx, Some("tandem.v0")),
        )
        .needs(LIVE)
        .faults(&[WRONG_SUBPROTOCOL, CUT_CONNECTION]),
        c(
            "RECON-08",
            1,
            &[],
            "waits with exponential backoff between failed connection attempts (at most 12 in 4 s)",
            |ctx| async move {
                let live = live(&ctx, 1, 1).await?;
                let mut rx = ctx.tap().subscribe();
                ctx.tap().select_protocol(None);
                ctx.tap().cut();
                let window = ctx.scaled(Duration::from_secs(4));
                let mut attempts = 0usize;
                let deadline = Instant::now() + window;
                while Instant::now() < deadline {
                    let left = deadline.saturating_duration_since(Instant::now());
                    match tap_event(&mut rx, left, "attempt", |e| matches!(e, TapEvent::Opened { .. }).then_some(())).await {
                        Ok(()) => attempts += 1,
                        Err(_) => break,
                    }
                }
                ensure(
                    (2..=12).contains(&attempts),
                    "between 2 and 12 connection attempts in 4 s: retries with backoff from 250 ms [RECON-08]",
                    || format!("{attempts} attempts"),
                )?;
                ctx.tap().reset_selection();
                drop(live);
                Ok(())
            },
        )
        .needs(LIVE)
        .faults(&[WRONG_SUBPROTOCOL, CUT_CONNECTION]),
    ]
}

/// The relay answers upgrades with `selected` (not what the companion
/// offered): the companion must send nothing on those connections
/// ([TRN-01]), and come back once the relay behaves.
async fn refuses_selection(ctx: Ctx, selected: Option<&'static str>) -> CaseResult {
    let live = live(&ctx, 1, 2).await?;
    let head = live.model.head;
    let mut rx = ctx.tap().subscribe();
    ctx.tap().select_protocol(selected);
    ctx.tap().cut();
    let conn = tap_event(
        &mut rx,
        ctx.wait(),
        "a new connection attempt after the cut (§5.4)",
        |e| match e {
            TapEvent::Opened { conn, .. } => Some(*conn),
            _ => None,
        },
    )
    .await?;
    ctx.no_event(ctx.scaled(Duration::from_secs(1)), "anything", |_| false)
        .await?;
    let sent: Vec<String> = drain(&mut rx)
        .into_iter()
        .filter_map(|e| match e {
            TapEvent::FromImplementation { conn: c, frame, .. } if c >= conn => {
                Some(frame.map_or_else(|| "bytes".to_owned(), |f| f.name().to_owned()))
            }
            _ => None,
        })
        .collect();
    ensure(
        sent.is_empty(),
        "no frame on a connection whose response selects no subprotocol it offered [TRN-01]",
        || sent.join(", "),
    )?;
    ctx.tap().reset_selection();
    let resumed = resumes_from(&ctx, live.resumed, &live.model, head).await?;
    drop(resumed);
    stays_linked(&ctx, "a refused upgrade is no logout").await
}

/// The runner, as the relay, sends `message` on the companion's
/// connection: the companion must close it with a Close frame of `code`
/// ([TRN-06]), then come back and stay linked.
async fn closes_with(ctx: Ctx, message: Message, code: u16, why: &str) -> CaseResult {
    let live = live(&ctx, 1, 2).await?;
    let head = live.model.head;
    let mut rx = ctx.tap().subscribe();
    let conn = ctx.tap().connections_opened();
    ensure(
        ctx.tap().inject(conn, message),
        "the companion's connection open",
        || "closed".into(),
    )?;
    let closed = tap_event(
        &mut rx,
        ctx.wait(),
        &format!("the companion to close the connection with {code} ({why})"),
        |e| match e {
            TapEvent::Closed {
                conn: c,
                by_implementation: true,
                code,
            } if *c == conn => Some(*code),
            _ => None,
        },
    )
    .await?;
    ensure(
        closed == Some(code),
        format!("a Close frame with code {code} ({why}) [TRN-06]"),
        || match closed {
            Some(c) => format!("a Close frame with code {c}"),
            None => "the connection ended without a Close frame".into(),
        },
    )?;
    let resumed = resumes_from(&ctx, live.resumed, &live.model, head).await?;
    drop(resumed);
    stays_linked(&ctx, "a connection it closed is no logout").await
}

fn closes() -> Vec<EndpointCase> {
    vec![
        c(
            "TRN-03",
            1,
            &["TRN-06"],
            "closes the connection with 1003 unsupported_data when the relay sends a text message",
            |ctx| closes_with(ctx, Message::Text("hello".into()), 1003, "a text message [TRN-03]"),
        )
        .needs(LIVE)
        .faults(&[TEXT_MESSAGE]),
        c(
            "TRN-04",
            1,
            &["TRN-06"],
            "closes the connection with 1009 message_too_big on a message of 70,000 bytes",
            |ctx| {
                let mut big = vec![0u8; 70_000];
                big[0] = 0x05;
                closes_with(ctx, Message::Binary(big.into()), 1009, "a message over 65,540 bytes [TRN-04]")
            },
        )
        .needs(LIVE)
        .faults(&[OVERSIZED_MESSAGE]),
        c(
            "ENV-06",
            1,
            &["TRN-06"],
            "closes the connection with malformed_frame (4000) when the relay sends a frame it cannot decode",
            |ctx| {
                closes_with(
                    ctx,
                    // A PeerState (0x0c) cut short: a known type that does not decode.
                    Message::Binary(vec![0x0c, 0x00, 0x00].into()),
                    4000,
                    "a PeerState frame cut short, which does not decode [ENV-06]",
                )
            },
        )
        .needs(LIVE)
        .faults(&[MALFORMED_ENVELOPE]),
        c(
            "TRN-07",
            1,
            &["DEV-09"],
            "acts on the close code alone: a Close 1001 whose reason says device_revoked is a lost connection, not a logout",
            |ctx| async move {
                let live = live(&ctx, 1, 2).await?;
                let head = live.model.head;
                let conn = ctx.tap().connections_opened();
                let close = Message::Close(Some(CloseFrame {
                    code: 1001.into(),
                    reason: "device_revoked 4102 unlinked".into(),
                }));
                ensure(ctx.tap().inject(conn, close), "the companion's connection open", || "closed".into())?;
                let resumed = resumes_from(&ctx, live.resumed, &live.model, head).await?;
                drop(resumed);
                stays_linked(&ctx, "the reason string is never parsed [TRN-07]").await
            },
        )
        .needs(LIVE)
        .faults(&[MISLEADING_CLOSE_REASON]),
    ]
}

fn keepalive() -> Vec<EndpointCase> {
    vec![
        c(
            "ENV-02",
            1,
            &[],
            "answers the relay's Ping with a Pong carrying the same nonce",
            |ctx| async move {
                let live = live(&ctx, 1, 1).await?;
                let mut rx = ctx.tap().subscribe();
                let conn = ctx.tap().connections_opened();
                let nonce = ctx.relay().u64();
                let ping = EnvelopeFrame::Ping(Ping { nonce })
                    .to_bytes()
                    .map_err(|e| Failure::harness("a Ping that encodes", e.to_string()))?;
                ensure(
                    ctx.tap().inject(conn, Message::Binary(ping)),
                    "the companion's connection open",
                    || "closed".into(),
                )?;
                let answered = tap_event(
                    &mut rx,
                    ctx.wait(),
                    "Pong with the Ping's nonce [ENV-02]",
                    |e| match e {
                        TapEvent::FromImplementation {
                            frame: Some(EnvelopeFrame::Pong(p)),
                            ..
                        } => Some(p.nonce),
                        _ => None,
                    },
                )
                .await?;
                drop(live);
                ensure(answered == nonce, format!("Pong({nonce}) [ENV-02]"), || {
                    format!("Pong({answered})")
                })
            },
        )
        .needs(LIVE),
        c(
            "ENV-03",
            1,
            &[],
            "sends a Ping after PING_INTERVAL (20 s) without receiving anything",
            |ctx| async move {
                let live = live(&ctx, 1, 1).await?;
                let mut rx = ctx.tap().subscribe();
                let within = ctx.scaled(Duration::from_secs(30));
                tap_event(
                    &mut rx,
                    within,
                    "a Ping from the idle companion within PING_INTERVAL + 10 s [ENV-03]",
                    |e| {
                        matches!(
                            e,
                            TapEvent::FromImplementation {
                                frame: Some(EnvelopeFrame::Ping(_)),
                                ..
                            }
                        )
                        .then_some(())
                    },
                )
                .await?;
                drop(live);
                Ok(())
            },
        )
        .needs(LIVE)
        .longer(Duration::from_secs(35)),
    ]
}
