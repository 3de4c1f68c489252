//! What the primary's state machine needs from durable storage (spec §7,
//! §8, §9), as one small trait. The core decides what changes; the store
//! persists it atomically and durably before the core acknowledges
//! anything ([SYNC-10], [SYNC-17], [MEDIA-05]). `reference-phone` implements
//! it on SQLite; [`MemoryStore`] is the in-memory implementation for tests.

mod memory;

pub use memory::MemoryStore;

use bytes::Bytes;
use tandem_codec::Code;
use tandem_codec::session::{Chat, Contact, EventBody, Message};

use crate::PublicKey;

/// A store failure. The core treats it as fatal for the affected session
/// and acknowledges nothing that depended on it.
#[derive(Debug, thiserror::Error)]
#[error("store: {0}")]
pub struct StoreError(pub String);

/// A linked companion as the primary records it (spec §9).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompanionRecord {
    /// The companion's static key.
    pub key: PublicKey,
    /// Its device name from pairing.
    pub device_name: String,
    /// When it was linked, Unix milliseconds.
    pub linked_at_ms: u64,
    /// When it was last connected, Unix milliseconds (0: never).
    pub last_seen_ms: u64,
    /// Its highest acknowledged seq ([SYNC-16]).
    pub cursor: u64,
}

/// What the primary knows about a companion key (spec §5.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyStatus {
    /// Linked.
    Linked(CompanionRecord),
    /// Revoked or unlinked once: refused from then on ([DEV-04]).
    Revoked,
    /// Never linked.
    Unknown,
}

/// The answer to a send, stored under its client id so that a retry gets
/// the same one ([SYNC-18], [SYNC-20]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendOutcome {
    /// Applied as this message, whose `MessageAdded` event has this seq.
    Applied {
        /// The new message.
        message_id: u64,
        /// Its `MessageAdded` event.
        seq: u64,
    },
    /// Refused with this code.
    Failed(Code),
}

/// One atomic, durable change: rows to upsert, events to append with the
/// seqs given (consecutive, following the head), and a send's outcome.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Commit {
    /// Messages to insert or replace (by message id).
    pub messages: Vec<Message>,
    /// Chats to insert or replace (by chat id).
    pub chats: Vec<Chat>,
    /// Contacts to insert or replace (by contact id).
    pub contacts: Vec<Contact>,
    /// Events to append, with their seqs.
    pub events: Vec<(u64, EventBody)>,
    /// A companion send to remember: (companion, client id, outcome).
    pub send: Option<(PublicKey, [u8; 16], SendOutcome)>,
}

/// How much of a media file the primary holds (spec §8.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaState {
    /// Nothing.
    Absent,
    /// The first `bytes` bytes, durable, from an interrupted upload.
    Partial {
        /// Bytes held.
        bytes: u64,
    },
    /// The whole file, verified.
    Complete {
        /// Its size.
        size: u64,
    },
}

/// Durable storage for a primary.
pub trait Store {
    /// The log id (spec §7.2); never 0, fixed when the store is created.
    fn log_id(&self) -> u64;
    /// The highest seq in the log (0 when empty).
    fn head(&self) -> Result<u64, StoreError>;
    /// The lowest seq still in the log; events below it were compacted.
    fn first_retained(&self) -> Result<u64, StoreError>;
    /// Up to `limit` events after `after`, in order.
    fn events_after(&self, after: u64, limit: usize) -> Result<Vec<(u64, EventBody)>, StoreError>;
    /// The highest message id ever used (0 when none).
    fn max_message_id(&self) -> Result<u64, StoreError>;

    /// Every chat, most recently active first.
    fn chats(&self) -> Result<Vec<Chat>, StoreError>;
    /// One chat.
    fn chat(&self, chat_id: u64) -> Result<Option<Chat>, StoreError>;
    /// Every contact.
    fn contacts(&self) -> Result<Vec<Contact>, StoreError>;
    /// One message.
    fn message(&self, message_id: u64) -> Result<Option<Message>, StoreError>;
    /// The newest `limit` messages of a chat with an id below `before`
    /// (`0`: no bound), oldest first, and whether older ones exist.
    fn messages(
        &self,
        chat_id: u64,
        before: u64,
        limit: usize,
    ) -> Result<(Vec<Message>, bool), StoreError>;

    /// Applies `commit` atomically and durably.
    fn commit(&mut self, commit: Commit) -> Result<(), StoreError>;
    /// A send seen before, by companion and client id.
    fn send_outcome(
        &self,
        companion: &PublicKey,
        client_id: &[u8; 16],
    ) -> Result<Option<SendOutcome>, StoreError>;

    /// What the primary knows about a companion key.
    fn key_status(&self, key: &PublicKey) -> Result<KeyStatus, StoreError>;
    /// Every linked companion.
    fn companions(&self) -> Result<Vec<CompanionRecord>, StoreError>;
    /// Links a companion durably ([PAIR-07]).
    fn link_companion(&mut self, record: CompanionRecord) -> Result<(), StoreError>;
    /// Revokes a companion durably; returns whether it was linked.
    fn revoke_companion(&mut self, key: &PublicKey) -> Result<bool, StoreError>;
    /// Records a companion's cursor and last-seen time durably.
    fn record_cursor(
        &mut self,
        key: &PublicKey,
        cursor: u64,
        seen_ms: u64,
    ) -> Result<(), StoreError>;

    /// How much of a media file is held.
    fn media_state(&self, media_id: &[u8; 32]) -> Result<MediaState, StoreError>;
    /// Writes a chunk of an upload durably at `offset` (which is the number
    /// of bytes held so far).
    fn write_media(
        &mut self,
        media_id: &[u8; 32],
        offset: u64,
        data: &[u8],
    ) -> Result<(), StoreError>;
    /// Marks an upload complete at `size` bytes after the core checked its
    /// hash.
    fn complete_media(&mut self, media_id: &[u8; 32], size: u64) -> Result<(), StoreError>;
    /// Drops a partial upload (hash mismatch).
    fn discard_media(&mut self, media_id: &[u8; 32]) -> Result<(), StoreError>;
    /// Reads `len` bytes at `offset` of a held file (complete or partial).
    fn read_media(&self, media_id: &[u8; 32], offset: u64, len: usize)
    -> Result<Bytes, StoreError>;
}
