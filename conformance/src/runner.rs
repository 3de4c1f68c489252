//! Runs cases (spec §12.2, §12.3): selects them, gives each its seed, wire
//! log and time limit, runs them (several at once where the target allows),
//! turns each ending into a verdict with the case's level, and builds the
//! report.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::future::BoxFuture;
use tokio::task::JoinSet;

use crate::case::{CaseMeta, CaseResult, Failure, Role};
use crate::coverage::coverage;
use crate::expected::ExpectedFailures;
use crate::pattern::Selection;
use crate::report::{
    CaseRecord, NotRun, Report, RequirementRef, RunnerInfo, SCHEMA, Summary, TargetInfo, rfc3339,
};
use crate::requirements::Level;
use crate::spec_index::{SpecIndex, part_of};
use crate::verdict::Verdict;
use crate::wirelog::Log;

/// What a case's script gets.
#[derive(Clone, Debug)]
pub struct CaseEnv {
    /// The case's own seed, derived from the run's seed and the case id, so
    /// that a case sends the same bytes whichever subset runs.
    pub seed: u64,
    /// `--time-scale`: multiplies every time the runner allows.
    pub time_scale: f64,
    /// The case's wire log.
    pub log: Log,
}

/// What a case's script returns.
#[derive(Debug)]
pub struct CaseOutput {
    /// How it ended.
    pub result: CaseResult,
    /// The implementation's standard error during the case.
    pub stderr: Option<String>,
}

impl From<CaseResult> for CaseOutput {
    fn from(result: CaseResult) -> Self {
        Self {
            result,
            stderr: None,
        }
    }
}

impl From<Failure> for CaseOutput {
    fn from(failure: Failure) -> Self {
        Err(failure).into()
    }
}

/// An implementation under test in one role, with the cases for it.
pub trait Target: Send + Sync + 'static {
    /// The role.
    fn role(&self) -> Role;
    /// What is tested, for the report.
    fn info(&self) -> TargetInfo;
    /// Every case the runner has for this role.
    fn cases(&self) -> Vec<CaseMeta>;
    /// Why the case cannot run against this target, if it cannot (it is
    /// then listed as not run, without a verdict).
    fn not_runnable(&self, _case: &CaseMeta) -> Option<String> {
        None
    }
    /// The case's time limit before scaling.
    fn time_limit(&self, case: &CaseMeta) -> Duration;
    /// Whether cases may run at once.
    fn parallel(&self) -> bool;
    /// Runs one case.
    fn run(self: Arc<Self>, case: CaseMeta, env: CaseEnv) -> BoxFuture<'static, CaseOutput>;
    /// Ends whatever the target keeps between cases (an adapter process).
    fn finish(self: Arc<Self>) -> BoxFuture<'static, ()> {
        Box::pin(async {})
    }
}

/// How to run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// `--seed`.
    pub seed: u64,
    /// `--time-scale`.
    pub time_scale: f64,
    /// At most this many cases at once, for targets that allow it.
    pub jobs: usize,
    /// `--case`.
    pub selection: Selection,
    /// The patterns as given, for the report.
    pub patterns: Vec<String>,
    /// `--expected-failures`.
    pub expected: ExpectedFailures,
    /// Every case the runner has, for the coverage report; `None` takes
    /// the cases of the targets run.
    pub catalogue: Option<Vec<CaseMeta>>,
}

/// Called with each case's record as soon as it has its verdict.
pub type Progress<'a> = &'a mut (dyn FnMut(&CaseRecord) + Send);

/// The seed of one case.
pub fn case_seed(run_seed: u64, id: &str) -> u64 {
    // FNV-1a of the id, mixed with the run's seed.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h ^ run_seed.rotate_left(17)
}

/// Runs the selected cases of every target and builds the report.
pub async fn run(
    targets: Vec<Arc<dyn Target>>,
    index: &SpecIndex,
    options: &RunOptions,
    progress: Progress<'_>,
) -> Report {
    let started = Instant::now();
    let unix_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let mut records = Vec::new();
    let mut infos = Vec::new();
    let mut all_cases = Vec::new();
    for target in &targets {
        let cases = target.cases();
        all_cases.extend(cases.iter().cloned());
        let mut not_run = Vec::new();
        let mut runnable = Vec::new();
        for case in cases
            .into_iter()
            .filter(|c| options.selection.matches(&c.id))
        {
            match target.not_runnable(&case) {
                Some(reason) => not_run.push(NotRun {
                    id: case.id,
                    reason,
                }),
                None => runnable.push(case),
            }
        }
        records.extend(run_target(target.clone(), runnable, index, options, progress).await);
        target.clone().finish().await;
        // After the cases: what the target learned (capabilities, declared
        // limits) is in its description.
        let mut info = target.info();
        info.not_run = not_run;
        infos.push(info);
    }
    let tested: Vec<Role> = targets.iter().map(|t| t.role()).collect();
    let mut report = Report {
        schema: SCHEMA.to_owned(),
        runner: RunnerInfo::default(),
        started_at: rfc3339(unix_ms),
        duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        seed: options.seed,
        time_scale: options.time_scale,
        selection: options.patterns.clone(),
        targets: infos,
        summary: Summary::default(),
        coverage: coverage(
            index,
            options.catalogue.as_deref().unwrap_or(&all_cases),
            &tested,
        ),
        cases: records,
    };
    report.summarize();
    report
}

async fn run_target(
    target: Arc<dyn Target>,
    cases: Vec<CaseMeta>,
    index: &SpecIndex,
    options: &RunOptions,
    progress: Progress<'_>,
) -> Vec<CaseRecord> {
    let jobs = if target.parallel() {
        options.jobs.max(1)
    } else {
        1
    };
    let order: HashMap<String, usize> = cases
        .iter()
        .enumerate()
        .map(|(i, c)| (c.id.clone(), i))
        .collect();
    let mut pending = cases.into_iter();
    let mut running = JoinSet::new();
    let mut records = Vec::new();
    loop {
        while running.len() < jobs {
            let Some(case) = pending.next() else { break };
            let target = target.clone();
            let time_scale = options.time_scale;
            let seed = case_seed(options.seed, &case.id);
            let limit = scaled(target.time_limit(&case), time_scale);
            running.spawn(async move {
                let log = Log::new();
                let env = CaseEnv {
                    seed,
                    time_scale,
                    log: log.clone(),
                };
                let started = Instant::now();
                let output = run_one(target, case.clone(), env, limit).await;
                (case, output, log, started.elapsed())
            });
        }
        let Some(done) = running.join_next().await else {
            break;
        };
        // `run_one` catches the script's panics; a panic here is the
        // runner's own bug, reported as a harness error by dropping it.
        let Ok((case, output, log, elapsed)) = done else {
            continue;
        };
        let record = record(
            index,
            &case,
            output,
            log,
            elapsed,
            options.expected.reason(&case.id),
        );
        progress(&record);
        records.push(record);
    }
    records.sort_by_key(|r| order.get(&r.id).copied().unwrap_or(usize::MAX));
    records
}

/// Runs one case's script under its time limit, catching panics.
async fn run_one(
    target: Arc<dyn Target>,
    case: CaseMeta,
    env: CaseEnv,
    limit: Duration,
) -> CaseOutput {
    let log = env.log.clone();
    let mut task = tokio::spawn(target.run(case, env));
    match tokio::time::timeout(limit, &mut task).await {
        Ok(Ok(output)) => output,
        Ok(Err(error)) => {
            let why = if error.is_panic() {
                let payload = error.into_panic();
                let message = payload
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a panic".to_owned());
                format!("the runner's script panicked: {message}")
            } else {
                "the runner's script was cancelled".to_owned()
            };
            Failure::harness("the case to run", why).into()
        }
        Err(_) => {
            task.abort();
            let last = log
                .entries()
                .iter()
                .rev()
                .find(|e| e.peer == "runner")
                .map(|e| format!(" (last note: {})", e.text))
                .unwrap_or_default();
            Err(Failure::timeout(
                format!(
                    "the case to end within its time limit of {:.1} s",
                    limit.as_secs_f64()
                ),
                format!("it was still running{last}"),
            ))
            .into()
        }
    }
}

/// Builds a case's record: requirements from the index, the verdict from
/// the ending and the level.
pub fn record(
    index: &SpecIndex,
    case: &CaseMeta,
    output: CaseOutput,
    log: Log,
    elapsed: Duration,
    expected_failure: Option<&str>,
) -> CaseRecord {
    let requirements: Vec<RequirementRef> = case
        .requirements
        .iter()
        .map(|id| match index.get(id) {
            Some(r) => RequirementRef {
                id: id.clone(),
                level: r.level,
                section: r.section.clone(),
                text: r.text.clone(),
            },
            None => RequirementRef {
                id: id.clone(),
                level: Level::Must,
                section: String::new(),
                text: "(not in the requirement index)".to_owned(),
            },
        })
        .collect();
    let first = case.primary_requirement().and_then(|id| index.get(id));
    let level = first.map_or(Level::Must, |r| r.level);
    let (part, part_title) = first.map(part_of).unwrap_or_default();
    let kind = output.result.as_ref().err().map(|f| f.kind);
    let verdict = Verdict::of(kind, level);
    let (expected, actual) = match output.result {
        Ok(()) => (None, None),
        Err(f) => (Some(f.expected), Some(f.actual)),
    };
    CaseRecord {
        id: case.id.clone(),
        role: case.role,
        title: case.title.clone(),
        level,
        section: first.map(|r| r.section.clone()).unwrap_or_default(),
        part,
        part_title,
        requirements,
        capabilities: case.capabilities.clone(),
        faults: case.faults.clone(),
        verdict,
        counts: expected_failure.is_none(),
        expected,
        actual,
        expected_failure: expected_failure.map(str::to_owned),
        duration_ms: elapsed.as_secs_f64() * 1000.0,
        wire_log: log.entries(),
        stderr: output.stderr.filter(|s| !s.is_empty()),
    }
}

/// `duration` times `scale`.
pub fn scaled(duration: Duration, scale: f64) -> Duration {
    let scale = if scale.is_finite() && scale > 0.0 {
        scale
    } else {
        1.0
    };
    Duration::from_secs_f64((duration.as_secs_f64() * scale).min(1e9))
}
