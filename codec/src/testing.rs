//! **Test-only. Not part of the codec's API**: hidden from the docs, with no
//! stability promise, and never needed to encode or decode a valid frame.
//!
//! It builds deliberately invalid input from valid encodings: the test
//! vectors (`codec/examples/vectors.rs`), the property tests, the fuzz
//! targets (`fuzz/`) and the conformance runner's deliberately wrong peers
//! use it to truncate a frame, append bytes, change its type, overwrite an
//! integer, or replace a string with one that breaks a limit. Every helper
//! takes a frame and returns a new `Vec<u8>`; none of them panics: an
//! offset past the end first extends the frame with zero bytes.
//!
//! It also holds the lists of frame types and kinds by their spec names
//! (tests check them against what the decoders accept, so that a new frame
//! type without vectors fails a test), and the bodies of the fuzz targets,
//! so that a crash found by the fuzzer can be replayed as a regression test.

use bytes::Bytes;
use data_encoding::BASE32_NOPAD;

use crate::envelope::{self, EnvelopeFrame};
use crate::handshake::{Hello, PairAccept, PairInit};
use crate::qr::{self, QrPayload};
use crate::session::{self, InnerFrame, body_kind, event_kind};

/// The first `len` bytes of `frame` (all of it when `len` is not shorter).
pub fn truncate(frame: &[u8], len: usize) -> Vec<u8> {
    frame[..len.min(frame.len())].to_vec()
}

/// `frame` followed by `extra`.
pub fn with_trailing(frame: &[u8], extra: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(frame.len().saturating_add(extra.len()));
    out.extend_from_slice(frame);
    out.extend_from_slice(extra);
    out
}

/// `frame` with its type byte (the first) replaced by `ty`; an empty frame
/// becomes `[ty]`.
pub fn with_type(frame: &[u8], ty: u8) -> Vec<u8> {
    set_u8_at(frame, 0, ty)
}

/// `frame` with `bytes` written at `offset`, extended with zeros first when
/// it is too short.
pub fn write_at(frame: &[u8], offset: usize, bytes: &[u8]) -> Vec<u8> {
    let mut out = frame.to_vec();
    let end = offset.saturating_add(bytes.len());
    if out.len() < end {
        out.resize(end, 0);
    }
    out[offset..end].copy_from_slice(bytes);
    out
}

/// `frame` with the `u8` at `offset` set to `value`.
pub fn set_u8_at(frame: &[u8], offset: usize, value: u8) -> Vec<u8> {
    write_at(frame, offset, &[value])
}

/// `frame` with the big-endian `u16` at `offset` set to `value` (a length,
/// a `list16` count, a code).
pub fn set_u16_at(frame: &[u8], offset: usize, value: u16) -> Vec<u8> {
    write_at(frame, offset, &value.to_be_bytes())
}

/// `frame` with the big-endian `u32` at `offset` set to `value`.
pub fn set_u32_at(frame: &[u8], offset: usize, value: u32) -> Vec<u8> {
    write_at(frame, offset, &value.to_be_bytes())
}

/// `frame` with the big-endian `u64` at `offset` set to `value`.
pub fn set_u64_at(frame: &[u8], offset: usize, value: u64) -> Vec<u8> {
    write_at(frame, offset, &value.to_be_bytes())
}

/// `frame` with the bytes in `start..end` replaced by `bytes` (the range is
/// clamped to the frame: a `start` past the end appends).
pub fn splice(frame: &[u8], start: usize, end: usize, bytes: &[u8]) -> Vec<u8> {
    let start = start.min(frame.len());
    let end = end.clamp(start, frame.len());
    let mut out = Vec::with_capacity(frame.len().saturating_add(bytes.len()));
    out.extend_from_slice(&frame[..start]);
    out.extend_from_slice(bytes);
    out.extend_from_slice(&frame[end..]);
    out
}

/// `frame` with the `str8` whose length byte is at `offset` replaced by one
/// holding `content` (its length byte saturates at 255; the content is
/// written in full, so that a short length leaves trailing bytes).
pub fn replace_str8_at(frame: &[u8], offset: usize, content: &[u8]) -> Vec<u8> {
    let old = usize::from(frame.get(offset).copied().unwrap_or(0));
    let len = u8::try_from(content.len()).unwrap_or(u8::MAX);
    let mut field = Vec::with_capacity(content.len().saturating_add(1));
    field.push(len);
    field.extend_from_slice(content);
    splice(
        frame,
        offset,
        offset.saturating_add(1).saturating_add(old),
        &field,
    )
}

/// `frame` with the `str16` whose length is at `offset` replaced by one
/// holding `content` (its length saturates at 65,535).
pub fn replace_str16_at(frame: &[u8], offset: usize, content: &[u8]) -> Vec<u8> {
    let old = frame
        .get(offset..offset.saturating_add(2))
        .map_or(0, |b| usize::from(u16::from_be_bytes([b[0], b[1]])));
    let len = u16::try_from(content.len()).unwrap_or(u16::MAX);
    let mut field = Vec::with_capacity(content.len().saturating_add(2));
    field.extend_from_slice(&len.to_be_bytes());
    field.extend_from_slice(content);
    splice(
        frame,
        offset,
        offset.saturating_add(2).saturating_add(old),
        &field,
    )
}

/// `frame` with the `str8<max>` at `offset` replaced by `max + 1` bytes of
/// `x`: a well-formed string one byte over its field's limit ([ENC-01]).
/// For `max` 255 (a `str8` cannot exceed it) the string is 255 bytes.
pub fn oversized_str8_at(frame: &[u8], offset: usize, max: usize) -> Vec<u8> {
    replace_str8_at(frame, offset, &vec![b'x'; max.saturating_add(1).min(255)])
}

/// `frame` with the `str16<max>` at `offset` replaced by `max + 1` bytes of
/// `x`.
pub fn oversized_str16_at(frame: &[u8], offset: usize, max: usize) -> Vec<u8> {
    replace_str16_at(
        frame,
        offset,
        &vec![b'x'; max.saturating_add(1).min(65_535)],
    )
}

/// The first `offset` bytes of `frame` followed by a `u16` length or count
/// of `value` and nothing else: the input a naive parser would trust to
/// allocate `value` items or bytes ([ENC-01], [ENC-07]).
pub fn bare_u16_length_at(frame: &[u8], offset: usize, value: u16) -> Vec<u8> {
    with_trailing(&truncate(frame, offset), &value.to_be_bytes())
}

/// The first `offset` bytes of `frame` followed by a `u8` length of `value`
/// and nothing else.
pub fn bare_u8_length_at(frame: &[u8], offset: usize, value: u8) -> Vec<u8> {
    with_trailing(&truncate(frame, offset), &[value])
}

/// A message body as on the wire: `kind u8`, `len u16`, then `content`
/// (the length saturates at 65,535, so that a wrong peer can send any).
pub fn body(kind: u8, content: &[u8]) -> Vec<u8> {
    let len = u16::try_from(content.len()).unwrap_or(u16::MAX);
    let mut out = Vec::with_capacity(content.len().saturating_add(3));
    out.push(kind);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(content);
    out
}

/// The QR text for any binary payload, valid or not: `TANDEM:` and its
/// canonical base32.
pub fn qr_text(payload: &[u8]) -> String {
    format!("{}{}", qr::PREFIX, BASE32_NOPAD.encode(payload))
}

/// The QR text of `payload` with lower-case base32 (invalid, [QR-03]).
pub fn qr_text_lower_case(payload: &[u8]) -> String {
    format!(
        "{}{}",
        qr::PREFIX,
        BASE32_NOPAD.encode(payload).to_ascii_lowercase()
    )
}

/// The QR text of `payload` with RFC 4648 `=` padding (invalid, [QR-03]);
/// `None` when the payload needs no padding (a multiple of 5 bytes).
pub fn qr_text_padded(payload: &[u8]) -> Option<String> {
    let padded = data_encoding::BASE32.encode(payload);
    padded
        .contains('=')
        .then(|| format!("{}{padded}", qr::PREFIX))
}

/// The QR text of `payload` with the lowest unused bit of its last base32
/// character set (invalid, [QR-03]: one payload has exactly one text);
/// `None` when the payload leaves no unused bits (a multiple of 5 bytes).
pub fn qr_text_with_trailing_bits(payload: &[u8]) -> Option<String> {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    if payload.len().is_multiple_of(5) {
        return None;
    }
    let mut text = BASE32_NOPAD.encode(payload).into_bytes();
    let last = text.last_mut()?;
    let value = ALPHABET.iter().position(|c| c == last)?;
    // The unused bits are the low ones of the last character, so bit 0 is
    // always one of them.
    *last = ALPHABET[value | 1];
    let text = String::from_utf8(text).ok()?;
    Some(format!("{}{text}", qr::PREFIX))
}

/// Every envelope frame type of spec §3.2, by its JSON name.
pub const ENVELOPE_FRAME_TYPES: &[(&str, u8)] = {
    use envelope::frame_type::*;
    &[
        ("open_channel", OPEN_CHANNEL),
        ("channel_opened", CHANNEL_OPENED),
        ("join_channel", JOIN_CHANNEL),
        ("channel_joined", CHANNEL_JOINED),
        ("register_route", REGISTER_ROUTE),
        ("route_challenge", ROUTE_CHALLENGE),
        ("route_proof", ROUTE_PROOF),
        ("route_registered", ROUTE_REGISTERED),
        ("attach_route", ATTACH_ROUTE),
        ("route_attached", ROUTE_ATTACHED),
        ("link_opened", LINK_OPENED),
        ("peer_state", PEER_STATE),
        ("link_closed", LINK_CLOSED),
        ("data", DATA),
        ("ping", PING),
        ("pong", PONG),
        ("error", ERROR),
    ]
};

/// Every inner session frame type of spec §6.2, by its JSON name.
pub const SESSION_FRAME_TYPES: &[(&str, u8)] = {
    use session::frame_type::*;
    &[
        ("close", CLOSE),
        ("error", ERROR),
        ("rekey", REKEY),
        ("pairing_complete", PAIRING_COMPLETE),
        ("resume", RESUME),
        ("resume_accepted", RESUME_ACCEPTED),
        ("snapshot_begin", SNAPSHOT_BEGIN),
        ("chat_page", CHAT_PAGE),
        ("contact_page", CONTACT_PAGE),
        ("message_page", MESSAGE_PAGE),
        ("snapshot_end", SNAPSHOT_END),
        ("event", EVENT),
        ("ack", ACK),
        ("send", SEND),
        ("send_ack", SEND_ACK),
        ("send_failed", SEND_FAILED),
        ("mark_read", MARK_READ),
        ("typing", TYPING),
        ("history_request", HISTORY_REQUEST),
        ("unlink", UNLINK),
        ("upload_begin", UPLOAD_BEGIN),
        ("upload_ready", UPLOAD_READY),
        ("chunk", CHUNK),
        ("credit", CREDIT),
        ("upload_done", UPLOAD_DONE),
        ("download_request", DOWNLOAD_REQUEST),
        ("download_ready", DOWNLOAD_READY),
        ("transfer_cancel", TRANSFER_CANCEL),
    ]
};

/// Every event kind of spec §7.4, by its JSON name.
pub const EVENT_KINDS: &[(&str, u8)] = &[
    ("message_added", event_kind::MESSAGE_ADDED),
    ("status_changed", event_kind::STATUS_CHANGED),
    ("chat_updated", event_kind::CHAT_UPDATED),
    ("chat_read", event_kind::CHAT_READ),
    ("contact_updated", event_kind::CONTACT_UPDATED),
];

/// Every message body kind of spec §7.1, by its JSON name.
pub const BODY_KINDS: &[(&str, u8)] = &[("text", body_kind::TEXT), ("media", body_kind::MEDIA)];

/// The envelope fuzz target: any input decodes or fails cleanly, and a
/// frame that decodes re-encodes to exactly the input and decodes again to
/// the same frame.
pub fn fuzz_envelope(data: &[u8]) {
    let input = Bytes::copy_from_slice(data);
    if let Ok(frame) = EnvelopeFrame::decode(&input) {
        let wire = frame.to_bytes();
        assert_eq!(wire.as_deref(), Ok(data), "not canonical: {frame:?}");
        if let Ok(wire) = wire {
            assert_eq!(EnvelopeFrame::decode(&wire), Ok(frame));
        }
    }
}

/// The session fuzz target, as [`fuzz_envelope`] for inner frames.
pub fn fuzz_session(data: &[u8]) {
    let input = Bytes::copy_from_slice(data);
    if let Ok(frame) = InnerFrame::decode(&input) {
        let wire = frame.to_bytes();
        assert_eq!(wire.as_deref(), Ok(data), "not canonical: {frame:?}");
        if let Ok(wire) = wire {
            assert_eq!(InnerFrame::decode(&wire), Ok(frame));
        }
    }
}

/// The handshake payload fuzz target: the input through each of the three
/// payload decoders, as [`fuzz_envelope`].
pub fn fuzz_handshake_payloads(data: &[u8]) {
    if let Ok(init) = PairInit::decode(data) {
        let wire = init.to_vec();
        assert_eq!(wire.as_deref(), Ok(data), "not canonical: {init:?}");
        assert_eq!(PairInit::decode(data), Ok(init));
    }
    if let Ok(accept) = PairAccept::decode(data) {
        let wire = accept.to_vec();
        assert_eq!(wire.as_deref(), Ok(data), "not canonical: {accept:?}");
        assert_eq!(PairAccept::decode(data), Ok(accept));
    }
    if let Ok(hello) = Hello::decode(data) {
        assert_eq!(hello.to_vec(), data, "not canonical: {hello:?}");
        assert_eq!(Hello::decode(data), Ok(hello));
    }
}

/// The QR fuzz target: the input as a binary payload, and as QR text when
/// it is UTF-8. A text that decodes re-encodes to itself, but for the case
/// of its prefix, which is matched without regard to case ([QR-02]).
pub fn fuzz_qr(data: &[u8]) {
    if let Ok(payload) = QrPayload::from_binary(data) {
        let wire = payload.to_binary();
        assert_eq!(wire.as_deref(), Ok(data), "not canonical: {payload:?}");
        assert_eq!(QrPayload::from_binary(data), Ok(payload));
    }
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(payload) = QrPayload::from_text(text)
    {
        let canonical = canonical_qr_text(text);
        assert_eq!(payload.to_text(), Ok(canonical), "not canonical: {text}");
        assert_eq!(QrPayload::from_text(text), Ok(payload));
    }
}

/// `text` with its prefix written as `TANDEM:` (the only difference a
/// valid QR text may have from the encoder's output).
pub fn canonical_qr_text(text: &str) -> String {
    match (text.get(..qr::PREFIX.len()), text.get(qr::PREFIX.len()..)) {
        (Some(prefix), Some(rest)) if prefix.eq_ignore_ascii_case(qr::PREFIX) => {
            format!("{}{rest}", qr::PREFIX)
        }
        _ => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers_never_panic_and_extend_when_needed() {
        assert_eq!(truncate(&[1, 2, 3], 9), [1, 2, 3]);
        assert_eq!(with_type(&[], 7), [7]);
        assert_eq!(set_u16_at(&[1], 2, 0x0102), [1, 0, 1, 2]);
        assert_eq!(set_u32_at(&[9; 6], 1, 0), [9, 0, 0, 0, 0, 9]);
        assert_eq!(splice(&[1, 2, 3], 5, 1, &[7]), [1, 2, 3, 7]);
        assert_eq!(
            replace_str8_at(&[0, 2, b'a', b'b', 9], 1, b"xyz"),
            [0, 3, b'x', b'y', b'z', 9]
        );
        assert_eq!(replace_str16_at(&[0, 0, 1, b'a'], 1, b""), [0, 0, 0]);
        assert_eq!(oversized_str8_at(&[5, 0], 1, 2), [5, 3, b'x', b'x', b'x']);
        assert_eq!(
            bare_u16_length_at(&[1, 2, 3, 4], 2, 0xFFFF),
            [1, 2, 0xFF, 0xFF]
        );
        assert_eq!(body(1, b"hi"), [1, 0, 2, b'h', b'i']);
    }

    #[test]
    fn qr_helpers_make_the_invalid_texts_they_name() {
        let payload = [1u8, 0, 7];
        let kind = |text: &str| QrPayload::from_text(text).map_err(|e| e.kind);
        use crate::ErrorKind::InvalidBase32;
        assert_eq!(kind(&qr_text_lower_case(&payload)), Err(InvalidBase32));
        assert_eq!(
            kind(&qr_text_padded(&payload).unwrap_or_default()),
            Err(InvalidBase32)
        );
        let bits = qr_text_with_trailing_bits(&payload).unwrap_or_default();
        assert_eq!(kind(&bits), Err(InvalidBase32));
        assert_eq!(qr_text_with_trailing_bits(&[0; 5]), None);
        assert_eq!(canonical_qr_text("tandem:AB"), "TANDEM:AB");
        assert_eq!(canonical_qr_text("x"), "x");
    }

    #[test]
    fn fuzz_bodies_accept_valid_and_invalid_input() {
        for data in [
            &[][..],
            &[0x0F, 0, 0, 0, 0, 0, 0, 0, 1],
            &[0x18, 1],
            &[0, 0, 0, 0],
        ] {
            fuzz_envelope(data);
            fuzz_session(data);
            fuzz_handshake_payloads(data);
            fuzz_qr(data);
        }
    }
}
