//! The in-memory [`Store`] for tests and the deterministic harness. Every
//! commit is "durable" the moment it returns; a primary restart in tests
//! keeps the store and drops everything else.

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;
use tandem_codec::session::{Chat, Contact, EventBody, Message};

use super::{Commit, CompanionRecord, KeyStatus, MediaState, SendOutcome, Store, StoreError};
use crate::PublicKey;

/// A store held in memory.
#[derive(Clone, Debug)]
pub struct MemoryStore {
    log_id: u64,
    events: BTreeMap<u64, EventBody>,
    compacted_through: u64,
    chats: BTreeMap<u64, Chat>,
    contacts: BTreeMap<u64, Contact>,
    messages: BTreeMap<u64, Message>,
    sends: HashMap<(PublicKey, [u8; 16]), SendOutcome>,
    companions: BTreeMap<PublicKey, CompanionRecord>,
    revoked: Vec<PublicKey>,
    media: HashMap<[u8; 32], (Vec<u8>, bool)>,
}

impl MemoryStore {
    /// An empty store with this log id (never 0).
    pub fn new(log_id: u64) -> Self {
        Self {
            log_id: log_id.max(1),
            events: BTreeMap::new(),
            compacted_through: 0,
            chats: BTreeMap::new(),
            contacts: BTreeMap::new(),
            messages: BTreeMap::new(),
            sends: HashMap::new(),
            companions: BTreeMap::new(),
            revoked: Vec::new(),
            media: HashMap::new(),
        }
    }

    /// Drops every event up to and including `seq`, as a primary that
    /// compacts its log would (spec §7.5).
    pub fn compact_through(&mut self, seq: u64) {
        self.events.retain(|&s, _| s > seq);
        self.compacted_through = self.compacted_through.max(seq);
    }

    /// Every message, for checks in tests.
    pub fn all_messages(&self) -> impl Iterator<Item = &Message> {
        self.messages.values()
    }
}

impl Store for MemoryStore {
    fn log_id(&self) -> u64 {
        self.log_id
    }

    fn head(&self) -> Result<u64, StoreError> {
        Ok(self
            .events
            .keys()
            .next_back()
            .copied()
            .unwrap_or(self.compacted_through))
    }

    fn first_retained(&self) -> Result<u64, StoreError> {
        Ok(self.compacted_through + 1)
    }

    fn events_after(&self, after: u64, limit: usize) -> Result<Vec<(u64, EventBody)>, StoreError> {
        Ok(self
            .events
            .range(after + 1..)
            .take(limit)
            .map(|(&seq, event)| (seq, event.clone()))
            .collect())
    }

    fn max_message_id(&self) -> Result<u64, StoreError> {
        Ok(self.messages.keys().next_back().copied().unwrap_or(0))
    }

    fn chats(&self) -> Result<Vec<Chat>, StoreError> {
        let mut chats: Vec<Chat> = self.chats.values().cloned().collect();
        chats.sort_by(|a, b| {
            b.last_message_id
                .cmp(&a.last_message_id)
                .then(a.chat_id.cmp(&b.chat_id))
        });
        Ok(chats)
    }

    fn chat(&self, chat_id: u64) -> Result<Option<Chat>, StoreError> {
        Ok(self.chats.get(&chat_id).cloned())
    }

    fn contacts(&self) -> Result<Vec<Contact>, StoreError> {
        Ok(self.contacts.values().cloned().collect())
    }

    fn message(&self, message_id: u64) -> Result<Option<Message>, StoreError> {
        Ok(self.messages.get(&message_id).cloned())
    }

    fn messages(
        &self,
        chat_id: u64,
        before: u64,
        limit: usize,
    ) -> Result<(Vec<Message>, bool), StoreError> {
        let upper = if before == 0 { u64::MAX } else { before };
        let mut older = self
            .messages
            .range(..upper)
            .rev()
            .filter(|(_, m)| m.chat_id == chat_id);
        let mut page: Vec<Message> = older.by_ref().take(limit).map(|(_, m)| m.clone()).collect();
        let has_more = older.next().is_some();
        page.reverse();
        Ok((page, has_more))
    }

    fn commit(&mut self, commit: Commit) -> Result<(), StoreError> {
        for (expected, (seq, _)) in (self.head()? + 1..).zip(&commit.events) {
            if *seq != expected {
                return Err(StoreError(format!("event seq {seq}, expected {expected}")));
            }
        }
        for message in commit.messages {
            self.messages.insert(message.message_id, message);
        }
        for chat in commit.chats {
            self.chats.insert(chat.chat_id, chat);
        }
        for contact in commit.contacts {
            self.contacts.insert(contact.contact_id, contact);
        }
        self.events.extend(commit.events);
        if let Some((key, client_id, outcome)) = commit.send {
            self.sends.insert((key, client_id), outcome);
        }
        Ok(())
    }

    fn send_outcome(
        &self,
        companion: &PublicKey,
        client_id: &[u8; 16],
    ) -> Result<Option<SendOutcome>, StoreError> {
        Ok(self.sends.get(&(*companion, *client_id)).copied())
    }

    fn key_status(&self, key: &PublicKey) -> Result<KeyStatus, StoreError> {
        if let Some(record) = self.companions.get(key) {
            return Ok(KeyStatus::Linked(record.clone()));
        }
        if self.revoked.contains(key) {
            return Ok(KeyStatus::Revoked);
        }
        Ok(KeyStatus::Unknown)
    }

    fn companions(&self) -> Result<Vec<CompanionRecord>, StoreError> {
        Ok(self.companions.values().cloned().collect())
    }

    fn link_companion(&mut self, record: CompanionRecord) -> Result<(), StoreError> {
        self.revoked.retain(|key| key != &record.key);
        self.companions.insert(record.key, record);
        Ok(())
    }

    fn revoke_companion(&mut self, key: &PublicKey) -> Result<bool, StoreError> {
        let was_linked = self.companions.remove(key).is_some();
        if !self.revoked.contains(key) {
            self.revoked.push(*key);
        }
        Ok(was_linked)
    }

    fn record_cursor(
        &mut self,
        key: &PublicKey,
        cursor: u64,
        seen_ms: u64,
    ) -> Result<(), StoreError> {
        if let Some(record) = self.companions.get_mut(key) {
            record.cursor = cursor;
            record.last_seen_ms = seen_ms;
        }
        Ok(())
    }

    fn media_state(&self, media_id: &[u8; 32]) -> Result<MediaState, StoreError> {
        Ok(match self.media.get(media_id) {
            None => MediaState::Absent,
            Some((data, true)) => MediaState::Complete {
                size: data.len() as u64,
            },
            Some((data, false)) => MediaState::Partial {
                bytes: data.len() as u64,
            },
        })
    }

    fn write_media(
        &mut self,
        media_id: &[u8; 32],
        offset: u64,
        data: &[u8],
    ) -> Result<(), StoreError> {
        // A refused write changes nothing.
        let held = self
            .media
            .get(media_id)
            .map_or(0, |(file, _)| file.len() as u64);
        if offset != held {
            return Err(StoreError(format!("write at {offset}, file has {held}")));
        }
        let (file, _) = self
            .media
            .entry(*media_id)
            .or_insert_with(|| (Vec::new(), false));
        file.extend_from_slice(data);
        Ok(())
    }

    fn complete_media(&mut self, media_id: &[u8; 32], size: u64) -> Result<(), StoreError> {
        match self.media.get_mut(media_id) {
            Some((file, complete)) if file.len() as u64 == size => {
                *complete = true;
                Ok(())
            }
            _ => Err(StoreError(
                "complete_media on a file of the wrong size".into(),
            )),
        }
    }

    fn discard_media(&mut self, media_id: &[u8; 32]) -> Result<(), StoreError> {
        self.media.remove(media_id);
        Ok(())
    }

    fn read_media(
        &self,
        media_id: &[u8; 32],
        offset: u64,
        len: usize,
    ) -> Result<Bytes, StoreError> {
        let (file, _) = self
            .media
            .get(media_id)
            .ok_or_else(|| StoreError("no such media".into()))?;
        let start = usize::try_from(offset).map_err(|_| StoreError("offset".into()))?;
        let end = start.saturating_add(len).min(file.len());
        file.get(start..end)
            .map(Bytes::copy_from_slice)
            .ok_or_else(|| StoreError("read beyond the file".into()))
    }
}
