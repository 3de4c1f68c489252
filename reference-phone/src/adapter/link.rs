//! Linking as the person does it (spec §4.1, §4.5, [PAIR-04], [PAIR-06]):
//! a scanned code goes to the serving loop's own link command, the check
//! code is shown as an event, and nothing is stored before `confirm`.

use tandem_codec::qr::QrPayload;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::events;
use super::output::Response;
use super::session::{ANSWER_WITHIN, Session};
use crate::commands::is_loopback;
use crate::control::protocol::Reply;
use crate::control::server::{Command, LinkUpdate};
use crate::serve::same_relay;

/// Who scanned the code that waits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Origin {
    /// A `link` request, which is answered when the link starts.
    Request,
    /// `--qr` at start, which no request answers (§12.5.1 `{qr_payload}`).
    Start,
}

/// A scanned code waiting for the phone to be reachable on the relay, as
/// a person waits for the phone to show that it is online.
#[derive(Debug)]
struct Waiting {
    text: String,
    origin: Origin,
    deadline: Instant,
}

/// The adapter's side of pairing.
#[derive(Debug, Default)]
pub(crate) struct Pairing {
    /// Progress of the link this adapter started.
    updates: Option<mpsc::Receiver<LinkUpdate>>,
    /// The pairing link that waits for the person's answer.
    confirm: Option<u32>,
    waiting: Option<Waiting>,
}

impl Pairing {
    /// Whether a `link` request waits for its answer.
    pub(crate) fn answer_owed(&self) -> bool {
        self.waiting
            .as_ref()
            .is_some_and(|w| w.origin == Origin::Request)
    }

    /// Whether a scanned code waits for the route.
    pub(crate) fn waiting(&self) -> bool {
        self.waiting.is_some()
    }

    /// When the waiting code gives up.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.waiting.as_ref().map(|w| w.deadline)
    }

    /// The next progress report of the link started here; pending when
    /// there is none.
    pub(crate) async fn next_update(&mut self) -> LinkUpdate {
        let Some(updates) = self.updates.as_mut() else {
            return std::future::pending().await;
        };
        match updates.recv().await {
            Some(update) => update,
            None => {
                self.updates = None;
                std::future::pending().await
            }
        }
    }
}

/// Why a scanned code did not start a link.
struct Refused {
    /// The `err` code word.
    word: String,
    /// The protocol code, 0 when refused before anything was sent.
    code: u16,
    message: String,
}

impl Refused {
    fn new(word: impl Into<String>, code: u16, message: impl std::fmt::Display) -> Self {
        Self {
            word: word.into(),
            code,
            message: message.to_string(),
        }
    }

    fn response(&self) -> Response {
        Response::err(self.word.clone(), &self.message)
    }

    /// For a code scanned at start, which has no response to carry it.
    fn event(&self) -> serde_json::Value {
        events::pairing_failed(self.code, &self.word, &self.message)
    }
}

impl Session {
    /// `link <text>`: `None` while the answer waits for the route.
    pub(super) async fn link(&mut self, text: String) -> Option<Response> {
        if let Err(refused) = self.check_code_text(&text) {
            return Some(refused.response());
        }
        if !self.registered {
            self.wait_for_route(text, Origin::Request);
            return None;
        }
        Some(match self.start_link(text).await {
            Ok(()) => Response::ok(),
            Err(refused) => refused.response(),
        })
    }

    /// `--qr` at start: as `link`, with failures shown as events.
    pub(crate) async fn link_at_start(&mut self, text: String) {
        if let Err(refused) = self.check_code_text(&text) {
            self.out.event(&refused.event());
            return;
        }
        if self.registered {
            if let Err(refused) = self.start_link(text).await {
                self.out.event(&refused.event());
            }
        } else {
            self.wait_for_route(text, Origin::Start);
        }
    }

    /// The route is registered: the waiting code starts.
    pub(super) async fn start_waiting_link(&mut self) {
        let Some(waiting) = self.pairing.waiting.take() else {
            return;
        };
        let result = self.start_link(waiting.text).await;
        match (waiting.origin, result) {
            (Origin::Request, Ok(())) => self.out.respond(&Response::ok()),
            (Origin::Request, Err(refused)) => self.out.respond(&refused.response()),
            (Origin::Start, Ok(())) => {}
            (Origin::Start, Err(refused)) => self.out.event(&refused.event()),
        }
    }

    /// The route did not come in time for the waiting code.
    pub(crate) fn waiting_expired(&mut self) {
        let Some(waiting) = self.pairing.waiting.take() else {
            return;
        };
        let refused = Refused::new(
            "going_away",
            1001,
            "the phone is not connected to the relay",
        );
        match waiting.origin {
            Origin::Request => self.out.respond(&Response::err(
                "invalid_state",
                "the phone is not connected to the relay",
            )),
            Origin::Start => self.out.event(&refused.event()),
        }
    }

    /// Progress of the link started here: the check code to show.
    pub(crate) fn on_link_update(&mut self, update: LinkUpdate) {
        match update {
            LinkUpdate::Confirm {
                link_id,
                reply:
                    Reply::Confirm {
                        device_name,
                        device_id,
                        check_code,
                    },
            } => {
                self.pairing.confirm = Some(link_id);
                // [PAIR-04] the check code, with the companion's name.
                let event = events::check_code(&check_code, &device_name, &device_id);
                self.out.event(&event);
            }
            LinkUpdate::Confirm { link_id, reply } => {
                tracing::warn!(link_id, ?reply, "a confirmation without a prompt");
            }
            // The serving loop ends every link it started with exactly one
            // outcome ([PAIR-07], §4.6).
            LinkUpdate::Done(reply) => {
                self.pairing.updates = None;
                self.pairing.confirm = None;
                match reply {
                    Reply::Paired {
                        device_name,
                        device_id,
                    } => self.out.event(&events::linked(&device_id, &device_name)),
                    Reply::Failed { code, reason } => {
                        let code = tandem_codec::Code(code.unwrap_or(0));
                        let event = events::pairing_failed(code.0, &events::reason(code), &reason);
                        self.out.event(&event);
                    }
                    other => tracing::warn!(?other, "an unexpected link outcome"),
                }
            }
            LinkUpdate::Started => {}
        }
    }

    /// `confirm` and `decline` (§4.5).
    pub(super) async fn answer_link(&mut self, accept: bool) -> Response {
        let Some(link_id) = self.pairing.confirm.take() else {
            return Response::err("invalid_state", "no link waits for confirmation");
        };
        match self
            .commands
            .send(Command::Confirm { link_id, accept })
            .await
        {
            Ok(()) => Response::ok(),
            Err(_) => Response::err("failed", "the serving phone stopped"),
        }
    }

    /// What the phone checks before it joins a channel: the code reads
    /// ([QR-02]–[QR-05]), its relay is not plain off this machine
    /// ([TRN-08]), and it names the relay this phone serves on.
    fn check_code_text(&self, text: &str) -> Result<QrPayload, Refused> {
        let qr = QrPayload::from_text(text.trim())
            .map_err(|err| Refused::new(err.kind.as_str(), 0, err))?;
        let target = tandem_client::Target::parse(&qr.relay_url)
            .map_err(|err| Refused::new("invalid_value", 0, err))?;
        if !target.tls && !is_loopback(&target.host) {
            return Err(Refused::new(
                "failed",
                0,
                format!("the code names the unencrypted relay {}", qr.relay_url),
            ));
        }
        if !same_relay(&qr.relay_url, &self.relay) {
            return Err(Refused::new(
                "not_implemented",
                0,
                format!(
                    "the code is for relay {}; the adapter links only through {}",
                    qr.relay_url, self.relay
                ),
            ));
        }
        Ok(qr)
    }

    fn wait_for_route(&mut self, text: String, origin: Origin) {
        self.pairing.waiting = Some(Waiting {
            text,
            origin,
            deadline: Instant::now() + ANSWER_WITHIN,
        });
    }

    /// Hands the code to the serving loop, as `tandem-phone link` does
    /// through the control socket, and waits until it joined the channel.
    async fn start_link(&mut self, text: String) -> Result<(), Refused> {
        let (updates, mut progress) = mpsc::channel(4);
        let payload = text.trim().to_owned();
        if self
            .commands
            .send(Command::Link { payload, updates })
            .await
            .is_err()
        {
            return Err(Refused::new("failed", 0, "the serving phone stopped"));
        }
        match tokio::time::timeout(ANSWER_WITHIN, progress.recv()).await {
            Ok(Some(LinkUpdate::Started)) => {
                self.pairing.updates = Some(progress);
                self.pairing.confirm = None;
                Ok(())
            }
            Ok(Some(LinkUpdate::Done(Reply::Failed { code, reason }))) => Err(match code {
                Some(code) => {
                    let code = tandem_codec::Code(code);
                    Refused::new(events::reason(code), code.0, reason)
                }
                // Refused by the phone before anything was sent (a link
                // already in progress).
                None => Refused::new("invalid_state", 0, reason),
            }),
            Ok(other) => Err(Refused::new(
                "failed",
                0,
                format!("unexpected link progress {other:?}"),
            )),
            Err(_) => Err(Refused::new(
                "failed",
                0,
                "the serving phone did not start the link in time",
            )),
        }
    }
}
