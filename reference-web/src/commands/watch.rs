//! `watch`: one line per happening while connected (spec §7.4 live events,
//! §7.8 typing, §3.5 the phone's presence, §5.4 reconnects), as text or one
//! JSON object per line, until interrupted or unlinked ([RECON-07]).

use std::future::Future;

use serde_json::json;
use tandem_client::DriverEvent;
use tandem_proto::companion::{Cache, CompanionEvent};

use crate::console::Console;
use crate::error::WebError;
use crate::format::{MessageRow, message_line, status_word};
use crate::reasons;
use crate::session::{Event, Session};

/// Prints what happens until `shutdown` completes.
pub async fn watch(
    session: &mut Session,
    console: &Console,
    json: bool,
    shutdown: impl Future,
) -> Result<(), WebError> {
    tokio::pin!(shutdown);
    loop {
        // `recv` is cancel-safe; the report is acted on once received.
        let event = tokio::select! {
            event = session.recv() => event,
            _ = &mut shutdown => return Ok(()),
        };
        let Some(event) = event else {
            return Ok(());
        };
        session.observe(&event).await?;
        let cache = session.cache().await.unwrap_or_default();
        if let Some(line) = watch_line(&cache, &event, json) {
            console.line(line);
        }
        match event {
            DriverEvent::Machine(CompanionEvent::Wiped { code, .. }) => {
                return Err(WebError::Wiped { code });
            }
            DriverEvent::Stopped => return Ok(()),
            _ => {}
        }
    }
}

/// The line for one report, if it deserves one.
pub fn watch_line(cache: &Cache, event: &Event, json: bool) -> Option<String> {
    let (kind, text, value) = match event {
        DriverEvent::Connected => ("relay", "relay: connected".to_owned(), json!({})),
        DriverEvent::ConnectFailed { error, retry_in } => (
            "relay",
            match retry_in {
                Some(delay) => format!("relay: {error}; retrying in {} ms", delay.as_millis()),
                None => format!("relay: {error}"),
            },
            json!({ "error": error.to_string() }),
        ),
        DriverEvent::Disconnected { code, reason } => (
            "relay",
            format!(
                "relay: disconnected ({}): {reason}; reconnecting",
                reasons::code_text(*code)
            ),
            json!({ "code": code.0 }),
        ),
        DriverEvent::Machine(event) => machine_line(cache, event)?,
        _ => return None,
    };
    if !json {
        return Some(text);
    }
    let mut object = json!({ "event": kind, "text": text });
    if let (Some(target), Some(extra)) = (object.as_object_mut(), value.as_object()) {
        for (key, v) in extra {
            target.insert(key.clone(), v.clone());
        }
    }
    Some(object.to_string())
}

fn machine_line(
    cache: &Cache,
    event: &CompanionEvent,
) -> Option<(&'static str, String, serde_json::Value)> {
    Some(match event {
        CompanionEvent::PrimaryOnline(true) => {
            ("phone", "phone: online".into(), json!({ "online": true }))
        }
        CompanionEvent::PrimaryOnline(false) => (
            "phone",
            "phone: not connected (sends are queued until it is back)".into(),
            json!({ "online": false }),
        ),
        CompanionEvent::SnapshotStarted => ("sync", "sync: full snapshot".into(), json!({})),
        CompanionEvent::Synced { seq } => (
            "synced",
            format!(
                "synced at event {seq}: {} chats, {} messages held",
                cache.chats.len(),
                cache.messages.len()
            ),
            json!({ "seq": seq }),
        ),
        CompanionEvent::MessageAdded(message) => {
            let title = cache
                .chats
                .get(&message.chat_id)
                .map_or_else(|| format!("chat {}", message.chat_id), |c| c.title.clone());
            (
                "message",
                format!("[{title}] {}", message_line(cache, message)),
                serde_json::to_value(MessageRow::new(cache, message)).unwrap_or_default(),
            )
        }
        CompanionEvent::StatusChanged { message_id, status } => (
            "status",
            format!("status: message {message_id} {}", status_word(*status)),
            json!({ "message_id": message_id, "status": status_word(*status) }),
        ),
        CompanionEvent::Typing { chat_id, active } => (
            "typing",
            format!(
                "typing: chat {chat_id} {}",
                if *active { "started" } else { "stopped" }
            ),
            json!({ "chat_id": chat_id, "active": active }),
        ),
        CompanionEvent::SendAcked {
            client_id,
            message_id,
        } => (
            "sent",
            format!(
                "sent: queued send {} is message {message_id}",
                hex::encode(client_id)
            ),
            json!({ "client_id": hex::encode(client_id), "message_id": message_id }),
        ),
        CompanionEvent::SendFailed { client_id, code } => (
            "send_failed",
            format!(
                "send failed: {} ({})",
                hex::encode(client_id),
                reasons::code_text(*code)
            ),
            json!({ "client_id": hex::encode(client_id), "code": code.0 }),
        ),
        CompanionEvent::SessionEnded { code } => (
            "session",
            format!("session ended ({}); resuming", reasons::code_text(*code)),
            json!({ "code": code.0 }),
        ),
        CompanionEvent::Wiped { code, .. } => {
            ("wiped", reasons::wiped(*code), json!({ "code": code.0 }))
        }
        _ => return None,
    })
}
