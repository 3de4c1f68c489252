//! The command channel into a running driver: closures run on the machine
//! between its inputs, with the driver's time, then the outputs are drained
//! as the core's calling contract says (spec §7 sends, §9 revocations).

use tandem_proto::Instant;
use tokio::sync::{mpsc, oneshot};

use crate::error::DriverGone;

/// A closure to run on the machine.
pub(crate) type Job<M> = Box<dyn FnOnce(&mut M, Instant) + Send>;

/// What the driver is asked to do.
pub(crate) enum Request<M> {
    /// Run a closure on the machine.
    Run(Job<M>),
    /// Close the WebSocket and stop.
    Shutdown,
}

/// A cheap, cloneable handle on a running driver. When every handle is
/// dropped the driver shuts down.
pub struct Handle<M> {
    tx: mpsc::Sender<Request<M>>,
}

impl<M> Clone for Handle<M> {
    fn clone(&self) -> Self {
        Self {
            tx: self.tx.clone(),
        }
    }
}

impl<M: Send + 'static> Handle<M> {
    pub(crate) fn new(tx: mpsc::Sender<Request<M>>) -> Self {
        Self { tx }
    }

    /// Runs `f` on the machine and returns its result. Application actions
    /// (`send_message`, `link`, `revoke`, ...) go through here.
    pub async fn call<R, F>(&self, f: F) -> Result<R, DriverGone>
    where
        R: Send + 'static,
        F: FnOnce(&mut M, Instant) -> R + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: Job<M> = Box::new(move |machine, now| {
            // The caller may have stopped waiting; the job ran anyway.
            let _ = reply.send(f(machine, now));
        });
        self.tx
            .send(Request::Run(job))
            .await
            .map_err(|_| DriverGone)?;
        answer.await.map_err(|_| DriverGone)
    }

    /// Asks the driver to close the WebSocket (1000) and stop.
    pub async fn shutdown(&self) {
        // A driver that already stopped is as shut down as it gets.
        let _ = self.tx.send(Request::Shutdown).await;
    }

    /// Whether the driver has stopped.
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}
