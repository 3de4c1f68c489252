//! What the phone's owner and the simulated network do to the store while
//! serving (spec §7.1, §7.4): a new contact with its chat, a text arriving
//! from a chat's contact, and a text the owner sends from the phone itself,
//! each checked here and applied by the core.

use tandem_codec::limits::{MAX_BODY, MAX_TITLE};
use tandem_codec::session::{Body, Chat, Message};
use tandem_proto::store::{Store, StoreError};
use tandem_proto::{Error, Instant};

use crate::phone::Phone;

/// Why an action of the owner or the network was not done.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OwnerError {
    /// A value out of range (an empty or oversized name or text).
    #[error("{0}")]
    Invalid(String),
    /// No chat has this id.
    #[error("no chat {0}")]
    UnknownChat(u64),
    /// The core or the store failed.
    #[error(transparent)]
    Core(#[from] Error),
}

impl From<StoreError> for OwnerError {
    fn from(err: StoreError) -> Self {
        Self::Core(Error::Store(err.0))
    }
}

/// Adds a contact and its chat; returns their ids.
pub(super) fn add_contact(
    phone: &mut Phone,
    now: Instant,
    name: &str,
) -> Result<(u64, u64), OwnerError> {
    if name.trim().is_empty() || name.len() > MAX_TITLE {
        return Err(OwnerError::Invalid(format!(
            "a contact's name is 1 to {MAX_TITLE} bytes, not only spaces"
        )));
    }
    let contact_id = phone.add_contact(now, name)?;
    let chat_id = phone
        .store()
        .chats()?
        .into_iter()
        .find(|chat| chat.contact_id == contact_id)
        .map(|chat| chat.chat_id)
        .ok_or_else(|| Error::Store(format!("contact {contact_id} has no chat")))?;
    Ok((contact_id, chat_id))
}

/// A text from the contact of `chat_id` arrives from the network.
pub(super) fn receive(
    phone: &mut Phone,
    now: Instant,
    chat_id: u64,
    text: String,
) -> Result<Message, OwnerError> {
    check_text(&text)?;
    let chat = known_chat(phone, chat_id)?;
    Ok(phone.receive_message(now, chat.contact_id, Body::Text(text))?)
}

/// The owner sends `text` in `chat_id` from the phone: stored as sent and
/// pushed to the connected companions by the core.
pub(super) fn send(
    phone: &mut Phone,
    now: Instant,
    chat_id: u64,
    text: String,
) -> Result<Message, OwnerError> {
    check_text(&text)?;
    known_chat(phone, chat_id)?;
    Ok(phone.send_own_message(now, chat_id, Body::Text(text))?)
}

fn check_text(text: &str) -> Result<(), OwnerError> {
    if text.is_empty() || text.len() > MAX_BODY {
        return Err(OwnerError::Invalid(format!(
            "a text is 1 to {MAX_BODY} bytes, this one is {}",
            text.len()
        )));
    }
    Ok(())
}

fn known_chat(phone: &Phone, chat_id: u64) -> Result<Chat, OwnerError> {
    phone
        .store()
        .chat(chat_id)?
        .ok_or(OwnerError::UnknownChat(chat_id))
}
