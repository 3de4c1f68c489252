//! The relay over real sockets on loopback (spec §2, §3, §10): pairing
//! channels, routes with real proofs, links, forwarding, liveness notices,
//! errors and close codes, limits, timeouts, HTTP endpoints and shutdown.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::{Client, Ended, RawClient, Relay, Target, WAIT, config};
use futures_util::SinkExt;
use tandem_codec::Code;
use tandem_codec::envelope::{
    AttachRoute, ChannelJoined, ChannelOpened, Data, EnvelopeFrame, Error as ErrorFrame,
    JoinChannel, LinkClosed, LinkOpened, PeerState, Ping, Pong, RegisterRoute, RouteAttached,
    RouteProof,
};
use tandem_proto::StaticKeypair;
use tandem_proto::random::SeededRandom;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

fn identity(seed: u64) -> StaticKeypair {
    StaticKeypair::generate(&mut SeededRandom::new(seed))
}

fn payload(len: usize, seed: u8) -> Bytes {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// A registered primary and one attached companion.
async fn pair(relay: &Relay, seed: u64) -> (Client, Client, u32, StaticKeypair) {
    let key = identity(seed);
    let mut primary = Client::connect(relay).await;
    primary.register(&key).await;
    let mut companion = Client::connect(relay).await;
    companion
        .send(AttachRoute {
            primary_key: key.public().0,
        })
        .await;
    let EnvelopeFrame::RouteAttached(RouteAttached {
        link_id,
        primary_online: true,
    }) = companion.recv().await
    else {
        panic!("expected RouteAttached online");
    };
    assert_eq!(primary.recv().await, LinkOpened { link_id }.into());
    (primary, companion, link_id, key)
}

#[tokio::test]
async fn a_pairing_channel_carries_data_both_ways_and_closes() {
    let relay = Relay::start(config()).await;
    let mut companion = Client::connect(&relay).await;
    companion.send(EnvelopeFrame::OpenChannel).await;
    let EnvelopeFrame::ChannelOpened(ChannelOpened {
        channel_id,
        link_id: c_link,
        ttl_ms,
    }) = companion.recv().await
    else {
        panic!("expected ChannelOpened");
    };
    assert_eq!(ttl_ms, 60_000);
    let mut primary = Client::connect(&relay).await;
    primary.send(JoinChannel { channel_id }).await;
    let EnvelopeFrame::ChannelJoined(ChannelJoined {
        channel_id: joined,
        link_id: p_link,
    }) = primary.recv().await
    else {
        panic!("expected ChannelJoined");
    };
    assert_eq!(joined, channel_id);
    assert_eq!(p_link, c_link, "link ids are global");
    assert_eq!(
        companion.recv().await,
        PeerState {
            link_id: c_link,
            online: true
        }
        .into()
    );
    // [RLY-02] a second primary gets channel_taken; [RLY-03] an unknown
    // channel gets unknown_channel.
    let mut other = Client::connect(&relay).await;
    other.send(JoinChannel { channel_id }).await;
    assert!(matches!(other.recv().await, EnvelopeFrame::Error(e) if e.code == Code::CHANNEL_TAKEN));
    other
        .send(JoinChannel {
            channel_id: [7; 16],
        })
        .await;
    assert!(
        matches!(other.recv().await, EnvelopeFrame::Error(e) if e.code == Code::UNKNOWN_CHANNEL)
    );

    // [RLY-14] byte-exact both ways.
    let msg1 = Data {
        link_id: p_link,
        payload: payload(96, 1),
    }
    .to_bytes();
    primary.send_bytes(msg1.clone()).await;
    assert_eq!(companion.recv_bytes().await, msg1);
    let msg2 = Data {
        link_id: c_link,
        payload: payload(48, 2),
    }
    .to_bytes();
    companion.send_bytes(msg2.clone()).await;
    assert_eq!(primary.recv_bytes().await, msg2);

    // The companion ends the channel: forwarded with its code.
    companion
        .send(LinkClosed {
            link_id: c_link,
            code: Code::NORMAL_CLOSURE,
        })
        .await;
    assert_eq!(
        primary.recv().await,
        LinkClosed {
            link_id: p_link,
            code: Code::NORMAL_CLOSURE
        }
        .into()
    );
}

trait ToBytes {
    fn to_bytes(self) -> Bytes;
}

impl ToBytes for Data {
    fn to_bytes(self) -> Bytes {
        EnvelopeFrame::from(self).to_bytes().unwrap()
    }
}

#[tokio::test]
async fn companions_attach_before_and_after_the_primary_and_data_is_byte_exact() {
    let relay = Relay::start(config()).await;
    let key = identity(1);
    // Before: accepted while the primary is offline ([RLY-11]).
    let mut early = Client::connect(&relay).await;
    early
        .send(AttachRoute {
            primary_key: key.public().0,
        })
        .await;
    let EnvelopeFrame::RouteAttached(RouteAttached {
        link_id: early_link,
        primary_online: false,
    }) = early.recv().await
    else {
        panic!("expected RouteAttached offline");
    };
    // [RLY-16] Data while the primary is offline is answered, not dropped.
    early
        .send(Data {
            link_id: early_link,
            payload: payload(10, 0),
        })
        .await;
    assert!(matches!(early.recv().await,
        EnvelopeFrame::Error(ErrorFrame { code, link_id, .. }) if code == Code::PRIMARY_OFFLINE && link_id == early_link));

    let mut primary = Client::connect(&relay).await;
    primary.register(&key).await;
    // [RLY-13] LinkOpened for the companion attached before.
    assert_eq!(
        primary.recv().await,
        LinkOpened {
            link_id: early_link
        }
        .into()
    );
    assert_eq!(
        early.recv().await,
        PeerState {
            link_id: early_link,
            online: true
        }
        .into()
    );
    // After.
    let mut late = Client::connect(&relay).await;
    late.send(AttachRoute {
        primary_key: key.public().0,
    })
    .await;
    let EnvelopeFrame::RouteAttached(RouteAttached {
        link_id: late_link,
        primary_online: true,
    }) = late.recv().await
    else {
        panic!("expected RouteAttached online");
    };
    assert_eq!(
        primary.recv().await,
        LinkOpened { link_id: late_link }.into()
    );

    // Byte-exact, in order, including the largest frame (65,540 bytes).
    for (i, len) in [1usize, 100, 4_096, 65_535].into_iter().enumerate() {
        for (client, link) in [(&mut early, early_link), (&mut late, late_link)] {
            let up = Data {
                link_id: link,
                payload: payload(len, i as u8),
            }
            .to_bytes();
            client.send_bytes(up.clone()).await;
            assert_eq!(primary.recv_bytes().await, up);
            let down = Data {
                link_id: link,
                payload: payload(len, 100 + i as u8),
            }
            .to_bytes();
            primary.send_bytes(down.clone()).await;
            assert_eq!(client.recv_bytes().await, down);
        }
    }
    // [RLY-15] another's link id is unknown_link.
    late.send(Data {
        link_id: early_link,
        payload: payload(5, 0),
    })
    .await;
    assert!(matches!(late.recv().await,
        EnvelopeFrame::Error(ErrorFrame { code, link_id, .. }) if code == Code::UNKNOWN_LINK && link_id == early_link));
}

#[tokio::test]
async fn the_primary_dropping_sends_peer_state_offline_and_a_companion_dropping_sends_peer_gone() {
    let relay = Relay::start(config()).await;
    let (primary, mut companion, link_id, key) = pair(&relay, 2).await;
    let mut second = Client::connect(&relay).await;
    second
        .send(AttachRoute {
            primary_key: key.public().0,
        })
        .await;
    let EnvelopeFrame::RouteAttached(RouteAttached {
        link_id: second_link,
        ..
    }) = second.recv().await
    else {
        panic!("expected RouteAttached");
    };
    let mut primary = primary;
    assert_eq!(
        primary.recv().await,
        LinkOpened {
            link_id: second_link
        }
        .into()
    );
    // [RLY-18] a companion's connection ends: LinkClosed(peer_gone).
    drop(second);
    assert_eq!(
        primary.recv().await,
        LinkClosed {
            link_id: second_link,
            code: Code::PEER_GONE
        }
        .into()
    );
    // [RLY-17] the primary's connection ends: PeerState(offline).
    drop(primary);
    assert_eq!(
        companion.recv().await,
        PeerState {
            link_id,
            online: false
        }
        .into()
    );
    // ... and online again when it registers anew.
    let mut back = Client::connect(&relay).await;
    back.register(&key).await;
    assert_eq!(back.recv().await, LinkOpened { link_id }.into());
    assert_eq!(
        companion.recv().await,
        PeerState {
            link_id,
            online: true
        }
        .into()
    );
}

#[tokio::test]
async fn a_wrong_route_proof_closes_with_4006() {
    let relay = Relay::start(config()).await;
    let key = identity(3);
    let mut impostor = Client::connect(&relay).await;
    impostor
        .send(RegisterRoute {
            primary_key: key.public().0,
        })
        .await;
    let EnvelopeFrame::RouteChallenge(challenge) = impostor.recv().await else {
        panic!("expected RouteChallenge");
    };
    // A proof made with another key.
    let mac = tandem_proto::route_proof::prove(&identity(4), &challenge.relay_ephemeral).unwrap();
    impostor.send(RouteProof { mac }).await;
    impostor.expect_close(Code::ROUTE_PROOF_FAILED).await;
}

#[tokio::test]
async fn a_new_registration_replaces_the_route_with_4007() {
    let relay = Relay::start(config()).await;
    let (mut old, mut companion, link_id, key) = pair(&relay, 5).await;
    let mut new = Client::connect(&relay).await;
    new.register(&key).await;
    old.expect_close(Code::ROUTE_REPLACED).await;
    assert_eq!(new.recv().await, LinkOpened { link_id }.into());
    assert_eq!(
        companion.recv().await,
        PeerState {
            link_id,
            online: false
        }
        .into()
    );
    assert_eq!(
        companion.recv().await,
        PeerState {
            link_id,
            online: true
        }
        .into()
    );
}

#[tokio::test]
async fn text_oversized_malformed_and_unexpected_messages_get_their_close_codes() {
    let relay = Relay::start(config()).await;
    // [TRN-03] text → 1003.
    let mut text = Client::connect(&relay).await;
    text.ws.send(Message::Text("hello".into())).await.unwrap();
    text.expect_close(Code::UNSUPPORTED_DATA).await;
    // [TRN-04] above 65,540 bytes → 1009.
    let mut big = Client::connect(&relay).await;
    big.send_bytes(vec![0x0E; 65_541]).await;
    big.expect_close(Code::MESSAGE_TOO_BIG).await;
    // [RLY-20] undecodable → 4000: link id 0, then a truncated Ping.
    for bad in [
        &[0x0E, 0, 0, 0, 0, 1][..],
        &[0x0F, 1, 2][..],
        &[0x01, 0][..],
        &[0x42][..],
    ] {
        let mut malformed = Client::connect(&relay).await;
        malformed.send_bytes(bad.to_vec()).await;
        malformed.expect_close(Code::MALFORMED_FRAME).await;
    }
    // [RLY-21] a relay-only frame, or a RouteProof without a challenge → 4001.
    let mut unexpected = Client::connect(&relay).await;
    unexpected.send(LinkOpened { link_id: 1 }).await;
    unexpected.expect_close(Code::UNEXPECTED_FRAME).await;
    let mut early_proof = Client::connect(&relay).await;
    early_proof.send(RouteProof { mac: [0; 32] }).await;
    early_proof.expect_close(Code::UNEXPECTED_FRAME).await;
    // [RLY-10] a companion that tries to register → 4001.
    let mut both = Client::connect(&relay).await;
    both.send(EnvelopeFrame::OpenChannel).await;
    assert!(matches!(both.recv().await, EnvelopeFrame::ChannelOpened(_)));
    both.send(RegisterRoute {
        primary_key: [9; 32],
    })
    .await;
    both.expect_close(Code::UNEXPECTED_FRAME).await;
    // An ignorable type (0x80 and above) is skipped; Ping is answered.
    let mut fine = Client::connect(&relay).await;
    fine.send_bytes(vec![0x80, 1, 2, 3]).await;
    fine.send(Ping { nonce: 42 }).await;
    assert_eq!(fine.recv().await, Pong { nonce: 42 }.into());
}

#[tokio::test]
async fn websocket_level_violations_close_with_1009_and_1002() {
    let relay = Relay::start(config()).await;
    // A message whose fragments add up to more than 65,540 bytes: closed
    // once the relay knows, without the rest being sent.
    let mut fragmented = RawClient::connect(&relay, 1).await;
    fragmented
        .frame(false, 0x2, &vec![0x0E; 40_000], true)
        .await;
    fragmented.frame(true, 0x0, &vec![0; 40_000], true).await;
    assert_eq!(fragmented.close_code().await, Some(1009));
    // A frame header announcing 1 GiB: refused from the header alone.
    let mut huge = RawClient::connect(&relay, 1).await;
    let mut header = vec![0x82, 0x80 | 127];
    header.extend_from_slice(&(1u64 << 30).to_be_bytes());
    header.extend_from_slice(&[0; 4]);
    huge.stream.write_all(&header).await.unwrap();
    assert_eq!(huge.close_code().await, Some(1009));
    // An unmasked client frame → 1002.
    let mut unmasked = RawClient::connect(&relay, 1).await;
    unmasked
        .frame(true, 0x2, &[0x0F, 0, 0, 0, 0, 0, 0, 0, 1], false)
        .await;
    assert_eq!(unmasked.close_code().await, Some(1002));
    // A fragmented message reassembled: one envelope frame ([TRN-03]).
    let mut pieces = RawClient::connect(&relay, 1).await;
    pieces.frame(false, 0x2, &[0x0F, 0, 0, 0], true).await;
    pieces.frame(true, 0x0, &[0, 0, 0, 0, 7], true).await;
    let mut pong = [0u8; 11];
    tokio::time::timeout(WAIT, pieces.stream.read_exact(&mut pong))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pong, [0x82, 9, 0x10, 0, 0, 0, 0, 0, 0, 0, 7]);
}

#[tokio::test]
async fn upgrades_without_tandem_v1_are_refused_with_400_naming_it() {
    let relay = Relay::start(config()).await;
    for protocols in ["", "Sec-WebSocket-Protocol: chat, tandem.v2\r\n"] {
        let request = format!(
            "GET / HTTP/1.1\r\nHost: relay\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{protocols}\r\n"
        );
        let (status, body) = common::http_exchange(relay.addr, &request).await;
        assert_eq!(status, 400);
        assert_eq!(body.lines().next(), Some("supported: tandem.v1"));
    }
    // A library client without the subprotocol fails the same way.
    let error = tokio_tungstenite::connect_async(relay.url())
        .await
        .err()
        .unwrap();
    assert!(
        matches!(error, tokio_tungstenite::tungstenite::Error::Http(ref r) if r.status() == 400)
    );
}

#[tokio::test]
async fn setup_and_idle_timeouts_close_silent_connections() {
    let mut config = config();
    config.router.setup_timeout = Duration::from_millis(300);
    config.router.idle_timeout = Duration::from_millis(600);
    let relay = Relay::start(config).await;
    // [RLY-22] upgraded, no first frame → 4003.
    let mut silent = Client::connect(&relay).await;
    silent.expect_close(Code::SETUP_TIMEOUT).await;
    // [RLY-19] a first frame, then nothing → 4002.
    let mut idle = Client::connect(&relay).await;
    idle.send(Ping { nonce: 1 }).await;
    assert_eq!(idle.recv().await, Pong { nonce: 1 }.into());
    idle.expect_close(Code::IDLE_TIMEOUT).await;
    // [RLY-22] an upgrade that never completes: the TCP connection is
    // closed, with no WebSocket to close.
    let mut slowloris = common::tcp_from(relay.addr, 1).await;
    slowloris
        .write_all(b"GET / HTTP/1.1\r\nHost: re")
        .await
        .unwrap();
    let mut rest = Vec::new();
    let n = tokio::time::timeout(WAIT, slowloris.read_to_end(&mut rest))
        .await
        .expect("the relay drops the connection")
        .unwrap_or(0);
    assert_eq!(n, 0);
    // A connection that never sends a byte.
    let mut mute = common::tcp_from(relay.addr, 1).await;
    let n = tokio::time::timeout(WAIT, mute.read_to_end(&mut rest))
        .await
        .expect("the relay drops the connection")
        .unwrap_or(0);
    assert_eq!(n, 0);
    assert_eq!(
        relay
            .metric("tandem_relay_refused_total{reason=\"setup_timeout\"}")
            .await,
        Some(2.0)
    );
}

#[tokio::test]
async fn a_pairing_channel_expires() {
    let mut config = config();
    config.router.channel_ttl = Duration::from_millis(200);
    let relay = Relay::start(config).await;
    let mut companion = Client::connect(&relay).await;
    companion.send(EnvelopeFrame::OpenChannel).await;
    let EnvelopeFrame::ChannelOpened(opened) = companion.recv().await else {
        panic!("expected ChannelOpened");
    };
    assert_eq!(opened.ttl_ms, 200);
    // [RLY-04]
    assert_eq!(
        companion.recv().await,
        LinkClosed {
            link_id: opened.link_id,
            code: Code::CHANNEL_EXPIRED
        }
        .into()
    );
}

#[tokio::test]
async fn a_peer_that_does_not_read_is_closed_as_a_slow_consumer() {
    let mut config = config();
    config.send_queue_frames = 8;
    // The slow reader is read only at the end of the test.
    config.close_timeout = WAIT;
    let relay = Relay::start(config).await;
    let (mut primary, companion, link_id, _) = pair(&relay, 6).await;
    // A second companion that keeps reading: it must not be disturbed.
    let key_link = {
        let mut other = Client::connect(&relay).await;
        other
            .send(AttachRoute {
                primary_key: identity(6).public().0,
            })
            .await;
        let EnvelopeFrame::RouteAttached(attached) = other.recv().await else {
            panic!("expected RouteAttached");
        };
        assert_eq!(
            primary.recv().await,
            LinkOpened {
                link_id: attached.link_id
            }
            .into()
        );
        (other, attached.link_id)
    };
    let (mut other, other_link) = key_link;
    // The companion reads nothing; the primary sends it 60 KiB frames until
    // the relay gives up on it ([RLY-23]), at most 64 MiB.
    let frame = Data {
        link_id,
        payload: payload(61_440, 3),
    }
    .to_bytes();
    let mut sent = 0;
    let closed = loop {
        assert!(
            sent < 1_100,
            "the relay buffered 64 MiB for a reader that reads nothing"
        );
        primary.send_bytes(frame.clone()).await;
        sent += 1;
        // Is the relay's notice there yet?
        if let Ok(Some(Ok(Message::Binary(bytes)))) = tokio::time::timeout(
            Duration::ZERO,
            futures_util::StreamExt::next(&mut primary.ws),
        )
        .await
        {
            break EnvelopeFrame::decode(&bytes).unwrap();
        }
    };
    assert_eq!(
        closed,
        LinkClosed {
            link_id,
            code: Code::PEER_GONE
        }
        .into()
    );
    // The other companion's traffic is intact.
    let data = Data {
        link_id: other_link,
        payload: payload(1000, 9),
    }
    .to_bytes();
    primary.send_bytes(data.clone()).await;
    assert_eq!(other.recv_bytes().await, data);
    // The slow one, reading at last, finds what was in flight, then 4004.
    let mut companion = companion;
    let before = companion.expect_close(Code::SLOW_CONSUMER).await;
    assert!(before.iter().all(|f| matches!(f, EnvelopeFrame::Data(_))));
    assert_eq!(
        relay
            .metric("tandem_relay_closes_total{code=\"4004\",reason=\"slow_consumer\"}")
            .await,
        Some(1.0)
    );
}

#[tokio::test]
async fn channel_floods_get_too_many_channels_per_connection_and_per_address() {
    let relay = Relay::start(config()).await;
    // [RLY-06] MAX_CHANNELS_PER_CONNECTION = 2.
    let mut flood = Client::connect_from(&relay, 2).await;
    for _ in 0..3 {
        flood.send(EnvelopeFrame::OpenChannel).await;
    }
    assert!(matches!(
        flood.recv().await,
        EnvelopeFrame::ChannelOpened(_)
    ));
    assert!(matches!(
        flood.recv().await,
        EnvelopeFrame::ChannelOpened(_)
    ));
    assert!(
        matches!(flood.recv().await, EnvelopeFrame::Error(e) if e.code == Code::TOO_MANY_CHANNELS)
    );
    // MAX_CHANNELS_PER_ADDRESS = 8: three more connections from 127.0.0.2
    // get 6 more channels, and the ninth is refused.
    let mut others = Vec::new();
    for _ in 0..3 {
        let mut c = Client::connect_from(&relay, 2).await;
        c.send(EnvelopeFrame::OpenChannel).await;
        c.send(EnvelopeFrame::OpenChannel).await;
        assert!(matches!(c.recv().await, EnvelopeFrame::ChannelOpened(_)));
        assert!(matches!(c.recv().await, EnvelopeFrame::ChannelOpened(_)));
        others.push(c);
    }
    let mut ninth = Client::connect_from(&relay, 2).await;
    ninth.send(EnvelopeFrame::OpenChannel).await;
    assert!(
        matches!(ninth.recv().await, EnvelopeFrame::Error(e) if e.code == Code::TOO_MANY_CHANNELS)
    );
    // Another address is not affected.
    let mut elsewhere = Client::connect_from(&relay, 3).await;
    elsewhere.send(EnvelopeFrame::OpenChannel).await;
    assert!(matches!(
        elsewhere.recv().await,
        EnvelopeFrame::ChannelOpened(_)
    ));
    assert_eq!(relay.metric("tandem_relay_channels").await, Some(9.0));
}

#[tokio::test]
async fn connections_beyond_max_connections_are_closed_with_4005() {
    let mut config = config();
    config.max_connections = 2;
    let relay = Relay::start(config).await;
    let mut a = Client::connect(&relay).await;
    let _b = Client::connect(&relay).await;
    let mut c = Client::connect(&relay).await;
    c.expect_close(Code::OVER_CAPACITY).await;
    // The held ones still work.
    a.send(Ping { nonce: 5 }).await;
    assert_eq!(a.recv().await, Pong { nonce: 5 }.into());
    drop(a);
}

#[tokio::test]
async fn healthz_and_metrics_answer_on_the_same_port() {
    let relay = Relay::start(config()).await;
    assert_eq!(relay.get("/healthz").await, (200, "ok\n".into()));
    let (_primary, mut companion, link_id, _) = pair(&relay, 7).await;
    companion
        .send(Data {
            link_id,
            payload: payload(95, 0),
        })
        .await;
    let mut primary = _primary;
    primary.recv().await;
    let (status, body) = relay.get("/metrics").await;
    assert_eq!(status, 200);
    for name in [
        "tandem_relay_connections 2",
        "tandem_relay_routes 1",
        "tandem_relay_channels 0",
        "tandem_relay_frames_forwarded_total 1",
        "tandem_relay_bytes_forwarded_total 100",
        "tandem_relay_upgrades_total 2",
    ] {
        assert!(
            body.lines().any(|l| l == name),
            "{name} missing from\n{body}"
        );
    }
    let (status, _) = relay.get("/").await;
    assert_eq!(status, 426);
}

#[tokio::test]
async fn shutdown_closes_every_connection_with_1001() {
    let mut relay = Relay::start(config()).await;
    let (mut primary, mut companion, _, _) = pair(&relay, 8).await;
    let mut fresh = Client::connect(&relay).await;
    relay.signal_stop();
    for client in [&mut primary, &mut companion, &mut fresh] {
        let (ended, _) = client.ended().await;
        assert_eq!(ended, Ended::Close(1001));
    }
    relay.stop().await;
}
