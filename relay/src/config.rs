//! The relay's settings: the limits and timers of spec §10.3 and §10.4
//! ([RLY-25]: each may be configured, none may be unbounded), plus the IO
//! knobs of this implementation (buffer sizes, close linger, proxies).

use std::net::IpAddr;
use std::time::Duration;

use tandem_codec::limits::MAX_ENVELOPE_FRAME;

use crate::router::RouterConfig;

/// `SEND_QUEUE` in frames (spec §10.4).
pub const SEND_QUEUE_FRAMES: usize = 8_192;
/// `SEND_QUEUE` in bytes (spec §10.4).
pub const SEND_QUEUE_BYTES: usize = 32 << 20;
/// `MAX_CONNECTIONS` (spec §10.4).
pub const MAX_CONNECTIONS: usize = 20_000;

/// Everything `run` needs to know. `Default` gives the spec's values.
#[derive(Clone, Debug)]
pub struct RelayConfig {
    /// Routing limits and timers: channel lifetimes, channel and link
    /// limits, `IDLE_TIMEOUT`, `SETUP_TIMEOUT` (which also bounds the
    /// WebSocket upgrade, [RLY-22]).
    pub router: RouterConfig,
    /// `MAX_CONNECTIONS`: TCP connections held at once, including those
    /// still in their upgrade ([RLY-24]).
    pub max_connections: usize,
    /// `SEND_QUEUE`, frames part ([RLY-23]).
    pub send_queue_frames: usize,
    /// `SEND_QUEUE`, bytes part ([RLY-23]).
    pub send_queue_bytes: usize,
    /// The largest HTTP request head read before the upgrade.
    pub max_request_head: usize,
    /// How much tungstenite reads from the socket at once. It is allocated
    /// for every connection, so it sets most of an idle connection's cost.
    pub read_buffer_size: usize,
    /// How many bytes of frames tungstenite gathers before it writes to
    /// the socket (writes also happen whenever the send queue runs dry).
    pub write_buffer_size: usize,
    /// How long a connection being closed may take to drain its last
    /// frames and exchange Close frames before its socket is dropped.
    pub close_timeout: Duration,
    /// How long a graceful shutdown waits for connections to close.
    pub shutdown_grace: Duration,
    /// Reverse proxies whose `Forwarded` / `X-Forwarded-For` header gives
    /// the client address for per-address limits ([TRN-10]).
    pub trusted_proxies: Vec<IpAddr>,
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            router: RouterConfig::default(),
            max_connections: MAX_CONNECTIONS,
            send_queue_frames: SEND_QUEUE_FRAMES,
            send_queue_bytes: SEND_QUEUE_BYTES,
            max_request_head: 8 * 1024,
            read_buffer_size: 4 * 1024,
            write_buffer_size: 64 * 1024,
            close_timeout: Duration::from_secs(2),
            shutdown_grace: Duration::from_secs(5),
            trusted_proxies: Vec::new(),
        }
    }
}

impl RelayConfig {
    /// The WebSocket settings: messages and frames capped at the largest
    /// envelope frame ([TRN-04], close 1009), small buffers.
    pub(crate) fn websocket(&self) -> tokio_tungstenite::tungstenite::protocol::WebSocketConfig {
        tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
            .read_buffer_size(self.read_buffer_size.max(64))
            .write_buffer_size(self.write_buffer_size)
            .max_write_buffer_size(usize::MAX)
            .max_message_size(Some(MAX_ENVELOPE_FRAME))
            .max_frame_size(Some(MAX_ENVELOPE_FRAME))
    }
}
