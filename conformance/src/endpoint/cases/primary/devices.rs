//! The device list of a primary under test (spec §9): what `devices`
//! shows (§9.2), revocation with its authenticated `Close(device_revoked)`
//! and its durability (§9.3), and `Unlink` from the companion (§9.4).

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;
use sha2::{Digest, Sha256};
use tandem_codec::Code;
use tandem_codec::session::{InnerFrame, Resume};

use super::sync::{Live, live};
use crate::case::{Failure, ensure};
use crate::endpoint::as_companion::Paired;
use crate::endpoint::cases::{EndpointCase, primary_case as c};
use crate::endpoint::ctx::Ctx;
use crate::endpoint::faults::HANDSHAKE_ONLY;
use crate::endpoint::link::{Incoming, Link};

/// Capabilities of a device case.
const DEVICES: &[&str] = &["pair", "reconnect", "sync", "devices"];

/// Capabilities of a device case that restarts the primary.
const DEVICES_RESTART: &[&str] = &["pair", "reconnect", "sync", "devices", "restart"];

/// `MAX_COMPANIONS` (§9.1).
const MAX_COMPANIONS: usize = 4;

/// The device id of §9.2 for a companion key: 16 lower-case hex digits.
fn device_id_of(paired: &Paired) -> String {
    let digest = Sha256::digest(paired.identity.public().0);
    hex::encode(&digest[..8])
}

/// Milliseconds since the Unix epoch now.
fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The `devices` answer as a list.
async fn devices(ctx: &Ctx) -> Result<Vec<Value>, Failure> {
    let value = ctx.ok_json("devices").await?;
    value
        .as_array()
        .cloned()
        .ok_or_else(|| Failure::fail("a JSON array from `devices` (§12.5.3)", value.to_string()))
}

/// The row of `devices` for `device_id`, if listed.
async fn row(ctx: &Ctx, device_id: &str) -> Result<Option<Value>, Failure> {
    Ok(devices(ctx)
        .await?
        .into_iter()
        .find(|d| d.get("device_id").and_then(Value::as_str) == Some(device_id)))
}

/// The row of a companion that must be listed ([DEV-01]).
async fn listed(ctx: &Ctx, paired: &Paired) -> Result<Value, Failure> {
    let id = device_id_of(paired);
    let list = devices(ctx).await?;
    list.iter()
        .find(|d| d.get("device_id").and_then(Value::as_str) == Some(id.as_str()))
        .cloned()
        .ok_or_else(|| {
            Failure::fail(
                format!("`devices` to list the companion as {id} (first 8 bytes of SHA-256 of its key) [DEV-01]"),
                Value::Array(list).to_string(),
            )
        })
}

/// Checks that a companion is no longer listed.
async fn ensure_gone(ctx: &Ctx, paired: &Paired, why: &str) -> Result<(), Failure> {
    let id = device_id_of(paired);
    let found = row(ctx, &id).await?;
    ensure(
        found.is_none(),
        format!("`devices` without {id} ({why})"),
        || found.map(|v| v.to_string()).unwrap_or_default(),
    )
}

/// Waits for the `unlinked` event of a companion with `code`.
async fn expect_unlinked_event(ctx: &Ctx, paired: &Paired, code: Code) -> Result<(), Failure> {
    let id = device_id_of(paired);
    let got = ctx
        .event("unlinked", "`unlinked` for the companion (§12.5.4)", |e| {
            (e.get("device_id").and_then(Value::as_str) == Some(id.as_str()))
                .then(|| e.get("code").and_then(Value::as_u64))
        })
        .await?;
    ensure(
        got == Some(u64::from(code.0)),
        format!("`unlinked` with code {} (§9.5)", code.0),
        || format!("{got:?}"),
    )
}

/// Expects the session to end with the authenticated `Close(code)`, with
/// nothing but events before it.
async fn expect_close(ctx: &Ctx, link: &mut Link, code: Code, why: &str) -> Result<(), Failure> {
    let got = link
        .expect_skipping(
            ctx.wait(),
            &format!("Close({}) inside the session ({why})", code.0),
            |i| {
                matches!(
                    i,
                    Incoming::Frame(InnerFrame::Event(_) | InnerFrame::Typing(_))
                )
            },
            |i| match i {
                Incoming::Frame(InnerFrame::Close(c)) => Some(c.code),
                _ => None,
            },
        )
        .await?;
    ensure(got == code, format!("Close({}) ({why})", code.0), || {
        format!("Close({})", got.0)
    })
}

/// Reconnects a companion that is no longer linked: message 2, then
/// `Close(device_revoked)` and nothing else ([DEV-04], [RECON-05]).
async fn expect_refused_reconnect(ctx: &Ctx, paired: &Paired) -> Result<(), Failure> {
    let mut link = ctx.reconnect(paired).await?;
    // What a companion sends next: a primary still serving the key would
    // answer it, which fails at once instead of by a timeout.
    link.send(&InnerFrame::Resume(Resume { log_id: 0, seq: 0 }))
        .await?;
    let first = link
        .next(ctx.wait(), "Close(device_revoked) after message 2 [DEV-04]")
        .await?;
    ensure(
        matches!(&first, Incoming::Frame(InnerFrame::Close(c)) if c.code == Code::DEVICE_REVOKED),
        "Close(device_revoked) as the only frame after message 2 [DEV-04]",
        || first.describe(),
    )
}

/// Revokes a live companion and checks what it sees ([DEV-04]).
async fn revoke_live(ctx: &Ctx) -> Result<Live, Failure> {
    let mut live = live(ctx).await?;
    let id = device_id_of(&live.paired);
    ctx.ok(&format!("revoke {id}")).await?;
    expect_close(
        ctx,
        &mut live.link,
        Code::DEVICE_REVOKED,
        "the person revoked the connected companion [DEV-04]",
    )
    .await?;
    Ok(live)
}

/// Ends a companion's link from its side with `Unlink` ([DEV-06]).
async fn unlink(ctx: &Ctx) -> Result<Paired, Failure> {
    let Live {
        paired, mut link, ..
    } = live(ctx).await?;
    link.send(&InnerFrame::Unlink).await?;
    expect_close(
        ctx,
        &mut link,
        Code::UNLINKED,
        "the primary confirms Unlink [DEV-06]",
    )
    .await?;
    Ok(paired)
}

/// The device cases.
pub(super) fn cases() -> Vec<EndpointCase> {
    let mut cases = list_cases();
    cases.extend(revoke_cases());
    cases
}

fn list_cases() -> Vec<EndpointCase> {
    vec![
        c(
            "DEV-01",
            1,
            &[],
            "lists a linked companion with its device name, its device id from its key, and its linked-at time",
            |ctx| async move {
                let before = now_ms();
                let paired = ctx.pair_primary().await?;
                let after = now_ms();
                let entry = listed(&ctx, &paired).await?;
                let name = entry.get("device_name").and_then(Value::as_str);
                ensure(
                    name == Some(crate::endpoint::as_companion::DEVICE_NAME),
                    format!("device_name `{}` from PairAccept [DEV-01]", crate::endpoint::as_companion::DEVICE_NAME),
                    || entry.to_string(),
                )?;
                ensure(
                    paired.device_id.replace(' ', "") == device_id_of(&paired),
                    format!("`linked` with the device id {} [DEV-01]", device_id_of(&paired)),
                    || paired.device_id.clone(),
                )?;
                let linked_at = entry.get("linked_at_ms").and_then(Value::as_u64);
                let slack = 60_000;
                ensure(
                    linked_at.is_some_and(|t| t + slack >= before && t <= after + slack),
                    "linked_at_ms: the time the person confirmed, on the primary's clock [DEV-01]",
                    || entry.to_string(),
                )?;
                ensure(
                    entry.get("connected").is_some_and(Value::is_boolean)
                        && entry.get("last_seen_ms").is_some_and(|v| v.is_null() || v.is_u64()),
                    "`connected` (boolean) and `last_seen_ms` (number or null) [DEV-01]",
                    || entry.to_string(),
                )
            },
        )
        .needs(&["pair", "devices"]),
        c(
            "DEV-01",
            2,
            &[],
            "lists two companions apart, showing the one with a session as connected and the other not",
            |ctx| async move {
                let idle = ctx.pair_primary().await?;
                let active = live(&ctx).await?;
                let idle_row = listed(&ctx, &idle).await?;
                let active_row = listed(&ctx, &active.paired).await?;
                ensure(
                    active_row.get("connected") == Some(&Value::Bool(true)),
                    "connected: true for the companion with a session [DEV-01]",
                    || active_row.to_string(),
                )?;
                ensure(
                    idle_row.get("connected") == Some(&Value::Bool(false)),
                    "connected: false for the companion without one [DEV-01]",
                    || idle_row.to_string(),
                )
            },
        )
        .needs(DEVICES),
        c(
            "DEV-03",
            1,
            &["DEV-01"],
            "shows a device name with control and bidirectional formatting characters removed or made visible",
            |ctx| async move {
                let name = "Evil\u{202e}txt.exe\u{0007}\u{001b}[31m\u{2066}Laptop";
                let mut offer = ctx.offer_qr().await?;
                ctx.scan(&offer.text).await?;
                let paired = ctx.answer_pairing_as(&mut offer, name).await?;
                let shown = ctx
                    .event("check_code", "the check code with the device name [PAIR-04]", |e| {
                        e.get("device_name").and_then(Value::as_str).map(str::to_owned)
                    })
                    .await?;
                ensure_plain(&shown, "beside the check code")?;
                offer.link.session = Some(paired.session);
                ctx.ok("confirm").await?;
                let linked = ctx
                    .event("linked", "`linked` once the link is stored [PAIR-07]", |e| {
                        e.get("device_name").and_then(Value::as_str).map(str::to_owned)
                    })
                    .await?;
                ensure_plain(&linked, "in `linked`")?;
                for entry in devices(&ctx).await? {
                    let listed = entry.get("device_name").and_then(Value::as_str).unwrap_or_default();
                    ensure_plain(listed, "in the device list")?;
                }
                Ok(())
            },
        )
        .needs(&["pair", "devices"]),
        c(
            "DEV-02",
            1,
            &["DEV-01"],
            "stores a last-seen time once a session with the companion has started",
            |ctx| async move {
                let live = live(&ctx).await?;
                let entry = listed(&ctx, &live.paired).await?;
                let linked_at = entry.get("linked_at_ms").and_then(Value::as_u64).unwrap_or(0);
                let seen = entry.get("last_seen_ms").and_then(Value::as_u64);
                if seen.is_some_and(|t| t >= linked_at) {
                    Ok(())
                } else {
                    Err(Failure::non_strict(
                        "last_seen_ms at or after linked_at_ms once a session started [DEV-02]",
                        entry.to_string(),
                    ))
                }
            },
        )
        .needs(DEVICES),
        c(
            "DEV-02",
            2,
            &["RECON-06"],
            "does not count a reconnect handshake without a transport frame as the companion being seen",
            |ctx| async move {
                let paired = ctx.pair_primary().await?;
                let before = listed(&ctx, &paired).await?;
                let mut link = ctx.reconnect(&paired).await?;
                let during = listed(&ctx, &paired).await?;
                link.close_link(Code::NORMAL_CLOSURE).await?;
                drop(link);
                // A later session on the primary's route: by its snapshot
                // the primary has handled the end of the first one.
                live(&ctx).await?;
                let after = listed(&ctx, &paired).await?;
                let seen = |row: &Value| row.get("last_seen_ms").cloned();
                if seen(&before) == seen(&during) && seen(&before) == seen(&after) {
                    Ok(())
                } else {
                    Err(Failure::non_strict(
                        "last_seen_ms unchanged by a handshake alone, while its session lasts and after it ended [DEV-02]",
                        format!("before {before}, during {during}, after {after}"),
                    ))
                }
            },
        )
        .needs(DEVICES)
        .faults(&[HANDSHAKE_ONLY]),
    ]
}

/// Checks that a shown name has no control or bidirectional formatting
/// character left ([DEV-03]).
fn ensure_plain(shown: &str, where_: &str) -> Result<(), Failure> {
    let bad: Vec<String> = shown
        .chars()
        .filter(|c| {
            c.is_control()
                || matches!(*c, '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
        .map(|c| format!("U+{:04X}", u32::from(c)))
        .collect();
    ensure(
        bad.is_empty(),
        format!("the device name {where_} without control or bidi formatting characters [DEV-03]"),
        || format!("{shown:?} with {}", bad.join(", ")),
    )
}

fn revoke_cases() -> Vec<EndpointCase> {
    vec![
        c(
            "DEV-04",
            1,
            &["DEV-01"],
            "sends Close(device_revoked) at once in the session of a companion the person revokes, and drops it from the list",
            |ctx| async move {
                let live = revoke_live(&ctx).await?;
                expect_unlinked_event(&ctx, &live.paired, Code::DEVICE_REVOKED).await?;
                ensure_gone(&ctx, &live.paired, "a revoked companion is gone from the list (§9.5)").await
            },
        )
        .needs(DEVICES)
        ,
        c(
            "DEV-04",
            2,
            &["RECON-05"],
            "answers a revoked companion's later reconnect with message 2 and Close(device_revoked) only",
            |ctx| async move {
                let live = revoke_live(&ctx).await?;
                expect_refused_reconnect(&ctx, &live.paired).await
            },
        )
        .needs(DEVICES)
        ,
        c(
            "DEV-04",
            3,
            &["RECON-05"],
            "refuses a companion revoked while offline with Close(device_revoked) at its next reconnect",
            |ctx| async move {
                let paired = ctx.pair_primary().await?;
                ctx.ok(&format!("revoke {}", device_id_of(&paired))).await?;
                ensure_gone(&ctx, &paired, "a revoked companion is gone from the list (§9.5)").await?;
                expect_refused_reconnect(&ctx, &paired).await
            },
        )
        .needs(DEVICES)
        ,
        c(
            "DEV-04",
            4,
            &[],
            "keeps serving another companion when one is revoked",
            |ctx| async move {
                let mut other = live(&ctx).await?;
                revoke_live(&ctx).await?;
                other.link.send(&InnerFrame::Ack(tandem_codec::session::Ack { seq: other.seq })).await?;
                super::sync::ensure_no_frames(&ctx, &mut other.link, "the other companion's session goes on (§9.3)").await?;
                listed(&ctx, &other.paired).await.map(|_| ())
            },
        )
        .needs(DEVICES),
        c(
            "DEV-05",
            1,
            &["DEV-04"],
            "makes a revocation durable before Close(device_revoked): a crash right after it does not bring the companion back",
            |ctx| async move {
                let live = revoke_live(&ctx).await?;
                ctx.crash().await?;
                ensure_gone(&ctx, &live.paired, "after the crash [DEV-05]").await?;
                expect_refused_reconnect(&ctx, &live.paired).await
            },
        )
        .needs(DEVICES_RESTART)
        ,
        c(
            "DEV-05",
            2,
            &["DEV-04"],
            "keeps a revocation across its restart",
            |ctx| async move {
                let paired = ctx.pair_primary().await?;
                ctx.ok(&format!("revoke {}", device_id_of(&paired))).await?;
                ctx.restart().await?;
                ensure_gone(&ctx, &paired, "after the restart [DEV-05]").await?;
                expect_refused_reconnect(&ctx, &paired).await
            },
        )
        .needs(DEVICES_RESTART)
        ,
        c(
            "DEV-06",
            1,
            &["DEV-01"],
            "answers Unlink with Close(unlinked), reports it, and drops the companion from the list",
            |ctx| async move {
                let paired = unlink(&ctx).await?;
                expect_unlinked_event(&ctx, &paired, Code::UNLINKED).await?;
                ensure_gone(&ctx, &paired, "an unlinked companion is gone from the list (§9.5)").await
            },
        )
        .needs(DEVICES),
        c(
            "DEV-06",
            2,
            &["DEV-04", "RECON-05"],
            "treats an unlinked companion's key as revoked: its reconnect gets Close(device_revoked)",
            |ctx| async move {
                let paired = unlink(&ctx).await?;
                expect_refused_reconnect(&ctx, &paired).await
            },
        )
        .needs(DEVICES),
        c(
            "DEV-06",
            3,
            &["DEV-05"],
            "makes an Unlink durable before Close(unlinked): a crash right after it does not bring the companion back",
            |ctx| async move {
                let paired = unlink(&ctx).await?;
                ctx.crash().await?;
                ensure_gone(&ctx, &paired, "after the crash [DEV-06]").await?;
                expect_refused_reconnect(&ctx, &paired).await
            },
        )
        .needs(DEVICES_RESTART),
        c(
            "DEV-06",
            4,
            &[],
            "frees the place of an unlinked companion: at MAX_COMPANIONS (4), an Unlink lets one more pair",
            |ctx| async move {
                unlink(&ctx).await?;
                for _ in 1..MAX_COMPANIONS {
                    ctx.pair_primary().await?;
                }
                let last = ctx.pair_primary().await?;
                listed(&ctx, &last).await.map(|_| ())
            },
        )
        .needs(DEVICES),
    ]
}
