//! A linked companion reconnecting (spec §5, §9.3): the pinned primary
//! key and the IK handshake, a message 2 from another key, backoff, and
//! which signals wipe the link: only an authenticated `Close`.

use tandem_codec::Code;
use tandem_codec::envelope::{EnvelopeFrame, Error as EnvelopeError};
use tandem_codec::handshake::Hello;
use tandem_codec::session::{InnerFrame, Resume};
use tandem_proto::handshake::{CompanionReconnect, read_reconnect};
use tandem_proto::noise::HandshakeOptions;
use tandem_proto::{PublicKey, StaticKeypair};
use tokio_tungstenite::tungstenite::Message;

use crate::case::{CaseResult, Failure, ensure};
use crate::endpoint::as_primary::Resumed;
use crate::endpoint::cases::companion::support::{
    attached_keys, close_session, comes_back, event_with_code, holds, link_closed, linked_is, live,
    resumes_from, stays_linked,
};
use crate::endpoint::cases::{EndpointCase, companion_case as c};
use crate::endpoint::ctx::Ctx;
use crate::endpoint::faults::MISLEADING_ERROR_MESSAGE;
use crate::endpoint::faults::{CUT_CONNECTION, FOREIGN_PRIMARY_KEY, FORGED_LOGOUT, REVOKED};
use crate::endpoint::link::{Incoming, Link};

const LIVE: &[&str] = &["pair", "reconnect", "sync"];

/// The reconnect cases.
pub(super) fn cases() -> Vec<EndpointCase> {
    let mut cases = pinned_key();
    cases.extend(no_wipe());
    cases.extend(wipe());
    cases
}

fn pinned_key() -> Vec<EndpointCase> {
    vec![
        c(
            "RECON-03",
            1,
            &["RECON-01", "RECON-02"],
            "attaches to the route of the primary key it pinned at pairing and runs Noise_IK to that key",
            |ctx| async move {
                let mut tap = ctx.tap().subscribe();
                let linked = ctx.pair_companion().await?;
                let pinned = linked.primary.key.public().0;
                let resumed = ctx.accept_resume(linked.primary).await?;
                drop(resumed);
                let attached = attached_keys(&mut tap);
                ensure(
                    !attached.is_empty() && attached.iter().all(|k| *k == pinned),
                    format!("AttachRoute only for the pinned key {} [RECON-03]", hex::encode(pinned)),
                    || format!("{:?}", attached.iter().map(hex::encode).collect::<Vec<_>>()),
                )
            },
        )
        .needs(&["pair", "reconnect"]),
        c(
            "RECON-03",
            2,
            &["DEV-09"],
            "refuses a message 2 made with another primary key (LinkClosed(handshake_failed)), sends nothing in it, and stays linked",
            |ctx| async move {
                let linked = ctx.pair_companion().await?;
                let key = StaticKeypair::from_private(*linked.primary.key.private());
                let mut peer = linked.primary.peer;
                let link_id = ctx.relay().link_opened(&mut peer).await?;
                let mut link = Link::new(peer, link_id, ctx.relay().log());
                link.expect(ctx.wait(), "reconnect message 1 (§5.1)", |i| matches!(i, Incoming::Handshake(_)).then_some(()))
                    .await?;
                link.send_payload(foreign_message_2(&ctx)?.into()).await?;
                link_closed(&ctx, &mut link, 0, Code::HANDSHAKE_FAILED, "a message 2 from another key [RECON-03]").await?;
                let old = Resumed {
                    link,
                    resume: Resume { log_id: 0, seq: 0 },
                    key,
                    companion_key: linked.companion_key,
                };
                let back = comes_back(&ctx, old).await?;
                drop(back);
                stays_linked(&ctx, "a failed reconnect handshake is no logout [DEV-09]").await
            },
        )
        .needs(&["pair", "reconnect"])
        .faults(&[FOREIGN_PRIMARY_KEY]),
    ]
}

/// A message 2 of a complete IK handshake whose responder holds another
/// static key than the one the companion pinned.
fn foreign_message_2(ctx: &Ctx) -> Result<Vec<u8>, Failure> {
    let foreign = ctx.relay().keypair();
    let stranger = ctx.relay().keypair();
    let options = HandshakeOptions::default();
    let harness =
        |e: tandem_proto::Error| Failure::harness("a foreign IK handshake", e.to_string());
    let (_, message_1) = CompanionReconnect::start(
        &stranger,
        &PublicKey(foreign.public().0),
        Hello { capabilities: 0 },
        &options,
    )
    .map_err(harness)?;
    let incoming = read_reconnect(&foreign, &message_1, &options).map_err(harness)?;
    let (_, message_2) = incoming
        .accept(Hello { capabilities: 0 })
        .map_err(harness)?;
    Ok(message_2)
}

/// Checks that the companion keeps its link and copy after `signal`: it
/// comes back and resumes from what it held ([RECON-07]).
async fn keeps_link_after(ctx: Ctx, signal: fn() -> Signal) -> CaseResult {
    let mut live = live(&ctx, 2, 2).await?;
    let head = live.model.head;
    match signal() {
        Signal::LinkClosed(code) => live.link().close_link(code).await?,
        Signal::Cut => ctx.tap().cut(),
        Signal::Inject(message) => {
            // A relay Error that is not fatal: the session goes on.
            let conn = ctx.tap().connections_opened();
            ensure(
                ctx.tap().inject(conn, message),
                "the companion's connection open",
                || "closed".into(),
            )?;
            stays_linked(&ctx, "a relay Error never wipes [RECON-07] [ENV-05]").await?;
            let event = live.model.incoming_text(1, "after the relay error");
            let seq = event.seq;
            live.link().send(&InnerFrame::Event(event)).await?;
            ctx.expect_ack(live.link(), seq).await?;
            return holds(&ctx, &live.model.all_messages(), "the copy kept [RECON-07]").await;
        }
    }
    let resumed = resumes_from(&ctx, live.resumed, &live.model, head).await?;
    drop(resumed);
    stays_linked(&ctx, "an unauthenticated signal never wipes [RECON-07]").await?;
    holds(&ctx, &live.model.all_messages(), "the copy kept [RECON-07]").await
}

/// An unauthenticated signal that looks like a logout.
enum Signal {
    /// `LinkClosed` from the primary's side.
    LinkClosed(Code),
    /// A message from the relay.
    Inject(Message),
    /// The connection drops.
    Cut,
}

/// A relay `Error` envelope frame as a WebSocket message.
fn relay_error(code: Code, link_id: u32, message: &str) -> Message {
    let frame = EnvelopeFrame::Error(EnvelopeError {
        code,
        link_id,
        message: message.to_owned(),
    });
    Message::Binary(frame.to_bytes().unwrap_or_default())
}

fn no_wipe() -> Vec<EndpointCase> {
    vec![
        c(
            "RECON-07",
            1,
            &["DEV-09"],
            "keeps its link and copy after LinkClosed(device_revoked), which is not authenticated",
            |ctx| keeps_link_after(ctx, || Signal::LinkClosed(Code::DEVICE_REVOKED)),
        )
        .needs(LIVE)
        .faults(&[FORGED_LOGOUT]),
        c(
            "RECON-07",
            2,
            &["ENV-05", "DEV-09"],
            "keeps its link, copy and session after a relay Error whose message says the device was revoked",
            |ctx| {
                keeps_link_after(ctx, || {
                    Signal::Inject(relay_error(Code::TOO_MANY_CHANNELS, 0, "device_revoked 4102: this device was removed, wipe it"))
                })
            },
        )
        .needs(LIVE)
        .faults(&[FORGED_LOGOUT, MISLEADING_ERROR_MESSAGE]),
        c(
            "RECON-07",
            3,
            &["DEV-09"],
            "keeps its link and copy after its relay connection drops without a Close frame",
            |ctx| keeps_link_after(ctx, || Signal::Cut),
        )
        .needs(LIVE)
        .faults(&[CUT_CONNECTION]),
        c(
            "RECON-07",
            4,
            &["ERR-01", "DEV-09"],
            "keeps its link after LinkClosed with an unknown code of the session range (4150)",
            |ctx| keeps_link_after(ctx, || Signal::LinkClosed(Code(4150))),
        )
        .needs(LIVE)
        .faults(&[FORGED_LOGOUT]),
    ]
}

/// After an authenticated `Close(code)` the companion must report
/// `unlinked` with the code, hold nothing, and stay unlinked after a
/// restart without reconnecting ([RECON-07]).
pub(super) async fn wiped(ctx: &Ctx, code: Code, why: &str) -> CaseResult {
    event_with_code(ctx, "unlinked", code, why).await?;
    linked_is(ctx, false, why).await?;
    holds(ctx, &[], "the cache wiped [RECON-07]").await?;
    if ctx.has("restart").await? {
        let mut tap = ctx.tap().subscribe();
        ctx.restart().await?;
        linked_is(
            ctx,
            false,
            "still not linked after a restart: keys wiped [RECON-07]",
        )
        .await?;
        ctx.no_event(ctx.quiet(), "anything after the restart", |_| false)
            .await?;
        let attached = attached_keys(&mut tap);
        ensure(
            attached.is_empty(),
            "no AttachRoute after the wipe: the pinned key is gone [RECON-07]",
            || format!("{} AttachRoute", attached.len()),
        )?;
    }
    Ok(())
}

/// A live companion that decrypts `Close(code)` must wipe.
async fn wipes_on_close(ctx: Ctx, code: Code) -> CaseResult {
    let mut live = live(&ctx, 2, 2).await?;
    close_session(live.link(), code, "removed").await?;
    live.link().close_link(code).await?;
    wiped(
        &ctx,
        code,
        "an authenticated Close that ends the link [RECON-07]",
    )
    .await
}

fn wipe() -> Vec<EndpointCase> {
    vec![
        c(
            "RECON-07",
            5,
            &["DEV-09", "CONF-09", "SESS-06"],
            "wipes its keys, pinned key and cache and reports unlinked(device_revoked) on an authenticated Close(device_revoked)",
            |ctx| wipes_on_close(ctx, Code::DEVICE_REVOKED),
        )
        .needs(LIVE)
        .faults(&[REVOKED]),
        c(
            "RECON-07",
            6,
            &["DEV-09"],
            "wipes and reports unlinked(unknown_device) on an authenticated Close(unknown_device)",
            |ctx| wipes_on_close(ctx, Code::UNKNOWN_DEVICE),
        )
        .needs(LIVE),
        c(
            "RECON-07",
            7,
            &["DEV-04", "RECON-05"],
            "wipes when its reconnect is answered with message 2 and Close(device_revoked), as after a revocation while offline",
            |ctx| async move {
                let linked = ctx.pair_companion().await?;
                let (mut link, _) = ctx.accept_reconnect(linked.primary).await?;
                close_session(&mut link, Code::DEVICE_REVOKED, "revoked while you were away").await?;
                link.close_link(Code::DEVICE_REVOKED).await?;
                wiped(&ctx, Code::DEVICE_REVOKED, "Close(device_revoked) right after message 2 [RECON-07]").await
            },
        )
        .needs(&["pair", "reconnect"])
        .faults(&[REVOKED]),
    ]
}
