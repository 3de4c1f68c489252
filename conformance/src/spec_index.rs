//! The requirement index the runner was built with: `spec/requirements.json`
//! (spec §12.2: a case's level and section are those of its first
//! requirement there), and the spec part (chapter) each section belongs to,
//! which names the JUnit suites (§12.4).

use std::collections::HashMap;

use crate::requirements::{Index, Level, Requirement};

/// The index as checked in, compiled into the runner.
const EMBEDDED: &str = include_str!("../../spec/requirements.json");

/// Requirements by id.
#[derive(Clone, Debug)]
pub struct SpecIndex {
    index: Index,
    by_id: HashMap<String, usize>,
}

impl SpecIndex {
    /// The index compiled into the runner.
    pub fn embedded() -> Result<Self, serde_json::Error> {
        Ok(Self::new(Index::from_json(EMBEDDED)?))
    }

    /// An index read elsewhere.
    pub fn new(index: Index) -> Self {
        let by_id = index
            .requirements
            .iter()
            .enumerate()
            .map(|(i, r)| (r.id.clone(), i))
            .collect();
        Self { index, by_id }
    }

    /// The requirement with this id.
    pub fn get(&self, id: &str) -> Option<&Requirement> {
        self.by_id.get(id).map(|&i| &self.index.requirements[i])
    }

    /// Every requirement, in spec order.
    pub fn all(&self) -> &[Requirement] {
        &self.index.requirements
    }

    /// The level of a requirement; an unknown id counts as MUST, so that a
    /// case naming it is never taken lightly (a test keeps every case's ids
    /// known).
    pub fn level(&self, id: &str) -> Level {
        self.get(id).map_or(Level::Must, |r| r.level)
    }
}

/// The part of the spec a requirement belongs to: its chapter number (or
/// appendix letter) and the chapter's name, from its file name
/// (`03-relay-envelope.md` is part `3`, `Relay envelope`).
pub fn part_of(requirement: &Requirement) -> (String, String) {
    part_of_file(&requirement.file)
}

/// As [`part_of`], from a chapter's file name.
pub fn part_of_file(file: &str) -> (String, String) {
    let stem = file.strip_suffix(".md").unwrap_or(file);
    let (number, name) = match stem.split_once('-') {
        Some((n, rest)) if n.bytes().all(|b| b.is_ascii_digit()) => {
            (n.trim_start_matches('0').to_owned(), rest)
        }
        Some(("appendix", rest)) => match rest.split_once('-') {
            Some((letter, rest)) => (letter.to_ascii_uppercase(), rest),
            None => (rest.to_ascii_uppercase(), ""),
        },
        _ => (String::new(), stem),
    };
    let mut words = name.replace('-', " ");
    if let Some(first) = words.get(..1) {
        let upper = first.to_ascii_uppercase();
        words.replace_range(..1, &upper);
    }
    (number, words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_index_loads_and_knows_its_ids() {
        let index = SpecIndex::embedded().unwrap_or_else(|e| panic!("{e}"));
        let r = index.get("RLY-02").unwrap_or_else(|| panic!("RLY-02"));
        assert_eq!(r.level, Level::Must);
        assert!(r.section.starts_with("3.3"));
        assert_eq!(index.level("NOPE-99"), Level::Must);
    }

    #[test]
    fn parts_come_from_file_names() {
        assert_eq!(
            part_of_file("03-relay-envelope.md"),
            ("3".into(), "Relay envelope".into())
        );
        assert_eq!(
            part_of_file("12-conformance.md"),
            ("12".into(), "Conformance".into())
        );
        assert_eq!(
            part_of_file("appendix-a-worked-example.md"),
            ("A".into(), "Worked example".into())
        );
    }
}
