//! `send-file` and `fetch` (spec §8, §12.5.3): the upload of `tandem-web
//! upload` then its media message, and the download of `tandem-web download`,
//! checked against the media id before it is written ([MEDIA-08]).

use std::path::{Path, PathBuf};

use tandem_codec::session::{Body, MediaRef};
use tandem_proto::companion::{CompanionEvent, UploadRequest};

use super::events::Reply;
use crate::commands::{Partial, Received, Receiving};
use crate::error::WebError;
use crate::media::{FileSource, file_name, guess_mime, hash_file};
use crate::session::Session;

/// An upload on its way; the message is sent once the phone holds the file.
pub(crate) struct Upload {
    transfer: u32,
    chat_id: u64,
    media: MediaRef,
}

impl Upload {
    /// Hashes `path` and starts uploading it.
    pub(crate) async fn start(
        session: &Session,
        chat_id: u64,
        path: &Path,
    ) -> Result<Self, WebError> {
        let (media_id, size) = hash_file(path)?;
        if size == 0 {
            return Err(WebError::Invalid(format!(
                "{} is empty; there is nothing to upload",
                path.display()
            )));
        }
        let mime = guess_mime(path);
        let name = file_name(path);
        let media = MediaRef {
            media_id,
            size,
            mime: mime.to_owned(),
            name: name.clone(),
            caption: String::new(),
        };
        // The message must fit before the file goes (a chat id of 0, ...).
        crate::state::check_send([0; 16], chat_id, &Body::Media(media.clone()))
            .map_err(WebError::Invalid)?;
        let request = UploadRequest {
            media_id,
            size,
            mime: mime.to_owned(),
            name,
            source: Box::new(FileSource::open(path)?),
        };
        let transfer = session.call(move |c, _| c.upload(request)).await??;
        Ok(Self {
            transfer,
            chat_id,
            media,
        })
    }

    /// Follows the upload: `Some` once it is over, with the message to
    /// send or why it failed.
    pub(crate) fn on_event(&self, event: &CompanionEvent) -> Option<Result<(u64, Body), WebError>> {
        match event {
            CompanionEvent::UploadComplete { transfer_id, .. } if *transfer_id == self.transfer => {
                Some(Ok((self.chat_id, Body::Media(self.media.clone()))))
            }
            CompanionEvent::TransferFailed { transfer_id, code }
                if *transfer_id == self.transfer =>
            {
                Some(Err(WebError::Refused { code: *code }))
            }
            // Relay errors (40xx) name a link id in `ref_id`, not a transfer.
            CompanionEvent::RequestFailed { ref_id, code, .. }
                if *ref_id == self.transfer && code.0 >= 4200 =>
            {
                Some(Err(WebError::Refused { code: *code }))
            }
            CompanionEvent::Wiped { code, .. } => Some(Err(WebError::Wiped { code: *code })),
            _ => None,
        }
    }
}

/// A download on its way to a temporary file beside its target.
pub(crate) struct Fetch {
    media_id: [u8; 32],
    out: PathBuf,
    partial: Partial,
    receiving: Receiving,
}

impl Fetch {
    /// Starts downloading the whole file `media_id` to `out`.
    pub(crate) async fn start(
        session: &Session,
        media_id: [u8; 32],
        out: &Path,
    ) -> Result<Self, WebError> {
        let (partial, _) = Partial::create(out)?;
        let transfer = session
            .call(move |c, _| c.download(media_id, 0, 0))
            .await??;
        Ok(Self {
            media_id,
            out: out.to_owned(),
            partial,
            receiving: Receiving::new(transfer),
        })
    }

    /// Follows the download: `Some(size)` once complete and verified by
    /// the core, an error when it failed.
    pub(crate) fn on_event(&mut self, event: &CompanionEvent) -> Result<Option<u64>, WebError> {
        match self.receiving.on_event(&self.partial, event)? {
            Received::Complete(size) => Ok(Some(size)),
            _ => Ok(None),
        }
    }

    /// Checks the file on disk against the media id and puts it in place:
    /// `ok <size>`.
    pub(crate) fn finish(self, size: u64) -> Reply {
        match self.partial.finish(self.media_id, size, &self.out) {
            Ok(()) => Reply::ok_with(size.to_string()),
            Err(err) => Reply::from_error(&err),
        }
    }
}
