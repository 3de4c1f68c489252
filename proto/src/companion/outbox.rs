//! Sends waiting for the primary's answer (spec §7.6): kept in order until
//! a `SendAck` or `SendFailed` arrives, and sent again, with the same
//! client id, after every resume ([SYNC-19]). The driver persists it.

use tandem_codec::session::{Body, Send};

/// One send without an answer yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingSend {
    /// The id that makes retries idempotent.
    pub client_id: [u8; 16],
    /// The chat.
    pub chat_id: u64,
    /// What to send.
    pub body: Body,
}

impl PendingSend {
    pub(crate) fn frame(&self) -> Send {
        Send {
            client_id: self.client_id,
            chat_id: self.chat_id,
            body: self.body.clone(),
        }
    }
}

/// The queue of pending sends, oldest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outbox {
    pending: Vec<PendingSend>,
}

impl Outbox {
    /// The pending sends, oldest first.
    pub fn pending(&self) -> &[PendingSend] {
        &self.pending
    }

    pub(crate) fn push(&mut self, send: PendingSend) {
        self.pending.push(send);
    }

    pub(crate) fn restore(&mut self, pending: Vec<PendingSend>) {
        self.pending = pending;
    }

    /// Removes the send with this client id; returns it if it was pending.
    pub(crate) fn resolve(&mut self, client_id: &[u8; 16]) -> Option<PendingSend> {
        let at = self
            .pending
            .iter()
            .position(|p| &p.client_id == client_id)?;
        Some(self.pending.remove(at))
    }
}
