//! Which roles each requirement applies to, for the coverage report (spec
//! §12.2: the report says which requirements of a role no case covers).
//! The envelope, transport and conformance requirements are listed one by
//! one; the endpoint chapters (§4–§9, §11) go by the subject of the
//! requirement's sentence. Some requirements cannot be seen from outside
//! an implementation; they are listed with the reason.

use crate::case::Role;
use crate::requirements::Requirement;

use Role::{Codec, Companion, Primary, Relay};

const CLIENTS: &[Role] = &[Companion, Primary];
const PARTIES: &[Role] = &[Relay, Companion, Primary];

/// Requirements with explicit roles.
const EXPLICIT: &[(&str, &[Role])] = &[
    ("ENC-08", &[Codec]),
    ("ENC-09", &[Codec, Relay, Companion, Primary]),
    ("ENC-10", &[Codec, Relay, Companion, Primary]),
    ("ENC-11", CLIENTS),
    ("ERR-01", CLIENTS),
    ("ERR-02", CLIENTS),
    ("TRN-01", CLIENTS),
    ("TRN-02", &[Relay]),
    ("TRN-03", PARTIES),
    ("TRN-04", PARTIES),
    ("TRN-05", &[Relay]),
    ("TRN-06", PARTIES),
    ("TRN-07", PARTIES),
    ("TRN-08", CLIENTS),
    ("TRN-09", CLIENTS),
    ("TRN-10", &[Relay]),
    ("TRN-11", &[Relay]),
    ("TRN-12", CLIENTS),
    ("ENV-01", &[Primary]),
    ("ENV-02", PARTIES),
    ("ENV-03", CLIENTS),
    ("ENV-04", CLIENTS),
    ("ENV-05", CLIENTS),
    ("ENV-06", CLIENTS),
    ("QR-01", &[Companion]),
    ("QR-02", &[Primary, Codec]),
    ("QR-03", &[Primary, Codec]),
    ("QR-04", &[Primary, Codec]),
    ("QR-05", &[Primary, Codec]),
    ("QR-06", &[Companion]),
    ("QR-07", &[Companion]),
    ("QR-08", &[Companion]),
    ("SEC-07", &[Relay]),
    ("SEC-08", PARTIES),
    ("SEC-09", PARTIES),
    ("SEC-10", CLIENTS),
    ("SEC-11", CLIENTS),
    ("SEC-12", PARTIES),
    ("SEC-13", CLIENTS),
    ("CONF-12", &[Relay]),
    ("CONF-13", &[Relay]),
    ("CONF-14", &[Codec]),
    ("VEC-01", &[Codec]),
    ("VEC-02", &[Codec]),
    ("VEC-03", &[Codec]),
    // Only a companion receives events (§7.4); an `Event` reaching a
    // primary is a wrong-role frame ([SESS-03]).
    ("SYNC-09", &[Companion]),
    // The subject is the companion whose person unlinks it (§9.4).
    ("DEV-08", &[Companion]),
    // "It" is the primary of step 1 of §4.5, which asks the person to
    // confirm; the companion's side is [PAIR-08].
    ("PAIR-06", &[Primary]),
    // Only a primary sends snapshots (§7.3) and applies sends (§7.6).
    ("SYNC-06", &[Primary]),
    ("SYNC-18", &[Primary]),
    // Only a primary receives transfer starts (UploadBegin,
    // DownloadRequest, §8.2, §8.3) in version 1.
    ("MEDIA-12", &[Primary]),
    // The id marks "the primary SHOULD do the same" of §5.4; the
    // companion's backoff is [RECON-08].
    ("RECON-09", &[Primary]),
];

/// Requirements that no black-box case can check, with the reason. They
/// are reported apart from the uncovered ones.
pub const NOT_TESTABLE: &[(&str, &str)] = &[
    (
        "CONF-01",
        "a requirement on the runner itself: its own tests check it",
    ),
    (
        "CONF-02",
        "a requirement on the runner itself: its own tests check it",
    ),
    (
        "CONF-03",
        "a requirement on the runner itself: its own tests check it",
    ),
    (
        "VEC-04",
        "needs a hook that fixes ephemeral keys, which no build for people has ([SEC-08])",
    ),
    (
        "SEC-06",
        "where a private key is stored is not visible on the wire",
    ),
    (
        "SEC-09",
        "constant-time comparison is not observable reliably from outside",
    ),
    (
        "SEC-10",
        "erasing secrets from memory is not visible on the wire",
    ),
    ("SEC-11", "internal handling of transport states"),
    (
        "SEC-12",
        "what an implementation writes to its logs is not on the wire",
    ),
    (
        "TRN-09",
        "the adapter gives the implementation a plain ws:// loopback relay ({relay_url}, §12.5.1), so there is no TLS handshake in which the runner could present a bad certificate; whether a build for people can turn verification off is not on the wire",
    ),
    (
        "SESS-07",
        "the Rekey is due only after 2^20 transport messages from the implementation on one link, far more than any case can make it send within its time limit",
    ),
    (
        "SEC-03",
        "which screen accepts a QR code is a matter of the user interface: the adapter's `link` is by definition the person scanning in the screen they opened to link a device (§12.5.3)",
    ),
    (
        "CONF-04",
        "whether the implementation behaves differently under the adapter than for people cannot be seen by a runner that only ever sees it under the adapter",
    ),
    (
        "SYNC-21",
        "DEDUP_RETENTION is 7 days on the implementation's own clock, which the runner never shortens (§12.5.7); a retry within a case only shows the exactly-once of [SYNC-18]",
    ),
    (
        "SYNC-25",
        "typing is only shown to the person, and the adapter protocol has no event for it (§12.5.4), so when a receiver stops showing `active` is not observable",
    ),
];

/// The roles a requirement applies to; empty for the runner's own.
pub fn roles_of(requirement: &Requirement) -> Vec<Role> {
    let id = requirement.id.as_str();
    if let Some((_, roles)) = EXPLICIT.iter().find(|(r, _)| *r == id) {
        return roles.to_vec();
    }
    let prefix = id.split('-').next().unwrap_or_default();
    match prefix {
        "ENC" => vec![Codec],
        "RLY" => vec![Relay],
        "CONF" => match id {
            "CONF-01" | "CONF-02" | "CONF-03" => Vec::new(),
            _ => CLIENTS.to_vec(),
        },
        _ => subject_roles(&requirement.text),
    }
}

/// Why a requirement cannot be checked from outside, if it cannot.
pub fn not_testable(id: &str) -> Option<&'static str> {
    NOT_TESTABLE
        .iter()
        .find(|(r, _)| *r == id)
        .map(|(_, why)| *why)
}

/// The roles named before the first keyword of the sentence: a companion,
/// a primary, both, or (for "an endpoint", "a receiver", "an
/// implementation" ...) both clients.
fn subject_roles(text: &str) -> Vec<Role> {
    let head_end = ["MUST", "SHOULD", "SHALL", "REQUIRED", "RECOMMENDED"]
        .iter()
        .filter_map(|k| text.find(k))
        .min()
        .unwrap_or(text.len());
    let head = text[..head_end].to_ascii_lowercase();
    let companion = head.contains("companion");
    let primary = head.contains("primary") || head.contains("phone");
    let relay = head.contains("relay") && !companion && !primary;
    match (companion, primary, relay) {
        (_, _, true) => vec![Relay],
        (true, false, _) => vec![Companion],
        (false, true, _) => vec![Primary],
        _ => CLIENTS.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec_index::SpecIndex;

    #[test]
    fn every_requirement_has_roles_unless_it_is_the_runners() {
        let index = SpecIndex::embedded().unwrap_or_else(|e| panic!("{e}"));
        for r in index.all() {
            let roles = roles_of(r);
            let runner = matches!(r.id.as_str(), "CONF-01" | "CONF-02" | "CONF-03");
            assert_eq!(roles.is_empty(), runner, "{}: {roles:?}", r.id);
        }
        for (id, _) in NOT_TESTABLE {
            assert!(index.get(id).is_some(), "{id} is not in the index");
        }
        for (id, _) in EXPLICIT {
            assert!(index.get(id).is_some(), "{id} is not in the index");
        }
    }

    #[test]
    fn subjects() {
        assert_eq!(
            subject_roles("A companion MUST x, and the primary does y."),
            [Companion]
        );
        assert_eq!(
            subject_roles("The primary MUST x for the companion."),
            [Primary]
        );
        assert_eq!(
            subject_roles("Both the companion and the primary MUST x."),
            [Companion, Primary]
        );
        assert_eq!(subject_roles("An endpoint MUST x."), [Companion, Primary]);
        assert_eq!(subject_roles("A relay SHOULD x."), [Relay]);
    }
}
