//! `chats` and `messages`: the store as the phone's owner sees it (spec
//! §7.1: chats most recently active first, messages oldest first), read
//! from the database while `serve` may be writing it (WAL readers).

use serde::Serialize;
use tandem_codec::session::{Body, Message, MessageStatus};
use tandem_proto::store::Store;

use super::CommandError;
use crate::state::State;

/// One chat.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChatRow {
    /// The chat id.
    pub chat_id: u64,
    /// Its title.
    pub title: String,
    /// Unread messages.
    pub unread: u32,
    /// The newest message id (0: none).
    pub last_message_id: u64,
    /// The newest message, shortened.
    pub preview: Option<String>,
}

/// One message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MessageRow {
    /// The message id.
    pub message_id: u64,
    /// Its chat.
    pub chat_id: u64,
    /// The author's name (`me` for the account's owner).
    pub from: String,
    /// Unix milliseconds on the phone's clock.
    pub timestamp_ms: u64,
    /// `none`, `sent`, `delivered` or `read`.
    pub status: &'static str,
    /// The body as text.
    pub text: String,
}

/// A body as one line of text.
pub fn body_text(body: &Body) -> String {
    match body {
        Body::Text(text) => text.clone(),
        Body::Media(media) => {
            let caption = if media.caption.is_empty() {
                String::new()
            } else {
                format!(": {}", media.caption)
            };
            format!(
                "[file {} {} {} bytes sha256 {}]{caption}",
                media.name,
                media.mime,
                media.size,
                hex::encode(media.media_id)
            )
        }
        Body::Unknown { kind, content } => {
            format!(
                "[unsupported message of kind {kind}, {} bytes]",
                content.len()
            )
        }
    }
}

fn status_name(status: MessageStatus) -> &'static str {
    match status {
        MessageStatus::None => "none",
        MessageStatus::Sent => "sent",
        MessageStatus::Delivered => "delivered",
        MessageStatus::Read => "read",
    }
}

/// Every chat.
pub fn chats(state: &State) -> Result<Vec<ChatRow>, CommandError> {
    let store = state.store()?;
    let mut rows = Vec::new();
    for chat in store.chats()? {
        let preview = store
            .message(chat.last_message_id)?
            .map(|m| shorten(&body_text(&m.body), 60));
        rows.push(ChatRow {
            chat_id: chat.chat_id,
            title: chat.title,
            unread: chat.unread,
            last_message_id: chat.last_message_id,
            preview,
        });
    }
    Ok(rows)
}

/// The newest `limit` messages of a chat named by id or title.
pub fn messages(state: &State, chat: &str, limit: usize) -> Result<Vec<MessageRow>, CommandError> {
    let store = state.store()?;
    let chats = store.chats()?;
    let found = chats
        .iter()
        .find(|c| c.chat_id.to_string() == chat)
        .or_else(|| chats.iter().find(|c| c.title.eq_ignore_ascii_case(chat)))
        .ok_or_else(|| CommandError::NotFound(format!("no chat {chat:?}")))?;
    let contacts = store.contacts()?;
    let (messages, _) = store.messages(found.chat_id, 0, limit)?;
    Ok(messages
        .into_iter()
        .map(|m: Message| MessageRow {
            message_id: m.message_id,
            chat_id: m.chat_id,
            from: if m.sender == 0 {
                "me".into()
            } else {
                contacts
                    .iter()
                    .find(|c| c.contact_id == m.sender)
                    .map_or_else(|| format!("contact {}", m.sender), |c| c.name.clone())
            },
            timestamp_ms: m.timestamp_ms,
            status: status_name(m.status),
            text: body_text(&m.body),
        })
        .collect())
}

fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}
