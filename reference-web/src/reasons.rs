//! What the person is told for each code (spec §9.5, [DEV-09], [ERR-01]):
//! the reasons a companion stops being linked or a pairing fails, and any
//! other code by its number and name.

use tandem_codec::Code;

/// `4102 device_revoked`, or the bare number for a code this version does
/// not know ([ERR-01]).
pub fn code_text(code: Code) -> String {
    match code.name() {
        Some(name) => format!("{} {name}", code.0),
        None => format!("code {}", code.0),
    }
}

/// Why this companion is no longer linked (§9.5's table).
pub fn wiped(code: Code) -> String {
    let why = match code {
        Code::DEVICE_REVOKED => "This device was removed from the phone's linked devices.",
        Code::UNKNOWN_DEVICE => {
            "The phone no longer knows this device (for example its data was reset)."
        }
        Code::UNLINKED => "You logged out; this device holds no account data any more.",
        other => return format!("This device is no longer linked ({}).", code_text(other)),
    };
    format!("{why} ({})", code_text(code))
}

/// Why a pairing ended without a link (§9.5's table, [QR-08]).
pub fn pairing_failure(code: Code, reason: &str) -> String {
    let why = match code {
        Code::DEVICE_LIMIT => {
            "The phone already has its maximum of linked devices; remove one there first."
        }
        Code::PAIRING_REJECTED => "The link was declined on the phone.",
        Code::CHANNEL_EXPIRED => "Pairing timed out: no phone scanned the codes in time.",
        Code::HANDSHAKE_TIMEOUT => "The phone did not finish linking in time.",
        Code::HANDSHAKE_FAILED => "The phone's answer did not check out (wrong code or tampering).",
        _ => return format!("{reason} ({})", code_text(code)),
    };
    format!("{why} ({}: {reason})", code_text(code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_of_the_table_names_its_code() {
        assert!(wiped(Code::DEVICE_REVOKED).contains("removed"));
        assert!(wiped(Code::DEVICE_REVOKED).contains("4102 device_revoked"));
        assert!(wiped(Code::UNLINKED).contains("logged out"));
        assert!(pairing_failure(Code::PAIRING_REJECTED, "x").contains("declined"));
        assert!(pairing_failure(Code::DEVICE_LIMIT, "x").contains("maximum"));
        assert_eq!(code_text(Code(4999)), "code 4999");
    }
}
