//! An implementation's adapter as a child process (spec §12.5.1, §12.5.5,
//! §12.7): started directly from its words (no shell), requests written to
//! its standard input, one bounded line read at a time from its standard
//! output, its standard error kept for the report, its exit status read
//! when it ends.

use std::io;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use crate::adapter::lines::{Line, MAX_LINE, read_line};

/// The most standard error kept per process.
const MAX_STDERR: usize = 1 << 20;

/// Why no line was read.
#[derive(Debug)]
pub enum ReadError {
    /// Nothing within the time allowed.
    Timeout,
    /// Standard output ended: the process exited (with this status, if it
    /// ended within a moment) or closed it.
    Exited(Option<ExitStatus>),
    /// Reading failed.
    Io(io::Error),
}

/// A running adapter process.
#[derive(Debug)]
pub struct Process {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    stderr: Arc<Mutex<String>>,
}

impl Process {
    /// Starts `words[0]` with the other words as arguments. The process is
    /// killed when the value is dropped.
    pub fn spawn(words: &[String]) -> io::Result<Self> {
        let (program, args) = words
            .split_first()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no program"))?;
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let stdin = child.stdin.take();
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| io::Error::other("no standard output"))?;
        let stderr = Arc::new(Mutex::new(String::new()));
        if let Some(mut pipe) = child.stderr.take() {
            let sink = stderr.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                while let Ok(n) = pipe.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    let mut s = sink.lock().unwrap_or_else(PoisonError::into_inner);
                    if s.len() < MAX_STDERR {
                        s.push_str(&String::from_utf8_lossy(&buf[..n]));
                    }
                }
            });
        }
        Ok(Self {
            child,
            stdin,
            stdout: BufReader::new(stdout),
            stderr,
        })
    }

    /// The process id, while it runs.
    pub fn id(&self) -> Option<u32> {
        self.child.id()
    }

    /// Writes one line (a line feed is added).
    pub async fn send(&mut self, line: &str) -> io::Result<()> {
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| io::Error::new(io::ErrorKind::BrokenPipe, "standard input is closed"))?;
        let mut bytes = Vec::with_capacity(line.len() + 1);
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        stdin.write_all(&bytes).await?;
        stdin.flush().await
    }

    /// Reads one line within `timeout`.
    pub async fn read(&mut self, timeout: Duration) -> Result<Line, ReadError> {
        match tokio::time::timeout(timeout, read_line(&mut self.stdout, MAX_LINE)).await {
            Err(_) => Err(ReadError::Timeout),
            Ok(Err(e)) => Err(ReadError::Io(e)),
            Ok(Ok(Some(line))) => Ok(line),
            Ok(Ok(None)) => Err(ReadError::Exited(self.wait(Duration::from_secs(2)).await)),
        }
    }

    /// Waits up to `timeout` for the process to exit.
    pub async fn wait(&mut self, timeout: Duration) -> Option<ExitStatus> {
        tokio::time::timeout(timeout, self.child.wait())
            .await
            .ok()
            .and_then(Result::ok)
    }

    /// Closes its standard input (the runner is gone, §12.5.5).
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Kills it and reaps it.
    pub async fn kill(&mut self) {
        let _ = self.child.kill().await;
    }

    /// How much standard error there is so far, to slice one case's part.
    pub fn stderr_len(&self) -> usize {
        self.stderr
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Standard error from byte `from` on.
    pub fn stderr_since(&self, from: usize) -> String {
        let s = self.stderr.lock().unwrap_or_else(PoisonError::into_inner);
        s.get(from..).unwrap_or_default().to_owned()
    }
}

/// How an exit status reads in a report.
pub fn describe_exit(status: Option<ExitStatus>) -> String {
    match status {
        Some(s) => match s.code() {
            Some(code) => format!("exited with status {code}"),
            None => format!("ended by a signal ({s})"),
        },
        None => "closed its standard output".to_owned(),
    }
}
