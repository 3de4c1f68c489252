//! Fixtures for the three reference endpoints as separate processes on
//! loopback (spec §2): binaries located, output lines waited for with a
//! timeout (never a sleep), commands run to completion.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

/// How long any single wait may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(30);

/// This crate's binary.
pub const WEB: &str = env!("CARGO_BIN_EXE_tandem-web");

/// The workspace root.
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// The newest modification time under `dir` (sources and manifests).
fn newest(dir: &Path) -> SystemTime {
    let mut latest = SystemTime::UNIX_EPOCH;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return latest;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let time = if path.is_dir() {
            newest(&path)
        } else {
            entry
                .metadata()
                .and_then(|m| m.modified())
                .unwrap_or(SystemTime::UNIX_EPOCH)
        };
        latest = latest.max(time);
    }
    latest
}

/// `tandem-phone` and `tandem-relay`, fresh, from this target folder.
///
/// `tandem-web` is this crate's binary (`CARGO_BIN_EXE_tandem-web`); the
/// other two belong to other packages, whose binaries cargo builds for
/// their own tests only. They are taken from the same target folder when
/// they are newer than every source they are built from (as after `cargo
/// test --workspace`, which CI runs), and otherwise built there first with
/// `cargo build -p tandem-phone -p tandem-relay` (cargo does not hold its
/// build lock while tests run). Running them in-process instead would not
/// test what the issue asks: three programs that only share a wire.
pub fn other_binaries() -> &'static (PathBuf, PathBuf) {
    static BINARIES: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    BINARIES.get_or_init(|| {
        let dir = Path::new(WEB).parent().unwrap().to_owned();
        let phone = dir.join("tandem-phone");
        let relay = dir.join("tandem-relay");
        let root = workspace();
        let modified = |path: PathBuf| {
            std::fs::metadata(path)
                .and_then(|m| m.modified())
                .unwrap_or(SystemTime::UNIX_EPOCH)
        };
        let sources = ["codec", "proto", "client", "relay", "reference-phone"]
            .iter()
            .flat_map(|c| {
                [
                    newest(&root.join(c).join("src")),
                    modified(root.join(c).join("Cargo.toml")),
                ]
            })
            .chain([modified(root.join("Cargo.lock"))])
            .max()
            .unwrap();
        let fresh = |bin: &Path| {
            std::fs::metadata(bin)
                .and_then(|m| m.modified())
                .is_ok_and(|built| built >= sources)
        };
        if !fresh(&phone) || !fresh(&relay) {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let status = std::process::Command::new(cargo)
                .current_dir(&root)
                .args([
                    "build",
                    "--quiet",
                    "-p",
                    "tandem-phone",
                    "-p",
                    "tandem-relay",
                ])
                .args(["--bin", "tandem-phone", "--bin", "tandem-relay"])
                .status()
                .expect("run cargo to build tandem-phone and tandem-relay");
            assert!(
                status.success(),
                "cargo build of the phone and relay failed"
            );
        }
        (phone, relay)
    })
}

/// The phone binary.
pub fn phone_bin() -> &'static Path {
    &other_binaries().0
}

/// The relay binary.
pub fn relay_bin() -> &'static Path {
    &other_binaries().1
}

/// A running process whose output lines (stdout and stderr) can be waited
/// for.
pub struct Proc {
    pub name: String,
    child: Child,
    lines: mpsc::UnboundedReceiver<String>,
    pub seen: Vec<String>,
}

fn pipe(stream: impl AsyncRead + Unpin + Send + 'static, tx: mpsc::UnboundedSender<String>) {
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
}

impl Proc {
    /// Starts `program` with `args`.
    pub fn spawn(name: &str, program: &Path, args: &[&str]) -> Self {
        let mut child = Command::new(program)
            .args(args)
            .env("NO_COLOR", "1")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("start {name}: {e}"));
        let (tx, lines) = mpsc::unbounded_channel();
        pipe(child.stdout.take().unwrap(), tx.clone());
        pipe(child.stderr.take().unwrap(), tx);
        Self {
            name: name.to_owned(),
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits for a new line containing `needle`.
    pub async fn wait_line(&mut self, needle: &str) -> String {
        let lines = &mut self.lines;
        let seen = &mut self.seen;
        let found = tokio::time::timeout(WAIT, async {
            while let Some(line) = lines.recv().await {
                seen.push(line.clone());
                if line.contains(needle) {
                    return Some(line);
                }
            }
            None
        })
        .await;
        match found {
            Ok(Some(line)) => line,
            Ok(None) => panic!(
                "{} ended before printing {needle:?}; it printed:\n{}",
                self.name,
                self.seen.join("\n")
            ),
            Err(_) => panic!(
                "{} printed no {needle:?} in time; it printed:\n{}",
                self.name,
                self.seen.join("\n")
            ),
        }
    }

    /// Waits for the process to exit; returns its status and every line.
    pub async fn finish(mut self) -> (std::process::ExitStatus, Vec<String>) {
        let status = tokio::time::timeout(WAIT, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("{} did not exit in time", self.name))
            .unwrap();
        while let Some(line) = self.lines.recv().await {
            self.seen.push(line);
        }
        (status, self.seen)
    }

    /// SIGKILL: no chance to clean up.
    pub async fn kill(mut self) {
        self.child.kill().await.unwrap();
    }
}

/// Runs a command to completion (bounded by [`WAIT`]).
pub async fn run(program: &Path, args: &[&str]) -> Output {
    let output = Command::new(program)
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(WAIT, output)
        .await
        .unwrap_or_else(|_| panic!("{} {args:?} did not finish in time", program.display()))
        .unwrap()
}

/// Runs `tandem-web --state STATE ARGS...`.
pub async fn web(state: &Path, args: &[&str]) -> Output {
    let mut all = vec!["--state", state.to_str().unwrap()];
    all.extend_from_slice(args);
    run(Path::new(WEB), &all).await
}

/// Runs `tandem-phone --state STATE ARGS...`.
pub async fn phone(state: &Path, args: &[&str]) -> Output {
    let mut all = vec!["--state", state.to_str().unwrap()];
    all.extend_from_slice(args);
    run(phone_bin(), &all).await
}

/// Stdout as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Asserts success and returns stdout.
#[track_caller]
pub fn ok(output: &Output) -> String {
    assert!(
        output.status.success(),
        "failed ({}):\nstdout:\n{}\nstderr:\n{}",
        output.status,
        stdout(output),
        String::from_utf8_lossy(&output.stderr)
    );
    stdout(output)
}

/// Parses stdout as JSON.
#[track_caller]
pub fn json(output: &Output) -> serde_json::Value {
    serde_json::from_str(&ok(output)).unwrap()
}

/// The relay as a process, on a port it keeps across restarts.
pub struct Relay {
    pub port: u16,
    pub url: String,
    proc: Option<Proc>,
    /// The extra flags, given again on restart.
    flags: Vec<String>,
}

impl Relay {
    /// Starts on an ephemeral port and learns it from the log.
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// Starts with extra flags (`--channel-ttl 200ms`, ...).
    pub async fn start_with(flags: &[&str]) -> Self {
        let mut args = vec!["--listen", "127.0.0.1:0"];
        args.extend_from_slice(flags);
        let mut proc = Proc::spawn("relay", relay_bin(), &args);
        let line = proc.wait_line("relay listening").await;
        let address = line
            .split("address=")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        let port: u16 = address.rsplit(':').next().unwrap().parse().unwrap();
        // With its own certificate the relay serves wss:// (issue 11).
        let scheme = if flags.contains(&"--tls-cert") {
            "wss"
        } else {
            "ws"
        };
        Self {
            port,
            url: format!("{scheme}://127.0.0.1:{port}"),
            proc: Some(proc),
            flags: flags.iter().map(|f| (*f).to_owned()).collect(),
        }
    }

    /// SIGKILLs the relay.
    pub async fn kill(&mut self) {
        if let Some(proc) = self.proc.take() {
            proc.kill().await;
        }
    }

    /// Starts it again on the same port.
    pub async fn restart(&mut self) {
        let listen = format!("127.0.0.1:{}", self.port);
        let mut args = vec!["--listen", listen.as_str()];
        args.extend(self.flags.iter().map(String::as_str));
        let mut proc = Proc::spawn("relay", relay_bin(), &args);
        proc.wait_line("relay listening").await;
        self.proc = Some(proc);
    }
}

/// `tandem-phone serve` with quick simulated contacts and no ticker.
pub fn serve_phone(state: &Path, relay: &str) -> Proc {
    Proc::spawn(
        "phone",
        phone_bin(),
        &[
            "--state",
            state.to_str().unwrap(),
            "serve",
            "--relay",
            relay,
            "--tick-every",
            "0",
            "--delivered-after",
            "30ms",
            "--read-after",
            "60ms",
        ],
    )
}

/// `tandem-web watch` on `state`.
pub fn watch(state: &Path) -> Proc {
    Proc::spawn(
        "watch",
        Path::new(WEB),
        &["--state", state.to_str().unwrap(), "watch"],
    )
}

/// Texts of messages in a `--json` listing (the web's `history` or the
/// phone's `messages`), counted.
pub fn text_counts(rows: &serde_json::Value) -> std::collections::BTreeMap<String, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for row in rows.as_array().unwrap() {
        let text = row["text"].as_str().unwrap().to_owned();
        *counts.entry(text).or_insert(0) += 1;
    }
    counts
}

/// Pairs a web state folder with the phone, from the PNG or the text.
pub async fn pair_web(state: &Path, relay: &str, phone_state: &Path, name: &str, from_png: bool) {
    let png = state.with_extension("png");
    let mut pairing = Proc::spawn(
        "pair",
        Path::new(WEB),
        &[
            "--state",
            state.to_str().unwrap(),
            "pair",
            "--relay",
            relay,
            "--name",
            name,
            "--qr-png",
            png.to_str().unwrap(),
        ],
    );
    let line = pairing.wait_line("QR TANDEM:").await;
    let text = line.trim_start_matches("QR ").to_owned();
    let linked = if from_png {
        phone(
            phone_state,
            &["link", "--qr-png", png.to_str().unwrap(), "--yes"],
        )
        .await
    } else {
        phone(phone_state, &["link", &text, "--yes"]).await
    };
    assert!(ok(&linked).contains(&format!("Linked {name}")));
    let (status, lines) = pairing.finish().await;
    assert!(status.success(), "pair failed: {lines:#?}");
    assert!(lines.iter().any(|l| l.starts_with("Check code: ")));
    assert!(lines.iter().any(|l| l.starts_with("Linked to Ada")));
}
