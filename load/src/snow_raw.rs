//! The raw Noise baselines: snow alone doing the same handshake patterns
//! (IKpsk2 for pairing, IK for reconnect, the same prologues and payloads)
//! and the same AEAD on chunk-sized messages, on one thread, no IO.

use std::time::{Duration, Instant};

use bytes::Bytes;
use tandem_codec::handshake::{Hello, PairAccept, PairInit};
use tandem_codec::limits::{MAX_CHUNK, NOISE_TAG};
use tandem_codec::session::{Chunk, InnerFrame};
use tandem_proto::StaticKeypair;
use tandem_proto::noise;

use crate::Error;
use crate::keys::{self, Role};

fn builder<'a>(
    protocol: &str,
    prologue: &'a [u8],
    private: &'a [u8],
) -> Result<snow::Builder<'a>, Error> {
    Ok(snow::Builder::new(protocol.parse()?)
        .prologue(prologue)?
        .local_private_key(private)?)
}

fn exchange(
    initiator: &mut snow::HandshakeState,
    responder: &mut snow::HandshakeState,
    p1: &[u8],
    p2: &[u8],
) -> Result<(), Error> {
    let mut message = [0u8; 1024];
    let mut payload = [0u8; 1024];
    let n = initiator.write_message(p1, &mut message)?;
    responder.read_message(&message[..n], &mut payload)?;
    let n = responder.write_message(p2, &mut message)?;
    initiator.read_message(&message[..n], &mut payload)?;
    Ok(())
}

fn pair_keys() -> (StaticKeypair, StaticKeypair) {
    (
        keys::key(0, Role::Primary, 0),
        keys::key(0, Role::Companion, 0),
    )
}

/// Time for `count` raw pairing handshakes, both sides, into transport mode.
pub(crate) fn pairing_handshakes(count: usize) -> Result<Duration, Error> {
    let (primary, companion) = pair_keys();
    let channel_id = [7u8; 16];
    let secret = [9u8; 32];
    let prologue = noise::pairing_prologue(&channel_id);
    let init = PairInit {
        capabilities: 0,
        account_name: "Load".into(),
        device_name: "tandem-load phone".into(),
    }
    .to_vec()?;
    let accept = PairAccept {
        capabilities: 0,
        device_name: "tandem-load companion".into(),
    }
    .to_vec()?;
    let start = Instant::now();
    for _ in 0..count {
        let mut i = builder(noise::PAIRING_PROTOCOL, &prologue, primary.private())?
            .remote_public_key(&companion.public().0)?
            .psk(2, &secret)?
            .build_initiator()?;
        let mut r = builder(noise::PAIRING_PROTOCOL, &prologue, companion.private())?
            .psk(2, &secret)?
            .build_responder()?;
        exchange(&mut i, &mut r, &init, &accept)?;
        std::hint::black_box(i.into_transport_mode()?);
        std::hint::black_box(r.into_transport_mode()?);
    }
    Ok(start.elapsed())
}

/// Time for `count` raw reconnect handshakes, both sides.
pub(crate) fn reconnect_handshakes(count: usize) -> Result<Duration, Error> {
    let (primary, companion) = pair_keys();
    let prologue = noise::reconnect_prologue(&primary.public().0);
    let hello = Hello { capabilities: 0 }.to_vec();
    let start = Instant::now();
    for _ in 0..count {
        let mut i = builder(noise::RECONNECT_PROTOCOL, &prologue, companion.private())?
            .remote_public_key(&primary.public().0)?
            .build_initiator()?;
        let mut r =
            builder(noise::RECONNECT_PROTOCOL, &prologue, primary.private())?.build_responder()?;
        exchange(&mut i, &mut r, &hello, &hello)?;
        std::hint::black_box(i.into_transport_mode()?);
        std::hint::black_box(r.into_transport_mode()?);
    }
    Ok(start.elapsed())
}

/// Bytes per second of raw AEAD, seal and open, over `total` bytes in
/// chunk-sized messages (what a media transfer encrypts and decrypts).
pub(crate) fn aead_bytes_per_s(total: u64) -> Result<f64, Error> {
    let (primary, companion) = pair_keys();
    let prologue = noise::reconnect_prologue(&primary.public().0);
    let mut i = builder(noise::RECONNECT_PROTOCOL, &prologue, companion.private())?
        .remote_public_key(&primary.public().0)?
        .build_initiator()?;
    let mut r =
        builder(noise::RECONNECT_PROTOCOL, &prologue, primary.private())?.build_responder()?;
    exchange(&mut i, &mut r, &[], &[])?;
    let mut tx = i.into_transport_mode()?;
    let mut rx = r.into_transport_mode()?;
    // A full chunk's plaintext: the inner frame with its header.
    let chunk = InnerFrame::from(Chunk {
        transfer_id: 1,
        offset: 0,
        data: Bytes::from(vec![0xAB; MAX_CHUNK]),
    });
    let plain = chunk.to_bytes()?.to_vec();
    let mut sealed = vec![0u8; plain.len() + NOISE_TAG];
    let mut opened = vec![0u8; plain.len()];
    let messages = total.div_ceil(MAX_CHUNK as u64).max(1);
    let start = Instant::now();
    for _ in 0..messages {
        let n = tx.write_message(&plain, &mut sealed)?;
        std::hint::black_box(rx.read_message(&sealed[..n], &mut opened)?);
    }
    let secs = start.elapsed().as_secs_f64().max(1e-9);
    Ok((messages * MAX_CHUNK as u64) as f64 / secs)
}
