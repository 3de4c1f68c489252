//! The companion and primary cases (spec §2, §4–§9, §12.5), one folder per
//! role and one file per chapter, and how a case is declared: its id,
//! requirements, title, the capabilities it needs, the faults the runner
//! commits, the relay it needs and its extra time.

pub mod checks;
mod companion;
mod primary;

use std::fmt::Display;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;

use crate::case::{CaseMeta, CaseResult, Role};
use crate::endpoint::ctx::Ctx;
use crate::relay::params::RelayParams;

/// A case's script.
pub type Script = Arc<dyn Fn(Ctx) -> BoxFuture<'static, CaseResult> + Send + Sync>;

/// Changes to the relay the runner plays, given the time scale.
pub type RelaySetup = fn(&mut RelayParams, f64);

/// One companion or primary case.
pub struct EndpointCase {
    /// Id, requirements, title, capabilities, faults.
    pub meta: CaseMeta,
    /// Changes to the relay's limits and timers for this case.
    pub relay: RelaySetup,
    /// Time beyond the base limit.
    pub limit: Duration,
    /// The script.
    pub run: Script,
}

impl EndpointCase {
    /// The adapter capabilities the case needs (§12.5.6).
    pub fn needs(mut self, capabilities: &[&str]) -> Self {
        self.meta.capabilities = capabilities.iter().map(|c| (*c).to_owned()).collect();
        self
    }

    /// The faults the runner commits.
    pub fn faults(mut self, faults: &[&str]) -> Self {
        self.meta.faults = faults.iter().map(|f| (*f).to_owned()).collect();
        self
    }

    /// Changes to the relay.
    pub fn relay(mut self, setup: RelaySetup) -> Self {
        self.relay = setup;
        self
    }

    /// Extra time.
    pub fn longer(mut self, extra: Duration) -> Self {
        self.limit = extra;
        self
    }
}

/// Declares a case `<role>.<requirement>.<n>` that also checks `also`.
pub fn case<F, Fut>(
    role: Role,
    requirement: &str,
    n: impl Display,
    also: &[&str],
    title: &str,
    script: F,
) -> EndpointCase
where
    F: Fn(Ctx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = CaseResult> + Send + 'static,
{
    let mut requirements = vec![requirement.to_owned()];
    requirements.extend(also.iter().map(|r| (*r).to_owned()));
    EndpointCase {
        meta: CaseMeta {
            id: format!("{role}.{requirement}.{n}"),
            role,
            requirements,
            title: title.to_owned(),
            capabilities: Vec::new(),
            faults: Vec::new(),
        },
        relay: |_, _| {},
        limit: Duration::ZERO,
        run: Arc::new(move |ctx| Box::pin(script(ctx))),
    }
}

/// Declares a companion case.
pub fn companion_case<F, Fut>(
    requirement: &str,
    n: impl Display,
    also: &[&str],
    title: &str,
    script: F,
) -> EndpointCase
where
    F: Fn(Ctx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = CaseResult> + Send + 'static,
{
    case(Role::Companion, requirement, n, also, title, script)
}

/// Declares a primary case.
pub fn primary_case<F, Fut>(
    requirement: &str,
    n: impl Display,
    also: &[&str],
    title: &str,
    script: F,
) -> EndpointCase
where
    F: Fn(Ctx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = CaseResult> + Send + 'static,
{
    case(Role::Primary, requirement, n, also, title, script)
}

/// Every case of `role`, in a fixed order.
pub fn all(role: Role) -> Vec<EndpointCase> {
    match role {
        Role::Companion => companion::all(),
        Role::Primary => primary::all(),
        Role::Relay | Role::Codec => Vec::new(),
    }
}
