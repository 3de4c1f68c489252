//! Media transfers with a companion under test (spec §8, §6.1): downloads
//! checked against the media id, chunks at the wrong offset or for no
//! transfer, credit granted within `MAX_CREDIT` and honoured when sending,
//! uploads that continue from `UploadReady.offset`, chunks below the
//! frame limit.

use std::path::PathBuf;

use bytes::Bytes;
use sha2::{Digest, Sha256};
use tandem_codec::Code;
use tandem_codec::session::{
    Body, Chunk, Credit, DownloadReady, DownloadRequest, Error, InnerFrame, UploadDone, UploadReady,
};

use crate::case::{CaseResult, Failure, ensure};
use crate::endpoint::adapter::Reply;
use crate::endpoint::cases::companion::support::{Live, chatter, holds, live, next_send};
use crate::endpoint::cases::{EndpointCase, companion_case as c};
use crate::endpoint::ctx::Ctx;
use crate::endpoint::faults::UNKNOWN_TRANSFER;
use crate::endpoint::faults::{BAD_CHUNK_OFFSET, CREDIT_OVERRUN, MEDIA_HASH_MISMATCH};
use crate::endpoint::link::Link;

const MEDIA: &[&str] = &["pair", "reconnect", "sync", "media"];

/// `MAX_CREDIT` (§8.4).
const MAX_CREDIT: u64 = 32;

/// `MAX_CHUNK` (§8.1).
const MAX_CHUNK: usize = 61_440;

/// The media cases.
pub(super) fn cases() -> Vec<EndpointCase> {
    let mut cases = downloads();
    cases.extend(uploads());
    cases
}

/// How the runner's primary serves a download.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Serve {
    /// As it should.
    Correctly,
    /// Bytes whose SHA-256 is not the media id.
    OtherBytes,
    /// The second chunk one byte further than it should be.
    SkippedByte,
    /// A last chunk that runs past the end of the range.
    PastTheEnd,
}

/// Seeded file contents of `len` bytes.
fn contents(ctx: &Ctx, len: usize) -> Vec<u8> {
    ctx.relay().bytes(len)
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Waits for the companion's next frame that `accept` takes, skipping
/// chatter up to `head` and `Credit` it does not take.
async fn next<T>(
    ctx: &Ctx,
    link: &mut Link,
    head: u64,
    what: &str,
    accept: impl FnMut(&InnerFrame) -> Option<T>,
) -> Result<T, Failure> {
    link.expect_frame_skipping(
        ctx.wait(),
        what,
        |f| chatter(f, head) || matches!(f, InnerFrame::Credit(_)),
        accept,
    )
    .await
}

/// Serves one download of `file` as `serve` says, in chunks of `chunk`
/// bytes, honouring and checking the companion's credit ([MEDIA-10]).
/// Returns the transfer id.
async fn serve_download(
    ctx: &Ctx,
    link: &mut Link,
    head: u64,
    file: &[u8],
    chunk: usize,
    serve: Serve,
) -> Result<u32, Failure> {
    let request: DownloadRequest = next(
        ctx,
        link,
        head,
        "DownloadRequest after `fetch` (§8.3)",
        |f| match f {
            InnerFrame::DownloadRequest(d) => Some(*d),
            _ => None,
        },
    )
    .await?;
    ensure(
        request.media_id == sha256(file) && request.offset == 0,
        "DownloadRequest for the media id asked, from offset 0",
        || format!("{request:?}"),
    )?;
    ensure(
        u64::from(request.credit) <= MAX_CREDIT,
        "an initial credit of at most MAX_CREDIT (32) [MEDIA-10]",
        || format!("credit {}", request.credit),
    )?;
    let t = request.transfer_id;
    let size = file.len() as u64;
    link.send(&InnerFrame::DownloadReady(DownloadReady {
        transfer_id: t,
        size,
        offset: 0,
        length: size,
    }))
    .await?;
    let mut served = file.to_vec();
    if serve == Serve::OtherBytes {
        served[0] ^= 0xff;
    }
    let mut credit = u64::from(request.credit);
    let mut offset = 0usize;
    let mut n = 0usize;
    while offset < served.len() {
        while credit == 0 {
            let more = next(
                ctx,
                link,
                head,
                "Credit for the download (§8.4) [MEDIA-11]",
                |f| match f {
                    InnerFrame::Credit(c) if c.transfer_id == t => Some(u64::from(c.chunks)),
                    _ => None,
                },
            )
            .await?;
            credit += more;
            ensure(
                credit <= MAX_CREDIT,
                "at most MAX_CREDIT (32) chunks outstanding [MEDIA-10]",
                || format!("{credit} chunks granted and not yet sent"),
            )?;
        }
        let mut end = (offset + chunk).min(served.len());
        let mut at = offset as u64;
        if serve == Serve::SkippedByte && n == 1 {
            at += 1;
        }
        if serve == Serve::PastTheEnd && end == served.len() {
            served.push(0x42);
            end = served.len();
        }
        link.send(&InnerFrame::Chunk(Chunk {
            transfer_id: t,
            offset: at,
            data: Bytes::copy_from_slice(&served[offset..end]),
        }))
        .await?;
        if matches!(serve, Serve::SkippedByte | Serve::PastTheEnd)
            && (at != offset as u64 || end > file.len())
        {
            break;
        }
        credit -= 1;
        offset = end;
        n += 1;
    }
    Ok(t)
}

/// Fetches `file` while the runner serves it as `serve`; returns the
/// companion's answer to `fetch` and where it was to write the file.
async fn fetch(
    ctx: &Ctx,
    live: &mut Live,
    file: &[u8],
    chunk: usize,
    serve: Serve,
) -> Result<(Reply, PathBuf, u32), Failure> {
    let out = ctx.state_dir().join("fetched.bin");
    let line = format!("fetch {} {}", hex::encode(sha256(file)), out.display());
    let head = live.model.head;
    let (reply, served) = tokio::join!(
        ctx.request(&line),
        serve_download(ctx, live.link(), head, file, chunk, serve)
    );
    let t = served?;
    Ok((reply?, out, t))
}

/// The download is refused: `fetch` must answer `err` (no file written)
/// after the companion cancelled with `TransferCancel(code)` ([MEDIA-01]).
async fn refused_download(ctx: Ctx, serve: Serve, code: Code, word: &str) -> CaseResult {
    let mut live = live(&ctx, 1, 1).await?;
    let head = live.model.head;
    let file = contents(&ctx, 5_000);
    let (reply, out, t) = fetch(&ctx, &mut live, &file, 1_000, serve).await?;
    if code != Code::MEDIA_HASH_MISMATCH {
        next(
            &ctx,
            live.link(),
            head,
            &format!("TransferCancel({t}, {word}) [MEDIA-01]"),
            |f| match f {
                InnerFrame::TransferCancel(c) if c.transfer_id == t && c.code == code => Some(()),
                _ => None,
            },
        )
        .await?;
    }
    ensure(
        matches!(&reply, Reply::Err { code, .. } if code == word),
        format!("`err {word}` to `fetch`"),
        || format!("{reply:?}"),
    )?;
    ensure(
        !out.exists(),
        "no file handed to the person [MEDIA-08]",
        || format!("{} exists", out.display()),
    )
}

fn downloads() -> Vec<EndpointCase> {
    vec![
        c(
            "MEDIA-08",
            1,
            &["MEDIA-10", "MEDIA-11"],
            "downloads a file of 150 chunks, granting credit back within MAX_CREDIT, and hands over exactly its bytes",
            |ctx| async move {
                let mut live = live(&ctx, 1, 1).await?;
                let file = contents(&ctx, 150_000);
                let (reply, out, _) = fetch(&ctx, &mut live, &file, 1_000, Serve::Correctly).await?;
                ensure(
                    reply == Reply::Ok(Some(file.len().to_string())),
                    format!("`ok {}` to `fetch`", file.len()),
                    || format!("{reply:?}"),
                )?;
                let written = std::fs::read(&out).unwrap_or_default();
                ensure(written == file, "the file's exact bytes at the path given", || {
                    format!("{} bytes", written.len())
                })
            },
        )
        .needs(MEDIA),
        c(
            "MEDIA-08",
            2,
            &[],
            "discards a downloaded file whose SHA-256 is not its media id and reports media_hash_mismatch",
            |ctx| refused_download(ctx, Serve::OtherBytes, Code::MEDIA_HASH_MISMATCH, "media_hash_mismatch"),
        )
        .needs(MEDIA)
        .faults(&[MEDIA_HASH_MISMATCH]),
        c(
            "MEDIA-01",
            1,
            &[],
            "cancels a download with TransferCancel(invalid_range) when a chunk is not at the next offset",
            |ctx| refused_download(ctx, Serve::SkippedByte, Code::INVALID_RANGE, "invalid_range"),
        )
        .needs(MEDIA)
        .faults(&[BAD_CHUNK_OFFSET]),
        c(
            "MEDIA-01",
            2,
            &[],
            "cancels a download with TransferCancel(invalid_range) when a chunk runs past the end of the range",
            |ctx| refused_download(ctx, Serve::PastTheEnd, Code::INVALID_RANGE, "invalid_range"),
        )
        .needs(MEDIA)
        .faults(&[BAD_CHUNK_OFFSET]),
        c(
            "MEDIA-02",
            1,
            &[],
            "answers a Chunk for a transfer that is not active with Error(unknown_transfer, transfer_id) and keeps the session",
            |ctx| async move {
                let mut live = live(&ctx, 1, 1).await?;
                let head = live.model.head;
                live.link()
                    .send(&InnerFrame::Chunk(Chunk {
                        transfer_id: 77,
                        offset: 0,
                        data: Bytes::from_static(b"stray"),
                    }))
                    .await?;
                next(&ctx, live.link(), head, "Error(unknown_transfer, 77) [MEDIA-02]", |f| match f {
                    InnerFrame::Error(Error { code, ref_id: 77, .. }) if *code == Code::UNKNOWN_TRANSFER => Some(()),
                    _ => None,
                })
                .await?;
                let event = live.model.incoming_text(1, "after the stray chunk");
                let seq = event.seq;
                live.link().send(&InnerFrame::Event(event)).await?;
                ctx.expect_ack(live.link(), seq).await?;
                holds(&ctx, &live.model.all_messages(), "the session goes on after Error(unknown_transfer)").await
            },
        )
        .needs(MEDIA)
        .faults(&[UNKNOWN_TRANSFER]),
    ]
}

/// How the runner's primary takes an upload.
#[derive(Clone, Copy)]
struct Take {
    /// `UploadReady.offset`.
    offset: u64,
    /// `UploadReady.credit`.
    credit: u16,
    /// Whether it first lets the credit run out and checks that no chunk
    /// comes without credit ([MEDIA-09]), before granting more.
    stall: bool,
}

/// Receives an upload of `file` as `take` says and checks every chunk:
/// its offset, its size ([SESS-01]) and that it had credit ([MEDIA-09]).
/// It grants credit back as chunks arrive, completes the upload and
/// acknowledges the media message.
async fn take_upload(ctx: &Ctx, live: &mut Live, file: &[u8], take: Take) -> CaseResult {
    let head = live.model.head;
    let link = live.link();
    let begin = next(
        ctx,
        link,
        head,
        "UploadBegin after `send-file` (§8.2)",
        |f| match f {
            InnerFrame::UploadBegin(b) => Some(b.clone()),
            _ => None,
        },
    )
    .await?;
    ensure(
        begin.media_id == sha256(file) && begin.size == file.len() as u64,
        "UploadBegin with the file's SHA-256 and size (§8.2)",
        || format!("{begin:?}"),
    )?;
    let t = begin.transfer_id;
    link.send(&InnerFrame::UploadReady(UploadReady {
        transfer_id: t,
        offset: take.offset,
        credit: take.credit,
    }))
    .await?;
    let mut offset = take.offset;
    let mut credit = u64::from(take.credit);
    let mut stall = take.stall;
    while offset < file.len() as u64 {
        if credit == 0 {
            if stall {
                link.expect_quiet(ctx.quiet(), "no Chunk without credit [MEDIA-09]", |i| {
                    !matches!(
                        i,
                        crate::endpoint::link::Incoming::Frame(InnerFrame::Chunk(_))
                    )
                })
                .await?;
                stall = false;
            }
            link.send(&InnerFrame::Credit(Credit {
                transfer_id: t,
                chunks: 8,
            }))
            .await?;
            credit += 8;
        }
        let chunk = next(
            ctx,
            link,
            head,
            "the next Chunk of the upload",
            |f| match f {
                InnerFrame::Chunk(c) if c.transfer_id == t => Some(c.clone()),
                _ => None,
            },
        )
        .await?;
        ensure(
            chunk.offset == offset && !chunk.data.is_empty() && chunk.data.len() <= MAX_CHUNK,
            format!("a Chunk at offset {offset} of 1 to 61,440 bytes [MEDIA-04] [SESS-01]"),
            || format!("a Chunk at {} of {} bytes", chunk.offset, chunk.data.len()),
        )?;
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        ensure(
            file.get(start..start + chunk.data.len()) == Some(&chunk.data[..]),
            "the file's bytes at that offset",
            || "other bytes".into(),
        )?;
        offset += chunk.data.len() as u64;
        credit -= 1;
    }
    link.send(&InnerFrame::UploadDone(UploadDone {
        transfer_id: t,
        media_id: begin.media_id,
    }))
    .await?;
    let send = next_send(
        ctx,
        link,
        head,
        "Send of the media message after UploadDone (§8.2)",
    )
    .await?;
    ensure(
        matches!(&send.body, Body::Media(m) if m.media_id == begin.media_id),
        "a media body with the uploaded media id",
        || format!("{:?}", send.body),
    )?;
    let (ack, _) = live
        .model
        .apply_send(send.client_id, send.chat_id, send.body);
    live.link().send(&InnerFrame::SendAck(ack)).await
}

/// Uploads `file` with `send-file` while the runner takes it as `take`.
async fn upload(ctx: &Ctx, live: &mut Live, file: &[u8], take: Take) -> Result<Reply, Failure> {
    let path = ctx.state_dir().join("upload.bin");
    std::fs::write(&path, file).map_err(|e| Failure::harness("a file to upload", e.to_string()))?;
    let line = format!("send-file 1 {}", path.display());
    let (reply, taken) = tokio::join!(ctx.request(&line), take_upload(ctx, live, file, take));
    taken?;
    reply
}

fn uploads() -> Vec<EndpointCase> {
    vec![
        c(
            "MEDIA-04",
            1,
            &["SESS-01"],
            "continues an upload from the offset UploadReady names (61,440) and sends the media message after UploadDone",
            |ctx| async move {
                let mut live = live(&ctx, 1, 1).await?;
                let file = contents(&ctx, 150_000);
                let reply = upload(&ctx, &mut live, &file, Take { offset: 61_440, credit: 4, stall: false }).await?;
                ensure(matches!(reply, Reply::Ok(Some(_))), "`ok <client_id>` to `send-file`", || format!("{reply:?}"))
            },
        )
        .needs(MEDIA),
        c(
            "SESS-01",
            1,
            &["MEDIA-09"],
            "uploads 200,000 bytes in chunks of at most 61,440 bytes, each within the credit granted",
            |ctx| async move {
                let mut live = live(&ctx, 1, 1).await?;
                let file = contents(&ctx, 200_000);
                let reply = upload(&ctx, &mut live, &file, Take { offset: 0, credit: 1, stall: false }).await?;
                ensure(matches!(reply, Reply::Ok(Some(_))), "`ok <client_id>` to `send-file`", || format!("{reply:?}"))
            },
        )
        .needs(MEDIA),
        c(
            "MEDIA-09",
            1,
            &[],
            "sends no more chunks than the credit UploadReady granted (2) until Credit comes, then completes",
            |ctx| async move {
                let mut live = live(&ctx, 1, 1).await?;
                let file = contents(&ctx, 300_000);
                let reply = upload(&ctx, &mut live, &file, Take { offset: 0, credit: 2, stall: true }).await?;
                ensure(matches!(reply, Reply::Ok(Some(_))), "`ok <client_id>` to `send-file` once credit came", || format!("{reply:?}"))
            },
        )
        .needs(MEDIA),
        c(
            "MEDIA-10",
            1,
            &[],
            "closes the session with credit_exceeded when UploadReady grants 33 chunks, more than MAX_CREDIT",
            |ctx| async move {
                let mut live = live(&ctx, 1, 1).await?;
                let head = live.model.head;
                let file = contents(&ctx, 10_000);
                let path = ctx.state_dir().join("upload.bin");
                std::fs::write(&path, &file).map_err(|e| Failure::harness("a file to upload", e.to_string()))?;
                let line = format!("send-file 1 {}", path.display());
                let (reply, closed) = tokio::join!(ctx.request(&line), async {
                    let link = live.link();
                    let begin = next(&ctx, link, head, "UploadBegin after `send-file` (§8.2)", |f| match f {
                        InnerFrame::UploadBegin(b) => Some(b.transfer_id),
                        _ => None,
                    })
                    .await?;
                    link.send(&InnerFrame::UploadReady(UploadReady { transfer_id: begin, offset: 0, credit: 33 }))
                        .await?;
                    link.expect_end(ctx.wait(), Code::CREDIT_EXCEEDED, "a credit of 33 [MEDIA-10]", |f| {
                        chatter(f, head) || matches!(f, InnerFrame::Chunk(_))
                    })
                    .await
                });
                closed?;
                let reply = reply?;
                ensure(!matches!(reply, Reply::Ok(_)), "no `ok` to a `send-file` whose upload failed", || format!("{reply:?}"))
            },
        )
        .needs(MEDIA)
        .faults(&[CREDIT_OVERRUN]),
    ]
}
