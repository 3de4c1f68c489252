//! The companion's copy of the primary's state (spec §7): rebuilt from a
//! snapshot, kept current by events. It lives in memory only; the
//! companion persists no message history (brief: "a small cache").

use std::collections::BTreeMap;

use tandem_codec::session::{Chat, Contact, EventBody, Message};

/// What the companion knows of the primary's account.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cache {
    /// The log this copy follows (0: none).
    pub log_id: u64,
    /// The highest seq applied.
    pub seq: u64,
    /// Chats by id.
    pub chats: BTreeMap<u64, Chat>,
    /// Contacts by id.
    pub contacts: BTreeMap<u64, Contact>,
    /// Messages by id (all chats).
    pub messages: BTreeMap<u64, Message>,
    /// Per chat, whether older history exists than the oldest held.
    pub older_history: BTreeMap<u64, bool>,
}

impl Cache {
    /// Chats, most recently active first.
    pub fn chat_list(&self) -> Vec<&Chat> {
        let mut chats: Vec<&Chat> = self.chats.values().collect();
        chats.sort_by(|a, b| {
            b.last_message_id
                .cmp(&a.last_message_id)
                .then(a.chat_id.cmp(&b.chat_id))
        });
        chats
    }

    /// A chat's messages held, oldest first.
    pub fn messages_of(&self, chat_id: u64) -> Vec<&Message> {
        self.messages
            .values()
            .filter(|m| m.chat_id == chat_id)
            .collect()
    }

    pub(crate) fn clear(&mut self) {
        *self = Self::default();
    }

    pub(crate) fn add_messages(&mut self, chat_id: u64, messages: Vec<Message>, has_more: bool) {
        let oldest_new = messages.first().map(|m| m.message_id);
        let oldest_held = self.messages_of(chat_id).first().map(|m| m.message_id);
        for message in messages {
            self.messages.insert(message.message_id, message);
        }
        // The marker describes the older end of what we hold.
        if oldest_held.is_none() || oldest_new < oldest_held {
            self.older_history.insert(chat_id, has_more);
        }
    }

    pub(crate) fn apply(&mut self, event: &EventBody) {
        match event {
            EventBody::MessageAdded(message) => {
                self.messages.insert(message.message_id, message.clone());
            }
            EventBody::StatusChanged {
                message_id, status, ..
            } => {
                if let Some(message) = self.messages.get_mut(message_id) {
                    message.status = *status;
                }
            }
            EventBody::ChatUpdated(chat) => {
                self.chats.insert(chat.chat_id, chat.clone());
            }
            EventBody::ContactUpdated(contact) => {
                self.contacts.insert(contact.contact_id, contact.clone());
            }
            // [SYNC-09] An event of an unknown kind MUST be acknowledged and
            // otherwise ignored; `ChatRead` is followed by `ChatUpdated`.
            EventBody::ChatRead { .. } | EventBody::Unknown { .. } => {}
        }
    }
}
