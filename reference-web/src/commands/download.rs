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

/// The temporary file, deleted unless it became the target.
struct Partial {
    path: PathBuf,
    file: Option<File>,
}

impl Drop for Partial {
    fn drop(&mut self) {
        self.file = None;
        let _ = std::fs::remove_file(&self.path);
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
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| WebError::Invalid(format!("{} is not a file name", out.display())))?;
    let partial_path = out.with_file_name(format!(".{name}.tandem-part"));
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&partial_path)
        .map_err(WebError::io(&partial_path))?;
    let mut partial = Partial {
        path: partial_path,
        file: Some(file),
    };
    let transfer = session
        .call(move |c, _| c.download(media_id, 0, 0))
        .await??;
    let progress = console.progress(&format!("download {name}"), 0);
    let result = receive(session, &mut partial, &progress, transfer, timeout).await;
    let size = match result {
        Ok(size) => size,
        Err(err) => {
            progress.abandon();
            return Err(err);
        }
    };
    partial.file = None;
    // [MEDIA-08] the core checked the bytes it received; check what is on
    // disk too, before the person gets it.
    let (written, written_size) = hash_file(&partial.path)?;
    if written != media_id || written_size != size {
        progress.abandon();
        return Err(WebError::HashMismatch);
    }
    std::fs::rename(&partial.path, out).map_err(WebError::io(out))?;
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
    partial: &mut Partial,
    progress: &Progress,
    transfer: u32,
    timeout: Duration,
) -> Result<u64, WebError> {
    let mut size = 0;
    let mut received = 0u64;
    let mut deadline = Instant::now() + timeout;
    loop {
        let Some(event) = session.next_until(deadline).await? else {
            return Err(session.timed_out());
        };
        match event {
            DriverEvent::Machine(CompanionEvent::DownloadStarted {
                transfer_id,
                size: total,
                offset,
                ..
            }) if transfer_id == transfer => {
                size = total;
                received = offset;
                progress.set_total(total);
                progress.set(offset);
                deadline = Instant::now() + timeout;
            }
            DriverEvent::Machine(CompanionEvent::DownloadChunk {
                transfer_id,
                offset,
                data,
            }) if transfer_id == transfer => {
                let Some(file) = partial.file.as_ref() else {
                    return Err(WebError::DriverGone);
                };
                file.write_all_at(&data, offset)
                    .map_err(WebError::io(&partial.path))?;
                received = offset + data.len() as u64;
                progress.set(received);
                deadline = Instant::now() + timeout;
            }
            DriverEvent::Machine(CompanionEvent::DownloadComplete {
                transfer_id,
                verified,
                ..
            }) if transfer_id == transfer => {
                if !verified {
                    return Err(WebError::HashMismatch);
                }
                if let Some(file) = partial.file.as_ref() {
                    file.sync_all().map_err(WebError::io(&partial.path))?;
                }
                return Ok(size.max(received));
            }
            DriverEvent::Machine(CompanionEvent::TransferFailed { transfer_id, code })
                if transfer_id == transfer =>
            {
                if code == Code::MEDIA_HASH_MISMATCH {
                    return Err(WebError::HashMismatch);
                }
                return Err(WebError::Refused { code });
            }
            // Relay errors (40xx) name a link id in `ref_id`, not a transfer.
            DriverEvent::Machine(CompanionEvent::RequestFailed { ref_id, code, .. })
                if ref_id == transfer && code.0 >= 4200 =>
            {
                return Err(WebError::Refused { code });
            }
            DriverEvent::Machine(CompanionEvent::Wiped { code, .. }) => {
                return Err(WebError::Wiped { code });
            }
            DriverEvent::Machine(CompanionEvent::Synced { .. }) => {
                // A new session: the core asks again from `received`.
                deadline = Instant::now() + timeout;
            }
            _ => {}
        }
    }
}
