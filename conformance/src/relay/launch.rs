//! How the runner gets a relay to test (spec §12.6): it starts a command
//! template with `{listen_addr}`, `{state_dir}` and `{case_id}` and reads
//! its `ready` line ([CONF-12]), stopping it with SIGTERM ([CONF-13]); or
//! it tests a relay that is already running at a URL (cases that stop the
//! relay are then not run). The embedded reference relay is in
//! [`crate::relay::embedded`].

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;

use crate::adapter::lines::Line;
use crate::adapter::process::{Process, ReadError, describe_exit};
use crate::case::Failure;
use crate::command::Template;
use crate::relay::params::{RelayParams, parse_ready};
use crate::runner::scaled;
use crate::wirelog::{Direction, EntryKind, Log};

/// How long a relay command has to write `ready` (`ADAPTER_TIMEOUT`).
pub const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a relay has to exit after SIGTERM ([CONF-13]).
pub const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// How a relay ended when the runner stopped it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stopped {
    /// It exited, with this status (`None` for a signal), this long after
    /// it was asked to.
    Exited(Option<i32>, Duration),
    /// It was still running when the time ran out (it was then killed).
    StillRunning,
}

/// A running relay.
pub trait Instance: Send + Sync {
    /// Its WebSocket URL.
    fn url(&self) -> &str;
    /// Its declared limits and timers.
    fn params(&self) -> &RelayParams;
    /// The `ready` line it wrote, if it is a command.
    fn ready_line(&self) -> Option<&str> {
        None
    }
    /// Asks it to shut down (SIGTERM, or the embedded relay's shutdown)
    /// and waits up to `timeout` for it to end.
    fn stop(&mut self, timeout: Duration) -> BoxFuture<'_, Stopped>;
    /// What it wrote to standard error so far.
    fn stderr(&self) -> Option<String> {
        None
    }
}

/// Starts relays for cases.
pub trait Launcher: Send + Sync {
    /// What is tested, for the report.
    fn describe(&self) -> String;
    /// Whether the runner starts (and may stop) a relay for each case.
    fn owns_relays(&self) -> bool;
    /// The relay's declared values when known before any case runs.
    fn params(&self) -> Option<RelayParams>;
    /// Starts a relay for one case. A command that cannot be started is a
    /// harness error; one that starts and does not announce itself fails
    /// [CONF-12].
    fn start<'a>(
        &'a self,
        case_id: &'a str,
        log: &'a Log,
        time_scale: f64,
    ) -> BoxFuture<'a, Result<Box<dyn Instance>, Failure>>;
}

/// A relay started from a command template for each case.
pub struct CommandLauncher {
    template: Template,
}

impl CommandLauncher {
    /// A launcher for `template`.
    pub fn new(template: Template) -> Self {
        Self { template }
    }
}

/// A free port on 127.0.0.1, found by binding and releasing it.
fn free_address() -> std::io::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    listener.local_addr()
}

/// A new empty directory for one case's state, removed with the value.
pub struct StateDir(PathBuf);

impl StateDir {
    /// Creates it under the system's temporary directory.
    pub fn create(case_id: &str) -> std::io::Result<Self> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!(
            "tandem-conformance-{}-{n}-{}",
            std::process::id(),
            crate::report::escape::file_name(case_id)
        );
        let path = std::env::temp_dir().join(name);
        std::fs::create_dir_all(&path)?;
        Ok(Self(path))
    }

    /// Its absolute path.
    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for StateDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct CommandInstance {
    process: Process,
    url: String,
    params: RelayParams,
    ready: String,
    _state: StateDir,
}

impl Launcher for CommandLauncher {
    fn describe(&self) -> String {
        format!("command: {}", self.template)
    }

    fn owns_relays(&self) -> bool {
        true
    }

    fn params(&self) -> Option<RelayParams> {
        None
    }

    fn start<'a>(
        &'a self,
        case_id: &'a str,
        log: &'a Log,
        time_scale: f64,
    ) -> BoxFuture<'a, Result<Box<dyn Instance>, Failure>> {
        Box::pin(async move {
            let harness =
                |what: &str, e: std::io::Error| Failure::harness(what.to_owned(), e.to_string());
            let address = free_address().map_err(|e| harness("a free port on 127.0.0.1", e))?;
            let state = StateDir::create(case_id).map_err(|e| harness("a state directory", e))?;
            let listen = address.to_string();
            let state_dir = state.path().display().to_string();
            let words = self.template.render(&[
                ("listen_addr", &listen),
                ("state_dir", &state_dir),
                ("case_id", case_id),
            ]);
            log.note(format!("starting the relay: {}", words.join(" ")));
            let mut process = Process::spawn(&words).map_err(|e| {
                Failure::harness(
                    format!("the relay command `{}` to start", self.template),
                    e.to_string(),
                )
            })?;
            let deadline = Instant::now() + scaled(READY_TIMEOUT, time_scale);
            let expected = format!(
                "`ready <url>` on standard output within {:.0} s [CONF-12]",
                scaled(READY_TIMEOUT, time_scale).as_secs_f64()
            );
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                match process.read(left).await {
                    Ok(Line::Text(line)) => {
                        log.event(
                            "relay",
                            EntryKind::Adapter,
                            Direction::Received,
                            line.clone(),
                        );
                        if !line.starts_with("ready") {
                            continue;
                        }
                        let ready = parse_ready(&line).map_err(|e| {
                            Failure::fail(expected.clone(), format!("`{line}`: {e}"))
                        })?;
                        if !ready.ignored.is_empty() {
                            log.note(format!(
                                "values this runner does not use: {}",
                                ready.ignored.join(" ")
                            ));
                        }
                        return Ok(Box::new(CommandInstance {
                            process,
                            url: ready.url,
                            params: ready.params,
                            ready: line,
                            _state: state,
                        }) as Box<dyn Instance>);
                    }
                    Ok(_) => {
                        return Err(Failure::fail(
                            expected,
                            "a line that is too long or not UTF-8",
                        ));
                    }
                    Err(ReadError::Timeout) => {
                        let stderr = process.stderr_since(0);
                        return Err(Failure::timeout(
                            expected,
                            format!("no `ready` line; standard error: {}", last_lines(&stderr)),
                        ));
                    }
                    Err(ReadError::Exited(status)) => {
                        let stderr = process.stderr_since(0);
                        return Err(Failure::fail(
                            expected,
                            format!(
                                "the relay {} before it was ready; standard error: {}",
                                describe_exit(status),
                                last_lines(&stderr)
                            ),
                        ));
                    }
                    Err(ReadError::Io(e)) => {
                        return Err(harness("to read the relay's standard output", e));
                    }
                }
            }
        })
    }
}

fn last_lines(text: &str) -> String {
    let lines: Vec<&str> = text.lines().rev().take(5).collect();
    if lines.is_empty() {
        "(empty)".to_owned()
    } else {
        lines.into_iter().rev().collect::<Vec<_>>().join(" | ")
    }
}

impl Instance for CommandInstance {
    fn url(&self) -> &str {
        &self.url
    }

    fn params(&self) -> &RelayParams {
        &self.params
    }

    fn ready_line(&self) -> Option<&str> {
        Some(&self.ready)
    }

    fn stop(&mut self, timeout: Duration) -> BoxFuture<'_, Stopped> {
        Box::pin(async move {
            let asked = Instant::now();
            if let Some(pid) = self.process.id() {
                let pid = nix::unistd::Pid::from_raw(i32::try_from(pid).unwrap_or(i32::MAX));
                let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
            }
            match self.process.wait(timeout).await {
                Some(status) => Stopped::Exited(status.code(), asked.elapsed()),
                None => {
                    self.process.kill().await;
                    Stopped::StillRunning
                }
            }
        })
    }

    fn stderr(&self) -> Option<String> {
        Some(self.process.stderr_since(0))
    }
}

/// A relay that is already running: every case shares it.
pub struct UrlLauncher {
    url: String,
    params: RelayParams,
}

impl UrlLauncher {
    /// A launcher for the relay at `url` with these declared values.
    pub fn new(url: impl Into<String>, params: RelayParams) -> Self {
        Self {
            url: url.into(),
            params,
        }
    }
}

struct UrlInstance {
    url: String,
    params: RelayParams,
}

impl Instance for UrlInstance {
    fn url(&self) -> &str {
        &self.url
    }

    fn params(&self) -> &RelayParams {
        &self.params
    }

    fn stop(&mut self, _timeout: Duration) -> BoxFuture<'_, Stopped> {
        Box::pin(async { Stopped::StillRunning })
    }
}

impl Launcher for UrlLauncher {
    fn describe(&self) -> String {
        format!("running relay: {}", self.url)
    }

    fn owns_relays(&self) -> bool {
        false
    }

    fn params(&self) -> Option<RelayParams> {
        Some(self.params.clone())
    }

    fn start<'a>(
        &'a self,
        _case_id: &'a str,
        _log: &'a Log,
        _time_scale: f64,
    ) -> BoxFuture<'a, Result<Box<dyn Instance>, Failure>> {
        Box::pin(async move {
            Ok(Box::new(UrlInstance {
                url: self.url.clone(),
                params: self.params.clone(),
            }) as Box<dyn Instance>)
        })
    }
}
