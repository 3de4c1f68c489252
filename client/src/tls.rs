//! TLS for `wss://` relays (spec §2.5, [TRN-08], [TRN-09]): rustls on the
//! ring provider, TLS 1.2 and 1.3 only, trusting the Mozilla roots of
//! `webpki-roots` plus any CA a person names (`--ca FILE`); nothing turns
//! verification off. A refused certificate is a typed [`CertificateProblem`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{CertificateError, ClientConfig, RootCertStore};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::connect::Target;
use crate::error::ConnectError;
use crate::transport::{ConnectFuture, Io, Transport};

/// Why a TLS transport could not be set up (a `--ca` file that cannot be
/// used).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsSetupError {
    /// The CA file could not be read.
    #[error("cannot read the CA file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The failure.
        source: std::io::Error,
    },
    /// The CA file holds no PEM certificate, or a malformed one.
    #[error("the CA file {path} {reason}")]
    Pem {
        /// The file (empty for PEM given in memory).
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A certificate of the CA file cannot be a trust root.
    #[error("a certificate in the CA file {path} cannot be trusted as a root: {reason}")]
    Root {
        /// The file (empty for PEM given in memory).
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// rustls refused the configuration.
    #[error("TLS setup failed: {0}")]
    Rustls(String),
}

/// What is wrong with the relay's certificate ([TRN-09]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertificateProblem {
    /// No trusted certificate authority issued it (self-signed, or a
    /// private CA that was not given with `--ca`).
    #[error(
        "unknown issuer: no trusted certificate authority signed it (trust a private relay's \
         CA with --ca FILE)"
    )]
    UnknownIssuer,
    /// It is not valid for the host of the relay URL.
    #[error("name mismatch: it is not valid for {host}{}", names(.presented))]
    NameMismatch {
        /// The host the URL names.
        host: String,
        /// The names the certificate holds, when known.
        presented: Vec<String>,
    },
    /// Its validity ended.
    #[error("expired: its validity period has ended")]
    Expired,
    /// Its validity has not begun.
    #[error("not yet valid: its validity period has not begun (is the clock right?)")]
    NotYetValid,
    /// Its issuer revoked it.
    #[error("revoked by its issuer")]
    Revoked,
    /// It is not signed correctly by its issuer.
    #[error("bad signature: it is not signed correctly by its issuer")]
    BadSignature,
    /// Anything else the verifier refused.
    #[error("{0}")]
    Other(String),
}

fn names(presented: &[String]) -> String {
    if presented.is_empty() {
        String::new()
    } else {
        format!(" (it names {})", presented.join(", "))
    }
}

/// TCP for `ws://`, TLS over TCP for `wss://`, with the certificate
/// verified against the webpki roots and any extra CA.
#[derive(Clone)]
pub struct TlsTransport {
    connector: TlsConnector,
}

impl std::fmt::Debug for TlsTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsTransport").finish_non_exhaustive()
    }
}

impl TlsTransport {
    /// Trusts the Mozilla roots of `webpki-roots`.
    pub fn new() -> Result<Self, TlsSetupError> {
        Self::with_roots(RootCertStore::empty())
    }

    /// Trusts the webpki roots and every certificate of a PEM file
    /// (`--ca FILE`, for a relay whose certificate a private CA issued).
    pub fn with_ca_file(path: &Path) -> Result<Self, TlsSetupError> {
        let pem = std::fs::read(path).map_err(|source| TlsSetupError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_pem(&pem, path)
    }

    /// Trusts the webpki roots and every certificate of PEM text.
    pub fn with_ca_pem(pem: &[u8]) -> Result<Self, TlsSetupError> {
        Self::from_pem(pem, Path::new(""))
    }

    /// With `Some(file)`, [`TlsTransport::with_ca_file`]; otherwise
    /// [`TlsTransport::new`]. What the reference tools' `--ca` does.
    pub fn with_optional_ca(path: Option<&Path>) -> Result<Self, TlsSetupError> {
        match path {
            Some(path) => Self::with_ca_file(path),
            None => Self::new(),
        }
    }

    fn from_pem(pem: &[u8], path: &Path) -> Result<Self, TlsSetupError> {
        let mut extra = RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|err| TlsSetupError::Pem {
                path: path.to_owned(),
                reason: format!("is not valid PEM: {err}"),
            })?;
            extra.add(cert).map_err(|err| TlsSetupError::Root {
                path: path.to_owned(),
                reason: err.to_string(),
            })?;
        }
        if extra.is_empty() {
            return Err(TlsSetupError::Pem {
                path: path.to_owned(),
                reason: "holds no CERTIFICATE block".into(),
            });
        }
        Self::with_roots(extra)
    }

    fn with_roots(mut roots: RootCertStore) -> Result<Self, TlsSetupError> {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        // [TRN-08] TLS 1.2 or 1.3, never older (rustls has nothing older).
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|err| TlsSetupError::Rustls(err.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        // A WebSocket upgrade is HTTP/1.1 (RFC 6455); a proxy in front of
        // the relay must not pick HTTP/2.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            connector: TlsConnector::from(Arc::new(config)),
        })
    }
}

impl TlsTransport {
    /// Runs the TLS handshake for `target` on a TCP connection opened by
    /// the caller (from an address of its choice, say) when the URL is
    /// `wss://`; a `ws://` target gets the TCP stream back as it is.
    pub async fn secure(
        &self,
        tcp: TcpStream,
        target: &Target,
    ) -> Result<Box<dyn Io>, ConnectError> {
        if !target.tls {
            return Ok(Box::new(tcp));
        }
        let name =
            ServerName::try_from(target.host.clone()).map_err(|_| ConnectError::InvalidUrl {
                url: target.url.clone(),
                reason: "the host is not a valid TLS server name",
            })?;
        let tls = self
            .connector
            .connect(name, tcp)
            .await
            .map_err(|err| handshake_error(&target.host, err))?;
        Ok(Box::new(tls))
    }
}

impl Transport for TlsTransport {
    fn connect<'a>(&'a self, target: &'a Target) -> ConnectFuture<'a> {
        Box::pin(async move {
            let tcp = TcpStream::connect((target.host.as_str(), target.port)).await?;
            tcp.set_nodelay(true)?;
            self.secure(tcp, target).await
        })
    }
}

/// Names what went wrong in a TLS handshake: a refused certificate as a
/// [`CertificateProblem`], any other TLS failure as [`ConnectError::Tls`].
fn handshake_error(host: &str, err: std::io::Error) -> ConnectError {
    let Some(rustls_error) = err
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    else {
        if err.kind() == std::io::ErrorKind::UnexpectedEof {
            return ConnectError::Tls {
                host: host.to_owned(),
                reason: "the server closed the connection during the handshake (does it serve \
                         TLS on this port?)"
                    .into(),
            };
        }
        return ConnectError::Io(err);
    };
    let problem = match rustls_error {
        rustls::Error::InvalidCertificate(problem) => certificate_problem(host, problem),
        other => {
            return ConnectError::Tls {
                host: host.to_owned(),
                reason: other.to_string(),
            };
        }
    };
    ConnectError::Certificate {
        host: host.to_owned(),
        problem,
    }
}

fn certificate_problem(host: &str, problem: &CertificateError) -> CertificateProblem {
    match problem {
        CertificateError::UnknownIssuer => CertificateProblem::UnknownIssuer,
        CertificateError::NotValidForName => CertificateProblem::NameMismatch {
            host: host.to_owned(),
            presented: Vec::new(),
        },
        CertificateError::NotValidForNameContext { presented, .. } => {
            CertificateProblem::NameMismatch {
                host: host.to_owned(),
                presented: presented.clone(),
            }
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            CertificateProblem::Expired
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            CertificateProblem::NotYetValid
        }
        CertificateError::Revoked => CertificateProblem::Revoked,
        CertificateError::BadSignature => CertificateProblem::BadSignature,
        other => CertificateProblem::Other(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_file_without_certificates_is_refused_with_its_name() {
        let err = TlsTransport::with_ca_pem(b"not pem at all").unwrap_err();
        assert!(err.to_string().contains("holds no CERTIFICATE"), "{err}");
        let err = TlsTransport::with_ca_file(Path::new("/nonexistent/ca.pem")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
        assert!(TlsTransport::new().is_ok());
    }

    #[test]
    fn certificate_problems_name_the_problem() {
        let host = "relay.example";
        assert_eq!(
            certificate_problem(host, &CertificateError::UnknownIssuer).to_string(),
            "unknown issuer: no trusted certificate authority signed it (trust a private \
             relay's CA with --ca FILE)"
        );
        let mismatch = certificate_problem(
            host,
            &CertificateError::NotValidForNameContext {
                expected: ServerName::try_from("relay.example").unwrap(),
                presented: vec!["other.example".into()],
            },
        );
        assert_eq!(
            mismatch.to_string(),
            "name mismatch: it is not valid for relay.example (it names other.example)"
        );
        assert_eq!(
            certificate_problem(host, &CertificateError::Expired),
            CertificateProblem::Expired
        );
    }
}
