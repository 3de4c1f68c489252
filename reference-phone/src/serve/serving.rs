//! The serving loop's state and its reactions (spec §7, §9): driver events
//! printed and acted on (the simulated network, last-seen times [DEV-02],
//! pairing progress), the inbox applied, and the simulation's due actions.

use tandem_client::{Clock, DriverEvent, Handle};
use tandem_codec::session::Body;
use tandem_proto::PublicKey;
use tandem_proto::primary::{Confirmation, PrimaryEvent};
use tandem_proto::store::{KeyStatus, Store};
use tokio::sync::mpsc;

use super::report;
use super::simulation::{Action, Simulation};
use super::{Notice, ServeError, ServeOptions, apply_inbox};
use crate::control::protocol::Reply;
use crate::control::server::LinkUpdate;
use crate::display::{device_id, plain};
use crate::phone::Phone;

/// The serving loop's state.
pub(super) struct Serving {
    pub(super) handle: Handle<Phone>,
    pub(super) clock: Clock,
    pub(super) options: ServeOptions,
    pub(super) simulation: Simulation,
    /// The link in progress, started through the control socket.
    pub(super) link: Option<mpsc::Sender<LinkUpdate>>,
    /// Where an embedded application hears what happens, if there is one.
    pub(super) notices: Option<mpsc::UnboundedSender<Notice>>,
}

impl Serving {
    pub(super) async fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Phone, tandem_proto::Instant) -> R + Send + 'static,
    ) -> Result<R, ServeError> {
        Ok(self.handle.call(f).await?)
    }

    /// Tells the embedded application, if any; one that left is ignored.
    pub(super) fn notify(&self, notice: Notice) {
        if let Some(notices) = &self.notices {
            let _ = notices.send(notice);
        }
    }

    async fn device_name(&self, key: PublicKey) -> Result<Option<String>, ServeError> {
        self.call(move |p, _| match p.store().key_status(&key) {
            Ok(KeyStatus::Linked(record)) => Some(record.device_name),
            _ => None,
        })
        .await
    }

    pub(super) async fn on_event(
        &mut self,
        event: DriverEvent<PrimaryEvent>,
        print: &impl Fn(&str),
    ) -> Result<(), ServeError> {
        let key = match &event {
            DriverEvent::Machine(
                PrimaryEvent::CompanionConnected { key, .. }
                | PrimaryEvent::CompanionDisconnected { key: Some(key), .. }
                | PrimaryEvent::Unlinked { key },
            ) => Some(*key),
            _ => None,
        };
        let name = match key {
            Some(key) => self.device_name(key).await?,
            None => None,
        };
        if let Some(line) = report::line(&event, |_| name.clone()) {
            print(&line);
        }
        let event = match event {
            DriverEvent::Machine(event) => event,
            DriverEvent::Disconnected { code, reason } => {
                // A pairing cut with the connection ends with the core's
                // `PairingFailed`, which follows.
                self.notify(Notice::Disconnected { code, reason });
                return Ok(());
            }
            _ => return Ok(()),
        };
        let notice = self.notices.is_some().then(|| event.clone());
        self.on_machine_event(event, print).await?;
        if let Some(event) = notice {
            self.notify(Notice::Machine(event));
        }
        Ok(())
    }

    async fn on_machine_event(
        &mut self,
        event: PrimaryEvent,
        print: &impl Fn(&str),
    ) -> Result<(), ServeError> {
        match event {
            PrimaryEvent::MessageSent(message) => {
                let chat_id = message.chat_id;
                let contact = self
                    .call(move |p, _| p.store().chat(chat_id).ok().flatten())
                    .await?
                    .map(|chat| chat.contact_id);
                if let Some(contact_id) = contact {
                    self.simulation
                        .message_sent(&message, contact_id, tokio::time::Instant::now());
                }
            }
            PrimaryEvent::CompanionDisconnected {
                key: Some(key),
                seen: true,
                ..
            } => {
                // [DEV-02] The last-seen time is stored when a session ends
                // too (the core records it when one starts and on acks); a
                // session that only shook hands was not seen ([RECON-06]).
                let wall = self.clock.wall_now_ms();
                self.call(move |p, _| {
                    if let Ok(KeyStatus::Linked(record)) = p.store().key_status(&key) {
                        let _ = p.store_mut().record_cursor(&key, record.cursor, wall);
                    }
                })
                .await?;
            }
            PrimaryEvent::ConfirmPairing {
                link_id,
                device_name,
                key,
                check_code,
            } => {
                let reply = Reply::Confirm {
                    device_name: plain(&device_name),
                    device_id: device_id(&key),
                    check_code: check_code.to_string(),
                };
                let asked = match &self.link {
                    Some(updates) => updates
                        .send(LinkUpdate::Confirm { link_id, reply })
                        .await
                        .is_ok(),
                    None => false,
                };
                if !asked {
                    // Nobody to ask: declining is the only safe answer.
                    self.call(move |p, now| p.confirm_pairing(now, link_id, Confirmation::Reject))
                        .await?
                        .ok();
                }
            }
            PrimaryEvent::Paired { key, device_name } => {
                self.finish_link(Reply::Paired {
                    device_name: plain(&device_name),
                    device_id: device_id(&key),
                })
                .await;
            }
            PrimaryEvent::PairingFailed { code, reason } => {
                self.finish_link(Reply::Failed {
                    code: Some(code.0),
                    reason: plain(&reason),
                })
                .await;
            }
            PrimaryEvent::StoreFailed(reason) => print(&format!("store failed: {reason}")),
            _ => {}
        }
        Ok(())
    }

    pub(super) async fn finish_link(&mut self, reply: Reply) {
        if let Some(updates) = self.link.take() {
            let _ = updates.send(LinkUpdate::Done(reply)).await;
        }
    }
}

impl Serving {
    pub(super) async fn apply_inbox(&mut self, print: &impl Fn(&str)) -> Result<(), ServeError> {
        loop {
            let applied = self.call(apply_inbox).await?;
            match applied {
                Ok(messages) if messages.is_empty() => return Ok(()),
                Ok(messages) => {
                    self.notify(Notice::StoreChanged);
                    for (_, message) in messages {
                        print(&format!(
                            "received: message {} in chat {}",
                            message.message_id, message.chat_id
                        ));
                    }
                }
                Err(err) => {
                    print(&format!("inbox: {err}"));
                    return Ok(());
                }
            }
        }
    }

    pub(super) async fn simulate(&mut self, print: &impl Fn(&str)) -> Result<(), ServeError> {
        for action in self.simulation.due(tokio::time::Instant::now()) {
            let result = self
                .call(move |p, now| match action {
                    Action::Status { message_id, status } => {
                        p.set_status(now, message_id, status).map(|()| None)
                    }
                    Action::Typing { chat_id, active } => {
                        p.contact_typing(now, chat_id, active).map(|()| None)
                    }
                    Action::Receive { contact_id, text } => p
                        .receive_message(now, contact_id, Body::Text(text))
                        .map(Some),
                    Action::Tick => Ok(None),
                })
                .await?;
            match result {
                Ok(Some(message)) => print(&format!(
                    "received: message {} in chat {}",
                    message.message_id, message.chat_id
                )),
                Ok(None) => {}
                Err(err) => print(&format!("simulation: {err}")),
            }
            self.notify(Notice::StoreChanged);
        }
        Ok(())
    }
}
