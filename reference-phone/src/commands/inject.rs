//! `inject`: a message arriving from the wider network. It goes into the
//! inbox durably; a running `serve` (poked through the control socket)
//! applies it and sends the event live (spec §7.4); with none running, the
//! command takes the writer lock and applies it itself.

use std::time::Duration;

use tandem_client::Clock;
use tandem_codec::limits::MAX_BODY;
use tandem_proto::store::Store;

use super::CommandError;
use crate::control::client::{ControlClient, Serving};
use crate::control::protocol::Request;
use crate::phone::open_phone;
use crate::serve::apply_inbox;
use crate::state::State;

/// Where the injected message went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InjectOutcome {
    /// The running `serve` was told; it delivers the message live.
    Delivered,
    /// No `serve` runs: stored as this message.
    Stored {
        /// The new message.
        message_id: u64,
    },
    /// Stored in the inbox; the next `serve` applies it.
    Queued,
}

/// Injects `text` from the contact named (or numbered) `from`.
pub async fn inject(state: &State, from: &str, text: &str) -> Result<InjectOutcome, CommandError> {
    if text.is_empty() || text.len() > MAX_BODY {
        return Err(CommandError::Invalid(format!(
            "a text is 1 to {MAX_BODY} bytes, this one is {}",
            text.len()
        )));
    }
    let store = state.store()?;
    let contacts = store.contacts()?;
    let contact = find_contact(&contacts, from).ok_or_else(|| {
        let names: Vec<&str> = contacts.iter().map(|c| c.name.as_str()).collect();
        CommandError::NotFound(format!(
            "no contact {from:?} (or more than one); the contacts are: {}",
            names.join(", ")
        ))
    })?;
    let row = store.push_inbox(contact.contact_id, text)?;
    drop(store);
    // The message is durable from here on: whatever happens to a `serve`
    // below, it is applied once, by whoever writes the log next.
    for _ in 0..2 {
        match ControlClient::find(state, Duration::from_secs(5)).await {
            Ok(Serving::Yes(mut client)) => match client.call(&Request::Inbox).await {
                Ok(_) => return Ok(InjectOutcome::Delivered),
                // The serve went away meanwhile (it may have been killed):
                // look again.
                Err(_) => continue,
            },
            Ok(Serving::No(_lock)) => return apply_here(state, row),
            Err(_) => break,
        }
    }
    Ok(InjectOutcome::Queued)
}

/// No `serve` runs and this process holds the writer lock: apply the inbox.
fn apply_here(state: &State, row: i64) -> Result<InjectOutcome, CommandError> {
    let clock = Clock::start();
    let mut phone = open_phone(state, &clock, false)?;
    let mut ours = None;
    loop {
        let applied = apply_inbox(&mut phone, clock.now())?;
        if applied.is_empty() {
            break;
        }
        ours = ours.or(applied.into_iter().find(|(id, _)| *id == row));
    }
    Ok(match ours {
        Some((_, message)) => InjectOutcome::Stored {
            message_id: message.message_id,
        },
        // Applied by a serve that ran meanwhile.
        None => InjectOutcome::Delivered,
    })
}

/// A contact by id, by name, or by a unique prefix of its name (any case).
fn find_contact<'a>(
    contacts: &'a [tandem_codec::session::Contact],
    wanted: &str,
) -> Option<&'a tandem_codec::session::Contact> {
    let lower = wanted.to_lowercase();
    if let Some(exact) = contacts
        .iter()
        .find(|c| c.contact_id.to_string() == wanted || c.name.to_lowercase() == lower)
    {
        return Some(exact);
    }
    let mut prefixed = contacts
        .iter()
        .filter(|c| !lower.is_empty() && c.name.to_lowercase().starts_with(&lower));
    match (prefixed.next(), prefixed.next()) {
        (Some(only), None) => Some(only),
        _ => None,
    }
}
