//! The reference relay (`tandem_relay::run`) started by the runner itself
//! (spec §12.6): in-process on 127.0.0.1 with the small limits and timers
//! of [`RelayParams::embedded`], one per case; and the same relay behind
//! the `relay-adapter` subcommand, which writes the `ready` line of
//! [CONF-12] so that the command-template path can be tested with it.

use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use tandem_relay::{RelayConfig, RouterConfig, RunError};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::case::Failure;
use crate::relay::launch::{Instance, Launcher, Stopped};
use crate::relay::params::RelayParams;
use crate::wirelog::Log;

/// The reference relay's configuration for declared values.
pub fn config(params: &RelayParams) -> RelayConfig {
    RelayConfig {
        router: RouterConfig {
            channel_ttl: params.channel_ttl,
            pairing_channel_max: params.pairing_channel_max,
            max_channels_per_connection: params.max_channels_per_connection,
            max_channels_per_address: params.max_channels_per_address,
            max_links_per_route: params.max_links_per_route,
            idle_timeout: params.idle_timeout,
            setup_timeout: params.setup_timeout,
        },
        max_connections: params.max_connections,
        send_queue_frames: params.send_queue_frames,
        send_queue_bytes: params.send_queue_bytes,
        close_timeout: Duration::from_secs(1),
        shutdown_grace: Duration::from_secs(3),
        ..RelayConfig::default()
    }
}

/// The reference relay in-process, one per case.
pub struct EmbeddedLauncher {
    /// What the relay declares (the runner checks against it).
    pub declared: RelayParams,
    /// What it runs with: the same, unless a test gives it a wrong value
    /// on purpose.
    pub config: RelayConfig,
    /// For the report.
    pub description: String,
}

impl EmbeddedLauncher {
    /// The reference relay with `params`.
    pub fn new(params: RelayParams) -> Self {
        Self {
            config: config(&params),
            declared: params,
            description: format!(
                "embedded reference relay (tandem-relay {})",
                env!("CARGO_PKG_VERSION")
            ),
        }
    }
}

/// A reference relay running in this process.
pub struct Embedded {
    url: String,
    params: RelayParams,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), RunError>>>,
}

impl Embedded {
    /// Binds 127.0.0.1:0 and runs the relay there.
    pub async fn start(config: RelayConfig, params: RelayParams) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(tandem_relay::run(listener, config, async move {
            let _ = stopped.await;
        }));
        Ok(Self {
            url: format!("ws://{address}/"),
            params,
            stop: Some(stop),
            task: Some(task),
        })
    }
}

impl Drop for Embedded {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

impl Instance for Embedded {
    fn url(&self) -> &str {
        &self.url
    }

    fn params(&self) -> &RelayParams {
        &self.params
    }

    fn stop(&mut self, timeout: Duration) -> BoxFuture<'_, Stopped> {
        Box::pin(async move {
            let asked = Instant::now();
            if let Some(stop) = self.stop.take() {
                let _ = stop.send(());
            }
            let Some(task) = self.task.as_mut() else {
                return Stopped::Exited(Some(0), asked.elapsed());
            };
            match tokio::time::timeout(timeout, task).await {
                Ok(Ok(Ok(()))) => {
                    self.task = None;
                    Stopped::Exited(Some(0), asked.elapsed())
                }
                Ok(_) => {
                    self.task = None;
                    Stopped::Exited(Some(1), asked.elapsed())
                }
                Err(_) => Stopped::StillRunning,
            }
        })
    }
}

impl Launcher for EmbeddedLauncher {
    fn describe(&self) -> String {
        self.description.clone()
    }

    fn owns_relays(&self) -> bool {
        true
    }

    fn params(&self) -> Option<RelayParams> {
        Some(self.declared.clone())
    }

    fn start<'a>(
        &'a self,
        _case_id: &'a str,
        log: &'a Log,
        _time_scale: f64,
    ) -> BoxFuture<'a, Result<Box<dyn Instance>, Failure>> {
        Box::pin(async move {
            let relay = Embedded::start(self.config.clone(), self.declared.clone())
                .await
                .map_err(|e| {
                    Failure::harness("the embedded relay to listen on 127.0.0.1", e.to_string())
                })?;
            log.note(format!(
                "embedded reference relay at {} ({})",
                relay.url,
                self.declared.ready_words()
            ));
            Ok(Box::new(relay) as Box<dyn Instance>)
        })
    }
}

/// The `relay-adapter` subcommand: runs the reference relay on `listen`
/// with `params`, writes `ready <url> NAME=VALUE ...` once it accepts
/// connections, and shuts down with 1001 on SIGTERM or SIGINT.
pub async fn serve_adapter(
    listen: std::net::SocketAddr,
    params: RelayParams,
) -> Result<(), String> {
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| format!("cannot handle SIGTERM: {e}"))?;
    let shutdown = async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    };
    let relay = tokio::spawn(tandem_relay::run(listener, config(&params), shutdown));
    // The listener is bound: connections are accepted from now on.
    let words = params.ready_words();
    println!("ready ws://{address}/ {words}");
    match relay.await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(e) => Err(e.to_string()),
    }
}
