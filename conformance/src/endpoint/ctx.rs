//! What a companion or primary case's script works with (spec §12.5): the
//! implementation under test behind its adapter, the relay it is given
//! (the embedded reference relay behind a [`Tap`]), the runner's own
//! peers on that relay (through [`RelayCtx`], shared with the relay
//! target), the case's wire log, seeded randomness and scaled waits.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::Mutex;

use crate::case::{Failure, Role};
use crate::command::Template;
use crate::endpoint::adapter::{Adapter, Reply};
use crate::endpoint::tap::Tap;
use crate::relay::ctx::Ctx as RelayCtx;

/// A case's context; cheap to clone.
#[derive(Clone)]
pub struct Ctx(Arc<Inner>);

struct Inner {
    role: Role,
    relay: RelayCtx,
    tap: Tap,
    template: Template,
    case_id: String,
    state_dir: PathBuf,
    capabilities: Vec<String>,
    adapter: Mutex<Option<Adapter>>,
}

impl Ctx {
    /// A context for one case; the implementation starts at its first use.
    pub fn new(
        role: Role,
        relay: RelayCtx,
        tap: Tap,
        template: Template,
        case_id: &str,
        state_dir: PathBuf,
        capabilities: Vec<String>,
    ) -> Self {
        Self(Arc::new(Inner {
            role,
            relay,
            tap,
            template,
            case_id: case_id.to_owned(),
            state_dir,
            capabilities,
            adapter: Mutex::new(None),
        }))
    }

    /// The runner's side of the relay: its peers connect there directly.
    pub fn relay(&self) -> &RelayCtx {
        &self.0.relay
    }

    /// The relay as the implementation reaches it.
    pub fn tap(&self) -> &Tap {
        &self.0.tap
    }

    /// The role under test.
    pub fn role(&self) -> Role {
        self.0.role
    }

    /// The folder given as `{state_dir}`.
    pub fn state_dir(&self) -> &std::path::Path {
        &self.0.state_dir
    }

    /// Records a note in the wire log.
    pub fn note(&self, text: impl Into<String>) {
        self.0.relay.note(text);
    }

    /// How long to wait for something that should come at once.
    pub fn wait(&self) -> Duration {
        self.0.relay.wait()
    }

    /// How long to watch for something that must not come.
    pub fn quiet(&self) -> Duration {
        self.0.relay.quiet()
    }

    /// `d` times `--time-scale`.
    pub fn scaled(&self, d: Duration) -> Duration {
        self.0.relay.scaled(d)
    }

    /// Whether the template passes the QR text at start ({qr_payload}).
    pub fn takes_qr_at_start(&self) -> bool {
        self.0.template.mentions("qr_payload")
    }

    /// Starts the implementation if it is not running, with `qr` as
    /// `{qr_payload}`.
    pub async fn start(&self, qr: &str) -> Result<(), Failure> {
        let relay_url = self.0.tap.url().to_owned();
        self.start_with_relay(qr, &relay_url).await
    }

    /// As [`Ctx::start`] with another `{relay_url}` than the tap's (a
    /// relay the implementation must refuse, [TRN-12]).
    pub async fn start_with_relay(&self, qr: &str, relay_url: &str) -> Result<(), Failure> {
        let mut adapter = self.0.adapter.lock().await;
        if adapter.is_some() {
            return Ok(());
        }
        let state_dir = self.0.state_dir.display().to_string();
        let started = Adapter::start(
            self.0.role,
            &self.0.template,
            &[
                ("relay_url", relay_url),
                ("state_dir", &state_dir),
                ("qr_payload", qr),
                ("case_id", &self.0.case_id),
            ],
            self.0.relay.log(),
            self.0.relay.scale(),
        )
        .await?;
        started.require(&self.0.capabilities)?;
        *adapter = Some(started);
        Ok(())
    }

    /// Runs `f` on the implementation's adapter, starting it first.
    async fn with<T>(
        &self,
        f: impl AsyncFnOnce(&mut Adapter) -> Result<T, Failure>,
    ) -> Result<T, Failure> {
        self.start("").await?;
        let mut guard = self.0.adapter.lock().await;
        let adapter = guard
            .as_mut()
            .ok_or_else(|| Failure::harness("a running implementation", "it did not start"))?;
        f(adapter).await
    }

    /// Sends a request and returns the response.
    pub async fn request(&self, line: &str) -> Result<Reply, Failure> {
        self.with(async |a| a.request(line).await).await
    }

    /// Sends a request that must be answered `ok`.
    pub async fn ok(&self, line: &str) -> Result<Option<String>, Failure> {
        self.with(async |a| a.ok(line).await).await
    }

    /// Sends a request whose `ok` result is one JSON value.
    pub async fn ok_json(&self, line: &str) -> Result<Value, Failure> {
        self.with(async |a| a.ok_json(line).await).await
    }

    /// Waits for an event of `kind` that `accept` takes.
    pub async fn event<T>(
        &self,
        kind: &str,
        what: &str,
        accept: impl FnMut(&Value) -> Option<T>,
    ) -> Result<T, Failure> {
        let within = self.wait();
        self.with(async |a| a.expect_kind(within, kind, what, accept).await)
            .await
    }

    /// As [`Ctx::event`] with a longer wait.
    pub async fn event_within<T>(
        &self,
        within: Duration,
        kind: &str,
        what: &str,
        accept: impl FnMut(&Value) -> Option<T>,
    ) -> Result<T, Failure> {
        self.with(async |a| a.expect_kind(within, kind, what, accept).await)
            .await
    }

    /// Checks that no event that `reject` matches comes within `during`.
    pub async fn no_event(
        &self,
        during: Duration,
        what: &str,
        reject: impl FnMut(&Value) -> bool,
    ) -> Result<(), Failure> {
        self.with(async |a| a.expect_no_event(during, what, reject).await)
            .await
    }

    /// `restart` ([CONF-10]).
    pub async fn restart(&self) -> Result<(), Failure> {
        self.with(async |a| a.restart().await).await
    }

    /// Sends every line at once and returns the responses in order.
    pub async fn request_all(&self, lines: &[&str]) -> Result<Vec<Reply>, Failure> {
        self.with(async |a| a.request_all(lines).await).await
    }

    /// `quit` ([CONF-10]): `ok` and exit status 0 within `ADAPTER_TIMEOUT`.
    pub async fn quit(&self) -> Result<(), Failure> {
        self.with(async |a| a.quit().await).await
    }

    /// SIGKILL and start again (§12.5.5).
    pub async fn crash(&self) -> Result<(), Failure> {
        self.with(async |a| a.crash_and_start().await).await
    }

    /// Whether the implementation declared `capability`.
    pub async fn has(&self, capability: &str) -> Result<bool, Failure> {
        self.with(async |a| Ok(a.has(capability))).await
    }

    /// How many times the implementation was started.
    pub async fn starts(&self) -> usize {
        self.0
            .adapter
            .lock()
            .await
            .as_ref()
            .map_or(0, Adapter::starts)
    }

    /// Quits the implementation and returns its standard error.
    pub async fn finish(&self) -> String {
        let mut guard = self.0.adapter.lock().await;
        match guard.as_mut() {
            Some(a) => {
                a.finish().await;
                a.stderr()
            }
            None => String::new(),
        }
    }
}
