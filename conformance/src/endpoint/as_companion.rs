//! The runner as a companion of a primary under test (spec §4, §5, §7):
//! it opens a pairing channel and makes the QR code, has the primary scan
//! it (`link`, `link-image` or `{qr_payload}`), answers the IKpsk2
//! handshake as the responder, and later attaches to the primary's route,
//! runs the IK handshake as the initiator and syncs. Each step is separate
//! so that cases can misbehave between them.

use std::time::Duration;

use tandem_codec::Code;
use tandem_codec::envelope::{AttachRoute, EnvelopeFrame};
use tandem_codec::handshake::{Hello, PairAccept};
use tandem_codec::qr::QrPayload;
use tandem_codec::session::{Ack, Chat, Contact, InnerFrame, MessagePage, Resume, SnapshotBegin};
use tandem_proto::handshake::{CompanionPaired, CompanionPairing, CompanionReconnect};
use tandem_proto::noise::HandshakeOptions;
use tandem_proto::{PublicKey, StaticKeypair};

use crate::case::{Failure, ensure};
use crate::endpoint::as_primary::digits;
use crate::endpoint::ctx::Ctx;
use crate::endpoint::link::{Incoming, Link};

/// The device name the runner's companion announces.
pub const DEVICE_NAME: &str = "tandem-conformance companion";

/// A QR code the runner's companion shows, with its open channel.
pub struct Offer {
    /// The channel's link on the companion's connection.
    pub link: Link,
    /// The payload.
    pub qr: QrPayload,
    /// Its text.
    pub text: String,
    /// The companion's identity.
    pub identity: StaticKeypair,
}

/// A link the primary under test stored.
pub struct Paired {
    /// The runner companion's identity.
    pub identity: StaticKeypair,
    /// The primary's key, pinned from the handshake.
    pub primary_key: PublicKey,
    /// The account name from `PairInit`.
    pub account_name: String,
    /// The device id the primary reported in `linked`.
    pub device_id: String,
}

/// A snapshot as the runner's companion received it (§7.3).
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// `SnapshotBegin`.
    pub begin: Option<SnapshotBegin>,
    /// Every chat of the `ChatPage`s.
    pub chats: Vec<Chat>,
    /// Every contact of the `ContactPage`s.
    pub contacts: Vec<Contact>,
    /// The `MessagePage`s.
    pub pages: Vec<MessagePage>,
    /// The seq of `SnapshotEnd`.
    pub end: u64,
    /// Every frame in order, for order checks.
    pub frames: Vec<InnerFrame>,
}

impl Ctx {
    /// Opens a pairing channel for a new runner companion and makes its
    /// QR code, naming the relay URL the implementation uses.
    pub async fn offer_qr(&self) -> Result<Offer, Failure> {
        let identity = self.relay().keypair();
        let mut peer = self.relay().connect("companion").await?;
        let (channel_id, link_id, ttl_ms) = self.relay().open_channel(&mut peer).await?;
        let qr = QrPayload {
            channel_id,
            companion_key: identity.public().0,
            pairing_secret: self.relay().array(),
            ttl_s: u16::try_from(ttl_ms / 1000).unwrap_or(u16::MAX),
            relay_url: self.tap().url().to_owned(),
        };
        let text = qr
            .to_text()
            .map_err(|e| Failure::harness("a QR payload that encodes", e.to_string()))?;
        Ok(Offer {
            link: Link::new(peer, link_id, self.relay().log()),
            qr,
            text,
            identity,
        })
    }

    /// Has the primary under test scan `text`: through `{qr_payload}` at
    /// start when the template has it, else with `link`.
    pub async fn scan(&self, text: &str) -> Result<(), Failure> {
        if self.takes_qr_at_start() {
            self.start(text).await
        } else {
            self.ok(&format!("link {text}")).await.map(|_| ())
        }
    }

    /// Waits for handshake message 1 on the channel and answers it (§4.2).
    pub async fn answer_pairing(&self, offer: &mut Offer) -> Result<CompanionPaired, Failure> {
        self.answer_pairing_as(offer, DEVICE_NAME).await
    }

    /// As [`Ctx::answer_pairing`], announcing `device_name` in `PairAccept`.
    pub async fn answer_pairing_as(
        &self,
        offer: &mut Offer,
        device_name: &str,
    ) -> Result<CompanionPaired, Failure> {
        let message = offer
            .link
            .expect_skipping(
                self.wait(),
                "handshake message 1 on the channel [PAIR-03]",
                |i| matches!(i, Incoming::PeerState(_)),
                |i| match i {
                    Incoming::Handshake(b) => Some(b.clone()),
                    _ => None,
                },
            )
            .await?;
        let state = CompanionPairing::new(
            &offer.identity,
            &offer.qr.channel_id,
            &offer.qr.pairing_secret,
            &HandshakeOptions::default(),
        )
        .map_err(|e| Failure::harness("a responder handshake", e.to_string()))?;
        let accept = PairAccept {
            capabilities: 0,
            device_name: device_name.into(),
        };
        let (paired, reply) = state.respond(&message, &accept).map_err(|e| {
            Failure::fail(
                "a message 1 of Noise_IKpsk2 with the QR code's key, secret and channel [PAIR-01] [PAIR-02]",
                e.to_string(),
            )
        })?;
        offer.link.send_payload(reply.into()).await?;
        Ok(paired)
    }

    /// Waits for the primary's `check_code` event and compares it.
    pub async fn expect_check_code(&self, paired: &CompanionPaired) -> Result<(), Failure> {
        let code = paired.check_code.digits();
        let (shown, name) = self
            .event("check_code", "the check code [PAIR-04]", |e| {
                let code = e.get("code")?.as_str()?.to_owned();
                let name = e
                    .get("device_name")
                    .and_then(|n| n.as_str())
                    .map(str::to_owned);
                Some((code, name))
            })
            .await?;
        ensure(
            digits(&shown) == code,
            format!("the check code {code} [PAIR-04]"),
            || format!("`{shown}`"),
        )?;
        ensure(
            name.as_deref() == Some(DEVICE_NAME),
            format!("the companion's device name `{DEVICE_NAME}` beside the check code [PAIR-04]"),
            || format!("{name:?}"),
        )
    }

    /// Pairs the runner's companion with the primary under test, through
    /// `confirm`, `PairingComplete` and `linked`, and closes the channel.
    pub async fn pair_primary(&self) -> Result<Paired, Failure> {
        let mut offer = self.offer_qr().await?;
        self.scan(&offer.text).await?;
        let paired = self.answer_pairing(&mut offer).await?;
        self.expect_check_code(&paired).await?;
        let CompanionPaired {
            session,
            primary,
            primary_key,
            ..
        } = paired;
        offer.link.session = Some(session);
        self.ok("confirm").await?;
        offer
            .link
            .expect_frame(
                self.wait(),
                "PairingComplete after the person confirmed [PAIR-07]",
                |f| matches!(f, InnerFrame::PairingComplete).then_some(()),
            )
            .await?;
        let device_id = self
            .event(
                "linked",
                "`linked` once the link is stored [PAIR-07]",
                |e| {
                    e.get("device_id")
                        .and_then(|d| d.as_str())
                        .map(str::to_owned)
                },
            )
            .await?;
        offer.link.close_link(Code::NORMAL_CLOSURE).await?;
        Ok(Paired {
            identity: offer.identity,
            primary_key,
            account_name: primary.account_name,
            device_id,
        })
    }

    /// Attaches to the primary's route on a new connection and waits until
    /// the primary is online; the link has no session yet.
    pub async fn attach(&self, primary_key: &PublicKey) -> Result<Link, Failure> {
        let mut peer = self.relay().connect("companion").await?;
        peer.send(AttachRoute {
            primary_key: primary_key.0,
        })
        .await?;
        let (link_id, online) = peer
            .expect(self.wait(), "RouteAttached", |f| match f {
                EnvelopeFrame::RouteAttached(a) => Some((a.link_id, a.primary_online)),
                _ => None,
            })
            .await?;
        let mut link = Link::new(peer, link_id, self.relay().log());
        if !online {
            link.expect(
                self.wait() + self.scaled(Duration::from_secs(5)),
                "PeerState(online) once the primary registers its route [RECON-09]",
                |i| matches!(i, Incoming::PeerState(true)).then_some(()),
            )
            .await?;
        }
        Ok(link)
    }

    /// Attaches and runs the IK handshake (§5.1): a session on the route.
    pub async fn reconnect(&self, paired: &Paired) -> Result<Link, Failure> {
        let mut link = self.attach(&paired.primary_key).await?;
        let (state, message) = CompanionReconnect::start(
            &paired.identity,
            &paired.primary_key,
            Hello { capabilities: 0 },
            &HandshakeOptions::default(),
        )
        .map_err(|e| Failure::harness("reconnect message 1", e.to_string()))?;
        link.send_payload(message.into()).await?;
        let reply = link
            .expect(
                self.wait(),
                "reconnect handshake message 2 [RECON-04]",
                |i| match i {
                    Incoming::Handshake(b) => Some(b.clone()),
                    _ => None,
                },
            )
            .await?;
        let (session, _) = state.finish(&reply).map_err(|e| {
            Failure::fail(
                "a message 2 of Noise_IK from the pinned primary key [RECON-01]",
                e.to_string(),
            )
        })?;
        link.session = Some(session);
        Ok(link)
    }

    /// Sends `Resume(0, 0)` and reads the whole snapshot (§7.3), without
    /// acknowledging it.
    pub async fn read_snapshot(&self, link: &mut Link) -> Result<Snapshot, Failure> {
        link.send(&InnerFrame::Resume(Resume { log_id: 0, seq: 0 }))
            .await?;
        self.collect_snapshot(link).await
    }

    /// Reads a snapshot from `SnapshotBegin` to `SnapshotEnd`.
    pub async fn collect_snapshot(&self, link: &mut Link) -> Result<Snapshot, Failure> {
        let mut snapshot = Snapshot::default();
        loop {
            let frame = link
                .expect_frame_skipping(
                    self.wait(),
                    "the snapshot's frames through SnapshotEnd (§7.3)",
                    |f| matches!(f, InnerFrame::Typing(_)),
                    |f| Some(f.clone()),
                )
                .await?;
            snapshot.frames.push(frame.clone());
            match frame {
                InnerFrame::SnapshotBegin(b) if snapshot.begin.is_none() => {
                    snapshot.begin = Some(b);
                }
                InnerFrame::ChatPage(p) if snapshot.begin.is_some() => {
                    snapshot.chats.extend(p.chats);
                }
                InnerFrame::ContactPage(p) if snapshot.begin.is_some() => {
                    snapshot.contacts.extend(p.contacts);
                }
                InnerFrame::MessagePage(p) if snapshot.begin.is_some() => snapshot.pages.push(p),
                InnerFrame::SnapshotEnd(e) if snapshot.begin.is_some() => {
                    snapshot.end = e.seq;
                    return Ok(snapshot);
                }
                other => {
                    return Err(Failure::fail(
                        "SnapshotBegin, ChatPage, ContactPage, MessagePage or SnapshotEnd in a snapshot (§7.3)",
                        crate::endpoint::link::describe_inner(&other),
                    ));
                }
            }
        }
    }

    /// Pairs, reconnects and completes a first sync with its `Ack`: a live
    /// session with the primary under test.
    pub async fn live_primary(&self) -> Result<(Paired, Link, Snapshot), Failure> {
        let paired = self.pair_primary().await?;
        let mut link = self.reconnect(&paired).await?;
        let snapshot = self.read_snapshot(&mut link).await?;
        link.send(&InnerFrame::Ack(Ack { seq: snapshot.end }))
            .await?;
        Ok((paired, link, snapshot))
    }
}
