//! The state the runner serves when it plays the primary for a companion
//! under test (spec §7): an event log with its id and head, chats,
//! contacts and messages, and the frames that a correct primary sends for
//! them: a snapshot (§7.3), events (§7.4), send acknowledgements (§7.6)
//! and history pages (§7.7).

use std::collections::{BTreeMap, HashMap};

use tandem_codec::session::{
    Body, Chat, ChatPage, Contact, ContactPage, Event, EventBody, InnerFrame, Message, MessagePage,
    MessageStatus, SendAck, SnapshotBegin, SnapshotEnd,
};

/// Newest messages per chat in a snapshot (`SNAPSHOT_RECENT`, §7.3).
pub const SNAPSHOT_RECENT: usize = 20;

/// Chats whose messages a snapshot carries (`SNAPSHOT_CHATS`, §7.3).
pub const SNAPSHOT_CHATS: usize = 50;

/// A primary's state as the runner keeps it.
#[derive(Clone, Debug)]
pub struct Model {
    /// The log id.
    pub log_id: u64,
    /// The newest seq.
    pub head: u64,
    /// Chats (a snapshot lists them most recently active first).
    pub chats: Vec<Chat>,
    /// Contacts.
    pub contacts: Vec<Contact>,
    /// Messages per chat, oldest first.
    pub messages: BTreeMap<u64, Vec<Message>>,
    /// Every event, by seq.
    pub events: BTreeMap<u64, Event>,
    /// Sends applied, by client id, with their answer.
    pub sends: HashMap<[u8; 16], SendAck>,
    next_message_id: u64,
}

/// The timestamp every runner message carries (informative, §7.1).
const TIMESTAMP_MS: u64 = 1_764_000_000_000;

impl Model {
    /// A store with `chats` chats, each with its contact and `per_chat`
    /// text messages from that contact, each added by one `MessageAdded`
    /// event, so that the head is `chats * per_chat`.
    pub fn new(log_id: u64, chats: u64, per_chat: u64) -> Self {
        let mut model = Self {
            log_id,
            head: 0,
            chats: Vec::new(),
            contacts: Vec::new(),
            messages: BTreeMap::new(),
            events: BTreeMap::new(),
            sends: HashMap::new(),
            next_message_id: 1000,
        };
        for n in 1..=chats {
            let contact_id = 100 + n;
            model.contacts.push(Contact {
                contact_id,
                name: format!("Contact {n}"),
            });
            model.chats.push(Chat {
                chat_id: n,
                contact_id,
                title: format!("Contact {n}"),
                unread: 0,
                last_message_id: 0,
            });
            for i in 0..per_chat {
                model.incoming_text(n, &format!("message {i} in chat {n}"));
            }
        }
        model
    }

    fn next_id(&mut self) -> u64 {
        self.next_message_id += 1;
        self.next_message_id
    }

    /// Every message, sorted by chat id then message id, as `received`
    /// lists them (§12.5.3).
    pub fn all_messages(&self) -> Vec<Message> {
        self.messages.values().flatten().cloned().collect()
    }

    /// The frames of a snapshot as of the head (§7.3).
    pub fn snapshot(&self) -> Vec<InnerFrame> {
        let mut chats = self.chats.clone();
        chats.sort_by_key(|c| std::cmp::Reverse(c.last_message_id));
        let mut frames = vec![InnerFrame::SnapshotBegin(SnapshotBegin {
            log_id: self.log_id,
            seq: self.head,
            chat_count: u32::try_from(self.chats.len()).unwrap_or(u32::MAX),
            contact_count: u32::try_from(self.contacts.len()).unwrap_or(u32::MAX),
        })];
        for page in chats.chunks(100) {
            frames.push(InnerFrame::ChatPage(ChatPage {
                chats: page.to_vec(),
            }));
        }
        for page in self.contacts.chunks(100) {
            frames.push(InnerFrame::ContactPage(ContactPage {
                contacts: page.to_vec(),
            }));
        }
        for chat in chats.iter().take(SNAPSHOT_CHATS) {
            let list = self
                .messages
                .get(&chat.chat_id)
                .cloned()
                .unwrap_or_default();
            let start = list.len().saturating_sub(SNAPSHOT_RECENT);
            frames.push(InnerFrame::MessagePage(MessagePage {
                request_id: 0,
                chat_id: chat.chat_id,
                has_more: start > 0,
                messages: list[start..].to_vec(),
            }));
        }
        frames.push(InnerFrame::SnapshotEnd(SnapshotEnd { seq: self.head }));
        frames
    }

    fn push_event(&mut self, body: EventBody) -> Event {
        self.head += 1;
        let event = Event {
            seq: self.head,
            body,
        };
        self.events.insert(self.head, event.clone());
        event
    }

    /// A message in `chat_id` from `sender` (0: the owner); returns its
    /// `MessageAdded` event.
    pub fn add_message(&mut self, chat_id: u64, sender: u64, body: Body) -> Event {
        let id = self.next_id();
        let message = Message {
            message_id: id,
            chat_id,
            sender,
            timestamp_ms: TIMESTAMP_MS + id,
            status: if sender == 0 {
                MessageStatus::Sent
            } else {
                MessageStatus::None
            },
            body,
        };
        self.messages
            .entry(chat_id)
            .or_default()
            .push(message.clone());
        if let Some(chat) = self.chats.iter_mut().find(|c| c.chat_id == chat_id) {
            chat.last_message_id = id;
        }
        self.push_event(EventBody::MessageAdded(message))
    }

    /// A text from the chat's contact; returns its event.
    pub fn incoming_text(&mut self, chat_id: u64, text: &str) -> Event {
        let sender = self
            .chats
            .iter()
            .find(|c| c.chat_id == chat_id)
            .map_or(0, |c| c.contact_id);
        self.add_message(chat_id, sender, Body::Text(text.to_owned()))
    }

    /// Applies a `Send` once per client id (§7.6): the acknowledgement,
    /// and the event when it was new.
    pub fn apply_send(
        &mut self,
        client_id: [u8; 16],
        chat_id: u64,
        body: Body,
    ) -> (SendAck, Option<Event>) {
        if let Some(ack) = self.sends.get(&client_id) {
            return (*ack, None);
        }
        let event = self.add_message(chat_id, 0, body);
        let message_id = match &event.body {
            EventBody::MessageAdded(m) => m.message_id,
            _ => 0,
        };
        let ack = SendAck {
            client_id,
            message_id,
            seq: event.seq,
        };
        self.sends.insert(client_id, ack);
        (ack, Some(event))
    }

    /// The events after `seq`, in order.
    pub fn events_after(&self, seq: u64) -> Vec<Event> {
        self.events
            .range(seq.saturating_add(1)..)
            .map(|(_, e)| e.clone())
            .collect()
    }

    /// A history page (§7.7): the newest `limit` messages below `before`
    /// (0: none), oldest first, and whether older ones exist.
    pub fn history(&self, chat_id: u64, before: u64, limit: usize) -> (Vec<Message>, bool) {
        let list = self.messages.get(&chat_id).cloned().unwrap_or_default();
        let older: Vec<Message> = list
            .into_iter()
            .filter(|m| before == 0 || m.message_id < before)
            .collect();
        let start = older.len().saturating_sub(limit);
        (older[start..].to_vec(), start > 0)
    }
}
