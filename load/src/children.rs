//! Child processes: this binary re-executed with a hidden subcommand. Each
//! prints `listening ...` or `ready ...`, takes commands on stdin and exits
//! when stdin closes; dropping a child kills it.

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use crate::Error;
use crate::cli::Common;

/// How long a child may take to say it is ready (the phones link
/// thousands of companions first).
const READY_TIMEOUT: Duration = Duration::from_secs(300);

/// A running child of this tool.
pub(crate) struct ChildProc {
    name: String,
    pid: u32,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Lines<BufReader<ChildStdout>>,
}

impl ChildProc {
    /// Starts `tandem-load <args>`.
    pub(crate) async fn spawn(name: &str, args: &[String]) -> Result<Self, Error> {
        let me = std::env::current_exe()?;
        let mut child = Command::new(me)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()?;
        let pid = child.id().ok_or("the child exited at once")?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().ok_or("no stdout")?;
        Ok(Self {
            name: name.to_owned(),
            pid,
            child,
            stdin,
            lines: BufReader::new(stdout).lines(),
        })
    }

    /// Its process id, for `/proc`.
    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    /// Waits for the next line that starts with `prefix`; returns the rest.
    pub(crate) async fn expect(&mut self, prefix: &str) -> Result<String, Error> {
        let name = self.name.clone();
        let wait = async {
            loop {
                match self.lines.next_line().await? {
                    Some(line) => {
                        if let Some(rest) = line.strip_prefix(prefix) {
                            return Ok::<String, Error>(rest.trim().to_owned());
                        }
                    }
                    None => return Err(format!("the {name} child exited").into()),
                }
            }
        };
        tokio::time::timeout(READY_TIMEOUT, wait)
            .await
            .map_err(|_| format!("the {} child did not say {prefix:?} in time", self.name))?
    }

    /// Sends one command line.
    pub(crate) async fn send(&mut self, line: &str) -> Result<(), Error> {
        let stdin = self.stdin.as_mut().ok_or("stdin closed")?;
        stdin.write_all(format!("{line}\n").as_bytes()).await?;
        stdin.flush().await?;
        Ok(())
    }

    /// Closes its stdin and waits for it to exit (killing it after 10 s).
    pub(crate) async fn stop(mut self) {
        drop(self.stdin.take());
        if tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}

/// A server child and where it listens.
pub(crate) struct Server {
    /// The child.
    pub(crate) proc: ChildProc,
    /// Its address.
    pub(crate) addr: SocketAddr,
}

impl Server {
    /// The relay, with the spec's limits except `max_links_per_route`.
    pub(crate) async fn relay(
        common: &Common,
        max_links_per_route: Option<usize>,
    ) -> Result<Self, Error> {
        let mut args = vec![
            "serve-relay".to_owned(),
            "--threads".into(),
            common.server_threads.to_string(),
        ];
        if let Some(max) = max_links_per_route {
            args.extend(["--max-links-per-route".into(), max.to_string()]);
        }
        Self::start("relay", args).await
    }

    /// The raw forwarder.
    pub(crate) async fn forwarder(common: &Common) -> Result<Self, Error> {
        let args = vec![
            "serve-forwarder".to_owned(),
            "--threads".into(),
            common.server_threads.to_string(),
        ];
        Self::start("forwarder", args).await
    }

    async fn start(name: &str, args: Vec<String>) -> Result<Self, Error> {
        let mut proc = ChildProc::spawn(name, &args).await?;
        let addr = proc.expect("listening ").await?.parse()?;
        Ok(Self { proc, addr })
    }

    /// `ws://addr`.
    pub(crate) fn url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// Its process id.
    pub(crate) fn pid(&self) -> u32 {
        self.proc.pid()
    }

    /// Stops it.
    pub(crate) async fn stop(self) {
        self.proc.stop().await;
    }
}
