//! One link on the primary's connection, from its opening to its end
//! (spec §6.3, primary side): a reconnect handshake, a pairing handshake
//! and its confirmation, or a served session.

use tandem_codec::Code;
use tandem_codec::handshake::{Hello, PairInit};
use tandem_codec::qr::QrPayload;
use tandem_codec::session::{Close, InnerFrame};

use super::served::Served;
use super::{Confirmation, Ctx, PrimaryEvent, store_error};
use crate::faults::Fault;
use crate::handshake::{PrimaryPairing, read_reconnect};
use crate::store::{CompanionRecord, KeyStatus, Store};
use crate::{Error, Instant, PublicKey, Session};

pub(crate) enum Link {
    /// `LinkOpened`: waiting for reconnect message 1.
    AwaitingHello { deadline: Instant },
    /// `ChannelJoined`: message 1 sent, waiting for message 2.
    Pairing {
        handshake: Box<PrimaryPairing>,
        deadline: Instant,
    },
    /// Handshake done; the person decides ([PAIR-06]).
    AwaitingConfirm {
        session: Box<Session>,
        key: PublicKey,
        device_name: String,
        deadline: Instant,
    },
    /// A linked companion's session.
    Served(Box<Served>),
}

impl Link {
    pub(crate) fn awaiting_hello(deadline: Instant) -> Self {
        Self::AwaitingHello { deadline }
    }

    pub(crate) fn served_key(&self) -> Option<PublicKey> {
        match self {
            Self::Served(served) => Some(served.key()),
            _ => None,
        }
    }

    pub(crate) fn seen(&self) -> bool {
        match self {
            Self::Served(served) => served.seen(),
            _ => false,
        }
    }

    pub(crate) fn is_pairing(&self) -> bool {
        matches!(self, Self::Pairing { .. } | Self::AwaitingConfirm { .. })
    }

    pub(crate) fn deadline(&self) -> Option<Instant> {
        match self {
            Self::AwaitingHello { deadline }
            | Self::Pairing { deadline, .. }
            | Self::AwaitingConfirm { deadline, .. } => Some(*deadline),
            Self::Served(_) => None,
        }
    }

    /// Sends pairing message 1 on a joined channel.
    pub(crate) fn start_pairing<S: Store>(
        ctx: &mut Ctx<'_, S>,
        link_id: u32,
        qr: &QrPayload,
    ) -> Result<Option<Self>, Error> {
        let init = PairInit {
            capabilities: 0,
            account_name: ctx.config.account_name.clone(),
            device_name: ctx.config.device_name.clone(),
        };
        let (handshake, message) =
            PrimaryPairing::start(ctx.identity, qr, &init, &ctx.config.handshake_options)?;
        ctx.wire.send_data(link_id, message.into())?;
        let deadline = ctx.now + ctx.config.handshake_timeout;
        Ok(Some(Self::Pairing {
            handshake: Box::new(handshake),
            deadline,
        }))
    }

    /// A `Data` payload for this link.
    pub(crate) fn data<S: Store>(
        self,
        ctx: &mut Ctx<'_, S>,
        link_id: u32,
        payload: &[u8],
    ) -> Result<Option<Self>, Error> {
        match self {
            Self::AwaitingHello { .. } => reconnect(ctx, link_id, payload),
            Self::Pairing { handshake, .. } => match handshake.finish(payload) {
                Ok(paired) => {
                    if ctx.config.faults.has(Fault::StoreLinkBeforeConfirm) {
                        // Fault [PAIR-06]: the link is stored before the
                        // person confirms.
                        let record = CompanionRecord {
                            key: paired.companion_key,
                            device_name: paired.companion.device_name.clone(),
                            linked_at_ms: ctx.wall_ms(),
                            last_seen_ms: 0,
                            cursor: 0,
                        };
                        ctx.store.link_companion(record).map_err(store_error)?;
                    }
                    ctx.events.push_back(PrimaryEvent::ConfirmPairing {
                        link_id,
                        device_name: paired.companion.device_name.clone(),
                        key: paired.companion_key,
                        check_code: paired.check_code,
                    });
                    Ok(Some(Self::AwaitingConfirm {
                        session: Box::new(paired.session),
                        key: paired.companion_key,
                        device_name: paired.companion.device_name,
                        deadline: ctx.now + ctx.config.confirm_timeout,
                    }))
                }
                Err(err) => {
                    // [PAIR-11] Any handshake failure MUST end the attempt
                    // with the code in this table and MUST NOT store anything.
                    ctx.wire.close_link(link_id, err.code())?;
                    pairing_failed(ctx, err.code(), err.to_string());
                    Ok(None)
                }
            },
            Self::AwaitingConfirm { mut session, .. } => {
                let reason = match session.open(payload) {
                    Ok(InnerFrame::Close(close)) => {
                        pairing_failed(ctx, close.code, close.message);
                        return Ok(None);
                    }
                    Ok(other) => format!("unexpected {} before confirmation", other.name()),
                    Err(err) => err.to_string(),
                };
                ctx.wire
                    .close_link(link_id, Code::UNEXPECTED_SESSION_FRAME)?;
                pairing_failed(ctx, Code::UNEXPECTED_SESSION_FRAME, reason);
                Ok(None)
            }
            Self::Served(served) => served.data(ctx, link_id, payload),
        }
    }

    /// The person answered the pairing confirmation.
    pub(crate) fn confirm<S: Store>(
        self,
        ctx: &mut Ctx<'_, S>,
        link_id: u32,
        answer: Confirmation,
    ) -> Result<(), Error> {
        let Self::AwaitingConfirm {
            mut session,
            key,
            device_name,
            ..
        } = self
        else {
            return Err(Error::protocol(
                Code::UNKNOWN_LINK,
                "no pairing awaits confirmation there",
            ));
        };
        let mut linked = ctx.store.companions().map_err(store_error)?;
        // Only others count (a companion stored early by a fault is not).
        linked.retain(|c| c.key != key);
        let limit_ignored = ctx.config.faults.has(Fault::IgnoreCompanionLimit);
        let refusal = match answer {
            Confirmation::Reject => Some((Code::PAIRING_REJECTED, "the person declined")),
            // [PAIR-10] A primary that already has `MAX_COMPANIONS`
            // companions MUST refuse to pair.
            // Fault [PAIR-10]: `limit_ignored` pairs beyond the limit.
            Confirmation::Accept if linked.len() >= ctx.config.max_companions && !limit_ignored => {
                Some((Code::DEVICE_LIMIT, "the companion limit is reached"))
            }
            Confirmation::Accept => None,
        };
        if let Some((code, reason)) = refusal {
            send_close(ctx, &mut session, link_id, code, reason)?;
            pairing_failed(ctx, code, reason.to_owned());
            return Ok(());
        }
        // [PAIR-07] ... MUST durably store the companion key, device name
        // and link time, and only then send `PairingComplete`.
        let record = CompanionRecord {
            key,
            device_name: device_name.clone(),
            linked_at_ms: ctx.wall_ms(),
            last_seen_ms: 0,
            cursor: 0,
        };
        ctx.store.link_companion(record).map_err(store_error)?;
        let mut out = Vec::new();
        session.seal(&InnerFrame::PairingComplete, &mut out)?;
        for message in out {
            ctx.wire.send_data(link_id, message)?;
        }
        ctx.events
            .push_back(PrimaryEvent::Paired { key, device_name });
        Ok(())
    }

    /// The link's deadline passed.
    pub(crate) fn expire<S: Store>(self, ctx: &mut Ctx<'_, S>, link_id: u32) -> Result<(), Error> {
        match self {
            Self::AwaitingConfirm { mut session, .. } => {
                send_close(
                    ctx,
                    &mut session,
                    link_id,
                    Code::HANDSHAKE_TIMEOUT,
                    "not confirmed in time",
                )?;
                pairing_failed(ctx, Code::HANDSHAKE_TIMEOUT, "not confirmed in time".into());
            }
            Self::Pairing { .. } => {
                ctx.wire.close_link(link_id, Code::HANDSHAKE_TIMEOUT)?;
                pairing_failed(
                    ctx,
                    Code::HANDSHAKE_TIMEOUT,
                    "no answer to message 1".into(),
                );
            }
            Self::AwaitingHello { .. } | Self::Served(_) => {
                ctx.wire.close_link(link_id, Code::HANDSHAKE_TIMEOUT)?;
            }
        }
        Ok(())
    }

    /// Ends the link with a `Close(code)` when it has a session.
    pub(crate) fn close<S: Store>(
        self,
        ctx: &mut Ctx<'_, S>,
        link_id: u32,
        code: Code,
        reason: &str,
    ) -> Result<(), Error> {
        match self {
            Self::Served(served) => served.close(ctx, link_id, code, reason),
            Self::AwaitingConfirm { mut session, .. } => {
                send_close(ctx, &mut session, link_id, code, reason)
            }
            Self::AwaitingHello { .. } | Self::Pairing { .. } => ctx.wire.close_link(link_id, code),
        }
    }

    /// Sends whatever a served link may send now (events, chunks).
    pub(crate) fn pump<S: Store>(
        self,
        ctx: &mut Ctx<'_, S>,
        link_id: u32,
    ) -> Result<Option<Self>, Error> {
        match self {
            Self::Served(served) => served.pump(ctx, link_id),
            other => Ok(Some(other)),
        }
    }

    /// Sends `frame` if this is a live served session.
    pub(crate) fn send_if_live<S: Store>(
        &mut self,
        ctx: &mut Ctx<'_, S>,
        link_id: u32,
        frame: &InnerFrame,
    ) -> Result<(), Error> {
        match self {
            Self::Served(served) if served.is_live() => served.send(ctx, link_id, frame),
            _ => Ok(()),
        }
    }
}

/// Reconnect message 1: answer it whatever the key, then serve, or refuse
/// with an authenticated reason (spec §5.2).
fn reconnect<S: Store>(
    ctx: &mut Ctx<'_, S>,
    link_id: u32,
    payload: &[u8],
) -> Result<Option<Link>, Error> {
    let incoming = match read_reconnect(ctx.identity, payload, &ctx.config.handshake_options) {
        Ok(incoming) => incoming,
        Err(err) => {
            ctx.wire.close_link(link_id, err.code())?;
            return Ok(None);
        }
    };
    let key = incoming.companion_key();
    let status = ctx.store.key_status(&key).map_err(store_error)?;
    let (mut session, reply) = incoming.accept(Hello { capabilities: 0 })?;
    ctx.wire.send_data(link_id, reply.into())?;
    let refusal = match status {
        KeyStatus::Linked(_) => None,
        // Fault [RECON-05]: a revoked key is served as if linked.
        KeyStatus::Revoked if ctx.config.faults.has(Fault::ServeRevokedKey) => None,
        KeyStatus::Revoked => Some((Code::DEVICE_REVOKED, "this companion was revoked")),
        KeyStatus::Unknown => Some((Code::UNKNOWN_DEVICE, "this companion is not linked")),
    };
    if let Some((code, reason)) = refusal {
        // [RECON-05] ... answer with message 2 and then `Close(device_revoked)`
        // (or `unknown_device`); MUST NOT send or apply anything else.
        if code == Code::UNKNOWN_DEVICE
            && ctx.config.faults.has(Fault::RefuseUnknownKeyWithoutClose)
        {
            // Fault [RECON-05]: no authenticated `Close`, only `LinkClosed`.
            ctx.wire.close_link(link_id, code)?;
        } else {
            send_close(ctx, &mut session, link_id, code, reason)?;
        }
        ctx.events
            .push_back(PrimaryEvent::CompanionRefused { key, code });
        return Ok(None);
    }
    ctx.events
        .push_back(PrimaryEvent::CompanionConnected { link_id, key });
    Ok(Some(Link::Served(Box::new(Served::new(key, session)))))
}

/// Seals `Close(code)`, then closes the link with the same code ([SESS-05]).
pub(crate) fn send_close<S: Store>(
    ctx: &mut Ctx<'_, S>,
    session: &mut Session,
    link_id: u32,
    code: Code,
    reason: &str,
) -> Result<(), Error> {
    let mut out = Vec::new();
    let close = Close {
        code,
        message: crate::error::close_reason(reason),
    };
    session.seal(&InnerFrame::from(close), &mut out)?;
    for message in out {
        ctx.wire.send_data(link_id, message)?;
    }
    ctx.wire.close_link(link_id, code)
}

fn pairing_failed<S: Store>(ctx: &mut Ctx<'_, S>, code: Code, reason: String) {
    ctx.events
        .push_back(PrimaryEvent::PairingFailed { code, reason });
}
