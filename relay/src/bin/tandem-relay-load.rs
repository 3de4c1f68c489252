//! `tandem-relay-load`: the relay's load generator and benchmark (issue #6;
//! spec §3.5 forwarding, §3.9 limits). Loopback only and bounded in time.
//! In one run it measures the relay and a raw tokio-tungstenite forwarder
//! (two sockets piped, no Tandem logic) as the baseline: throughput of
//! small and large `Data` frames, latency at full and half load, the
//! servers' CPU time and RSS, and idle connections with memory per
//! connection. Servers and clients run as child processes of this one.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, ExitCode, Stdio};
use std::rc::Rc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::{Parser, Subcommand, ValueEnum};
use futures_util::{SinkExt, StreamExt};
use tandem_codec::envelope::{AttachRoute, Data, EnvelopeFrame, Ping, RegisterRoute, RouteProof};
use tandem_proto::random::OsRandom;
use tandem_proto::{StaticKeypair, route_proof};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::Notify;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, http::HeaderValue};

type Ws = WebSocketStream<TcpStream>;
type Error = Box<dyn std::error::Error>;

const EXAMPLES: &str = "\
Examples:
  # The whole benchmark (about two minutes), after a release build:
  cargo build --release -p tandem-relay
  target/release/tandem-relay-load

  # Throughput only, 3 s per measurement:
  target/release/tandem-relay-load --duration 3s --idle 0

Servers run pinned to CPU 0 and the load client to CPU 1 (taskset), so
that the client cannot starve the server it measures.";

/// Load generator and benchmark for tandem-relay, against a raw
/// tokio-tungstenite forwarder as the baseline. Loopback only.
#[derive(Debug, Parser)]
#[command(version, about, after_help = EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Option<Role>,
    #[command(flatten)]
    bench: Bench,
}

#[derive(Debug, clap::Args)]
struct Bench {
    /// Length of each throughput and latency measurement, in seconds.
    #[arg(long, default_value = "2s", value_parser = secs)]
    duration: Duration,
    /// Measurements of each kind, alternating baseline and relay; the
    /// tables give medians (a shared machine is noisy).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=9))]
    repeat: u64,
    /// Sender/receiver pairs (a primary and a companion each).
    #[arg(long, default_value_t = 8)]
    pairs: usize,
    /// Frames in flight per pair (well below SEND_QUEUE).
    #[arg(long, default_value_t = 64)]
    window: u64,
    /// Payload sizes of `Data` frames, in bytes.
    #[arg(long, value_delimiter = ',', default_values_t = [64usize, 61_440])]
    sizes: Vec<usize>,
    /// Idle connections to hold on each server (0: skip).
    #[arg(long, default_value_t = 19_000)]
    idle: usize,
    /// Processes that hold the idle connections (each from its own
    /// 127.0.0.x address).
    #[arg(long, default_value_t = 4)]
    idle_procs: usize,
    /// Worker threads of each server.
    #[arg(long, default_value_t = 1)]
    server_threads: usize,
    /// Do not pin servers and client to CPUs.
    #[arg(long)]
    no_pin: bool,
    /// The relay binary (default: next to this one).
    #[arg(long)]
    relay_bin: Option<PathBuf>,
    /// Extra flags for the relay, e.g. "--read-buffer 16384".
    #[arg(long, allow_hyphen_values = true, default_value = "")]
    relay_args: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Kind {
    Relay,
    Baseline,
}

#[derive(Debug, Subcommand)]
enum Role {
    /// The raw forwarder: pairs consecutive WebSocket connections and
    /// pipes their binary messages to each other.
    #[command(hide = true)]
    Baseline {
        #[arg(long)]
        listen: SocketAddr,
        #[arg(long, default_value_t = 1)]
        threads: usize,
    },
    /// The load client of one measurement; prints one `result` line.
    #[command(hide = true)]
    Client {
        #[arg(long)]
        target: SocketAddr,
        #[arg(long)]
        kind: Kind,
        #[arg(long)]
        size: usize,
        #[arg(long)]
        pairs: usize,
        #[arg(long)]
        window: u64,
        #[arg(long)]
        millis: u64,
        /// Frames per second over all pairs; 0 for as fast as possible.
        #[arg(long, default_value_t = 0)]
        rate: u64,
    },
    /// Holds idle connections until its stdin closes.
    #[command(hide = true)]
    Idle {
        #[arg(long)]
        target: SocketAddr,
        #[arg(long)]
        kind: Kind,
        #[arg(long)]
        source: Ipv4Addr,
        #[arg(long)]
        count: usize,
    },
}

fn secs(text: &str) -> Result<Duration, String> {
    let number = text.strip_suffix('s').unwrap_or(text);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}`: use e.g. 4s"))?;
    if !(0.1..=60.0).contains(&value) {
        return Err("between 0.1s and 60s (runs stay bounded)".into());
    }
    Ok(Duration::from_secs_f64(value))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Role::Baseline { listen, threads }) => {
            runtime(threads).and_then(|rt| rt.block_on(baseline(listen)))
        }
        Some(Role::Client {
            target,
            kind,
            size,
            pairs,
            window,
            millis,
            rate,
        }) => current_thread().and_then(|rt| {
            let local = tokio::task::LocalSet::new();
            rt.block_on(local.run_until(client(target, kind, size, pairs, window, millis, rate)))
        }),
        Some(Role::Idle {
            target,
            kind,
            source,
            count,
        }) => current_thread().and_then(|rt| rt.block_on(idle(target, kind, source, count))),
        None => bench(&cli.bench),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("tandem-relay-load: {error}");
            ExitCode::FAILURE
        }
    }
}

fn runtime(threads: usize) -> Result<tokio::runtime::Runtime, Error> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .enable_all()
        .build()?)
}

fn current_thread() -> Result<tokio::runtime::Runtime, Error> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

// ---------------------------------------------------------------------
// The baseline: a raw tokio-tungstenite forwarder.

async fn baseline(listen: SocketAddr) -> Result<(), Error> {
    let listener = TcpListener::bind(listen).await?;
    println!("baseline listening on {listen}");
    Ok(tandem_relay::forwarder::run(listener).await?)
}

// ---------------------------------------------------------------------
// Clients.

async fn connect(
    target: SocketAddr,
    source: Option<Ipv4Addr>,
    config: Option<WebSocketConfig>,
) -> Result<Ws, Error> {
    let socket = TcpSocket::new_v4()?;
    if let Some(source) = source {
        socket.bind(SocketAddr::new(IpAddr::V4(source), 0))?;
    }
    let stream = socket.connect(target).await?;
    stream.set_nodelay(true)?;
    let mut request = format!("ws://{target}/").into_client_request()?;
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("tandem.v1"),
    );
    Ok(
        tokio_tungstenite::client_async_with_config(request, stream, config)
            .await?
            .0,
    )
}

async fn send(ws: &mut Ws, frame: impl Into<EnvelopeFrame>) -> Result<(), Error> {
    Ok(ws.send(Message::Binary(frame.into().to_bytes()?)).await?)
}

async fn recv(ws: &mut Ws) -> Result<EnvelopeFrame, Error> {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), ws.next()).await? {
            Some(Ok(Message::Binary(bytes))) => return Ok(EnvelopeFrame::decode(&bytes)?),
            Some(Ok(Message::Close(frame))) => return Err(format!("closed: {frame:?}").into()),
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e.into()),
            None => return Err("connection ended".into()),
        }
    }
}

/// Two connected ends and the link id between them.
async fn pair(target: SocketAddr, kind: Kind, rng: &mut OsRandom) -> Result<(Ws, Ws, u32), Error> {
    match kind {
        Kind::Baseline => {
            let a = connect(target, None, None).await?;
            let b = connect(target, None, None).await?;
            Ok((a, b, 1))
        }
        Kind::Relay => {
            let identity = StaticKeypair::generate(rng);
            let primary_key = identity.public().0;
            let mut primary = connect(target, None, None).await?;
            send(&mut primary, RegisterRoute { primary_key }).await?;
            let EnvelopeFrame::RouteChallenge(challenge) = recv(&mut primary).await? else {
                return Err("expected RouteChallenge".into());
            };
            let mac = route_proof::prove(&identity, &challenge.relay_ephemeral).ok_or("proof")?;
            send(&mut primary, RouteProof { mac }).await?;
            recv(&mut primary).await?;
            let mut companion = connect(target, None, None).await?;
            send(&mut companion, AttachRoute { primary_key }).await?;
            let EnvelopeFrame::RouteAttached(attached) = recv(&mut companion).await? else {
                return Err("expected RouteAttached".into());
            };
            recv(&mut primary).await?;
            Ok((companion, primary, attached.link_id))
        }
    }
}

/// A log-linear latency histogram in nanoseconds (about 1.6% precision).
#[derive(Clone)]
struct Histogram {
    counts: Vec<u64>,
    total: u64,
}

impl Histogram {
    fn new() -> Self {
        Self {
            counts: vec![0; 128 + 64 * 57],
            total: 0,
        }
    }

    fn index(v: u64) -> usize {
        if v < 128 {
            return v as usize;
        }
        let e = 63 - v.leading_zeros() as usize;
        let sub = ((v >> (e - 6)) & 63) as usize;
        128 + (e - 7) * 64 + sub
    }

    fn value(i: usize) -> u64 {
        if i < 128 {
            return i as u64;
        }
        let e = (i - 128) / 64 + 7;
        let sub = ((i - 128) % 64) as u64;
        (64 + sub) << (e - 6)
    }

    fn record(&mut self, v: u64) {
        let i = Self::index(v).min(self.counts.len() - 1);
        self.counts[i] += 1;
        self.total += 1;
    }

    fn quantile(&self, q: f64) -> u64 {
        let want = ((self.total as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= want {
                return Self::value(i);
            }
        }
        0
    }
}

struct PairState {
    sent: std::cell::Cell<u64>,
    received: std::cell::Cell<u64>,
    times: std::cell::RefCell<Vec<Instant>>,
    progress: Notify,
    histogram: std::cell::RefCell<Histogram>,
    counted: std::cell::Cell<u64>,
}

const RING: usize = 4096;

/// One masked client WebSocket frame carrying `message` (mask key zero:
/// the relay still unmasks every byte, as for any key).
fn client_frame(message: &[u8]) -> Vec<u8> {
    let mut out = vec![0x82];
    match message.len() {
        n if n < 126 => out.push(0x80 | n as u8),
        n if n < 65_536 => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(message);
    out
}

#[allow(clippy::too_many_arguments)]
async fn client(
    target: SocketAddr,
    kind: Kind,
    size: usize,
    pairs: usize,
    window: u64,
    millis: u64,
    rate: u64,
) -> Result<(), Error> {
    let mut rng = OsRandom::new()?;
    let mut ends = Vec::new();
    for _ in 0..pairs {
        ends.push(pair(target, kind, &mut rng).await?);
    }
    let start = Instant::now();
    let warm = start + Duration::from_millis(500);
    let stop = warm + Duration::from_millis(millis);
    let mut states = Vec::new();
    let mut tasks = Vec::new();
    let mut message_len = 0;
    for (i, (a, b, link_id)) in ends.into_iter().enumerate() {
        // Half the pairs send companion → primary, half the other way.
        let (sender, receiver) = if i % 2 == 0 { (a, b) } else { (b, a) };
        let message = EnvelopeFrame::from(Data {
            link_id,
            payload: Bytes::from(vec![0x5A; size]),
        })
        .to_bytes()?;
        message_len = message.len();
        // The load is written and parsed by hand over the raw sockets, so
        // that the client costs the server's core nothing and itself
        // little: a batch of pre-built frames per write.
        let frame = client_frame(&message);
        let batch: Vec<u8> = frame
            .iter()
            .copied()
            .cycle()
            .take(frame.len() * window as usize)
            .collect();
        let state = Rc::new(PairState {
            sent: 0.into(),
            received: 0.into(),
            times: vec![start; RING].into(),
            progress: Notify::new(),
            histogram: Histogram::new().into(),
            counted: 0.into(),
        });
        states.push(state.clone());
        let per_pair_rate = rate as f64 / pairs as f64;
        let sender = sender.into_inner();
        let receiver = receiver.into_inner();
        tasks.push(tokio::task::spawn_local(sender_loop(
            sender,
            batch,
            frame.len(),
            state.clone(),
            window,
            stop,
            per_pair_rate,
        )));
        tasks.push(tokio::task::spawn_local(receiver_loop(
            receiver, state, warm, stop,
        )));
    }
    for task in tasks {
        task.await??;
    }
    let measured = stop.saturating_duration_since(warm).as_secs_f64();
    let mut histogram = Histogram::new();
    let mut frames = 0;
    for state in &states {
        let h = state.histogram.borrow();
        for (i, c) in h.counts.iter().enumerate() {
            histogram.counts[i] += c;
        }
        histogram.total += h.total;
        frames += state.counted.get();
    }
    println!(
        "result frames={frames} bytes={} secs={measured:.3} p50={} p99={} p999={}",
        frames * message_len as u64,
        histogram.quantile(0.5),
        histogram.quantile(0.99),
        histogram.quantile(0.999)
    );
    Ok(())
}

async fn sender_loop(
    mut tcp: TcpStream,
    batch: Vec<u8>,
    frame_len: usize,
    state: Rc<PairState>,
    window: u64,
    stop: Instant,
    rate: f64,
) -> Result<(), Error> {
    use tokio::io::AsyncWriteExt;
    let begin = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    loop {
        let now = Instant::now();
        if now >= stop {
            break;
        }
        let in_flight = state.sent.get() - state.received.get();
        let due = if rate > 0.0 {
            (rate * begin.elapsed().as_secs_f64()) as u64
        } else {
            u64::MAX
        };
        let on_time = due.saturating_sub(state.sent.get());
        let budget = window.saturating_sub(in_flight).min(on_time);
        if budget == 0 {
            if on_time == 0 {
                // Ahead of the offered rate: wait for the clock.
                tick.tick().await;
            } else {
                // The window is full: wait for frames to arrive.
                state.progress.notified().await;
            }
            continue;
        }
        let now = Instant::now();
        {
            let mut times = state.times.borrow_mut();
            for seq in state.sent.get()..state.sent.get() + budget {
                times[(seq as usize) % RING] = now;
            }
        }
        state.sent.set(state.sent.get() + budget);
        tcp.write_all(&batch[..frame_len * budget as usize]).await?;
    }
    // Let the receiver drain, then close.
    let deadline = Instant::now() + Duration::from_secs(5);
    while state.received.get() < state.sent.get() && Instant::now() < deadline {
        let _ = tokio::time::timeout(Duration::from_millis(50), state.progress.notified()).await;
    }
    Ok(())
}

/// Counts the server's (unmasked) frames as they arrive.
async fn receiver_loop(
    mut tcp: TcpStream,
    state: Rc<PairState>,
    warm: Instant,
    stop: Instant,
) -> Result<(), Error> {
    use tokio::io::AsyncReadExt;
    let mut buf = vec![0u8; 1 << 18];
    let (mut start, mut end) = (0usize, 0usize);
    loop {
        if end == buf.len() {
            buf.copy_within(start..end, 0);
            end -= start;
            start = 0;
        }
        let read = tokio::time::timeout(Duration::from_secs(10), tcp.read(&mut buf[end..])).await;
        let n = match read {
            Ok(Ok(n)) if n > 0 => n,
            _ => break,
        };
        end += n;
        let now = Instant::now();
        let mut arrived = 0;
        loop {
            let avail = &buf[start..end];
            if avail.len() < 2 {
                break;
            }
            let (len, header) = match avail[1] & 0x7F {
                126 if avail.len() >= 4 => (u16::from_be_bytes([avail[2], avail[3]]) as usize, 4),
                127 if avail.len() >= 10 => {
                    let mut b = [0u8; 8];
                    b.copy_from_slice(&avail[2..10]);
                    (u64::from_be_bytes(b) as usize, 10)
                }
                126 | 127 => break,
                n => (n as usize, 2),
            };
            if avail.len() < header + len {
                break;
            }
            start += header + len;
            arrived += 1;
        }
        if start == end {
            start = 0;
            end = 0;
        }
        if arrived > 0 {
            let times = state.times.borrow();
            let mut histogram = state.histogram.borrow_mut();
            for _ in 0..arrived {
                let seq = state.received.get();
                state.received.set(seq + 1);
                if now >= warm && now < stop {
                    let sent_at = times[(seq as usize) % RING];
                    histogram.record(now.duration_since(sent_at).as_nanos() as u64);
                    state.counted.set(state.counted.get() + 1);
                }
            }
            state.progress.notify_one();
        }
        if now >= stop && state.received.get() >= state.sent.get() {
            break;
        }
    }
    Ok(())
}

async fn idle(target: SocketAddr, kind: Kind, source: Ipv4Addr, count: usize) -> Result<(), Error> {
    let config = WebSocketConfig::default().read_buffer_size(4096);
    let mut held = Vec::with_capacity(count);
    let mut pending = futures_util::stream::FuturesUnordered::new();
    let mut started = 0;
    while held.len() < count {
        while started < count && pending.len() < 128 {
            started += 1;
            pending.push(async move {
                let mut ws = connect(target, Some(source), Some(config)).await?;
                // One envelope frame, so the relay's setup timer is done.
                send(&mut ws, Ping { nonce: 1 }).await?;
                if kind == Kind::Relay {
                    recv(&mut ws).await?;
                }
                Ok::<Ws, Error>(ws)
            });
        }
        match pending.next().await {
            Some(Ok(ws)) => held.push(ws),
            Some(Err(e)) => return Err(format!("after {} connections: {e}", held.len()).into()),
            None => break,
        }
    }
    println!("ready {}", held.len());
    // Hold them until the parent closes stdin.
    tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
    })
    .await?;
    drop(held);
    Ok(())
}

// ---------------------------------------------------------------------
// The orchestrator.

struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// VmRSS and VmHWM in KiB.
    fn memory(&self) -> (u64, u64) {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    /// User + system CPU time in clock ticks.
    fn cpu_ticks(&self) -> u64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).unwrap_or_default();
        let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
        let fields: Vec<&str> = after.split_whitespace().collect();
        let get = |i: usize| {
            fields
                .get(i)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        // Fields 14 and 15 of stat; after the ')' they are 12th and 13th.
        get(11) + get(12)
    }
}

fn free_port() -> Result<SocketAddr, Error> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?)
}

fn pinned(cpu: &str, program: &PathBuf, pin: bool) -> Command {
    if pin {
        let mut command = Command::new("taskset");
        command.arg("-c").arg(cpu).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn start_server(
    kind: Kind,
    bench: &Bench,
    relay_bin: &PathBuf,
    me: &PathBuf,
) -> Result<Server, Error> {
    let addr = free_port()?;
    let threads = bench.server_threads.to_string();
    let mut command = match kind {
        Kind::Relay => {
            let mut c = pinned("0", relay_bin, !bench.no_pin);
            c.args(["--listen", &addr.to_string(), "--threads", &threads]);
            c.args(bench.relay_args.split_whitespace());
            c.env("RUST_LOG", "info").env("NO_COLOR", "1");
            c
        }
        Kind::Baseline => {
            let mut c = pinned("0", me, !bench.no_pin);
            c.args([
                "baseline",
                "--listen",
                &addr.to_string(),
                "--threads",
                &threads,
            ]);
            c
        }
    };
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    loop {
        let line = lines.next().ok_or("the server exited")??;
        if line.contains("listening") {
            break;
        }
    }
    // Keep draining its output so that it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Ok(Server { child, addr })
}

#[derive(Clone)]
struct Measured {
    frames_per_s: f64,
    min_fps: f64,
    max_fps: f64,
    mb_per_s: f64,
    p50: u64,
    p99: u64,
    p999: u64,
    cpu_us_per_frame: f64,
    rss_kib: u64,
}

fn run_client(
    server: &Server,
    kind: Kind,
    size: usize,
    bench: &Bench,
    rate: u64,
    me: &PathBuf,
) -> Result<Measured, Error> {
    let ticks_before = server.cpu_ticks();
    let kind_name = match kind {
        Kind::Relay => "relay",
        Kind::Baseline => "baseline",
    };
    let output = pinned("1", me, !bench.no_pin)
        .args([
            "client",
            "--target",
            &server.addr.to_string(),
            "--kind",
            kind_name,
            "--size",
            &size.to_string(),
            "--pairs",
            &bench.pairs.to_string(),
            "--window",
            &bench.window.to_string(),
            "--millis",
            &bench.duration.as_millis().to_string(),
            "--rate",
            &rate.to_string(),
        ])
        .stderr(Stdio::inherit())
        .output()?;
    let ticks = server.cpu_ticks().saturating_sub(ticks_before);
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with("result "))
        .ok_or_else(|| format!("client failed: {text}"))?;
    let values: HashMap<&str, f64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|kv| kv.split_once('='))
        .filter_map(|(k, v)| Some((k, v.parse().ok()?)))
        .collect();
    let get = |k: &str| values.get(k).copied().unwrap_or(0.0);
    let secs = get("secs").max(1e-9);
    let frames = get("frames");
    // The server's CPU time covers the whole client run (setup, warm-up,
    // drain), so it is divided by every frame sent, estimated from the
    // measured rate over the run's length.
    let run_secs = secs + 0.5;
    let ticks_per_s = 100.0;
    Ok(Measured {
        frames_per_s: frames / secs,
        min_fps: frames / secs,
        max_fps: frames / secs,
        mb_per_s: get("bytes") / secs / 1e6,
        p50: get("p50") as u64,
        p99: get("p99") as u64,
        p999: get("p999") as u64,
        cpu_us_per_frame: (ticks as f64 / ticks_per_s) * 1e6 / (frames / secs * run_secs).max(1.0),
        rss_kib: server.memory().0,
    })
}

/// Runs baseline and relay alternately `repeat` times; returns the medians.
fn alternate(
    base: &Server,
    relay: &Server,
    size: usize,
    bench: &Bench,
    rate: u64,
    me: &PathBuf,
) -> Result<(Measured, Measured), Error> {
    let mut bs = Vec::new();
    let mut rs = Vec::new();
    for _ in 0..bench.repeat {
        bs.push(run_client(base, Kind::Baseline, size, bench, rate, me)?);
        rs.push(run_client(relay, Kind::Relay, size, bench, rate, me)?);
    }
    Ok((median(bs), median(rs)))
}

/// The median of each figure separately.
fn median(runs: Vec<Measured>) -> Measured {
    fn mid<T: Copy + PartialOrd>(mut v: Vec<T>) -> T {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        v[v.len() / 2]
    }
    let fps: Vec<f64> = runs.iter().map(|m| m.frames_per_s).collect();
    Measured {
        frames_per_s: mid(fps.clone()),
        min_fps: fps.iter().copied().fold(f64::INFINITY, f64::min),
        max_fps: fps.iter().copied().fold(0.0, f64::max),
        mb_per_s: mid(runs.iter().map(|m| m.mb_per_s).collect()),
        p50: mid(runs.iter().map(|m| m.p50).collect()),
        p99: mid(runs.iter().map(|m| m.p99).collect()),
        p999: mid(runs.iter().map(|m| m.p999).collect()),
        cpu_us_per_frame: mid(runs.iter().map(|m| m.cpu_us_per_frame).collect()),
        rss_kib: runs.iter().map(|m| m.rss_kib).max().unwrap_or(0),
    }
}

fn micros(ns: u64) -> String {
    format!("{:.1}", ns as f64 / 1000.0)
}

fn bench(bench: &Bench) -> Result<(), Error> {
    let me = std::env::current_exe()?;
    let relay_bin = match &bench.relay_bin {
        Some(path) => path.clone(),
        None => me.with_file_name("tandem-relay"),
    };
    if !relay_bin.exists() {
        return Err(format!(
            "{} not found: build it (cargo build --release -p tandem-relay)",
            relay_bin.display()
        )
        .into());
    }
    println!(
        "# tandem-relay-load: {} pairs, window {}, {:?} per measurement, {} server thread(s){}",
        bench.pairs,
        bench.window,
        bench.duration,
        bench.server_threads,
        if bench.no_pin {
            ""
        } else {
            ", servers on CPU 0, client on CPU 1"
        }
    );
    let relay = start_server(Kind::Relay, bench, &relay_bin, &me)?;
    let base = start_server(Kind::Baseline, bench, &relay_bin, &me)?;
    println!("\n## Throughput (as fast as the window allows) and latency at half load\n");
    println!(
        "Medians of {} alternating runs; frames/s range in brackets.\n",
        bench.repeat
    );
    println!(
        "| payload | server | frames/s | MB/s | p50 µs | p99 µs | p99.9 µs | server CPU µs/frame | server RSS MiB |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let row = |size: usize, name: &str, m: &Measured| {
        println!(
            "| {size} B | {name} | {:.0} [{:.0}–{:.0}] | {:.1} | {} | {} | {} | {:.2} | {:.1} |",
            m.frames_per_s,
            m.min_fps,
            m.max_fps,
            m.mb_per_s,
            micros(m.p50),
            micros(m.p99),
            micros(m.p999),
            m.cpu_us_per_frame,
            m.rss_kib as f64 / 1024.0
        );
    };
    for &size in &bench.sizes {
        let (b, r) = alternate(&base, &relay, size, bench, 0, &me)?;
        row(size, "baseline, full load", &b);
        row(size, "relay, full load", &r);
        let half = (0.5 * b.frames_per_s.min(r.frames_per_s)) as u64;
        let (bh, rh) = alternate(&base, &relay, size, bench, half, &me)?;
        row(
            size,
            &format!("baseline, half load ({half}/s offered)"),
            &bh,
        );
        row(size, &format!("relay, half load ({half}/s offered)"), &rh);
        println!(
            "| {size} B | **relay / baseline** | **{:.2}** | **{:.2}** | | **half load: {:.2}** | | **{:.2}** | |",
            r.frames_per_s / b.frames_per_s,
            r.mb_per_s / b.mb_per_s,
            rh.p99 as f64 / bh.p99.max(1) as f64,
            r.cpu_us_per_frame / b.cpu_us_per_frame.max(1e-9)
        );
    }
    drop(relay);
    drop(base);
    if bench.idle > 0 {
        println!("\n## Idle connections\n");
        println!(
            "| server | connections | RSS before MiB | RSS after MiB | KiB per connection | projected for 1,000,000 |"
        );
        println!("|---|---|---|---|---|---|");
        for kind in [Kind::Relay, Kind::Baseline] {
            idle_phase(kind, bench, &relay_bin, &me)?;
        }
    }
    Ok(())
}

fn idle_phase(kind: Kind, bench: &Bench, relay_bin: &PathBuf, me: &PathBuf) -> Result<(), Error> {
    let server = start_server(kind, bench, relay_bin, me)?;
    let kind_name = match kind {
        Kind::Relay => "relay",
        Kind::Baseline => "baseline",
    };
    // Warm up the allocator and the runtime with a few connections.
    let warm = spawn_idle(
        &server,
        kind_name,
        bench,
        Ipv4Addr::new(127, 0, 0, 9),
        64,
        me,
    )?;
    drop(warm);
    std::thread::sleep(Duration::from_millis(300));
    let (before, _) = server.memory();
    let per = bench.idle.div_ceil(bench.idle_procs.max(1));
    let mut holders = Vec::new();
    let mut remaining = bench.idle;
    for i in 0..bench.idle_procs.max(1) {
        let count = per.min(remaining);
        remaining -= count;
        if count == 0 {
            break;
        }
        let source = Ipv4Addr::new(127, 0, 0, 10 + i as u8);
        holders.push(spawn_idle(&server, kind_name, bench, source, count, me)?);
    }
    let held: usize = holders.iter().map(|h| h.count).sum();
    let (after, _) = server.memory();
    let per_conn = (after.saturating_sub(before)) as f64 / held.max(1) as f64;
    let projected_gib = (before as f64 + per_conn * 1e6) / (1024.0 * 1024.0);
    println!(
        "| {kind_name} | {held} | {:.1} | {:.1} | {:.2} | {:.1} GiB |",
        before as f64 / 1024.0,
        after as f64 / 1024.0,
        per_conn,
        projected_gib
    );
    drop(holders);
    Ok(())
}

struct Holder {
    child: Child,
    stdin: Option<ChildStdin>,
    count: usize,
}

impl Drop for Holder {
    fn drop(&mut self) {
        if let Some(mut stdin) = self.stdin.take() {
            let _ = stdin.write_all(b"\n");
        }
        let _ = self.child.wait();
    }
}

fn spawn_idle(
    server: &Server,
    kind: &str,
    bench: &Bench,
    source: Ipv4Addr,
    count: usize,
    me: &PathBuf,
) -> Result<Holder, Error> {
    let mut child = pinned("1", me, !bench.no_pin)
        .args([
            "idle",
            "--target",
            &server.addr.to_string(),
            "--kind",
            kind,
            "--source",
            &source.to_string(),
            "--count",
            &count.to_string(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let stdin = child.stdin.take();
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    let count = line
        .strip_prefix("ready ")
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| format!("idle client failed: {line}"))?;
    Ok(Holder {
        child,
        stdin,
        count,
    })
}
