//! The codec test vectors of `spec/vectors/` (the README's main job):
//!
//! - the checked-in files are exactly what the generator
//!   (`tests/support/vectors_gen.rs`) produces from the code now, so code
//!   and vectors cannot drift apart;
//! - every vector, read as plain JSON independently of the generator,
//!   decodes as it says: a valid one to its `decoded` JSON form and back to
//!   the same bytes, an invalid one to exactly its `error`, `offset` and
//!   `wire_code`;
//! - the files cover enough: at least 300 vectors, at least 35% invalid,
//!   and every frame type, event kind, body kind, handshake payload and the
//!   QR payload with at least 2 valid and 3 invalid vectors. The list of
//!   types comes from the codec's `frame_type`, `event_kind` and `body_kind`
//!   constants and is checked against what the decoders accept, so a new
//!   frame type without vectors fails here.

// Tests may unwrap, helpers included.
#![allow(clippy::unwrap_used)]

#[path = "support/vectors_gen.rs"]
mod vectors_gen;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use serde_json::Value;
use tandem_codec::envelope::EnvelopeFrame;
use tandem_codec::handshake::{Hello, PairAccept, PairInit};
use tandem_codec::qr::QrPayload;
use tandem_codec::session::{Body, EventBody, InnerFrame, frame_type};
use tandem_codec::testing::{
    self, BODY_KINDS, ENVELOPE_FRAME_TYPES, EVENT_KINDS, SESSION_FRAME_TYPES,
};
use tandem_codec::{DecodeError, ErrorKind};

/// The codec's vector files and the `layer` each declares.
const FILES: [(&str, &str); 4] = [
    ("envelope.json", "envelope"),
    ("session.json", "session"),
    ("handshake-payloads.json", "handshake_payload"),
    ("qr.json", "qr"),
];

const MIN_TOTAL: usize = 300;
const MIN_INVALID_SHARE: f64 = 0.35;
const MIN_VALID_PER_TYPE: usize = 2;
const MIN_INVALID_PER_TYPE: usize = 3;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn vectors_dir() -> PathBuf {
    root().join("spec").join("vectors")
}

/// Every vector of every file, with the file it came from.
fn load() -> Vec<(&'static str, Value)> {
    let mut all = Vec::new();
    for (file, layer) in FILES {
        let path = vectors_dir().join(file);
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let json: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(json["schema"], "tandem-codec-vectors/1", "{file}: schema");
        assert_eq!(json["layer"], layer, "{file}: layer");
        let vectors = json["vectors"]
            .as_array()
            .unwrap_or_else(|| panic!("{file}: vectors"));
        all.extend(vectors.iter().map(|v| (file, v.clone())));
    }
    all
}

#[test]
fn checked_in_files_match_the_generator() {
    let mut stale = Vec::new();
    for file in vectors_gen::generate() {
        let path = vectors_dir().join(file.file);
        let expected = vectors_gen::to_json(&file);
        let actual = std::fs::read_to_string(&path).unwrap_or_default();
        if actual != expected {
            stale.push(file.file);
        }
    }
    assert!(
        stale.is_empty(),
        "spec/vectors/{{{}}} differ from what the code generates; if the change is intended, run `{}` and review the diff",
        stale.join(", "),
        vectors_gen::WRITE_COMMAND
    );
}

/// What a decoder made of an input.
enum Decoded {
    Envelope(EnvelopeFrame),
    Session(InnerFrame),
    PairInit(PairInit),
    PairAccept(PairAccept),
    Hello(Hello),
    Qr(QrPayload),
}

impl Decoded {
    fn to_json(&self) -> Value {
        match self {
            Self::Envelope(f) => serde_json::to_value(f),
            Self::Session(f) => serde_json::to_value(f),
            Self::PairInit(p) => serde_json::to_value(p),
            Self::PairAccept(p) => serde_json::to_value(p),
            Self::Hello(p) => serde_json::to_value(p),
            Self::Qr(p) => serde_json::to_value(p),
        }
        .unwrap()
    }

    /// The canonical encoding: bytes, or for QR the text's bytes.
    fn encode(&self) -> Vec<u8> {
        match self {
            Self::Envelope(f) => f.to_bytes().unwrap().to_vec(),
            Self::Session(f) => f.to_bytes().unwrap().to_vec(),
            Self::PairInit(p) => p.to_vec().unwrap(),
            Self::PairAccept(p) => p.to_vec().unwrap(),
            Self::Hello(p) => p.to_vec(),
            Self::Qr(p) => p.to_text().unwrap().into_bytes(),
        }
    }

    /// Reads a value of the same type from its JSON form.
    fn same_type_from_json(&self, json: &Value) -> Self {
        let json = json.clone();
        match self {
            Self::Envelope(_) => Self::Envelope(serde_json::from_value(json).unwrap()),
            Self::Session(_) => Self::Session(serde_json::from_value(json).unwrap()),
            Self::PairInit(_) => Self::PairInit(serde_json::from_value(json).unwrap()),
            Self::PairAccept(_) => Self::PairAccept(serde_json::from_value(json).unwrap()),
            Self::Hello(_) => Self::Hello(serde_json::from_value(json).unwrap()),
            Self::Qr(_) => Self::Qr(serde_json::from_value(json).unwrap()),
        }
    }
}

/// Decodes a vector's input with the decoder it names; the input bytes
/// (the QR text's bytes for `qr`) come back too.
fn decode(v: &Value) -> (Vec<u8>, Result<Decoded, DecodeError>) {
    let input = v["input"].as_str().unwrap();
    let decoder = v["decoder"].as_str().unwrap();
    if decoder == "qr" {
        let result = QrPayload::from_text(input).map(Decoded::Qr);
        return (input.as_bytes().to_vec(), result);
    }
    assert!(
        !input.bytes().any(|b| b.is_ascii_uppercase()),
        "{}: hex must be lower case",
        v["id"]
    );
    let bytes = hex::decode(input).unwrap_or_else(|e| panic!("{}: input: {e}", v["id"]));
    let result = match decoder {
        "envelope" => EnvelopeFrame::decode(&Bytes::from(bytes.clone())).map(Decoded::Envelope),
        "session" => InnerFrame::decode(&Bytes::from(bytes.clone())).map(Decoded::Session),
        "pair_init" => PairInit::decode(&bytes).map(Decoded::PairInit),
        "pair_accept" => PairAccept::decode(&bytes).map(Decoded::PairAccept),
        "hello" => Hello::decode(&bytes).map(Decoded::Hello),
        other => panic!("{}: unknown decoder {other}", v["id"]),
    };
    (bytes, result)
}

/// Every requirement id the spec defines or references, `PREFIX-NN`.
fn spec_requirement_ids() -> HashSet<String> {
    let mut ids = HashSet::new();
    for entry in std::fs::read_dir(root().join("spec")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            let text = std::fs::read_to_string(&path).unwrap();
            for part in text.split('[').skip(1) {
                if let Some((id, _)) = part.split_once(']') {
                    let valid = id.split_once('-').is_some_and(|(prefix, number)| {
                        !prefix.is_empty()
                            && prefix.bytes().all(|b| b.is_ascii_uppercase())
                            && !number.is_empty()
                            && number.bytes().all(|b| b.is_ascii_digit())
                    });
                    if valid {
                        ids.insert(id.to_owned());
                    }
                }
            }
        }
    }
    ids
}

#[test]
fn every_vector_decodes_as_it_says() {
    let all = load();
    let spec_ids = spec_requirement_ids();
    let mut ids = HashSet::new();
    let (mut valid, mut invalid) = (0, 0);
    for (file, v) in &all {
        let id = v["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{file}: a vector without id"));
        assert!(ids.insert(id.to_owned()), "{id}: duplicate id");
        let prefix = match *file {
            "handshake-payloads.json" => "handshake-",
            "qr.json" => "qr-",
            "envelope.json" => "envelope-",
            _ => "session-",
        };
        assert!(
            id.starts_with(prefix),
            "{id}: ids in {file} start with {prefix}"
        );
        assert!(
            !v["comment"].as_str().unwrap_or_default().is_empty(),
            "{id}: comment"
        );
        assert!(v["flags"].is_array(), "{id}: flags");
        let requirements = v["requirements"].as_array().unwrap();
        for req in requirements {
            let req = req.as_str().unwrap();
            assert!(
                spec_ids.contains(req),
                "{id}: requirement {req} is not in the spec"
            );
        }

        let (input, result) = decode(v);
        match v["result"].as_str() {
            Some("valid") => {
                valid += 1;
                assert!(id.contains("-valid-"), "{id}: result valid");
                assert!(
                    v.get("error").is_none() && v.get("wire_code").is_none(),
                    "{id}"
                );
                let decoded = result.unwrap_or_else(|e| panic!("{id}: should be valid: {e}"));
                // Its JSON form is the vector's `decoded`.
                assert_eq!(decoded.to_json(), v["decoded"], "{id}: decoded");
                // It re-encodes to the input (a QR text with its prefix in
                // upper case: the prefix is matched without regard to case).
                let canonical = if v["decoder"] == "qr" {
                    testing::canonical_qr_text(v["input"].as_str().unwrap()).into_bytes()
                } else {
                    input.clone()
                };
                assert_eq!(decoded.encode(), canonical, "{id}: re-encoding");
                // And the JSON form alone encodes to the same bytes.
                let from_json = decoded.same_type_from_json(&v["decoded"]);
                assert_eq!(from_json.encode(), canonical, "{id}: encoding `decoded`");
            }
            Some("invalid") => {
                invalid += 1;
                assert!(id.contains("-invalid-"), "{id}: result invalid");
                assert!(
                    v.get("decoded").is_none(),
                    "{id}: an invalid vector has no decoded"
                );
                let err = match result {
                    Ok(_) => panic!("{id}: should fail with {}", v["error"]),
                    Err(err) => err,
                };
                let kind = ErrorKind::from_name(v["error"].as_str().unwrap())
                    .unwrap_or_else(|| panic!("{id}: unknown error kind {}", v["error"]));
                assert_eq!(err.kind, kind, "{id}: error ({err})");
                assert_eq!(
                    Some(err.offset as u64),
                    v["offset"].as_u64(),
                    "{id}: offset ({err})"
                );
                let code = err.wire_code().map(|c| u64::from(c.0));
                assert_eq!(code, v["wire_code"].as_u64(), "{id}: wire_code");
                assert!(
                    v.get("wire_code").is_some(),
                    "{id}: wire_code present, null for qr"
                );
                assert_eq!(
                    requirements.first().and_then(Value::as_str),
                    Some(kind.requirement()),
                    "{id}: the first requirement is the failed check's"
                );
            }
            other => panic!("{id}: result {other:?}"),
        }
    }
    summary(format!(
        "{} vectors checked ({valid} valid, {invalid} invalid) in {} files",
        all.len(),
        FILES.len()
    ));
}

/// The critical type codes a decoder knows: those for which the type byte
/// alone fails with something other than `unknown_frame_type`.
fn known_types(decode: impl Fn(&[u8]) -> Result<(), ErrorKind>) -> BTreeSet<u8> {
    (0..0x80u8)
        .filter(|ty| decode(&[*ty]) != Err(ErrorKind::UnknownFrameType))
        .collect()
}

/// Valid and invalid counts per item.
#[derive(Default)]
struct Counts(BTreeMap<String, (usize, usize)>);

impl Counts {
    fn add(&mut self, item: impl Into<String>, valid: bool) {
        let entry = self.0.entry(item.into()).or_default();
        if valid {
            entry.0 += 1;
        } else {
            entry.1 += 1;
        }
    }

    fn get(&self, item: &str) -> (usize, usize) {
        self.0.get(item).copied().unwrap_or_default()
    }
}

#[test]
fn vectors_cover_every_frame_type() {
    // The lists of types are the codec's constants; check that they are
    // exactly what the decoders accept.
    let envelope = known_types(|b| {
        EnvelopeFrame::decode(&Bytes::copy_from_slice(b))
            .map(drop)
            .map_err(|e| e.kind)
    });
    let session = known_types(|b| {
        InnerFrame::decode(&Bytes::copy_from_slice(b))
            .map(drop)
            .map_err(|e| e.kind)
    });
    let listed = |list: &[(&str, u8)]| list.iter().map(|(_, ty)| *ty).collect::<BTreeSet<_>>();
    assert_eq!(
        envelope,
        listed(ENVELOPE_FRAME_TYPES),
        "envelope frame types"
    );
    assert_eq!(session, listed(SESSION_FRAME_TYPES), "session frame types");
    // A known event kind fails on a 1-byte body; an unknown one is kept.
    let event_kinds: BTreeSet<u8> = (0..=255u8)
        .filter(|kind| {
            let wire = [0x17, 0, 0, 0, 0, 0, 0, 0, 1, *kind, 0];
            !matches!(
                InnerFrame::decode(&Bytes::copy_from_slice(&wire)),
                Ok(InnerFrame::Event(e)) if matches!(e.body, EventBody::Unknown { .. })
            )
        })
        .collect();
    assert_eq!(event_kinds, listed(EVENT_KINDS), "event kinds");
    // A known body kind fails with no content; an unknown one is kept.
    let body_kinds: BTreeSet<u8> = (0..=255u8)
        .filter(|kind| {
            let mut wire = vec![frame_type::SEND];
            wire.extend_from_slice(&[0; 16]);
            wire.extend_from_slice(&1u64.to_be_bytes());
            wire.extend_from_slice(&[*kind, 0, 0]);
            !matches!(
                InnerFrame::decode(&Bytes::from(wire)),
                Ok(InnerFrame::Send(s)) if matches!(s.body, Body::Unknown { .. })
            )
        })
        .collect();
    assert_eq!(body_kinds, listed(BODY_KINDS), "body kinds");

    // Count vectors by what their bytes are, not by their ids.
    let all = load();
    let mut counts = Counts::default();
    let mut invalid = 0;
    for (_, v) in &all {
        let valid = v["result"] == "valid";
        invalid += usize::from(!valid);
        let decoder = v["decoder"].as_str().unwrap();
        let (input, _) = decode(v);
        match decoder {
            "envelope" | "session" => {
                let Some(&ty) = input.first() else { continue };
                counts.add(format!("{decoder}:{ty:#04x}"), valid);
                if decoder == "session" {
                    if let Some(kind) = event_kind_of(&input) {
                        counts.add(format!("event:{kind}"), valid);
                    }
                    if let Some(kind) = body_kind_of(&input) {
                        counts.add(format!("body:{kind}"), valid);
                    }
                }
            }
            other => counts.add(other, valid),
        }
    }

    let mut short = Vec::new();
    let mut check = |what: String, key: String, min_valid: usize| {
        let (valid, invalid) = counts.get(&key);
        if valid < min_valid || invalid < MIN_INVALID_PER_TYPE {
            short.push(format!(
                "{what}: {valid} valid (need {min_valid}), {invalid} invalid (need {MIN_INVALID_PER_TYPE})"
            ));
        }
    };
    // A frame with an empty body has exactly one encoding, so one valid
    // vector is all there can be.
    let empty_ok = |ok: bool| if ok { 1 } else { MIN_VALID_PER_TYPE };
    for (name, ty) in ENVELOPE_FRAME_TYPES {
        let one = EnvelopeFrame::decode(&Bytes::copy_from_slice(&[*ty])).is_ok();
        check(
            format!("envelope {name}"),
            format!("envelope:{ty:#04x}"),
            empty_ok(one),
        );
    }
    for (name, ty) in SESSION_FRAME_TYPES {
        let one = InnerFrame::decode(&Bytes::copy_from_slice(&[*ty])).is_ok();
        check(
            format!("session {name}"),
            format!("session:{ty:#04x}"),
            empty_ok(one),
        );
    }
    for (name, kind) in EVENT_KINDS {
        check(
            format!("event kind {name}"),
            format!("event:{kind}"),
            MIN_VALID_PER_TYPE,
        );
    }
    for (name, kind) in BODY_KINDS {
        check(
            format!("body kind {name}"),
            format!("body:{kind}"),
            MIN_VALID_PER_TYPE,
        );
    }
    for payload in ["pair_init", "pair_accept", "hello", "qr"] {
        check(payload.to_owned(), payload.to_owned(), MIN_VALID_PER_TYPE);
    }
    assert!(
        short.is_empty(),
        "not enough vectors:\n{}",
        short.join("\n")
    );

    assert!(
        all.len() >= MIN_TOTAL,
        "{} vectors, need {MIN_TOTAL}",
        all.len()
    );
    let share = invalid as f64 / all.len() as f64;
    assert!(
        share >= MIN_INVALID_SHARE,
        "{:.0}% invalid, need 35%",
        share * 100.0
    );
    summary(format!(
        "{} vectors, {invalid} invalid ({:.0}%); every one of {} frame types, {} event kinds, {} body kinds, 3 handshake payloads and the QR payload covered",
        all.len(),
        share * 100.0,
        ENVELOPE_FRAME_TYPES.len() + SESSION_FRAME_TYPES.len(),
        EVENT_KINDS.len(),
        BODY_KINDS.len()
    ));
}

/// Writes one line to stderr past the test harness's output capture, so
/// that the summary shows in every `cargo test` log.
fn summary(line: String) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// The event kind of an `Event` frame that reaches it (byte 9).
fn event_kind_of(input: &[u8]) -> Option<u8> {
    (input.first() == Some(&frame_type::EVENT))
        .then(|| input.get(9).copied())
        .flatten()
}

/// The kind of the body a frame carries where there is one: a `Send`
/// (byte 25), a `MessageAdded` event (byte 43) or the first message of a
/// `MessagePage` (byte 49).
fn body_kind_of(input: &[u8]) -> Option<u8> {
    let at = match *input.first()? {
        frame_type::SEND => 25,
        frame_type::EVENT if input.get(9) == Some(&1) => 43,
        frame_type::MESSAGE_PAGE if input.get(14..16)? != [0, 0] => 49,
        _ => return None,
    };
    input.get(at).copied()
}
