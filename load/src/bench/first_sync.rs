//! First sync of a large phone store: connect to the first `ChatPage` and
//! to `Synced`, bytes on the wire, the phone's peak memory; beside a raw
//! connection with one request and a page-sized answer.

use std::time::Duration;

use tokio::time::Instant;

use crate::Error;
use crate::bench::phone_session;
use crate::children::Server;
use crate::cli::{Common, StoreArgs};
use crate::phone_store;
use crate::raw;
use crate::report::{Outcome, Row, Target};

/// One run.
pub(crate) async fn run(common: &Common, args: &StoreArgs) -> Result<Outcome, Error> {
    let measured = phone_session::run(common, args, 0).await?;
    let page = phone_store::first_page_len(phone_session::spec(args))?;
    let raw = baseline(common, page, 1).await?;
    Ok(outcome(args, &measured, raw))
}

/// The rows of a first sync (also used by `resume`, which syncs first).
pub(crate) fn outcome(args: &StoreArgs, m: &phone_session::Measured, raw: Duration) -> Outcome {
    let name = format!(
        "first sync, {} chats, {} messages",
        args.chats, args.messages
    );
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let mib = |kib: u64| kib as f64 / 1024.0;
    let mut out = Outcome::default();
    out.row(
        Row::new(
            &name,
            "connect to first page ms",
            ms(m.first_page),
            "raw forwarder: connect, request, one page-sized answer",
            Some(ms(raw)),
        )
        .target(Target::AtMost(100.0)),
    );
    out.row(Row::alone(&name, "connect to Synced ms", ms(m.synced)));
    out.row(Row::alone(
        &name,
        "bytes on the wire (both ways)",
        m.sync_bytes as f64,
    ));
    out.row(Row::alone(
        &name,
        "phone peak RSS MiB (VmHWM)",
        mib(m.phone_after.hwm_kib),
    ));
    out.row(Row::alone(
        &name,
        "phone RSS growth during the sync MiB",
        mib(m.phone_after.rss_kib.saturating_sub(m.phone_before.rss_kib)),
    ));
    if !m.generated_in.is_zero() {
        out.note(format!(
            "first sync: the store was generated in {:.1} s (not measured; cached for later runs)",
            m.generated_in.as_secs_f64()
        ));
    }
    out.note("first sync: the phone (the reference phone's SQLite store, WAL, synchronous=FULL) runs in its own process; its VmHWM before the companion connected was included in the peak.");
    out
}

/// The raw forwarder: a connected "phone" end; then a new "companion"
/// connection sends a small request and the phone end answers with
/// `answers` messages of `len` bytes; timed from the connect to the last.
pub(crate) async fn baseline(common: &Common, len: usize, answers: u64) -> Result<Duration, Error> {
    let forwarder = Server::forwarder(common).await?;
    let mut phone = raw::connect(forwarder.addr).await?;
    let start = Instant::now();
    let mut companion = raw::connect(forwarder.addr).await?;
    raw::send(&mut companion, raw::payload(64)).await?;
    raw::recv(&mut phone).await?;
    let answer = raw::payload(len);
    let send = tokio::spawn(async move {
        for _ in 0..answers {
            raw::send(&mut phone, answer.clone()).await?;
        }
        Ok::<_, Error>(phone)
    });
    for _ in 0..answers {
        raw::recv(&mut companion).await?;
    }
    let elapsed = start.elapsed();
    let _ = send.await?;
    let _ = companion.close(None).await;
    forwarder.stop().await;
    Ok(elapsed)
}
