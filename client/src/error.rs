//! The driver's errors: why a connection attempt to the relay failed
//! (spec §2.1, §2.2, [TRN-01]), and the one error of the command channel.
//! Each connection failure is retried with backoff (§5.4).

/// Why a WebSocket to the relay could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The relay URL is not an absolute `ws://` or `wss://` URL with a host.
    #[error("invalid relay URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A `wss://` URL, and the transport has no TLS (issue 11).
    #[error("wss:// needs a TLS transport, which this build does not have")]
    TlsUnavailable,
    /// The TCP connection failed.
    #[error("cannot reach the relay: {0}")]
    Io(#[from] std::io::Error),
    /// The TCP connection or the WebSocket upgrade did not finish in time.
    #[error("the relay did not answer in time")]
    Timeout,
    /// The relay refused the upgrade ([TRN-02]: a 400 whose body lists the
    /// versions it supports).
    #[error("the relay refused the upgrade with HTTP {status}{}", supported_suffix(.supported))]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The body's `supported:` line, when it had one.
        supported: Option<String>,
    },
    /// The relay did not select exactly the subprotocol offered ([TRN-01]).
    #[error("the relay selected subprotocol {0:?}, not tandem.v1")]
    Subprotocol(Option<String>),
    /// The WebSocket upgrade failed otherwise.
    #[error("WebSocket upgrade failed: {0}")]
    WebSocket(String),
}

fn supported_suffix(supported: &Option<String>) -> String {
    match supported {
        Some(line) => format!(" ({line})"),
        None => String::new(),
    }
}

/// The driver has stopped; the command was not run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the client driver has stopped")]
pub struct DriverGone;
