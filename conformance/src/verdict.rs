//! Verdicts and how they count (spec §12.3): a case's ending and its level
//! give its verdict; the verdicts of a run give the exit status.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::case::FailKind;
use crate::requirements::Level;

/// The verdict of one case (§12.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// The implementation did what the requirements say.
    Pass,
    /// It broke a MUST.
    Fail,
    /// It broke only SHOULDs.
    NonStrict,
    /// It declared that it does not implement what the case needs.
    NotImplemented,
    /// Something expected did not come in time.
    Timeout,
    /// The runner could not run the case.
    HarnessError,
}

impl Verdict {
    /// Every verdict, in the order reports list them.
    pub const ALL: [Verdict; 6] = [
        Verdict::Pass,
        Verdict::Fail,
        Verdict::NonStrict,
        Verdict::NotImplemented,
        Verdict::Timeout,
        Verdict::HarnessError,
    ];

    /// The verdict's name, as the spec and the reports write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "fail",
            Self::NonStrict => "non-strict",
            Self::NotImplemented => "not-implemented",
            Self::Timeout => "timeout",
            Self::HarnessError => "harness-error",
        }
    }

    /// The verdict of a case of `level` that ended with `kind`, or passed
    /// (`None`).
    pub fn of(kind: Option<FailKind>, level: Level) -> Self {
        match (kind, level) {
            (None, _) => Self::Pass,
            (Some(FailKind::Fail), Level::Must) => Self::Fail,
            (Some(FailKind::Fail | FailKind::NonStrict), _) => Self::NonStrict,
            (Some(FailKind::Timeout), _) => Self::Timeout,
            (Some(FailKind::NotImplemented), _) => Self::NotImplemented,
            (Some(FailKind::HarnessError), _) => Self::HarnessError,
        }
    }

    /// Whether this verdict in a case of `level` fails the run: `fail`,
    /// and `timeout` in a MUST case ([CONF-02]).
    pub fn fails_run(self, level: Level) -> bool {
        match self {
            Self::Fail => true,
            Self::Timeout => level == Level::Must,
            _ => false,
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The exit status of a run (§12.3): 0 when nothing failed, 1 when a case
/// failed, a MUST case timed out or an expected failure passed, 2 when a
/// harness error kept a case from running or when no case ran at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitStatus(pub u8);

impl ExitStatus {
    /// Everything that ran passed (or missed only SHOULDs).
    pub const OK: ExitStatus = ExitStatus(0);
    /// A case failed.
    pub const FAILED: ExitStatus = ExitStatus(1);
    /// A harness error, or no case ran.
    pub const HARNESS: ExitStatus = ExitStatus(2);

    /// The status of a run whose cases ended with these verdicts and
    /// levels, each with whether it counts: a case listed as an expected
    /// failure does not count while it does not pass, and fails the run
    /// when it passes, so that the list is kept current (§12.4).
    pub fn of(results: impl IntoIterator<Item = (Verdict, Level, bool)>) -> Self {
        let (mut ran, mut failed, mut harness) = (0usize, false, false);
        for (verdict, level, counts) in results {
            ran += 1;
            if verdict == Verdict::HarnessError {
                harness = true;
            } else if (counts && verdict.fails_run(level)) || (!counts && verdict == Verdict::Pass)
            {
                failed = true;
            }
        }
        if ran == 0 || harness {
            Self::HARNESS
        } else if failed {
            Self::FAILED
        } else {
            Self::OK
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_turn_endings_into_verdicts() {
        assert_eq!(Verdict::of(None, Level::Must), Verdict::Pass);
        assert_eq!(
            Verdict::of(Some(FailKind::Fail), Level::Must),
            Verdict::Fail
        );
        assert_eq!(
            Verdict::of(Some(FailKind::Fail), Level::Should),
            Verdict::NonStrict
        );
        assert_eq!(
            Verdict::of(Some(FailKind::NonStrict), Level::Must),
            Verdict::NonStrict
        );
        assert_eq!(
            Verdict::of(Some(FailKind::Timeout), Level::Should),
            Verdict::Timeout
        );
    }

    #[test]
    fn exit_status_counts_as_conf_02_says() {
        use Level::*;
        use Verdict::*;
        assert_eq!(ExitStatus::of([]), ExitStatus::HARNESS);
        assert_eq!(
            ExitStatus::of([(Pass, Must, true), (NonStrict, Must, true)]),
            ExitStatus::OK
        );
        assert_eq!(ExitStatus::of([(Timeout, Should, true)]), ExitStatus::OK);
        assert_eq!(ExitStatus::of([(Timeout, Must, true)]), ExitStatus::FAILED);
        assert_eq!(ExitStatus::of([(Fail, Must, false)]), ExitStatus::OK);
        assert_eq!(ExitStatus::of([(Pass, Must, false)]), ExitStatus::FAILED);
        assert_eq!(
            ExitStatus::of([(Fail, Must, true), (HarnessError, Must, true)]),
            ExitStatus::HARNESS
        );
        assert_eq!(
            ExitStatus::of([(NotImplemented, Must, true)]),
            ExitStatus::OK
        );
    }
}
