//! What a relay case's script works with (spec §12.6): the relay's URL and
//! declared values, the case's wire log and seeded randomness, the time
//! allowances scaled by `--time-scale`, and the building blocks every case
//! shares: a registered primary with a real route proof (§3.4), an attached
//! companion (§3.5), a pairing channel (§3.3).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tandem_codec::envelope::{AttachRoute, EnvelopeFrame, RegisterRoute, RouteProof};
use tandem_proto::random::{Random, SeededRandom};
use tandem_proto::{StaticKeypair, route_proof};

use crate::case::Failure;
use crate::relay::launch::{Instance, Stopped};
use crate::relay::params::RelayParams;
use crate::relay::peer::{Connect, Peer};
use crate::relay::raw::RawClient;
use crate::runner::scaled;
use crate::wirelog::Log;

/// A case's context; cheap to clone.
#[derive(Clone)]
pub struct Ctx(Arc<Inner>);

struct Inner {
    url: String,
    params: RelayParams,
    log: Log,
    scale: f64,
    rng: Mutex<SeededRandom>,
    names: Mutex<HashMap<&'static str, usize>>,
    instance: tokio::sync::Mutex<Option<Box<dyn Instance>>>,
}

/// A registered primary and one attached companion.
pub struct Pair {
    /// The primary, registered.
    pub primary: Peer,
    /// The companion, attached.
    pub companion: Peer,
    /// The link id as the primary knows it (`LinkOpened`).
    pub primary_link: u32,
    /// The link id as the companion knows it (`RouteAttached`).
    pub companion_link: u32,
    /// The primary's identity.
    pub key: StaticKeypair,
}

impl Ctx {
    /// A context for one case against `instance`.
    pub fn new(instance: Box<dyn Instance>, log: Log, seed: u64, scale: f64) -> Self {
        Self(Arc::new(Inner {
            url: instance.url().to_owned(),
            params: instance.params().clone(),
            log,
            scale,
            rng: Mutex::new(SeededRandom::new(seed)),
            names: Mutex::new(HashMap::new()),
            instance: tokio::sync::Mutex::new(Some(instance)),
        }))
    }

    /// The relay's URL.
    pub fn url(&self) -> &str {
        &self.0.url
    }

    /// The relay's declared values.
    pub fn params(&self) -> &RelayParams {
        &self.0.params
    }

    /// The wire log.
    pub fn log(&self) -> &Log {
        &self.0.log
    }

    /// Records a note.
    pub fn note(&self, text: impl Into<String>) {
        self.0.log.note(text);
    }

    /// `--time-scale`.
    pub fn scale(&self) -> f64 {
        self.0.scale
    }

    /// `d` times the time scale.
    pub fn scaled(&self, d: Duration) -> Duration {
        scaled(d, self.0.scale)
    }

    /// How long the relay has to answer a request: 5 s.
    pub fn wait(&self) -> Duration {
        self.scaled(Duration::from_secs(5))
    }

    /// How long the runner watches before it concludes that nothing comes:
    /// 300 ms.
    pub fn quiet(&self) -> Duration {
        self.scaled(Duration::from_millis(300))
    }

    /// How late after a timer's value its effect may come: half the value,
    /// at least 1 s.
    pub fn slack(&self, timer: Duration) -> Duration {
        self.scaled((timer / 2).max(Duration::from_secs(1)))
    }

    /// How early a timer's effect may come, for clock granularity: 50 ms.
    pub fn early(&self) -> Duration {
        Duration::from_millis(50)
    }

    /// A new peer name: `primary-1`, `companion-2`, ...
    pub fn name(&self, role: &'static str) -> String {
        let mut names = self.0.names.lock().unwrap_or_else(PoisonError::into_inner);
        let n = names.entry(role).or_default();
        *n += 1;
        format!("{role}-{n}")
    }

    /// Seeded random bytes.
    pub fn bytes(&self, n: usize) -> Vec<u8> {
        let mut out = vec![0; n];
        self.0
            .rng
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .fill(&mut out);
        out
    }

    /// A seeded random `u64`.
    pub fn u64(&self) -> u64 {
        self.0
            .rng
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .next_u64()
    }

    /// A seeded random array.
    pub fn array<const N: usize>(&self) -> [u8; N] {
        let mut out = [0u8; N];
        self.0
            .rng
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .fill(&mut out);
        out
    }

    /// A seeded static key pair (a primary's identity).
    pub fn keypair(&self) -> StaticKeypair {
        StaticKeypair::from_private(self.array())
    }

    /// The interval of the automatic Pings during long waits: a third of
    /// `IDLE_TIMEOUT`.
    pub fn keepalive(&self) -> Duration {
        self.0.params.idle_timeout / 3
    }

    /// Connects a peer that offers `tandem.v1`.
    pub async fn connect(&self, role: &'static str) -> Result<Peer, Failure> {
        self.connect_with(role, Connect::default()).await
    }

    /// Connects a peer with other options.
    pub async fn connect_with(
        &self,
        role: &'static str,
        options: Connect,
    ) -> Result<Peer, Failure> {
        Peer::connect(
            self.name(role),
            &self.0.url,
            &self.0.log,
            options,
            Some(self.keepalive()),
        )
        .await
    }

    /// Opens a raw TCP connection.
    pub async fn raw(&self, role: &'static str) -> Result<RawClient, Failure> {
        RawClient::connect(self.name(role), &self.0.url, &self.0.log, self.array()).await
    }

    /// Registers `key`'s route on `peer` with a real proof (§3.4) and waits
    /// for `RouteRegistered`.
    pub async fn register(&self, peer: &mut Peer, key: &StaticKeypair) -> Result<(), Failure> {
        peer.send(RegisterRoute {
            primary_key: key.public().0,
        })
        .await?;
        let challenge = peer
            .expect(self.wait(), "RouteChallenge [RLY-07]", |f| match f {
                EnvelopeFrame::RouteChallenge(c) => Some(c.relay_ephemeral),
                _ => None,
            })
            .await?;
        let mac = route_proof::prove(key, &challenge).ok_or_else(|| {
            Failure::fail(
                "a RouteChallenge with a key that is not a low-order point",
                format!("relay_ephemeral {}", hex::encode(challenge)),
            )
        })?;
        peer.send(RouteProof { mac }).await?;
        peer.expect(
            self.wait(),
            "RouteRegistered after a valid RouteProof [RLY-08]",
            |f| matches!(f, EnvelopeFrame::RouteRegistered).then_some(()),
        )
        .await
    }

    /// A new connection that registers `key`'s route.
    pub async fn primary(&self, key: &StaticKeypair) -> Result<Peer, Failure> {
        let mut peer = self.connect("primary").await?;
        self.register(&mut peer, key).await?;
        Ok(peer)
    }

    /// Attaches `peer` to `primary_key`'s route; returns the link id and
    /// whether the primary is online.
    pub async fn attach(
        &self,
        peer: &mut Peer,
        primary_key: [u8; 32],
    ) -> Result<(u32, bool), Failure> {
        peer.send(AttachRoute { primary_key }).await?;
        peer.expect(self.wait(), "RouteAttached [RLY-11]", |f| match f {
            EnvelopeFrame::RouteAttached(a) => Some((a.link_id, a.primary_online)),
            _ => None,
        })
        .await
    }

    /// A new connection attached to `primary_key`'s route.
    pub async fn companion(&self, primary_key: [u8; 32]) -> Result<(Peer, u32, bool), Failure> {
        let mut peer = self.connect("companion").await?;
        let (link, online) = self.attach(&mut peer, primary_key).await?;
        Ok((peer, link, online))
    }

    /// Waits for `LinkOpened` on a primary.
    pub async fn link_opened(&self, primary: &mut Peer) -> Result<u32, Failure> {
        primary
            .expect(
                self.wait(),
                "LinkOpened for the companion that attached [RLY-13]",
                |f| match f {
                    EnvelopeFrame::LinkOpened(l) => Some(l.link_id),
                    _ => None,
                },
            )
            .await
    }

    /// A registered primary with one attached companion, each knowing the
    /// link.
    pub async fn pair(&self) -> Result<Pair, Failure> {
        let key = self.keypair();
        let mut primary = self.primary(&key).await?;
        let (companion, companion_link, online) = self.companion(key.public().0).await?;
        if !online {
            return Err(Failure::fail(
                "RouteAttached with primary_online = true while the primary holds the route",
                "primary_online = false",
            ));
        }
        let primary_link = self.link_opened(&mut primary).await?;
        Ok(Pair {
            primary,
            companion,
            primary_link,
            companion_link,
            key,
        })
    }

    /// Opens a pairing channel on `peer`: channel id, link id, `ttl_ms`.
    pub async fn open_channel(&self, peer: &mut Peer) -> Result<([u8; 16], u32, u32), Failure> {
        peer.send(EnvelopeFrame::OpenChannel).await?;
        peer.expect(self.wait(), "ChannelOpened [RLY-01]", |f| match f {
            EnvelopeFrame::ChannelOpened(o) => Some((o.channel_id, o.link_id, o.ttl_ms)),
            _ => None,
        })
        .await
    }

    /// Asks the relay to shut down and waits for it (§12.6).
    pub async fn stop_relay(&self, timeout: Duration) -> Stopped {
        let mut instance = self.0.instance.lock().await;
        match instance.as_mut() {
            Some(relay) => relay.stop(timeout).await,
            None => Stopped::StillRunning,
        }
    }

    /// The relay's standard error so far.
    pub async fn relay_stderr(&self) -> Option<String> {
        self.0
            .instance
            .lock()
            .await
            .as_ref()
            .and_then(|i| i.stderr())
    }

    /// The relay's `ready` line, when it is a command.
    pub async fn ready_line(&self) -> Option<String> {
        self.0
            .instance
            .lock()
            .await
            .as_ref()
            .and_then(|i| i.ready_line().map(str::to_owned))
    }

    /// Ends the relay instance (drops it).
    pub async fn release(&self) {
        self.0.instance.lock().await.take();
    }
}
