//! The relay cases (spec §2, §3, §10, §12.6), one file per concern, and
//! the helpers they share: how a case is declared, and the checks many of
//! them make (an `Error` with a code, `Data` forwarded byte for byte, a
//! close at the right time).

mod channels;
mod frames;
mod hostile;
mod keepalive;
mod lifecycle;
mod limits;
mod links;
mod routes;
mod transport;

use std::fmt::Display;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use tandem_codec::Code;
use tandem_codec::envelope::{Data, EnvelopeFrame, Error as ErrorFrame};

use crate::case::{CaseMeta, CaseResult, Failure, Role};
use crate::relay::ctx::Ctx;
use crate::relay::params::RelayParams;
use crate::relay::peer::{Peer, code_name};

/// A case's script.
pub type Script = Arc<dyn Fn(Ctx) -> BoxFuture<'static, CaseResult> + Send + Sync>;

/// One relay case.
pub struct RelayCase {
    /// Id, requirements, title, faults.
    pub meta: CaseMeta,
    /// Whether it stops or fills the relay, so that it needs a relay of
    /// its own.
    pub needs_own_relay: bool,
    /// How long it may take beyond the base limit, from the relay's
    /// declared values (before `--time-scale`).
    pub limit: fn(&RelayParams) -> Duration,
    /// The script.
    pub run: Script,
}

impl RelayCase {
    /// Extra time for a case that waits for timers.
    fn limit(mut self, limit: fn(&RelayParams) -> Duration) -> Self {
        self.limit = limit;
        self
    }

    /// The case stops or fills the relay.
    fn own_relay(mut self) -> Self {
        self.needs_own_relay = true;
        self
    }
}

/// Declares a case `relay.<requirement>.<n>` that also checks `also`.
fn case<F, Fut>(
    requirement: &str,
    n: impl Display,
    also: &[&str],
    title: &str,
    faults: &[&str],
    script: F,
) -> RelayCase
where
    F: Fn(Ctx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = CaseResult> + Send + 'static,
{
    let mut requirements = vec![requirement.to_owned()];
    requirements.extend(also.iter().map(|r| (*r).to_owned()));
    RelayCase {
        meta: CaseMeta {
            id: format!("relay.{requirement}.{n}"),
            role: Role::Relay,
            requirements,
            title: title.to_owned(),
            capabilities: Vec::new(),
            faults: faults.iter().map(|f| (*f).to_owned()).collect(),
        },
        needs_own_relay: false,
        limit: |_| Duration::ZERO,
        run: Arc::new(move |ctx| Box::pin(script(ctx))),
    }
}

/// Every relay case, in a fixed order.
pub fn all() -> Vec<RelayCase> {
    let mut cases = Vec::new();
    cases.extend(transport::cases());
    cases.extend(channels::cases());
    cases.extend(routes::cases());
    cases.extend(links::cases());
    cases.extend(keepalive::cases());
    cases.extend(frames::cases());
    cases.extend(limits::cases());
    cases.extend(hostile::cases());
    cases.extend(lifecycle::cases());
    cases
}

/// Waits for `Error(code)` on `peer`; returns the frame.
async fn expect_error(
    ctx: &Ctx,
    peer: &mut Peer,
    code: Code,
    why: &str,
) -> Result<ErrorFrame, Failure> {
    let what = format!("Error with code {}{} ({why})", code.0, code_name(code.0));
    peer.expect(ctx.wait(), &what, |f| match f {
        EnvelopeFrame::Error(e) if e.code == code => Some(e.clone()),
        _ => None,
    })
    .await
}

/// A `Data` frame.
fn data(link_id: u32, payload: Vec<u8>) -> Data {
    Data {
        link_id,
        payload: Bytes::from(payload),
    }
}

/// Waits for `Data(link, payload)` on `peer`, byte for byte ([RLY-14]).
async fn expect_data(
    ctx: &Ctx,
    peer: &mut Peer,
    link: u32,
    payload: &[u8],
    what: &str,
) -> CaseResult {
    let event = peer.next(ctx.wait(), what).await?;
    match &event {
        crate::relay::peer::Event::Frame(EnvelopeFrame::Data(d))
            if d.link_id == link && d.payload[..] == *payload =>
        {
            Ok(())
        }
        crate::relay::peer::Event::Frame(EnvelopeFrame::Data(d)) => Err(Failure::fail(
            format!(
                "{} to receive {what}: Data on link {link} with the {} bytes sent, unchanged [RLY-14]",
                peer.name(),
                payload.len()
            ),
            format!(
                "Data on link {} with {} bytes{}",
                d.link_id,
                d.payload.len(),
                first_difference(payload, &d.payload)
                    .map(|at| format!(", first different at byte {at}"))
                    .unwrap_or_default()
            ),
        )),
        _ => Err(Failure::fail(
            format!("{} to receive {what}", peer.name()),
            event.describe(),
        )),
    }
}

fn first_difference(a: &[u8], b: &[u8]) -> Option<usize> {
    a.iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .or((a.len() != b.len()).then(|| a.len().min(b.len())))
}

/// Checks that an effect of a timer came neither before `timer` minus a
/// little nor after `timer` plus the slack, counting from `since`.
fn check_timing(ctx: &Ctx, what: &str, since: Instant, at: Instant, timer: Duration) -> CaseResult {
    let elapsed = at.saturating_duration_since(since);
    let early = timer.saturating_sub(ctx.early());
    let late = timer + ctx.slack(timer);
    ctx.note(format!(
        "{what} after {:.0} ms (declared {:.0} ms)",
        elapsed.as_secs_f64() * 1000.0,
        timer.as_secs_f64() * 1000.0
    ));
    if elapsed < early {
        return Err(Failure::fail(
            format!(
                "{what} no earlier than {:.0} ms",
                timer.as_secs_f64() * 1000.0
            ),
            format!("after {:.0} ms", elapsed.as_secs_f64() * 1000.0),
        ));
    }
    if elapsed > late {
        return Err(Failure::fail(
            format!("{what} by {:.0} ms", late.as_secs_f64() * 1000.0),
            format!("after {:.0} ms", elapsed.as_secs_f64() * 1000.0),
        ));
    }
    Ok(())
}
