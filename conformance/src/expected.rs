//! The file of cases expected not to pass (spec §12.4): one case id per
//! line followed by the reason, `#` comments and blank lines ignored. Such
//! cases still run and are reported; they do not change the exit status
//! unless they pass, which the report points out.

use std::collections::BTreeMap;
use std::fmt;

/// Case ids expected not to pass, with reasons.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExpectedFailures {
    reasons: BTreeMap<String, String>,
}

/// A line of the file that is not `<case id> <reason>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpectedFailuresError {
    /// The 1-based line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ExpectedFailuresError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ExpectedFailuresError {}

impl ExpectedFailures {
    /// Parses the file's text.
    pub fn parse(text: &str) -> Result<Self, ExpectedFailuresError> {
        let mut reasons = BTreeMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (id, reason) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
            let reason = reason.trim();
            if reason.is_empty() {
                return Err(ExpectedFailuresError {
                    line: n + 1,
                    message: format!("`{id}` has no reason; write `<case id> <reason>`"),
                });
            }
            if reasons.insert(id.to_owned(), reason.to_owned()).is_some() {
                return Err(ExpectedFailuresError {
                    line: n + 1,
                    message: format!("`{id}` is listed twice"),
                });
            }
        }
        Ok(Self { reasons })
    }

    /// The reason a case is expected not to pass, if it is.
    pub fn reason(&self, id: &str) -> Option<&str> {
        self.reasons.get(id).map(String::as_str)
    }

    /// Every listed id.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.reasons.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ids_and_reasons() {
        let e = ExpectedFailures::parse(
            "# known\n\nrelay.RLY-24.1   no fd budget here\ncodec.x  y z\n",
        )
        .unwrap_or_default();
        assert_eq!(e.reason("relay.RLY-24.1"), Some("no fd budget here"));
        assert_eq!(e.reason("codec.x"), Some("y z"));
        assert_eq!(e.ids().count(), 2);
        assert_eq!(ExpectedFailures::parse("a\n").map_err(|e| e.line), Err(1));
        assert_eq!(
            ExpectedFailures::parse("a b\na c\n").map_err(|e| e.line),
            Err(2)
        );
    }
}
