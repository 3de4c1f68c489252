//! `tandem-phone adapter`: the endpoint adapter of spec §12.5 for the
//! primary role. It serves through the relay exactly as `serve` does, with
//! a quiet simulated network, and stands in for the person ([CONF-04]):
//! requests on standard input, responses and events on standard output.

mod actions;
mod error;
mod events;
mod input;
mod link;
mod output;
mod request;
mod session;
mod setup;

use std::io::Write;

use tokio::sync::{mpsc, oneshot};

pub use error::AdapterError;
pub use setup::DEVICE_NAME;

use crate::serve::{self, Embedding, Notice, ServeOptions, SimulationConfig};
use crate::state::State;
use session::{ANSWER_WITHIN, Flow, Session};

/// The command template for the conformance runner (§12.5.1).
pub const TEMPLATE: &str = "tandem-phone --state {state_dir} adapter --relay {relay_url}";

/// The account name of a phone the adapter creates.
pub const ACCOUNT_NAME: &str = "Conformance";

/// How the adapter runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdapterOptions {
    /// The relay to serve on (`{relay_url}`).
    pub relay: String,
    /// A QR text to scan at start (`{qr_payload}`); `None` or empty for none.
    pub qr: Option<String>,
    /// The account name of a phone created in an empty state folder.
    pub account_name: String,
    /// Extra CA certificates (PEM) to trust for a `wss://` relay.
    pub ca: Option<std::path::PathBuf>,
    /// Deliberate bugs (`--fault`, feature `faults`): the runner's
    /// self-test only.
    #[doc(hidden)]
    pub faults: tandem_proto::faults::Faults,
}

/// Runs the adapter until `quit`, `restart`, the end of standard input or
/// `shutdown`; then the relay connection closes as on a person's quit
/// ([CONF-10]).
pub async fn run(
    state: &State,
    options: AdapterOptions,
    shutdown: impl Future,
) -> Result<(), AdapterError> {
    if setup::ensure_account(state, &options.account_name)? {
        log(&format!("created a phone in {}", state.dir().display()));
    }
    let (commands, command_rx) = mpsc::channel(16);
    let (notice_tx, mut notices) = mpsc::unbounded_channel();
    let (stop, stopped) = oneshot::channel::<()>();
    let mut serve_options = ServeOptions::new(options.relay.clone());
    serve_options.simulation = SimulationConfig::quiet();
    serve_options.ca = options.ca.clone();
    serve_options.faults = options.faults;
    for fault in options.faults.iter() {
        log(&format!(
            "FAULT {fault}: breaks [{}] on purpose",
            fault.breaks()
        ));
    }
    let serve_state = state.clone();
    let mut serving = tokio::spawn(async move {
        let embedding = Embedding {
            commands: command_rx,
            notices: notice_tx,
        };
        let shutdown = async move {
            let _ = stopped.await;
        };
        serve::run_embedded(&serve_state, serve_options, shutdown, log, Some(embedding)).await
    });
    // The serving loop's first notice hands the driver over; a loop that
    // could not start says why instead.
    let handle = match notices.recv().await {
        Some(Notice::Started(handle)) => handle,
        _ => {
            return Err(match serving.await {
                Ok(Err(err)) => err.into(),
                _ => AdapterError::Stopped,
            });
        }
    };
    let mut session = Session::new(options.relay, commands, handle).await;
    let mut input = input::spawn_stdin();
    if let Some(qr) = options.qr.filter(|qr| !qr.trim().is_empty()) {
        session.link_at_start(qr).await;
    }
    tokio::pin!(shutdown);
    let ended = loop {
        let busy = session.busy();
        let deadline = session.pairing.deadline();
        tokio::select! {
            notice = notices.recv() => match notice {
                Some(notice) => session.on_notice(notice).await,
                None => break false,
            },
            update = session.pairing.next_update() => session.on_link_update(update),
            () = sleep_until(deadline) => session.waiting_expired(),
            line = input.recv(), if !busy => match line {
                Some(line) => {
                    if session.on_input(line).await == Flow::Stop {
                        break true;
                    }
                }
                // Closed standard input: the runner is gone (§12.5.5).
                None => break true,
            },
            _ = &mut shutdown => break true,
        }
        if session.output_broken() {
            break true;
        }
    };
    drop(session);
    if !ended {
        // The serving loop stopped by itself.
        return Err(match serving.await {
            Ok(Err(err)) => err.into(),
            _ => AdapterError::Stopped,
        });
    }
    let _ = stop.send(());
    match tokio::time::timeout(ANSWER_WITHIN, &mut serving).await {
        Ok(Ok(Ok(()))) => Ok(()),
        Ok(Ok(Err(err))) => Err(err.into()),
        Ok(Err(_)) => Err(AdapterError::Stopped),
        Err(_) => {
            serving.abort();
            Err(AdapterError::StopTimeout)
        }
    }
}

/// The serving loop's lines go to standard error, which is for logs.
fn log(line: &str) {
    let _ = writeln!(std::io::stderr(), "tandem-phone: {line}");
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
