//! The report of a run (spec §12.4): the model every format is written
//! from. Its JSON form is the documented schema
//! `tandem-conformance-report/1` (§12.4.1); the terminal, JUnit XML and
//! HTML forms are in the submodules.

pub mod escape;
pub mod html;
pub mod junit;
pub mod terminal;

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::case::Role;
use crate::coverage::RoleCoverage;
use crate::requirements::Level;
use crate::verdict::{ExitStatus, Verdict};
use crate::wirelog::Entry;

/// The `schema` of the JSON report.
pub const SCHEMA: &str = "tandem-conformance-report/1";

/// A whole run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// [`SCHEMA`].
    pub schema: String,
    /// The runner that wrote it.
    pub runner: RunnerInfo,
    /// When the run started, RFC 3339 in UTC.
    pub started_at: String,
    /// How long the run took.
    pub duration_ms: f64,
    /// The seed of the run (`--seed`): the same seed and selection make the
    /// runner send the same bytes.
    pub seed: u64,
    /// The time scale (`--time-scale`).
    pub time_scale: f64,
    /// The `--case` patterns; empty means every case.
    pub selection: Vec<String>,
    /// What was tested.
    pub targets: Vec<TargetInfo>,
    /// Counts and the exit status.
    pub summary: Summary,
    /// Requirement coverage of every role.
    pub coverage: Vec<RoleCoverage>,
    /// Every case that ran, in registry order.
    pub cases: Vec<CaseRecord>,
}

/// The runner's name and version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunnerInfo {
    /// `tandem-conformance`.
    pub name: String,
    /// Its version.
    pub version: String,
}

impl Default for RunnerInfo {
    fn default() -> Self {
        Self {
            name: env!("CARGO_PKG_NAME").to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }
}

/// One implementation under test.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TargetInfo {
    /// Its role.
    pub role: Role,
    /// What it is: the command template, the URL, or the embedded
    /// reference implementation.
    pub implementation: String,
    /// What the runner learned of it: declared limits and timers,
    /// capabilities.
    pub parameters: BTreeMap<String, Value>,
    /// Cases of the role that were not run, and why (for example cases
    /// that stop the relay, against a relay given by URL).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_run: Vec<NotRun>,
}

/// A selected case that was not run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotRun {
    /// The case id.
    pub id: String,
    /// Why.
    pub reason: String,
}

/// Counts of a run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Cases run.
    pub total: usize,
    /// Cases per verdict, by the verdict's name; every verdict is present.
    pub verdicts: BTreeMap<String, usize>,
    /// Cases that fail the run: `fail`, and `timeout` of MUST cases
    /// ([CONF-02]), not counting expected failures.
    pub failing: usize,
    /// Cases listed as expected failures that did not pass.
    pub expected_failures: usize,
    /// Cases listed as expected failures that passed.
    pub unexpected_passes: Vec<String>,
    /// The exit status (§12.3).
    pub exit_status: u8,
}

/// A requirement as a case names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequirementRef {
    /// The id, without brackets.
    pub id: String,
    /// MUST or SHOULD (`MUST` for an id the index does not know).
    pub level: Level,
    /// Its section, number and title (empty for an unknown id).
    pub section: String,
    /// Its text.
    pub text: String,
}

/// One case's result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CaseRecord {
    /// The case id.
    pub id: String,
    /// The role under test.
    pub role: Role,
    /// The case's title.
    pub title: String,
    /// The level of its first requirement.
    pub level: Level,
    /// The section of its first requirement.
    pub section: String,
    /// The spec part (chapter number or appendix letter) of that section.
    pub part: String,
    /// The part's title.
    pub part_title: String,
    /// Every requirement it checks, the first naming it.
    pub requirements: Vec<RequirementRef>,
    /// Adapter capabilities it needs.
    pub capabilities: Vec<String>,
    /// Named faults the runner's peers committed in it.
    pub faults: Vec<String>,
    /// The verdict.
    pub verdict: Verdict,
    /// Whether the verdict counts towards the exit status (not for an
    /// expected failure).
    pub counts: bool,
    /// What was expected, when the case did not pass.
    pub expected: Option<String>,
    /// What happened, when the case did not pass.
    pub actual: Option<String>,
    /// The reason given in the expected-failures file, if listed.
    pub expected_failure: Option<String>,
    /// How long it ran.
    pub duration_ms: f64,
    /// The wire log.
    pub wire_log: Vec<Entry>,
    /// What the implementation wrote to standard error during the case.
    pub stderr: Option<String>,
}

impl CaseRecord {
    /// Whether the case fails the run.
    pub fn fails_run(&self) -> bool {
        self.counts && self.verdict.fails_run(self.level)
    }
}

impl Report {
    /// Fills in the summary from the cases.
    pub fn summarize(&mut self) {
        let mut summary = Summary {
            total: self.cases.len(),
            ..Summary::default()
        };
        for v in Verdict::ALL {
            summary.verdicts.insert(v.as_str().to_owned(), 0);
        }
        for case in &self.cases {
            *summary
                .verdicts
                .entry(case.verdict.as_str().to_owned())
                .or_default() += 1;
            if case.fails_run() {
                summary.failing += 1;
            }
            if case.expected_failure.is_some() {
                if case.verdict == Verdict::Pass {
                    summary.unexpected_passes.push(case.id.clone());
                } else {
                    summary.expected_failures += 1;
                }
            }
        }
        summary.exit_status =
            ExitStatus::of(self.cases.iter().map(|c| (c.verdict, c.level, c.counts))).0;
        self.summary = summary;
    }

    /// The JSON report.
    pub fn to_json(&self) -> String {
        let mut json = serde_json::to_string_pretty(self)
            .unwrap_or_else(|e| unreachable!("a report always serializes: {e}"));
        json.push('\n');
        json
    }

    /// Writes `report.json`, `junit.xml`, `index.html` and `cases/*.html`
    /// into `dir`, creating it.
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("report.json"), self.to_json())?;
        std::fs::write(dir.join("junit.xml"), junit::render(self))?;
        html::write(self, dir)
    }
}

/// Seconds since the Unix epoch as RFC 3339 UTC with milliseconds.
pub fn rfc3339(unix_ms: u64) -> String {
    let secs = unix_ms / 1000;
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        unix_ms % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_767_225_600_123), "2026-01-01T00:00:00.123Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }
}
