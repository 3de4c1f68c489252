//! A linked companion's session on the primary (spec §7): resume or
//! snapshot, numbered events within the window, acknowledgements, sends
//! applied exactly once, history, read marks, typing, unlinking, media.

use tandem_codec::limits::MAX_MESSAGES_PER_PAGE;
use tandem_codec::session::{
    Ack, ChatPage, ContactPage, Error as ErrorFrame, Event, HistoryRequest, InnerFrame,
    MessagePage, Resume, ResumeAccepted, SendAck, SendFailed, SnapshotBegin, SnapshotEnd,
};
use tandem_codec::{Code, ErrorKind};

use super::link::{Link, send_close};
use super::media::Transfers;
use super::{Ctx, PrimaryEvent, changes, store_error};
use crate::faults::Fault;
use crate::paging::{self, LIST_PAGE_OVERHEAD};
use crate::store::{SendOutcome, Store};
use crate::{Error, PublicKey, Session};

/// Events read from the store per batch while pumping.
const EVENT_BATCH: usize = 256;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Waiting for `Resume` ([RECON-04]).
    AwaitResume,
    /// Serving events and requests.
    Live,
}

pub(crate) struct Served {
    key: PublicKey,
    session: Session,
    phase: Phase,
    /// A transport frame from the companion decrypted in this session: only
    /// then was it seen ([DEV-02]; a handshake alone proves nothing,
    /// [RECON-06]).
    seen: bool,
    /// Highest seq sent (or covered by the snapshot or the resume point).
    sent_seq: u64,
    /// Highest seq acknowledged.
    acked_seq: u64,
    transfers: Transfers,
}

/// Whether a session goes on after a frame.
enum Flow {
    Continue,
    End,
}

impl Served {
    pub(crate) fn new(key: PublicKey, session: Session) -> Self {
        Self {
            key,
            session,
            phase: Phase::AwaitResume,
            seen: false,
            sent_seq: 0,
            acked_seq: 0,
            transfers: Transfers::default(),
        }
    }

    pub(crate) fn key(&self) -> PublicKey {
        self.key
    }

    pub(crate) fn seen(&self) -> bool {
        self.seen
    }

    pub(crate) fn is_live(&self) -> bool {
        self.phase == Phase::Live
    }

    /// Seals one frame onto the link.
    pub(crate) fn send<S: Store>(
        &mut self,
        ctx: &mut Ctx<'_, S>,
        link_id: u32,
        frame: &InnerFrame,
    ) -> Result<(), Error> {
        let mut out = Vec::with_capacity(1);
        self.session.seal(frame, &mut out)?;
        for message in out {
            ctx.wire.send_data(link_id, message)?;
        }
        Ok(())
    }

    pub(crate) fn close<S: Store>(
        mut self: Box<Self>,
        ctx: &mut Ctx<'_, S>,
        link_id: u32,
        code: Code,
        reason: &str,
    ) -> Result<(), Error> {
        send_close(ctx, &mut self.session, link_id, code, reason)?;
        ctx.events.push_back(PrimaryEvent::CompanionDisconnected {
            link_id,
            key: Some(self.key),
            seen: self.seen,
            code,
        });
        Ok(())
    }

    /// One Noise message from the companion.
    pub(crate) fn data<S: Store>(
        mut self: Box<Self>,
        ctx: &mut Ctx<'_, S>,
        link_id: u32,
        payload: &[u8],
    ) -> Result<Option<Link>, Error> {
        let faults = ctx.config.faults;
        let outcome = match self.session.open(payload) {
            Ok(frame) => {
                self.seen = true;
                self.handle(ctx, link_id, frame)
            }
            Err(Error::DecryptFailed) if faults.has(Fault::PrimaryIgnoresDecryptFailure) => {
                // Fault [SESS-09]: the message is dropped, the session kept.
                return Ok(Some(Link::Served(self)));
            }
            Err(Error::MalformedFrame(err))
                if err.kind == ErrorKind::UnknownFrameType
                    && faults.has(Fault::DiscardUnknownCriticalFrame) =>
            {
                // Fault [ENC-09]: an unknown critical type is discarded.
                return Ok(Some(Link::Served(self)));
            }
            Err(Error::DecryptFailed) => {
                // [SESS-09] ... MUST discard the session, MUST NOT act on any
                // part of the message, MUST send `LinkClosed(decrypt_failed)`.
                ctx.wire.close_link(link_id, Code::DECRYPT_FAILED)?;
                ctx.events.push_back(PrimaryEvent::CompanionDisconnected {
                    link_id,
                    key: Some(self.key),
                    seen: self.seen,
                    code: Code::DECRYPT_FAILED,
                });
                return Ok(None);
            }
            Err(err) => Err(err),
        };
        match outcome {
            Ok(Flow::Continue) => Ok(Some(Link::Served(self))),
            Ok(Flow::End) => Ok(None),
            Err(err @ Error::Encode(_)) => Err(err),
            Err(err) => {
                if let Error::Store(reason) = &err {
                    ctx.events
                        .push_back(PrimaryEvent::StoreFailed(reason.clone()));
                }
                let code = err.code();
                self.close(ctx, link_id, code, &err.to_string())?;
                Ok(None)
            }
        }
    }

    fn handle<S: Store>(
        &mut self,
        ctx: &mut Ctx<'_, S>,
        link_id: u32,
        frame: InnerFrame,
    ) -> Result<Flow, Error> {
        match (self.phase, frame) {
            (_, InnerFrame::Close(close)) => {
                ctx.events.push_back(PrimaryEvent::CompanionDisconnected {
                    link_id,
                    key: Some(self.key),
                    seen: self.seen,
                    code: close.code,
                });
                ctx.wire.close_link(link_id, close.code)?;
                return Ok(Flow::End);
            }
            (_, InnerFrame::Unknown { frame_type, .. })
                if ctx.config.faults.has(Fault::CloseOnUnknownIgnorableFrame) =>
            {
                // Fault [ENC-10]: an ignorable type closes the session.
                return Err(Error::protocol(
                    Code::MALFORMED_SESSION_FRAME,
                    format!("unknown frame type {frame_type:#04x}"),
                ));
            }
            // Applied inside `Session::open`; errors are reports only.
            (_, InnerFrame::Rekey | InnerFrame::Error(_) | InnerFrame::Unknown { .. }) => {}
            (Phase::AwaitResume, InnerFrame::Resume(resume)) => {
                self.resume(ctx, link_id, resume)?
            }
            (Phase::Live, InnerFrame::Ack(ack)) => self.ack(ctx, link_id, ack)?,
            (Phase::Live, InnerFrame::Send(send)) => {
                let wall_ms = ctx.wall_ms();
                let result =
                    changes::send(ctx.store, &self.key, &send, wall_ms, ctx.config.faults)?;
                if let Some(commit) = result.commit {
                    ctx.commit(commit)?;
                }
                let reply = match result.outcome {
                    SendOutcome::Applied { message_id, seq } => InnerFrame::from(SendAck {
                        client_id: send.client_id,
                        message_id,
                        seq,
                    }),
                    SendOutcome::Failed(code) => InnerFrame::from(SendFailed {
                        client_id: send.client_id,
                        code,
                    }),
                };
                self.send(ctx, link_id, &reply)?;
                if let Some(message) = result.message {
                    ctx.events.push_back(PrimaryEvent::MessageSent(message));
                }
            }
            (Phase::Live, InnerFrame::MarkRead(mark)) => {
                match changes::mark_read(ctx.store, mark.chat_id, mark.up_to)? {
                    Some(commit) => {
                        ctx.commit(commit)?;
                        if ctx.config.faults.has(Fault::MarkReadSkipsSender) {
                            // Fault [SYNC-24]: the sender's own read events
                            // are skipped as if sent.
                            self.sent_seq = ctx.store.head().map_err(store_error)?;
                        }
                    }
                    None => self.send_error(ctx, link_id, Code::UNKNOWN_CHAT, 0, "no such chat")?,
                }
            }
            (Phase::Live, InnerFrame::Typing(typing)) => {
                ctx.events.push_back(PrimaryEvent::CompanionTyping {
                    chat_id: typing.chat_id,
                    active: typing.active,
                })
            }
            (Phase::Live, InnerFrame::HistoryRequest(request)) => {
                self.history(ctx, link_id, request)?
            }
            (Phase::Live, InnerFrame::Unlink) => {
                // [DEV-06] The primary MUST delete the link durably before it
                // answers `Close(unlinked)`.
                ctx.store.revoke_companion(&self.key).map_err(store_error)?;
                ctx.events
                    .push_back(PrimaryEvent::Unlinked { key: self.key });
                send_close(ctx, &mut self.session, link_id, Code::UNLINKED, "unlinked")?;
                return Ok(Flow::End);
            }
            (
                Phase::Live,
                frame @ (InnerFrame::UploadBegin(_)
                | InnerFrame::Chunk(_)
                | InnerFrame::Credit(_)
                | InnerFrame::DownloadRequest(_)
                | InnerFrame::TransferCancel(_)),
            ) => {
                let replies = self.transfers.handle(ctx, frame)?;
                for reply in &replies {
                    self.send(ctx, link_id, reply)?;
                }
                self.pump_media(ctx, link_id)?;
            }
            (Phase::AwaitResume, _) if ctx.config.faults.has(Fault::IgnoreFrameBeforeResume) => {
                // Fault [SESS-04]: a frame before `Resume` is discarded.
            }
            (_, other) => {
                // [SESS-03] A frame sent by the wrong role ... and [SESS-04]
                // anything but `Close`, `Error` and `Rekey` before `Resume`,
                // is `unexpected_session_frame`.
                return Err(Error::protocol(
                    Code::UNEXPECTED_SESSION_FRAME,
                    format!("unexpected {} from a companion", other.name()),
                ));
            }
        }
        Ok(Flow::Continue)
    }

    fn resume<S: Store>(
        &mut self,
        ctx: &mut Ctx<'_, S>,
        link_id: u32,
        resume: Resume,
    ) -> Result<(), Error> {
        let head = ctx.store.head().map_err(store_error)?;
        let first = ctx.store.first_retained().map_err(store_error)?;
        self.phase = Phase::Live;
        // [DEV-02] The last-seen time is stored when a session starts: its
        // first transport frame, not the handshake.
        let ours = resume.log_id == ctx.store.log_id()
            // Fault [SYNC-04]: any non-zero log id passes for ours.
            || (resume.log_id != 0 && ctx.config.faults.has(Fault::ResumeForeignLog));
        let resumable = ours && resume.seq <= head;
        let cursor = if resumable { resume.seq } else { 0 };
        let wall = ctx.wall_ms();
        ctx.store
            .record_cursor(&self.key, cursor, wall)
            .map_err(store_error)?;
        // [SYNC-03] If `log_id` is the primary's log id and every event after
        // `seq` up to the head is still in the log, the primary MUST answer
        // `ResumeAccepted(head)` and then send exactly the events after it.
        // Fault [SYNC-03]: `SnapshotInsteadOfResume` never accepts.
        if resumable
            && resume.seq + 1 >= first
            && !ctx.config.faults.has(Fault::SnapshotInsteadOfResume)
        {
            self.sent_seq = resume.seq;
            self.acked_seq = resume.seq;
            if resume.seq < head && ctx.config.faults.has(Fault::ResumeSkipsAnEvent) {
                // Fault [SYNC-03]: off by one, event `seq + 1` is skipped.
                self.sent_seq = resume.seq + 1;
            }
            self.send(ctx, link_id, &InnerFrame::from(ResumeAccepted { head }))?;
            return self.pump_events(ctx, link_id);
        }
        // [SYNC-04] Otherwise the primary MUST send a snapshot instead.
        self.snapshot(ctx, link_id, head)?;
        self.pump_events(ctx, link_id)
    }

    /// Sends the state as of `seq` ([SYNC-06], [SYNC-07]).
    fn snapshot<S: Store>(
        &mut self,
        ctx: &mut Ctx<'_, S>,
        link_id: u32,
        seq: u64,
    ) -> Result<(), Error> {
        let chats = ctx.store.chats().map_err(store_error)?;
        let contacts = ctx.store.contacts().map_err(store_error)?;
        let begin = SnapshotBegin {
            log_id: ctx.store.log_id(),
            seq,
            chat_count: u32::try_from(chats.len()).unwrap_or(u32::MAX),
            contact_count: u32::try_from(contacts.len()).unwrap_or(u32::MAX),
        };
        self.send(ctx, link_id, &InnerFrame::from(begin))?;
        let chat_ids: Vec<u64> = chats.iter().map(|c| c.chat_id).collect();
        for page in paging::pages(
            chats,
            tandem_codec::limits::MAX_CHATS_PER_PAGE,
            LIST_PAGE_OVERHEAD,
            paging::chat_len,
        ) {
            self.send(ctx, link_id, &InnerFrame::from(ChatPage { chats: page }))?;
        }
        for page in paging::pages(
            contacts,
            tandem_codec::limits::MAX_CONTACTS_PER_PAGE,
            LIST_PAGE_OVERHEAD,
            paging::contact_len,
        ) {
            self.send(
                ctx,
                link_id,
                &InnerFrame::from(ContactPage { contacts: page }),
            )?;
        }
        // [SYNC-07] ... `MessagePage`s for at most `SNAPSHOT_CHATS` chats.
        for chat_id in chat_ids.into_iter().take(ctx.config.snapshot_chats) {
            let (mut messages, has_more) = ctx
                .store
                .messages(
                    chat_id,
                    0,
                    ctx.config.snapshot_recent.min(MAX_MESSAGES_PER_PAGE),
                )
                .map_err(store_error)?;
            if messages.is_empty() {
                continue;
            }
            let dropped = paging::fit_newest(&mut messages);
            let page = MessagePage {
                request_id: 0,
                chat_id,
                has_more: has_more || dropped,
                messages,
            };
            self.send(ctx, link_id, &InnerFrame::from(page))?;
        }
        self.send(ctx, link_id, &InnerFrame::from(SnapshotEnd { seq }))?;
        self.sent_seq = seq;
        self.acked_seq = seq;
        Ok(())
    }

    fn ack<S: Store>(&mut self, ctx: &mut Ctx<'_, S>, link_id: u32, ack: Ack) -> Result<(), Error> {
        // [SYNC-15] The primary MUST close the session with
        // `ack_out_of_range` when `Ack` names a seq it has not sent or one
        // lower than a previous `Ack`.
        // Fault [SYNC-15]: `IgnoreAckRange` trusts any `Ack`.
        let out_of_range = ack.seq > self.sent_seq || ack.seq < self.acked_seq;
        if out_of_range && !ctx.config.faults.has(Fault::IgnoreAckRange) {
            return Err(Error::protocol(
                Code::ACK_OUT_OF_RANGE,
                format!(
                    "ack {} outside {}..={}",
                    ack.seq, self.acked_seq, self.sent_seq
                ),
            ));
        }
        self.acked_seq = ack.seq;
        // [SYNC-16] The primary MUST store each companion's cursor durably.
        let wall = ctx.wall_ms();
        ctx.store
            .record_cursor(&self.key, ack.seq, wall)
            .map_err(store_error)?;
        self.pump_events(ctx, link_id)
    }

    fn history<S: Store>(
        &mut self,
        ctx: &mut Ctx<'_, S>,
        link_id: u32,
        request: HistoryRequest,
    ) -> Result<(), Error> {
        // [SYNC-23] ... a `limit` of 0 or above 100 gets
        // `Error(invalid_request, request_id)`; an unknown chat `unknown_chat`.
        let limit = usize::from(request.limit);
        if limit == 0 || limit > MAX_MESSAGES_PER_PAGE {
            return self.send_error(
                ctx,
                link_id,
                Code::INVALID_REQUEST,
                request.request_id,
                "limit must be 1 to 100",
            );
        }
        if ctx
            .store
            .chat(request.chat_id)
            .map_err(store_error)?
            .is_none()
        {
            if ctx.config.faults.has(Fault::HistoryUnknownChatEmptyPage) {
                // Fault [SYNC-23]: an empty page instead of `unknown_chat`.
                let page = MessagePage {
                    request_id: request.request_id,
                    chat_id: request.chat_id,
                    has_more: false,
                    messages: Vec::new(),
                };
                return self.send(ctx, link_id, &InnerFrame::from(page));
            }
            return self.send_error(
                ctx,
                link_id,
                Code::UNKNOWN_CHAT,
                request.request_id,
                "no such chat",
            );
        }
        let (mut messages, has_more) = ctx
            .store
            .messages(request.chat_id, request.before, limit)
            .map_err(store_error)?;
        // [SYNC-22] `has_more` MUST be true exactly when older messages exist
        // than the oldest in the page.
        let dropped = paging::fit_newest(&mut messages);
        // Fault [SYNC-22]: `has_more` always false.
        let never = ctx.config.faults.has(Fault::HistoryNeverHasMore);
        let page = MessagePage {
            request_id: request.request_id,
            chat_id: request.chat_id,
            has_more: (has_more || dropped) && !never,
            messages,
        };
        self.send(ctx, link_id, &InnerFrame::from(page))
    }

    fn send_error<S: Store>(
        &mut self,
        ctx: &mut Ctx<'_, S>,
        link_id: u32,
        code: Code,
        ref_id: u32,
        message: &str,
    ) -> Result<(), Error> {
        let frame = ErrorFrame {
            code,
            ref_id,
            message: message.to_owned(),
        };
        self.send(ctx, link_id, &InnerFrame::from(frame))
    }

    /// Sends what the windows allow: events ([SYNC-13]) and download chunks.
    pub(crate) fn pump<S: Store>(
        mut self: Box<Self>,
        ctx: &mut Ctx<'_, S>,
        link_id: u32,
    ) -> Result<Option<Link>, Error> {
        if self.phase == Phase::Live {
            self.pump_events(ctx, link_id)?;
            self.pump_media(ctx, link_id)?;
        }
        Ok(Some(Link::Served(self)))
    }

    fn pump_events<S: Store>(&mut self, ctx: &mut Ctx<'_, S>, link_id: u32) -> Result<(), Error> {
        loop {
            // [SYNC-13] The primary MUST NOT have more than `EVENT_WINDOW`
            // events sent and not acknowledged to one companion.
            let in_flight = self.sent_seq.saturating_sub(self.acked_seq);
            let room = if ctx.config.faults.has(Fault::IgnoreEventWindow) {
                // Fault [SYNC-13]: no window.
                EVENT_BATCH as u64
            } else {
                ctx.config.event_window.saturating_sub(in_flight)
            };
            if room == 0 {
                return Ok(());
            }
            let batch = usize::try_from(room)
                .unwrap_or(EVENT_BATCH)
                .min(EVENT_BATCH);
            let events = ctx
                .store
                .events_after(self.sent_seq, batch)
                .map_err(store_error)?;
            if events.is_empty() {
                return Ok(());
            }
            for (seq, event) in events {
                // [SYNC-11] in seq order, without gaps or repeats.
                if seq != self.sent_seq + 1 {
                    return Err(Error::Store(format!("log gap before seq {seq}")));
                }
                self.send(ctx, link_id, &InnerFrame::from(Event { seq, body: event }))?;
                self.sent_seq = seq;
            }
        }
    }

    fn pump_media<S: Store>(&mut self, ctx: &mut Ctx<'_, S>, link_id: u32) -> Result<(), Error> {
        for frame in self.transfers.pump(ctx)? {
            self.send(ctx, link_id, &frame)?;
        }
        Ok(())
    }
}
