//! The person's other actions and what they look at (spec §12.5.3): a new
//! contact, a text arriving or sent (§7.1), the store's messages, the
//! device list and revocation (§9.2, §9.3), and the phone's status.

use serde_json::{Value, json};
use tandem_codec::session::Message;
use tandem_proto::store::Store;

use super::events::device_id;
use super::output::Response;
use super::session::Session;
use crate::control::protocol::Reply;
use crate::control::server::Command;
use crate::display::plain;
use crate::serve::OwnerError;

impl Session {
    /// `add-contact <name>`: `ok <contact_id> <chat_id>`.
    pub(super) async fn add_contact(&mut self, name: String) -> Response {
        match self.ask(|reply| Command::AddContact { name, reply }).await {
            Ok(Ok((contact_id, chat_id))) => Response::ok_with(format!("{contact_id} {chat_id}")),
            Ok(Err(err)) => refused(&err),
            Err(response) => response,
        }
    }

    /// `inject <chat_id> <text>`: `ok <message_id>`.
    pub(super) async fn inject(&mut self, chat_id: u64, text: String) -> Response {
        let answer = self
            .ask(|reply| Command::Receive {
                chat_id,
                text,
                reply,
            })
            .await;
        message_id(answer)
    }

    /// `send <chat_id> <text>` on the phone itself: `ok <message_id>`.
    pub(super) async fn send(&mut self, chat_id: u64, text: String) -> Response {
        let answer = self
            .ask(|reply| Command::Send {
                chat_id,
                text,
                reply,
            })
            .await;
        message_id(answer)
    }

    /// `received`: every message in the store, by chat id, then message id.
    pub(super) async fn received(&mut self) -> Response {
        let messages = match self.read(|p| p.store().all_messages()).await {
            Ok(Ok(messages)) => messages,
            Ok(Err(err)) => return Response::err("failed", err),
            Err(response) => return response,
        };
        json_result(&messages_json(messages))
    }

    /// `devices`: the device list of §9.2.
    pub(super) async fn devices(&mut self) -> Response {
        let read = self
            .read(|p| {
                let connected = p.connected_companions();
                p.store()
                    .companions()
                    .map(|companions| (companions, connected))
            })
            .await;
        let (companions, connected) = match read {
            Ok(Ok(found)) => found,
            Ok(Err(err)) => return Response::err("failed", err),
            Err(response) => return response,
        };
        let rows: Vec<Value> = companions
            .iter()
            .map(|c| {
                json!({
                    "device_id": device_id(&c.key),
                    "device_name": plain(&c.device_name),
                    "linked_at_ms": c.linked_at_ms,
                    "last_seen_ms": (c.last_seen_ms != 0).then_some(c.last_seen_ms),
                    "connected": connected.contains(&c.key),
                })
            })
            .collect();
        json_result(&Value::Array(rows))
    }

    /// `revoke <device_id>` ([DEV-04], [DEV-05]); the `unlinked` event
    /// follows from the serving loop.
    pub(super) async fn revoke(&mut self, device: String) -> Response {
        match self.ask(|reply| Command::Revoke { device, reply }).await {
            Ok(Reply::Revoked { .. }) => Response::ok(),
            Ok(Reply::Failed { reason, .. }) => Response::err("failed", reason),
            Ok(other) => Response::err("failed", format!("unexpected reply {other:?}")),
            Err(response) => response,
        }
    }

    /// `status`: `{"route_registered": bool, "companions": n}`, `n` being
    /// the linked companions.
    pub(super) async fn status(&mut self) -> Response {
        let read = self
            .read(|p| {
                let registered = p.is_registered();
                let connected = p.connected_companions().len();
                p.store()
                    .companions()
                    .map(|companions| (registered, companions.len(), connected))
            })
            .await;
        match read {
            Ok(Ok((registered, companions, connected))) => json_result(&json!({
                "route_registered": registered,
                "companions": companions,
                "connected": connected,
            })),
            Ok(Err(err)) => Response::err("failed", err),
            Err(response) => response,
        }
    }
}

/// The messages in the §13.2 form, sorted by chat id, then message id.
fn messages_json(mut messages: Vec<Message>) -> Value {
    messages.sort_by_key(|m| (m.chat_id, m.message_id));
    serde_json::to_value(messages).unwrap_or(Value::Null)
}

fn json_result(value: &Value) -> Response {
    Response::ok_with(value.to_string())
}

fn message_id(answer: Result<Result<Message, OwnerError>, Response>) -> Response {
    match answer {
        Ok(Ok(message)) => Response::ok_with(message.message_id.to_string()),
        Ok(Err(err)) => refused(&err),
        Err(response) => response,
    }
}

/// An action the phone refused: `unknown_chat`, `invalid_value` (§1.4),
/// or the core's code.
fn refused(err: &OwnerError) -> Response {
    match err {
        OwnerError::Invalid(_) => Response::err("invalid_value", err),
        OwnerError::UnknownChat(_) => Response::err("unknown_chat", err),
        OwnerError::Core(core) => Response::err_code(core.code(), err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_codec::session::{Body, MessageStatus};

    #[test]
    fn received_is_sorted_by_chat_then_message() {
        let message = |message_id, chat_id| Message {
            message_id,
            chat_id,
            sender: 0,
            timestamp_ms: 1,
            status: MessageStatus::Sent,
            body: Body::Text("hi".into()),
        };
        let json = messages_json(vec![message(3, 2), message(2, 1), message(1, 2)]);
        let order: Vec<(u64, u64)> = json
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["chat_id"].as_u64().unwrap(),
                    m["message_id"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(order, [(1, 2), (2, 1), (2, 3)]);
        assert_eq!(json[0]["body"], json!({"kind": "text", "text": "hi"}));
        assert_eq!(json[0]["status"], "sent");
    }
}
