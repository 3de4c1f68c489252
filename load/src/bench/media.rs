//! Media through the relay: upload then download of one file, the hash
//! checked at each end; beside the raw forwarder carrying the same bytes
//! in chunk-sized messages, and raw AEAD sealing and opening them.

use std::time::Duration;

use bytes::Bytes;
use sha2::{Digest, Sha256};
use tandem_client::{Clock, DriverEvent};
use tandem_proto::companion::{CompanionEvent, UploadRequest};
use tokio::time::Instant;

use crate::Error;
use crate::bench::alternate;
use crate::children::Server;
use crate::cli::{Common, MediaArgs};
use crate::fixture::{self, STEP};
use crate::keys;
use crate::raw;
use crate::report::{Check, Outcome, Row, Target};
use crate::snow_raw;

/// Tandem's upload and download, and what was checked.
struct Transfers {
    upload: Duration,
    download: Duration,
    downloaded: u64,
    verified: bool,
}

/// One run.
pub(crate) async fn run(common: &Common, args: &MediaArgs, run: u32) -> Result<Outcome, Error> {
    let size = args.size;
    let file = file(size);
    let (tandem, raw_time) = alternate(
        run,
        || tandem(common, file.clone()),
        || baseline(common, size),
    )
    .await?;
    let aead = tokio::task::spawn_blocking(move || snow_raw::aead_bytes_per_s(size)).await??;

    let mb = |d: Duration| size as f64 / d.as_secs_f64().max(1e-9) / 1e6;
    let raw_mb = mb(raw_time);
    let name = format!("media, {} MiB", size >> 20);
    let mut out = Outcome::default();
    for (metric, time) in [
        ("upload MB/s", tandem.upload),
        ("download MB/s", tandem.download),
    ] {
        out.row(
            Row::new(&name, metric, mb(time), "raw forwarder", Some(raw_mb))
                .target(Target::RatioAtLeast(0.5)),
        );
        out.row(Row::new(
            &name,
            metric,
            mb(time),
            "raw AEAD seal+open (1 thread)",
            Some(aead / 1e6),
        ));
    }
    out.check(Check::new(
        "media: the download matched the upload's SHA-256",
        tandem.verified && tandem.downloaded == size,
        format!(
            "{} of {size} bytes, verified {}",
            tandem.downloaded, tandem.verified
        ),
    ));
    out.note("media: one pair, the primary on a memory store; upload is from the companion's upload() to UploadComplete (the primary checked the SHA-256), download from download() to DownloadComplete (the companion checked it); the raw forwarder carries the same bytes one way in messages of a full Chunk's size.");
    Ok(out)
}

/// `size` bytes that do not compress.
fn file(size: u64) -> Bytes {
    let mut data = Vec::with_capacity(size as usize);
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    while (data.len() as u64) < size {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        data.extend_from_slice(&x.to_le_bytes());
    }
    data.truncate(size as usize);
    Bytes::from(data)
}

async fn tandem(common: &Common, file: Bytes) -> Result<Transfers, Error> {
    let relay = Server::relay(common, None).await?;
    let clock = Clock::start();
    let mut pairs = fixture::start_pairs(&relay.url(), keys::run_seed(), 1, clock).await?;
    let pair = pairs.pop().ok_or("media: no pair")?;
    let size = file.len() as u64;
    let media_id: [u8; 32] = Sha256::digest(&file).into();
    let mut companion = pair.companion;

    let start = Instant::now();
    companion
        .handle
        .call(move |c, _| {
            c.upload(UploadRequest {
                media_id,
                size,
                mime: "application/octet-stream".into(),
                name: "load.bin".into(),
                source: Box::new(file),
            })
        })
        .await??;
    fixture::wait_for(&mut companion.events, "UploadComplete", STEP, |e| match e {
        CompanionEvent::UploadComplete { .. } => Some(Ok(())),
        CompanionEvent::TransferFailed { code, .. } => Some(Err(format!("upload: {code:?}"))),
        _ => None,
    })
    .await??;
    let upload = start.elapsed();

    let start = Instant::now();
    companion
        .handle
        .call(move |c, _| c.download(media_id, 0, 0))
        .await??;
    let mut downloaded = 0u64;
    let verified = tokio::time::timeout(STEP, async {
        loop {
            match companion.events.recv().await {
                Some(DriverEvent::Machine(CompanionEvent::DownloadChunk { data, .. })) => {
                    downloaded += data.len() as u64;
                }
                Some(DriverEvent::Machine(CompanionEvent::DownloadComplete {
                    verified, ..
                })) => return Ok(verified),
                Some(DriverEvent::Machine(CompanionEvent::TransferFailed { code, .. })) => {
                    return Err(format!("download: {code:?}"));
                }
                Some(DriverEvent::Stopped) | None => return Err("download: driver stopped".into()),
                Some(_) => {}
            }
        }
    })
    .await
    .map_err(|_| "download: timed out")??;
    let download = start.elapsed();

    pairs.push(fixture::LivePair {
        primary: pair.primary,
        companion,
    });
    fixture::stop_pairs(pairs).await;
    relay.stop().await;
    Ok(Transfers {
        upload,
        download,
        downloaded,
        verified,
    })
}

/// The raw forwarder: `size` bytes one way in chunk-sized messages, from
/// the first send to the last byte received.
async fn baseline(common: &Common, size: u64) -> Result<Duration, Error> {
    let forwarder = Server::forwarder(common).await?;
    let (mut sender, mut receiver) = raw::pair(forwarder.addr).await?;
    let chunk = raw::payload(raw::chunk_len()?);
    let messages = size.div_ceil(tandem_codec::limits::MAX_CHUNK as u64);
    let start = Instant::now();
    let send = tokio::spawn(async move {
        for _ in 0..messages {
            raw::send(&mut sender, chunk.clone()).await?;
        }
        Ok::<_, Error>(sender)
    });
    tokio::time::timeout(STEP, async {
        for _ in 0..messages {
            raw::recv(&mut receiver).await?;
        }
        Ok::<(), Error>(())
    })
    .await
    .map_err(|_| "raw media: timed out")??;
    let elapsed = start.elapsed();
    let mut sender = send.await??;
    let _ = sender.close(None).await;
    forwarder.stop().await;
    Ok(elapsed)
}
