//! One run of the adapter (spec §12.5): requests from standard input are
//! handled one at a time, in order ([CONF-07]), while the serving loop's
//! notices become events between the responses (§12.5.4).

use std::time::Duration;

use tandem_client::Handle;
use tandem_proto::primary::PrimaryEvent;
use tokio::sync::{mpsc, oneshot};

use super::events::{self, LogTail};
use super::input::Input;
use super::link::Pairing;
use super::output::{Output, Response};
use super::request::Request;
use crate::control::server::Command;
use crate::phone::Phone;
use crate::serve::Notice;

/// How long the adapter waits for the serving loop to answer; under
/// `ADAPTER_TIMEOUT` (10 s) so that the response still comes in time.
pub(crate) const ANSWER_WITHIN: Duration = Duration::from_secs(8);

/// The capabilities answer (§12.5.6).
pub(crate) const CAPABILITIES: &str = "adapter/1 primary pair link-image reconnect sync send \
                                       history read media devices inject restart";

/// What to do after a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flow {
    /// Go on reading.
    Continue,
    /// Stop serving and exit (`quit`, `restart`).
    Stop,
}

/// The adapter's state while it serves.
pub(crate) struct Session {
    pub(super) out: Output,
    /// The relay this phone serves on.
    pub(super) relay: String,
    /// Commands to the serving loop.
    pub(super) commands: mpsc::Sender<Command>,
    /// Reads from the primary.
    pub(super) handle: Handle<Phone>,
    /// Whether the route is registered (pairing goes over it).
    pub(super) registered: bool,
    /// The link in progress or waiting to start.
    pub(super) pairing: Pairing,
    tail: Option<LogTail>,
}

impl Session {
    /// A session over a serving loop that has started.
    pub(crate) async fn new(
        relay: String,
        commands: mpsc::Sender<Command>,
        handle: Handle<Phone>,
    ) -> Self {
        let tail = LogTail::at_head(&handle).await;
        Self {
            out: Output::default(),
            relay,
            commands,
            handle,
            registered: false,
            pairing: Pairing::default(),
            tail,
        }
    }

    /// Whether a request waits for its answer (a link waiting for the
    /// route): the next request is not read before it is answered.
    pub(crate) fn busy(&self) -> bool {
        self.pairing.answer_owed()
    }

    /// Whether standard output is gone.
    pub(crate) fn output_broken(&self) -> bool {
        self.out.is_broken()
    }

    /// One line of input: parsed, handled and answered.
    pub(crate) async fn on_input(&mut self, input: Input) -> Flow {
        let line = match input {
            Input::Line(line) => line,
            Input::TooLong => {
                let response = Response::err("bad_request", "the line is too long");
                self.out.respond(&response);
                return Flow::Continue;
            }
            Input::NotUtf8 => {
                let response = Response::err("bad_request", "the line is not UTF-8");
                self.out.respond(&response);
                return Flow::Continue;
            }
        };
        let request = match Request::parse(&line) {
            Ok(request) => request,
            Err(err) => {
                self.out.respond(&Response::err("bad_request", err));
                return Flow::Continue;
            }
        };
        let stop = matches!(request, Request::Quit | Request::Restart);
        if let Some(response) = self.handle_request(request).await {
            self.out.respond(&response);
        }
        self.show_news().await;
        if stop { Flow::Stop } else { Flow::Continue }
    }

    async fn handle_request(&mut self, request: Request) -> Option<Response> {
        Some(match request {
            Request::Capabilities => Response::ok_with(CAPABILITIES),
            Request::Link(text) => return self.link(text).await,
            Request::LinkImage(path) => match crate::qr_image::read_qr_png(&path) {
                Ok(text) => return self.link(text).await,
                Err(err) => Response::err("failed", err),
            },
            Request::Confirm => self.answer_link(true).await,
            Request::Decline => self.answer_link(false).await,
            Request::AddContact(name) => self.add_contact(name).await,
            Request::Inject { chat_id, text } => self.inject(chat_id, text).await,
            Request::Send { chat_id, text } => self.send(chat_id, text).await,
            Request::Received => self.received().await,
            Request::Devices => self.devices().await,
            Request::Revoke(device) => self.revoke(device).await,
            Request::Status => self.status().await,
            // [CONF-10] The connections close as on a person's quit, after
            // the answer.
            Request::Restart | Request::Quit => Response::ok(),
            Request::Unsupported(verb) => Response::err(
                "not_implemented",
                format!("`{verb}` is not a request this primary implements"),
            ),
        })
    }

    /// A notice of the serving loop: its events, then the messages it
    /// added or changed.
    pub(crate) async fn on_notice(&mut self, notice: Notice) {
        match &notice {
            Notice::Machine(PrimaryEvent::RouteRegistered) => self.registered = true,
            Notice::Machine(PrimaryEvent::ConnectionLost { .. }) | Notice::Disconnected { .. } => {
                self.registered = false;
            }
            _ => {}
        }
        if let Some(event) = events::from_notice(&notice) {
            self.out.event(&event);
        }
        if self.registered && self.pairing.waiting() {
            self.start_waiting_link().await;
        }
        if matches!(
            notice,
            Notice::Machine(PrimaryEvent::MessageSent(_)) | Notice::StoreChanged
        ) {
            self.show_news().await;
        }
    }

    /// `message` events for what the store's log gained.
    pub(crate) async fn show_news(&mut self) {
        let Some(tail) = self.tail.as_mut() else {
            return;
        };
        for message in tail.news(&self.handle).await {
            self.out.event(&events::message(&message));
        }
    }

    /// Sends a command to the serving loop and waits for its reply.
    pub(super) async fn ask<T>(
        &self,
        command: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, Response> {
        let (reply, answer) = oneshot::channel();
        let gone = || Response::err("failed", "the serving phone stopped");
        self.commands
            .send(command(reply))
            .await
            .map_err(|_| gone())?;
        match tokio::time::timeout(ANSWER_WITHIN, answer).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(_)) => Err(gone()),
            Err(_) => Err(Response::err(
                "failed",
                "the serving phone did not answer in time",
            )),
        }
    }

    /// Reads from the primary.
    pub(super) async fn read<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Phone) -> R + Send + 'static,
    ) -> Result<R, Response> {
        match tokio::time::timeout(ANSWER_WITHIN, self.handle.call(move |p, _| f(p))).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(_)) => Err(Response::err("failed", "the serving phone stopped")),
            Err(_) => Err(Response::err(
                "failed",
                "the serving phone did not answer in time",
            )),
        }
    }
}
