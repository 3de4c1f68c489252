//! Messages per second companion → relay → primary → `SendAck`, with each
//! message's latency, at N pairs; beside the raw forwarder carrying
//! messages of the same sizes with the same window.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::Ordering;
use std::time::Duration;

use tandem_client::{Clock, DriverEvent, Events, Handle};
use tandem_codec::session::Body;
use tandem_proto::companion::{Companion, CompanionEvent};
use tokio::time::Instant;

use crate::Error;
use crate::bench::{Cpu, CpuMeter, alternate};
use crate::children::Server;
use crate::cli::Common;
use crate::fixture::{self, CHAT};
use crate::keys;
use crate::latency::Latency;
use crate::raw::{self, RawWs};
use crate::report::{Check, Outcome, Row, Target};

/// What one side of the comparison did.
#[derive(Debug, Default)]
struct Tally {
    /// Messages sent.
    sent: u64,
    /// Acknowledgements matched to a message in flight.
    acked: u64,
    /// Acknowledgements for no message in flight (a repeat or a stranger).
    unmatched: u64,
    /// Sends the primary refused.
    failed: u64,
    /// Acknowledgements that arrived inside the measured window.
    measured: u64,
    latency: Latency,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.sent += other.sent;
        self.acked += other.acked;
        self.unmatched += other.unmatched;
        self.failed += other.failed;
        self.measured += other.measured;
        self.latency.merge(&other.latency);
    }
}

/// The window of one run: warm-up, then the measured time.
#[derive(Clone, Copy, Debug)]
struct Window {
    warm: Instant,
    stop: Instant,
    per_pair: usize,
}

impl Window {
    fn start(duration: Duration, per_pair: usize) -> Self {
        let warm = Instant::now() + warm_up(duration);
        Self {
            warm,
            stop: warm + duration,
            per_pair,
        }
    }

    /// Whether an answer at `now` counts for the throughput.
    fn counts(&self, now: Instant) -> bool {
        now >= self.warm && now < self.stop
    }

    /// Whether a message sent at `sent_at` and answered at `now` counts
    /// for the latency (sent and answered inside the window).
    fn measures(&self, sent_at: Instant, now: Instant) -> bool {
        sent_at >= self.warm && now < self.stop
    }
}

/// The warm-up before the measured time: a fifth of it.
fn warm_up(duration: Duration) -> Duration {
    duration / 5
}

/// One run at `pairs` pairs.
pub(crate) async fn run(
    common: &Common,
    pairs: usize,
    window: usize,
    duration: Duration,
    run: u32,
) -> Result<Outcome, Error> {
    let (tandem, raw) = alternate(
        run,
        || tandem(common, pairs, window, duration),
        || baseline(common, pairs, window, duration),
    )
    .await?;
    let (tandem, tandem_cpu) = tandem;
    let (raw, raw_cpu) = raw;
    let name = format!(
        "messages, {pairs} pair{}",
        if pairs == 1 { "" } else { "s" }
    );
    let secs = duration.as_secs_f64();
    let mut out = Outcome::default();
    let rate = |t: &Tally| t.measured as f64 / secs;
    out.row(
        Row::new(
            &name,
            "messages/s",
            rate(&tandem),
            "raw forwarder",
            Some(rate(&raw)),
        )
        .target(Target::RatioAtLeast(0.5)),
    );
    for (label, q) in [("p50", 0.5), ("p99", 0.99), ("p99.9", 0.999)] {
        let mut row = Row::new(
            &name,
            format!("latency {label} µs"),
            tandem.latency.micros(q),
            "raw forwarder",
            Some(raw.latency.micros(q)),
        );
        if label == "p99" && pairs == 100 {
            row = row.target(Target::RatioAtMost(3.0));
        }
        out.row(row);
    }
    let per = |cpu: Cpu, t: &Tally| cpu.total().as_secs_f64() * 1e6 / t.acked.max(1) as f64;
    out.row(Row::new(
        &name,
        "CPU µs per message (both processes)",
        per(tandem_cpu, &tandem),
        "raw forwarder",
        Some(per(raw_cpu, &raw)),
    ));
    out.check(Check::new(
        format!("{name}: every message acknowledged exactly once"),
        tandem.sent > 0
            && tandem.acked == tandem.sent
            && tandem.unmatched == 0
            && tandem.failed == 0,
        format!(
            "sent {}, acknowledged {}, unmatched {}, refused {}; {} latencies in the window",
            tandem.sent,
            tandem.acked,
            tandem.unmatched,
            tandem.failed,
            tandem.latency.count()
        ),
    ));
    out.check(Check::new(
        format!("{name}: raw forwarder answered every message"),
        raw.sent > 0 && raw.acked == raw.sent,
        format!("sent {}, answered {}", raw.sent, raw.acked),
    ));
    out.note(format!(
        "messages: {window} in flight per pair; messages/s counts the acknowledgements that arrive in {}s measured after {}s of warm-up, latency the messages sent and acknowledged inside them; the endpoints of every pair run in this process ({} thread(s)), the server in its own ({} thread(s)).",
        secs,
        warm_up(duration).as_secs_f64(),
        common.client_threads,
        common.server_threads
    ));
    Ok(out)
}

async fn tandem(
    common: &Common,
    pairs: usize,
    per_pair: usize,
    duration: Duration,
) -> Result<(Tally, Cpu), Error> {
    let relay = Server::relay(common, None).await?;
    let clock = Clock::start();
    let live = fixture::start_pairs(&relay.url(), keys::run_seed(), pairs, clock).await?;
    let cpu = CpuMeter::start(relay.pid());
    let window = Window::start(duration, per_pair);
    let mut tasks = Vec::with_capacity(pairs);
    let mut rest = Vec::with_capacity(pairs);
    for pair in live {
        let handle = pair.companion.handle.clone();
        let (events, applied) = (pair.companion.events, pair.primary.applied.clone());
        tasks.push(tokio::spawn(drive_tandem(handle, events, window)));
        rest.push((
            pair.primary,
            pair.companion.handle,
            pair.companion.driver,
            applied,
        ));
    }
    let mut tally = Tally::default();
    for task in tasks {
        tally.add(task.await??);
    }
    let cpu = cpu.stop();
    let applied: u64 = rest
        .iter()
        .map(|(_, _, _, a)| a.load(Ordering::Relaxed))
        .sum();
    if applied != tally.acked {
        tally.unmatched += applied.abs_diff(tally.acked);
    }
    for (primary, companion, driver, _) in rest {
        companion.shutdown().await;
        let _ = tokio::time::timeout(fixture::STEP, driver.join()).await;
        primary.handle.shutdown().await;
        let _ = tokio::time::timeout(fixture::STEP, primary.driver.join()).await;
    }
    relay.stop().await;
    Ok((tally, cpu))
}

/// One companion: keeps `per_pair` sends in flight until the window ends,
/// then waits for the last answers.
async fn drive_tandem(
    handle: Handle<Companion>,
    mut events: Events<CompanionEvent>,
    window: Window,
) -> Result<Tally, Error> {
    let mut tally = Tally::default();
    let mut in_flight: HashMap<[u8; 16], Instant> = HashMap::with_capacity(window.per_pair);
    for _ in 0..window.per_pair {
        send_one(&handle, &mut in_flight, &mut tally).await?;
    }
    let deadline = window.stop + fixture::STEP;
    while !in_flight.is_empty() {
        let event = tokio::time::timeout_at(deadline, events.recv())
            .await
            .map_err(|_| "messages: answers still missing long after the window")?;
        let (client_id, failed) = match event {
            Some(DriverEvent::Machine(CompanionEvent::SendAcked { client_id, .. })) => {
                (client_id, false)
            }
            Some(DriverEvent::Machine(CompanionEvent::SendFailed { client_id, .. })) => {
                (client_id, true)
            }
            Some(DriverEvent::Disconnected { code, reason }) => {
                return Err(format!("messages: companion disconnected: {code:?} {reason}").into());
            }
            Some(DriverEvent::Stopped) | None => return Err("messages: driver stopped".into()),
            Some(_) => continue,
        };
        let now = Instant::now();
        match in_flight.remove(&client_id) {
            Some(_) if failed => tally.failed += 1,
            Some(sent_at) => {
                tally.acked += 1;
                if window.counts(now) {
                    tally.measured += 1;
                }
                if window.measures(sent_at, now) {
                    tally.latency.record(now - sent_at);
                }
            }
            None => tally.unmatched += 1,
        }
        if now < window.stop {
            send_one(&handle, &mut in_flight, &mut tally).await?;
        }
    }
    Ok(tally)
}

async fn send_one(
    handle: &Handle<Companion>,
    in_flight: &mut HashMap<[u8; 16], Instant>,
    tally: &mut Tally,
) -> Result<(), Error> {
    let sent_at = Instant::now();
    let client_id = handle
        .call(|companion, _| companion.send_message(CHAT, Body::Text(raw::TEXT.into())))
        .await??;
    in_flight.insert(client_id, sent_at);
    tally.sent += 1;
    Ok(())
}

async fn baseline(
    common: &Common,
    pairs: usize,
    per_pair: usize,
    duration: Duration,
) -> Result<(Tally, Cpu), Error> {
    let forwarder = Server::forwarder(common).await?;
    let send = raw::payload(raw::send_len()?);
    let ack = raw::payload(raw::ack_len()?);
    let mut ends = Vec::with_capacity(pairs);
    for _ in 0..pairs {
        ends.push(raw::pair(forwarder.addr).await?);
    }
    let cpu = CpuMeter::start(forwarder.pid());
    let window = Window::start(duration, per_pair);
    let mut tasks = Vec::with_capacity(pairs);
    let mut echoes = Vec::with_capacity(pairs);
    for (companion, primary) in ends {
        echoes.push(tokio::spawn(echo(primary, ack.clone())));
        tasks.push(tokio::spawn(drive_raw(companion, send.clone(), window)));
    }
    let mut tally = Tally::default();
    for task in tasks {
        tally.add(task.await??);
    }
    let cpu = cpu.stop();
    for echo in echoes {
        let _ = tokio::time::timeout(fixture::STEP, echo).await;
    }
    forwarder.stop().await;
    Ok((tally, cpu))
}

/// The raw "primary": answers each message with an acknowledgement.
async fn echo(mut ws: RawWs, ack: bytes::Bytes) -> Result<(), Error> {
    while raw::recv(&mut ws).await.is_ok() {
        raw::send(&mut ws, ack.clone()).await?;
    }
    Ok(())
}

/// The raw "companion": the same window and stopping rule as Tandem's.
async fn drive_raw(mut ws: RawWs, send: bytes::Bytes, window: Window) -> Result<Tally, Error> {
    let mut tally = Tally::default();
    let mut in_flight: VecDeque<Instant> = VecDeque::with_capacity(window.per_pair);
    for _ in 0..window.per_pair {
        in_flight.push_back(Instant::now());
        raw::send(&mut ws, send.clone()).await?;
        tally.sent += 1;
    }
    let deadline = window.stop + fixture::STEP;
    while let Some(&sent_at) = in_flight.front() {
        tokio::time::timeout_at(deadline, raw::recv(&mut ws))
            .await
            .map_err(|_| "messages: raw answers missing long after the window")??;
        in_flight.pop_front();
        let now = Instant::now();
        tally.acked += 1;
        if window.counts(now) {
            tally.measured += 1;
        }
        if window.measures(sent_at, now) {
            tally.latency.record(now - sent_at);
        }
        if now < window.stop {
            in_flight.push_back(Instant::now());
            raw::send(&mut ws, send.clone()).await?;
            tally.sent += 1;
        }
    }
    let _ = ws.close(None).await;
    Ok(tally)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_measures_only_inside_it() {
        let window = Window::start(Duration::from_secs(5), 1);
        assert!(!window.measures(window.warm - Duration::from_millis(1), window.warm));
        assert!(window.measures(window.warm, window.stop - Duration::from_millis(1)));
        assert!(!window.measures(window.warm, window.stop));
        assert!(window.counts(window.warm) && !window.counts(window.stop));
    }
}
