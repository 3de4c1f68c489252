//! Case selection with `--case PATTERN` (spec §12.2 ids): a glob where `*`
//! matches any run of characters and `?` one character, matched against
//! the whole case id; several patterns, or one with commas, select the
//! cases that match any of them.

/// A set of patterns; empty selects every case.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selection {
    patterns: Vec<String>,
}

impl Selection {
    /// Patterns as given on the command line; each may hold several,
    /// separated by commas.
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Self {
        Self {
            patterns: patterns
                .iter()
                .flat_map(|p| p.as_ref().split(','))
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect(),
        }
    }

    /// Whether the case id is selected.
    pub fn matches(&self, id: &str) -> bool {
        self.patterns.is_empty() || self.patterns.iter().any(|p| glob(p, id))
    }

    /// Whether no pattern was given.
    pub fn is_everything(&self) -> bool {
        self.patterns.is_empty()
    }
}

/// Matches `text` against `pattern` with `*` and `?` (iterative, with
/// backtracking to the last star: linear in practice, never recursive).
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("relay.RLY-02.1", "relay.RLY-02.1"));
        assert!(!glob("relay.RLY-02", "relay.RLY-02.1"));
        assert!(glob("relay.*", "relay.RLY-02.1"));
        assert!(glob("*.RLY-0?.*", "relay.RLY-02.1"));
        assert!(!glob("*.RLY-1?.*", "relay.RLY-02.1"));
        assert!(glob("*", ""));
        assert!(glob("a*b*c", "aXXbYYbc"));
        assert!(!glob("a*b*c", "aXXbYYbd"));
        assert!(glob(
            "codec.envelope-*-invalid-*",
            "codec.envelope-ping-invalid-002"
        ));
    }

    #[test]
    fn selections() {
        let all = Selection::new::<&str>(&[]);
        assert!(all.matches("anything") && all.is_everything());
        let some = Selection::new(&["relay.RLY-0*, codec.qr-*", "relay.TRN-03.1"]);
        assert!(some.matches("relay.RLY-04.1"));
        assert!(some.matches("codec.qr-valid-001"));
        assert!(some.matches("relay.TRN-03.1"));
        assert!(!some.matches("relay.TRN-04.1"));
    }
}
