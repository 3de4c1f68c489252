//! The endpoint adapter protocol itself as a companion speaks it (spec
//! §12.5): its lines, one response per request in order, `err
//! not_implemented` for what it does not support, its events, state kept
//! under `{state_dir}`, and how it restarts and quits.

use serde_json::Value;
use tandem_codec::session::InnerFrame;

use crate::case::{Failure, ensure};
use crate::endpoint::adapter::Reply;
use crate::endpoint::cases::companion::support::{
    comes_back, linked_is, live, next_send, send_text,
};
use crate::endpoint::cases::{EndpointCase, companion_case as c};
use crate::endpoint::tap::TapEvent;

/// The adapter cases.
pub(super) fn cases() -> Vec<EndpointCase> {
    vec![
        c(
            "CONF-07",
            1,
            &["CONF-08"],
            "answers four requests sent at once with four responses in their order, `err not_implemented` for the unknown one",
            |ctx| async move {
                let replies = ctx
                    .request_all(&["status", "received", "frobnicate now", "status"])
                    .await?;
                let json = |r: &Reply| match r {
                    Reply::Ok(Some(text)) => serde_json::from_str::<Value>(text).ok(),
                    _ => None,
                };
                let shape = (
                    json(&replies[0]).is_some_and(|v| v.is_object()),
                    json(&replies[1]).is_some_and(|v| v.is_array()),
                    matches!(&replies[2], Reply::Err { code, .. } if code == "not_implemented"),
                    json(&replies[3]).is_some_and(|v| v.is_object()),
                );
                ensure(
                    shape == (true, true, true, true),
                    "ok {status}, ok [received], err not_implemented, ok {status}, in that order [CONF-07] [CONF-08]",
                    || format!("{replies:?}"),
                )
            },
        ),
        c(
            "CONF-08",
            1,
            &[],
            "answers requests of the primary role (confirm, inject, devices) with `err not_implemented`",
            |ctx| async move {
                for line in ["confirm", "inject 1 hello", "devices", "add-contact Ada"] {
                    let reply = ctx.request(line).await?;
                    ensure(
                        matches!(&reply, Reply::Err { code, .. } if code == "not_implemented"),
                        format!("`err not_implemented` to `{line}`, a primary's request [CONF-08]"),
                        || format!("{reply:?}"),
                    )?;
                }
                Ok(())
            },
        ),
        c(
            "CONF-08",
            2,
            &[],
            "does not answer `ok` to history, read or send while not linked: it cannot start them",
            |ctx| async move {
                for line in ["history 1", "read 1", "send 1 hello"] {
                    let reply = ctx.request(line).await?;
                    ensure(
                        !matches!(reply, Reply::Ok(_)),
                        format!("an `err` to `{line}` from a companion that is not linked [CONF-08]"),
                        || format!("{reply:?}"),
                    )?;
                }
                Ok(())
            },
        ),
        c(
            "CONF-06",
            1,
            &[],
            "ignores a carriage return before the line feed of a request",
            |ctx| async move {
                let value = ctx.ok_json("status\r").await?;
                ensure(value.is_object(), "a JSON object for `status` sent as `status\\r\\n` [CONF-06]", || {
                    value.to_string()
                })
            },
        ),
        c(
            "CONF-05",
            1,
            &["CONF-10"],
            "starts unlinked in a fresh state folder and finds its link there after a restart",
            |ctx| async move {
                linked_is(&ctx, false, "a fresh {state_dir} holds no link [CONF-05]").await?;
                let live = live(&ctx, 1, 1).await?;
                ctx.restart().await?;
                linked_is(&ctx, true, "the link found in {state_dir} after a restart [CONF-05]").await?;
                let back = comes_back(&ctx, live.resumed).await?;
                drop(back);
                Ok(())
            },
        )
        .needs(&["pair", "reconnect", "sync", "restart"]),
        c(
            "CONF-10",
            1,
            &["TRN-06"],
            "on `restart` answers ok, closes its relay connection with a Close frame, exits 0, and comes back linked",
            |ctx| async move {
                let live = live(&ctx, 1, 1).await?;
                let mut rx = ctx.tap().subscribe();
                ctx.restart().await?;
                let mut closes = Vec::new();
                while let Ok(event) = rx.try_recv() {
                    if let TapEvent::Closed { by_implementation: true, code, .. } = event {
                        closes.push(code);
                    }
                }
                ensure(
                    !closes.is_empty() && closes.iter().all(|c| matches!(c, Some(1000 | 1001))),
                    "its connection closed with a Close frame 1000 or 1001, as a person quitting does [CONF-10] [TRN-05]",
                    || format!("{closes:?}"),
                )?;
                let back = comes_back(&ctx, live.resumed).await?;
                drop(back);
                linked_is(&ctx, true, "still linked after a restart [CONF-10]").await
            },
        )
        .needs(&["pair", "reconnect", "sync", "restart"]),
        c(
            "CONF-10",
            2,
            &[],
            "on `quit` answers ok and exits with status 0",
            |ctx| async move {
                ctx.ok("status").await?;
                ctx.quit().await
            },
        ),
        c(
            "CONF-11",
            1,
            &["CONF-07"],
            "keeps answering, and never exits with status 3, while its relay is unreachable",
            |ctx| async move {
                let live = live(&ctx, 1, 1).await?;
                ctx.tap().refuse(true);
                ctx.tap().cut();
                ctx.event("peer", "`peer` online: false after the connection dropped", |e| {
                    (e.get("online") == Some(&Value::Bool(false))).then_some(())
                })
                .await
                .or_else(|f| if f.kind == crate::case::FailKind::Timeout { Ok(()) } else { Err(f) })?;
                for _ in 0..3 {
                    linked_is(&ctx, true, "linked while the relay is unreachable").await?;
                }
                ctx.restart().await?;
                linked_is(&ctx, true, "linked after a restart while the relay is unreachable").await?;
                ctx.tap().refuse(false);
                drop(live);
                Ok(())
            },
        )
        .needs(&["pair", "reconnect", "sync", "restart"]),
        c(
            "CONF-09",
            1,
            &[],
            "reports peer, message and send_result events for what the person sees",
            |ctx| async move {
                let mut live = live(&ctx, 1, 1).await?;
                let head = live.model.head;
                ctx.event("peer", "`peer` online: true once synced [CONF-09]", |e| {
                    (e.get("online") == Some(&Value::Bool(true))).then_some(())
                })
                .await?;
                let event = live.model.incoming_text(1, "shown");
                let id = message_id(&event)?;
                live.link().send(&InnerFrame::Event(event)).await?;
                ctx.event("message", "`message` for the new message [CONF-09]", |e| {
                    (e.pointer("/message/message_id").and_then(Value::as_u64) == Some(id)).then_some(())
                })
                .await?;
                let client_id = send_text(&ctx, 1, "acknowledged").await?;
                let send = next_send(&ctx, live.link(), head + 1, "the Send").await?;
                let (ack, _) = live.model.apply_send(send.client_id, send.chat_id, send.body);
                live.link().send(&InnerFrame::SendAck(ack)).await?;
                let wanted = hex::encode(client_id);
                ctx.event("send_result", "`send_result` with the message id of the SendAck [CONF-09]", |e| {
                    (e.get("client_id").and_then(Value::as_str) == Some(wanted.as_str())
                        && e.get("message_id").and_then(Value::as_u64) == Some(ack.message_id))
                    .then_some(())
                })
                .await?;
                Ok(())
            },
        )
        .needs(&["pair", "reconnect", "sync", "send"]),
    ]
}

/// The message id of a `MessageAdded` event.
fn message_id(event: &tandem_codec::session::Event) -> Result<u64, Failure> {
    match &event.body {
        tandem_codec::session::EventBody::MessageAdded(m) => Ok(m.message_id),
        _ => Err(Failure::harness("a MessageAdded event", "another kind")),
    }
}
