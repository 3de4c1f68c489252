//! Checks that companion and primary cases share: the implementation's
//! `received`, `status` and `devices` answers (§12.5.3) read as typed
//! values.

use serde_json::Value;
use tandem_codec::session::Message;

use crate::case::Failure;
use crate::endpoint::ctx::Ctx;

/// The messages the implementation holds, as `received` lists them.
pub async fn received(ctx: &Ctx) -> Result<Vec<Message>, Failure> {
    let value = ctx.ok_json("received").await?;
    serde_json::from_value(value.clone()).map_err(|e| {
        Failure::fail(
            "a JSON array of §13.2 messages from `received` (§12.5.3)",
            format!("{e}: {}", crate::codec::check::shorten(&value.to_string())),
        )
    })
}

/// One member of the `status` answer.
pub async fn status(ctx: &Ctx, member: &str) -> Result<Value, Failure> {
    let value = ctx.ok_json("status").await?;
    value.get(member).cloned().ok_or_else(|| {
        Failure::fail(
            format!("`{member}` in the answer to `status` (§12.5.3)"),
            value.to_string(),
        )
    })
}
