//! Codec benchmarks (issue #4), with baselines measured in the same run:
//!
//! - `send`: a small text-message inner frame (`Send` with a short text);
//! - `data`: that frame as the payload of an envelope `Data` frame (what
//!   the relay decodes; the payload stays opaque);
//! - `message_page_50`: a `MessagePage` of 50 text messages;
//! - `chunk_61440`: a full 61,440-byte media `Chunk`.
//!
//! Each group has `tandem_decode` and `tandem_encode`, `prost_decode` and
//! `prost_encode` of hand-written protobuf messages that carry the same
//! fields (bytes fields as `bytes::Bytes`, so that prost decodes them
//! without a copy from a `Bytes` input; `chunk_61440` also has
//! `prost_vec_*` with a `Vec<u8>` field), and `memcpy`: `copy_from_slice`
//! of the encoded frame into a buffer allocated once.
//!
//! `cargo bench -p tandem-codec --all-features` (about two minutes: 1 s of
//! warm-up and 3 s of measurement per benchmark). Results: BENCHMARKS.md.

use std::hint::black_box;
use std::time::Duration;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use prost::Message as _;
use tandem_codec::envelope::{self, EnvelopeFrame};
use tandem_codec::limits::MAX_CHUNK;
use tandem_codec::session::{self, Body, InnerFrame, Message, MessageStatus};

// ---------------------------------------------------------------------------
// The protobuf baselines: the same fields, with protobuf's usual types
// (varints for integers, an enum as int32, a oneof for the body).
// ---------------------------------------------------------------------------

#[derive(Clone, PartialEq, prost::Message)]
struct SendPb {
    #[prost(bytes = "bytes", tag = "1")]
    client_id: Bytes,
    #[prost(uint64, tag = "2")]
    chat_id: u64,
    #[prost(message, optional, tag = "3")]
    body: Option<BodyPb>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct BodyPb {
    #[prost(oneof = "body_pb::Content", tags = "1, 2")]
    content: Option<body_pb::Content>,
}

mod body_pb {
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub(crate) enum Content {
        #[prost(string, tag = "1")]
        Text(String),
        #[prost(bytes = "bytes", tag = "2")]
        Opaque(bytes::Bytes),
    }
}

#[derive(Clone, PartialEq, prost::Message)]
struct DataPb {
    #[prost(uint32, tag = "1")]
    link_id: u32,
    #[prost(bytes = "bytes", tag = "2")]
    payload: Bytes,
}

#[derive(Clone, PartialEq, prost::Message)]
struct MessagePb {
    #[prost(uint64, tag = "1")]
    message_id: u64,
    #[prost(uint64, tag = "2")]
    chat_id: u64,
    #[prost(uint64, tag = "3")]
    sender: u64,
    #[prost(uint64, tag = "4")]
    timestamp_ms: u64,
    #[prost(int32, tag = "5")]
    status: i32,
    #[prost(message, optional, tag = "6")]
    body: Option<BodyPb>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct MessagePagePb {
    #[prost(uint32, tag = "1")]
    request_id: u32,
    #[prost(uint64, tag = "2")]
    chat_id: u64,
    #[prost(bool, tag = "3")]
    has_more: bool,
    #[prost(message, repeated, tag = "4")]
    messages: Vec<MessagePb>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct ChunkPb {
    #[prost(uint32, tag = "1")]
    transfer_id: u32,
    #[prost(uint64, tag = "2")]
    offset: u64,
    #[prost(bytes = "bytes", tag = "3")]
    data: Bytes,
}

#[derive(Clone, PartialEq, prost::Message)]
struct ChunkVecPb {
    #[prost(uint32, tag = "1")]
    transfer_id: u32,
    #[prost(uint64, tag = "2")]
    offset: u64,
    #[prost(bytes = "vec", tag = "3")]
    data: Vec<u8>,
}

// ---------------------------------------------------------------------------
// The values
// ---------------------------------------------------------------------------

const TEXT: &str = "On my way, see you at 7?";

fn send() -> InnerFrame {
    session::Send {
        client_id: [0xC7; 16],
        chat_id: 42,
        body: Body::Text(TEXT.into()),
    }
    .into()
}

fn send_pb() -> SendPb {
    SendPb {
        client_id: Bytes::from_static(&[0xC7; 16]),
        chat_id: 42,
        body: Some(text_pb(TEXT)),
    }
}

fn text_pb(text: &str) -> BodyPb {
    BodyPb {
        content: Some(body_pb::Content::Text(text.into())),
    }
}

/// The i-th message of the page: a short text of 20 to 60 bytes.
fn page_text(i: u64) -> String {
    format!(
        "message {i}: {}",
        "lorem ipsum ".repeat(1 + (i % 4) as usize)
    )
}

fn message_page() -> InnerFrame {
    session::MessagePage {
        request_id: 7,
        chat_id: 42,
        has_more: true,
        messages: (0..50)
            .map(|i| Message {
                message_id: 100_000 + i,
                chat_id: 42,
                sender: if i % 2 == 0 { 0 } else { 1_001 },
                timestamp_ms: 1_700_000_000_000 + i * 61_000,
                status: MessageStatus::Read,
                body: Body::Text(page_text(i)),
            })
            .collect(),
    }
    .into()
}

fn message_page_pb() -> MessagePagePb {
    MessagePagePb {
        request_id: 7,
        chat_id: 42,
        has_more: true,
        messages: (0..50)
            .map(|i| MessagePb {
                message_id: 100_000 + i,
                chat_id: 42,
                sender: if i % 2 == 0 { 0 } else { 1_001 },
                timestamp_ms: 1_700_000_000_000 + i * 61_000,
                status: 3,
                body: Some(text_pb(&page_text(i))),
            })
            .collect(),
    }
}

fn chunk_data() -> Bytes {
    Bytes::from((0..MAX_CHUNK).map(|i| (i % 251) as u8).collect::<Vec<u8>>())
}

fn chunk() -> InnerFrame {
    session::Chunk {
        transfer_id: 3,
        offset: 10 * MAX_CHUNK as u64,
        data: chunk_data(),
    }
    .into()
}

// ---------------------------------------------------------------------------
// Benchmarks
// ---------------------------------------------------------------------------

/// `memcpy` of `wire` into a buffer allocated once.
fn bench_memcpy(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    wire: &[u8],
) {
    let mut buf = vec![0u8; wire.len()];
    group.bench_function("memcpy", |b| {
        b.iter(|| {
            buf.copy_from_slice(black_box(wire));
            black_box(&buf);
        })
    });
}

/// Tandem and prost decode and encode of an inner frame and its protobuf
/// twin, and the memcpy baseline.
fn bench_inner<P: prost::Message + Default + PartialEq>(
    c: &mut Criterion,
    name: &str,
    frame: InnerFrame,
    pb: P,
) {
    let wire = frame.to_bytes().expect("encodes");
    let pb_wire = Bytes::from(pb.encode_to_vec());
    assert_eq!(InnerFrame::decode(&wire).expect("decodes"), frame);
    assert!(P::decode(pb_wire.clone()).expect("decodes") == pb);

    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Bytes(wire.len() as u64));
    group.bench_function("tandem_decode", |b| {
        b.iter(|| InnerFrame::decode(black_box(&wire)))
    });
    group.bench_function("tandem_encode", |b| b.iter(|| black_box(&frame).to_bytes()));
    group.bench_function("prost_decode", |b| {
        b.iter(|| P::decode(black_box(pb_wire.clone())))
    });
    group.bench_function("prost_encode", |b| {
        b.iter(|| black_box(&pb).encode_to_vec())
    });
    bench_memcpy(&mut group, &wire);
    group.finish();
}

fn send_frame(c: &mut Criterion) {
    bench_inner(c, "send", send(), send_pb());
}

fn data_frame(c: &mut Criterion) {
    let inner = send().to_bytes().expect("encodes");
    let frame = EnvelopeFrame::from(envelope::Data {
        link_id: 5,
        payload: inner.clone(),
    });
    let pb = DataPb {
        link_id: 5,
        payload: inner,
    };
    let wire = frame.to_bytes().expect("encodes");
    let pb_wire = Bytes::from(pb.encode_to_vec());
    assert_eq!(EnvelopeFrame::decode(&wire).expect("decodes"), frame);

    let mut group = c.benchmark_group("data");
    group.throughput(Throughput::Bytes(wire.len() as u64));
    group.bench_function("tandem_decode", |b| {
        b.iter(|| EnvelopeFrame::decode(black_box(&wire)))
    });
    group.bench_function("tandem_encode", |b| b.iter(|| black_box(&frame).to_bytes()));
    group.bench_function("prost_decode", |b| {
        b.iter(|| DataPb::decode(black_box(pb_wire.clone())))
    });
    group.bench_function("prost_encode", |b| {
        b.iter(|| black_box(&pb).encode_to_vec())
    });
    bench_memcpy(&mut group, &wire);
    group.finish();
}

fn page_frame(c: &mut Criterion) {
    bench_inner(c, "message_page_50", message_page(), message_page_pb());
}

fn chunk_frame(c: &mut Criterion) {
    let pb = ChunkPb {
        transfer_id: 3,
        offset: 10 * MAX_CHUNK as u64,
        data: chunk_data(),
    };
    bench_inner(c, "chunk_61440", chunk(), pb);

    let pb = ChunkVecPb {
        transfer_id: 3,
        offset: 10 * MAX_CHUNK as u64,
        data: chunk_data().to_vec(),
    };
    let pb_wire = Bytes::from(pb.encode_to_vec());
    let mut group = c.benchmark_group("chunk_61440");
    group.throughput(Throughput::Bytes(pb_wire.len() as u64));
    group.bench_function("prost_vec_decode", |b| {
        b.iter(|| ChunkVecPb::decode(black_box(pb_wire.clone())))
    });
    group.bench_function("prost_vec_encode", |b| {
        b.iter(|| black_box(&pb).encode_to_vec())
    });
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = send_frame, data_frame, page_frame, chunk_frame
}
criterion_main!(benches);
