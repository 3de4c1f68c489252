//! The demo's verdict: every check it made (spec §4 pairing, §7 sync and
//! exactly-once sends, §8 media hashes), each passed or failed with what
//! was seen, printed at the end; any failure makes the demo fail.

use crate::console::Console;

/// One check.
#[derive(Clone, Debug)]
pub struct Check {
    /// What was checked, with what was seen.
    pub what: String,
    /// Whether it held.
    pub passed: bool,
}

/// The checks so far.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    checks: Vec<Check>,
}

impl Summary {
    /// Records a check and prints it at once.
    pub fn check(&mut self, console: &Console, passed: bool, what: impl Into<String>) {
        let what = what.into();
        console.line(format!("{} {what}", mark(passed)));
        self.checks.push(Check { what, passed });
    }

    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.passed)
    }

    /// The checks.
    pub fn checks(&self) -> &[Check] {
        &self.checks
    }

    /// Prints every check.
    pub fn print(&self, console: &Console) {
        for check in &self.checks {
            console.line(format!("  {} {}", mark(check.passed), check.what));
        }
        let failed = self.checks.iter().filter(|c| !c.passed).count();
        if failed == 0 {
            console.line(format!("All {} checks passed.", self.checks.len()));
        } else {
            console.line(format!("{failed} of {} checks FAILED.", self.checks.len()));
        }
    }
}

fn mark(passed: bool) -> &'static str {
    if passed { "✓" } else { "✗ FAILED:" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_failure_fails_the_whole() {
        let console = Console::quiet();
        let mut summary = Summary::default();
        summary.check(&console, true, "one");
        assert!(summary.passed());
        summary.check(&console, false, "two");
        assert!(!summary.passed());
        assert_eq!(summary.checks().len(), 2);
    }
}
