//! How the phone shows things to people: device ids in four groups of four
//! (spec §9.2), names as plain text with control and bidirectional
//! formatting characters made visible ([DEV-03]), and UTC times.

use tandem_proto::PublicKey;

/// The device id of a companion key: `300c 9c96 03b9 2a4b` (spec §9.2).
pub fn device_id(key: &PublicKey) -> String {
    let hex = key.fingerprint();
    let groups: Vec<&str> = hex
        .as_bytes()
        .chunks(4)
        .filter_map(|chunk| std::str::from_utf8(chunk).ok())
        .collect();
    groups.join(" ")
}

/// A device id as typed by a person: spaces and dashes dropped, lower case.
pub fn normalize_device_id(input: &str) -> String {
    input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

/// [DEV-03] A name chosen by a companion, as plain text: control characters
/// and bidirectional formatting characters are shown as `\u{..}` escapes.
pub fn plain(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        let bidi = matches!(
            c,
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        );
        if c.is_control() || bidi {
            out.push_str(&format!("\\u{{{:04x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

/// Unix milliseconds as `2026-11-25 16:48:03 UTC`; `never` for 0.
pub fn utc(ms: u64) -> String {
    if ms == 0 {
        return "never".into();
    }
    let secs = ms / 1000;
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's
/// algorithm).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_id_matches_the_spec_example() {
        let key = hex::decode("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
            .unwrap();
        let key = PublicKey(key.try_into().unwrap());
        assert_eq!(device_id(&key), "300c 9c96 03b9 2a4b");
        assert_eq!(
            normalize_device_id("300C 9c96-03b9 2a4b"),
            key.fingerprint()
        );
    }

    #[test]
    fn names_are_plain_text() {
        assert_eq!(plain("Firefox"), "Firefox");
        assert_eq!(plain("evil\u{202E}gpj.exe"), "evil\\u{202e}gpj.exe");
        assert_eq!(
            plain("two\nlines\x1b[31m"),
            "two\\u{000a}lines\\u{001b}[31m"
        );
    }

    #[test]
    fn times_are_utc_dates() {
        assert_eq!(utc(0), "never");
        assert_eq!(utc(1_000), "1970-01-01 00:00:01 UTC");
        assert_eq!(utc(1_764_089_283_000), "2025-11-25 16:48:03 UTC");
        assert_eq!(utc(951_782_400_000), "2000-02-29 00:00:00 UTC");
    }
}
