//! A loopback TCP proxy between the demo's companion and relay that drops
//! every connection at once and refuses new ones for a while: a real lost
//! connection (spec §2.4, §5.4).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{AbortHandle, JoinHandle};

use crate::error::WebError;

#[derive(Default)]
struct Shared {
    down: bool,
    live: Vec<AbortHandle>,
}

/// A running proxy.
pub(super) struct Proxy {
    /// `ws://` URL of the proxy.
    pub(super) url: String,
    shared: Arc<Mutex<Shared>>,
    task: JoinHandle<()>,
}

impl Proxy {
    /// Listens on an ephemeral loopback port and forwards to `upstream`.
    pub(super) async fn start(upstream: SocketAddr) -> Result<Self, WebError> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(WebError::io("127.0.0.1:0"))?;
        let address = listener.local_addr().map_err(WebError::io("proxy"))?;
        let shared = Arc::new(Mutex::new(Shared::default()));
        let task = tokio::spawn(accept_loop(listener, upstream, Arc::clone(&shared)));
        Ok(Self {
            url: format!("ws://{address}"),
            shared,
            task,
        })
    }

    fn with<R>(&self, f: impl FnOnce(&mut Shared) -> R) -> R {
        f(&mut self.shared.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Drops every connection and refuses new ones until [`Proxy::restore`].
    pub(super) fn cut(&self) {
        self.with(|shared| {
            shared.down = true;
            for connection in shared.live.drain(..) {
                connection.abort();
            }
        });
    }

    /// Accepts connections again.
    pub(super) fn restore(&self) {
        self.with(|shared| shared.down = false);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
        self.cut();
    }
}

async fn accept_loop(listener: TcpListener, upstream: SocketAddr, shared: Arc<Mutex<Shared>>) {
    while let Ok((client, _)) = listener.accept().await {
        let mut state = shared.lock().unwrap_or_else(PoisonError::into_inner);
        if state.down {
            // Refused: the client's WebSocket upgrade fails at once.
            drop(client);
            continue;
        }
        state.live.retain(|c| !c.is_finished());
        let task = tokio::spawn(forward(client, upstream));
        state.live.push(task.abort_handle());
    }
}

async fn forward(mut client: TcpStream, upstream: SocketAddr) {
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let _ = copy_bidirectional(&mut client, &mut server).await;
}
