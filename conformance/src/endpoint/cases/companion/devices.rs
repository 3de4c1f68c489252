//! Unlinking from the companion under test (spec §9.4, §9.5): `Unlink`
//! is the last frame of its session, everything is wiped no later than it
//! leaves (a crash right after leaves nothing), and `Close(unlinked)` is
//! shown as the primary's confirmation.

use serde_json::Value;
use tandem_codec::Code;
use tandem_codec::session::InnerFrame;

use crate::case::ensure;
use crate::endpoint::cases::companion::reconnect::wiped;
use crate::endpoint::cases::companion::support::{
    Live, attached_keys, chatter, close_session, holds, linked_is, live,
};
use crate::endpoint::cases::{EndpointCase, companion_case as c};
use crate::endpoint::ctx::Ctx;
use crate::endpoint::link::Incoming;

const UNLINK: &[&str] = &["pair", "reconnect", "sync", "devices"];

/// The device cases.
pub(super) fn cases() -> Vec<EndpointCase> {
    vec![
        c(
            "DEV-07",
            1,
            &["DEV-09", "CONF-09"],
            "sends Unlink as the last frame of its session and shows unlinked(unlinked) when the primary confirms",
            |ctx| async move {
                let mut live = unlink(&ctx).await?;
                let head = live.model.head;
                live.link()
                    .expect_quiet(ctx.quiet(), "nothing after Unlink on its session [DEV-07]", |i| {
                        !matches!(i, Incoming::Frame(f) if !chatter(f, head))
                    })
                    .await?;
                close_session(live.link(), Code::UNLINKED, "logged out").await?;
                live.link().close_link(Code::UNLINKED).await?;
                wiped(&ctx, Code::UNLINKED, "Close(unlinked) confirms the Unlink [DEV-07]").await
            },
        )
        .needs(UNLINK),
        c(
            "DEV-07",
            2,
            &["CONF-05"],
            "has wiped everything by the time Unlink leaves: killed right after it, it starts unlinked and reconnects to nothing",
            |ctx| async move {
                unlink(&ctx).await?;
                let mut tap = ctx.tap().subscribe();
                ctx.crash().await?;
                linked_is(&ctx, false, "nothing left after a crash right after Unlink [DEV-07]").await?;
                holds(&ctx, &[], "no cache left [DEV-07]").await?;
                ctx.no_event(ctx.quiet(), "anything after the restart", |_| false).await?;
                let attached = attached_keys(&mut tap);
                ensure(
                    attached.is_empty(),
                    "no AttachRoute after Unlink: the pinned key is gone [DEV-07]",
                    || format!("{} AttachRoute", attached.len()),
                )
            },
        )
        .needs(&["pair", "reconnect", "sync", "devices", "restart"]),
        c(
            "DEV-08",
            1,
            &[],
            "unlinked while the primary is offline, wipes at once and tells the person",
            |ctx| async move {
                let live = live(&ctx, 1, 2).await?;
                live.resumed.link.peer.close().await;
                ctx.event("peer", "`peer` online: false after the primary left", |e| {
                    (e.get("online") == Some(&Value::Bool(false))).then_some(())
                })
                .await?;
                ctx.ok("unlink").await?;
                ctx.event("unlinked", "`unlinked` at once, without a session [DEV-08]", |_| Some(()))
                    .await?;
                linked_is(&ctx, false, "wiped at once [DEV-08]").await
            },
        )
        .needs(UNLINK),
    ]
}

/// A live companion whose person unlinks it: waits for its `Unlink`.
async fn unlink(ctx: &Ctx) -> Result<Live, crate::case::Failure> {
    let mut live = live(ctx, 1, 2).await?;
    let head = live.model.head;
    ctx.ok("unlink").await?;
    live.link()
        .expect_frame_skipping(
            ctx.wait(),
            "Unlink after `unlink` (§9.4)",
            |f| chatter(f, head),
            |f| matches!(f, InnerFrame::Unlink).then_some(()),
        )
        .await?;
    Ok(live)
}
