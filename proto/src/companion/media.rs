//! Media transfers on the companion (spec §8): uploads read from a
//! [`MediaSource`] within the primary's credit, downloads granted credit as
//! they arrive and checked against their hash when whole ([MEDIA-08]).
//! Transfers outlive a session: the next session resumes them.

use std::collections::BTreeMap;

use bytes::Bytes;
use sha2::{Digest, Sha256};
use tandem_codec::Code;
use tandem_codec::limits::MAX_CHUNK;
use tandem_codec::session::{
    Chunk, Credit, DownloadReady, DownloadRequest, InnerFrame, TransferCancel, UploadBegin,
};

use super::CompanionEvent;
use crate::Error;
use crate::faults::{Fault, Faults};

/// `MAX_CREDIT`, in chunks.
const MAX_CREDIT: u32 = 32;
/// Credit a download asks for at its start.
const DOWNLOAD_CREDIT: u16 = 32;
/// Chunks received before credit is granted back.
const CREDIT_BATCH: u16 = 8;

/// Where an upload's bytes come from: the driver reads the file.
pub trait MediaSource: Send {
    /// Reads `len` bytes at `offset` (fewer only at the end of the file).
    fn read_chunk(&mut self, offset: u64, len: usize) -> Result<Bytes, String>;
}

impl MediaSource for Bytes {
    fn read_chunk(&mut self, offset: u64, len: usize) -> Result<Bytes, String> {
        let start = usize::try_from(offset).map_err(|e| e.to_string())?;
        let end = start.saturating_add(len).min(self.len());
        if start > end {
            return Err("read beyond the end".into());
        }
        Ok(self.slice(start..end))
    }
}

/// What the application asked to upload.
pub struct UploadRequest {
    /// SHA-256 of the file.
    pub media_id: [u8; 32],
    /// Its size in bytes.
    pub size: u64,
    /// MIME type, at most 64 bytes.
    pub mime: String,
    /// File name, at most 255 bytes.
    pub name: String,
    /// The bytes.
    pub source: Box<dyn MediaSource>,
}

enum Transfer {
    Upload {
        request: UploadRequest,
        /// Next offset to send; `None` until `UploadReady` in this session.
        next: Option<u64>,
        credit: u32,
    },
    Download {
        media_id: [u8; 32],
        /// Next offset expected.
        next: u64,
        /// End of the range, once `DownloadReady` said it.
        end: Option<u64>,
        /// The length originally asked for (0: to the end).
        requested_end: Option<u64>,
        /// Hashes the whole file when the download started at 0.
        hasher: Option<Sha256>,
        /// Chunks the primary may still send.
        granted: u32,
        received: u16,
        /// Whether this session has asked for it yet.
        requested: bool,
    },
}

#[derive(Default)]
pub(crate) struct Transfers {
    active: BTreeMap<u32, Transfer>,
    next_id: u32,
    faults: Faults,
}

impl Transfers {
    pub(crate) fn new(faults: Faults) -> Self {
        Self {
            faults,
            ..Self::default()
        }
    }

    pub(crate) fn upload(&mut self, request: UploadRequest) -> u32 {
        let id = self.allocate();
        self.active.insert(
            id,
            Transfer::Upload {
                request,
                next: None,
                credit: 0,
            },
        );
        id
    }

    pub(crate) fn download(&mut self, media_id: [u8; 32], offset: u64, length: u64) -> u32 {
        let id = self.allocate();
        let requested_end = (length > 0).then(|| offset.saturating_add(length));
        self.active.insert(
            id,
            Transfer::Download {
                media_id,
                next: offset,
                end: None,
                requested_end,
                hasher: (offset == 0 && length == 0).then(Sha256::new),
                granted: 0,
                received: 0,
                requested: false,
            },
        );
        id
    }

    fn allocate(&mut self) -> u32 {
        self.next_id = self.next_id.wrapping_add(1).max(1);
        self.next_id
    }

    /// A new session: every transfer starts again from its progress.
    pub(crate) fn session_lost(&mut self) {
        for transfer in self.active.values_mut() {
            match transfer {
                Transfer::Upload { next, credit, .. } => {
                    *next = None;
                    *credit = 0;
                }
                Transfer::Download {
                    requested,
                    granted,
                    received,
                    ..
                } => {
                    *requested = false;
                    *granted = 0;
                    *received = 0;
                }
            }
        }
    }

    /// Frames that (re)start transfers in the current session.
    pub(crate) fn start_frames(&mut self) -> Vec<InnerFrame> {
        let mut frames = Vec::new();
        for (&t, transfer) in self.active.iter_mut() {
            match transfer {
                Transfer::Upload {
                    request,
                    next: None,
                    ..
                } => frames.push(
                    UploadBegin {
                        transfer_id: t,
                        media_id: request.media_id,
                        size: request.size,
                        mime: request.mime.clone(),
                        name: request.name.clone(),
                    }
                    .into(),
                ),
                Transfer::Download {
                    media_id,
                    next,
                    requested_end,
                    requested,
                    granted,
                    ..
                } if !*requested => {
                    *requested = true;
                    *granted = u32::from(DOWNLOAD_CREDIT);
                    let length = requested_end.map_or(0, |end| end.saturating_sub(*next));
                    frames.push(
                        DownloadRequest {
                            transfer_id: t,
                            media_id: *media_id,
                            offset: *next,
                            length,
                            credit: DOWNLOAD_CREDIT,
                        }
                        .into(),
                    );
                }
                _ => {}
            }
        }
        frames
    }

    /// Handles a media frame from the primary.
    pub(crate) fn handle(
        &mut self,
        frame: InnerFrame,
        events: &mut Vec<CompanionEvent>,
    ) -> Result<Vec<InnerFrame>, Error> {
        match frame {
            InnerFrame::UploadReady(ready) => {
                if let Some(Transfer::Upload {
                    next,
                    credit,
                    request,
                }) = self.active.get_mut(&ready.transfer_id)
                {
                    *next = Some(ready.offset);
                    *credit = u32::from(ready.credit);
                    events.push(CompanionEvent::UploadProgress {
                        transfer_id: ready.transfer_id,
                        sent: ready.offset,
                        size: request.size,
                    });
                }
                // The first grant counts too ([MEDIA-10]).
                self.check_credit(ready.transfer_id, events)?;
                Ok(Vec::new())
            }
            InnerFrame::Credit(grant) => {
                if let Some(Transfer::Upload { credit, .. }) =
                    self.active.get_mut(&grant.transfer_id)
                {
                    *credit = credit.saturating_add(u32::from(grant.chunks));
                }
                self.check_credit(grant.transfer_id, events)?;
                Ok(Vec::new())
            }
            InnerFrame::UploadDone(done) => {
                if self.active.remove(&done.transfer_id).is_some() {
                    events.push(CompanionEvent::UploadComplete {
                        transfer_id: done.transfer_id,
                        media_id: done.media_id,
                    });
                }
                Ok(Vec::new())
            }
            InnerFrame::DownloadReady(ready) => self.download_ready(ready, events),
            InnerFrame::Chunk(chunk) => self.chunk(chunk, events),
            InnerFrame::TransferCancel(cancel) => {
                self.fail(cancel.transfer_id, cancel.code, events);
                Ok(Vec::new())
            }
            _ => Ok(Vec::new()),
        }
    }

    /// [MEDIA-10] A sender that is granted more than `MAX_CREDIT`
    /// outstanding chunks MUST close the session with `credit_exceeded`;
    /// the upload fails with it, as the person is told.
    fn check_credit(&mut self, t: u32, events: &mut Vec<CompanionEvent>) -> Result<(), Error> {
        let Some(Transfer::Upload { credit, .. }) = self.active.get(&t) else {
            return Ok(());
        };
        // Fault [MEDIA-10]: `AcceptExcessUploadCredit` takes any grant.
        if *credit > MAX_CREDIT && !self.faults.has(Fault::AcceptExcessUploadCredit) {
            self.fail(t, Code::CREDIT_EXCEEDED, events);
            return Err(Error::protocol(
                Code::CREDIT_EXCEEDED,
                "credit above MAX_CREDIT",
            ));
        }
        Ok(())
    }

    /// A request about transfer `t` failed (an `Error` frame).
    pub(crate) fn fail(&mut self, t: u32, code: Code, events: &mut Vec<CompanionEvent>) {
        if self.active.remove(&t).is_some() {
            events.push(CompanionEvent::TransferFailed {
                transfer_id: t,
                code,
            });
        }
    }

    pub(crate) fn is_active(&self, t: u32) -> bool {
        self.active.contains_key(&t)
    }

    fn download_ready(
        &mut self,
        ready: DownloadReady,
        events: &mut Vec<CompanionEvent>,
    ) -> Result<Vec<InnerFrame>, Error> {
        let t = ready.transfer_id;
        let Some(Transfer::Download {
            next,
            end,
            requested_end,
            ..
        }) = self.active.get_mut(&t)
        else {
            return Ok(Vec::new());
        };
        if ready.offset != *next {
            self.fail(t, Code::INVALID_RANGE, events);
            return Ok(vec![
                TransferCancel {
                    transfer_id: t,
                    code: Code::INVALID_RANGE,
                }
                .into(),
            ]);
        }
        let range_end = ready.offset + ready.length;
        *end = Some(range_end);
        *requested_end = Some(range_end);
        events.push(CompanionEvent::DownloadStarted {
            transfer_id: t,
            size: ready.size,
            offset: ready.offset,
            length: ready.length,
        });
        if ready.length == 0 {
            return Ok(self.finish_download(t, events));
        }
        Ok(Vec::new())
    }

    fn chunk(
        &mut self,
        chunk: Chunk,
        events: &mut Vec<CompanionEvent>,
    ) -> Result<Vec<InnerFrame>, Error> {
        let t = chunk.transfer_id;
        let Some(Transfer::Download {
            next,
            end: Some(end),
            hasher,
            granted,
            received,
            ..
        }) = self.active.get_mut(&t)
        else {
            return Ok(vec![
                tandem_codec::session::Error {
                    code: Code::UNKNOWN_TRANSFER,
                    ref_id: t,
                    message: "no such download".into(),
                }
                .into(),
            ]);
        };
        // [MEDIA-09] A receiver that gets a chunk without credit MUST close
        // the session with `credit_exceeded`.
        if *granted == 0 {
            return Err(Error::protocol(
                Code::CREDIT_EXCEEDED,
                "chunk without credit",
            ));
        }
        *granted -= 1;
        let len = chunk.data.len() as u64;
        // [MEDIA-01] wrong offset or past the end: `invalid_range`.
        if chunk.offset != *next || chunk.offset + len > *end {
            self.fail(t, Code::INVALID_RANGE, events);
            return Ok(vec![
                TransferCancel {
                    transfer_id: t,
                    code: Code::INVALID_RANGE,
                }
                .into(),
            ]);
        }
        if let Some(hasher) = hasher {
            hasher.update(&chunk.data);
        }
        *next += len;
        *received += 1;
        let done = *next == *end;
        events.push(CompanionEvent::DownloadChunk {
            transfer_id: t,
            offset: chunk.offset,
            data: chunk.data,
        });
        if done {
            return Ok(self.finish_download(t, events));
        }
        let mut replies = Vec::new();
        if *received >= CREDIT_BATCH {
            replies.push(
                Credit {
                    transfer_id: t,
                    chunks: *received,
                }
                .into(),
            );
            *granted += u32::from(*received);
            *received = 0;
        }
        Ok(replies)
    }

    fn finish_download(&mut self, t: u32, events: &mut Vec<CompanionEvent>) -> Vec<InnerFrame> {
        let Some(Transfer::Download {
            media_id, hasher, ..
        }) = self.active.remove(&t)
        else {
            return Vec::new();
        };
        let verified = hasher.map(|h| h.finalize().as_slice() == media_id);
        if verified == Some(false) {
            // [MEDIA-08] ... MUST discard it on a mismatch and report
            // `media_hash_mismatch`.
            events.push(CompanionEvent::TransferFailed {
                transfer_id: t,
                code: Code::MEDIA_HASH_MISMATCH,
            });
        } else {
            events.push(CompanionEvent::DownloadComplete {
                transfer_id: t,
                media_id,
                verified: verified.unwrap_or(false),
            });
        }
        Vec::new()
    }

    /// Upload chunks the credit allows now.
    pub(crate) fn pump(&mut self, events: &mut Vec<CompanionEvent>) -> Vec<InnerFrame> {
        let mut frames = Vec::new();
        let mut failed = Vec::new();
        for (&t, transfer) in self.active.iter_mut() {
            let Transfer::Upload {
                request,
                next: Some(next),
                credit,
            } = transfer
            else {
                continue;
            };
            while *credit > 0 && *next < request.size {
                let len = (request.size - *next).min(MAX_CHUNK as u64) as usize;
                match request.source.read_chunk(*next, len) {
                    Ok(data) if data.len() == len => {
                        frames.push(
                            Chunk {
                                transfer_id: t,
                                offset: *next,
                                data,
                            }
                            .into(),
                        );
                        *next += len as u64;
                        *credit -= 1;
                    }
                    _ => {
                        failed.push(t);
                        break;
                    }
                }
            }
            if frames
                .iter()
                .any(|f| matches!(f, InnerFrame::Chunk(c) if c.transfer_id == t))
            {
                events.push(CompanionEvent::UploadProgress {
                    transfer_id: t,
                    sent: *next,
                    size: request.size,
                });
            }
        }
        for t in failed {
            self.active.remove(&t);
            frames.push(
                TransferCancel {
                    transfer_id: t,
                    code: Code::INVALID_REQUEST,
                }
                .into(),
            );
            events.push(CompanionEvent::TransferFailed {
                transfer_id: t,
                code: Code::INVALID_REQUEST,
            });
        }
        frames
    }
}
