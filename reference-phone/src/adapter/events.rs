//! What the person would be shown, as adapter events (spec §12.5.4):
//! pairing progress, companions unlinked or revoked, connections and
//! sessions that closed, and every message that appears or changes in the
//! store, read from its event log (§7.4) so that nothing is missed.

use serde_json::{Value, json};
use tandem_client::Handle;
use tandem_codec::Code;
use tandem_codec::session::{EventBody, Message};
use tandem_proto::PublicKey;
use tandem_proto::primary::PrimaryEvent;
use tandem_proto::store::Store;

use crate::display::plain;
use crate::phone::Phone;
use crate::serve::Notice;

/// Events read from the log per call.
const BATCH: usize = 256;

/// A device id as the adapter writes it: 16 hex digits, no spaces (§12.5.3).
pub(crate) fn device_id(key: &PublicKey) -> String {
    key.fingerprint()
}

/// A code's name, or its number for a code without one.
pub(crate) fn reason(code: Code) -> String {
    code.name()
        .map_or_else(|| code.0.to_string(), ToOwned::to_owned)
}

/// `check_code`: the code as six digits, beside the companion's name.
pub(crate) fn check_code(code: &str, device_name: &str, device_id: &str) -> Value {
    let digits: String = code.chars().filter(char::is_ascii_digit).collect();
    json!({
        "type": "check_code",
        "code": digits,
        "device_name": device_name,
        "device_id": device_id.replace(' ', ""),
    })
}

/// `linked`: the link is stored ([PAIR-07]).
pub(crate) fn linked(device_id: &str, device_name: &str) -> Value {
    json!({
        "type": "linked",
        "device_id": device_id.replace(' ', ""),
        "device_name": device_name,
    })
}

/// `pairing_failed`, for a code (0 when refused before anything was sent).
pub(crate) fn pairing_failed(code: u16, reason: &str, message: &str) -> Value {
    json!({
        "type": "pairing_failed",
        "code": code,
        "reason": reason,
        "message": message,
    })
}

/// The events a notice of the serving loop shows; `None` for those that
/// show nothing.
pub(crate) fn from_notice(notice: &Notice) -> Option<Value> {
    Some(match notice {
        Notice::Machine(PrimaryEvent::Unlinked { key }) => unlinked(key, Code::UNLINKED),
        Notice::Revoked(key) => unlinked(key, Code::DEVICE_REVOKED),
        Notice::Machine(PrimaryEvent::CompanionDisconnected {
            key: Some(key),
            code,
            ..
        }) => json!({
            "type": "closed",
            "code": code.0,
            "reason": reason(*code),
            "scope": "session",
            "device_id": device_id(key),
        }),
        Notice::Disconnected { code, reason: text } => json!({
            "type": "closed",
            "code": code.0,
            "reason": reason(*code),
            "scope": "connection",
            "message": plain(text),
        }),
        _ => return None,
    })
}

fn unlinked(key: &PublicKey, code: Code) -> Value {
    json!({
        "type": "unlinked",
        "device_id": device_id(key),
        "code": code.0,
        "reason": reason(code),
    })
}

/// `message`, in the §13.2 form.
pub(crate) fn message(message: &Message) -> Value {
    json!({
        "type": "message",
        "message": serde_json::to_value(message).unwrap_or(Value::Null),
    })
}

/// Follows the store's event log from where it stood at start.
#[derive(Debug)]
pub(crate) struct LogTail {
    after: u64,
}

impl LogTail {
    /// Starts at the log's head now: what is already there is not news.
    pub(crate) async fn at_head(handle: &Handle<Phone>) -> Option<Self> {
        let head = handle.call(|p, _| p.store().head()).await.ok()?.ok()?;
        Some(Self { after: head })
    }

    /// The messages added or changed since the last call, in log order;
    /// a status change gives the message with that status.
    pub(crate) async fn news(&mut self, handle: &Handle<Phone>) -> Vec<Message> {
        let mut out = Vec::new();
        loop {
            let after = self.after;
            let read = handle.call(move |p, _| read_news(p.store(), after)).await;
            let (last, messages, full) = match read {
                Ok(Ok(found)) => found,
                Ok(Err(err)) => {
                    tracing::warn!(%err, "cannot read the event log");
                    return out;
                }
                Err(_) => return out,
            };
            self.after = last;
            out.extend(messages);
            if !full {
                return out;
            }
        }
    }
}

/// One batch of the log after `after`: the last seq read, the messages,
/// and whether the batch was full.
fn read_news(
    store: &impl Store,
    after: u64,
) -> Result<(u64, Vec<Message>, bool), tandem_proto::store::StoreError> {
    let events = store.events_after(after, BATCH)?;
    let full = events.len() == BATCH;
    let mut last = after;
    let mut messages = Vec::new();
    for (seq, body) in events {
        last = seq;
        match body {
            EventBody::MessageAdded(message) => messages.push(message),
            EventBody::StatusChanged {
                message_id, status, ..
            } => {
                if let Some(mut message) = store.message(message_id)? {
                    message.status = status;
                    messages.push(message);
                }
            }
            _ => {}
        }
    }
    Ok((last, messages, full))
}
