//! The verdict table of spec §12.7: what the runner makes of a codec
//! adapter's answer to one vector, and of its `encode` answer.

use serde_json::Value;
use tandem_codec::testing::canonical_qr_text;

use crate::case::{CaseResult, Failure};
use crate::codec::vectors::Vector;

/// A codec adapter's answer line, parsed.
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    /// `ok <JSON>`.
    Decoded(Value),
    /// `err <error_kind> <offset>`.
    Refused {
        /// The error kind.
        kind: String,
        /// The offset, when it parsed as a number.
        offset: Option<u64>,
    },
    /// `err not_implemented ...`.
    NotImplemented(String),
    /// Anything else: a violation of the adapter protocol.
    Malformed(String),
}

/// Parses an answer to a decode request (§12.7).
pub fn parse_answer(line: &str) -> Answer {
    if let Some(json) = line.strip_prefix("ok ") {
        return match serde_json::from_str::<Value>(json) {
            Ok(v) => Answer::Decoded(v),
            Err(e) => Answer::Malformed(format!("`ok` with JSON that does not parse ({e})")),
        };
    }
    if let Some(rest) = line.strip_prefix("err ") {
        let mut words = rest.splitn(2, ' ');
        let kind = words.next().unwrap_or_default().to_owned();
        let tail = words.next().unwrap_or_default();
        if kind == "not_implemented" {
            return Answer::NotImplemented(tail.to_owned());
        }
        return Answer::Refused {
            offset: tail.trim().parse().ok(),
            kind,
        };
    }
    Answer::Malformed("neither `ok <JSON>` nor `err <error_kind> <offset>`".to_owned())
}

/// Judges the answer to a vector's decode request.
pub fn judge_decode(v: &Vector, line: &str) -> CaseResult {
    let answer = parse_answer(line);
    if let Answer::NotImplemented(message) = &answer {
        return Err(Failure::not_implemented(
            format!("an answer to `{}`", v.decoder),
            format!("the adapter answered `err not_implemented {message}`"),
        ));
    }
    if let Answer::Malformed(why) = &answer {
        return Err(Failure::fail(
            "one answer line as §12.7 defines it [CONF-14]",
            format!("`{}`: {why}", shorten(line)),
        ));
    }
    if v.is_valid() {
        let want = v.decoded.clone().unwrap_or(Value::Null);
        let expected = format!("`ok {want}`");
        match answer {
            Answer::Decoded(got) if got == want => Ok(()),
            Answer::Decoded(got) => Err(Failure::fail(
                expected,
                format!(
                    "`ok {}` (the JSON differs{})",
                    shorten(&got.to_string()),
                    first_difference(&want, &got)
                ),
            )),
            _ => Err(Failure::fail(expected, format!("`{}`", shorten(line)))),
        }
    } else {
        let kind = v.error.clone().unwrap_or_default();
        let offset = v.offset.unwrap_or(0);
        let expected = format!("`err {kind} {offset}`");
        match answer {
            Answer::Refused {
                kind: k,
                offset: Some(o),
            } if k == kind && o == offset => Ok(()),
            Answer::Refused { kind: k, offset: o } if k == kind => Err(Failure::non_strict(
                format!("{expected} (the offset is a SHOULD, [VEC-03])"),
                format!(
                    "`err {k} {}`",
                    o.map_or("(no offset)".to_owned(), |o| o.to_string())
                ),
            )),
            _ => Err(Failure::fail(expected, format!("`{}`", shorten(line)))),
        }
    }
}

/// Judges the answer to `encode` of a valid vector: its `input` back (the
/// canonical text for `qr`, [VEC-01]). `Ok(false)` when the adapter said
/// `err not_implemented` for it.
pub fn judge_encode(v: &Vector, line: &str) -> Result<bool, Failure> {
    if line.starts_with("err not_implemented") {
        return Ok(false);
    }
    let want = if v.decoder == "qr" {
        canonical_qr_text(&v.input)
    } else {
        v.input.to_ascii_lowercase()
    };
    match line.strip_prefix("ok ") {
        Some(got) if v.decoder == "qr" && got == want => Ok(true),
        Some(got) if v.decoder != "qr" && got.to_ascii_lowercase() == want => Ok(true),
        _ => Err(Failure::fail(
            format!(
                "`ok {}`: `decoded` encodes back to the input [VEC-01]",
                shorten(&want)
            ),
            format!("`{}`", shorten(line)),
        )),
    }
}

/// The request line for a vector's decode.
pub fn decode_request(v: &Vector) -> String {
    format!("{} {}", v.decoder, v.input)
}

/// The request line for a valid vector's encode.
pub fn encode_request(v: &Vector) -> Option<String> {
    let decoded = v.decoded.as_ref()?;
    Some(format!("encode {} {decoded}", v.decoder))
}

/// A line cut to a readable length for "expected / actual".
pub fn shorten(s: &str) -> String {
    const MAX: usize = 300;
    if s.len() <= MAX {
        return s.to_owned();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &s[..end], s.len())
}

/// Where two JSON values first differ, as a JSON pointer.
fn first_difference(want: &Value, got: &Value) -> String {
    fn walk(a: &Value, b: &Value, path: &str) -> Option<String> {
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                for (k, va) in x {
                    match y.get(k) {
                        Some(vb) => {
                            if let Some(p) = walk(va, vb, &format!("{path}/{k}")) {
                                return Some(p);
                            }
                        }
                        None => return Some(format!("{path}/{k} is missing")),
                    }
                }
                y.keys()
                    .find(|k| !x.contains_key(*k))
                    .map(|k| format!("{path}/{k} is extra"))
            }
            (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
                .iter()
                .zip(y)
                .enumerate()
                .find_map(|(i, (va, vb))| walk(va, vb, &format!("{path}/{i}"))),
            _ if a == b => None,
            _ => Some(format!(
                "{} differs",
                if path.is_empty() { "/" } else { path }
            )),
        }
    }
    walk(want, got, "")
        .map(|p| format!(" at {p}"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vector(valid: bool) -> Vector {
        Vector {
            id: "envelope-ping-001".into(),
            comment: String::new(),
            decoder: "envelope".into(),
            input: "0f0000000000000007".into(),
            result: if valid { "valid" } else { "invalid" }.into(),
            decoded: valid.then(|| serde_json::json!({"type": "ping", "nonce": 7})),
            error: (!valid).then(|| "truncated".into()),
            offset: (!valid).then_some(1),
            wire_code: None,
            flags: Vec::new(),
            requirements: Vec::new(),
        }
    }

    #[test]
    fn the_table_of_section_12_7() {
        use crate::case::FailKind::*;
        let kind = |r: CaseResult| r.err().map(|f| f.kind);
        let valid = vector(true);
        assert_eq!(
            kind(judge_decode(&valid, r#"ok {"nonce":7,"type":"ping"}"#)),
            None
        );
        assert_eq!(
            kind(judge_decode(&valid, r#"ok {"nonce":8,"type":"ping"}"#)),
            Some(Fail)
        );
        assert_eq!(kind(judge_decode(&valid, "err truncated 1")), Some(Fail));
        assert_eq!(kind(judge_decode(&valid, "ok")), Some(Fail));
        assert_eq!(
            kind(judge_decode(&valid, "err not_implemented no")),
            Some(NotImplemented)
        );
        let invalid = vector(false);
        assert_eq!(kind(judge_decode(&invalid, "err truncated 1")), None);
        assert_eq!(
            kind(judge_decode(&invalid, "err truncated 2")),
            Some(NonStrict)
        );
        assert_eq!(
            kind(judge_decode(&invalid, "err truncated x")),
            Some(NonStrict)
        );
        assert_eq!(
            kind(judge_decode(&invalid, "err trailing_bytes 1")),
            Some(Fail)
        );
        assert_eq!(
            kind(judge_decode(&invalid, r#"ok {"type":"ping"}"#)),
            Some(Fail)
        );
    }

    #[test]
    fn differences_are_located() {
        let a = serde_json::json!({"type": "data", "link_id": 1, "x": [1, 2]});
        let b = serde_json::json!({"type": "data", "link_id": 2, "x": [1, 2]});
        assert_eq!(first_difference(&a, &b), " at /link_id differs");
        let c = serde_json::json!({"type": "data", "x": [1, 3]});
        assert_eq!(first_difference(&a, &c), " at /link_id is missing");
    }

    #[test]
    fn encode_answers() {
        let v = vector(true);
        assert_eq!(judge_encode(&v, "ok 0F0000000000000007").ok(), Some(true));
        assert_eq!(judge_encode(&v, "err not_implemented x").ok(), Some(false));
        assert!(judge_encode(&v, "ok 0f00").is_err());
        assert_eq!(
            encode_request(&v).as_deref(),
            Some(r#"encode envelope {"nonce":7,"type":"ping"}"#)
        );
    }
}
