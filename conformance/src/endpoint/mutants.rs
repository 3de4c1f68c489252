//! The mutants of the runner's self-test (issue 9): the reference
//! endpoints built with `--features faults` and started with `--fault
//! NAME`, each breaking one requirement on purpose
//! ([`tandem_proto::faults::Fault`] says which, and how). Each must fail
//! exactly the cases listed here among the cases it is run on
//! ([`Mutant::selection`]), and nothing else.

use tandem_proto::faults::{Fault, FaultRole};

use crate::case::Role;

/// One deliberately broken reference endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mutant {
    /// The fault switched on.
    pub fault: Fault,
    /// The ids of the cases it must fail, exactly these.
    pub cases: &'static [&'static str],
}

impl Mutant {
    /// The role of the endpoint it breaks.
    pub fn role(&self) -> Role {
        match self.fault.role() {
            FaultRole::Primary => Role::Primary,
            FaultRole::Companion => Role::Companion,
        }
    }

    /// The cases it runs: every case of its role in the chapters of the
    /// requirement it breaks and of the cases it must fail (`primary.SYNC-*`
    /// for a fault in §7), so that "exactly" is checked where a fault can
    /// show without running the whole suite for each mutant.
    pub fn selection(&self) -> Vec<String> {
        let mut prefixes: Vec<&str> = self
            .cases
            .iter()
            .filter_map(|id| id.split('.').nth(1))
            .chain(std::iter::once(self.fault.breaks()))
            .filter_map(|requirement| requirement.split('-').next())
            .collect();
        prefixes.sort_unstable();
        prefixes.dedup();
        prefixes
            .into_iter()
            .map(|prefix| format!("{}.{prefix}-*", self.role()))
            .collect()
    }
}

/// The cases each fault must fail, by the fault's name.
const EXPECTED: &[(&str, &[&str])] = &[
    ("store-link-before-confirm", &["primary.PAIR-11.1"]),
    ("ignore-companion-limit", &["primary.PAIR-10.1"]),
    ("serve-revoked-key", &["primary.RECON-05.2"]),
    ("refuse-unknown-key-without-close", &["primary.RECON-05.1"]),
    (
        "ignore-frame-before-resume",
        &[
            "primary.SESS-04.1",
            "primary.SESS-04.2",
            "primary.SESS-04.3",
        ],
    ),
    (
        "primary-ignores-decrypt-failure",
        &[
            "primary.SESS-02.1",
            "primary.SESS-09.1",
            "primary.SESS-09.2",
            "primary.SESS-09.3",
        ],
    ),
    ("discard-unknown-critical-frame", &["primary.ENC-09.2"]),
    ("close-on-unknown-ignorable-frame", &["primary.ENC-10.2"]),
    (
        "snapshot-instead-of-resume",
        &[
            "primary.MEDIA-04.2",
            "primary.MEDIA-05.1",
            "primary.MEDIA-05.2",
            "primary.MEDIA-07.7",
            "primary.SYNC-03.1",
            "primary.SYNC-03.2",
            "primary.SYNC-03.3",
            "primary.SYNC-10.1",
            "primary.SYNC-16.1",
            "primary.SYNC-16.2",
            "primary.SYNC-18.2",
            "primary.SYNC-18.3",
            "primary.SYNC-18.4",
            "primary.SYNC-18.5",
        ],
    ),
    (
        "resume-skips-an-event",
        &[
            "primary.SYNC-03.1",
            "primary.SYNC-03.3",
            "primary.SYNC-16.1",
            "primary.SYNC-16.2",
        ],
    ),
    ("resume-foreign-log", &["primary.SYNC-04.1"]),
    ("ignore-event-window", &["primary.SYNC-13.1"]),
    (
        "ignore-ack-range",
        &[
            "primary.SYNC-15.1",
            "primary.SYNC-15.2",
            "primary.SYNC-15.3",
        ],
    ),
    (
        "apply-retried-send-twice",
        &[
            "primary.SYNC-18.1",
            "primary.SYNC-18.2",
            "primary.SYNC-18.3",
            "primary.SYNC-18.4",
            "primary.SYNC-18.5",
            "primary.SYNC-20.2",
        ],
    ),
    (
        "retried-send-ack-names-head",
        &[
            "primary.SYNC-18.1",
            "primary.SYNC-18.2",
            "primary.SYNC-18.3",
            "primary.SYNC-18.4",
        ],
    ),
    (
        "history-never-has-more",
        &["primary.SYNC-22.1", "primary.SYNC-22.2"],
    ),
    ("history-unknown-chat-empty-page", &["primary.SYNC-23.1"]),
    (
        "mark-read-skips-sender",
        &[
            "primary.SYNC-08.1",
            "primary.SYNC-13.1",
            "primary.SYNC-24.1",
            "primary.SYNC-24.2",
        ],
    ),
    (
        "skip-upload-hash-check",
        &["primary.MEDIA-06.2", "primary.MEDIA-06.3"],
    ),
    (
        "ignore-download-credit",
        &["primary.MEDIA-09.1", "primary.MEDIA-10.3"],
    ),
    (
        "accept-excess-download-credit",
        &["primary.MEDIA-10.2", "primary.MEDIA-10.3"],
    ),
    (
        "linked-before-pairing-complete",
        &[
            "companion.PAIR-08.2",
            "companion.PAIR-09.1",
            "companion.PAIR-09.2",
            "companion.PAIR-09.3",
            "companion.PAIR-10.1",
            "companion.PAIR-11.4",
        ],
    ),
    (
        "ignore-frame-before-pairing-complete",
        &[
            "companion.PAIR-09.1",
            "companion.PAIR-09.2",
            "companion.PAIR-09.3",
        ],
    ),
    ("wipe-on-relay-signal", &["companion.RECON-07.1"]),
    (
        "ignore-frame-before-resume-answer",
        &["companion.SESS-04.1", "companion.SESS-04.2"],
    ),
    (
        "companion-ignores-decrypt-failure",
        &[
            "companion.SESS-02.1",
            "companion.SESS-02.2",
            "companion.SESS-09.1",
            "companion.SESS-09.2",
            "companion.SESS-09.3",
        ],
    ),
    ("reject-unknown-body-kind", &["companion.SYNC-02.1"]),
    ("keep-cache-on-snapshot", &["companion.SYNC-05.2"]),
    ("close-on-unknown-event-kind", &["companion.SYNC-09.1"]),
    (
        "ignore-event-gap",
        &[
            "companion.SYNC-12.1",
            "companion.SYNC-12.2",
            "companion.SYNC-12.3",
        ],
    ),
    (
        "never-acknowledge",
        &[
            "companion.SYNC-01.1",
            "companion.SYNC-01.2",
            "companion.SYNC-02.1",
            "companion.SYNC-05.1",
            "companion.SYNC-05.cut-0",
            "companion.SYNC-05.cut-1",
            "companion.SYNC-05.cut-2",
            "companion.SYNC-05.cut-3",
            "companion.SYNC-05.cut-4",
            "companion.SYNC-05.cut-5",
            "companion.SYNC-05.cut-6",
            "companion.SYNC-05.cut-7",
            "companion.SYNC-05.cut-8",
            "companion.SYNC-05.2",
            "companion.SYNC-08.1",
            "companion.SYNC-09.1",
            "companion.SYNC-12.1",
            "companion.SYNC-12.2",
            "companion.SYNC-12.3",
            "companion.SYNC-19.1",
            "companion.SYNC-19.2",
            "companion.SYNC-19.3",
            "companion.SYNC-19.4",
            "companion.SYNC-20.1",
            "companion.SYNC-22.1",
            "companion.SYNC-22.2",
        ],
    ),
    (
        "no-resend-after-resume",
        &[
            "companion.SYNC-19.1",
            "companion.SYNC-19.2",
            "companion.SYNC-19.3",
            "companion.SYNC-19.4",
        ],
    ),
    (
        "resend-with-new-client-id",
        &[
            "companion.SYNC-19.1",
            "companion.SYNC-19.2",
            "companion.SYNC-19.3",
            "companion.SYNC-19.4",
        ],
    ),
    ("accept-excess-upload-credit", &["companion.MEDIA-10.1"]),
];

/// Every mutant, in the order of [`Fault::ALL`].
pub fn all() -> Vec<Mutant> {
    Fault::ALL
        .iter()
        .map(|&fault| Mutant {
            fault,
            cases: EXPECTED
                .iter()
                .find(|(name, _)| *name == fault.name())
                .map_or(&[], |(_, cases)| *cases),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fault_switch_has_an_entry_and_every_entry_a_switch() {
        for fault in Fault::ALL {
            assert!(
                EXPECTED.iter().any(|(name, _)| *name == fault.name()),
                "{} has no entry",
                fault.name()
            );
        }
        for (name, _) in EXPECTED {
            assert!(Fault::from_name(name).is_some(), "no fault {name}");
        }
        assert!(
            Fault::ALL.len() >= 20,
            "issue 9 asks for at least 20 mutants"
        );
    }

    #[test]
    fn a_mutant_runs_the_chapters_of_its_cases_and_of_the_rule_it_breaks() {
        let fault = Fault::from_name("apply-retried-send-twice");
        let mutant = Mutant {
            fault: fault.unwrap_or(Fault::ALL[0]),
            cases: &["primary.SYNC-18.1", "primary.MEDIA-03.1"],
        };
        assert_eq!(mutant.selection(), ["primary.MEDIA-*", "primary.SYNC-*"]);
    }
}
