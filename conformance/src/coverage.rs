//! Requirement coverage (spec §12.2): for each role, which of its MUST and
//! SHOULD requirements no case checks, and which cannot be checked from
//! outside at all.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::case::{CaseMeta, Role};
use crate::requirements::Level;
use crate::roles::{not_testable, roles_of};
use crate::spec_index::SpecIndex;

/// A requirement no case can check, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Untestable {
    /// The requirement id.
    pub id: String,
    /// Why.
    pub reason: String,
}

/// The coverage of one role's requirements by the cases the runner has.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleCoverage {
    /// The role.
    pub role: Role,
    /// Whether this run tested the role.
    pub tested: bool,
    /// How many MUST requirements apply to the role (untestable ones
    /// included).
    pub must_total: usize,
    /// How many of them some case checks.
    pub must_covered: usize,
    /// The testable MUST requirements that no case checks.
    pub must_uncovered: Vec<String>,
    /// How many SHOULD requirements apply to the role.
    pub should_total: usize,
    /// How many of them some case checks.
    pub should_covered: usize,
    /// The testable SHOULD requirements that no case checks.
    pub should_uncovered: Vec<String>,
    /// Requirements of the role that no black-box case can check.
    pub not_testable: Vec<Untestable>,
}

/// The coverage of every role by `cases` (all the runner's cases, not only
/// the selected ones); `tested` lists the roles this run tested.
pub fn coverage(index: &SpecIndex, cases: &[CaseMeta], tested: &[Role]) -> Vec<RoleCoverage> {
    Role::ALL
        .into_iter()
        .map(|role| {
            let covered: BTreeSet<&str> = cases
                .iter()
                .filter(|c| c.role == role)
                .flat_map(|c| c.requirements.iter().map(String::as_str))
                .collect();
            let mut cov = RoleCoverage {
                role,
                tested: tested.contains(&role),
                must_total: 0,
                must_covered: 0,
                must_uncovered: Vec::new(),
                should_total: 0,
                should_covered: 0,
                should_uncovered: Vec::new(),
                not_testable: Vec::new(),
            };
            for r in index.all().iter().filter(|r| roles_of(r).contains(&role)) {
                let is_covered = covered.contains(r.id.as_str());
                let (total, count, uncovered) = match r.level {
                    Level::Must => (
                        &mut cov.must_total,
                        &mut cov.must_covered,
                        &mut cov.must_uncovered,
                    ),
                    Level::Should => (
                        &mut cov.should_total,
                        &mut cov.should_covered,
                        &mut cov.should_uncovered,
                    ),
                };
                *total += 1;
                if is_covered {
                    *count += 1;
                } else if let Some(reason) = not_testable(&r.id) {
                    cov.not_testable.push(Untestable {
                        id: r.id.clone(),
                        reason: reason.to_owned(),
                    });
                } else {
                    uncovered.push(r.id.clone());
                }
            }
            cov
        })
        .collect()
}
