//! `serve`'s end of the control socket: accepts CLI connections, turns
//! their JSON lines into [`Command`]s for the serving loop, and carries the
//! link conversation (confirm, answer, outcome; spec §4.5, [PAIR-06]).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};

use tandem_codec::session::Message;

use super::client::read_line;
use super::protocol::{Reply, Request};
use crate::serve::OwnerError;

/// What a control connection asks the serving loop to do.
#[derive(Debug)]
pub(crate) enum Command {
    /// Start linking; progress comes back on `updates`.
    Link {
        payload: String,
        updates: mpsc::Sender<LinkUpdate>,
    },
    /// The person's answer for a pairing link.
    Confirm { link_id: u32, accept: bool },
    /// Revoke a companion.
    Revoke {
        device: String,
        reply: oneshot::Sender<Reply>,
    },
    /// Apply the inbox now.
    Inbox,
    /// Report the state.
    Status { reply: oneshot::Sender<Reply> },
    /// In-process only (the conformance adapter, spec §12.5.3): the owner
    /// adds a contact with its chat.
    AddContact {
        name: String,
        reply: oneshot::Sender<Result<(u64, u64), OwnerError>>,
    },
    /// In-process only: a text from a chat's contact arrives from the
    /// simulated network, as the inbox and the simulation deliver them.
    Receive {
        chat_id: u64,
        text: String,
        reply: oneshot::Sender<Result<Message, OwnerError>>,
    },
    /// In-process only: the phone's owner sends a text in a chat.
    Send {
        chat_id: u64,
        text: String,
        reply: oneshot::Sender<Result<Message, OwnerError>>,
    },
}

/// Progress of a link.
#[derive(Debug)]
pub(crate) enum LinkUpdate {
    /// The phone joined the channel: pairing runs.
    Started,
    /// Ask the person; the reply is a [`Reply::Confirm`].
    Confirm { link_id: u32, reply: Reply },
    /// The outcome.
    Done(Reply),
}

/// Binds the socket (owner-only), replacing a stale one: the caller holds
/// the writer lock, so no other `serve` is using it.
pub(crate) fn bind(path: &Path) -> std::io::Result<UnixListener> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(err),
    }
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// Accepts connections until the serving loop goes away.
pub(crate) async fn accept_loop(listener: UnixListener, commands: mpsc::Sender<Command>) {
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    tokio::spawn(connection(stream, commands.clone()));
                }
                Err(err) => {
                    tracing::warn!(%err, "control socket accept failed");
                    tokio::task::yield_now().await;
                }
            },
            () = commands.closed() => return,
        }
    }
}

async fn connection(stream: UnixStream, commands: mpsc::Sender<Command>) {
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    while let Ok(Some(line)) = read_line(&mut reader).await {
        let request = match serde_json::from_slice::<Request>(&line) {
            Ok(request) => request,
            Err(err) => {
                let reply = Reply::Failed {
                    code: None,
                    reason: format!("bad request: {err}"),
                };
                if write(&mut writer, &reply).await.is_err() {
                    return;
                }
                continue;
            }
        };
        let done = match request {
            Request::Link { payload } => link(&mut reader, &mut writer, &commands, payload).await,
            Request::Answer { .. } => {
                let reply = Reply::Failed {
                    code: None,
                    reason: "no link awaits an answer".into(),
                };
                write(&mut writer, &reply).await
            }
            Request::Revoke { device } => {
                let (reply, answer) = oneshot::channel();
                ask(
                    &commands,
                    Command::Revoke { device, reply },
                    answer,
                    &mut writer,
                )
                .await
            }
            Request::Status => {
                let (reply, answer) = oneshot::channel();
                ask(&commands, Command::Status { reply }, answer, &mut writer).await
            }
            Request::Inbox => {
                let _ = commands.send(Command::Inbox).await;
                write(&mut writer, &Reply::Ok).await
            }
        };
        if done.is_err() {
            return;
        }
    }
}

async fn ask(
    commands: &mpsc::Sender<Command>,
    command: Command,
    answer: oneshot::Receiver<Reply>,
    writer: &mut (impl AsyncWriteExt + Unpin),
) -> std::io::Result<()> {
    let reply = if commands.send(command).await.is_ok() {
        answer.await.unwrap_or_else(|_| stopped())
    } else {
        stopped()
    };
    write(writer, &reply).await
}

fn stopped() -> Reply {
    Reply::Failed {
        code: None,
        reason: "the serving phone is stopping".into(),
    }
}

/// The link conversation: request, confirm, answer, outcome. A person who
/// goes away (the CLI closes) declines.
async fn link(
    reader: &mut BufReader<tokio::net::unix::OwnedReadHalf>,
    writer: &mut tokio::net::unix::OwnedWriteHalf,
    commands: &mpsc::Sender<Command>,
    payload: String,
) -> std::io::Result<()> {
    let (updates, mut progress) = mpsc::channel(4);
    if commands
        .send(Command::Link { payload, updates })
        .await
        .is_err()
    {
        return write(writer, &stopped()).await;
    }
    loop {
        match progress.recv().await {
            Some(LinkUpdate::Confirm { link_id, reply }) => {
                write(writer, &reply).await?;
                let accept = tokio::select! {
                    line = read_line(reader) => matches!(
                        line.ok().flatten().and_then(|l| serde_json::from_slice(&l).ok()),
                        Some(Request::Answer { accept: true })
                    ),
                    // The pairing ended meanwhile (confirmation timeout).
                    update = progress.recv() => {
                        let reply = match update {
                            Some(LinkUpdate::Done(reply)) => reply,
                            _ => stopped(),
                        };
                        return write(writer, &reply).await;
                    }
                };
                if commands
                    .send(Command::Confirm { link_id, accept })
                    .await
                    .is_err()
                {
                    return write(writer, &stopped()).await;
                }
            }
            Some(LinkUpdate::Started) => {}
            Some(LinkUpdate::Done(reply)) => return write(writer, &reply).await,
            None => return write(writer, &stopped()).await,
        }
    }
}

async fn write(writer: &mut (impl AsyncWriteExt + Unpin), reply: &Reply) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(reply).map_err(std::io::Error::other)?;
    line.push(b'\n');
    writer.write_all(&line).await
}
