//! The shared routing core of the server (spec §3): the sans-IO [`Router`]
//! and every connection's send queue behind one mutex, held only for the
//! routing decision and the non-blocking pushes it makes ([RLY-14] order
//! and [RLY-23] back-pressure are decided here), and the timer task that
//! runs the router's expiries ([RLY-04], [RLY-05], [RLY-19], [RLY-22]).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::Waker;

use bytes::Bytes;
use tandem_codec::Code;
use tandem_proto::Instant;
use tandem_proto::random::Random;
use tokio::sync::{Notify, watch};

use crate::config::RelayConfig;
use crate::metrics::Counters;
use crate::outbox::Outbox;
use crate::router::{Census, ConnId, IdMap, Output, Router};

/// `Data`'s frame type: frames of this type are counted as forwarded.
const DATA: u8 = 0x0E;

/// What a connection's task reports to the router.
#[derive(Debug)]
pub(crate) enum Input {
    /// One binary message.
    Frame(Bytes),
    /// The connection must be closed with this code (text, oversized or
    /// invalid WebSocket messages, spec §2.3).
    Fatal(Code, String),
    /// The connection is gone (closed by the peer, or broken).
    Gone,
}

/// Traffic counters kept under the routing lock, so that the hot path
/// pays no atomic operation for them.
#[derive(Clone, Debug, Default)]
pub(crate) struct Stats {
    /// Envelope frames received from clients.
    pub(crate) frames_received: u64,
    /// Their bytes.
    pub(crate) bytes_received: u64,
    /// Frames queued to clients (forwarded or the relay's own).
    pub(crate) frames_sent: u64,
    /// Their bytes.
    pub(crate) bytes_sent: u64,
    /// `Data` frames forwarded.
    pub(crate) data_forwarded: u64,
    /// Their bytes.
    pub(crate) data_bytes_forwarded: u64,
    /// Connections the relay closed, by close code.
    pub(crate) closes: BTreeMap<u16, u64>,
}

struct Core {
    router: Router,
    outboxes: IdMap<ConnId, Arc<Outbox>>,
    next_conn: ConnId,
    stats: Stats,
    /// The deadline the timer task sleeps until.
    armed: Option<Instant>,
    shutting_down: bool,
}

/// The state every task of one relay shares.
pub(crate) struct Hub {
    core: Mutex<Core>,
    epoch: tokio::time::Instant,
    timer: Notify,
    pub(crate) config: RelayConfig,
    pub(crate) counters: Counters,
}

impl Hub {
    pub(crate) fn new(config: RelayConfig, rng: Box<dyn Random>) -> Self {
        let router = Router::new(config.router.clone(), rng);
        Self {
            core: Mutex::new(Core {
                router,
                outboxes: IdMap::default(),
                next_conn: 1,
                stats: Stats::default(),
                armed: None,
                shutting_down: false,
            }),
            epoch: tokio::time::Instant::now(),
            timer: Notify::new(),
            config,
            counters: Counters::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Core> {
        // A panic while routing would leave the router mid-update; the
        // router's operations are total (no panics on any input), so a
        // poisoned lock only means a bug elsewhere: carry on.
        self.core.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The relay's monotonic clock, as the router sees it.
    pub(crate) fn now(&self) -> Instant {
        Instant::from_duration(self.epoch.elapsed())
    }

    fn deadline(&self, at: Instant) -> tokio::time::Instant {
        self.epoch + at.since_epoch()
    }

    /// Adds an upgraded connection, accepted at `accepted_at`. `None` when
    /// the relay is shutting down.
    pub(crate) fn register(
        &self,
        accepted_at: Instant,
        address: IpAddr,
    ) -> Option<(ConnId, Arc<Outbox>)> {
        let mut core = self.lock();
        if core.shutting_down {
            return None;
        }
        let conn = core.next_conn;
        core.next_conn += 1;
        let outbox = Arc::new(Outbox::new(
            self.config.send_queue_frames,
            self.config.send_queue_bytes,
        ));
        core.outboxes.insert(conn, outbox.clone());
        core.router.connect(accepted_at, conn, address);
        self.rearm(&mut core);
        Some((conn, outbox))
    }

    /// Feeds a connection's inputs to the router and queues what it says.
    /// Returns whether a send queue it pushed to is filling up.
    pub(crate) fn input(&self, conn: ConnId, inputs: Vec<Input>) -> bool {
        let now = self.now();
        let mut wake = Vec::new();
        let pressure = {
            let mut core = self.lock();
            for input in inputs {
                match input {
                    Input::Frame(frame) => {
                        core.stats.frames_received += 1;
                        core.stats.bytes_received += frame.len() as u64;
                        core.router.frame(now, conn, frame);
                    }
                    Input::Fatal(code, reason) => core.router.close(conn, code, reason),
                    Input::Gone => {
                        core.router.disconnect(conn);
                        core.outboxes.remove(&conn);
                    }
                }
            }
            let pressure = core.drain(&mut wake);
            self.rearm(&mut core);
            pressure
        };
        wake.into_iter().for_each(Waker::wake);
        pressure
    }

    /// Closes every connection with `going_away` ([TRN-05]) and refuses
    /// new ones.
    pub(crate) fn shutdown(&self) {
        let mut wake = Vec::new();
        {
            let mut core = self.lock();
            core.shutting_down = true;
            let conns: Vec<ConnId> = core.outboxes.keys().copied().collect();
            for conn in conns {
                core.router
                    .close(conn, Code::GOING_AWAY, "the relay is shutting down".into());
            }
            core.drain(&mut wake);
        }
        wake.into_iter().for_each(Waker::wake);
        self.timer.notify_one();
    }

    /// Counts a close the relay made outside the router (over capacity,
    /// going away before registration).
    pub(crate) fn count_close(&self, code: Code) {
        *self.lock().stats.closes.entry(code.0).or_default() += 1;
    }

    /// What the router holds and the traffic so far, for metrics.
    pub(crate) fn snapshot(&self) -> (Census, Stats) {
        let core = self.lock();
        (core.router.census(), core.stats.clone())
    }

    /// Wakes the timer task when the router's next deadline is earlier
    /// than the one it sleeps until.
    fn rearm(&self, core: &mut Core) {
        if let Some(next) = core.router.next_timeout()
            && core.armed.is_none_or(|armed| next < armed)
        {
            core.armed = Some(next);
            self.timer.notify_one();
        }
    }

    /// Runs due timers; returns when to run them next.
    fn run_timers(&self) -> Option<Instant> {
        let now = self.now();
        let mut wake = Vec::new();
        let next = {
            let mut core = self.lock();
            core.router.timeout(now);
            core.drain(&mut wake);
            let next = core.router.next_timeout();
            core.armed = next;
            next
        };
        wake.into_iter().for_each(Waker::wake);
        next
    }
}

impl Core {
    /// Carries out the router's outputs: frames into send queues (a full
    /// queue closes its connection with `slow_consumer`, whose own
    /// consequences are carried out in turn), closes to the connections.
    /// Returns whether a queue pushed to is a quarter full.
    fn drain(&mut self, wake: &mut Vec<Waker>) -> bool {
        let mut pressure = false;
        while let Some(output) = self.router.poll() {
            match output {
                Output::Send(conn, frame) => {
                    let Some(outbox) = self.outboxes.get(&conn) else {
                        continue;
                    };
                    let len = frame.len() as u64;
                    let is_data = frame.first() == Some(&DATA);
                    match outbox.push(frame) {
                        Ok(pushed) => {
                            wake.extend(pushed.waker);
                            pressure |= pushed.pressure;
                            self.stats.frames_sent += 1;
                            self.stats.bytes_sent += len;
                            if is_data {
                                self.stats.data_forwarded += 1;
                                self.stats.data_bytes_forwarded += len;
                            }
                        }
                        // [RLY-23] ... MUST close with 4004 `slow_consumer`
                        // a connection whose queue is full when another
                        // frame is due to it, rather than buffer without
                        // bound, drop the frame, or stop reading from the
                        // connection that sent it.
                        Err(_full) => self.router.close(
                            conn,
                            Code::SLOW_CONSUMER,
                            "the send queue is full".into(),
                        ),
                    }
                }
                Output::Close(conn, code, reason) => {
                    *self.stats.closes.entry(code.0).or_default() += 1;
                    if let Some(outbox) = self.outboxes.remove(&conn) {
                        let discard = code == Code::SLOW_CONSUMER;
                        wake.extend(outbox.close(code, reason, discard));
                    }
                }
            }
        }
        pressure
    }
}

/// The timer task: sleeps until the router's next deadline, or until a
/// connection or channel brings an earlier one.
pub(crate) async fn timers(hub: Arc<Hub>, mut shutdown: watch::Receiver<bool>) {
    let mut next = hub.run_timers();
    loop {
        let sleep = async {
            match next {
                Some(at) => tokio::time::sleep_until(hub.deadline(at)).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = sleep => {}
            () = hub.timer.notified() => {}
            _ = shutdown.changed() => return,
        }
        next = hub.run_timers();
    }
}
