//! What a conformance case is (spec §12.2): a stable id, the requirement
//! ids it checks (the first names it), a title and the capabilities it
//! needs; and how a case ends before it is given a verdict (§12.3).

use std::fmt;

use serde::{Deserialize, Serialize};

/// The role an implementation under test plays (spec §12.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A companion: the runner plays relay and primary.
    Companion,
    /// A primary: the runner plays relay and companion.
    Primary,
    /// A relay: the runner plays companions, primaries and hostile clients.
    Relay,
    /// A codec: the runner feeds the vectors of §13 to an adapter.
    Codec,
}

impl Role {
    /// Every role, in the order of §12.1.
    pub const ALL: [Role; 4] = [Role::Companion, Role::Primary, Role::Relay, Role::Codec];

    /// The role's name as case ids and reports write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Companion => "companion",
            Self::Primary => "primary",
            Self::Relay => "relay",
            Self::Codec => "codec",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The description of one case, as the registry lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseMeta {
    /// `<role>.<requirement id>.<n>`, or `codec.<vector id>` (§12.2).
    pub id: String,
    /// The role under test.
    pub role: Role,
    /// The requirement ids checked, without brackets; the first is the one
    /// the case is named after and gives its level and section.
    pub requirements: Vec<String>,
    /// One line for people.
    pub title: String,
    /// The adapter capabilities the case needs (§12.5.6).
    pub capabilities: Vec<String>,
    /// The named faults the runner's own peers commit in this case.
    pub faults: Vec<String>,
}

impl CaseMeta {
    /// A case with no capabilities and no faults.
    pub fn new(
        id: impl Into<String>,
        role: Role,
        requirements: &[&str],
        title: impl Into<String>,
    ) -> Self {
        Self {
            id: id.into(),
            role,
            requirements: requirements.iter().map(|r| (*r).to_owned()).collect(),
            title: title.into(),
            capabilities: Vec::new(),
            faults: Vec::new(),
        }
    }

    /// The requirement the case is named after.
    pub fn primary_requirement(&self) -> Option<&str> {
        self.requirements.first().map(String::as_str)
    }
}

/// How a case that did not pass ended, before the runner turns it into a
/// verdict with the case's level (§12.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailKind {
    /// A requirement of the case was broken: `fail` for a MUST case,
    /// `non-strict` for a SHOULD case.
    Fail,
    /// Only a SHOULD requirement was missed, whatever the case's level (for
    /// example a codec error at another offset, [VEC-03]).
    NonStrict,
    /// Something expected did not come within its time.
    Timeout,
    /// The implementation declared that it does not implement what the
    /// case needs ([CONF-01]).
    NotImplemented,
    /// The runner itself could not run the case.
    HarnessError,
}

/// Why a case did not pass: what was expected and what happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// How it ended.
    pub kind: FailKind,
    /// What the requirement says should have happened.
    pub expected: String,
    /// What happened.
    pub actual: String,
}

impl Failure {
    fn new(kind: FailKind, expected: impl Into<String>, actual: impl Into<String>) -> Self {
        Self {
            kind,
            expected: expected.into(),
            actual: actual.into(),
        }
    }

    /// A broken requirement.
    pub fn fail(expected: impl Into<String>, actual: impl Into<String>) -> Self {
        Self::new(FailKind::Fail, expected, actual)
    }

    /// A missed SHOULD.
    pub fn non_strict(expected: impl Into<String>, actual: impl Into<String>) -> Self {
        Self::new(FailKind::NonStrict, expected, actual)
    }

    /// Nothing came in time.
    pub fn timeout(expected: impl Into<String>, actual: impl Into<String>) -> Self {
        Self::new(FailKind::Timeout, expected, actual)
    }

    /// Declared as not implemented; `how` says how it was declared.
    pub fn not_implemented(expected: impl Into<String>, how: impl Into<String>) -> Self {
        Self::new(FailKind::NotImplemented, expected, how)
    }

    /// The runner could not run the case.
    pub fn harness(what: impl Into<String>, why: impl Into<String>) -> Self {
        Self::new(FailKind::HarnessError, what, why)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "expected {} / actual {}", self.expected, self.actual)
    }
}

/// The result of running a case's script.
pub type CaseResult = Result<(), Failure>;

/// Returns a failure when `condition` does not hold.
pub fn ensure(
    condition: bool,
    expected: impl Into<String>,
    actual: impl FnOnce() -> String,
) -> CaseResult {
    if condition {
        Ok(())
    } else {
        Err(Failure::fail(expected, actual()))
    }
}
