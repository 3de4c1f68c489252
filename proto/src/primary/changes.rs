//! The primary's changes to its state as commits (spec §7.4, §7.6, §7.8):
//! the rows that change and the events that announce them, numbered after
//! the head, applied atomically by the store.

use tandem_codec::Code;
use tandem_codec::session::{Body, Chat, Contact, EventBody, Message, MessageStatus, Send};

use super::store_error;
use crate::faults::{Fault, Faults};
use crate::store::{Commit, SendOutcome, Store};
use crate::{Error, PublicKey};

/// Numbers events after the store's head.
struct Events {
    next: u64,
    list: Vec<(u64, EventBody)>,
}

impl Events {
    fn after_head(store: &impl Store) -> Result<Self, Error> {
        Ok(Self {
            next: store.head().map_err(store_error)? + 1,
            list: Vec::new(),
        })
    }

    fn push(&mut self, event: EventBody) -> u64 {
        let seq = self.next;
        self.list.push((seq, event));
        self.next += 1;
        seq
    }
}

/// A new contact with its chat.
pub(super) fn add_contact(store: &impl Store, name: &str) -> Result<Commit, Error> {
    let contact_id = store
        .contacts()
        .map_err(store_error)?
        .iter()
        .map(|c| c.contact_id)
        .max()
        .unwrap_or(0)
        + 1;
    let chat_id = store
        .chats()
        .map_err(store_error)?
        .iter()
        .map(|c| c.chat_id)
        .max()
        .unwrap_or(0)
        + 1;
    let contact = Contact {
        contact_id,
        name: name.to_owned(),
    };
    let chat = Chat {
        chat_id,
        contact_id,
        title: name.to_owned(),
        unread: 0,
        last_message_id: 0,
    };
    let mut events = Events::after_head(store)?;
    events.push(EventBody::ContactUpdated(contact.clone()));
    events.push(EventBody::ChatUpdated(chat.clone()));
    Ok(Commit {
        contacts: vec![contact],
        chats: vec![chat],
        events: events.list,
        ..Commit::default()
    })
}

/// A message from a contact: stored, its chat's unread count raised.
pub(super) fn incoming(
    store: &impl Store,
    contact_id: u64,
    body: Body,
    wall_ms: u64,
) -> Result<(Message, Commit), Error> {
    let chats = store.chats().map_err(store_error)?;
    let Some(mut chat) = chats.into_iter().find(|c| c.contact_id == contact_id) else {
        return Err(Error::protocol(
            Code::UNKNOWN_CHAT,
            format!("no chat with contact {contact_id}"),
        ));
    };
    chat.unread = chat.unread.saturating_add(1);
    added(store, chat, contact_id, MessageStatus::None, body, wall_ms)
}

/// A message the owner sends from the primary itself (§7.1: sender 0,
/// status sent).
pub(super) fn own(
    store: &impl Store,
    chat_id: u64,
    body: Body,
    wall_ms: u64,
) -> Result<(Message, Commit), Error> {
    let Some(chat) = store.chat(chat_id).map_err(store_error)? else {
        return Err(Error::protocol(
            Code::UNKNOWN_CHAT,
            format!("no chat {chat_id}"),
        ));
    };
    added(store, chat, 0, MessageStatus::Sent, body, wall_ms)
}

/// A new message in `chat`: stored with its `MessageAdded` and the chat's
/// `ChatUpdated`, numbered after the head.
fn added(
    store: &impl Store,
    mut chat: Chat,
    sender: u64,
    status: MessageStatus,
    body: Body,
    wall_ms: u64,
) -> Result<(Message, Commit), Error> {
    let message = Message {
        message_id: store.max_message_id().map_err(store_error)? + 1,
        chat_id: chat.chat_id,
        sender,
        timestamp_ms: wall_ms,
        status,
        body,
    };
    chat.last_message_id = message.message_id;
    let mut events = Events::after_head(store)?;
    events.push(EventBody::MessageAdded(message.clone()));
    events.push(EventBody::ChatUpdated(chat.clone()));
    let commit = Commit {
        messages: vec![message.clone()],
        chats: vec![chat],
        events: events.list,
        ..Commit::default()
    };
    Ok((message, commit))
}

/// A sent message's status moved (delivered, read); `None` when the
/// message is unknown or the status would go backwards.
pub(super) fn status(
    store: &impl Store,
    message_id: u64,
    status: MessageStatus,
) -> Result<Option<Commit>, Error> {
    let Some(mut message) = store.message(message_id).map_err(store_error)? else {
        return Ok(None);
    };
    if message.sender != 0 || rank(status) <= rank(message.status) {
        return Ok(None);
    }
    message.status = status;
    let mut events = Events::after_head(store)?;
    events.push(EventBody::StatusChanged {
        chat_id: message.chat_id,
        message_id,
        status,
    });
    Ok(Some(Commit {
        messages: vec![message],
        events: events.list,
        ..Commit::default()
    }))
}

fn rank(status: MessageStatus) -> u8 {
    match status {
        MessageStatus::None => 0,
        MessageStatus::Sent => 1,
        MessageStatus::Delivered => 2,
        MessageStatus::Read => 3,
    }
}

/// What a companion's `Send` comes to.
pub(super) struct SendResult {
    /// What to commit before answering; `None` for a retried send.
    pub(super) commit: Option<Commit>,
    /// The answer, the same for every retry ([SYNC-18]).
    pub(super) outcome: SendOutcome,
    /// The new message, to hand to the network.
    pub(super) message: Option<Message>,
}

/// Applies a send at most once per (companion, client id) ([SYNC-17]).
pub(super) fn send(
    store: &impl Store,
    companion: &PublicKey,
    send: &Send,
    wall_ms: u64,
    faults: Faults,
) -> Result<SendResult, Error> {
    // [SYNC-18] On a `Send` whose `(companion key, client_id)` it has seen,
    // the primary MUST NOT apply it again and MUST answer the same.
    let seen = store
        .send_outcome(companion, &send.client_id)
        .map_err(store_error)?
        // Fault [SYNC-18]: the client id is forgotten, the send applied again.
        .filter(|_| !faults.has(Fault::ApplyRetriedSendTwice));
    if let Some(mut outcome) = seen {
        if let SendOutcome::Applied { seq, .. } = &mut outcome
            && faults.has(Fault::RetriedSendAckNamesHead)
        {
            // Fault [SYNC-18]: the retry's answer names the head.
            *seq = store.head().map_err(store_error)?;
        }
        return Ok(SendResult {
            commit: None,
            outcome,
            message: None,
        });
    }
    let refusal = |code| SendResult {
        commit: Some(Commit {
            send: Some((*companion, send.client_id, SendOutcome::Failed(code))),
            ..Commit::default()
        }),
        outcome: SendOutcome::Failed(code),
        message: None,
    };
    let Some(mut chat) = store.chat(send.chat_id).map_err(store_error)? else {
        return Ok(refusal(Code::UNKNOWN_CHAT));
    };
    match &send.body {
        Body::Text(_) => {}
        Body::Media(media) => {
            let held = store.media_state(&media.media_id).map_err(store_error)?;
            if held != (crate::store::MediaState::Complete { size: media.size }) {
                return Ok(refusal(Code::MEDIA_NOT_FOUND));
            }
        }
        Body::Unknown { .. } => return Ok(refusal(Code::INVALID_REQUEST)),
    }
    let message = Message {
        message_id: store.max_message_id().map_err(store_error)? + 1,
        chat_id: chat.chat_id,
        sender: 0,
        timestamp_ms: wall_ms,
        status: MessageStatus::Sent,
        body: send.body.clone(),
    };
    chat.last_message_id = message.message_id;
    let mut events = Events::after_head(store)?;
    let seq = events.push(EventBody::MessageAdded(message.clone()));
    events.push(EventBody::ChatUpdated(chat.clone()));
    let outcome = SendOutcome::Applied {
        message_id: message.message_id,
        seq,
    };
    Ok(SendResult {
        commit: Some(Commit {
            messages: vec![message.clone()],
            chats: vec![chat],
            events: events.list,
            send: Some((*companion, send.client_id, outcome)),
            ..Commit::default()
        }),
        outcome,
        message: Some(message),
    })
}

/// The person read a chat up to a message; `None` for an unknown chat.
pub(super) fn mark_read(
    store: &impl Store,
    chat_id: u64,
    up_to: u64,
) -> Result<Option<Commit>, Error> {
    let Some(mut chat) = store.chat(chat_id).map_err(store_error)? else {
        return Ok(None);
    };
    if up_to >= chat.last_message_id {
        chat.unread = 0;
    }
    let mut events = Events::after_head(store)?;
    events.push(EventBody::ChatRead { chat_id, up_to });
    events.push(EventBody::ChatUpdated(chat.clone()));
    Ok(Some(Commit {
        chats: vec![chat],
        events: events.list,
        ..Commit::default()
    }))
}
