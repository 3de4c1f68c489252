//! The endpoint adapter of a primary under test (spec §12.5): one response
//! per request, in order ([CONF-07]), `err not_implemented` for what it
//! does not support and no `ok` for what it did not start ([CONF-08]),
//! `restart` and `quit` ([CONF-10]), state kept under `{state_dir}`
//! ([CONF-05]), its events ([CONF-09]) and its exit status ([CONF-11]).

use serde_json::Value;

use crate::case::{CaseResult, FailKind, Failure, ensure};
use crate::endpoint::adapter::Reply;
use crate::endpoint::as_companion::Paired;
use crate::endpoint::cases::checks::status;
use crate::endpoint::cases::{EndpointCase, primary_case as c};
use crate::endpoint::ctx::Ctx;
use crate::endpoint::link::Incoming;

/// The adapter cases.
pub(super) fn cases() -> Vec<EndpointCase> {
    vec![
        c("CONF-07", 1, &["CONF-08"], "answers four requests sent at once with four responses in their order", pipelined),
        c("CONF-08", 1, &[], "answers a verb it does not know with err not_implemented", |ctx| async move {
            expect_not_implemented(&ctx, "frobnicate the widgets").await
        }),
        c("CONF-08", 2, &[], "answers the companion's requests show-qr, unlink and history with err not_implemented", |ctx| async move {
            for line in ["show-qr", "unlink", "history 1"] {
                expect_not_implemented(&ctx, line).await?;
            }
            Ok(())
        }),
        c("CONF-08", 3, &[], "does not answer ok to confirm or decline when no link waits for confirmation", |ctx| async move {
            for line in ["confirm", "decline"] {
                expect_not_ok(&ctx, line, "no link waits for confirmation").await?;
            }
            Ok(())
        })
        .needs(&["pair"]),
        c("CONF-08", 4, &[], "does not answer ok to revoke of a device id it never linked", |ctx| async move {
            ctx.pair_primary().await?;
            expect_not_ok(&ctx, "revoke 0123456789abcdef", "no such device").await
        })
        .needs(&["pair", "devices"]),
        c("CONF-10", 1, &["CONF-05"], "on restart answers ok, ends the companion's session, exits 0, and comes back with the link kept", restart_keeps_link)
            .needs(&["pair", "reconnect", "restart"]),
        c("CONF-10", 2, &[], "on quit answers ok and exits with status 0", |ctx| async move {
            ctx.ok("status").await?;
            ctx.quit().await
        }),
        c("CONF-05", 1, &["PAIR-07"], "keeps a confirmed link in {state_dir} across a SIGKILL: the companion reconnects after the new start", |ctx| async move {
            let paired = ctx.pair_primary().await?;
            ctx.crash().await?;
            expect_companions(&ctx, 1, "after a SIGKILL and a new start").await?;
            ctx.reconnect(&paired).await.map(|_| ())
        })
        .needs(&["pair", "reconnect"]),
        c("CONF-06", 1, &[], "answers status with one JSON object on one line: route_registered (boolean) and companions (number)", |ctx| async move {
            let answer = ctx.ok_json("status").await?;
            ensure(
                answer.get("route_registered").is_some_and(Value::is_boolean)
                    && answer.get("companions").is_some_and(Value::is_u64),
                "`{\"route_registered\": bool, \"companions\": number}` (§12.5.3)",
                || answer.to_string(),
            )
        }),
        c("CONF-11", 1, &["CONF-07"], "answers lines that do not parse (a missing argument, a chat id that is not a number) with err and keeps running: it does not exit, with status 3 or any other", malformed_lines),
        c("CONF-09", 3, &["DEV-04"], "reports unlinked with the device id when the person revokes a companion", |ctx| async move {
            let paired = ctx.pair_primary().await?;
            ctx.ok(&format!("revoke {}", paired.device_id)).await?;
            let device = ctx
                .event("unlinked", "`unlinked` for the revoked companion [CONF-09]", |e| {
                    Some(e.get("device_id").and_then(Value::as_str).map(str::to_owned))
                })
                .await?;
            ensure(
                device.as_deref() == Some(paired.device_id.as_str()),
                format!("`unlinked` with device_id {}", paired.device_id),
                || format!("{device:?}"),
            )
        })
        .needs(&["pair", "devices"]),
    ]
}

async fn expect_not_implemented(ctx: &Ctx, line: &str) -> CaseResult {
    let answer = ctx.request(line).await?;
    ensure(
        matches!(&answer, Reply::Err { code, .. } if code == "not_implemented"),
        format!("`err not_implemented` to `{line}` [CONF-08]"),
        || format!("{answer:?}"),
    )
}

async fn expect_not_ok(ctx: &Ctx, line: &str, why: &str) -> CaseResult {
    let answer = ctx.request(line).await?;
    ensure(
        matches!(answer, Reply::Err { .. }),
        format!("an `err` to `{line}` ({why}) [CONF-08]"),
        || format!("{answer:?}"),
    )
}

async fn expect_companions(ctx: &Ctx, count: u64, when: &str) -> CaseResult {
    let companions = status(ctx, "companions").await?;
    ensure(
        companions.as_u64() == Some(count),
        format!("`companions: {count}` in `status` {when} [CONF-05]"),
        || companions.to_string(),
    )
}

async fn pipelined(ctx: Ctx) -> CaseResult {
    let lines = ["status", "capabilities", "frobnicate", "status"];
    let replies = ctx.request_all(&lines).await?;
    let json_object = |r: &Reply| matches!(r, Reply::Ok(Some(t)) if t.starts_with('{'));
    let in_order = replies.len() == 4
        && json_object(&replies[0])
        && matches!(&replies[1], Reply::Ok(Some(t)) if t.starts_with("adapter/1 primary"))
        && matches!(&replies[2], Reply::Err { code, .. } if code == "not_implemented")
        && json_object(&replies[3]);
    ensure(
        in_order,
        "a status object, the capabilities, err not_implemented and a status object, in that order [CONF-07]",
        || format!("{replies:?}"),
    )
}

async fn restart_keeps_link(ctx: Ctx) -> CaseResult {
    let paired: Paired = ctx.pair_primary().await?;
    let mut link = ctx.reconnect(&paired).await?;
    ctx.restart().await?;
    link.expect_skipping(
        ctx.wait(),
        "the end of the session when the primary quits: LinkClosed or PeerState(online = false) [CONF-10]",
        |i| matches!(i, Incoming::Frame(_)),
        |i| {
            matches!(
                i,
                Incoming::LinkClosed(_) | Incoming::PeerState(false) | Incoming::Ended(_)
            )
            .then_some(())
        },
    )
    .await?;
    expect_companions(&ctx, 1, "after restart").await?;
    ctx.reconnect(&paired).await.map(|_| ())
}

async fn malformed_lines(ctx: Ctx) -> CaseResult {
    ctx.ok("status").await?;
    for line in ["link", "send notanumber hello", "revoke"] {
        let answer = ctx.request(line).await.map_err(|f| match f.kind {
            FailKind::NotImplemented => Failure::fail(
                format!("an `err` to the line `{line}`, not an exit with status 3 [CONF-11]"),
                f.actual,
            ),
            _ => f,
        })?;
        ensure(
            matches!(answer, Reply::Err { .. }),
            format!("an `err` (bad_request) to the line `{line}` [CONF-07]"),
            || format!("{answer:?}"),
        )?;
    }
    let companions = status(&ctx, "companions").await?;
    ensure(
        companions.as_u64() == Some(0),
        "the implementation still answering `status` after lines that do not parse",
        || companions.to_string(),
    )
}
