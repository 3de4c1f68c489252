//! Deliberate bugs for the conformance runner's self-test (issue 9): each
//! [`Fault`] breaks one requirement in the place a machine enforces it. Only
//! the `faults` feature can switch one on; without it [`Faults::has`] is a
//! constant `false` and every check compiles away.

use std::fmt;

/// Which machine a fault lives in.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FaultRole {
    /// The primary ([`crate::primary::Primary`]).
    Primary,
    /// The companion ([`crate::companion::Companion`] and its pairing).
    Companion,
}

impl FaultRole {
    /// `primary` or `companion`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Primary => "primary",
            Self::Companion => "companion",
        }
    }
}

impl fmt::Display for FaultRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! faults {
    ($($variant:ident = ($name:literal, $role:ident, $req:literal, $desc:literal),)*) => {
        /// One deliberate bug; its documentation names the requirement it
        /// breaks.
        #[doc(hidden)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Fault {
            $(
                #[doc = concat!("Breaks [", $req, "] (", stringify!($role), "): ", $desc)]
                $variant,
            )*
        }

        impl Fault {
            /// Every fault, primary ones first.
            pub const ALL: &'static [Fault] = &[$(Fault::$variant),*];

            /// The kebab-case name the adapters' `--fault` option takes.
            pub fn name(self) -> &'static str {
                match self {
                    $(Fault::$variant => $name,)*
                }
            }

            /// The machine the fault lives in.
            pub fn role(self) -> FaultRole {
                match self {
                    $(Fault::$variant => FaultRole::$role,)*
                }
            }

            /// The requirement id it breaks, as `SYNC-18`.
            pub fn breaks(self) -> &'static str {
                match self {
                    $(Fault::$variant => $req,)*
                }
            }

            /// What the broken machine does, in one line.
            pub fn description(self) -> &'static str {
                match self {
                    $(Fault::$variant => $desc,)*
                }
            }
        }
    };
}

faults! {
    // The primary.
    StoreLinkBeforeConfirm = ("store-link-before-confirm", Primary, "PAIR-06",
        "stores the companion as linked when the pairing handshake completes, before the person confirms; a declined link stays linked"),
    IgnoreCompanionLimit = ("ignore-companion-limit", Primary, "PAIR-10",
        "pairs beyond MAX_COMPANIONS: no local refusal, no Close(device_limit)"),
    ServeRevokedKey = ("serve-revoked-key", Primary, "RECON-05",
        "serves a revoked key as if it were linked instead of answering Close(device_revoked)"),
    RefuseUnknownKeyWithoutClose = ("refuse-unknown-key-without-close", Primary, "RECON-05",
        "answers an unknown key with message 2 and then only LinkClosed(unknown_device), without the authenticated Close"),
    IgnoreFrameBeforeResume = ("ignore-frame-before-resume", Primary, "SESS-04",
        "discards a frame other than Resume, Close, Error or Rekey before Resume instead of closing with unexpected_session_frame"),
    PrimaryIgnoresDecryptFailure = ("primary-ignores-decrypt-failure", Primary, "SESS-09",
        "drops a transport message that fails to decrypt and keeps the session"),
    DiscardUnknownCriticalFrame = ("discard-unknown-critical-frame", Primary, "ENC-09",
        "discards an inner frame of an unknown critical type (0x00-0x7F) instead of closing with malformed_session_frame"),
    CloseOnUnknownIgnorableFrame = ("close-on-unknown-ignorable-frame", Primary, "ENC-10",
        "closes with malformed_session_frame on an inner frame of an unknown ignorable type (0x80-0xFF)"),
    SnapshotInsteadOfResume = ("snapshot-instead-of-resume", Primary, "SYNC-03",
        "answers every Resume with a snapshot, even one it could accept"),
    ResumeSkipsAnEvent = ("resume-skips-an-event", Primary, "SYNC-03",
        "after ResumeAccepted, replays from seq + 2: the first missed event is never sent"),
    ResumeForeignLog = ("resume-foreign-log", Primary, "SYNC-04",
        "accepts a Resume naming any non-zero log id, not only its own, instead of sending a snapshot"),
    IgnoreEventWindow = ("ignore-event-window", Primary, "SYNC-13",
        "sends every event at once, however many are unacknowledged (no EVENT_WINDOW)"),
    IgnoreAckRange = ("ignore-ack-range", Primary, "SYNC-15",
        "accepts an Ack for a seq it never sent, or lower than a previous Ack, instead of closing with ack_out_of_range"),
    ApplyRetriedSendTwice = ("apply-retried-send-twice", Primary, "SYNC-18",
        "forgets client ids: a retried Send is applied again as a new message"),
    RetriedSendAckNamesHead = ("retried-send-ack-names-head", Primary, "SYNC-18",
        "answers a retried Send with a SendAck naming the current head instead of the seq the first answer named"),
    HistoryNeverHasMore = ("history-never-has-more", Primary, "SYNC-22",
        "sets has_more to false in every history page, even when older messages exist"),
    HistoryUnknownChatEmptyPage = ("history-unknown-chat-empty-page", Primary, "SYNC-23",
        "answers a HistoryRequest for an unknown chat with an empty page instead of Error(unknown_chat)"),
    MarkReadSkipsSender = ("mark-read-skips-sender", Primary, "SYNC-24",
        "does not send the ChatRead and ChatUpdated events of a MarkRead to the companion that sent it"),
    SkipUploadHashCheck = ("skip-upload-hash-check", Primary, "MEDIA-06",
        "keeps an upload whose SHA-256 does not match its media id and answers UploadDone"),
    IgnoreDownloadCredit = ("ignore-download-credit", Primary, "MEDIA-09",
        "sends download chunks without credit: the whole range at once"),
    AcceptExcessDownloadCredit = ("accept-excess-download-credit", Primary, "MEDIA-10",
        "accepts download credit above MAX_CREDIT instead of closing with credit_exceeded"),
    // The companion.
    LinkedBeforePairingComplete = ("linked-before-pairing-complete", Companion, "PAIR-08",
        "stores the primary key and reports itself linked as soon as the pairing handshake completes, without PairingComplete"),
    IgnoreFrameBeforePairingComplete = ("ignore-frame-before-pairing-complete", Companion, "PAIR-09",
        "ignores a first pairing-session frame other than PairingComplete or Close and waits on, instead of closing"),
    WipeOnRelaySignal = ("wipe-on-relay-signal", Companion, "RECON-07",
        "wipes itself on an unauthenticated LinkClosed or relay Error carrying device_revoked or unknown_device"),
    IgnoreFrameBeforeResumeAnswer = ("ignore-frame-before-resume-answer", Companion, "SESS-04",
        "discards a frame that comes before ResumeAccepted or SnapshotBegin instead of closing with unexpected_session_frame"),
    CompanionIgnoresDecryptFailure = ("companion-ignores-decrypt-failure", Companion, "SESS-09",
        "drops a transport message that fails to decrypt and keeps the session"),
    RejectUnknownBodyKind = ("reject-unknown-body-kind", Companion, "SYNC-02",
        "closes the session with malformed_session_frame on a message whose body kind it does not know"),
    KeepCacheOnSnapshot = ("keep-cache-on-snapshot", Companion, "SYNC-05",
        "keeps its old chats, contacts and messages when a SnapshotBegin arrives and merges the snapshot into them"),
    CloseOnUnknownEventKind = ("close-on-unknown-event-kind", Companion, "SYNC-09",
        "closes the session with malformed_session_frame on an event of an unknown kind instead of acknowledging it"),
    IgnoreEventGap = ("ignore-event-gap", Companion, "SYNC-12",
        "applies an event whose seq is not one more than the last instead of closing with unexpected_session_frame"),
    NeverAcknowledge = ("never-acknowledge", Companion, "SYNC-14",
        "never sends Ack"),
    NoResendAfterResume = ("no-resend-after-resume", Companion, "SYNC-19",
        "does not send unanswered sends again after a resume (they stay queued)"),
    ResendWithNewClientId = ("resend-with-new-client-id", Companion, "SYNC-19",
        "sends unanswered sends again after a resume under new client ids"),
    AcceptExcessUploadCredit = ("accept-excess-upload-credit", Companion, "MEDIA-10",
        "accepts upload credit above MAX_CREDIT instead of closing with credit_exceeded"),
}

const _: () = assert!(Fault::ALL.len() <= 64, "Faults is a u64 bit set");

impl Fault {
    /// The fault with this name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|f| f.name() == name)
    }

    /// The fault with this name, if it belongs to `role`; otherwise a
    /// message for people that lists the names `role` accepts.
    pub fn for_role(name: &str, role: FaultRole) -> Result<Self, String> {
        let known = || {
            Self::ALL
                .iter()
                .filter(|f| f.role() == role)
                .map(|f| f.name())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match Self::from_name(name) {
            Some(fault) if fault.role() == role => Ok(fault),
            Some(fault) => Err(format!(
                "`{name}` is a {} fault; this {role} takes: {}",
                fault.role(),
                known()
            )),
            None => Err(format!(
                "unknown fault `{name}`; the {role} faults are: {}",
                known()
            )),
        }
    }

    #[cfg(feature = "faults")]
    fn bit(self) -> u64 {
        1 << (self as u32)
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of faults; empty by default, and always empty without the
/// `faults` feature.
#[doc(hidden)]
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct Faults {
    #[cfg(feature = "faults")]
    bits: u64,
}

impl Faults {
    /// Whether `fault` is switched on: a constant `false` without the
    /// `faults` feature.
    #[inline]
    pub fn has(self, fault: Fault) -> bool {
        #[cfg(feature = "faults")]
        {
            self.bits & fault.bit() != 0
        }
        #[cfg(not(feature = "faults"))]
        {
            let _ = fault;
            false
        }
    }

    /// Whether no fault is on.
    pub fn is_empty(self) -> bool {
        !Fault::ALL.iter().any(|&f| self.has(f))
    }

    /// The faults that are on.
    pub fn iter(self) -> impl Iterator<Item = Fault> {
        Fault::ALL.iter().copied().filter(move |&f| self.has(f))
    }

    /// Switches `fault` on.
    #[cfg(feature = "faults")]
    pub fn insert(&mut self, fault: Fault) {
        self.bits |= fault.bit();
    }

    /// This set with `fault` on.
    #[cfg(feature = "faults")]
    #[must_use]
    pub fn with(mut self, fault: Fault) -> Self {
        self.insert(fault);
        self
    }
}

#[cfg(feature = "faults")]
impl FromIterator<Fault> for Faults {
    fn from_iter<I: IntoIterator<Item = Fault>>(iter: I) -> Self {
        let mut faults = Self::default();
        for fault in iter {
            faults.insert(fault);
        }
        faults
    }
}

impl fmt::Debug for Faults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter().map(Fault::name)).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_kebab_case_and_round_trip() {
        for (i, fault) in Fault::ALL.iter().enumerate() {
            assert_eq!(Fault::from_name(fault.name()), Some(*fault));
            assert!(
                fault
                    .name()
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'-')
            );
            assert!(!Fault::ALL[..i].iter().any(|f| f.name() == fault.name()));
            let (chapter, number) = fault.breaks().split_once('-').unwrap_or_default();
            assert!(!chapter.is_empty() && number.parse::<u32>().is_ok());
        }
        assert_eq!(Fault::from_name("no-such-fault"), None);
    }

    #[test]
    fn each_role_has_about_half_the_faults() {
        let primary = Fault::ALL
            .iter()
            .filter(|f| f.role() == FaultRole::Primary)
            .count();
        let companion = Fault::ALL.len() - primary;
        assert!(primary >= 11 && companion >= 11, "{primary} / {companion}");
    }

    #[test]
    fn a_fault_of_the_other_role_is_refused_by_name() {
        let err = Fault::for_role("never-acknowledge", FaultRole::Primary).unwrap_err();
        assert!(err.contains("companion fault"), "{err}");
        let err = Fault::for_role("nope", FaultRole::Companion).unwrap_err();
        assert!(err.contains("never-acknowledge"), "{err}");
        assert_eq!(
            Fault::for_role("ignore-ack-range", FaultRole::Primary),
            Ok(Fault::IgnoreAckRange)
        );
    }

    #[test]
    fn without_the_feature_nothing_is_ever_on() {
        let faults = Faults::default();
        assert!(faults.is_empty());
        assert!(Fault::ALL.iter().all(|&f| !faults.has(f)));
    }

    #[cfg(feature = "faults")]
    #[test]
    fn the_set_holds_what_was_inserted() {
        let faults: Faults = [Fault::IgnoreAckRange, Fault::NeverAcknowledge]
            .into_iter()
            .collect();
        assert!(faults.has(Fault::IgnoreAckRange) && faults.has(Fault::NeverAcknowledge));
        assert!(!faults.has(Fault::ServeRevokedKey));
        assert_eq!(faults.iter().count(), 2);
        assert_eq!(
            format!("{faults:?}"),
            r#"{"ignore-ack-range", "never-acknowledge"}"#
        );
    }
}
