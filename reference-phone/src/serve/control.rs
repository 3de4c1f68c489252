//! Commands from the control socket, applied by the serving loop: a link
//! over the serving connection (spec §4.5, [PAIR-06]), a revocation that
//! reaches a connected companion at once ([DEV-04], [DEV-05]), and status.

use tandem_codec::qr::QrPayload;
use tandem_proto::primary::Confirmation;
use tandem_proto::store::Store;
use tandem_proto::{Error, PublicKey};
use tokio::sync::mpsc;

use super::serving::Serving;
use super::{Notice, ServeError, owner};
use crate::control::protocol::Reply;
use crate::control::server::{Command, LinkUpdate};
use crate::display::{device_id, normalize_device_id};

impl Serving {
    pub(super) async fn on_command(
        &mut self,
        command: Command,
        print: &impl Fn(&str),
    ) -> Result<(), ServeError> {
        match command {
            Command::Link { payload, updates } => self.start_link(payload, updates).await?,
            Command::Confirm { link_id, accept } => {
                let answer = if accept {
                    Confirmation::Accept
                } else {
                    Confirmation::Reject
                };
                let result = self
                    .call(move |p, now| p.confirm_pairing(now, link_id, answer))
                    .await?;
                if let Err(err) = result {
                    self.finish_link(failed(&err)).await;
                }
            }
            Command::Revoke { device, reply } => {
                let answer = self.revoke(device, print).await?;
                let _ = reply.send(answer);
            }
            Command::Inbox => self.apply_inbox(print).await?,
            Command::AddContact { name, reply } => {
                let result = self
                    .call(move |p, now| owner::add_contact(p, now, &name))
                    .await?;
                let _ = reply.send(result);
            }
            Command::Receive {
                chat_id,
                text,
                reply,
            } => {
                let result = self
                    .call(move |p, now| owner::receive(p, now, chat_id, text))
                    .await?;
                if let Ok(message) = &result {
                    print(&format!(
                        "received: message {} in chat {}",
                        message.message_id, message.chat_id
                    ));
                }
                let _ = reply.send(result);
            }
            Command::Send {
                chat_id,
                text,
                reply,
            } => {
                let result = self
                    .call(move |p, now| owner::send(p, now, chat_id, text))
                    .await?;
                if let Ok(message) = &result {
                    print(&format!(
                        "sent: message {} in chat {}",
                        message.message_id, message.chat_id
                    ));
                    // The network carries it like a companion's send.
                    let contact = self
                        .call(move |p, _| p.store().chat(chat_id).ok().flatten())
                        .await?
                        .map(|chat| chat.contact_id);
                    if let Some(contact_id) = contact {
                        self.simulation.message_sent(
                            message,
                            contact_id,
                            tokio::time::Instant::now(),
                        );
                    }
                }
                let _ = reply.send(result);
            }
            Command::Status { reply } => {
                let relay = self.options.relay.clone();
                let status = self
                    .call(move |p, _| Reply::Status {
                        relay,
                        registered: p.is_registered(),
                        connected: p.connected_companions().iter().map(device_id).collect(),
                    })
                    .await?;
                let _ = reply.send(status);
            }
        }
        Ok(())
    }

    async fn start_link(
        &mut self,
        payload: String,
        updates: mpsc::Sender<LinkUpdate>,
    ) -> Result<(), ServeError> {
        let refuse = |reason: String| LinkUpdate::Done(Reply::Failed { code: None, reason });
        if self.link.as_ref().is_some_and(|link| !link.is_closed()) {
            let _ = updates
                .send(refuse("a link is already in progress".into()))
                .await;
            return Ok(());
        }
        let qr = match QrPayload::from_text(payload.trim()) {
            Ok(qr) => qr,
            Err(err) => {
                let _ = updates
                    .send(refuse(format!("unreadable code: {err}")))
                    .await;
                return Ok(());
            }
        };
        if !same_relay(&qr.relay_url, &self.options.relay) {
            let reason = format!(
                "the code is for relay {}, this phone serves on {}",
                qr.relay_url, self.options.relay
            );
            let _ = updates.send(refuse(reason)).await;
            return Ok(());
        }
        if !self.call(|p, _| p.is_registered()).await? {
            let reason = "the phone is not connected to the relay right now".into();
            let _ = updates.send(refuse(reason)).await;
            return Ok(());
        }
        let result = self.call(move |p, now| p.link(now, qr)).await?;
        match result {
            Ok(()) => {
                let _ = updates.send(LinkUpdate::Started).await;
                self.link = Some(updates);
            }
            Err(err) => {
                let _ = updates.send(LinkUpdate::Done(failed(&err))).await;
            }
        }
        Ok(())
    }

    async fn revoke(&mut self, device: String, print: &impl Fn(&str)) -> Result<Reply, ServeError> {
        let wanted = normalize_device_id(&device);
        let result = self
            .call(
                move |p, now| -> Result<Option<(PublicKey, bool, bool)>, Error> {
                    let companions = p.store().companions().map_err(|e| Error::Store(e.0))?;
                    let Some(key) = find_device(&companions, &wanted) else {
                        return Ok(None);
                    };
                    let connected = p.connected_companions().contains(&key);
                    // [DEV-04], [DEV-05]: stored first, then the session is told.
                    let was_linked = p.revoke(now, &key)?;
                    Ok(Some((key, was_linked, connected)))
                },
            )
            .await?;
        Ok(match result {
            Ok(Some((key, was_linked, was_connected))) => {
                print(&format!("revoked: {}", device_id(&key)));
                self.notify(Notice::Revoked(key));
                Reply::Revoked {
                    device_id: device_id(&key),
                    was_linked,
                    was_connected,
                }
            }
            Ok(None) => Reply::Failed {
                code: None,
                reason: format!("no linked companion has device id {device}"),
            },
            Err(err) => failed(&err),
        })
    }
}

/// A linked companion by device id, or by a unique prefix of at least four
/// digits.
pub fn find_device(
    companions: &[tandem_proto::store::CompanionRecord],
    wanted: &str,
) -> Option<PublicKey> {
    if let Some(exact) = companions.iter().find(|c| c.key.fingerprint() == wanted) {
        return Some(exact.key);
    }
    if wanted.len() < 4 {
        return None;
    }
    let mut matches = companions
        .iter()
        .filter(|c| c.key.fingerprint().starts_with(wanted));
    match (matches.next(), matches.next()) {
        (Some(only), None) => Some(only.key),
        _ => None,
    }
}

/// Whether two relay URLs name the same relay (a trailing `/` aside).
pub fn same_relay(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

fn failed(err: &Error) -> Reply {
    Reply::Failed {
        code: Some(err.code().0),
        reason: err.to_string(),
    }
}
