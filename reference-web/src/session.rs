//! A linked companion on `tandem-client`'s driver (spec §5, §7, [RECON-08]):
//! the send queue restored at start and written on every change ([SYNC-19]),
//! the state wiped when the phone revokes or forgets it ([RECON-07]).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tandem_client::{
    Clock, ConnectError, Driver, DriverConfig, DriverEvent, Events, Handle, TlsTransport,
};
use tandem_codec::Code;
use tandem_codec::session::Body;
use tandem_proto::Instant;
use tandem_proto::companion::{Cache, Companion, CompanionConfig, CompanionEvent, PendingSend};
use tandem_proto::faults::Faults;
use tandem_proto::random::OsRandom;
use tokio::time::Instant as TokioInstant;

use crate::error::WebError;
use crate::state::{Link, StateDir, StateLock, check_send};

/// One report from a session: the core's events and the connection's.
pub type Event = DriverEvent<CompanionEvent>;

/// How a session connects.
#[derive(Clone, Debug)]
pub struct SessionOptions {
    /// Where to connect, when not the stored relay (a proxy in the demo).
    pub connect_url: Option<String>,
    /// How long to wait for the relay and the phone before giving up.
    pub timeout: Duration,
    /// Extra CA certificates (PEM) to trust for a `wss://` relay (`--ca`).
    pub ca: Option<PathBuf>,
    /// Deliberate bugs for the conformance self-test (`adapter --fault`).
    #[doc(hidden)]
    pub faults: Faults,
}

impl Default for SessionOptions {
    fn default() -> Self {
        Self {
            connect_url: None,
            timeout: Duration::from_secs(20),
            ca: None,
            faults: Faults::default(),
        }
    }
}

/// The byte stream for `ws://` and `wss://` relays: the webpki roots, plus
/// the CA of `--ca` when given (spec §2.5, [TRN-09]).
pub(crate) fn transport(ca: Option<&std::path::Path>) -> Result<Arc<TlsTransport>, WebError> {
    TlsTransport::with_optional_ca(ca)
        .map(Arc::new)
        .map_err(|err| WebError::Invalid(err.to_string()))
}

/// What the session can do now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ready {
    /// Synced with the phone: the cache is current.
    Live,
    /// The relay says the phone is not connected.
    PhoneOffline,
}

/// A connected, linked companion.
pub struct Session {
    state: StateDir,
    link: Link,
    url: String,
    handle: Handle<Companion>,
    events: Events<CompanionEvent>,
    driver: Option<Driver<Companion>>,
    phone_online: Option<bool>,
    live: bool,
    wiped: Option<Code>,
    last_failure: Option<String>,
    _lock: StateLock,
}

impl Session {
    /// Connects the companion linked in `state`, with its queue restored.
    pub fn open(state: &StateDir, options: &SessionOptions) -> Result<Self, WebError> {
        let transport = transport(options.ca.as_deref())?;
        let lock = state.lock()?;
        let link = state.require_link()?;
        let queue = state.queue()?;
        let config = CompanionConfig {
            faults: options.faults,
            ..CompanionConfig::default()
        };
        let mut companion =
            Companion::new(config, link.credentials.clone(), Box::new(OsRandom::new()?));
        companion.restore_outbox(queue);
        let url = options
            .connect_url
            .clone()
            .unwrap_or_else(|| link.relay_url.clone());
        let config = DriverConfig::new(url.clone()).with_transport(transport);
        let (handle, events, driver) = tandem_client::spawn(companion, config, Clock::start());
        Ok(Self {
            state: state.clone(),
            link,
            url,
            handle,
            events,
            driver: Some(driver),
            phone_online: None,
            live: false,
            wiped: None,
            last_failure: None,
            _lock: lock,
        })
    }

    /// The stored link.
    pub fn link(&self) -> &Link {
        &self.link
    }

    /// The state folder.
    pub fn state(&self) -> &StateDir {
        &self.state
    }

    /// Whether the cache is current with the phone.
    pub fn is_live(&self) -> bool {
        self.live
    }

    /// What the relay last said of the phone.
    pub fn phone_online(&self) -> Option<bool> {
        self.phone_online
    }

    /// Why the companion was wiped, once it was ([RECON-07], [DEV-07]).
    pub fn wiped(&self) -> Option<Code> {
        self.wiped
    }

    /// The next report, after acting on it: the queue written on
    /// `OutboxChanged`, the state wiped on `Wiped`. `None` once the driver
    /// stopped.
    pub async fn next(&mut self) -> Result<Option<Event>, WebError> {
        let Some(event) = self.recv().await else {
            return Ok(None);
        };
        self.observe(&event).await?;
        Ok(Some(event))
    }

    /// The next report, not acted on yet; `None` once the driver stopped.
    /// Unlike [`Session::next`] it is cancel-safe (for `select!`): pass what
    /// it returns to [`Session::observe`] before using it.
    pub async fn recv(&mut self) -> Option<Event> {
        self.events.recv().await
    }

    /// Acts on a report from [`Session::recv`]: the queue written on
    /// `OutboxChanged`, the state wiped on `Wiped`.
    pub async fn observe(&mut self, event: &Event) -> Result<(), WebError> {
        match event {
            DriverEvent::Machine(CompanionEvent::PrimaryOnline(online)) => {
                self.phone_online = Some(*online);
                if !online {
                    self.live = false;
                }
            }
            DriverEvent::Machine(CompanionEvent::Synced { .. }) => self.live = true,
            DriverEvent::Machine(
                CompanionEvent::SessionEnded { .. } | CompanionEvent::ConnectionLost { .. },
            ) => self.live = false,
            DriverEvent::Machine(CompanionEvent::OutboxChanged) => self.persist().await?,
            DriverEvent::Machine(CompanionEvent::Wiped { code, .. }) => {
                // [RECON-07] wipe keys, pinned key and queue; the cache
                // lives in memory only and the core cleared it.
                self.wiped = Some(*code);
                self.live = false;
                self.state.wipe()?;
            }
            DriverEvent::Disconnected { reason, .. } => {
                self.live = false;
                self.phone_online = None;
                self.last_failure = Some(reason.clone());
            }
            DriverEvent::ConnectFailed { error, .. } => {
                self.last_failure = Some(error.to_string());
            }
            _ => {}
        }
        Ok(())
    }

    /// [`Session::next`] until `deadline`; `Ok(None)` when it passed.
    pub async fn next_until(&mut self, deadline: TokioInstant) -> Result<Option<Event>, WebError> {
        // The wait covers only the cancel-safe part: a report received is
        // always acted on.
        let event = match tokio::time::timeout_at(deadline, self.recv()).await {
            Ok(Some(event)) => event,
            Ok(None) => return Err(self.stopped()),
            Err(_) => return Ok(None),
        };
        self.observe(&event).await?;
        Ok(Some(event))
    }

    /// Waits until the session is live or the relay says the phone is
    /// away, up to `timeout`.
    pub async fn wait_ready(&mut self, timeout: Duration) -> Result<Ready, WebError> {
        let deadline = TokioInstant::now() + timeout;
        loop {
            if self.live {
                return Ok(Ready::Live);
            }
            if let Some(code) = self.wiped {
                return Err(WebError::Wiped { code });
            }
            let Some(event) = self.next_until(deadline).await? else {
                return Err(self.timed_out());
            };
            match event {
                DriverEvent::Machine(CompanionEvent::PrimaryOnline(false)) => {
                    return Ok(Ready::PhoneOffline);
                }
                // A refused certificate does not fix itself while we wait:
                // say what is wrong with it now ([TRN-09]).
                DriverEvent::ConnectFailed {
                    error: error @ ConnectError::Certificate { .. },
                    ..
                } => {
                    return Err(WebError::Relay {
                        url: self.url.clone(),
                        reason: error.to_string(),
                    });
                }
                _ => {}
            }
        }
    }

    /// Waits until the session is live, or fails saying why not.
    pub async fn require_live(&mut self, timeout: Duration, what: &str) -> Result<(), WebError> {
        match self.wait_ready(timeout).await? {
            Ready::Live => Ok(()),
            Ready::PhoneOffline => Err(WebError::PhoneOffline(format!(
                "the phone is not connected (the relay says so), and {what} needs it: \
                 this device stores no messages or media of its own"
            ))),
        }
    }

    /// The error for a wait that ran out.
    pub fn timed_out(&self) -> WebError {
        if let Some(code) = self.wiped {
            return WebError::Wiped { code };
        }
        match self.phone_online {
            Some(true) => WebError::Timeout("the phone did not answer in time".into()),
            Some(false) => WebError::PhoneOffline("the phone is not connected".into()),
            None => WebError::Relay {
                url: self.url.clone(),
                reason: self
                    .last_failure
                    .clone()
                    .unwrap_or_else(|| "no answer in time".into()),
            },
        }
    }

    fn stopped(&self) -> WebError {
        match self.wiped {
            Some(code) => WebError::Wiped { code },
            None => WebError::DriverGone,
        }
    }

    /// Runs `f` on the companion (between its inputs).
    pub async fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Companion, Instant) -> R + Send + 'static,
    ) -> Result<R, WebError> {
        Ok(self.handle.call(f).await?)
    }

    /// A copy of the synced state.
    pub async fn cache(&self) -> Result<Cache, WebError> {
        self.call(|c, _| c.cache().clone()).await
    }

    /// The sends without an answer, oldest first.
    pub async fn pending(&self) -> Result<Vec<PendingSend>, WebError> {
        self.call(|c, _| c.outbox().pending().to_vec()).await
    }

    /// Queues a message and writes the queue before the send can leave
    /// (the driver transmits only after this call returns), so that a
    /// crash at any point leaves it queued or answered, never lost.
    pub async fn send(&self, chat_id: u64, body: Body) -> Result<[u8; 16], WebError> {
        check_send([0; 16], chat_id, &body).map_err(WebError::Invalid)?;
        let state = self.state.clone();
        self.call(move |c, _| {
            let client_id = c.send_message(chat_id, body)?;
            state.save_queue(c.outbox().pending())?;
            Ok(client_id)
        })
        .await?
    }

    /// Unlinks (spec §9.4): the stored state is wiped before `Unlink`
    /// leaves ([DEV-07]); returns whether a session carried it.
    pub async fn unlink(&self) -> Result<bool, WebError> {
        let state = self.state.clone();
        self.call(move |c, _| {
            let live = c.is_live();
            c.unlink()?;
            state.wipe()?;
            Ok(live)
        })
        .await?
    }

    /// While live, waits up to `timeout` for the queue to empty; returns
    /// how many sends are still queued.
    pub async fn settle(&mut self, timeout: Duration) -> Result<usize, WebError> {
        let deadline = TokioInstant::now() + timeout;
        loop {
            let pending = self.pending().await?.len();
            if pending == 0 || !self.live {
                return Ok(pending);
            }
            if self.next_until(deadline).await?.is_none() {
                return Ok(pending);
            }
        }
    }

    /// Writes the queue as the core holds it now (or wipes, if it was).
    async fn persist(&self) -> Result<(), WebError> {
        let state = self.state.clone();
        match self
            .handle
            .call(move |c, _| {
                if c.is_wiped() {
                    state.wipe()
                } else {
                    state.save_queue(c.outbox().pending())
                }
            })
            .await
        {
            Ok(result) => result,
            // Stopped: `close` writes the final queue from the machine.
            Err(_) => Ok(()),
        }
    }

    /// Closes the connection and writes the final queue.
    pub async fn close(mut self) -> Result<(), WebError> {
        self.handle.shutdown().await;
        let mut result = Ok(());
        while let Some(event) = self.events.recv().await {
            if let DriverEvent::Machine(CompanionEvent::Wiped { code, .. }) = event {
                self.wiped = Some(code);
            }
        }
        if let Some(driver) = self.driver.take() {
            let companion = driver.join().await?;
            result = if companion.is_wiped() || self.wiped.is_some() {
                self.state.wipe()
            } else {
                self.state.save_queue(companion.outbox().pending())
            };
        }
        result
    }
}
