//! `tandem-phone serve`: the long-running primary (spec §3.4, §5, §7, §8,
//! §9) on one relay connection with backoff ([RECON-09]), as the one writer
//! of the event log; this file holds its options, errors and main loop.

mod control;
mod inbox;
mod owner;
mod report;
mod serving;
mod simulation;

use std::future::Future;
use std::time::Duration;

use tandem_client::{Clock, DriverConfig, DriverEvent, DriverGone, Handle};
use tandem_codec::Code;
use tandem_proto::PublicKey;
use tandem_proto::primary::PrimaryEvent;
use tandem_proto::store::Store;
use tokio::sync::mpsc;

pub use control::{find_device, same_relay};
pub use inbox::apply_inbox;
pub use owner::OwnerError;
pub use report::code as code_text;
pub use simulation::{Action, Simulation, SimulationConfig};

use crate::control::server::{self, Command};
use crate::phone::{Phone, open_phone_with_faults};
use crate::state::{State, StateError};
use serving::Serving;

/// How `serve` runs.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// The relay URL, `ws://` or `wss://`.
    pub relay: String,
    /// A PEM file of extra CA certificates to trust for a `wss://` relay
    /// (`--ca`), beside the webpki roots (spec §2.5, [TRN-09]).
    pub ca: Option<std::path::PathBuf>,
    /// The simulated contacts.
    pub simulation: SimulationConfig,
    /// How often the inbox is read when nobody pokes.
    pub inbox_poll: Duration,
    /// Deliberate bugs for the conformance self-test (`adapter --fault`).
    #[doc(hidden)]
    pub faults: tandem_proto::faults::Faults,
}

impl ServeOptions {
    /// Defaults for a relay.
    pub fn new(relay: impl Into<String>) -> Self {
        Self {
            relay: relay.into(),
            ca: None,
            simulation: SimulationConfig::default(),
            inbox_poll: Duration::from_millis(500),
            faults: tandem_proto::faults::Faults::default(),
        }
    }
}

/// Why `serve` stopped with an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The state folder cannot be used.
    #[error(transparent)]
    State(#[from] StateError),
    /// Another process writes this state folder.
    #[error("another tandem-phone process is using {0} (a serve already runs?)")]
    Busy(String),
    /// The control socket could not be created.
    #[error("control socket {path}: {source}")]
    Socket {
        /// The socket's path.
        path: String,
        /// The failure.
        source: std::io::Error,
    },
    /// The relay URL is unusable.
    #[error(transparent)]
    Url(#[from] tandem_client::ConnectError),
    /// The `--ca` file cannot be used.
    #[error(transparent)]
    Tls(#[from] tandem_client::TlsSetupError),
    /// The driver stopped unexpectedly.
    #[error("the relay driver stopped")]
    Driver,
}

impl From<DriverGone> for ServeError {
    fn from(_: DriverGone) -> Self {
        Self::Driver
    }
}

/// What the serving loop tells an application embedded in the same
/// process (the conformance adapter, spec §12.5.4), beside its printed
/// lines.
pub(crate) enum Notice {
    /// The driver runs: reads go through this handle.
    Started(Handle<Phone>),
    /// An event of the primary, after the loop acted on it.
    Machine(PrimaryEvent),
    /// The relay connection closed or was lost.
    Disconnected {
        /// The close code.
        code: Code,
        /// For people.
        reason: String,
    },
    /// The person revoked a companion ([DEV-04]).
    Revoked(PublicKey),
    /// The loop changed the store on its own (the inbox, the simulation).
    StoreChanged,
}

/// An application in the same process: its commands come in beside the
/// control socket's, and it hears [`Notice`]s.
pub(crate) struct Embedding {
    /// Commands, as the control socket gives them, and the in-process ones.
    pub(crate) commands: mpsc::Receiver<Command>,
    /// Where notices go.
    pub(crate) notices: mpsc::UnboundedSender<Notice>,
}

/// Runs the phone until `shutdown` completes, printing one line per
/// happening with `print`.
pub async fn run(
    state: &State,
    options: ServeOptions,
    shutdown: impl Future,
    print: impl Fn(&str),
) -> Result<(), ServeError> {
    run_embedded(state, options, shutdown, print, None).await
}

/// [`run`], with an application in the same process.
pub(crate) async fn run_embedded(
    state: &State,
    options: ServeOptions,
    shutdown: impl Future,
    print: impl Fn(&str),
    embedding: Option<Embedding>,
) -> Result<(), ServeError> {
    tandem_client::Target::parse(&options.relay)?;
    let transport = tandem_client::TlsTransport::with_optional_ca(options.ca.as_deref())?;
    let _lock = lock_writer(state).await?;
    let clock = Clock::start();
    let phone = open_phone_with_faults(state, &clock, true, options.faults)?;
    let contacts = phone.store().contacts().map_err(|err| StateError::Key {
        path: state.store_paths().database,
        reason: err.0,
    })?;
    let (handle, mut events, driver) = tandem_client::spawn(
        phone,
        DriverConfig::new(options.relay.clone()).with_transport(std::sync::Arc::new(transport)),
        clock,
    );
    let socket = state.socket_path();
    let listener = server::bind(&socket).map_err(|source| ServeError::Socket {
        path: socket.display().to_string(),
        source,
    })?;
    let (command_tx, mut commands) = mpsc::channel(16);
    let acceptor = tokio::spawn(server::accept_loop(listener, command_tx));
    let (mut local, notices) = match embedding {
        Some(Embedding { commands, notices }) => (Some(commands), Some(notices)),
        None => (None, None),
    };
    let mut serving = Serving {
        handle: handle.clone(),
        clock,
        options: options.clone(),
        simulation: Simulation::new(
            options.simulation.clone(),
            &contacts,
            tokio::time::Instant::now(),
        ),
        link: None,
        notices,
    };
    serving.notify(Notice::Started(handle.clone()));
    print(&format!(
        "serving on {} from {}",
        options.relay,
        state.dir().display()
    ));
    // Messages injected while no serve ran.
    serving.apply_inbox(&print).await?;
    let mut poll = tokio::time::interval(options.inbox_poll);
    tokio::pin!(shutdown);
    loop {
        let due = serving.simulation.next_due();
        tokio::select! {
            event = events.recv() => match event {
                Some(DriverEvent::Stopped) | None => break,
                Some(event) => serving.on_event(event, &print).await?,
            },
            Some(command) = commands.recv() => serving.on_command(command, &print).await?,
            Some(command) = recv_local(&mut local) => serving.on_command(command, &print).await?,
            () = sleep_until(due) => serving.simulate(&print).await?,
            _ = poll.tick() => serving.apply_inbox(&print).await?,
            _ = &mut shutdown => break,
        }
    }
    handle.shutdown().await;
    drop(handle);
    drop(serving);
    acceptor.abort();
    let _ = std::fs::remove_file(&socket);
    // The driver gives the primary back, and with it the store, which
    // closes here; the lock goes last.
    let _phone = driver.join().await;
    while let Ok(event) = events.try_recv() {
        if let Some(line) = report::line(&event, |_| None) {
            print(&line);
        }
    }
    print("stopped");
    Ok(())
}

/// Takes the writer lock, waiting a little for a short command (an
/// `inject` applying the inbox) to finish; another `serve` keeps it.
async fn lock_writer(state: &State) -> Result<crate::state::WriterLock, ServeError> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(lock) = state.try_lock_writer()? {
            return Ok(lock);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(ServeError::Busy(state.dir().display().to_string()));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The next in-process command; pending for ever without an embedding or
/// once the application dropped its end.
async fn recv_local(local: &mut Option<mpsc::Receiver<Command>>) -> Option<Command> {
    let Some(receiver) = local.as_mut() else {
        return std::future::pending().await;
    };
    let command = receiver.recv().await;
    if command.is_none() {
        *local = None;
    }
    command
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
