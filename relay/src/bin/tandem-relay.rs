//! `tandem-relay`: the relay server's command line (spec §2, §3; limits and
//! timers of §10.3 and §10.4, each a flag with the spec's default). A thin
//! clap shell around [`tandem_relay::run`], in the mini-redis style.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use tandem_relay::{RelayConfig, RouterConfig, TlsConfig};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

const EXAMPLES: &str = "\
Examples:
  # Serve on the default address, with the spec's limits:
  tandem-relay

  # Serve wss:// and https:// on all interfaces with its own certificate:
  tandem-relay --listen 0.0.0.0:443 --tls-cert fullchain.pem --tls-key key.pem

  # Plain ws:// on loopback, behind a TLS-terminating proxy (nginx, Caddy):
  tandem-relay --listen 127.0.0.1:8080 --trusted-proxy 127.0.0.1

  # Behind a reverse proxy at 10.0.0.2 that sets `Forwarded`:
  tandem-relay --trusted-proxy 10.0.0.2

  # Short timers for a test rig, debug logs:
  RUST_LOG=tandem_relay=debug tandem-relay --setup-timeout 2s --idle-timeout 5s

Endpoints on the same port: WebSocket upgrades offering `tandem.v1` (any
path), `GET /healthz`, and Prometheus `GET /metrics`; over TLS when
--tls-cert and --tls-key are given (the handshake counts in SETUP_TIMEOUT).
Durations take a unit: 500ms, 10s, 3m. Once it accepts connections it
writes one line to standard output, `ready <url> NAME=VALUE...` with its
limits and timers (spec §12.6, [CONF-12]), so that a script or the
conformance runner (`--relay-cmd 'tandem-relay --listen {listen_addr}'`)
knows where it is; logs go to standard error. SIGINT or SIGTERM closes
every connection with 1001 going_away, then exits.";

/// The Tandem relay: routes encrypted traffic between a primary and its
/// companions over WebSockets.
#[derive(Debug, Parser)]
#[command(version, about, after_help = EXAMPLES)]
struct Args {
    /// Address to listen on.
    #[arg(
        long,
        value_name = "ADDR",
        default_value = "127.0.0.1:8080",
        env = "TANDEM_RELAY_LISTEN"
    )]
    listen: SocketAddr,
    /// MAX_CONNECTIONS: connections held at once; further ones are closed
    /// with 4005 over_capacity.
    #[arg(long, value_name = "N", default_value_t = tandem_relay::MAX_CONNECTIONS, value_parser = positive)]
    max_connections: usize,
    /// SETUP_TIMEOUT: from TCP accept to the end of the upgrade and the
    /// first envelope frame (4003 setup_timeout).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = duration)]
    setup_timeout: Duration,
    /// IDLE_TIMEOUT: nothing received for this long closes with 4002.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = duration)]
    idle_timeout: Duration,
    /// CHANNEL_TTL: an unjoined pairing channel expires (4012).
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = duration)]
    channel_ttl: Duration,
    /// PAIRING_CHANNEL_MAX: a joined pairing channel expires (4012).
    #[arg(long, value_name = "DURATION", default_value = "180s", value_parser = duration)]
    pairing_channel_max: Duration,
    /// MAX_CHANNELS_PER_CONNECTION (Error 4013 beyond).
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = positive)]
    max_channels_per_connection: usize,
    /// MAX_CHANNELS_PER_ADDRESS (Error 4013 beyond).
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = positive)]
    max_channels_per_address: usize,
    /// MAX_LINKS_PER_ROUTE (Error 4016 beyond).
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = positive)]
    max_links_per_route: usize,
    /// SEND_QUEUE, frames: a connection with this many frames waiting is
    /// closed with 4004 slow_consumer when another is due.
    #[arg(long, value_name = "N", default_value_t = tandem_relay::SEND_QUEUE_FRAMES, value_parser = positive)]
    send_queue_frames: usize,
    /// SEND_QUEUE, bytes.
    #[arg(long, value_name = "BYTES", default_value_t = tandem_relay::SEND_QUEUE_BYTES, value_parser = positive)]
    send_queue_bytes: usize,
    /// Socket read size per connection (allocated for each connection).
    #[arg(long, value_name = "BYTES", default_value_t = RelayConfig::default().read_buffer_size, value_parser = positive)]
    read_buffer: usize,
    /// Bytes of frames gathered before a socket write.
    #[arg(long, value_name = "BYTES", default_value_t = RelayConfig::default().write_buffer_size)]
    write_buffer: usize,
    /// Largest HTTP request head accepted.
    #[arg(long, value_name = "BYTES", default_value_t = RelayConfig::default().max_request_head, value_parser = positive)]
    max_request_head: usize,
    /// How long a closing connection may take to send its Close frame.
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = duration)]
    close_timeout: Duration,
    /// How long shutdown waits for connections to close.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = duration)]
    shutdown_grace: Duration,
    /// A reverse proxy whose Forwarded / X-Forwarded-For header names the
    /// client (spec [TRN-10]); repeat for several.
    #[arg(long, value_name = "IP")]
    trusted_proxy: Vec<IpAddr>,
    /// Runtime worker threads (default: one per core).
    #[arg(long, value_name = "N", value_parser = positive)]
    threads: Option<usize>,
    /// Serve wss:// and https:// with this PEM certificate chain (the
    /// relay's certificate first); plain ws:// without it (spec §2.5).
    #[arg(
        long,
        value_name = "FILE",
        requires = "tls_key",
        env = "TANDEM_RELAY_TLS_CERT"
    )]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert (PKCS#8, PKCS#1 or SEC1).
    #[arg(
        long,
        value_name = "FILE",
        requires = "tls_cert",
        env = "TANDEM_RELAY_TLS_KEY"
    )]
    tls_key: Option<PathBuf>,
}

/// Parses `500ms`, `10s`, `3m` or a bare number of seconds; zero is refused
/// (spec [RLY-25]: no timer may be unbounded, and none may be zero here).
fn duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let value: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration such as 500ms, 10s or 3m"))?;
    let duration = match unit {
        "ms" => Duration::from_millis(value),
        "s" => Duration::from_secs(value),
        "m" => Duration::from_secs(value.saturating_mul(60)),
        _ => return Err(format!("unknown unit `{unit}`: use ms, s or m")),
    };
    if duration.is_zero() {
        return Err("must be more than zero".into());
    }
    Ok(duration)
}

fn positive(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// The `ready` line of [CONF-12]: the URL, then every limit and timer of
/// §10.3 and §10.4 by its spec name (durations in milliseconds).
fn ready_line(scheme: &str, address: SocketAddr, config: &RelayConfig) -> String {
    let ms = |d: Duration| d.as_millis();
    let router = &config.router;
    format!(
        "ready {scheme}://{address}/ SETUP_TIMEOUT={} IDLE_TIMEOUT={} CHANNEL_TTL={} \
         PAIRING_CHANNEL_MAX={} MAX_CONNECTIONS={} MAX_CHANNELS_PER_CONNECTION={} \
         MAX_CHANNELS_PER_ADDRESS={} MAX_LINKS_PER_ROUTE={} SEND_QUEUE_FRAMES={} \
         SEND_QUEUE_BYTES={}",
        ms(router.setup_timeout),
        ms(router.idle_timeout),
        ms(router.channel_ttl),
        ms(router.pairing_channel_max),
        config.max_connections,
        router.max_channels_per_connection,
        router.max_channels_per_address,
        router.max_links_per_route,
        config.send_queue_frames,
        config.send_queue_bytes,
    )
}

impl Args {
    fn config(&self) -> RelayConfig {
        RelayConfig {
            router: RouterConfig {
                channel_ttl: self.channel_ttl,
                pairing_channel_max: self.pairing_channel_max,
                max_channels_per_connection: self.max_channels_per_connection,
                max_channels_per_address: self.max_channels_per_address,
                max_links_per_route: self.max_links_per_route,
                idle_timeout: self.idle_timeout,
                setup_timeout: self.setup_timeout,
            },
            max_connections: self.max_connections,
            send_queue_frames: self.send_queue_frames,
            send_queue_bytes: self.send_queue_bytes,
            max_request_head: self.max_request_head,
            read_buffer_size: self.read_buffer,
            write_buffer_size: self.write_buffer,
            close_timeout: self.close_timeout,
            shutdown_grace: self.shutdown_grace,
            trusted_proxies: self.trusted_proxy.clone(),
        }
    }
}

/// SIGINT or SIGTERM.
async fn signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => match TlsConfig::from_pem_files(cert, key) {
            Ok(tls) => Some(tls),
            Err(error) => {
                tracing::error!(%error, "cannot serve TLS");
                return ExitCode::FAILURE;
            }
        },
        _ => None,
    };
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    runtime.enable_all();
    if let Some(threads) = args.threads {
        runtime.worker_threads(threads);
    }
    let runtime = match runtime.build() {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!(%error, "cannot start the runtime");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let listener = match TcpListener::bind(args.listen).await {
            Ok(listener) => listener,
            Err(error) => {
                tracing::error!(%error, address = %args.listen, "cannot listen");
                return ExitCode::FAILURE;
            }
        };
        let address = match listener.local_addr() {
            Ok(address) => address,
            Err(error) => {
                tracing::error!(%error, "cannot read the listening address");
                return ExitCode::FAILURE;
            }
        };
        let config = args.config();
        let scheme = if tls.is_some() { "wss" } else { "ws" };
        // One flushed line, after the listener is bound: connections made
        // from now on are accepted.
        println!("{}", ready_line(scheme, address, &config));
        let served = match tls {
            Some(tls) => tandem_relay::run_tls(listener, config, tls, signal()).await,
            None => tandem_relay::run(listener, config, signal()).await,
        };
        match served {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                tracing::error!(%error, "relay failed");
                ExitCode::FAILURE
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_units_and_refuse_zero() {
        assert_eq!(duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(duration("3m"), Ok(Duration::from_secs(180)));
        assert_eq!(duration("7"), Ok(Duration::from_secs(7)));
        assert!(duration("0s").is_err());
        assert!(duration("1h").is_err());
        assert!(duration("fast").is_err());
    }

    #[test]
    fn the_ready_line_names_every_limit_and_timer() {
        let args = Args::parse_from(["tandem-relay", "--idle-timeout", "2s"]);
        let line = ready_line("ws", "127.0.0.1:4000".parse().unwrap(), &args.config());
        assert!(line.starts_with("ready ws://127.0.0.1:4000/ "), "{line}");
        assert!(line.contains(" IDLE_TIMEOUT=2000 "), "{line}");
        assert!(line.ends_with(" SEND_QUEUE_BYTES=33554432"), "{line}");
        assert_eq!(line.split(' ').count(), 12, "{line}");
    }

    #[test]
    fn the_defaults_are_the_spec_values() {
        let args = Args::parse_from(["tandem-relay"]);
        let config = args.config();
        let spec = RelayConfig::default();
        assert_eq!(args.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.max_connections, 20_000);
        assert_eq!(config.send_queue_frames, 8_192);
        assert_eq!(config.send_queue_bytes, 32 << 20);
        assert_eq!(format!("{:?}", config.router), format!("{:?}", spec.router));
        assert_eq!(config.router.setup_timeout, Duration::from_secs(10));
        assert_eq!(config.router.idle_timeout, Duration::from_secs(60));
        assert_eq!(config.router.channel_ttl, Duration::from_secs(60));
        assert_eq!(config.router.pairing_channel_max, Duration::from_secs(180));
    }
}
