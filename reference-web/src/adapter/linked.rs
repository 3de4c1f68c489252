//! The linked companion as the adapter reports it (spec §5, §7, §12.5.4): the
//! session of `watch` and `chat`, its reports turned into the events the
//! person would see (`peer`, `message`, `send_result`, `closed`, `unlinked`).

use std::collections::BTreeMap;

use serde_json::{Value, json};
use tandem_client::DriverEvent;
use tandem_codec::session::Message;
use tandem_proto::companion::CompanionEvent;

use super::events::{self, Scope};
use crate::error::WebError;
use crate::session::{Event, Session, SessionOptions};
use crate::state::StateDir;

/// A linked companion's session, and what the person was last shown.
pub(crate) struct Linked {
    session: Session,
    /// Every message shown, as last shown.
    shown: BTreeMap<u64, Message>,
    /// What the person was last shown of the phone.
    peer: Option<bool>,
}

impl Linked {
    /// Connects the companion linked in `state` (its queue restored).
    pub(crate) fn open(state: &StateDir, options: &SessionOptions) -> Result<Self, WebError> {
        Ok(Self {
            session: Session::open(state, options)?,
            shown: BTreeMap::new(),
            peer: None,
        })
    }

    /// The session.
    pub(crate) fn session(&self) -> &Session {
        &self.session
    }

    /// Whether it is still linked (not wiped).
    pub(crate) fn is_linked(&self) -> bool {
        self.session.wiped().is_none()
    }

    /// The next report; `None` once the driver stopped. Cancel-safe.
    pub(crate) async fn recv(&mut self) -> Option<Event> {
        self.session.recv().await
    }

    /// Acts on a report (queue written, state wiped) and returns the events
    /// the person is shown.
    pub(crate) async fn on_event(&mut self, event: &Event) -> Result<Vec<Value>, WebError> {
        if !self.is_linked() {
            // Wiped ([RECON-07], [DEV-07]): what the ending session still
            // reports is not shown, and its driver may already be gone.
            return Ok(Vec::new());
        }
        self.session.observe(event).await?;
        let mut out = Vec::new();
        match event {
            DriverEvent::Machine(event) => self.machine(event, &mut out).await?,
            DriverEvent::Disconnected { code, reason } => {
                tracing::info!(code = code.0, %reason, "relay connection lost; reconnecting");
                self.peer = None;
                out.push(events::closed(*code, Scope::Connection));
            }
            DriverEvent::ConnectFailed { error, retry_in } => {
                tracing::info!(%error, ?retry_in, "cannot reach the relay");
            }
            DriverEvent::MachineError(reason) => {
                tracing::warn!(%reason, "the companion failed; the connection was closed");
            }
            _ => {}
        }
        Ok(out)
    }

    async fn machine(
        &mut self,
        event: &CompanionEvent,
        out: &mut Vec<Value>,
    ) -> Result<(), WebError> {
        match event {
            CompanionEvent::PrimaryOnline(online) if self.peer != Some(*online) => {
                self.peer = Some(*online);
                out.push(events::peer(*online));
            }
            CompanionEvent::MessageAdded(message) => self.show(message.clone(), out),
            CompanionEvent::StatusChanged { message_id, .. } => {
                let id = *message_id;
                let message = self
                    .session
                    .call(move |c, _| c.cache().messages.get(&id).cloned())
                    .await?;
                if let Some(message) = message {
                    self.show(message, out);
                }
            }
            // A snapshot or a history page: messages appear all at once.
            CompanionEvent::Synced { .. } | CompanionEvent::History { .. } => {
                let messages = self.session.call(|c, _| c.cache().messages.clone()).await?;
                for message in messages.values() {
                    if self.shown.get(&message.message_id) != Some(message) {
                        out.push(events::message(message));
                    }
                }
                self.shown = messages;
            }
            CompanionEvent::SendAcked {
                client_id,
                message_id,
            } => out.push(events::send_acked(client_id, *message_id)),
            CompanionEvent::SendFailed { client_id, code } => {
                out.push(events::send_failed(client_id, *code));
            }
            CompanionEvent::SessionEnded { code } => {
                out.push(events::closed(*code, Scope::Session));
            }
            CompanionEvent::Wiped { code, reason } => {
                self.shown.clear();
                out.push(events::unlinked(*code, reason));
            }
            CompanionEvent::RequestFailed {
                code,
                ref_id,
                message,
            } => {
                tracing::info!(code = code.0, ref_id, %message, "a request failed");
            }
            _ => {}
        }
        Ok(())
    }

    fn show(&mut self, message: Message, out: &mut Vec<Value>) {
        if self.shown.get(&message.message_id) != Some(&message) {
            out.push(events::message(&message));
            self.shown.insert(message.message_id, message);
        }
    }

    /// The synced copy, sorted by chat id, then message id (§12.5.3
    /// `received`).
    pub(crate) async fn received(&self) -> Result<Vec<Message>, WebError> {
        if !self.is_linked() {
            // Wiped: the synced copy is gone with the link.
            return Ok(Vec::new());
        }
        let mut messages: Vec<Message> = self
            .session
            .call(|c, _| c.cache().messages.values().cloned().collect())
            .await?;
        messages.sort_by_key(|m| (m.chat_id, m.message_id));
        Ok(messages)
    }

    /// `status` for a companion.
    pub(crate) fn status(&self) -> Value {
        if !self.is_linked() {
            return not_linked_status();
        }
        json!({
            "linked": true,
            "account_name": self.session.link().credentials.account_name,
            "primary_online": self.session.phone_online() == Some(true),
        })
    }

    /// Closes the connection as on a normal quit, writing the final queue.
    pub(crate) async fn close(self) -> Result<(), WebError> {
        self.session.close().await
    }
}

/// `status` of a companion that is not linked.
pub(crate) fn not_linked_status() -> Value {
    json!({ "linked": false, "account_name": null, "primary_online": false })
}
