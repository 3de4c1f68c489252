//! The reference codec adapter (spec §12.7, [CONF-14]) on top of
//! `tandem-codec`: one request per line on standard input, one answer per
//! line on standard output. `tandem-conformance codec-adapter` runs it; a
//! [`CodecMutant`] makes it break one rule on purpose for the self-test.

use std::io::{self, BufRead, Write};

use bytes::Bytes;
use serde_json::Value;
use tandem_codec::envelope::EnvelopeFrame;
use tandem_codec::handshake::{Hello, PairAccept, PairInit};
use tandem_codec::qr::QrPayload;
use tandem_codec::session::InnerFrame;
use tandem_codec::{DecodeError, ErrorKind};

use crate::adapter::lines::{Line, MAX_LINE, read_line_blocking};
use crate::codec::mutants::CodecMutant;

/// The answer to `capabilities`.
pub const CAPABILITIES: &str = "ok adapter/1 codec decode encode";

/// The exit status that declares a role or feature not implemented
/// ([CONF-11]).
pub const EXIT_NOT_IMPLEMENTED: i32 = 3;

/// The decoders of §12.7 besides `qr`.
pub const BINARY_DECODERS: [&str; 5] = ["envelope", "session", "pair_init", "pair_accept", "hello"];

/// What the adapter does with one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// Writes this line.
    Line(String),
    /// Exits with this status without answering.
    Exit(i32),
    /// Writes nothing (a mutant that hangs).
    Silence,
}

/// Serves requests from `input` until it ends; returns the exit status.
pub fn serve(
    mut input: impl BufRead,
    mut output: impl Write,
    mutant: Option<CodecMutant>,
) -> io::Result<i32> {
    match mutant {
        Some(CodecMutant::ExitNotImplemented) => return Ok(EXIT_NOT_IMPLEMENTED),
        Some(CodecMutant::ExitFailure) => return Ok(1),
        _ => {}
    }
    while let Some(line) = read_line_blocking(&mut input, MAX_LINE)? {
        let reply = match line {
            Line::Text(text) => answer(&text, mutant),
            Line::TooLong(n) => Reply::Line(format!("err bad_request the line is {n} bytes long")),
            Line::NotUtf8(_) => Reply::Line("err bad_request the line is not UTF-8".into()),
        };
        match reply {
            Reply::Line(line) => {
                output.write_all(line.as_bytes())?;
                output.write_all(b"\n")?;
                output.flush()?;
            }
            Reply::Exit(status) => return Ok(status),
            Reply::Silence => {}
        }
    }
    Ok(0)
}

/// The reply to one request line.
pub fn answer(line: &str, mutant: Option<CodecMutant>) -> Reply {
    let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
    match verb {
        "capabilities" => Reply::Line(CAPABILITIES.into()),
        "encode" => Reply::Line(encode_request(rest, mutant)),
        "qr" => decode_request("qr", rest, mutant),
        d if BINARY_DECODERS.contains(&d) => {
            if !line.contains(' ') {
                return Reply::Line(format!(
                    "err bad_request `{d}` needs one space and the hex input"
                ));
            }
            decode_request(d, rest, mutant)
        }
        other => Reply::Line(format!("err not_implemented unknown request `{other}`")),
    }
}

fn decode_request(decoder: &str, input: &str, mutant: Option<CodecMutant>) -> Reply {
    if input.is_empty() && mutant == Some(CodecMutant::HangOnEmpty) {
        return Reply::Silence;
    }
    if decoder == "session" && mutant == Some(CodecMutant::NoSessionDecoder) {
        return Reply::Line("err not_implemented this adapter has no session decoder".into());
    }
    let bytes = if decoder == "qr" {
        input.as_bytes().to_vec()
    } else {
        match hex::decode(input) {
            Ok(bytes) => bytes,
            Err(e) => return Reply::Line(format!("err bad_request the input is not hex: {e}")),
        }
    };
    if decoder == "qr"
        && mutant == Some(CodecMutant::CaseSensitivePrefix)
        && crate::codec::mutants::lower_case_prefix(input)
    {
        return Reply::Line("err invalid_prefix 0".into());
    }
    let result = match mutant {
        Some(m) => decode_mutated(decoder, &bytes, m),
        None => decode(decoder, &bytes),
    };
    match result {
        Ok(json) => Reply::Line(format!("ok {json}")),
        Err(e)
            if e.kind == ErrorKind::LengthExceedsLimit
                && mutant == Some(CodecMutant::CrashOnLimit) =>
        {
            Reply::Exit(101)
        }
        Err(e) => {
            let kind = if mutant == Some(CodecMutant::TruncatedAsLength)
                && e.kind == ErrorKind::Truncated
            {
                ErrorKind::LengthExceedsLimit
            } else {
                e.kind
            };
            let offset = if mutant == Some(CodecMutant::WrongOffset) {
                e.offset + 1
            } else {
                e.offset
            };
            Reply::Line(format!("err {kind} {offset}"))
        }
    }
}

/// Decodes `bytes` (the QR text's bytes for `qr`) with the named decoder
/// into its §13.2 JSON form, on one line.
pub fn decode(decoder: &str, bytes: &[u8]) -> Result<String, DecodeError> {
    let value = decode_value(decoder, bytes)?;
    Ok(value.to_string())
}

fn decode_value(decoder: &str, bytes: &[u8]) -> Result<Value, DecodeError> {
    let json = |r: Result<Value, serde_json::Error>| {
        r.unwrap_or_else(|e| Value::String(format!("unserializable: {e}")))
    };
    Ok(match decoder {
        "envelope" => json(serde_json::to_value(EnvelopeFrame::decode(
            &Bytes::copy_from_slice(bytes),
        )?)),
        "session" => json(serde_json::to_value(InnerFrame::decode(
            &Bytes::copy_from_slice(bytes),
        )?)),
        "pair_init" => json(serde_json::to_value(PairInit::decode(bytes)?)),
        "pair_accept" => json(serde_json::to_value(PairAccept::decode(bytes)?)),
        "hello" => json(serde_json::to_value(Hello::decode(bytes)?)),
        _ => {
            let text = String::from_utf8_lossy(bytes);
            json(serde_json::to_value(QrPayload::from_text(&text)?))
        }
    })
}

/// The decoders of the mutants that change what decodes.
fn decode_mutated(decoder: &str, bytes: &[u8], mutant: CodecMutant) -> Result<String, DecodeError> {
    let error = match decode(decoder, bytes) {
        Ok(json) => return Ok(json),
        Err(e) => e,
    };
    match (mutant, error.kind) {
        (CodecMutant::AcceptTrailingBytes, ErrorKind::TrailingBytes) if decoder != "qr" => {
            decode(decoder, bytes.get(..error.offset).unwrap_or(bytes))
        }
        (CodecMutant::AcceptBadBool, ErrorKind::InvalidBool) => {
            let mut fixed = bytes.to_vec();
            if let Some(b) = fixed.get_mut(error.offset) {
                *b = 1;
            }
            decode(decoder, &fixed)
        }
        (CodecMutant::IgnoreUnknownCritical, ErrorKind::UnknownFrameType) => {
            let frame_type = bytes.first().copied().unwrap_or(0);
            let body = hex::encode(bytes.get(1..).unwrap_or_default());
            Ok(
                serde_json::json!({"type": "unknown", "frame_type": frame_type, "body": body})
                    .to_string(),
            )
        }
        _ => Err(error),
    }
}

fn encode_request(rest: &str, mutant: Option<CodecMutant>) -> String {
    let Some((decoder, json)) = rest.split_once(' ') else {
        return "err bad_request `encode` needs a decoder and a JSON value".into();
    };
    let value: Value = match serde_json::from_str(json) {
        Ok(v) => v,
        Err(e) => return format!("err bad_request the JSON does not parse: {e}"),
    };
    match encode(decoder, value) {
        Ok(mut out) => {
            if mutant == Some(CodecMutant::EncodeDropsLastByte) {
                let keep = if decoder == "qr" {
                    out.len().saturating_sub(1)
                } else {
                    out.len().saturating_sub(2)
                };
                out.truncate(keep);
            }
            format!("ok {out}")
        }
        Err(e) => e,
    }
}

/// Encodes a §13.2 JSON value with the named decoder's type: lower-case
/// hex, or the canonical QR text for `qr`; `Err` is the whole `err` line.
pub fn encode(decoder: &str, value: Value) -> Result<String, String> {
    fn parse<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, String> {
        serde_json::from_value(value)
            .map_err(|e| format!("err bad_request the JSON is not this type: {e}"))
    }
    let failed = |e: tandem_codec::EncodeError| format!("err failed {e}");
    match decoder {
        "envelope" => parse::<EnvelopeFrame>(value)?
            .to_bytes()
            .map(hex::encode)
            .map_err(failed),
        "session" => parse::<InnerFrame>(value)?
            .to_bytes()
            .map(hex::encode)
            .map_err(failed),
        "pair_init" => parse::<PairInit>(value)?
            .to_vec()
            .map(hex::encode)
            .map_err(failed),
        "pair_accept" => parse::<PairAccept>(value)?
            .to_vec()
            .map(hex::encode)
            .map_err(failed),
        "hello" => Ok(hex::encode(parse::<Hello>(value)?.to_vec())),
        "qr" => parse::<QrPayload>(value)?.to_text().map_err(failed),
        other => Err(format!("err not_implemented unknown decoder `{other}`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(request: &str) -> String {
        match answer(request, None) {
            Reply::Line(l) => l,
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn the_examples_of_section_12_8() {
        assert_eq!(line("capabilities"), CAPABILITIES);
        assert_eq!(
            line("envelope 0f0000000000000007"),
            r#"ok {"nonce":7,"type":"ping"}"#
        );
        assert_eq!(line("envelope 0f00"), "err truncated 1");
        assert_eq!(line("hello 00000000"), r#"ok {"capabilities":0}"#);
        assert_eq!(line("envelope "), "err empty 0");
        assert!(line("envelope").starts_with("err bad_request"));
        assert!(line("envelope zz").starts_with("err bad_request"));
        assert!(line("frobnicate 00").starts_with("err not_implemented"));
    }

    #[test]
    fn encode_inverts_decode() {
        assert_eq!(
            line(r#"encode envelope {"type":"ping","nonce":7}"#),
            "ok 0f0000000000000007"
        );
        assert!(line("encode envelope {").starts_with("err bad_request"));
        assert!(line(r#"encode envelope {"type":"nope"}"#).starts_with("err bad_request"));
    }

    #[test]
    fn serve_answers_line_by_line() {
        let input: &[u8] = b"capabilities\r\nenvelope 0f00\n";
        let mut out = Vec::new();
        assert_eq!(serve(input, &mut out, None).ok(), Some(0));
        assert_eq!(
            String::from_utf8_lossy(&out),
            format!("{CAPABILITIES}\nerr truncated 1\n")
        );
        let mut out = Vec::new();
        assert_eq!(
            serve(
                &b"capabilities\n"[..],
                &mut out,
                Some(CodecMutant::ExitNotImplemented)
            )
            .ok(),
            Some(3)
        );
        assert!(out.is_empty());
    }

    #[test]
    fn mutants_break_what_they_say() {
        let m = |request: &str, mutant| match answer(request, Some(mutant)) {
            Reply::Line(l) => l,
            other => format!("{other:?}"),
        };
        assert_eq!(
            m(
                "envelope 0f000000000000000700",
                CodecMutant::AcceptTrailingBytes
            ),
            r#"ok {"nonce":7,"type":"ping"}"#
        );
        assert_eq!(
            m("envelope 0f00", CodecMutant::WrongOffset),
            "err truncated 2"
        );
        assert_eq!(
            m("envelope 0f00", CodecMutant::TruncatedAsLength),
            "err length_exceeds_limit 1"
        );
        assert_eq!(m("envelope ", CodecMutant::HangOnEmpty), "Silence");
        assert_eq!(
            m("envelope 12", CodecMutant::IgnoreUnknownCritical),
            r#"ok {"body":"","frame_type":18,"type":"unknown"}"#
        );
        assert_eq!(
            m(
                r#"encode envelope {"type":"ping","nonce":7}"#,
                CodecMutant::EncodeDropsLastByte
            ),
            "ok 0f00000000000000"
        );
    }
}
