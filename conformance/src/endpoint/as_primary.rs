//! The runner as the primary of a companion under test (spec §4, §5, §7):
//! a registered route, the pairing steps one at a time (read the QR code
//! the companion shows, join its channel, run the IKpsk2 handshake as the
//! initiator, send `PairingComplete`), accepting the companion's IK
//! reconnects, and serving sync from a [`Model`]. Each step is separate
//! so that cases can misbehave between them.

use tandem_codec::Code;
use tandem_codec::envelope::{EnvelopeFrame, JoinChannel};
use tandem_codec::handshake::PairInit;
use tandem_codec::qr::QrPayload;
use tandem_codec::session::{Ack, InnerFrame, Resume, ResumeAccepted};
use tandem_proto::handshake::{PrimaryPaired, PrimaryPairing, read_reconnect};
use tandem_proto::noise::HandshakeOptions;
use tandem_proto::{PublicKey, StaticKeypair};

use crate::case::Failure;
use crate::endpoint::ctx::Ctx;
use crate::endpoint::link::{Incoming, Link};
use crate::endpoint::model::Model;
use crate::relay::peer::Peer;

/// The account name the runner's primary announces.
pub const ACCOUNT_NAME: &str = "Conformance Runner";

/// The device name the runner's primary announces.
pub const DEVICE_NAME: &str = "tandem-conformance primary";

/// The runner's primary: its identity and its route connection.
pub struct Primary {
    /// The account key.
    pub key: StaticKeypair,
    /// The connection holding the route.
    pub peer: Peer,
}

/// A companion the runner's primary linked.
pub struct Linked {
    /// The primary, its route still registered.
    pub primary: Primary,
    /// The companion's static key from its QR code.
    pub companion_key: PublicKey,
    /// Its device name from `PairAccept`.
    pub device_name: String,
}

/// A companion's route session, after its `Resume`.
pub struct Resumed {
    /// The session; its connection is the primary's route connection.
    pub link: Link,
    /// What it resumed from.
    pub resume: Resume,
    /// The primary's key.
    pub key: StaticKeypair,
    /// The companion's key.
    pub companion_key: PublicKey,
}

impl Resumed {
    /// The primary again, to accept the companion's next reconnect on the
    /// same route connection.
    pub fn into_primary(self) -> Primary {
        Primary {
            key: self.key,
            peer: self.link.peer,
        }
    }
}

impl Ctx {
    /// A primary with a fresh seeded key and its route registered.
    pub async fn runner_primary(&self) -> Result<Primary, Failure> {
        let key = self.relay().keypair();
        let peer = self.relay().primary(&key).await?;
        Ok(Primary { key, peer })
    }

    /// Asks the companion for its QR code (`show-qr`) and decodes it.
    pub async fn show_qr(&self) -> Result<(String, QrPayload), Failure> {
        let text = self.ok("show-qr").await?.unwrap_or_default();
        let qr = QrPayload::from_text(&text).map_err(|e| {
            Failure::fail(
                "the text of a valid QR payload as the result of `show-qr` (§4.1)",
                format!("`{text}`: {e}"),
            )
        })?;
        Ok((text, qr))
    }

    /// Joins the channel of `qr` on a new connection.
    pub async fn join_channel(&self, qr: &QrPayload) -> Result<Link, Failure> {
        let mut peer = self.relay().connect("primary").await?;
        peer.send(JoinChannel {
            channel_id: qr.channel_id,
        })
        .await?;
        let link = peer
            .expect(self.wait(), "ChannelJoined", |f| match f {
                EnvelopeFrame::ChannelJoined(j) => Some(j.link_id),
                _ => None,
            })
            .await?;
        Ok(Link::new(peer, link, self.relay().log()))
    }

    /// Sends handshake message 1 with `init` on `link` and reads message 2
    /// (§4.2).
    pub async fn pairing_handshake(
        &self,
        link: &mut Link,
        key: &StaticKeypair,
        qr: &QrPayload,
        init: &PairInit,
    ) -> Result<PrimaryPaired, Failure> {
        let (state, message) =
            PrimaryPairing::start(key, qr, init, &HandshakeOptions::default())
                .map_err(|e| Failure::harness("handshake message 1", e.to_string()))?;
        link.send_payload(message.into()).await?;
        let reply = link
            .expect_skipping(
                self.wait(),
                "handshake message 2 [PAIR-03]",
                |i| matches!(i, Incoming::PeerState(_)),
                |i| match i {
                    Incoming::Handshake(b) => Some(b.clone()),
                    _ => None,
                },
            )
            .await?;
        state.finish(&reply).map_err(|e| {
            Failure::fail(
                "a handshake message 2 that completes Noise_IKpsk2 [PAIR-01]",
                e.to_string(),
            )
        })
    }

    /// The `PairInit` of the runner's primary.
    pub fn pair_init() -> PairInit {
        PairInit {
            capabilities: 0,
            account_name: ACCOUNT_NAME.into(),
            device_name: DEVICE_NAME.into(),
        }
    }

    /// Pairs the companion under test with a new runner primary, through
    /// `PairingComplete` and the companion's `linked` event, and waits for
    /// the companion to close the pairing link.
    pub async fn pair_companion(&self) -> Result<Linked, Failure> {
        let primary = self.runner_primary().await?;
        let (_, qr) = self.show_qr().await?;
        let mut link = self.join_channel(&qr).await?;
        let paired = self
            .pairing_handshake(&mut link, &primary.key, &qr, &Self::pair_init())
            .await?;
        let code = paired.check_code.digits();
        self.event("check_code", "the check code [PAIR-04]", |e| {
            e.get("code").and_then(|c| c.as_str()).map(str::to_owned)
        })
        .await
        .and_then(|shown| {
            crate::case::ensure(
                digits(&shown) == code,
                format!("the check code {code} [PAIR-04]"),
                || format!("`{shown}`"),
            )
        })?;
        link.session = Some(paired.session);
        link.send(&InnerFrame::PairingComplete).await?;
        self.event("linked", "`linked` after PairingComplete [PAIR-08]", |_| {
            Some(())
        })
        .await?;
        link.expect_skipping(
            self.wait(),
            "LinkClosed(normal_closure) from the companion after PairingComplete (§4.5)",
            |i| matches!(i, Incoming::PeerState(_)),
            |i| matches!(i, Incoming::LinkClosed(c) if *c == Code::NORMAL_CLOSURE.0).then_some(()),
        )
        .await?;
        Ok(Linked {
            primary,
            companion_key: PublicKey(qr.companion_key),
            device_name: paired.companion.device_name,
        })
    }

    /// Waits for a companion to attach to `primary`'s route and answers its
    /// IK handshake (§5): the link with its session, and the key that
    /// connected. The primary's connection moves into the link.
    pub async fn accept_reconnect(&self, primary: Primary) -> Result<(Link, PublicKey), Failure> {
        let Primary { key, mut peer } = primary;
        let link_id = self.relay().link_opened(&mut peer).await?;
        self.answer_reconnect(Primary { key, peer }, link_id).await
    }

    /// As [`Ctx::accept_reconnect`] for a link whose `LinkOpened` the case
    /// already read.
    pub async fn answer_reconnect(
        &self,
        primary: Primary,
        link_id: u32,
    ) -> Result<(Link, PublicKey), Failure> {
        let Primary { key, peer } = primary;
        let mut link = Link::new(peer, link_id, self.relay().log());
        let message = link
            .expect(
                self.wait(),
                "reconnect handshake message 1 (§5.1)",
                |i| match i {
                    Incoming::Handshake(b) => Some(b.clone()),
                    _ => None,
                },
            )
            .await?;
        let incoming =
            read_reconnect(&key, &message, &HandshakeOptions::default()).map_err(|e| {
                Failure::fail(
                    "a message 1 of Noise_IK to the pinned primary key [RECON-01] [RECON-02] [RECON-03]",
                    e.to_string(),
                )
            })?;
        let companion_key = incoming.companion_key();
        let (session, reply) = incoming
            .accept(incoming_hello())
            .map_err(|e| Failure::harness("reconnect message 2", e.to_string()))?;
        link.send_payload(reply.into()).await?;
        link.session = Some(session);
        Ok((link, companion_key))
    }

    /// As [`Ctx::accept_reconnect`], then the companion's `Resume`
    /// ([RECON-04]).
    pub async fn accept_resume(&self, primary: Primary) -> Result<Resumed, Failure> {
        let key = StaticKeypair::from_private(*primary.key.private());
        let (link, companion_key) = self.accept_reconnect(primary).await?;
        self.expect_resume(link, key, companion_key).await
    }

    /// As [`Ctx::accept_resume`] for a link whose `LinkOpened` the case
    /// already read.
    pub async fn resume_on(&self, primary: Primary, link_id: u32) -> Result<Resumed, Failure> {
        let key = StaticKeypair::from_private(*primary.key.private());
        let (link, companion_key) = self.answer_reconnect(primary, link_id).await?;
        self.expect_resume(link, key, companion_key).await
    }

    async fn expect_resume(
        &self,
        mut link: Link,
        key: StaticKeypair,
        companion_key: PublicKey,
    ) -> Result<Resumed, Failure> {
        let resume = link
            .expect_frame(
                self.wait(),
                "Resume as the first frame of the session [RECON-04]",
                |f| match f {
                    InnerFrame::Resume(r) => Some(*r),
                    _ => None,
                },
            )
            .await?;
        Ok(Resumed {
            link,
            resume,
            key,
            companion_key,
        })
    }

    /// Sends `model`'s snapshot and waits for the companion's `Ack` of it.
    pub async fn serve_snapshot(&self, link: &mut Link, model: &Model) -> Result<(), Failure> {
        for frame in model.snapshot() {
            link.send(&frame).await?;
        }
        self.expect_ack(link, model.head).await.map(|_| ())
    }

    /// Sends `ResumeAccepted` and the events after `from`.
    pub async fn serve_resume(
        &self,
        link: &mut Link,
        model: &Model,
        from: u64,
    ) -> Result<(), Failure> {
        link.send(&InnerFrame::ResumeAccepted(ResumeAccepted {
            head: model.head,
        }))
        .await?;
        for event in model.events_after(from) {
            link.send(&InnerFrame::Event(event)).await?;
        }
        Ok(())
    }

    /// Waits for `Ack(seq)` or a later one, skipping typing and read marks
    /// and earlier acknowledgements.
    pub async fn expect_ack(&self, link: &mut Link, seq: u64) -> Result<u64, Failure> {
        let within = self.wait() + self.scaled(std::time::Duration::from_millis(500));
        link.expect_frame_skipping(
            within,
            &format!("Ack({seq}) [SYNC-14]"),
            |f| {
                matches!(f, InnerFrame::Ack(Ack { seq: s }) if *s < seq)
                    || matches!(f, InnerFrame::Typing(_) | InnerFrame::MarkRead(_))
            },
            |f| match f {
                InnerFrame::Ack(a) if a.seq >= seq => Some(a.seq),
                _ => None,
            },
        )
        .await
    }

    /// Pairs a companion and brings it to a live session holding `model`:
    /// reconnect, `Resume(0, 0)`, snapshot, `Ack`.
    pub async fn live_companion(&self, model: &Model) -> Result<Resumed, Failure> {
        let linked = self.pair_companion().await?;
        let mut resumed = self.accept_resume(linked.primary).await?;
        let resume = resumed.resume;
        crate::case::ensure(
            resume.log_id == 0 && resume.seq == 0,
            "Resume(0, 0) from a companion that has nothing [SYNC-03]",
            || format!("Resume({}, {})", resume.log_id, resume.seq),
        )?;
        self.serve_snapshot(&mut resumed.link, model).await?;
        Ok(resumed)
    }
}

/// The primary's `Hello` (§5.1).
fn incoming_hello() -> tandem_codec::handshake::Hello {
    tandem_codec::handshake::Hello { capabilities: 0 }
}

/// The digits of a check code as shown, without separators.
pub fn digits(shown: &str) -> String {
    shown.chars().filter(char::is_ascii_digit).collect()
}
