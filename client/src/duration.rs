//! Durations on the command lines of `tandem-phone` and `tandem-web`
//! (`30s`, `500ms`, `2m`, a bare number of seconds), for the timers and
//! waits they let people set (spec §10.3 lists the defaults).

use std::time::Duration;

/// Parses `30s`, `500ms`, `2m` or a bare number of seconds (`0`, `3`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let value: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 30s or 500ms"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(value)),
        "s" => Ok(Duration::from_secs(value)),
        "m" => Ok(Duration::from_secs(value.saturating_mul(60))),
        _ => Err(format!("{text:?}: use ms, s or m")),
    }
}
