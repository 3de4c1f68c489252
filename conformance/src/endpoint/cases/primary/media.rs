//! Media transfers with a primary under test (spec §8): uploads with their
//! resume offset, durability and hash check (§8.2), downloads of exact
//! ranges (§8.3), credit in both directions (§8.4), and the transfer limits
//! (§8.5). The runner plays the companion that uploads and downloads.

use std::time::{Duration, Instant};

use bytes::Bytes;
use sha2::{Digest, Sha256};
use tandem_codec::Code;
use tandem_codec::limits::MAX_CHUNK;
use tandem_codec::session::{
    Body, Chunk, Credit, DownloadReady, DownloadRequest, InnerFrame, MediaRef, Send,
    TransferCancel, UploadBegin, UploadReady,
};

use super::sync::{Interruption, Live, add_chat, ensure_no_frames, live, rejoin, send_applied};
use crate::case::{FailKind, Failure, ensure};
use crate::endpoint::cases::{EndpointCase, primary_case as c};
use crate::endpoint::ctx::Ctx;
use crate::endpoint::faults::{
    BAD_CHUNK_OFFSET, BAD_DOWNLOAD_RANGE, BAD_MEDIA_SIZE, EXCESS_CREDIT, INTERRUPTED_UPLOAD,
    TOO_MANY_TRANSFERS, TRANSFER_ID_IN_USE, UNKNOWN_MEDIA, UNKNOWN_TRANSFER, UPLOAD_HASH_MISMATCH,
};
use crate::endpoint::link::{Incoming, Link, describe_inner};

/// Capabilities of a media case.
const MEDIA: &[&str] = &["pair", "reconnect", "sync", "media"];

/// Capabilities of a media case that restarts the primary.
const MEDIA_RESTART: &[&str] = &["pair", "reconnect", "sync", "media", "restart"];

/// `MAX_CREDIT` (§8.4).
const MAX_CREDIT: u64 = 32;

/// `MAX_TRANSFERS` (§8.5).
const MAX_TRANSFERS: u32 = 4;

/// A file and its media id (§8.2).
struct File {
    data: Vec<u8>,
    media_id: [u8; 32],
}

impl File {
    /// `len` seeded bytes.
    fn new(ctx: &Ctx, len: usize) -> Self {
        let data = ctx.relay().bytes(len);
        let media_id = Sha256::digest(&data).into();
        Self { data, media_id }
    }

    fn size(&self) -> u64 {
        self.data.len() as u64
    }

    fn begin(&self, transfer_id: u32) -> UploadBegin {
        UploadBegin {
            transfer_id,
            media_id: self.media_id,
            size: self.size(),
            mime: "application/octet-stream".into(),
            name: "conformance.bin".into(),
        }
    }

    fn chunk(&self, transfer_id: u32, offset: u64, len: usize) -> Chunk {
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.data.len());
        let end = start.saturating_add(len).min(self.data.len());
        Chunk {
            transfer_id,
            offset,
            data: Bytes::copy_from_slice(&self.data[start..end]),
        }
    }
}

/// Skips what may come between media frames.
fn skippable(frame: &InnerFrame) -> bool {
    matches!(frame, InnerFrame::Typing(_) | InnerFrame::Event(_))
}

/// The next media answer on the link (Typing and events skipped).
async fn answer(ctx: &Ctx, link: &mut Link, what: &str) -> Result<InnerFrame, Failure> {
    link.expect_frame_skipping(ctx.wait(), what, skippable, |f| Some(f.clone()))
        .await
}

/// Sends `UploadBegin` and expects `UploadReady`.
async fn begin(ctx: &Ctx, link: &mut Link, file: &File, t: u32) -> Result<UploadReady, Failure> {
    link.send(&InnerFrame::UploadBegin(file.begin(t))).await?;
    match answer(ctx, link, "UploadReady [MEDIA-04]").await? {
        InnerFrame::UploadReady(r) if r.transfer_id == t => Ok(r),
        other => Err(Failure::fail(
            format!("UploadReady for transfer {t} [MEDIA-04]"),
            describe_inner(&other),
        )),
    }
}

/// How an upload went.
struct Upload {
    /// `UploadDone`, `TransferCancel` or what else ended it; `None` when
    /// the runner stopped before the end and nothing else came.
    end: Option<InnerFrame>,
    /// The most chunks the primary let be outstanding at once.
    most_outstanding: u64,
    /// The bytes the primary granted credit back for (durable, [MEDIA-05]).
    credited_bytes: u64,
}

/// Sends chunks of `chunk_len` from `offset` within the credit granted,
/// up to `stop` bytes (the file's size for all), and reads what comes.
async fn send_chunks(
    ctx: &Ctx,
    link: &mut Link,
    file: &File,
    ready: UploadReady,
    chunk_len: usize,
    stop: u64,
) -> Result<Upload, Failure> {
    let t = ready.transfer_id;
    let mut credit = u64::from(ready.credit);
    let mut most = credit;
    let mut offset = ready.offset;
    let mut granted_chunks = 0u64;
    let deadline = Instant::now() + ctx.scaled(Duration::from_secs(20));
    loop {
        while credit > 0 && offset < stop {
            let chunk = file.chunk(t, offset, chunk_len);
            offset += chunk.data.len() as u64;
            credit -= 1;
            link.send(&InnerFrame::Chunk(chunk)).await?;
        }
        // Stopped early on purpose: only Credit may still come.
        let within = if offset >= stop && stop < file.size() {
            ctx.quiet()
        } else {
            deadline.saturating_duration_since(Instant::now())
        };
        let frame = match link
            .next(within, "Credit, UploadDone or TransferCancel")
            .await
        {
            Ok(Incoming::Frame(f)) if skippable(&f) => continue,
            Ok(Incoming::Frame(f)) => f,
            Ok(Incoming::PeerState(_)) => continue,
            Ok(other) => {
                return Err(Failure::fail(
                    "an answer to the chunks (§8.2)",
                    other.describe(),
                ));
            }
            Err(f) if f.kind == FailKind::Timeout && offset >= stop && stop < file.size() => {
                return Ok(Upload {
                    end: None,
                    most_outstanding: most,
                    credited_bytes: granted_chunks * chunk_len as u64,
                });
            }
            Err(f) if f.kind == FailKind::Timeout && offset < stop => {
                return Err(Failure::non_strict(
                    "credit granted back while chunks are consumed, so that the upload keeps moving [MEDIA-11]",
                    format!(
                        "no Credit for {:.1} s at offset {offset} of {}",
                        within.as_secs_f64(),
                        file.size()
                    ),
                ));
            }
            Err(f) => return Err(f),
        };
        match frame {
            InnerFrame::Credit(grant) if grant.transfer_id == t => {
                credit += u64::from(grant.chunks);
                granted_chunks += u64::from(grant.chunks);
                most = most.max(credit);
            }
            end => {
                return Ok(Upload {
                    end: Some(end),
                    most_outstanding: most,
                    credited_bytes: granted_chunks * chunk_len as u64,
                });
            }
        }
    }
}

/// Uploads the whole file on transfer `t` and expects `UploadDone`.
async fn upload(ctx: &Ctx, link: &mut Link, file: &File, t: u32) -> Result<(), Failure> {
    let ready = begin(ctx, link, file, t).await?;
    if ready.offset == file.size() {
        return expect_done(ctx, link, file, t).await;
    }
    let upload = send_chunks(ctx, link, file, ready, MAX_CHUNK, file.size()).await?;
    ensure_done(&upload.end, file, t)
}

/// Expects `UploadDone(t, media_id)` as the next answer.
async fn expect_done(ctx: &Ctx, link: &mut Link, file: &File, t: u32) -> Result<(), Failure> {
    let end = answer(ctx, link, "UploadDone [MEDIA-06]").await?;
    ensure_done(&Some(end), file, t)
}

fn ensure_done(end: &Option<InnerFrame>, file: &File, t: u32) -> Result<(), Failure> {
    ensure(
        matches!(end, Some(InnerFrame::UploadDone(d)) if d.transfer_id == t && d.media_id == file.media_id),
        format!("UploadDone({t}, media id) once the file is complete and matches [MEDIA-06]"),
        || describe_end(end),
    )
}

/// What ended an upload, for people.
fn describe_end(end: &Option<InnerFrame>) -> String {
    end.as_ref()
        .map_or_else(|| "nothing".to_owned(), describe_inner)
}

/// Downloads `[offset, offset + length)` granting one chunk of credit at
/// a time, checking that no chunk comes without credit ([MEDIA-09]).
async fn download(
    ctx: &Ctx,
    link: &mut Link,
    request: DownloadRequest,
) -> Result<(DownloadReady, Vec<u8>), Failure> {
    let t = request.transfer_id;
    let mut credit = u64::from(request.credit);
    link.send(&InnerFrame::DownloadRequest(request)).await?;
    let ready = match answer(ctx, link, "DownloadReady [MEDIA-07]").await? {
        InnerFrame::DownloadReady(r) if r.transfer_id == t => r,
        other => {
            return Err(Failure::fail(
                format!("DownloadReady for transfer {t} [MEDIA-07]"),
                describe_inner(&other),
            ));
        }
    };
    let mut data = Vec::new();
    while (data.len() as u64) < ready.length {
        let chunk = match answer(ctx, link, "the chunks of the download (§8.3)").await? {
            InnerFrame::Chunk(c) if c.transfer_id == t => c,
            other => {
                return Err(Failure::fail(
                    format!("a Chunk of transfer {t} (§8.3)"),
                    describe_inner(&other),
                ));
            }
        };
        ensure(credit > 0, "no chunk without credit [MEDIA-09]", || {
            format!("a chunk at offset {} with no credit left", chunk.offset)
        })?;
        credit -= 1;
        let expected = ready.offset + data.len() as u64;
        ensure(
            chunk.offset == expected,
            format!("the next chunk at offset {expected} (§8.1)"),
            || format!("a chunk at offset {}", chunk.offset),
        )?;
        data.extend_from_slice(&chunk.data);
        if (data.len() as u64) < ready.length && credit == 0 {
            grant(link, t, 1).await?;
            credit += 1;
        }
    }
    ensure(
        data.len() as u64 == ready.length,
        format!("exactly {} bytes (§8.3)", ready.length),
        || format!("{} bytes", data.len()),
    )?;
    Ok((ready, data))
}

/// A download request with credit 1.
fn request(t: u32, file: &File, offset: u64, length: u64) -> DownloadRequest {
    DownloadRequest {
        transfer_id: t,
        media_id: file.media_id,
        offset,
        length,
        credit: 1,
    }
}

/// Expects `Error(code, t)`.
async fn expect_error(
    ctx: &Ctx,
    link: &mut Link,
    code: Code,
    t: u32,
    why: &str,
) -> Result<(), Failure> {
    let got = answer(ctx, link, why).await?;
    ensure(
        matches!(&got, InnerFrame::Error(e) if e.code == code && e.ref_id == t),
        format!("Error({}, {t}) ({why})", code.name().unwrap_or_default()),
        || describe_inner(&got),
    )
}

/// Expects `TransferCancel(t, code)`.
async fn expect_cancel(
    ctx: &Ctx,
    link: &mut Link,
    code: Code,
    t: u32,
    why: &str,
) -> Result<(), Failure> {
    let got = answer(ctx, link, why).await?;
    ensure_cancel(&Some(got), code, t, why)
}

fn ensure_cancel(got: &Option<InnerFrame>, code: Code, t: u32, why: &str) -> Result<(), Failure> {
    ensure(
        matches!(got, Some(InnerFrame::TransferCancel(c)) if c.code == code && c.transfer_id == t),
        format!(
            "TransferCancel({t}, {}) ({why})",
            code.name().unwrap_or_default()
        ),
        || describe_end(got),
    )
}

/// A live session and a fresh file of `len` bytes.
async fn live_with_file(ctx: &Ctx, len: usize) -> Result<(Live, File), Failure> {
    let live = live(ctx).await?;
    let file = File::new(ctx, len);
    Ok((live, file))
}

/// A live session that has uploaded a fresh file of `len` bytes on
/// transfer `t`.
async fn live_with_upload(ctx: &Ctx, len: usize, t: u32) -> Result<(Live, File), Failure> {
    let (mut live, file) = live_with_file(ctx, len).await?;
    upload(ctx, &mut live.link, &file, t).await?;
    Ok((live, file))
}

/// Sends `DownloadRequest` without reading the answer.
async fn ask_download(link: &mut Link, request: DownloadRequest) -> Result<(), Failure> {
    link.send(&InnerFrame::DownloadRequest(request)).await
}

/// Grants `chunks` more chunks of credit for download `t`.
async fn grant(link: &mut Link, t: u32, chunks: u16) -> Result<(), Failure> {
    link.send(&InnerFrame::Credit(Credit {
        transfer_id: t,
        chunks,
    }))
    .await
}

/// Cancels transfer `t` as the companion (`normal_closure`).
async fn cancel_transfer(link: &mut Link, t: u32) -> Result<(), Failure> {
    link.send(&InnerFrame::TransferCancel(TransferCancel {
        transfer_id: t,
        code: Code::NORMAL_CLOSURE,
    }))
    .await
}

/// Begins `MAX_TRANSFERS` uploads, transfers 1 to 4, of 5,000-byte files.
async fn fill_transfers(ctx: &Ctx, link: &mut Link) -> Result<(), Failure> {
    for t in 1..=MAX_TRANSFERS {
        let file = File::new(ctx, 5000);
        begin(ctx, link, &file, t).await?;
    }
    Ok(())
}

/// Checks that an `UploadReady` starts at offset 0.
fn ensure_from_start(ready: &UploadReady, why: &str) -> Result<(), Failure> {
    ensure(ready.offset == 0, why, || ready.offset.to_string())
}

/// Checks that downloaded bytes are `expected`.
fn ensure_bytes(data: &[u8], expected: &[u8], what: &str) -> Result<(), Failure> {
    ensure(data == expected, what, || {
        format!("{} other bytes", data.len())
    })
}

/// Checks that `DownloadReady` names a file of `size` and the range
/// `[offset, offset + length)` (§8.3).
fn ensure_range(ready: &DownloadReady, size: u64, offset: u64, length: u64) -> Result<(), Failure> {
    ensure(
        ready.size == size && ready.offset == offset && ready.length == length,
        format!("DownloadReady(2, {size}, {offset}, {length}) (§8.3)"),
        || format!("{ready:?}"),
    )
}

/// Sends `chunk` and expects `Error(unknown_transfer, t)` ([MEDIA-02]).
async fn expect_unknown_transfer(
    ctx: &Ctx,
    link: &mut Link,
    chunk: Chunk,
    why: &str,
) -> Result<(), Failure> {
    let t = chunk.transfer_id;
    link.send(&InnerFrame::Chunk(chunk)).await?;
    expect_error(ctx, link, Code::UNKNOWN_TRANSFER, t, why).await
}

/// Sends `chunks` and expects `TransferCancel(t, invalid_range)`
/// ([MEDIA-01]).
async fn expect_invalid_range(
    ctx: &Ctx,
    link: &mut Link,
    chunks: Vec<Chunk>,
    t: u32,
    why: &str,
) -> Result<(), Failure> {
    for chunk in chunks {
        link.send(&InnerFrame::Chunk(chunk)).await?;
    }
    expect_cancel(ctx, link, Code::INVALID_RANGE, t, why).await
}

/// Expects the session to end with `credit_exceeded` ([MEDIA-10]).
async fn expect_credit_exceeded(ctx: &Ctx, link: &mut Link, why: &str) -> Result<(), Failure> {
    super::sync::expect_closed(ctx, link, Code::CREDIT_EXCEEDED, why).await
}

/// Uploads a `len`-byte file whose media id has `mask` flipped in byte
/// `at`, in chunks of 1,000 bytes on transfer 1, and expects
/// `TransferCancel(1, media_hash_mismatch)` ([MEDIA-06]).
async fn mismatched_upload(
    ctx: &Ctx,
    len: usize,
    at: usize,
    mask: u8,
    why: &str,
) -> Result<(Live, File), Failure> {
    let (mut live, mut file) = live_with_file(ctx, len).await?;
    file.media_id[at] ^= mask;
    let ready = begin(ctx, &mut live.link, &file, 1).await?;
    let upload = send_chunks(ctx, &mut live.link, &file, ready, 1000, file.size()).await?;
    ensure_cancel(&upload.end, Code::MEDIA_HASH_MISMATCH, 1, why)?;
    Ok((live, file))
}

/// Sends `UploadBegin` for transfer 7 of a 10-byte file as `change`
/// leaves it and expects `Error(code, 7)` ([MEDIA-03]).
async fn refused_begin(
    ctx: &Ctx,
    change: impl FnOnce(&mut UploadBegin),
    code: Code,
    why: &str,
) -> Result<(), Failure> {
    let mut live = live(ctx).await?;
    let mut begin = File::new(ctx, 10).begin(7);
    change(&mut begin);
    live.link.send(&InnerFrame::UploadBegin(begin)).await?;
    expect_error(ctx, &mut live.link, code, 7, why).await
}

/// Starts an upload of a two-chunk file and sends `chunk` first.
async fn first_chunk_cancelled(ctx: &Ctx, offset: u64, len: usize) -> Result<(), Failure> {
    let (mut live, file) = live_with_file(ctx, MAX_CHUNK + 1000).await?;
    let ready = begin(ctx, &mut live.link, &file, 1).await?;
    ensure_from_start(&ready, "UploadReady offset 0 for a new file [MEDIA-04]")?;
    let mut chunk = file.chunk(1, offset, len);
    if chunk.data.is_empty() {
        chunk.data = Bytes::from_static(&[0]);
    }
    expect_invalid_range(
        ctx,
        &mut live.link,
        vec![chunk],
        1,
        "a chunk at the wrong offset or past the end [MEDIA-01]",
    )
    .await
}

/// Uploads part of a file, interrupts, and checks the resume offset
/// ([MEDIA-04], [MEDIA-05]).
async fn resume_upload(ctx: &Ctx, how: Interruption) -> Result<(), Failure> {
    let chunk_len = 1000;
    let (mut live, file) = live_with_file(ctx, 80 * chunk_len).await?;
    let ready = begin(ctx, &mut live.link, &file, 1).await?;
    let stop = (u64::from(ready.credit) * chunk_len as u64).min(file.size() - chunk_len as u64);
    let partial = send_chunks(ctx, &mut live.link, &file, ready, chunk_len, stop).await?;
    ensure(
        partial.end.is_none(),
        "only Credit while the upload is incomplete (§8.2)",
        || describe_end(&partial.end),
    )?;
    let mut link = rejoin(ctx, live, how, "a resume after the interruption").await?;
    let again = begin(ctx, &mut link, &file, 2).await?;
    ctx.note(format!(
        "credit granted back for {} bytes, {stop} bytes sent, the upload resumes at {}",
        partial.credited_bytes, again.offset
    ));
    ensure(
        again.offset >= partial.credited_bytes && again.offset <= stop,
        format!(
            "UploadReady offset between {} (bytes credited back, so durable [MEDIA-05]) and {stop} (bytes sent) [MEDIA-04]",
            partial.credited_bytes
        ),
        || again.offset.to_string(),
    )?;
    let rest = send_chunks(ctx, &mut link, &file, again, chunk_len, file.size()).await?;
    ensure_done(&rest.end, &file, 2)?;
    let (_, data) = download(ctx, &mut link, request(3, &file, 0, 0)).await?;
    ensure_bytes(
        &data,
        &file.data,
        "the resumed file byte for byte [MEDIA-04]",
    )
}

/// The media cases.
pub(super) fn cases() -> Vec<EndpointCase> {
    let mut cases = upload_cases();
    cases.extend(download_cases());
    cases.extend(limit_cases());
    cases
}

fn upload_cases() -> Vec<EndpointCase> {
    vec![
        c(
            "MEDIA-06",
            1,
            &["MEDIA-04", "MEDIA-10", "SYNC-17"],
            "stores an upload that matches its media id, answers UploadDone, and accepts a media message for it",
            |ctx| async move {
                let chat = add_chat(&ctx, "Ada").await?;
                let (mut live, file) = live_with_upload(&ctx, 2 * MAX_CHUNK + 100, 1).await?;
                let send = Send {
                    client_id: ctx.relay().array(),
                    chat_id: chat,
                    body: Body::Media(MediaRef {
                        media_id: file.media_id,
                        size: file.size(),
                        mime: "application/octet-stream".into(),
                        name: "conformance.bin".into(),
                        caption: "a file".into(),
                    }),
                };
                send_applied(&ctx, &mut live.link, &send).await.map(|_| ())
            },
        )
        .needs(&["pair", "reconnect", "sync", "media", "inject"]),
        c(
            "MEDIA-06",
            2,
            &["MEDIA-04"],
            "discards an upload whose SHA-256 is not its media id and cancels it with media_hash_mismatch",
            |ctx| async move {
                let (mut live, file) = mismatched_upload(&ctx, 3000, 0, 1, "a file that does not match its media id [MEDIA-06]").await?;
                let again = begin(&ctx, &mut live.link, &file, 2).await?;
                ensure_from_start(&again, "UploadReady offset 0 after the mismatched data was discarded [MEDIA-06]")
            },
        )
        .needs(MEDIA)
        .faults(&[UPLOAD_HASH_MISMATCH]),
        c(
            "MEDIA-06",
            3,
            &[],
            "does not serve a file whose upload failed its hash check",
            |ctx| async move {
                let (mut live, file) = mismatched_upload(&ctx, 2000, 31, 0x80, "[MEDIA-06]").await?;
                ask_download(&mut live.link, request(2, &file, 0, 0)).await?;
                expect_error(&ctx, &mut live.link, Code::MEDIA_NOT_FOUND, 2, "the discarded file is not held [MEDIA-06] [MEDIA-07]").await
            },
        )
        .needs(MEDIA)
        .faults(&[UPLOAD_HASH_MISMATCH]),
        c(
            "MEDIA-04",
            1,
            &["MEDIA-06"],
            "answers an upload of a file it already holds with UploadReady(t, size, 0) and UploadDone",
            |ctx| async move {
                let (mut live, file) = live_with_upload(&ctx, 5000, 1).await?;
                let ready = begin(&ctx, &mut live.link, &file, 2).await?;
                ensure(
                    ready.offset == file.size() && ready.credit == 0,
                    format!("UploadReady(2, {}, 0) for a complete file [MEDIA-04]", file.size()),
                    || format!("{ready:?}"),
                )?;
                expect_done(&ctx, &mut live.link, &file, 2).await
            },
        )
        .needs(MEDIA),
        c(
            "MEDIA-04",
            2,
            &["MEDIA-05"],
            "resumes an upload after a lost session from the bytes it made durable",
            |ctx| async move { resume_upload(&ctx, Interruption::Reconnect).await },
        )
        .needs(MEDIA)
        .faults(&[INTERRUPTED_UPLOAD]),
        c(
            "MEDIA-05",
            1,
            &["MEDIA-04"],
            "keeps every chunk it granted credit for across its restart: the upload resumes at or after them",
            |ctx| async move { resume_upload(&ctx, Interruption::Restart).await },
        )
        .needs(MEDIA_RESTART)
        .faults(&[INTERRUPTED_UPLOAD]),
        c(
            "MEDIA-05",
            2,
            &["MEDIA-04"],
            "keeps every chunk it granted credit for across a crash: the upload resumes at or after them",
            |ctx| async move { resume_upload(&ctx, Interruption::Crash).await },
        )
        .needs(MEDIA_RESTART)
        .faults(&[INTERRUPTED_UPLOAD]),
        c(
            "MEDIA-03",
            1,
            &[],
            "refuses an upload of size 0 with Error(invalid_request, t)",
            |ctx| async move {
                let empty = |begin: &mut UploadBegin| {
                    begin.size = 0;
                    begin.media_id = Sha256::digest([]).into();
                };
                refused_begin(&ctx, empty, Code::INVALID_REQUEST, "an empty upload [MEDIA-03]").await
            },
        )
        .needs(MEDIA)
        .faults(&[BAD_MEDIA_SIZE]),
        c(
            "MEDIA-03",
            2,
            &[],
            "refuses an upload above MAX_MEDIA_SIZE (1 GiB) with Error(media_too_large, t)",
            |ctx| async move {
                let too_large = |begin: &mut UploadBegin| begin.size = (1 << 30) + 1;
                refused_begin(&ctx, too_large, Code::MEDIA_TOO_LARGE, "an upload of 1 GiB and one byte [MEDIA-03]").await
            },
        )
        .needs(MEDIA)
        .faults(&[BAD_MEDIA_SIZE]),
        c(
            "MEDIA-01",
            1,
            &[],
            "cancels an upload with TransferCancel(invalid_range) when a chunk skips ahead of the next offset",
            |ctx| async move { first_chunk_cancelled(&ctx, 500, 1000).await },
        )
        .needs(MEDIA)
        .faults(&[BAD_CHUNK_OFFSET]),
        c(
            "MEDIA-01",
            2,
            &[],
            "cancels an upload with TransferCancel(invalid_range) when a chunk runs past the file's end",
            |ctx| async move {
                let (mut live, file) = live_with_file(&ctx, 1000).await?;
                begin(&ctx, &mut live.link, &file, 1).await?;
                let mut chunk = file.chunk(1, 0, 1000);
                chunk.data = Bytes::from(vec![1; 1001]);
                expect_invalid_range(&ctx, &mut live.link, vec![chunk], 1, "a chunk past the end [MEDIA-01]").await
            },
        )
        .needs(MEDIA)
        .faults(&[BAD_CHUNK_OFFSET]),
        c(
            "MEDIA-01",
            3,
            &[],
            "cancels an upload with TransferCancel(invalid_range) when a chunk repeats an earlier offset",
            |ctx| async move {
                let (mut live, file) = live_with_file(&ctx, 3000).await?;
                begin(&ctx, &mut live.link, &file, 1).await?;
                let twice = vec![file.chunk(1, 0, 1000), file.chunk(1, 0, 1000)];
                expect_invalid_range(&ctx, &mut live.link, twice, 1, "a chunk at an offset already written [MEDIA-01]").await
            },
        )
        .needs(MEDIA)
        .faults(&[BAD_CHUNK_OFFSET]),
        c(
            "MEDIA-02",
            1,
            &[],
            "answers a Chunk for a transfer that was never started with Error(unknown_transfer, t)",
            |ctx| async move {
                let (mut live, file) = live_with_file(&ctx, 1000).await?;
                expect_unknown_transfer(&ctx, &mut live.link, file.chunk(99, 0, 1000), "a chunk of no transfer [MEDIA-02]").await
            },
        )
        .needs(MEDIA)
        .faults(&[UNKNOWN_TRANSFER]),
        c(
            "MEDIA-02",
            2,
            &[],
            "answers a Chunk for a transfer the companion cancelled with Error(unknown_transfer, t)",
            |ctx| async move {
                let (mut live, file) = live_with_file(&ctx, 3000).await?;
                begin(&ctx, &mut live.link, &file, 5).await?;
                live.link.send(&InnerFrame::Chunk(file.chunk(5, 0, 1000))).await?;
                cancel_transfer(&mut live.link, 5).await?;
                ensure_no_frames(&ctx, &mut live.link, "no answer to the companion's TransferCancel (§8.5)").await?;
                expect_unknown_transfer(&ctx, &mut live.link, file.chunk(5, 1000, 1000), "a chunk of a cancelled transfer [MEDIA-02]").await
            },
        )
        .needs(MEDIA)
        .faults(&[UNKNOWN_TRANSFER]),
        c(
            "MEDIA-02",
            3,
            &["MEDIA-06"],
            "answers a Chunk for a finished upload with Error(unknown_transfer, t)",
            |ctx| async move {
                let (mut live, file) = live_with_upload(&ctx, 1000, 6).await?;
                expect_unknown_transfer(&ctx, &mut live.link, file.chunk(6, 0, 1000), "a chunk after UploadDone [MEDIA-02]").await
            },
        )
        .needs(MEDIA)
        .faults(&[UNKNOWN_TRANSFER]),
        c(
            "MEDIA-10",
            1,
            &["MEDIA-11"],
            "never lets more than MAX_CREDIT (32) chunks of an upload be outstanding, and grants credit back as it writes",
            |ctx| async move {
                let (mut live, file) = live_with_file(&ctx, 100 * 500).await?;
                let ready = begin(&ctx, &mut live.link, &file, 1).await?;
                let upload = send_chunks(&ctx, &mut live.link, &file, ready, 500, file.size()).await?;
                ensure_done(&upload.end, &file, 1)?;
                ensure(
                    upload.most_outstanding <= MAX_CREDIT,
                    "at most 32 chunks of credit outstanding [MEDIA-10]",
                    || format!("{} chunks", upload.most_outstanding),
                )
            },
        )
        .needs(MEDIA),
    ]
}

fn download_cases() -> Vec<EndpointCase> {
    vec![
        c(
            "MEDIA-07",
            1,
            &["MEDIA-06", "MEDIA-09"],
            "serves a whole uploaded file with DownloadReady(size, 0, size) and its exact bytes",
            |ctx| async move {
                let (mut live, file) = live_with_upload(&ctx, 2 * MAX_CHUNK + 7, 1).await?;
                let (ready, data) = download(&ctx, &mut live.link, request(2, &file, 0, 0)).await?;
                ensure_range(&ready, file.size(), 0, file.size())?;
                ensure_bytes(&data, &file.data, "the file's bytes (§8.3)")
            },
        )
        .needs(MEDIA),
        c(
            "MEDIA-07",
            2,
            &[],
            "serves exactly the requested range of a file",
            |ctx| async move {
                let (mut live, file) = live_with_upload(&ctx, MAX_CHUNK + 5000, 1).await?;
                let (offset, length) = (1234u64, MAX_CHUNK as u64 + 10);
                let (ready, data) = download(&ctx, &mut live.link, request(2, &file, offset, length)).await?;
                ensure_range(&ready, file.size(), offset, length)?;
                let start = 1234usize;
                ensure(data[..] == file.data[start..start + data.len()], "the bytes of the range (§8.3)", || "other bytes".into())
            },
        )
        .needs(MEDIA),
        c(
            "MEDIA-07",
            3,
            &[],
            "serves the rest of a file from an offset when the length is 0",
            |ctx| async move {
                let (mut live, file) = live_with_upload(&ctx, 9000, 1).await?;
                let (ready, data) = download(&ctx, &mut live.link, request(2, &file, 4000, 0)).await?;
                ensure(
                    ready.offset == 4000 && ready.length == 5000 && data[..] == file.data[4000..],
                    "DownloadReady(2, 9000, 4000, 5000) and the last 5,000 bytes (§8.3)",
                    || format!("{ready:?} and {} bytes", data.len()),
                )
            },
        )
        .needs(MEDIA),
        c(
            "MEDIA-07",
            4,
            &[],
            "answers a download of a media id it does not hold with Error(media_not_found, t)",
            |ctx| async move {
                let (mut live, file) = live_with_file(&ctx, 100).await?;
                ask_download(&mut live.link, request(3, &file, 0, 0)).await?;
                expect_error(&ctx, &mut live.link, Code::MEDIA_NOT_FOUND, 3, "an unknown media id [MEDIA-07]").await
            },
        )
        .needs(MEDIA)
        .faults(&[UNKNOWN_MEDIA]),
        c(
            "MEDIA-07",
            5,
            &[],
            "answers a download from an offset above the file's size with Error(invalid_range, t)",
            |ctx| async move { bad_range(&ctx, 1001, 0).await },
        )
        .needs(MEDIA)
        .faults(&[BAD_DOWNLOAD_RANGE]),
        c(
            "MEDIA-07",
            6,
            &[],
            "answers a download whose offset + length is above the file's size with Error(invalid_range, t)",
            |ctx| async move { bad_range(&ctx, 500, 501).await },
        )
        .needs(MEDIA)
        .faults(&[BAD_DOWNLOAD_RANGE]),
        c(
            "MEDIA-09",
            1,
            &["MEDIA-11"],
            "sends no download chunk without credit: one chunk per credit granted",
            |ctx| async move {
                let (mut live, file) = live_with_upload(&ctx, 3 * MAX_CHUNK, 1).await?;
                ask_download(&mut live.link, request(2, &file, 0, 0)).await?;
                let ready = answer(&ctx, &mut live.link, "DownloadReady (§8.3)").await?;
                ensure(matches!(ready, InnerFrame::DownloadReady(_)), "DownloadReady (§8.3)", || describe_inner(&ready))?;
                for n in 0..3u64 {
                    let chunk = answer(&ctx, &mut live.link, "one chunk for the one credit [MEDIA-09]").await?;
                    ensure(
                        matches!(&chunk, InnerFrame::Chunk(c) if c.offset == n * MAX_CHUNK as u64),
                        format!("the chunk at offset {}", n * MAX_CHUNK as u64),
                        || describe_inner(&chunk),
                    )?;
                    ensure_no_frames(&ctx, &mut live.link, "no chunk beyond the credit granted [MEDIA-09]").await?;
                    if n < 2 {
                        grant(&mut live.link, 2, 1).await?;
                    }
                }
                Ok(())
            },
        )
        .needs(MEDIA),
        c(
            "MEDIA-10",
            2,
            &[],
            "closes the session with credit_exceeded when a DownloadRequest grants more than MAX_CREDIT (32)",
            |ctx| async move {
                let (mut live, file) = live_with_upload(&ctx, 1000, 1).await?;
                let mut asked = request(2, &file, 0, 0);
                asked.credit = 33;
                ask_download(&mut live.link, asked).await?;
                expect_credit_exceeded(&ctx, &mut live.link, "a grant of 33 chunks [MEDIA-10]").await
            },
        )
        .needs(MEDIA)
        .faults(&[EXCESS_CREDIT]),
        c(
            "MEDIA-10",
            3,
            &[],
            "closes the session with credit_exceeded when a Credit raises a download's outstanding credit above MAX_CREDIT",
            |ctx| async move {
                let (mut live, file) = live_with_upload(&ctx, 2 * MAX_CHUNK, 1).await?;
                ask_download(&mut live.link, request(2, &file, 0, 0)).await?;
                for what in ["DownloadReady", "the first chunk"] {
                    let got = answer(&ctx, &mut live.link, what).await?;
                    ensure(matches!(got, InnerFrame::DownloadReady(_) | InnerFrame::Chunk(_)), what, || describe_inner(&got))?;
                }
                grant(&mut live.link, 2, 33).await?;
                expect_credit_exceeded(&ctx, &mut live.link, "33 chunks of credit outstanding [MEDIA-10]").await
            },
        )
        .needs(MEDIA)
        .faults(&[EXCESS_CREDIT]),
        c(
            "MEDIA-07",
            7,
            &["MEDIA-06"],
            "keeps an uploaded file across its restart and serves it by media id",
            |ctx| async move {
                let (live, file) = live_with_upload(&ctx, 3000, 1).await?;
                let mut link = rejoin(&ctx, live, Interruption::Restart, "a resume after the restart").await?;
                let (_, data) = download(&ctx, &mut link, request(2, &file, 0, 0)).await?;
                ensure_bytes(&data, &file.data, "the stored file after the restart [MEDIA-06]")
            },
        )
        .needs(MEDIA_RESTART),
    ]
}

/// A download of a 1,000-byte file's range that must be refused.
async fn bad_range(ctx: &Ctx, offset: u64, length: u64) -> Result<(), Failure> {
    let (mut live, file) = live_with_upload(ctx, 1000, 1).await?;
    ask_download(&mut live.link, request(2, &file, offset, length)).await?;
    expect_error(
        ctx,
        &mut live.link,
        Code::INVALID_RANGE,
        2,
        &format!("offset {offset}, length {length} of a 1,000-byte file [MEDIA-07]"),
    )
    .await
}

fn limit_cases() -> Vec<EndpointCase> {
    vec![
        c(
            "MEDIA-12",
            1,
            &[],
            "answers a transfer beyond MAX_TRANSFERS (4) active ones with Error(too_many_transfers, t)",
            |ctx| async move {
                let mut live = live(&ctx).await?;
                fill_transfers(&ctx, &mut live.link).await?;
                let file = File::new(&ctx, 5000);
                live.link.send(&InnerFrame::UploadBegin(file.begin(MAX_TRANSFERS + 1))).await?;
                expect_error(&ctx, &mut live.link, Code::TOO_MANY_TRANSFERS, MAX_TRANSFERS + 1, "a fifth transfer [MEDIA-12]").await
            },
        )
        .needs(MEDIA)
        .faults(&[TOO_MANY_TRANSFERS]),
        c(
            "MEDIA-12",
            2,
            &[],
            "answers a transfer whose id is already active with Error(invalid_request, t)",
            |ctx| async move {
                let (mut live, file) = live_with_file(&ctx, 5000).await?;
                begin(&ctx, &mut live.link, &file, 9).await?;
                let other = File::new(&ctx, 6000);
                live.link.send(&InnerFrame::UploadBegin(other.begin(9))).await?;
                expect_error(&ctx, &mut live.link, Code::INVALID_REQUEST, 9, "a transfer id in use [MEDIA-12]").await
            },
        )
        .needs(MEDIA)
        .faults(&[TRANSFER_ID_IN_USE]),
        c(
            "MEDIA-12",
            3,
            &[],
            "frees a transfer the companion cancels: a new transfer fits within MAX_TRANSFERS again",
            |ctx| async move {
                let mut live = live(&ctx).await?;
                fill_transfers(&ctx, &mut live.link).await?;
                cancel_transfer(&mut live.link, 1).await?;
                let file = File::new(&ctx, 5000);
                let ready = begin(&ctx, &mut live.link, &file, MAX_TRANSFERS + 1).await?;
                ensure_from_start(&ready, "UploadReady offset 0 (§8.5)")
            },
        )
        .needs(MEDIA)
        .faults(&[TOO_MANY_TRANSFERS]),
    ]
}
