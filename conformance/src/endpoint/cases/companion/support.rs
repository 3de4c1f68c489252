//! Steps the companion cases share (spec §5–§7, §9): a live session over a
//! model, the end of a session with a code, the companion coming back on
//! the route after any end, and checks of what it holds and shows.

use serde_json::Value;
use tandem_codec::Code;
use tandem_codec::envelope::EnvelopeFrame;
use tandem_codec::session::{Ack, Body, Close, Event, InnerFrame, Message, Send};

use crate::case::{Failure, ensure};
use crate::endpoint::as_primary::{Primary, Resumed};
use crate::endpoint::cases::checks::{received, status};
use crate::endpoint::ctx::Ctx;
use crate::endpoint::link::{Incoming, Link};
use crate::endpoint::model::Model;
use crate::relay::peer::code_name;

/// A companion in a live session over `model`.
pub(super) struct Live {
    /// What the runner's primary holds; the companion holds its snapshot.
    pub model: Model,
    /// The session.
    pub resumed: Resumed,
}

impl Live {
    /// The session's link.
    pub(super) fn link(&mut self) -> &mut Link {
        &mut self.resumed.link
    }
}

/// Pairs the companion and brings it to a live session over a model of
/// `chats` chats with `per_chat` messages each.
pub(super) async fn live(ctx: &Ctx, chats: u64, per_chat: u64) -> Result<Live, Failure> {
    let model = Model::new(ctx.relay().u64() | 1, chats, per_chat);
    let resumed = ctx.live_companion(&model).await?;
    // The person sees the synced chats before acting on them.
    if let Some(newest) = model.all_messages().iter().map(|m| m.message_id).max() {
        shown(ctx, newest).await?;
    }
    Ok(Live { model, resumed })
}

/// Frames a companion may send at any time without changing what a case
/// checks: acknowledgements up to `head`, typing and read marks.
pub(super) fn chatter(frame: &InnerFrame, head: u64) -> bool {
    match frame {
        InnerFrame::Ack(Ack { seq }) => *seq <= head,
        InnerFrame::Typing(_) | InnerFrame::MarkRead(_) => true,
        _ => false,
    }
}

/// Waits for the companion to end the session with `code` (an inner
/// `Close` or `LinkClosed`), sending nothing but chatter up to `head`
/// before it: in particular no `Ack` of what caused the end.
pub(super) async fn ends_with(
    ctx: &Ctx,
    link: &mut Link,
    head: u64,
    code: Code,
    why: &str,
) -> Result<(), Failure> {
    link.expect_end(ctx.wait(), code, why, |f| chatter(f, head))
        .await
}

/// Waits for `LinkClosed(code)` from the companion (not an inner `Close`:
/// a session that failed to decrypt cannot carry one, [SESS-09]).
pub(super) async fn link_closed(
    ctx: &Ctx,
    link: &mut Link,
    head: u64,
    code: Code,
    why: &str,
) -> Result<(), Failure> {
    let what = format!("LinkClosed({}{}) ({why})", code.0, code_name(code.0));
    link.expect_skipping(
        ctx.wait(),
        &what,
        |i| matches!(i, Incoming::Frame(f) if chatter(f, head)),
        |i| matches!(i, Incoming::LinkClosed(c) if *c == code.0).then_some(()),
    )
    .await
}

/// Checks that `received` lists exactly `expected`.
pub(super) async fn holds(ctx: &Ctx, expected: &[Message], why: &str) -> Result<(), Failure> {
    let got = received(ctx).await?;
    ensure(
        got == expected,
        format!(
            "`received` to list exactly {} messages ({why})",
            expected.len()
        ),
        || {
            let extra: Vec<&Message> = got.iter().filter(|m| !expected.contains(m)).collect();
            let missing: Vec<&Message> = expected.iter().filter(|m| !got.contains(m)).collect();
            format!(
                "{} messages; not expected: {}; missing: {}",
                got.len(),
                crate::codec::check::shorten(&format!("{extra:?}")),
                crate::codec::check::shorten(&format!("{missing:?}"))
            )
        },
    )
}

/// Checks `status` says `linked: linked`.
pub(super) async fn linked_is(ctx: &Ctx, linked: bool, why: &str) -> Result<(), Failure> {
    let value = status(ctx, "linked").await?;
    ensure(
        value == Value::Bool(linked),
        format!("`status` to say linked: {linked} ({why})"),
        || format!("linked: {value}"),
    )
}

/// Checks that the companion stays linked: no `unlinked` event within the
/// quiet time, and `status` linked.
pub(super) async fn stays_linked(ctx: &Ctx, why: &str) -> Result<(), Failure> {
    ctx.no_event(ctx.quiet(), &format!("`unlinked` event ({why})"), |e| {
        e.get("type").and_then(Value::as_str) == Some("unlinked")
    })
    .await?;
    linked_is(ctx, true, why).await
}

/// Waits for the companion to come back on the route after its session
/// ended (for any reason) and resume: skips what is left of the old link
/// on the primary's connection, answers the new handshake and reads the
/// `Resume`.
pub(super) async fn comes_back(ctx: &Ctx, old: Resumed) -> Result<Resumed, Failure> {
    comes_back_without(ctx, old, |_| false, "").await
}

/// As [`comes_back`], failing on anything `forbidden` takes that arrives
/// on the primary's connection meanwhile (`why` says why it must not).
pub(super) async fn comes_back_without(
    ctx: &Ctx,
    old: Resumed,
    mut forbidden: impl FnMut(&Incoming) -> bool,
    why: &str,
) -> Result<Resumed, Failure> {
    let mut link = old.link;
    let within = ctx.wait() + ctx.scaled(std::time::Duration::from_secs(3));
    let link_id = link
        .expect_skipping(
            within,
            &format!("LinkOpened: the companion reconnects on the route (§5.4){why}"),
            |i| !matches!(i, Incoming::Ended(_)) && !forbidden(i),
            |i| match i {
                Incoming::Envelope(EnvelopeFrame::LinkOpened(l)) => Some(l.link_id),
                _ => None,
            },
        )
        .await?;
    let primary = Primary {
        key: old.key,
        peer: link.peer,
    };
    ctx.resume_on(primary, link_id).await
}

/// As [`comes_back`], and checks that the companion resumes from what it
/// held: `model`'s log id and `seq`.
pub(super) async fn resumes_from(
    ctx: &Ctx,
    old: Resumed,
    model: &Model,
    seq: u64,
) -> Result<Resumed, Failure> {
    let resumed = comes_back(ctx, old).await?;
    let resume = resumed.resume;
    ensure(
        resume.log_id == model.log_id && resume.seq == seq,
        format!(
            "Resume({}, {seq}): the companion kept its copy [SYNC-19] [RECON-07]",
            model.log_id
        ),
        || format!("Resume({}, {})", resume.log_id, resume.seq),
    )?;
    Ok(resumed)
}

/// Waits for the companion's next `Send`, skipping chatter up to `head`.
pub(super) async fn next_send(
    ctx: &Ctx,
    link: &mut Link,
    head: u64,
    what: &str,
) -> Result<Send, Failure> {
    link.expect_frame_skipping(
        ctx.wait(),
        what,
        |f| chatter(f, head),
        |f| match f {
            InnerFrame::Send(s) => Some(s.clone()),
            _ => None,
        },
    )
    .await
}

/// Asks the companion to send `text` in `chat_id`; returns the client id
/// it answered.
pub(super) async fn send_text(ctx: &Ctx, chat_id: u64, text: &str) -> Result<[u8; 16], Failure> {
    let answer = ctx
        .ok(&format!("send {chat_id} {text}"))
        .await?
        .unwrap_or_default();
    let bytes = hex::decode(answer.trim()).ok();
    bytes
        .and_then(|b| <[u8; 16]>::try_from(b).ok())
        .ok_or_else(|| {
            Failure::fail(
                "`ok <client_id>`, 16 bytes in hex, to `send` (§12.5.3)",
                format!("`ok {answer}`"),
            )
        })
}

/// Checks that a `Send` carries `client_id` and the text `text`.
pub(super) fn is_send_of(
    send: &Send,
    client_id: [u8; 16],
    text: &str,
    why: &str,
) -> Result<(), Failure> {
    ensure(
        send.client_id == client_id && send.body == Body::Text(text.to_owned()),
        format!(
            "Send(client_id {}, text `{text}`) ({why})",
            hex::encode(client_id)
        ),
        || {
            format!(
                "Send(client_id {}, {:?})",
                hex::encode(send.client_id),
                send.body
            )
        },
    )
}

/// Sends `Close(code)` inside the session.
pub(super) async fn close_session(
    link: &mut Link,
    code: Code,
    message: &str,
) -> Result<(), Failure> {
    link.send(&InnerFrame::Close(Close {
        code,
        message: message.to_owned(),
    }))
    .await
}

/// The next event of `model` (a text in chat 1), applied to a copy so that
/// `model` stays what the companion must hold when it refuses it.
pub(super) fn event_not_applied(model: &Model, text: &str) -> Event {
    model.clone().incoming_text(1, text)
}

/// The encoded plaintext of an inner frame.
pub(super) fn plain(frame: &InnerFrame) -> Result<Vec<u8>, Failure> {
    let mut out = bytes::BytesMut::new();
    frame
        .encode(&mut out)
        .map_err(|e| Failure::harness("an inner frame that encodes", e.to_string()))?;
    Ok(out.to_vec())
}

/// Waits for an adapter event of `kind` whose `code` member is `code`.
pub(super) async fn event_with_code(
    ctx: &Ctx,
    kind: &str,
    code: Code,
    why: &str,
) -> Result<(), Failure> {
    ctx.event(
        kind,
        &format!("`{kind}` with code {}{} ({why})", code.0, code_name(code.0)),
        |e| (e.get("code").and_then(Value::as_u64) == Some(u64::from(code.0))).then_some(()),
    )
    .await
}

/// Answers the `Resume` of a companion that may or may not have kept its
/// copy across a restart (only its sends must survive, [SYNC-19]): the
/// events after its seq when it resumes `model`'s log, else a snapshot.
/// Does not wait for the `Ack`.
pub(super) async fn serve_any(
    ctx: &Ctx,
    resumed: &mut Resumed,
    model: &Model,
) -> Result<(), Failure> {
    let resume = resumed.resume;
    if resume.log_id == model.log_id && resume.seq <= model.head && resume.log_id != 0 {
        return ctx.serve_resume(&mut resumed.link, model, resume.seq).await;
    }
    for frame in model.snapshot() {
        resumed.link.send(&frame).await?;
    }
    Ok(())
}

/// The primary keys of the `AttachRoute` frames the implementation sent
/// since `rx` subscribed, and not yet read.
pub(super) fn attached_keys(
    rx: &mut tokio::sync::broadcast::Receiver<crate::endpoint::tap::TapEvent>,
) -> Vec<[u8; 32]> {
    let mut keys = Vec::new();
    while let Ok(event) = rx.try_recv() {
        if let crate::endpoint::tap::TapEvent::FromImplementation {
            frame: Some(EnvelopeFrame::AttachRoute(a)),
            ..
        } = event
        {
            keys.push(a.primary_key);
        }
    }
    keys
}

/// Waits for the `message` event of `message_id`: it is shown.
pub(super) async fn shown(ctx: &Ctx, message_id: u64) -> Result<(), Failure> {
    ctx.event(
        "message",
        &format!("`message` event for message {message_id}"),
        |e| {
            (e.pointer("/message/message_id").and_then(Value::as_u64) == Some(message_id))
                .then_some(())
        },
    )
    .await
}
