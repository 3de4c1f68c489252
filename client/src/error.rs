//! The driver's errors: why a connection attempt to the relay failed
//! (spec §2.1, §2.2, [TRN-01]), and the one error of the command channel.
//! Each connection failure is retried with backoff (§5.4); a refused TLS
//! certificate says what is wrong with it (§2.5, [TRN-09]).

use crate::tls::CertificateProblem;

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
    /// A `wss://` URL, and the transport has no TLS ([`crate::PlainTcp`]).
    #[error("wss:// needs a TLS transport, which this connection does not have")]
    TlsUnavailable,
    /// The TCP connection failed.
    #[error("cannot reach the relay: {0}")]
    Io(#[from] std::io::Error),
    /// The relay's TLS certificate was refused ([TRN-09]); the problem
    /// says why (unknown issuer, name mismatch, expired, ...).
    #[error("the TLS certificate of {host} was refused: {problem}")]
    Certificate {
        /// The host of the relay URL.
        host: String,
        /// What is wrong with the certificate.
        problem: CertificateProblem,
    },
    /// The TLS handshake failed for another reason than the certificate
    /// (no common protocol version or cipher suite, a plain server, ...).
    #[error("TLS handshake with {host} failed: {reason}")]
    Tls {
        /// The host of the relay URL.
        host: String,
        /// rustls's words.
        reason: String,
    },
    /// The TCP connection, the TLS handshake or the WebSocket upgrade did
    /// not finish in time.
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
