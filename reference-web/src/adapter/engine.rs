//! The adapter's loop (spec §12.5.2–§12.5.5): requests answered one at a
//! time and in order ([CONF-07]), events written as the connection reports
//! them, and `restart`, `quit` or the end of the input close it as a quit does.

use std::collections::VecDeque;
use std::process::ExitCode;
use std::time::Duration;

use serde_json::Value;
use tandem_client::DriverEvent;
use tandem_codec::session::Body;
use tandem_proto::companion::pairing::PairingEvent;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::events::{self, Reply, code_word};
use super::lines::{Incoming, MAX_LINE, Output};
use super::linked::{Linked, not_linked_status};
use super::pairing::{Outcome, PairingRun};
use super::request::{self, Request};
use super::transfer::{Fetch, Upload};
use super::{AdapterOptions, CAPABILITIES};
use crate::error::WebError;
use crate::session::{Event, SessionOptions};
use crate::state::{StateDir, check_send};
use crate::tui::HISTORY_PAGE;

/// `show-qr` waits this long for the relay's channel (within
/// `ADAPTER_TIMEOUT`, 10 s).
const QR_WITHIN: Duration = Duration::from_secs(8);
/// `fetch` answers within 60 s (§12.5.3); `send-file` gets as long.
const TRANSFER_WITHIN: Duration = Duration::from_secs(55);
/// How long the phone gets to confirm an unlink with `Close(unlinked)`
/// (`HANDSHAKE_TIMEOUT`, as `tandem-web unlink` waits).
const UNLINK_CONFIRM: Duration = Duration::from_secs(10);
/// How long closing may take at `quit` and `restart` ([CONF-10]).
const CLOSE_WITHIN: Duration = Duration::from_secs(8);
/// Requests read ahead while one waits for its answer.
const READ_AHEAD: usize = 64;

/// What the companion is doing.
enum Phase {
    /// Not linked, no code shown.
    Idle,
    /// Showing codes.
    Pairing(Box<PairingRun>),
    /// Linked (or just wiped, until the session ends).
    Linked(Box<Linked>),
}

/// A request whose answer waits for the connection.
enum Pending {
    /// `show-qr`: the first code.
    ShowQr { deadline: Instant },
    /// `send-file`: the upload, then the message.
    Upload { upload: Upload, deadline: Instant },
    /// `fetch`: the whole file.
    Fetch {
        fetch: Box<Fetch>,
        deadline: Instant,
    },
}

impl Pending {
    fn deadline(&self) -> Instant {
        match self {
            Self::ShowQr { deadline }
            | Self::Upload { deadline, .. }
            | Self::Fetch { deadline, .. } => *deadline,
        }
    }
}

/// A report from the connection of the moment.
enum Report {
    Pairing(Option<DriverEvent<PairingEvent>>),
    Session(Option<Event>),
}

/// Whether to go on.
enum Flow {
    Continue,
    Exit,
}

/// The adapter.
pub(crate) struct Engine {
    state: StateDir,
    options: AdapterOptions,
    out: Output,
    phase: Phase,
    pending: Option<Pending>,
    /// When a wiped session is closed if the phone does not end it first.
    wiped_deadline: Option<Instant>,
    requests: VecDeque<Incoming>,
    input_open: bool,
}

impl Engine {
    /// A linked folder reconnects at once; any other waits for `show-qr`.
    pub(crate) fn start(
        state: &StateDir,
        options: AdapterOptions,
        out: Output,
    ) -> Result<Self, WebError> {
        let mut engine = Self {
            state: state.clone(),
            options,
            out,
            phase: Phase::Idle,
            pending: None,
            wiped_deadline: None,
            requests: VecDeque::new(),
            input_open: true,
        };
        if state.link()?.is_some() {
            engine.open_session()?;
        }
        Ok(engine)
    }

    fn open_session(&mut self) -> Result<(), WebError> {
        let options = SessionOptions {
            connect_url: Some(self.options.relay_url.clone()),
            timeout: self.options.timeout,
            ca: self.options.ca.clone(),
            faults: self.options.faults,
        };
        self.phase = Phase::Linked(Box::new(Linked::open(&self.state, &options)?));
        Ok(())
    }

    /// Runs until `quit`, `restart` or the end of `input`.
    pub(crate) async fn run(
        mut self,
        mut input: mpsc::Receiver<Incoming>,
    ) -> Result<ExitCode, WebError> {
        loop {
            // One request at a time: one whose answer waits (show-qr,
            // send-file, fetch) holds back those after it ([CONF-07]).
            while self.pending.is_none() {
                let Some(incoming) = self.requests.pop_front() else {
                    break;
                };
                if let Flow::Exit = self.request(incoming).await? {
                    return Ok(ExitCode::SUCCESS);
                }
            }
            if !self.input_open && self.requests.is_empty() && self.pending.is_none() {
                // §12.5.5: closed standard input means the runner is gone.
                tracing::info!("standard input closed; quitting");
                self.close().await;
                return Ok(ExitCode::SUCCESS);
            }
            let deadline = self.deadline();
            let reading = self.input_open && self.requests.len() < READ_AHEAD;
            tokio::select! {
                incoming = input.recv(), if reading => match incoming {
                    Some(incoming) => self.requests.push_back(incoming),
                    None => self.input_open = false,
                },
                report = next_report(&mut self.phase) => self.report(report).await?,
                () = sleep_until(deadline) => self.deadline_passed().await?,
            }
        }
    }

    fn deadline(&self) -> Option<Instant> {
        let pending = self.pending.as_ref().map(Pending::deadline);
        [pending, self.wiped_deadline].into_iter().flatten().min()
    }

    // ---- Output -------------------------------------------------------

    fn reply(&mut self, reply: Reply) -> Result<(), WebError> {
        let line = reply.line();
        tracing::debug!(%line, "response");
        self.write(&line)
    }

    fn emit(&mut self, event: Value) -> Result<(), WebError> {
        self.write(&format!("event {event}"))
    }

    fn write(&mut self, line: &str) -> Result<(), WebError> {
        self.out.line(line).map_err(WebError::io("standard output"))
    }

    // ---- Requests -----------------------------------------------------

    async fn request(&mut self, incoming: Incoming) -> Result<Flow, WebError> {
        let line = match incoming {
            Incoming::Line(line) => line,
            Incoming::TooLong => {
                self.reply(Reply::err(
                    "bad_request",
                    format!("a line is at most {MAX_LINE} bytes"),
                ))?;
                return Ok(Flow::Continue);
            }
            Incoming::NotUtf8 => {
                self.reply(Reply::err("bad_request", "a line is UTF-8 text"))?;
                return Ok(Flow::Continue);
            }
        };
        tracing::debug!(%line, "request");
        let request = match request::parse(&line) {
            Ok(request) => request,
            Err(refusal) => {
                self.reply(Reply::err(refusal.code(), refusal.to_string()))?;
                return Ok(Flow::Continue);
            }
        };
        let reply = match request {
            Request::Capabilities => Some(Reply::ok_with(CAPABILITIES)),
            Request::ShowQr => self.show_qr().await,
            Request::Send { chat_id, text } => Some(self.send(chat_id, text).await),
            Request::Read { chat_id } => Some(self.read(chat_id).await),
            Request::History { chat_id } => Some(self.history(chat_id).await),
            Request::SendFile { chat_id, path } => self.send_file(chat_id, &path).await,
            Request::Fetch { media_id, path } => self.fetch(media_id, &path).await,
            Request::Received => Some(self.received().await),
            Request::Unlink => Some(self.unlink().await),
            Request::Status => Some(Reply::ok_with(self.status().to_string())),
            Request::Restart | Request::Quit => {
                // [CONF-10] answer, close as a quit does, exit 0.
                self.reply(Reply::ok())?;
                self.close().await;
                return Ok(Flow::Exit);
            }
        };
        if let Some(reply) = reply {
            self.reply(reply)?;
        }
        Ok(Flow::Continue)
    }

    /// The linked session, if linked and not wiped.
    fn linked(&self) -> Result<&Linked, Reply> {
        match &self.phase {
            Phase::Linked(linked) if linked.is_linked() => Ok(linked),
            Phase::Linked(_) => Err(Reply::invalid_state("this companion was just unlinked")),
            Phase::Pairing(_) => Err(Reply::invalid_state("not linked yet: pairing")),
            Phase::Idle => Err(Reply::invalid_state("not linked: show-qr first")),
        }
    }

    /// The linked session, with the phone synced now.
    fn live(&self) -> Result<&Linked, Reply> {
        let linked = self.linked()?;
        if !linked.session().is_live() {
            return Err(Reply::invalid_state(
                "the phone is not connected (or not synced yet)",
            ));
        }
        Ok(linked)
    }

    async fn show_qr(&mut self) -> Option<Reply> {
        match &self.phase {
            Phase::Linked(linked) if linked.is_linked() => {
                let account = &linked.session().link().credentials.account_name;
                return Some(Reply::invalid_state(format!(
                    "already linked to {account}: unlink first"
                )));
            }
            // Wiped: pair again without waiting for the old session.
            Phase::Linked(_) => self.end_session().await,
            Phase::Pairing(_) => {
                return Some(Reply::invalid_state("a code is already shown"));
            }
            Phase::Idle => {}
        }
        match PairingRun::start(&self.state, &self.options) {
            Ok(run) => {
                self.phase = Phase::Pairing(Box::new(run));
                self.pending = Some(Pending::ShowQr {
                    deadline: Instant::now() + QR_WITHIN,
                });
                None
            }
            Err(err) => Some(Reply::from_error(&err)),
        }
    }

    async fn send(&mut self, chat_id: u64, text: String) -> Reply {
        let linked = match self.linked() {
            Ok(linked) => linked,
            Err(reply) => return reply,
        };
        let body = Body::Text(text);
        if let Err(why) = check_send([0; 16], chat_id, &body) {
            return Reply::err("invalid_value", why);
        }
        // Queued and written to the state folder before it leaves; it goes
        // out now if the phone is there, else after the next resume.
        match linked.session().send(chat_id, body).await {
            Ok(client_id) => Reply::ok_with(hex::encode(client_id)),
            Err(err) => Reply::from_error(&err),
        }
    }

    async fn read(&mut self, chat_id: u64) -> Reply {
        let linked = match self.live() {
            Ok(linked) => linked,
            Err(reply) => return reply,
        };
        let session = linked.session();
        let known = session
            .call(move |c, _| {
                let cache = c.cache();
                let newest = cache.messages_of(chat_id).last().map(|m| m.message_id);
                cache
                    .chats
                    .get(&chat_id)
                    .map(|chat| chat.last_message_id.max(newest.unwrap_or(0)))
            })
            .await;
        let up_to = match known {
            Ok(Some(up_to)) => up_to,
            Ok(None) => return unknown_chat(chat_id),
            Err(err) => return Reply::from_error(&err),
        };
        if up_to == 0 {
            return Reply::invalid_state(format!("chat {chat_id} has no messages to read"));
        }
        // The person opens the chat and reads to its newest message (§7.8).
        match session.call(move |c, _| c.mark_read(chat_id, up_to)).await {
            Ok(Ok(())) => Reply::ok(),
            Ok(Err(err)) => Reply::from_error(&err.into()),
            Err(err) => Reply::from_error(&err),
        }
    }

    async fn history(&mut self, chat_id: u64) -> Reply {
        let linked = match self.live() {
            Ok(linked) => linked,
            Err(reply) => return reply,
        };
        let session = linked.session();
        let held = session
            .call(move |c, _| {
                let cache = c.cache();
                cache.chats.contains_key(&chat_id).then(|| {
                    let oldest = cache.messages_of(chat_id).first().map(|m| m.message_id);
                    (
                        oldest.unwrap_or(0),
                        cache.older_history.get(&chat_id).copied(),
                    )
                })
            })
            .await;
        let before = match held {
            Ok(Some((_, Some(false)))) => {
                return Reply::invalid_state(format!(
                    "chat {chat_id} has no older messages (the phone said so)"
                ));
            }
            Ok(Some((before, _))) => before,
            Ok(None) => return unknown_chat(chat_id),
            Err(err) => return Reply::from_error(&err),
        };
        // The person scrolls up: one page older than the oldest held (§7.7).
        match session
            .call(move |c, _| c.request_history(chat_id, before, HISTORY_PAGE))
            .await
        {
            Ok(Ok(_)) => Reply::ok(),
            Ok(Err(err)) => Reply::from_error(&err.into()),
            Err(err) => Reply::from_error(&err),
        }
    }

    async fn send_file(&mut self, chat_id: u64, path: &std::path::Path) -> Option<Reply> {
        let linked = match self.live() {
            Ok(linked) => linked,
            Err(reply) => return Some(reply),
        };
        match Upload::start(linked.session(), chat_id, path).await {
            Ok(upload) => {
                self.pending = Some(Pending::Upload {
                    upload,
                    deadline: Instant::now() + TRANSFER_WITHIN,
                });
                None
            }
            Err(err) => Some(Reply::from_error(&err)),
        }
    }

    async fn fetch(&mut self, media_id: [u8; 32], path: &std::path::Path) -> Option<Reply> {
        let linked = match self.live() {
            Ok(linked) => linked,
            Err(reply) => return Some(reply),
        };
        match Fetch::start(linked.session(), media_id, path).await {
            Ok(fetch) => {
                self.pending = Some(Pending::Fetch {
                    fetch: Box::new(fetch),
                    deadline: Instant::now() + TRANSFER_WITHIN,
                });
                None
            }
            Err(err) => Some(Reply::from_error(&err)),
        }
    }

    async fn received(&self) -> Reply {
        let messages = match &self.phase {
            Phase::Linked(linked) => match linked.received().await {
                Ok(messages) => messages,
                Err(err) => return Reply::from_error(&err),
            },
            Phase::Idle | Phase::Pairing(_) => Vec::new(),
        };
        match serde_json::to_string(&messages) {
            Ok(json) => Reply::ok_with(json),
            Err(err) => Reply::err("failed", err.to_string()),
        }
    }

    async fn unlink(&mut self) -> Reply {
        let linked = match self.linked() {
            Ok(linked) => linked,
            Err(reply) => return reply,
        };
        // As `tandem-web unlink`: wiped before `Unlink` leaves ([DEV-07]);
        // `unlinked` follows from the core.
        match linked.session().unlink().await {
            Ok(_) => Reply::ok(),
            Err(err) => Reply::from_error(&err),
        }
    }

    fn status(&self) -> Value {
        match &self.phase {
            Phase::Linked(linked) => linked.status(),
            Phase::Idle | Phase::Pairing(_) => not_linked_status(),
        }
    }

    // ---- Reports from the connection ----------------------------------

    async fn report(&mut self, report: Report) -> Result<(), WebError> {
        match report {
            Report::Pairing(Some(event)) => self.pairing(event).await,
            Report::Pairing(None) => {
                // The driver is gone without a word: as a stop.
                self.pairing(DriverEvent::Stopped).await
            }
            Report::Session(Some(event)) => self.session(event).await,
            Report::Session(None) => {
                if let Some(pending) = self.pending.take() {
                    self.reply(pending_failed(
                        &pending,
                        "the connection to the phone stopped",
                    ))?;
                }
                self.end_session().await;
                Ok(())
            }
        }
    }

    async fn pairing(&mut self, event: DriverEvent<PairingEvent>) -> Result<(), WebError> {
        let Phase::Pairing(run) = &mut self.phase else {
            return Ok(());
        };
        let outcome = run.apply(event);
        let over = run.is_over();
        let answering = matches!(self.pending, Some(Pending::ShowQr { .. }));
        match outcome {
            Outcome::Code { text, number } => {
                if answering {
                    self.pending = None;
                    self.reply(Reply::ok_with(text))?;
                } else {
                    // [QR-07] a new code after the last expired.
                    self.emit(events::qr(&text, number))?;
                }
            }
            Outcome::CheckCode {
                digits,
                account_name,
            } => self.emit(events::check_code(&digits, &account_name))?,
            Outcome::Linked(link) => {
                self.emit(events::linked(
                    &link.credentials.account_name,
                    &link.device_id().replace(' ', ""),
                ))?;
            }
            Outcome::Failed { code, message } => {
                if answering {
                    self.pending = None;
                    self.reply(Reply::err(code_word(code), message))?;
                } else {
                    self.emit(events::pairing_failed(code, &message))?;
                }
            }
            Outcome::Nothing => {}
        }
        if over {
            let phase = std::mem::replace(&mut self.phase, Phase::Idle);
            if let Phase::Pairing(run) = phase {
                run.close().await;
            }
            // Linked: from now on the companion of `watch` and `chat`.
            if self.state.link()?.is_some() {
                self.open_session()?;
            }
        }
        Ok(())
    }

    async fn session(&mut self, event: Event) -> Result<(), WebError> {
        let Phase::Linked(linked) = &mut self.phase else {
            return Ok(());
        };
        let shown = linked.on_event(&event).await?;
        let wiped = !linked.is_linked();
        for event in shown {
            self.emit(event)?;
        }
        if wiped && self.wiped_deadline.is_none() {
            self.wiped_deadline = Some(Instant::now() + UNLINK_CONFIRM);
        }
        if let DriverEvent::Machine(event) = &event {
            self.follow_transfer(event).await?;
        }
        Ok(())
    }

    /// Hands a report to the `send-file` or `fetch` waiting for it.
    async fn follow_transfer(
        &mut self,
        event: &tandem_proto::companion::CompanionEvent,
    ) -> Result<(), WebError> {
        let reply = match &mut self.pending {
            Some(Pending::Upload { upload, .. }) => match upload.on_event(event) {
                None => return Ok(()),
                Some(Err(err)) => Reply::from_error(&err),
                Some(Ok((chat_id, body))) => match self.linked() {
                    Ok(linked) => match linked.session().send(chat_id, body).await {
                        Ok(client_id) => Reply::ok_with(hex::encode(client_id)),
                        Err(err) => Reply::from_error(&err),
                    },
                    Err(reply) => reply,
                },
            },
            Some(Pending::Fetch { fetch, .. }) => match fetch.on_event(event) {
                Ok(None) => return Ok(()),
                Ok(Some(size)) => match self.pending.take() {
                    Some(Pending::Fetch { fetch, .. }) => fetch.finish(size),
                    _ => return Ok(()),
                },
                Err(err) => Reply::from_error(&err),
            },
            Some(Pending::ShowQr { .. }) | None => return Ok(()),
        };
        self.pending = None;
        self.reply(reply)
    }

    async fn deadline_passed(&mut self) -> Result<(), WebError> {
        let now = Instant::now();
        if let Some(pending) = self.pending.take_if(|p| p.deadline() <= now) {
            self.reply(pending_failed(&pending, "no answer in time"))?;
            if let Pending::ShowQr { .. } = pending {
                let phase = std::mem::replace(&mut self.phase, Phase::Idle);
                if let Phase::Pairing(run) = phase {
                    run.close().await;
                }
            }
        }
        if self.wiped_deadline.is_some_and(|at| at <= now) {
            // The phone did not confirm the unlink: close here all the same.
            self.end_session().await;
        }
        Ok(())
    }

    /// Closes the session of a companion and goes back to not linked.
    async fn end_session(&mut self) {
        self.wiped_deadline = None;
        let phase = std::mem::replace(&mut self.phase, Phase::Idle);
        if let Phase::Linked(linked) = phase
            && let Err(err) = linked.close().await
        {
            tracing::warn!(%err, "closing the session");
        }
    }

    /// Closes whatever connection is open, as a quit does.
    async fn close(&mut self) {
        // A download not finished leaves nothing behind.
        self.pending = None;
        let phase = std::mem::replace(&mut self.phase, Phase::Idle);
        let closing = async {
            match phase {
                Phase::Idle => {}
                Phase::Pairing(run) => run.close().await,
                Phase::Linked(linked) => {
                    if let Err(err) = linked.close().await {
                        tracing::warn!(%err, "closing the session");
                    }
                }
            }
        };
        if tokio::time::timeout(CLOSE_WITHIN, closing).await.is_err() {
            tracing::warn!("closing took too long; leaving");
        }
    }
}

/// The answer to a waiting request that cannot finish.
fn pending_failed(pending: &Pending, why: &str) -> Reply {
    let what = match pending {
        Pending::ShowQr { .. } => "no pairing channel from the relay",
        Pending::Upload { .. } => "the upload did not finish",
        Pending::Fetch { .. } => "the download did not finish",
    };
    Reply::err("failed", format!("{what}: {why}"))
}

fn unknown_chat(chat_id: u64) -> Reply {
    Reply::err(
        "unknown_chat",
        format!("no chat {chat_id} in what the phone synced"),
    )
}

async fn next_report(phase: &mut Phase) -> Report {
    match phase {
        Phase::Idle => std::future::pending().await,
        Phase::Pairing(run) => Report::Pairing(run.recv().await),
        Phase::Linked(linked) => Report::Session(linked.recv().await),
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
