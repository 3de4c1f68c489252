//! The CLI's end of the control socket: finds out whether `serve` runs (the
//! writer lock held and the socket answering) and exchanges JSON lines with
//! it, so that links and revocations reach the live session ([DEV-04]).

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};

use super::protocol::{MAX_LINE, Reply, Request};
use crate::state::{State, StateError, WriterLock};

/// A failure talking to `serve`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ControlError {
    /// The socket failed.
    #[error("control socket: {0}")]
    Io(#[from] std::io::Error),
    /// `serve` holds the state but its socket does not answer.
    #[error("a tandem-phone serve holds {0} but its control socket does not answer")]
    Unresponsive(String),
    /// `serve` closed the socket before answering.
    #[error("the serving phone closed the control socket")]
    Closed,
    /// A line that is not a reply.
    #[error("bad reply from the serving phone: {0}")]
    BadReply(String),
    /// The state folder failed.
    #[error(transparent)]
    State(#[from] StateError),
}

/// Whether `serve` runs for a state folder.
#[derive(Debug)]
pub enum Serving {
    /// It does: talk to it.
    Yes(ControlClient),
    /// It does not; this process now holds the writer lock.
    No(WriterLock),
}

/// A connection to a running `serve`.
#[derive(Debug)]
pub struct ControlClient {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
}

impl ControlClient {
    /// Finds out whether `serve` runs. When the lock is held but the
    /// socket is not up yet (serve is starting), waits up to `patience`.
    pub async fn find(state: &State, patience: Duration) -> Result<Serving, ControlError> {
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            if let Ok(stream) = UnixStream::connect(state.socket_path()).await {
                return Ok(Serving::Yes(Self::from_stream(stream)));
            }
            if let Some(lock) = state.try_lock_writer()? {
                return Ok(Serving::No(lock));
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ControlError::Unresponsive(
                    state.dir().display().to_string(),
                ));
            }
            // Another process holds the lock and has no socket yet: a
            // serve starting, or a short command finishing.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn from_stream(stream: UnixStream) -> Self {
        let (reader, writer) = stream.into_split();
        Self {
            reader: BufReader::new(reader),
            writer,
        }
    }

    /// Sends one request.
    pub async fn send(&mut self, request: &Request) -> Result<(), ControlError> {
        let mut line =
            serde_json::to_vec(request).map_err(|err| ControlError::BadReply(err.to_string()))?;
        line.push(b'\n');
        self.writer.write_all(&line).await?;
        Ok(())
    }

    /// Waits for the next reply.
    pub async fn reply(&mut self) -> Result<Reply, ControlError> {
        let line = read_line(&mut self.reader)
            .await?
            .ok_or(ControlError::Closed)?;
        serde_json::from_slice(&line).map_err(|err| ControlError::BadReply(err.to_string()))
    }

    /// One request, one reply.
    pub async fn call(&mut self, request: &Request) -> Result<Reply, ControlError> {
        self.send(request).await?;
        self.reply().await
    }
}

/// Reads one line of at most [`MAX_LINE`] bytes; `None` at the end.
pub(crate) async fn read_line<R: tokio::io::AsyncBufRead + Unpin>(
    reader: &mut R,
) -> std::io::Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    let limit = u64::try_from(MAX_LINE + 1).unwrap_or(u64::MAX);
    let read = (&mut *reader)
        .take(limit)
        .read_until(b'\n', &mut line)
        .await?;
    if read == 0 {
        return Ok(None);
    }
    if line.last() != Some(&b'\n') {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "control line too long or unterminated",
        ));
    }
    line.pop();
    Ok(Some(line))
}
