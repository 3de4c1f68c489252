//! The implementation under test as a companion or a primary, driven
//! through the endpoint adapter of spec §12.5: started from its command
//! template, asked for its capabilities, sent one request at a time, its
//! events queued until a case asks for them, restarted, killed and quit.
//! Every line is in the case's wire log.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::adapter::lines::Line;
use crate::adapter::process::{Process, ReadError, describe_exit};
use crate::case::{Failure, Role};
use crate::command::Template;
use crate::runner::scaled;
use crate::wirelog::{Direction, EntryKind, Log};

/// `ADAPTER_TIMEOUT` (§12.5.2, [CONF-07]).
pub const ADAPTER_TIMEOUT: Duration = Duration::from_secs(10);

/// How long `send-file` and `fetch` may take to answer (§12.5.3).
pub const TRANSFER_TIMEOUT: Duration = Duration::from_secs(60);

/// The exit status that declares "not implemented" ([CONF-11]).
pub const NOT_IMPLEMENTED_STATUS: i32 = 3;

/// Events kept before a case reads them; more is a runaway adapter.
const MAX_QUEUED_EVENTS: usize = 100_000;

/// How the implementation answered a request (§12.5.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// `ok` with its result, if any.
    Ok(Option<String>),
    /// `err <code> <message>`.
    Err {
        /// The code word.
        code: String,
        /// The message for people.
        message: String,
    },
}

/// One line of the adapter's output.
enum Output {
    Reply(Reply),
    Event(Value),
}

/// A running implementation under test.
pub struct Adapter {
    role: Role,
    words: Vec<String>,
    log: Log,
    scale: f64,
    process: Option<Process>,
    capabilities: Vec<String>,
    events: VecDeque<Value>,
    stderr: String,
    starts: usize,
}

impl Adapter {
    /// Starts `template` with the placeholders of §12.5.1 replaced by
    /// `values`, and asks for its capabilities.
    pub async fn start(
        role: Role,
        template: &Template,
        values: &[(&str, &str)],
        log: &Log,
        scale: f64,
    ) -> Result<Self, Failure> {
        let words = template.render(values);
        let mut adapter = Self {
            role,
            words,
            log: log.clone(),
            scale,
            process: None,
            capabilities: Vec::new(),
            events: VecDeque::new(),
            stderr: String::new(),
            starts: 0,
        };
        adapter.launch().await?;
        Ok(adapter)
    }

    async fn launch(&mut self) -> Result<(), Failure> {
        self.log.note(format!(
            "starting the {} under test: {}",
            self.role,
            self.words.join(" ")
        ));
        let process = Process::spawn(&self.words).map_err(|e| {
            Failure::harness(
                format!(
                    "the {} command `{}` to start",
                    self.role,
                    self.words.join(" ")
                ),
                e.to_string(),
            )
        })?;
        self.process = Some(process);
        self.starts += 1;
        let reply = self.request("capabilities").await?;
        let Reply::Ok(Some(text)) = reply else {
            return Err(Failure::fail(
                "`ok adapter/1 <role> <capability>...` to `capabilities` (§12.5.6)",
                format!("{reply:?}"),
            ));
        };
        let mut words = text.split(' ');
        let version = words.next().unwrap_or_default();
        let role = words.next().unwrap_or_default();
        if version != "adapter/1" {
            return Err(Failure::harness(
                "an implementation that speaks adapter/1 (§12.5.6)",
                format!("it speaks `{version}`"),
            ));
        }
        if role != self.role.as_str() {
            return Err(Failure::not_implemented(
                format!("an implementation of the {} role", self.role),
                format!("it declared the role `{role}`"),
            ));
        }
        self.capabilities = words.filter(|w| !w.is_empty()).map(str::to_owned).collect();
        Ok(())
    }

    /// How many times the command was started in this case.
    pub fn starts(&self) -> usize {
        self.starts
    }

    /// Whether it declared `capability`.
    pub fn has(&self, capability: &str) -> bool {
        self.capabilities.iter().any(|c| c == capability)
    }

    /// Fails as not implemented unless every capability is declared.
    pub fn require(&self, capabilities: &[String]) -> Result<(), Failure> {
        let missing: Vec<&str> = capabilities
            .iter()
            .filter(|c| !self.has(c))
            .map(String::as_str)
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(Failure::not_implemented(
                format!("the capabilities {}", capabilities.join(" ")),
                format!("not declared: {}", missing.join(" ")),
            ))
        }
    }

    fn timeout(&self) -> Duration {
        scaled(ADAPTER_TIMEOUT, self.scale)
    }

    /// How long a request may take: `ADAPTER_TIMEOUT`, or
    /// `TRANSFER_TIMEOUT` for the requests that answer when a file is
    /// complete (§12.5.3).
    fn timeout_for(&self, line: &str) -> Duration {
        match line.split(' ').next() {
            Some("send-file" | "fetch") => scaled(TRANSFER_TIMEOUT, self.scale),
            _ => self.timeout(),
        }
    }

    fn process(&mut self) -> Result<&mut Process, Failure> {
        self.process.as_mut().ok_or_else(|| {
            Failure::harness("a running implementation", "it was stopped by the case")
        })
    }

    /// Sends a request and returns its response; events read meanwhile are
    /// queued ([CONF-07]).
    pub async fn request(&mut self, line: &str) -> Result<Reply, Failure> {
        self.log
            .event("adapter", EntryKind::Adapter, Direction::Sent, line);
        let sent = self.process()?.send(line).await;
        if let Err(e) = sent {
            let status = self.exit_status().await;
            return Err(self.ended(&format!("to read the request `{line}` ({e})"), status));
        }
        let within = self.timeout_for(line);
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let what = format!(
                "one response to `{line}` within {:.0} s [CONF-07]",
                within.as_secs_f64()
            );
            match self.read(left, &what).await? {
                Output::Reply(reply) => return Ok(reply),
                Output::Event(event) => self.queue(event)?,
            }
        }
    }

    /// Sends every line at once, without waiting, then reads one response
    /// per line, in order ([CONF-07]); events read meanwhile are queued.
    pub async fn request_all(&mut self, lines: &[&str]) -> Result<Vec<Reply>, Failure> {
        for line in lines {
            self.log
                .event("adapter", EntryKind::Adapter, Direction::Sent, *line);
            let sent = self.process()?.send(line).await;
            if let Err(e) = sent {
                let status = self.exit_status().await;
                return Err(self.ended(&format!("to read the request `{line}` ({e})"), status));
            }
        }
        let deadline = Instant::now() + self.timeout();
        let mut replies = Vec::with_capacity(lines.len());
        while replies.len() < lines.len() {
            let left = deadline.saturating_duration_since(Instant::now());
            let what = format!(
                "{} responses to {} requests sent at once [CONF-07]",
                lines.len(),
                lines.len()
            );
            match self.read(left, &what).await? {
                Output::Reply(reply) => replies.push(reply),
                Output::Event(event) => self.queue(event)?,
            }
        }
        Ok(replies)
    }

    /// Sends a request that must be answered `ok`; returns the result.
    /// `err not_implemented` is a declared gap ([CONF-08]), any other
    /// `err` a failure.
    pub async fn ok(&mut self, line: &str) -> Result<Option<String>, Failure> {
        match self.request(line).await? {
            Reply::Ok(result) => Ok(result),
            Reply::Err { code, message } if code == "not_implemented" => {
                Err(Failure::not_implemented(
                    format!("`ok` to `{line}`"),
                    format!("err not_implemented {message}"),
                ))
            }
            Reply::Err { code, message } => Err(Failure::fail(
                format!("`ok` to `{line}`"),
                format!("err {code} {message}"),
            )),
        }
    }

    /// As [`Adapter::ok`], for a request whose result is one JSON value.
    pub async fn ok_json(&mut self, line: &str) -> Result<Value, Failure> {
        let result = self.ok(line).await?.unwrap_or_default();
        serde_json::from_str(&result).map_err(|e| {
            Failure::fail(
                format!("one JSON value as the result of `{line}` (§12.5.3)"),
                format!("`{result}`: {e}"),
            )
        })
    }

    fn queue(&mut self, event: Value) -> Result<(), Failure> {
        if self.events.len() >= MAX_QUEUED_EVENTS {
            return Err(Failure::harness(
                "a bounded number of events",
                format!("more than {MAX_QUEUED_EVENTS} events were not read by the case"),
            ));
        }
        self.events.push_back(event);
        Ok(())
    }

    /// Waits up to `within` for an event that `accept` turns into a value.
    /// Events it does not accept stay queued for later waits.
    pub async fn expect_event<T>(
        &mut self,
        within: Duration,
        what: &str,
        mut accept: impl FnMut(&Value) -> Option<T>,
    ) -> Result<T, Failure> {
        if let Some(at) = self.events.iter().position(|e| accept(e).is_some())
            && let Some(event) = self.events.remove(at)
            && let Some(value) = accept(&event)
        {
            return Ok(value);
        }
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Failure::timeout(
                    format!("the implementation to report {what}"),
                    self.describe_queue(),
                ));
            }
            match self.read(left, what).await {
                Ok(Output::Event(event)) => match accept(&event) {
                    Some(value) => return Ok(value),
                    None => self.queue(event)?,
                },
                Ok(Output::Reply(reply)) => {
                    return Err(Failure::fail(
                        "no response without a request [CONF-07]",
                        format!("{reply:?}"),
                    ));
                }
                Err(f) if f.kind == crate::case::FailKind::Timeout => {
                    return Err(Failure::timeout(
                        format!("the implementation to report {what}"),
                        self.describe_queue(),
                    ));
                }
                Err(f) => return Err(f),
            }
        }
    }

    /// Waits for an event of `kind` whose members `accept` takes.
    pub async fn expect_kind<T>(
        &mut self,
        within: Duration,
        kind: &str,
        what: &str,
        mut accept: impl FnMut(&Value) -> Option<T>,
    ) -> Result<T, Failure> {
        self.expect_event(within, what, |e| {
            (e.get("type").and_then(Value::as_str) == Some(kind))
                .then(|| accept(e))
                .flatten()
        })
        .await
    }

    /// Checks that no event `reject` matches arrives within `during`.
    pub async fn expect_no_event(
        &mut self,
        during: Duration,
        what: &str,
        mut reject: impl FnMut(&Value) -> bool,
    ) -> Result<(), Failure> {
        if let Some(event) = self.events.iter().find(|e| reject(e)) {
            return Err(Failure::fail(format!("no {what}"), event.to_string()));
        }
        match self
            .expect_event(during, what, |e| reject(e).then(|| e.clone()))
            .await
        {
            Ok(event) => Err(Failure::fail(format!("no {what}"), event.to_string())),
            Err(f) if f.kind == crate::case::FailKind::Timeout => Ok(()),
            Err(f) => Err(f),
        }
    }

    /// The events read and not yet taken, oldest first.
    pub fn queued(&self) -> impl Iterator<Item = &Value> {
        self.events.iter()
    }

    fn describe_queue(&self) -> String {
        if self.events.is_empty() {
            return "no such event (no other event either)".to_owned();
        }
        let kinds: Vec<&str> = self
            .events
            .iter()
            .rev()
            .take(8)
            .map(|e| e.get("type").and_then(Value::as_str).unwrap_or("?"))
            .collect();
        format!(
            "no such event; the last others were: {}",
            kinds.into_iter().rev().collect::<Vec<_>>().join(", ")
        )
    }

    /// Reads one response or event.
    async fn read(&mut self, within: Duration, what: &str) -> Result<Output, Failure> {
        let read = self.process()?.read(within).await;
        match read {
            Ok(Line::Text(line)) => {
                self.log.event(
                    "adapter",
                    EntryKind::Adapter,
                    Direction::Received,
                    line.clone(),
                );
                parse_output(&line)
            }
            Ok(Line::TooLong(n)) => Err(Failure::fail(
                "lines of at most 1,048,576 bytes [CONF-06]",
                format!("a line of {n} bytes"),
            )),
            Ok(Line::NotUtf8(bytes)) => Err(Failure::fail(
                "UTF-8 lines [CONF-06]",
                format!("a line of {} bytes that is not UTF-8", bytes.len()),
            )),
            Err(ReadError::Timeout) => Err(Failure::timeout(what.to_owned(), "nothing arrived")),
            Err(ReadError::Exited(status)) => Err(self.ended(what, status)),
            Err(ReadError::Io(e)) => Err(Failure::harness(
                "to read the implementation's standard output",
                e.to_string(),
            )),
        }
    }

    async fn exit_status(&mut self) -> Option<std::process::ExitStatus> {
        match self.process.as_mut() {
            Some(p) => p.wait(Duration::from_secs(2)).await,
            None => None,
        }
    }

    /// The failure for an implementation that ended while `what` was due:
    /// status 3 declares the role or feature not implemented ([CONF-11]).
    fn ended(&mut self, what: &str, status: Option<std::process::ExitStatus>) -> Failure {
        self.collect_stderr();
        self.process = None;
        if status.and_then(|s| s.code()) == Some(NOT_IMPLEMENTED_STATUS) {
            return Failure::not_implemented(what.to_owned(), "it exited with status 3 [CONF-11]");
        }
        Failure::fail(
            what.to_owned(),
            format!("the implementation {}", describe_exit(status)),
        )
    }

    fn collect_stderr(&mut self) {
        if let Some(p) = &self.process {
            self.stderr.push_str(&p.stderr_since(0));
        }
    }

    /// `restart` (§12.5.5, [CONF-10]): `ok`, exit status 0 within
    /// `ADAPTER_TIMEOUT`, then the same command again.
    pub async fn restart(&mut self) -> Result<(), Failure> {
        self.stop_with("restart").await?;
        self.events.clear();
        self.launch().await
    }

    /// Ends the process with `SIGKILL` and starts it again with the same
    /// state folder (§12.5.5).
    pub async fn crash_and_start(&mut self) -> Result<(), Failure> {
        self.log
            .note(format!("killing the {} under test (SIGKILL)", self.role));
        if let Some(p) = self.process.as_mut() {
            p.kill().await;
        }
        self.collect_stderr();
        self.process = None;
        self.events.clear();
        self.launch().await
    }

    /// `quit` ([CONF-10]).
    pub async fn quit(&mut self) -> Result<(), Failure> {
        self.stop_with("quit").await
    }

    async fn stop_with(&mut self, verb: &str) -> Result<(), Failure> {
        match self.request(verb).await? {
            Reply::Ok(_) => {}
            other => {
                return Err(Failure::fail(
                    format!("`ok` to `{verb}` [CONF-10]"),
                    format!("{other:?}"),
                ));
            }
        }
        let timeout = self.timeout();
        let status = match self.process.as_mut() {
            Some(p) => {
                p.close_stdin();
                p.wait(timeout).await
            }
            None => None,
        };
        self.collect_stderr();
        let process = self.process.take();
        match status {
            Some(s) if s.success() => Ok(()),
            other => {
                if let Some(mut p) = process {
                    p.kill().await;
                }
                Err(Failure::fail(
                    format!(
                        "exit status 0 within {:.0} s of `{verb}` [CONF-10]",
                        timeout.as_secs_f64()
                    ),
                    match other {
                        Some(s) => describe_exit(Some(s)),
                        None => "it was still running".to_owned(),
                    },
                ))
            }
        }
    }

    /// Ends the process whatever its state, at the end of a case.
    pub async fn finish(&mut self) {
        if self.process.is_some() && self.quit().await.is_err() {
            self.log
                .note("the implementation did not quit cleanly; it was killed");
        }
        if let Some(mut p) = self.process.take() {
            p.kill().await;
        }
    }

    /// Its standard error over the whole case, every start included.
    pub fn stderr(&self) -> String {
        let mut all = self.stderr.clone();
        if let Some(p) = &self.process {
            all.push_str(&p.stderr_since(0));
        }
        all
    }
}

/// Parses one output line (§12.5.2).
fn parse_output(line: &str) -> Result<Output, Failure> {
    let bad = || {
        Failure::fail(
            "`ok`, `ok <result>`, `err <code> <message>` or `event <JSON object>` [CONF-06]",
            format!("`{}`", crate::codec::check::shorten(line)),
        )
    };
    if line == "ok" {
        return Ok(Output::Reply(Reply::Ok(None)));
    }
    if let Some(result) = line.strip_prefix("ok ") {
        return Ok(Output::Reply(Reply::Ok(Some(result.to_owned()))));
    }
    if let Some(rest) = line.strip_prefix("err ") {
        let (code, message) = rest.split_once(' ').unwrap_or((rest, ""));
        if code.is_empty() {
            return Err(bad());
        }
        return Ok(Output::Reply(Reply::Err {
            code: code.to_owned(),
            message: message.to_owned(),
        }));
    }
    if let Some(json) = line.strip_prefix("event ") {
        let value: Value = serde_json::from_str(json).map_err(|_| bad())?;
        if value.get("type").and_then(Value::as_str).is_none() {
            return Err(bad());
        }
        return Ok(Output::Event(value));
    }
    Err(bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_lines() {
        assert!(matches!(
            parse_output("ok"),
            Ok(Output::Reply(Reply::Ok(None)))
        ));
        assert!(matches!(
            parse_output("ok 12 34"),
            Ok(Output::Reply(Reply::Ok(Some(r)))) if r == "12 34"
        ));
        assert!(matches!(
            parse_output("err device_limit four is enough"),
            Ok(Output::Reply(Reply::Err { code, message })) if code == "device_limit" && message == "four is enough"
        ));
        assert!(matches!(
            parse_output(r#"event {"type":"linked"}"#),
            Ok(Output::Event(_))
        ));
        assert!(parse_output(r#"event {"kind":"linked"}"#).is_err());
        assert!(parse_output("okay").is_err());
        assert!(parse_output("err ").is_err());
    }
}
