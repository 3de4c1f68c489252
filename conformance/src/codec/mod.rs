//! The codec target (spec §12.7): every vector of `spec/vectors/*.json`
//! (the codec vectors of §13.2) is a case `codec.<vector id>`, fed to a
//! codec adapter command through the line protocol of [CONF-14], and
//! judged by the table of §12.7. The reference adapter is
//! [`adapter`]; its deliberately broken variants are [`mutants`].

pub mod adapter;
pub mod check;
pub mod encoder;
pub mod mutants;
pub mod vectors;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use serde_json::Value;
use tokio::sync::Mutex;

use crate::adapter::lines::Line;
use crate::adapter::process::{Process, ReadError, describe_exit};
use crate::case::{CaseMeta, CaseResult, Failure, Role};
use crate::command::Template;
use crate::report::TargetInfo;
use crate::runner::{CaseEnv, CaseOutput, Target, scaled};
use crate::wirelog::{Direction, EntryKind, Log};
use vectors::Vector;

/// How long the adapter has to answer its first request
/// (`ADAPTER_TIMEOUT`, §12.5.2).
pub const ADAPTER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long it has to answer a vector (§12.7).
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(2);

/// The case id of a vector.
pub fn case_id(vector: &Vector) -> String {
    format!("codec.{}", vector.id)
}

/// The case of a vector: its own requirements first, then [VEC-01] (valid)
/// or [VEC-02] and [VEC-03] (invalid), and [CONF-14].
pub fn case_of(vector: &Vector) -> CaseMeta {
    let mut requirements: Vec<String> = vector.requirements.clone();
    let extra: &[&str] = if vector.is_valid() {
        &["VEC-01"]
    } else {
        &["VEC-02", "VEC-03"]
    };
    for r in extra.iter().chain(&["CONF-14"]) {
        if !requirements.iter().any(|x| x == r) {
            requirements.push((*r).to_owned());
        }
    }
    CaseMeta {
        id: case_id(vector),
        role: Role::Codec,
        requirements,
        title: format!("{} ({}, {})", vector.comment, vector.decoder, vector.result),
        capabilities: vec!["decode".to_owned()],
        faults: Vec::new(),
    }
}

/// The adapter process and what it said of itself.
#[derive(Default)]
struct State {
    process: Option<Process>,
    encode: bool,
    /// The first answer to `capabilities`, for the report.
    capabilities: Option<String>,
    /// A start that failed: later cases get the same verdict without
    /// starting the command again.
    failed_start: Option<Failure>,
}

/// A codec adapter under test.
pub struct CodecTarget {
    vectors: Vec<Vector>,
    by_id: HashMap<String, usize>,
    encoder: HashMap<String, encoder::EncoderCase>,
    command: Template,
    implementation: String,
    state: Mutex<State>,
}

impl CodecTarget {
    /// A target that starts `command` (no placeholders) and feeds it
    /// `vectors`.
    pub fn new(command: Template, implementation: impl Into<String>, vectors: Vec<Vector>) -> Self {
        let by_id = vectors
            .iter()
            .enumerate()
            .map(|(i, v)| (case_id(v), i))
            .collect();
        Self {
            vectors,
            by_id,
            encoder: encoder::cases()
                .into_iter()
                .map(|c| (c.id.clone(), c))
                .collect(),
            command,
            implementation: implementation.into(),
            state: Mutex::new(State::default()),
        }
    }

    /// The vectors.
    pub fn vectors(&self) -> &[Vector] {
        &self.vectors
    }

    async fn run_case(&self, case: &CaseMeta, env: &CaseEnv) -> CaseOutput {
        let vector = self.by_id.get(&case.id).map(|&i| &self.vectors[i]);
        let encoder = self.encoder.get(&case.id);
        if vector.is_none() && encoder.is_none() {
            return Failure::harness("a vector for the case", "no such vector").into();
        }
        let mut state = self.state.lock().await;
        let from = state.process.as_ref().map_or(0, Process::stderr_len);
        let result = match (vector, encoder) {
            (Some(vector), _) => self.exchange(&mut state, vector, env).await,
            (None, Some(encoder)) => self.refuse(&mut state, encoder, env).await,
            (None, None) => Ok(()),
        };
        let stderr = state.process.as_ref().map(|p| p.stderr_since(from));
        if result.is_err() {
            // A process that crashed or hung is started again for the next
            // case; one that only answered wrongly keeps running.
            if let Some(p) = state.process.as_mut()
                && p.wait(Duration::ZERO).await.is_some()
            {
                state.process = None;
            }
        }
        CaseOutput { result, stderr }
    }

    /// Starts the adapter unless it runs, or repeats why it could not.
    async fn ensure_started(&self, state: &mut State, env: &CaseEnv) -> CaseResult {
        if state.process.is_none() {
            if let Some(failure) = &state.failed_start {
                env.log.note(
                    "the adapter failed to start earlier in this run; it is not started again",
                );
                return Err(failure.clone());
            }
            if let Err(failure) = self.start(state, env).await {
                state.failed_start = Some(failure.clone());
                return Err(failure);
            }
        }
        Ok(())
    }

    /// An encoder case: the value must be refused ([ENC-08]).
    async fn refuse(
        &self,
        state: &mut State,
        case: &encoder::EncoderCase,
        env: &CaseEnv,
    ) -> CaseResult {
        self.ensure_started(state, env).await?;
        if !state.encode {
            return Err(Failure::not_implemented(
                "an adapter with the `encode` capability",
                format!(
                    "its capabilities: `{}`",
                    state.capabilities.as_deref().unwrap_or_default()
                ),
            ));
        }
        let answer = self.request(state, &case.request(), None, env).await?;
        let expected = format!(
            "`err <code> <message>`: {} breaks a rule, so it is not encoded [ENC-08]",
            case.title
        );
        if answer.starts_with("err not_implemented") {
            Err(Failure::not_implemented(expected, format!("`{answer}`")))
        } else if answer.starts_with("err ") {
            Ok(())
        } else {
            Err(Failure::fail(
                expected,
                format!("`{}`", check::shorten(&answer)),
            ))
        }
    }

    async fn exchange(&self, state: &mut State, v: &Vector, env: &CaseEnv) -> CaseResult {
        let log = &env.log;
        self.ensure_started(state, env).await?;
        let answer = self.request(state, &request_line(v), Some(v), env).await?;
        check::judge_decode(v, &answer)?;
        if state.encode
            && let Some(line) = check::encode_request(v)
        {
            let answer = self.request(state, &line, None, env).await?;
            if !check::judge_encode(v, &answer)? {
                log.note("the adapter does not encode this type (`err not_implemented`): decoding alone was checked");
            }
        }
        Ok(())
    }

    /// Starts the command and asks for its capabilities.
    async fn start(&self, state: &mut State, env: &CaseEnv) -> CaseResult {
        let words = self.command.render(&[]);
        env.log
            .note(format!("starting the codec adapter: {}", self.command));
        let process = Process::spawn(&words).map_err(|e| {
            Failure::harness(
                format!("the adapter command `{}` to start", self.command),
                e.to_string(),
            )
        })?;
        state.process = Some(process);
        env.log.event(
            "adapter",
            EntryKind::Adapter,
            Direction::Sent,
            "capabilities",
        );
        if let Some(p) = state.process.as_mut()
            && let Err(e) = p.send("capabilities").await
        {
            let status = p.wait(Duration::from_secs(2)).await;
            state.process = None;
            return Err(exit_failure(
                status,
                &format!("its standard input failed ({e})"),
            ));
        }
        let line = self
            .read(
                state,
                "capabilities",
                scaled(ADAPTER_TIMEOUT, env.time_scale),
                env,
            )
            .await?;
        state.capabilities = Some(line.clone());
        let words: Vec<&str> = line.split(' ').collect();
        let expected = "`ok adapter/1 codec decode` [CONF-14]";
        match words.as_slice() {
            ["ok", "adapter/1", "codec", caps @ ..] => {
                if !caps.contains(&"decode") {
                    return Err(Failure::not_implemented(
                        expected,
                        format!("its capabilities lack `decode`: `{line}`"),
                    ));
                }
                state.encode = caps.contains(&"encode");
                Ok(())
            }
            ["ok", version, ..] if version.starts_with("adapter/") && *version != "adapter/1" => {
                Err(Failure::harness(
                    "an adapter that speaks adapter/1",
                    format!("it speaks {version}, which this runner does not"),
                ))
            }
            ["err", "not_implemented", ..] => {
                Err(Failure::not_implemented(expected, format!("`{line}`")))
            }
            _ => Err(Failure::fail(
                expected,
                format!("`{}`", check::shorten(&line)),
            )),
        }
    }

    /// Sends one request and reads its answer line.
    async fn request(
        &self,
        state: &mut State,
        line: &str,
        vector: Option<&Vector>,
        env: &CaseEnv,
    ) -> Result<String, Failure> {
        log_request(&env.log, line, vector);
        let process = state
            .process
            .as_mut()
            .ok_or_else(|| Failure::harness("a running adapter", "none"))?;
        if let Err(e) = process.send(line).await {
            let status = process.wait(Duration::from_secs(2)).await;
            return Err(exit_failure(
                status,
                &format!("its standard input failed ({e})"),
            ));
        }
        let verb = line.split(' ').next().unwrap_or_default();
        self.read(state, verb, scaled(ANSWER_TIMEOUT, env.time_scale), env)
            .await
    }

    async fn read(
        &self,
        state: &mut State,
        verb: &str,
        timeout: Duration,
        env: &CaseEnv,
    ) -> Result<String, Failure> {
        let process = state
            .process
            .as_mut()
            .ok_or_else(|| Failure::harness("a running adapter", "none"))?;
        let expected = format!(
            "one answer line to `{verb}` within {:.1} s [CONF-14]",
            timeout.as_secs_f64()
        );
        match process.read(timeout).await {
            Ok(Line::Text(text)) => {
                env.log.event(
                    "adapter",
                    EntryKind::Adapter,
                    Direction::Received,
                    text.clone(),
                );
                Ok(text)
            }
            Ok(Line::TooLong(n)) => Err(Failure::fail(
                expected,
                format!("a line of {n} bytes, above the limit of [CONF-06]"),
            )),
            Ok(Line::NotUtf8(bytes)) => Err(Failure::fail(
                expected,
                format!(
                    "a line that is not UTF-8 [CONF-06]: {}",
                    hex::encode(&bytes[..bytes.len().min(64)])
                ),
            )),
            Err(ReadError::Timeout) => {
                process.kill().await;
                state.process = None;
                Err(Failure::timeout(
                    expected,
                    "no answer; the adapter was stopped and is started again for the next case",
                ))
            }
            Err(ReadError::Exited(status)) => {
                state.process = None;
                Err(exit_failure(status, "it ended instead of answering"))
            }
            Err(ReadError::Io(e)) => Err(Failure::harness(
                "to read the adapter's standard output",
                e.to_string(),
            )),
        }
    }
}

/// The verdict when the adapter process ended: `not-implemented` for
/// status 3 ([CONF-11]), `fail` for anything else ([CONF-01]: never
/// inferred).
fn exit_failure(status: Option<std::process::ExitStatus>, what: &str) -> Failure {
    let how = describe_exit(status);
    if status.and_then(|s| s.code()) == Some(adapter::EXIT_NOT_IMPLEMENTED) {
        Failure::not_implemented(
            "an answer",
            format!("the adapter {how}: not implemented [CONF-11]"),
        )
    } else {
        Failure::fail(
            "one answer line per request [CONF-14]",
            format!("{what}: the adapter {how}"),
        )
    }
}

fn request_line(v: &Vector) -> String {
    check::decode_request(v)
}

/// Logs a request with its input bytes and the reference decoding of
/// them, so that the wire log shows the frame.
fn log_request(log: &Log, line: &str, vector: Option<&Vector>) {
    let Some(v) = vector else {
        log.event(
            "adapter",
            EntryKind::Adapter,
            Direction::Sent,
            check::shorten(line),
        );
        return;
    };
    let bytes = if v.decoder == "qr" {
        v.input.as_bytes().to_vec()
    } else {
        hex::decode(&v.input).unwrap_or_default()
    };
    let reference: Option<Value> = adapter::decode(&v.decoder, &bytes)
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok());
    let text = format!(
        "{} {}",
        v.decoder,
        if v.decoder == "qr" {
            check::shorten(&v.input)
        } else {
            format!("({} bytes)", bytes.len())
        }
    );
    log.bytes(
        "adapter",
        EntryKind::Adapter,
        Direction::Sent,
        &bytes,
        reference,
        text,
    );
}

impl Target for CodecTarget {
    fn role(&self) -> Role {
        Role::Codec
    }

    fn info(&self) -> TargetInfo {
        let mut parameters = BTreeMap::new();
        parameters.insert("vectors".to_owned(), Value::from(self.vectors.len()));
        if let Ok(state) = self.state.try_lock()
            && let Some(caps) = &state.capabilities
        {
            parameters.insert("capabilities".to_owned(), Value::from(caps.clone()));
        }
        TargetInfo {
            role: Role::Codec,
            implementation: self.implementation.clone(),
            parameters,
            not_run: Vec::new(),
        }
    }

    fn cases(&self) -> Vec<CaseMeta> {
        let mut cases: Vec<CaseMeta> = self.vectors.iter().map(case_of).collect();
        cases.extend(encoder::cases().iter().map(encoder::EncoderCase::meta));
        cases
    }

    fn time_limit(&self, _case: &CaseMeta) -> Duration {
        ADAPTER_TIMEOUT + ANSWER_TIMEOUT * 2 + Duration::from_secs(5)
    }

    fn parallel(&self) -> bool {
        false
    }

    fn run(self: Arc<Self>, case: CaseMeta, env: CaseEnv) -> BoxFuture<'static, CaseOutput> {
        Box::pin(async move { self.run_case(&case, &env).await })
    }

    fn finish(self: Arc<Self>) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            let mut state = self.state.lock().await;
            if let Some(mut p) = state.process.take() {
                p.close_stdin();
                if p.wait(Duration::from_secs(2)).await.is_none() {
                    p.kill().await;
                }
            }
        })
    }
}
