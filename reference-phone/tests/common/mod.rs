//! Test fixtures over real loopback sockets (spec §2, §3): the real relay,
//! the phone in-process or as the built binary, and `tandem-client`-driven
//! companions. Every wait is for an event or an output line, with a timeout.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tandem_client::{Clock, DriverConfig, DriverEvent, Events, Handle, Machine};
use tandem_phone::serve::{ServeOptions, SimulationConfig};
use tandem_phone::state::State;
use tandem_phone::store::{Account, SqliteStore};
use tandem_proto::StaticKeypair;
use tandem_proto::companion::pairing::{Pairing, PairingConfig, PairingEvent};
use tandem_proto::companion::{Companion, CompanionConfig, CompanionEvent, Credentials};
use tandem_proto::random::OsRandom;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::{mpsc, oneshot};

/// How long any single wait may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(20);

/// The phone binary built for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_tandem-phone");

/// The relay server on an ephemeral loopback port.
pub struct Relay {
    pub url: String,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Relay {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = tandem_relay::run(listener, tandem_relay::RelayConfig::default(), async move {
                let _ = stopped.await;
            })
            .await;
        });
        Self {
            url,
            stop: Some(stop),
            task,
        }
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}

/// A fresh phone account in a temporary folder.
pub fn new_phone(dir: &Path) -> State {
    let state = State::new(dir.join("phone"));
    let account = Account {
        name: "Ada".into(),
        device_name: "Test phone".into(),
    };
    tandem_phone::commands::init(&state, &account, true).unwrap();
    state
}

/// Simulated contacts on short timers, no ticker.
pub fn fast_simulation() -> SimulationConfig {
    SimulationConfig {
        tick_every: None,
        delivered_after: Duration::from_millis(30),
        read_after: Duration::from_millis(60),
        reply_after: Duration::from_millis(30),
        ..SimulationConfig::default()
    }
}

/// A running phone: in this process or as the built binary.
pub enum Phone {
    InProcess {
        stop: Option<oneshot::Sender<()>>,
        task: tokio::task::JoinHandle<()>,
        lines: mpsc::UnboundedReceiver<String>,
    },
    Binary {
        child: tokio::process::Child,
        lines: mpsc::UnboundedReceiver<String>,
    },
}

impl Phone {
    /// `serve` in this process.
    pub fn in_process(state: &State, relay: &str) -> Self {
        let (stop, stopped) = oneshot::channel::<()>();
        let (tx, lines) = mpsc::unbounded_channel();
        let state = state.clone();
        let mut options = ServeOptions::new(relay);
        options.simulation = fast_simulation();
        let task = tokio::spawn(async move {
            let print = move |line: &str| {
                let _ = tx.send(line.to_owned());
            };
            tandem_phone::serve::run(
                &state,
                options,
                async move {
                    let _ = stopped.await;
                },
                print,
            )
            .await
            .unwrap();
        });
        Phone::InProcess {
            stop: Some(stop),
            task,
            lines,
        }
    }

    /// `tandem-phone serve` as a child process.
    pub fn binary(state: &State, relay: &str) -> Self {
        let mut child = tokio::process::Command::new(BIN)
            .arg("--state")
            .arg(state.dir())
            .args([
                "serve",
                "--relay",
                relay,
                "--tick-every",
                "0",
                "--delivered-after",
                "30ms",
                "--read-after",
                "60ms",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Phone::Binary { child, lines }
    }

    /// Waits for a line of output containing `needle`.
    pub async fn wait_line(&mut self, needle: &str) -> String {
        let lines = match self {
            Phone::InProcess { lines, .. } | Phone::Binary { lines, .. } => lines,
        };
        tokio::time::timeout(WAIT, async {
            loop {
                match lines.recv().await {
                    Some(line) if line.contains(needle) => return line,
                    Some(_) => {}
                    None => panic!("the phone stopped before printing {needle:?}"),
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("no line with {needle:?} in time"))
    }

    /// Stops it: gracefully in process, SIGKILL for the binary.
    pub async fn stop(self) {
        match self {
            Phone::InProcess { mut stop, task, .. } => {
                if let Some(stop) = stop.take() {
                    let _ = stop.send(());
                }
                task.await.unwrap();
            }
            Phone::Binary { mut child, .. } => {
                child.kill().await.unwrap();
            }
        }
    }
}

/// A machine driven over a real socket, with every event it reported.
pub struct Driven<M: Machine> {
    pub handle: Handle<M>,
    pub events: Events<M::Event>,
    pub seen: Vec<M::Event>,
    pub driver: Option<tandem_client::Driver<M>>,
}

impl<M: Machine> Driven<M>
where
    M::Event: Clone,
{
    pub fn spawn(machine: M, config: DriverConfig) -> Self {
        let (handle, events, driver) = tandem_client::spawn(machine, config, Clock::start());
        Self {
            handle,
            events,
            seen: Vec::new(),
            driver: Some(driver),
        }
    }

    /// Waits for a machine event that `pick` maps to a value.
    pub async fn wait<T>(&mut self, what: &str, mut pick: impl FnMut(&M::Event) -> Option<T>) -> T {
        if let Some(found) = self.seen.iter().find_map(&mut pick) {
            return found;
        }
        self.next(what, pick).await
    }

    /// Waits for a new machine event (not one seen already).
    pub async fn next<T>(&mut self, what: &str, mut pick: impl FnMut(&M::Event) -> Option<T>) -> T {
        let events = &mut self.events;
        let seen = &mut self.seen;
        tokio::time::timeout(WAIT, async {
            loop {
                match events.recv().await {
                    Some(DriverEvent::Machine(event)) => {
                        let found = pick(&event);
                        seen.push(event);
                        if let Some(found) = found {
                            return found;
                        }
                    }
                    Some(DriverEvent::Stopped) | None => {
                        panic!("driver stopped waiting for {what}")
                    }
                    Some(_) => {}
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
    }

    /// Moves every event already reported into `seen`.
    pub fn drain(&mut self) {
        while let Ok(event) = self.events.try_recv() {
            if let DriverEvent::Machine(event) = event {
                self.seen.push(event);
            }
        }
    }

    /// Runs `f` on the machine.
    pub async fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut M, tandem_proto::Instant) -> R + Send + 'static,
    ) -> R {
        self.handle.call(f).await.unwrap()
    }

    pub async fn stop(mut self) -> M {
        self.handle.shutdown().await;
        self.driver.take().unwrap().join().await.unwrap()
    }
}

/// A companion that wants to pair through `relay`.
pub fn pairing(relay: &str, device_name: &str) -> Driven<Pairing> {
    let config = PairingConfig {
        relay_url: relay.to_owned(),
        device_name: device_name.to_owned(),
        ..PairingConfig::default()
    };
    let identity = StaticKeypair::generate(&mut OsRandom::new().unwrap());
    let machine = Pairing::new(config, identity, Box::new(OsRandom::new().unwrap()));
    Driven::spawn(machine, DriverConfig::once(relay))
}

/// The QR text a pairing companion shows.
pub async fn shown_code(pairing: &mut Driven<Pairing>) -> String {
    pairing
        .wait("a QR code", |e| match e {
            PairingEvent::ShowCode { text, .. } => Some(text.clone()),
            _ => None,
        })
        .await
}

/// The credentials of a pairing that completed.
pub async fn paired(pairing: &mut Driven<Pairing>) -> Credentials {
    pairing
        .wait("Paired", |e| match e {
            PairingEvent::Paired(credentials) => Some(credentials.clone()),
            PairingEvent::Failed { code, reason } => panic!("pairing failed: {code} {reason}"),
            _ => None,
        })
        .await
}

/// A linked companion connected through `relay`.
pub fn companion(relay: &str, credentials: Credentials) -> Driven<Companion> {
    let machine = Companion::new(
        CompanionConfig::default(),
        credentials,
        Box::new(OsRandom::new().unwrap()),
    );
    Driven::spawn(machine, DriverConfig::new(relay))
}

/// Waits until the companion is synced (snapshot or resume done).
pub async fn synced(companion: &mut Driven<Companion>) -> u64 {
    companion
        .wait("Synced", |e| match e {
            CompanionEvent::Synced { seq } => Some(*seq),
            _ => None,
        })
        .await
}

/// Opens the phone's store from the test (a WAL reader beside `serve`).
pub fn store(state: &State) -> SqliteStore {
    SqliteStore::open(&state.store_paths()).unwrap()
}

/// A chat id by title.
pub fn chat_id(state: &State, title: &str) -> u64 {
    use tandem_proto::store::Store;
    store(state)
        .chats()
        .unwrap()
        .into_iter()
        .find(|c| c.title == title)
        .unwrap()
        .chat_id
}

/// Runs the built binary to completion.
pub async fn run_bin(state: &Path, args: &[&str]) -> std::process::Output {
    tokio::process::Command::new(BIN)
        .arg("--state")
        .arg(state)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap()
}

/// A temporary folder that outlives the test's phone.
pub fn temp() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_owned();
    (dir, path)
}
