//! The wire log of a case (spec §12.4, [CONF-03]): every frame in both
//! directions with its time from the start of the case, its bytes in hex
//! and its decoded form (§13.2 JSON), every adapter line, and the runner's
//! own notes. Long frames and floods are abbreviated as §12.4 allows.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Frames up to this many bytes are logged in full hex.
pub const FULL_HEX_LIMIT: usize = 4096;
/// A longer frame keeps this many leading bytes in hex, with its length
/// and SHA-256.
pub const HEX_PREFIX: usize = 1024;
/// Entries kept per case; later ones are counted, not kept.
pub const MAX_ENTRIES: usize = 2000;
/// Strings inside a decoded form longer than this are abbreviated.
const MAX_DECODED_STRING: usize = 512;

/// Which way something crossed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// From the runner to the implementation.
    Sent,
    /// From the implementation to the runner.
    Received,
}

impl Direction {
    /// `>` for sent, `<` for received, as in §12.8.
    pub fn arrow(self) -> &'static str {
        match self {
            Self::Sent => ">",
            Self::Received => "<",
        }
    }
}

/// What an entry records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EntryKind {
    /// A binary WebSocket message: one envelope frame, or bytes that do not
    /// decode as one.
    Frame,
    /// Any other WebSocket event: a text message, a Close frame, the end of
    /// the TCP connection, a raw WebSocket frame.
    Websocket,
    /// The HTTP upgrade request or response.
    Http,
    /// One line of the adapter protocol (§12.5.2, §12.7).
    Adapter,
    /// A note of the runner's (what it waits for, what it checks).
    Note,
}

/// One line of the wire log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Milliseconds from the start of the case.
    pub t_ms: f64,
    /// Who sent or received it: a peer of the runner (`primary-1`,
    /// `companion-2`, `hostile-1`), `adapter`, `relay` or `runner`.
    pub peer: String,
    /// What it is.
    pub kind: EntryKind,
    /// Which way it went; `null` for notes.
    pub direction: Option<Direction>,
    /// For frames and raw bytes: the length in bytes.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub len: Option<usize>,
    /// For frames and raw bytes: the bytes in lower-case hex, whole up to
    /// 4,096 bytes, else the first 1,024.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub hex: Option<String>,
    /// For abbreviated bytes: the SHA-256 of all of them, in hex.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sha256: Option<String>,
    /// The decoded form (§13.2 JSON), when the runner could decode it.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub decoded: Option<Value>,
    /// A summary for people: the frame's name, the close code, the adapter
    /// line, the note.
    pub text: String,
}

/// A case's wire log.
#[derive(Debug)]
pub struct WireLog {
    start: Instant,
    entries: Vec<Entry>,
    dropped: usize,
}

impl Default for WireLog {
    fn default() -> Self {
        Self::new()
    }
}

impl WireLog {
    /// An empty log whose clock starts now.
    pub fn new() -> Self {
        Self {
            start: Instant::now(),
            entries: Vec::new(),
            dropped: 0,
        }
    }

    fn push(&mut self, mut entry: Entry) {
        if self.entries.len() >= MAX_ENTRIES {
            self.dropped += 1;
            return;
        }
        entry.t_ms = (self.start.elapsed().as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0;
        self.entries.push(entry);
    }
}

/// A wire log shared by the peers of one case.
#[derive(Clone, Debug, Default)]
pub struct Log(Arc<Mutex<WireLog>>);

impl Log {
    /// An empty log whose clock starts now.
    pub fn new() -> Self {
        Self(Arc::new(Mutex::new(WireLog::new())))
    }

    fn push(&self, entry: Entry) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(entry);
    }

    /// Milliseconds since the log started.
    pub fn elapsed_ms(&self) -> f64 {
        let log = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        log.start.elapsed().as_secs_f64() * 1000.0
    }

    /// Records bytes that crossed, with their decoded form if any.
    pub fn bytes(
        &self,
        peer: &str,
        kind: EntryKind,
        direction: Direction,
        bytes: &[u8],
        decoded: Option<Value>,
        text: impl Into<String>,
    ) {
        let (hex, sha256) = hex_of(bytes);
        self.push(Entry {
            t_ms: 0.0,
            peer: peer.to_owned(),
            kind,
            direction: Some(direction),
            len: Some(bytes.len()),
            hex: Some(hex),
            sha256,
            decoded: decoded.map(abbreviate),
            text: text.into(),
        });
    }

    /// Records an event without bytes (a Close frame, a text message, the
    /// end of a connection, an adapter line).
    pub fn event(
        &self,
        peer: &str,
        kind: EntryKind,
        direction: Direction,
        text: impl Into<String>,
    ) {
        self.push(Entry {
            t_ms: 0.0,
            peer: peer.to_owned(),
            kind,
            direction: Some(direction),
            len: None,
            hex: None,
            sha256: None,
            decoded: None,
            text: text.into(),
        });
    }

    /// Records a note of the runner's.
    pub fn note(&self, text: impl Into<String>) {
        self.push(Entry {
            t_ms: 0.0,
            peer: "runner".into(),
            kind: EntryKind::Note,
            direction: None,
            len: None,
            hex: None,
            sha256: None,
            decoded: None,
            text: text.into(),
        });
    }

    /// The entries so far, with a note counting those not kept.
    pub fn entries(&self) -> Vec<Entry> {
        let log = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let mut entries = log.entries.clone();
        if log.dropped > 0 {
            entries.push(Entry {
                t_ms: entries.last().map_or(0.0, |e| e.t_ms),
                peer: "runner".into(),
                kind: EntryKind::Note,
                direction: None,
                len: None,
                hex: None,
                sha256: None,
                decoded: None,
                text: format!(
                    "{} more entries not kept (the log keeps {MAX_ENTRIES})",
                    log.dropped
                ),
            });
        }
        entries
    }
}

/// The hex of `bytes`, whole or abbreviated, and the SHA-256 when
/// abbreviated.
pub fn hex_of(bytes: &[u8]) -> (String, Option<String>) {
    if bytes.len() <= FULL_HEX_LIMIT {
        (hex::encode(bytes), None)
    } else {
        (
            hex::encode(&bytes[..HEX_PREFIX]),
            Some(hex::encode(Sha256::digest(bytes))),
        )
    }
}

/// A decoded form with its long strings (payload hex) abbreviated.
fn abbreviate(value: Value) -> Value {
    match value {
        Value::String(s) if s.len() > MAX_DECODED_STRING => {
            let mut end = MAX_DECODED_STRING / 2;
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            Value::String(format!("{}… ({} characters in all)", &s[..end], s.len()))
        }
        Value::Array(items) => Value::Array(items.into_iter().map(abbreviate).collect()),
        Value::Object(map) => {
            Value::Object(map.into_iter().map(|(k, v)| (k, abbreviate(v))).collect())
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_frames_are_abbreviated_with_their_hash() {
        let (hex, sha) = hex_of(&[0xAB; 10]);
        assert_eq!(hex, "ab".repeat(10));
        assert_eq!(sha, None);
        let (hex, sha) = hex_of(&vec![1u8; FULL_HEX_LIMIT + 1]);
        assert_eq!(hex.len(), HEX_PREFIX * 2);
        assert_eq!(sha.map(|s| s.len()), Some(64));
    }

    #[test]
    fn entries_beyond_the_limit_are_counted() {
        let log = Log::new();
        for i in 0..MAX_ENTRIES + 3 {
            log.note(format!("{i}"));
        }
        let entries = log.entries();
        assert_eq!(entries.len(), MAX_ENTRIES + 1);
        assert!(entries[MAX_ENTRIES].text.starts_with("3 more entries"));
    }

    #[test]
    fn decoded_payloads_are_shortened() {
        let value = serde_json::json!({"type": "data", "payload": "ab".repeat(1000)});
        let short = abbreviate(value);
        assert!(
            short["payload"]
                .as_str()
                .is_some_and(|s| s.len() < 400 && s.ends_with("(2000 characters in all)"))
        );
        assert_eq!(short["type"], "data");
    }
}
