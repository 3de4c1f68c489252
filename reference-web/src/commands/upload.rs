//! `upload CHAT FILE` (spec §8.2): the SHA-256 names the file, chunks go out
//! within the phone's credit with a progress bar, resume after a lost session
//! ([MEDIA-04]), then the file is sent as a media message.

use std::path::Path;
use std::time::Duration;

use tandem_client::DriverEvent;
use tandem_codec::limits::MAX_MIME;
use tandem_codec::session::{Body, MediaRef};
use tandem_proto::companion::{CompanionEvent, UploadRequest};
use tokio::time::Instant;

use crate::commands::send::{SendOutcome, wait_for_answer};
use crate::console::{Console, human_bytes};
use crate::error::WebError;
use crate::lookup;
use crate::media::{FileSource, file_name, guess_mime, hash_file};
use crate::session::Session;

/// What to attach to the upload.
#[derive(Clone, Debug, Default)]
pub struct UploadOptions {
    /// A caption for the message.
    pub caption: String,
    /// The MIME type, when not guessed from the name.
    pub mime: Option<String>,
}

/// A file uploaded and sent.
#[derive(Clone, Debug)]
pub struct Uploaded {
    /// Its media id (SHA-256).
    pub media_id: [u8; 32],
    /// Its size.
    pub size: u64,
    /// The message that refers to it, once the phone answered.
    pub sent: SendOutcome,
}

/// Uploads `path` and sends it to `chat`. `timeout` bounds each wait for
/// progress, not the whole transfer.
pub async fn upload(
    session: &mut Session,
    console: &Console,
    chat: &str,
    path: &Path,
    options: &UploadOptions,
    timeout: Duration,
) -> Result<Uploaded, WebError> {
    session.require_live(timeout, "an upload").await?;
    let chat_id = lookup::chat(&session.cache().await?, chat)?;
    let (media_id, size) = hash_file(path)?;
    if size == 0 {
        return Err(WebError::Invalid(format!(
            "{} is empty; there is nothing to upload",
            path.display()
        )));
    }
    let mime = options
        .mime
        .clone()
        .unwrap_or_else(|| guess_mime(path).to_owned());
    if mime.len() > MAX_MIME {
        return Err(WebError::Invalid(format!(
            "a MIME type is at most {MAX_MIME} bytes"
        )));
    }
    let name = file_name(path);
    let request = UploadRequest {
        media_id,
        size,
        mime: mime.clone(),
        name: name.clone(),
        source: Box::new(FileSource::open(path)?),
    };
    let transfer = session.call(move |c, _| c.upload(request)).await??;
    let progress = console.progress(&format!("upload {name}"), size);
    let mut deadline = Instant::now() + timeout;
    loop {
        let Some(event) = session.next_until(deadline).await? else {
            progress.abandon();
            return Err(session.timed_out());
        };
        match event {
            DriverEvent::Machine(CompanionEvent::UploadProgress {
                transfer_id, sent, ..
            }) if transfer_id == transfer => {
                progress.set(sent);
                deadline = Instant::now() + timeout;
            }
            DriverEvent::Machine(CompanionEvent::UploadComplete { transfer_id, .. })
                if transfer_id == transfer =>
            {
                progress.set(size);
                progress.finish(size, "the phone holds it, hash checked");
                break;
            }
            DriverEvent::Machine(CompanionEvent::TransferFailed { transfer_id, code })
                if transfer_id == transfer =>
            {
                progress.abandon();
                return Err(WebError::Refused { code });
            }
            // Relay errors (40xx) name a link id in `ref_id`, not a transfer.
            DriverEvent::Machine(CompanionEvent::RequestFailed { ref_id, code, .. })
                if ref_id == transfer && code.0 >= 4200 =>
            {
                progress.abandon();
                return Err(WebError::Refused { code });
            }
            DriverEvent::Machine(CompanionEvent::Wiped { code, .. }) => {
                progress.abandon();
                return Err(WebError::Wiped { code });
            }
            DriverEvent::Machine(CompanionEvent::Synced { .. }) => {
                // A new session: the core resumes the upload from what the
                // phone holds.
                deadline = Instant::now() + timeout;
            }
            _ => {}
        }
    }
    let body = Body::Media(MediaRef {
        media_id,
        size,
        mime,
        name: name.clone(),
        caption: options.caption.clone(),
    });
    let client_id = session.send(chat_id, body).await?;
    let sent = wait_for_answer(session, console, client_id, Duration::ZERO, timeout).await?;
    console.line(format!(
        "Uploaded {name} ({}) as media {}.",
        human_bytes(size),
        hex::encode(media_id)
    ));
    let sent = match sent {
        SendOutcome::Delivered { message_id, .. } => SendOutcome::Delivered {
            chat_id,
            message_id,
        },
        queued => queued,
    };
    Ok(Uploaded {
        media_id,
        size,
        sent,
    })
}
