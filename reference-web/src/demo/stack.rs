//! The demo's relay (spec §2, §3) and phone (§3.4, §7) in this process, from
//! their libraries: an ephemeral loopback port, a temporary SQLite store with
//! seeded contacts, quick simulated contacts.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use tandem_phone::serve::{ServeOptions, SimulationConfig};
use tandem_phone::state::State;
use tandem_phone::store::Account;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::console::Console;
use crate::error::WebError;

/// The relay, running.
pub(super) struct Relay {
    /// Its address.
    pub(super) address: SocketAddr,
    /// `ws://` URL.
    pub(super) url: String,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Relay {
    /// Starts a relay with the spec's defaults on 127.0.0.1:0.
    pub(super) async fn start() -> Result<Self, WebError> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(WebError::io("127.0.0.1:0"))?;
        let address = listener.local_addr().map_err(WebError::io("relay"))?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopped.await;
            };
            if let Err(err) =
                tandem_relay::run(listener, tandem_relay::RelayConfig::default(), shutdown).await
            {
                tracing::error!(%err, "the demo relay failed");
            }
        });
        Ok(Self {
            address,
            url: format!("ws://{address}"),
            stop: Some(stop),
            task,
        })
    }

    /// Stops it, closing every connection with `going_away`.
    pub(super) async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}

/// The phone, serving.
pub(super) struct Phone {
    /// Its state folder.
    pub(super) state: State,
    lines: mpsc::UnboundedReceiver<String>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), String>>,
}

/// The phone's simulated contacts, quick enough for a demo.
fn simulation() -> SimulationConfig {
    SimulationConfig {
        tick_every: None,
        delivered_after: Duration::from_millis(150),
        read_after: Duration::from_millis(300),
        reply_after: Duration::from_millis(150),
        ..SimulationConfig::default()
    }
}

impl Phone {
    /// Creates an account in `dir` with the seeded contacts and starts
    /// serving it through `relay`.
    pub(super) fn start(dir: &Path, relay: &str, console: &Console) -> Result<Self, WebError> {
        let state = State::new(dir);
        let account = Account {
            name: "Ada".into(),
            device_name: "Demo phone".into(),
        };
        let made = tandem_phone::commands::init(&state, &account, true)
            .map_err(|err| WebError::Invalid(format!("the demo phone: {err}")))?;
        console.line(format!(
            "Created account \"Ada\" with the contacts {}.",
            made.contacts.join(", ")
        ));
        let (stop, stopped) = oneshot::channel::<()>();
        let (tx, lines) = mpsc::unbounded_channel();
        let mut options = ServeOptions::new(relay);
        options.simulation = simulation();
        let serving = state.clone();
        let console = console.clone();
        let task = tokio::spawn(async move {
            let print = move |line: &str| {
                console.line(line);
                let _ = tx.send(line.to_owned());
            };
            let shutdown = async move {
                let _ = stopped.await;
            };
            tandem_phone::serve::run(&serving, options, shutdown, print)
                .await
                .map_err(|err| err.to_string())
        });
        Ok(Self {
            state,
            lines,
            stop: Some(stop),
            task,
        })
    }

    /// Waits for an output line containing `needle`.
    pub(super) async fn wait_line(
        &mut self,
        needle: &str,
        timeout: Duration,
    ) -> Result<String, WebError> {
        let lines = &mut self.lines;
        let found = tokio::time::timeout(timeout, async {
            while let Some(line) = lines.recv().await {
                if line.contains(needle) {
                    return Some(line);
                }
            }
            None
        })
        .await;
        match found {
            Ok(Some(line)) => Ok(line),
            Ok(None) => Err(WebError::Invalid(format!(
                "the demo phone stopped before saying {needle:?}"
            ))),
            Err(_) => Err(WebError::Timeout(format!(
                "the demo phone did not say {needle:?} in time"
            ))),
        }
    }

    /// Stops serving.
    pub(super) async fn stop(mut self) -> Result<(), WebError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match (&mut self.task).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(err)) => Err(WebError::Invalid(format!("the demo phone: {err}"))),
            Err(_) => Err(WebError::Invalid("the demo phone's task failed".into())),
        }
    }
}
