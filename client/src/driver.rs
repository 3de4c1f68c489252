//! The driver task: one WebSocket to the relay at a time, the machine fed
//! as the core's calling contract says (inputs, then drain transmits and
//! events, then re-arm the one timer), and reconnects with full-jitter
//! backoff when the connection is lost ([RECON-08], [RECON-09], §2.4).

use std::future::{Future, pending};
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tandem_codec::Code;
use tandem_proto::Transmit;
use tandem_proto::random::{OsRandom, Random, SeededRandom};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant as TokioInstant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::backoff::{Backoff, RECONNECT_BASE, RECONNECT_MAX};
use crate::clock::Clock;
use crate::connect::{self, Target, Ws};
use crate::error::{ConnectError, DriverGone};
use crate::event::{DriverEvent, Events};
use crate::handle::{Handle, Request};
use crate::machine::Machine;
use crate::tls::TlsTransport;
use crate::transport::{PlainTcp, Transport};

/// How a driver connects and reconnects.
#[derive(Clone)]
pub struct DriverConfig {
    /// The relay URL, `ws://` or `wss://`.
    pub url: String,
    /// Reconnect after a lost connection or a failed attempt. Off for
    /// one-shot connections (pairing, a short link), which stop instead.
    pub reconnect: bool,
    /// `RECONNECT_BASE`.
    pub backoff_base: Duration,
    /// `RECONNECT_MAX`.
    pub backoff_max: Duration,
    /// A connection that lasted this long resets the backoff.
    pub stable_after: Duration,
    /// Bound on the TCP connect, the TLS handshake and the WebSocket
    /// upgrade.
    pub connect_timeout: Duration,
    /// How long a closing WebSocket may take to finish its close handshake.
    pub close_timeout: Duration,
    /// Commands that may wait in the command channel.
    pub command_queue: usize,
    /// Opens the byte stream (the TLS seam): [`TlsTransport`] with the
    /// webpki roots unless set.
    pub transport: Arc<dyn Transport>,
}

impl DriverConfig {
    /// The spec's defaults for a client of the relay at `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            reconnect: true,
            backoff_base: RECONNECT_BASE,
            backoff_max: RECONNECT_MAX,
            stable_after: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(10),
            close_timeout: Duration::from_secs(2),
            command_queue: 64,
            transport: default_transport(),
        }
    }

    /// The same, opening its byte stream through `transport` (for example
    /// a [`TlsTransport`] that trusts an extra CA).
    pub fn with_transport(self, transport: Arc<dyn Transport>) -> Self {
        Self { transport, ..self }
    }

    /// One connection, no reconnect.
    pub fn once(url: impl Into<String>) -> Self {
        Self {
            reconnect: false,
            ..Self::new(url)
        }
    }
}

impl std::fmt::Debug for DriverConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DriverConfig")
            .field("url", &self.url)
            .field("reconnect", &self.reconnect)
            .field("backoff_base", &self.backoff_base)
            .field("backoff_max", &self.backoff_max)
            .finish_non_exhaustive()
    }
}

/// `ws://` and `wss://` with the webpki roots; `ws://` alone in the
/// unexpected case that rustls refuses its own defaults. Built once per
/// process and shared.
fn default_transport() -> Arc<dyn Transport> {
    static DEFAULT: OnceLock<Arc<dyn Transport>> = OnceLock::new();
    DEFAULT
        .get_or_init(|| match TlsTransport::new() {
            Ok(tls) => Arc::new(tls),
            Err(err) => {
                tracing::warn!(%err, "no TLS: wss:// relays are refused");
                Arc::new(PlainTcp)
            }
        })
        .clone()
}

/// The running driver task.
pub struct Driver<M> {
    task: JoinHandle<M>,
}

impl<M> Driver<M> {
    /// Waits for the driver to stop and gives the machine back.
    pub async fn join(self) -> Result<M, DriverGone> {
        self.task.await.map_err(|_| DriverGone)
    }
}

/// Starts driving `machine` on the current tokio runtime. `clock` must be
/// the clock the machine's wall-clock settings were taken from.
pub fn spawn<M: Machine>(
    machine: M,
    config: DriverConfig,
    clock: Clock,
) -> (Handle<M>, Events<M::Event>, Driver<M>) {
    let (command_tx, command_rx) = mpsc::channel(config.command_queue.max(1));
    let (event_tx, event_rx) = mpsc::unbounded_channel();
    // Jitter needs no secrecy; the system generator is used when present.
    let rng: Box<dyn Random> = match OsRandom::new() {
        Ok(rng) => Box::new(rng),
        Err(_) => Box::new(SeededRandom::new(seed_from_time())),
    };
    let backoff = Backoff::new(config.backoff_base, config.backoff_max, rng);
    let runner = Runner {
        machine,
        config,
        clock,
        events: event_tx,
        backoff,
        ws: None,
        connected_at: None,
        close_code: None,
        connecting: None,
        retry_at: None,
    };
    let task = tokio::spawn(runner.run(command_rx));
    (Handle::new(command_tx), event_rx, Driver { task })
}

fn seed_from_time() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0x5EED)
}

type Connecting = Pin<Box<dyn Future<Output = Result<Ws, ConnectError>> + Send>>;

struct Runner<M: Machine> {
    machine: M,
    config: DriverConfig,
    clock: Clock,
    events: mpsc::UnboundedSender<DriverEvent<M::Event>>,
    backoff: Backoff,
    ws: Option<Ws>,
    connected_at: Option<TokioInstant>,
    /// The code of a Close frame the relay sent on this connection.
    close_code: Option<Code>,
    connecting: Option<Connecting>,
    retry_at: Option<TokioInstant>,
}

enum Step {
    Go,
    Stop,
}

impl<M: Machine> Runner<M> {
    async fn run(mut self, mut commands: mpsc::Receiver<Request<M>>) -> M {
        let target = match Target::parse(&self.config.url) {
            Ok(target) => Arc::new(target),
            Err(error) => {
                self.emit(DriverEvent::ConnectFailed {
                    error,
                    retry_in: None,
                });
                return self.stop().await;
            }
        };
        self.connect(&target);
        loop {
            self.drain().await;
            if self.machine.is_finished() {
                return self.stop().await;
            }
            let idle = self.ws.is_none() && self.connecting.is_none();
            if idle && self.retry_at.is_none() {
                // Not reconnecting, and nothing left to connect.
                return self.stop().await;
            }
            let timer = self
                .machine
                .poll_timeout()
                .map(|at| self.clock.deadline(at));
            let step = tokio::select! {
                request = commands.recv() => match request {
                    Some(Request::Run(job)) => {
                        job(&mut self.machine, self.clock.now());
                        Step::Go
                    }
                    Some(Request::Shutdown) | None => Step::Stop,
                },
                message = next_message(&mut self.ws) => {
                    self.on_message(message).await;
                    Step::Go
                }
                result = finish_connecting(&mut self.connecting) => {
                    self.connecting = None;
                    self.on_connect(result).await;
                    Step::Go
                }
                () = sleep_until(self.retry_at), if idle => {
                    self.retry_at = None;
                    self.connect(&target);
                    Step::Go
                }
                () = sleep_until(timer) => {
                    let now = self.clock.now();
                    if let Err(err) = self.machine.handle_timeout(now) {
                        self.machine_error(err).await;
                    }
                    Step::Go
                }
            };
            if let Step::Stop = step {
                return self.stop().await;
            }
        }
    }

    fn emit(&self, event: DriverEvent<M::Event>) {
        // Nobody listening is not the driver's problem.
        let _ = self.events.send(event);
    }

    fn connect(&mut self, target: &Arc<Target>) {
        let transport = Arc::clone(&self.config.transport);
        let target = Arc::clone(target);
        let timeout = self.config.connect_timeout;
        self.connecting = Some(Box::pin(async move {
            connect::open(transport.as_ref(), &target, timeout).await
        }));
    }

    async fn on_connect(&mut self, result: Result<Ws, ConnectError>) {
        match result {
            Ok(ws) => {
                self.ws = Some(ws);
                self.connected_at = Some(TokioInstant::now());
                self.close_code = None;
                self.emit(DriverEvent::Connected);
                if let Err(err) = self.machine.handle_connected(self.clock.now()) {
                    self.machine_error(err).await;
                }
            }
            Err(error) => {
                let retry_in = self.schedule_retry();
                self.emit(DriverEvent::ConnectFailed { error, retry_in });
            }
        }
    }

    /// Draws the next backoff delay; `None` when not reconnecting.
    fn schedule_retry(&mut self) -> Option<Duration> {
        if !self.config.reconnect {
            return None;
        }
        let held = self.connected_at.take().map(|at| at.elapsed());
        if held.is_some_and(|held| held >= self.config.stable_after) {
            self.backoff.reset();
        }
        let delay = self.backoff.next_delay();
        self.retry_at = Some(TokioInstant::now() + delay);
        Some(delay)
    }

    /// Sends what the machine queued, then hands its events over.
    async fn drain(&mut self) {
        loop {
            let mut wrote = false;
            while let Some(transmit) = self.machine.poll_transmit() {
                match transmit {
                    Transmit::Frame(bytes) => {
                        let Some(ws) = self.ws.as_mut() else { continue };
                        if let Err(err) = ws.feed(Message::Binary(bytes)).await {
                            self.lost(Code(1006), err.to_string());
                        } else {
                            wrote = true;
                        }
                    }
                    Transmit::Close { code, reason } => {
                        self.close(code, &reason).await;
                        self.lost(code, reason);
                    }
                }
            }
            if wrote
                && let Some(ws) = self.ws.as_mut()
                && let Err(err) = ws.flush().await
            {
                self.lost(Code(1006), err.to_string());
            }
            let mut any = false;
            while let Some(event) = self.machine.poll_event() {
                any = true;
                self.emit(DriverEvent::Machine(event));
            }
            // A loss reported above may have queued more; go round once more.
            if !any && !wrote {
                return;
            }
        }
    }

    async fn on_message(
        &mut self,
        message: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
    ) {
        use tokio_tungstenite::tungstenite::Error as WsError;
        let now = self.clock.now();
        match message {
            Some(Ok(Message::Binary(bytes))) => {
                if let Err(err) = self.machine.handle_frame(now, bytes) {
                    self.machine_error(err).await;
                }
            }
            Some(Ok(Message::Text(_))) => {
                // [TRN-03] A receiver MUST close the connection with 1003
                // `unsupported_data` when it receives a text message.
                self.close(Code::UNSUPPORTED_DATA, "text message").await;
                self.lost(
                    Code::UNSUPPORTED_DATA,
                    "the relay sent a text message".into(),
                );
            }
            Some(Ok(Message::Close(frame))) => {
                // tungstenite answers the Close; the stream ends after it.
                self.close_code = Some(frame.map_or(Code(1005), |f| Code(u16::from(f.code))));
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
            Some(Err(WsError::Capacity(err))) => {
                // [TRN-04] ... MUST close the connection with 1009
                // `message_too_big`.
                self.close(Code::MESSAGE_TOO_BIG, "message too big").await;
                self.lost(Code::MESSAGE_TOO_BIG, err.to_string());
            }
            Some(Err(WsError::Protocol(err))) => {
                // [TRN-04] ... and with 1002 `protocol_error` on any other
                // violation of RFC 6455.
                self.close(Code::PROTOCOL_ERROR, "protocol error").await;
                self.lost(Code::PROTOCOL_ERROR, err.to_string());
            }
            Some(Err(err)) => {
                let code = self.close_code.unwrap_or(Code(1006));
                self.lost(code, err.to_string());
            }
            None => {
                let code = self.close_code.unwrap_or(Code(1006));
                self.lost(code, "the connection closed".into());
            }
        }
    }

    async fn machine_error(&mut self, err: tandem_proto::Error) {
        tracing::error!(%err, "the machine failed; closing the connection");
        self.emit(DriverEvent::MachineError(err.to_string()));
        if self.ws.is_some() {
            self.close(Code::INTERNAL_ERROR, "internal error").await;
            self.lost(Code::INTERNAL_ERROR, err.to_string());
        }
    }

    /// Sends a Close frame and waits, briefly, for the relay's answer.
    async fn close(&mut self, code: Code, reason: &str) {
        let Some(mut ws) = self.ws.take() else { return };
        let frame = CloseFrame {
            code: CloseCode::from(code.0),
            reason: truncate(reason, 123).into(),
        };
        let timeout = self.config.close_timeout;
        let _ = tokio::time::timeout(timeout, async {
            if ws.close(Some(frame)).await.is_ok() {
                while let Some(Ok(_)) = ws.next().await {}
            }
        })
        .await;
        // The machine still thinks it is connected until `lost`.
        self.ws = None;
    }

    /// The connection is gone: tell the machine, report, plan a retry.
    fn lost(&mut self, code: Code, reason: String) {
        self.ws = None;
        self.machine.handle_disconnected(self.clock.now());
        self.emit(DriverEvent::Disconnected { code, reason });
        self.schedule_retry();
    }

    async fn stop(mut self) -> M {
        self.connecting = None;
        self.retry_at = None;
        if self.ws.is_some() {
            self.drain().await;
            self.close(Code::NORMAL_CLOSURE, "client leaving").await;
            self.machine.handle_disconnected(self.clock.now());
            self.emit(DriverEvent::Disconnected {
                code: Code::NORMAL_CLOSURE,
                reason: "client leaving".into(),
            });
        }
        while let Some(event) = self.machine.poll_event() {
            self.emit(DriverEvent::Machine(event));
        }
        self.emit(DriverEvent::Stopped);
        self.machine
    }
}

fn truncate(reason: &str, max: usize) -> &str {
    let mut end = reason.len().min(max);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    &reason[..end]
}

async fn next_message(
    ws: &mut Option<Ws>,
) -> Option<Result<Message, tokio_tungstenite::tungstenite::Error>> {
    match ws {
        Some(ws) => ws.next().await,
        None => pending().await,
    }
}

async fn finish_connecting(connecting: &mut Option<Connecting>) -> Result<Ws, ConnectError> {
    match connecting {
        Some(future) => future.await,
        None => pending().await,
    }
}

async fn sleep_until(at: Option<TokioInstant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => pending().await,
    }
}
