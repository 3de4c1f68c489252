//! `download MEDIA -o FILE` (spec §8.3): chunks written to a temporary file,
//! resumed after a lost session, checked against the media id before it
//! becomes FILE and deleted on a mismatch ([MEDIA-08]).

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tandem_client::DriverEvent;
use tandem_codec::Code;
use tandem_proto::companion::CompanionEvent;
use tokio::time::Instant;

use crate::console::{Console, Progress, human_bytes};
use crate::error::WebError;
use crate::lookup;
use crate::media::hash_file;
use crate::session::Session;

/// A file downloaded and checked.
#[derive(Clone, Debug)]
pub struct Downloaded {
    /// Its media id.
    pub media_id: [u8; 32],
    /// Its size.
    pub size: u64,
    /// Where it was written.
    pub path: PathBuf,
}

/// The temporary file beside the target, deleted unless it became the
/// target.
pub(crate) struct Partial {
    path: PathBuf,
    file: Option<File>,
}

impl Partial {
    /// Creates `.NAME.tandem-part` beside `out`, empty; returns it and
    /// `out`'s file name.
    pub(crate) fn create(out: &Path) -> Result<(Self, String), WebError> {
        let name = out
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| WebError::Invalid(format!("{} is not a file name", out.display())))?;
        let path = out.with_file_name(format!(".{name}.tandem-part"));
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .map_err(WebError::io(&path))?;
        Ok((
            Self {
                path,
                file: Some(file),
            },
            name,
        ))
    }

    /// [MEDIA-08] the core checked the bytes it received; this checks what
    /// is on disk too, then moves it to `out`.
    pub(crate) fn finish(
        mut self,
        media_id: [u8; 32],
        size: u64,
        out: &Path,
    ) -> Result<(), WebError> {
        self.file = None;
        let (written, written_size) = hash_file(&self.path)?;
        if written != media_id || written_size != size {
            return Err(WebError::HashMismatch);
        }
        std::fs::rename(&self.path, out).map_err(WebError::io(out))
    }

    fn write_at(&self, data: &[u8], offset: u64) -> Result<(), WebError> {
        let Some(file) = self.file.as_ref() else {
            return Err(WebError::DriverGone);
        };
        file.write_all_at(data, offset)
            .map_err(WebError::io(&self.path))
    }

    fn sync(&self) -> Result<(), WebError> {
        match self.file.as_ref() {
            Some(file) => file.sync_all().map_err(WebError::io(&self.path)),
            None => Ok(()),
        }
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        self.file = None;
        let _ = std::fs::remove_file(&self.path);
    }
}

/// One download's progress, fed with the session's events: chunks written
/// at their offsets, resumed after a lost session by the core.
pub(crate) struct Receiving {
    transfer: u32,
    size: u64,
    received: u64,
}

/// What an event did to a download.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Received {
    /// The range is known: the file's size, and where it starts.
    Started {
        /// The whole file's size.
        size: u64,
        /// The first byte of the range.
        offset: u64,
    },
    /// Bytes up to here are written.
    Progress(u64),
    /// Complete and verified by the core: the file's size.
    Complete(u64),
    /// Not about this download.
    Unrelated,
}

impl Receiving {
    /// Follows the transfer `transfer`.
    pub(crate) fn new(transfer: u32) -> Self {
        Self {
            transfer,
            size: 0,
            received: 0,
        }
    }

    /// Applies one event of the core, writing chunks to `partial`.
    pub(crate) fn on_event(
        &mut self,
        partial: &Partial,
        event: &CompanionEvent,
    ) -> Result<Received, WebError> {
        let transfer = self.transfer;
        match event {
            CompanionEvent::DownloadStarted {
                transfer_id,
                size,
                offset,
                ..
            } if *transfer_id == transfer => {
                self.size = *size;
                self.received = *offset;
                Ok(Received::Started {
                    size: *size,
                    offset: *offset,
                })
            }
            CompanionEvent::DownloadChunk {
                transfer_id,
                offset,
                data,
            } if *transfer_id == transfer => {
                partial.write_at(data, *offset)?;
                self.received = offset + data.len() as u64;
                Ok(Received::Progress(self.received))
            }
            CompanionEvent::DownloadComplete {
                transfer_id,
                verified,
                ..
            } if *transfer_id == transfer => {
                if !verified {
                    return Err(WebError::HashMismatch);
                }
                partial.sync()?;
                Ok(Received::Complete(self.size.max(self.received)))
            }
            CompanionEvent::TransferFailed { transfer_id, code } if *transfer_id == transfer => {
                if *code == Code::MEDIA_HASH_MISMATCH {
                    return Err(WebError::HashMismatch);
                }
                Err(WebError::Refused { code: *code })
            }
            // Relay errors (40xx) name a link id in `ref_id`, not a transfer.
            CompanionEvent::RequestFailed { ref_id, code, .. }
                if *ref_id == transfer && code.0 >= 4200 =>
            {
                Err(WebError::Refused { code: *code })
            }
            CompanionEvent::Wiped { code, .. } => Err(WebError::Wiped { code: *code }),
            _ => Ok(Received::Unrelated),
        }
    }
}

/// Downloads the media `media` (64 hex digits) to `out`. `timeout` bounds
/// each wait for progress.
pub async fn download(
    session: &mut Session,
    console: &Console,
    media: &str,
    out: &Path,
    timeout: Duration,
) -> Result<Downloaded, WebError> {
    let media_id = lookup::media_id(media)?;
    session.require_live(timeout, "a download").await?;
    let (partial, name) = Partial::create(out)?;
    let transfer = session
        .call(move |c, _| c.download(media_id, 0, 0))
        .await??;
    let progress = console.progress(&format!("download {name}"), 0);
    let result = receive(session, &partial, &progress, transfer, timeout).await;
    let size = match result {
        Ok(size) => size,
        Err(err) => {
            progress.abandon();
            return Err(err);
        }
    };
    if let Err(err) = partial.finish(media_id, size, out) {
        progress.abandon();
        return Err(err);
    }
    progress.finish(size, "SHA-256 matches the media id");
    console.line(format!(
        "Saved {} ({}), verified against media {}.",
        out.display(),
        human_bytes(size),
        hex::encode(media_id)
    ));
    Ok(Downloaded {
        media_id,
        size,
        path: out.to_owned(),
    })
}

/// Writes chunks as they come; returns the file's size once complete and
/// verified by the core.
async fn receive(
    session: &mut Session,
    partial: &Partial,
    progress: &Progress,
    transfer: u32,
    timeout: Duration,
) -> Result<u64, WebError> {
    let mut receiving = Receiving::new(transfer);
    let mut deadline = Instant::now() + timeout;
    loop {
        let Some(event) = session.next_until(deadline).await? else {
            return Err(session.timed_out());
        };
        let DriverEvent::Machine(event) = event else {
            continue;
        };
        match receiving.on_event(partial, &event)? {
            Received::Started { size, offset } => {
                progress.set_total(size);
                progress.set(offset);
                deadline = Instant::now() + timeout;
            }
            Received::Progress(received) => {
                progress.set(received);
                deadline = Instant::now() + timeout;
            }
            Received::Complete(size) => return Ok(size),
            Received::Unrelated => {
                if let CompanionEvent::Synced { .. } = event {
                    // A new session: the core asks again from what arrived.
                    deadline = Instant::now() + timeout;
                }
            }
        }
    }
}
