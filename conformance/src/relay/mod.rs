//! The relay target (spec §12.6): the runner plays primaries, companions
//! and hostile clients against a relay, over real WebSockets, and checks
//! what §2, §3 and §10 require of it. A relay comes from a [`launch`]er:
//! the embedded reference relay, a command template, or a URL.

pub mod cases;
pub mod ctx;
pub mod embedded;
pub mod faults;
pub mod launch;
pub mod params;
pub mod peer;
pub mod raw;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use serde_json::Value;

use crate::case::{CaseMeta, Role};
use crate::report::TargetInfo;
use crate::runner::{CaseEnv, CaseOutput, Target};
use cases::RelayCase;
use ctx::Ctx;
use launch::Launcher;
use params::RelayParams;

/// A relay under test.
pub struct RelayTarget {
    launcher: Box<dyn Launcher>,
    cases: Vec<Arc<RelayCase>>,
    by_id: HashMap<String, Arc<RelayCase>>,
}

impl RelayTarget {
    /// Tests the relays `launcher` provides.
    pub fn new(launcher: Box<dyn Launcher>) -> Self {
        let cases: Vec<Arc<RelayCase>> = cases::all().into_iter().map(Arc::new).collect();
        let by_id = cases
            .iter()
            .map(|c| (c.meta.id.clone(), c.clone()))
            .collect();
        Self {
            launcher,
            cases,
            by_id,
        }
    }

    /// The values cases are timed with before a relay declared its own.
    fn params(&self) -> RelayParams {
        self.launcher.params().unwrap_or_default()
    }
}

impl Target for RelayTarget {
    fn role(&self) -> Role {
        Role::Relay
    }

    fn info(&self) -> TargetInfo {
        let parameters = match self.launcher.params() {
            Some(p) => p.to_map(),
            None => [(
                "declared".to_owned(),
                Value::from("in each relay's ready line"),
            )]
            .into_iter()
            .collect(),
        };
        TargetInfo {
            role: Role::Relay,
            implementation: self.launcher.describe(),
            parameters,
            not_run: Vec::new(),
        }
    }

    fn cases(&self) -> Vec<CaseMeta> {
        self.cases.iter().map(|c| c.meta.clone()).collect()
    }

    fn not_runnable(&self, case: &CaseMeta) -> Option<String> {
        let c = self.by_id.get(&case.id)?;
        (c.needs_own_relay && !self.launcher.owns_relays()).then(|| {
            "it stops or fills the relay, and this relay was not started by the runner".to_owned()
        })
    }

    fn time_limit(&self, case: &CaseMeta) -> Duration {
        let params = self.params();
        let base = Duration::from_secs(20);
        self.by_id
            .get(&case.id)
            .map_or(base, |c| base + (c.limit)(&params))
    }

    fn parallel(&self) -> bool {
        self.launcher.owns_relays()
    }

    fn run(self: Arc<Self>, case: CaseMeta, env: CaseEnv) -> BoxFuture<'static, CaseOutput> {
        Box::pin(async move {
            let Some(relay_case) = self.by_id.get(&case.id).cloned() else {
                return crate::case::Failure::harness(
                    "a relay case",
                    format!("no case {}", case.id),
                )
                .into();
            };
            let instance = match self
                .launcher
                .start(&case.id, &env.log, env.time_scale)
                .await
            {
                Ok(instance) => instance,
                Err(failure) => return Err(failure).into(),
            };
            let ctx = Ctx::new(instance, env.log.clone(), env.seed, env.time_scale);
            let result = (relay_case.run)(ctx.clone()).await;
            let stderr = ctx.relay_stderr().await;
            ctx.release().await;
            CaseOutput { result, stderr }
        })
    }
}
