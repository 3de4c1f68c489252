//! Media transfers on the primary (spec §8): uploads written durably
//! before credit is granted and checked against their hash, downloads sent
//! within the companion's credit.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};
use tandem_codec::Code;
use tandem_codec::limits::MAX_CHUNK;
use tandem_codec::session::{
    Chunk, Credit, DownloadReady, DownloadRequest, Error as ErrorFrame, InnerFrame, TransferCancel,
    UploadBegin, UploadDone, UploadReady,
};

use super::{Ctx, store_error};
use crate::Error;
use crate::faults::{Fault, Faults};
use crate::store::{MediaState, Store};

/// `MAX_TRANSFERS` per session.
pub(crate) const MAX_TRANSFERS: usize = 4;
/// `MAX_CREDIT`, in chunks.
pub(crate) const MAX_CREDIT: u32 = 32;
/// Credit granted when an upload starts.
const INITIAL_UPLOAD_CREDIT: u16 = 32;
/// Chunks consumed before credit is granted back in one `Credit` frame.
const CREDIT_BATCH: u16 = 8;

enum Transfer {
    Upload {
        media_id: [u8; 32],
        size: u64,
        next: u64,
        /// Chunks the companion may still send.
        credit: u32,
        /// Chunks written since the last grant.
        consumed: u16,
    },
    Download {
        media_id: [u8; 32],
        next: u64,
        end: u64,
        /// Chunks we may still send.
        credit: u32,
    },
}

#[derive(Default)]
pub(crate) struct Transfers {
    active: BTreeMap<u32, Transfer>,
}

impl Transfers {
    /// Handles one media frame; returns the frames to send back.
    pub(crate) fn handle<S: Store>(
        &mut self,
        ctx: &mut Ctx<'_, S>,
        frame: InnerFrame,
    ) -> Result<Vec<InnerFrame>, Error> {
        match frame {
            InnerFrame::UploadBegin(begin) => self.upload_begin(ctx, begin),
            InnerFrame::Chunk(chunk) => self.chunk(ctx, chunk),
            InnerFrame::Credit(credit) => self.credit(credit, ctx.config.faults),
            InnerFrame::DownloadRequest(request) => self.download(ctx, request),
            InnerFrame::TransferCancel(cancel) => {
                self.active.remove(&cancel.transfer_id);
                Ok(Vec::new())
            }
            _ => Ok(Vec::new()),
        }
    }

    fn check_new(&self, transfer_id: u32) -> Option<InnerFrame> {
        // [MEDIA-12] At most `MAX_TRANSFERS` transfers may be active in each
        // session; a transfer id that is active is `invalid_request`.
        if self.active.contains_key(&transfer_id) {
            return Some(error(
                Code::INVALID_REQUEST,
                transfer_id,
                "transfer id in use",
            ));
        }
        if self.active.len() >= MAX_TRANSFERS {
            return Some(error(
                Code::TOO_MANY_TRANSFERS,
                transfer_id,
                "too many transfers",
            ));
        }
        None
    }

    fn upload_begin<S: Store>(
        &mut self,
        ctx: &mut Ctx<'_, S>,
        begin: UploadBegin,
    ) -> Result<Vec<InnerFrame>, Error> {
        let t = begin.transfer_id;
        if let Some(refusal) = self.check_new(t) {
            return Ok(vec![refusal]);
        }
        // [MEDIA-03] The primary MUST refuse a `size` of 0 or above
        // `MAX_MEDIA_SIZE`.
        if begin.size == 0 {
            return Ok(vec![error(Code::INVALID_REQUEST, t, "empty file")]);
        }
        if begin.size > ctx.config.max_media_size {
            return Ok(vec![error(Code::MEDIA_TOO_LARGE, t, "file too large")]);
        }
        // [MEDIA-04] `UploadReady.offset` MUST be the number of bytes of this
        // media id that the primary holds durably.
        let offset = match ctx
            .store
            .media_state(&begin.media_id)
            .map_err(store_error)?
        {
            MediaState::Complete { size } if size == begin.size => {
                let ready = UploadReady {
                    transfer_id: t,
                    offset: size,
                    credit: 0,
                };
                let done = UploadDone {
                    transfer_id: t,
                    media_id: begin.media_id,
                };
                return Ok(vec![ready.into(), done.into()]);
            }
            MediaState::Partial { bytes } if bytes < begin.size => bytes,
            MediaState::Absent => 0,
            MediaState::Complete { .. } | MediaState::Partial { .. } => {
                ctx.store
                    .discard_media(&begin.media_id)
                    .map_err(store_error)?;
                0
            }
        };
        self.active.insert(
            t,
            Transfer::Upload {
                media_id: begin.media_id,
                size: begin.size,
                next: offset,
                credit: u32::from(INITIAL_UPLOAD_CREDIT),
                consumed: 0,
            },
        );
        Ok(vec![
            UploadReady {
                transfer_id: t,
                offset,
                credit: INITIAL_UPLOAD_CREDIT,
            }
            .into(),
        ])
    }

    fn chunk<S: Store>(
        &mut self,
        ctx: &mut Ctx<'_, S>,
        chunk: Chunk,
    ) -> Result<Vec<InnerFrame>, Error> {
        let t = chunk.transfer_id;
        // [MEDIA-02] A `Chunk` for a transfer id that is not active gets
        // `Error(unknown_transfer)`.
        let Some(Transfer::Upload {
            media_id,
            size,
            next,
            credit,
            consumed,
        }) = self.active.get_mut(&t)
        else {
            return Ok(vec![error(Code::UNKNOWN_TRANSFER, t, "no such upload")]);
        };
        // [MEDIA-09] A receiver that gets a chunk without credit MUST close
        // the session with `credit_exceeded`.
        if *credit == 0 {
            return Err(Error::protocol(
                Code::CREDIT_EXCEEDED,
                "chunk without credit",
            ));
        }
        *credit -= 1;
        // [MEDIA-01] A receiver MUST cancel a transfer with `invalid_range`
        // when a chunk is not at the next offset or runs past the end.
        let len = chunk.data.len() as u64;
        if chunk.offset != *next || chunk.offset + len > *size {
            self.active.remove(&t);
            return Ok(vec![cancel(t, Code::INVALID_RANGE)]);
        }
        // [MEDIA-05] The primary MUST write a chunk durably before it grants
        // credit for it.
        ctx.store
            .write_media(media_id, *next, &chunk.data)
            .map_err(store_error)?;
        *next += len;
        *consumed += 1;
        if *next == *size {
            let (media_id, size) = (*media_id, *size);
            self.active.remove(&t);
            return finish_upload(ctx, t, media_id, size);
        }
        let mut replies = Vec::new();
        if *consumed >= CREDIT_BATCH {
            replies.push(
                Credit {
                    transfer_id: t,
                    chunks: *consumed,
                }
                .into(),
            );
            *credit += u32::from(*consumed);
            *consumed = 0;
        }
        Ok(replies)
    }

    fn credit(&mut self, grant: Credit, faults: Faults) -> Result<Vec<InnerFrame>, Error> {
        let Some(Transfer::Download { credit, .. }) = self.active.get_mut(&grant.transfer_id)
        else {
            return Ok(vec![error(
                Code::UNKNOWN_TRANSFER,
                grant.transfer_id,
                "no such download",
            )]);
        };
        *credit = credit.saturating_add(u32::from(grant.chunks));
        // [MEDIA-10] A sender that is granted more than `MAX_CREDIT`
        // outstanding chunks MUST close the session with `credit_exceeded`.
        // Fault [MEDIA-10]: `AcceptExcessDownloadCredit` takes any credit.
        if *credit > MAX_CREDIT && !faults.has(Fault::AcceptExcessDownloadCredit) {
            return Err(Error::protocol(
                Code::CREDIT_EXCEEDED,
                "credit above MAX_CREDIT",
            ));
        }
        Ok(Vec::new())
    }

    fn download<S: Store>(
        &mut self,
        ctx: &mut Ctx<'_, S>,
        request: DownloadRequest,
    ) -> Result<Vec<InnerFrame>, Error> {
        let t = request.transfer_id;
        if let Some(refusal) = self.check_new(t) {
            return Ok(vec![refusal]);
        }
        // Fault [MEDIA-10]: `AcceptExcessDownloadCredit` takes any credit.
        if u32::from(request.credit) > MAX_CREDIT
            && !ctx.config.faults.has(Fault::AcceptExcessDownloadCredit)
        {
            return Err(Error::protocol(
                Code::CREDIT_EXCEEDED,
                "credit above MAX_CREDIT",
            ));
        }
        // [MEDIA-07] The primary MUST answer a media id it does not hold with
        // `media_not_found` and a range outside the file with `invalid_range`.
        let MediaState::Complete { size } = ctx
            .store
            .media_state(&request.media_id)
            .map_err(store_error)?
        else {
            return Ok(vec![error(Code::MEDIA_NOT_FOUND, t, "no such media")]);
        };
        let length = if request.length == 0 {
            size.saturating_sub(request.offset)
        } else {
            request.length
        };
        let end = request.offset.checked_add(length);
        if request.offset > size || end.is_none_or(|end| end > size) {
            return Ok(vec![error(
                Code::INVALID_RANGE,
                t,
                "range outside the file",
            )]);
        }
        let ready = DownloadReady {
            transfer_id: t,
            size,
            offset: request.offset,
            length,
        };
        if length > 0 {
            self.active.insert(
                t,
                Transfer::Download {
                    media_id: request.media_id,
                    next: request.offset,
                    end: request.offset + length,
                    credit: u32::from(request.credit),
                },
            );
        }
        Ok(vec![ready.into()])
    }

    /// Download chunks the credit allows now.
    pub(crate) fn pump<S: Store>(
        &mut self,
        ctx: &mut Ctx<'_, S>,
    ) -> Result<Vec<InnerFrame>, Error> {
        let mut frames = Vec::new();
        let mut finished = Vec::new();
        // Fault [MEDIA-09]: chunks go out without credit.
        let creditless = ctx.config.faults.has(Fault::IgnoreDownloadCredit);
        for (&t, transfer) in self.active.iter_mut() {
            let Transfer::Download {
                media_id,
                next,
                end,
                credit,
            } = transfer
            else {
                continue;
            };
            while (*credit > 0 || creditless) && *next < *end {
                let len = (*end - *next).min(MAX_CHUNK as u64) as usize;
                let data = ctx
                    .store
                    .read_media(media_id, *next, len)
                    .map_err(store_error)?;
                if data.len() != len {
                    return Err(Error::Store("media file shorter than recorded".into()));
                }
                frames.push(
                    Chunk {
                        transfer_id: t,
                        offset: *next,
                        data,
                    }
                    .into(),
                );
                *next += len as u64;
                *credit = credit.saturating_sub(1);
            }
            if *next == *end {
                finished.push(t);
            }
        }
        for t in finished {
            self.active.remove(&t);
        }
        Ok(frames)
    }
}

/// [MEDIA-06] When it has `size` bytes, the primary MUST check the SHA-256
/// of the whole file against `media_id`, and discard it on a mismatch.
fn finish_upload<S: Store>(
    ctx: &mut Ctx<'_, S>,
    t: u32,
    media_id: [u8; 32],
    size: u64,
) -> Result<Vec<InnerFrame>, Error> {
    let mut hasher = Sha256::new();
    let mut offset = 0;
    while offset < size {
        let len = (size - offset).min(1 << 20) as usize;
        let data = ctx
            .store
            .read_media(&media_id, offset, len)
            .map_err(store_error)?;
        if data.is_empty() {
            return Err(Error::Store("media file shorter than written".into()));
        }
        hasher.update(&data);
        offset += data.len() as u64;
    }
    // Fault [MEDIA-06]: `SkipUploadHashCheck` keeps a mismatching file.
    if hasher.finalize().as_slice() != media_id
        && !ctx.config.faults.has(Fault::SkipUploadHashCheck)
    {
        ctx.store.discard_media(&media_id).map_err(store_error)?;
        return Ok(vec![cancel(t, Code::MEDIA_HASH_MISMATCH)]);
    }
    ctx.store
        .complete_media(&media_id, size)
        .map_err(store_error)?;
    Ok(vec![
        UploadDone {
            transfer_id: t,
            media_id,
        }
        .into(),
    ])
}

fn error(code: Code, transfer_id: u32, message: &str) -> InnerFrame {
    ErrorFrame {
        code,
        ref_id: transfer_id,
        message: message.to_owned(),
    }
    .into()
}

fn cancel(transfer_id: u32, code: Code) -> InnerFrame {
    TransferCancel { transfer_id, code }.into()
}
