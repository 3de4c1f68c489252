//! `send CHAT TEXT` (spec §7.6): the message is written to the queue before it
//! leaves, then the phone's `SendAck` awaited; with the phone away it stays
//! queued and goes out once after a later resume ([SYNC-19]).

use std::time::Duration;

use tandem_client::DriverEvent;
use tandem_codec::session::Body;
use tandem_proto::companion::CompanionEvent;
use tokio::time::Instant;

use crate::console::Console;
use crate::error::WebError;
use crate::lookup;
use crate::session::{Ready, Session};

/// How a send ended for this command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendOutcome {
    /// The phone stored it as this message.
    Delivered {
        /// The chat.
        chat_id: u64,
        /// The message it became.
        message_id: u64,
    },
    /// Not answered yet: it waits in the state folder's queue.
    Queued {
        /// Sends now queued, this one included.
        queued: usize,
        /// Why it is not delivered yet.
        why: String,
    },
}

/// Sends `text` to `chat` (an id, a title or a unique title prefix).
/// `wait` is how long to wait for an absent phone to come back.
pub async fn send(
    session: &mut Session,
    console: &Console,
    chat: &str,
    text: &str,
    wait: Duration,
    timeout: Duration,
) -> Result<SendOutcome, WebError> {
    send_body(
        session,
        console,
        chat,
        Body::Text(text.to_owned()),
        wait,
        timeout,
    )
    .await
}

/// Sends any body; see [`send`].
pub async fn send_body(
    session: &mut Session,
    console: &Console,
    chat: &str,
    body: Body,
    wait: Duration,
    timeout: Duration,
) -> Result<SendOutcome, WebError> {
    let chat_id = match chat.trim().parse::<u64>() {
        // A chat id needs no lookup: it can be queued while the phone is
        // away.
        Ok(id) if id != 0 => id,
        _ => {
            let ready = match session.wait_ready(timeout).await? {
                Ready::PhoneOffline if !wait.is_zero() => {
                    console.line(format!(
                        "The phone is not connected; waiting up to {} s for it.",
                        wait.as_secs()
                    ));
                    session
                        .wait_ready(wait)
                        .await
                        .unwrap_or(Ready::PhoneOffline)
                }
                other => other,
            };
            if ready == Ready::PhoneOffline {
                return Err(WebError::PhoneOffline(format!(
                    "the phone is not connected, so the chat {chat:?} cannot be looked up \
                     (nothing from the phone is stored here). Give the chat's number to queue \
                     the message: `tandem-web chats` lists them while the phone is online"
                )));
            }
            lookup::chat(&session.cache().await?, chat)?
        }
    };
    let client_id = session.send(chat_id, body).await?;
    let outcome = wait_for_answer(session, console, client_id, wait, timeout).await?;
    if let SendOutcome::Delivered { message_id, .. } = outcome {
        return Ok(SendOutcome::Delivered {
            chat_id,
            message_id,
        });
    }
    Ok(outcome)
}

/// Waits for the phone's answer to the send `client_id`: up to `wait` while
/// the phone is away, and `timeout` more once it is there.
pub async fn wait_for_answer(
    session: &mut Session,
    console: &Console,
    client_id: [u8; 16],
    wait: Duration,
    timeout: Duration,
) -> Result<SendOutcome, WebError> {
    let start = Instant::now();
    let mut told_waiting = false;
    loop {
        let offline = session.phone_online() == Some(false);
        if offline && !wait.is_zero() && !told_waiting {
            told_waiting = true;
            console.line(format!(
                "The phone is not connected: the message is queued; waiting up to {} s for \
                 the phone.",
                wait.as_secs()
            ));
        }
        let deadline = if offline {
            start + wait
        } else {
            start + wait + timeout
        };
        match session.next_until(deadline).await? {
            None => {
                let queued = session.pending().await?.len();
                let why = match session.phone_online() {
                    Some(false) => "the phone is not connected".to_owned(),
                    Some(true) => "the phone did not answer in time".to_owned(),
                    None => "the relay could not be reached".to_owned(),
                };
                return Ok(SendOutcome::Queued { queued, why });
            }
            Some(DriverEvent::Machine(CompanionEvent::SendAcked {
                client_id: id,
                message_id,
            })) if id == client_id => {
                return Ok(SendOutcome::Delivered {
                    chat_id: 0,
                    message_id,
                });
            }
            Some(DriverEvent::Machine(CompanionEvent::SendFailed {
                client_id: id,
                code,
            })) if id == client_id => {
                return Err(WebError::Refused { code });
            }
            Some(DriverEvent::Machine(CompanionEvent::Wiped { code, .. })) => {
                return Err(WebError::Wiped { code });
            }
            Some(_) => {}
        }
    }
}
