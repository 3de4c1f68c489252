//! The companion and primary targets (spec §12.5): the implementation
//! under test runs as a child process behind the endpoint adapter; the
//! runner plays the relay (the embedded reference relay behind a tap) and
//! the other endpoint, and checks what §2 and §4–§9 require of the role.
//! Every case gets a new relay, a new state folder and a new process.

pub mod adapter;
pub mod as_companion;
pub mod as_primary;
pub mod cases;
pub mod ctx;
pub mod faults;
pub mod link;
pub mod model;
pub mod mutants;
pub mod tap;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use serde_json::Value;

use crate::case::{CaseMeta, Failure, Role};
use crate::command::Template;
use crate::relay::ctx::Ctx as RelayCtx;
use crate::relay::embedded::{Embedded, config};
use crate::relay::launch::StateDir;
use crate::relay::params::RelayParams;
use crate::report::TargetInfo;
use crate::runner::{CaseEnv, CaseOutput, Target};
use cases::EndpointCase;
use ctx::Ctx;
use tap::Tap;

/// A companion or a primary under test.
pub struct EndpointTarget {
    role: Role,
    template: Template,
    description: String,
    cases: Vec<Arc<EndpointCase>>,
    by_id: HashMap<String, Arc<EndpointCase>>,
}

impl EndpointTarget {
    /// Tests the implementation that `template` starts in `role`
    /// (`Role::Companion` or `Role::Primary`); `description` names it in
    /// the report.
    pub fn new(role: Role, template: Template, description: impl Into<String>) -> Self {
        let cases: Vec<Arc<EndpointCase>> = cases::all(role).into_iter().map(Arc::new).collect();
        let by_id = cases
            .iter()
            .map(|c| (c.meta.id.clone(), c.clone()))
            .collect();
        Self {
            role,
            template,
            description: description.into(),
            cases,
            by_id,
        }
    }
}

/// The relay the runner plays for endpoint cases: the spec's limits and
/// timers (the implementation under test runs on its own clock), with a
/// case's changes.
pub fn relay_params(case: &EndpointCase, scale: f64) -> RelayParams {
    let mut params = RelayParams {
        max_connections: 256,
        ..RelayParams::default()
    };
    (case.relay)(&mut params, scale);
    params
}

impl Target for EndpointTarget {
    fn role(&self) -> Role {
        self.role
    }

    fn info(&self) -> TargetInfo {
        TargetInfo {
            role: self.role,
            implementation: self.description.clone(),
            parameters: [(
                "template".to_owned(),
                Value::from(self.template.to_string()),
            )]
            .into_iter()
            .collect(),
            not_run: Vec::new(),
        }
    }

    fn cases(&self) -> Vec<CaseMeta> {
        self.cases.iter().map(|c| c.meta.clone()).collect()
    }

    fn time_limit(&self, case: &CaseMeta) -> Duration {
        let base = Duration::from_secs(40);
        self.by_id.get(&case.id).map_or(base, |c| base + c.limit)
    }

    fn parallel(&self) -> bool {
        true
    }

    fn run(self: Arc<Self>, case: CaseMeta, env: CaseEnv) -> BoxFuture<'static, CaseOutput> {
        Box::pin(async move {
            let Some(endpoint_case) = self.by_id.get(&case.id).cloned() else {
                return Failure::harness("an endpoint case", format!("no case {}", case.id)).into();
            };
            let harness = |what: &str, e: std::io::Error| Failure::harness(what, e.to_string());
            let params = relay_params(&endpoint_case, env.time_scale);
            let relay = match Embedded::start(config(&params), params).await {
                Ok(relay) => relay,
                Err(e) => return harness("the embedded relay to start", e).into(),
            };
            let relay = RelayCtx::new(Box::new(relay), env.log.clone(), env.seed, env.time_scale);
            let tap = match Tap::start(relay.url(), &env.log).await {
                Ok(tap) => tap,
                Err(e) => return harness("the tap to listen", e).into(),
            };
            let state = match StateDir::create(&case.id) {
                Ok(state) => state,
                Err(e) => return harness("a state folder", e).into(),
            };
            let ctx = Ctx::new(
                self.role,
                relay.clone(),
                tap,
                self.template.clone(),
                &case.id,
                state.path().to_owned(),
                case.capabilities.clone(),
            );
            let result = (endpoint_case.run)(ctx.clone()).await;
            let stderr = ctx.finish().await;
            relay.release().await;
            drop(state);
            CaseOutput {
                result,
                stderr: Some(stderr),
            }
        })
    }
}
