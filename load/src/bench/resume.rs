//! Resume after a connection loss: the phone logs events while the synced
//! companion is away; timed from its reconnect to `Synced` at the head.
//! Beside the raw forwarder moving the same bytes in as many messages.

use std::time::Duration;

use crate::Error;
use crate::bench::{first_sync, phone_session};
use crate::cli::{Common, ResumeArgs};
use crate::report::{Outcome, Row, Target};

/// One run.
pub(crate) async fn run(common: &Common, args: &ResumeArgs) -> Result<Outcome, Error> {
    let events = args.events.max(1);
    let measured = phone_session::run(common, &args.store, events).await?;
    let resumed = measured
        .resume
        .as_ref()
        .ok_or("resume: the session did not resume")?;
    // The same bytes in as many messages (the average event's size).
    let len = (resumed.read / resumed.events).max(32) as usize;
    let raw = first_sync::baseline(common, len, resumed.events).await?;
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let mut out = Outcome::default();
    out.row(
        Row::new(
            format!("resume, {} missed events", resumed.events),
            "connect to current ms",
            ms(resumed.time),
            "raw forwarder: connect, request, the same bytes",
            Some(ms(raw)),
        )
        .target(Target::AtMost(200.0)),
    );
    out.row(Row::alone(
        format!("resume, {} missed events", resumed.events),
        "bytes read by the companion",
        resumed.read as f64,
    ));
    out.note("resume: the phone logs the events in one commit while the companion is away (MessageAdded and ChatUpdated in turn); the companion then reconnects, resumes at its seq and acknowledges as it goes (EVENT_WINDOW 1,024, an Ack every 256 events, each Ack a durable cursor write on the phone).");
    if !measured.generated_in.is_zero() {
        out.note(format!(
            "resume: the store was generated in {:.1} s (not measured; cached for later runs)",
            measured.generated_in.as_secs_f64()
        ));
    }
    Ok(out)
}
