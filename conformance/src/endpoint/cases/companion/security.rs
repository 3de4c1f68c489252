//! Security obligations of a companion under test that show on the wire
//! (spec §11.10): fresh random client ids and pairing secrets ([SEC-08]),
//! and a handshake with a low-order ephemeral key refused ([SEC-13]).

use std::collections::HashSet;

use crate::case::ensure;
use crate::endpoint::cases::companion::pairing::refuses_message_1;
use crate::endpoint::cases::companion::support::{live, next_send, send_text};
use crate::endpoint::cases::{EndpointCase, companion_case as c};
use crate::endpoint::faults::LOW_ORDER_EPHEMERAL;

/// The security cases.
pub(super) fn cases() -> Vec<EndpointCase> {
    vec![
        c(
            "SEC-08",
            1,
            &["SYNC-17"],
            "draws a fresh random client_id for every send: 8 sends, 8 distinct ids, none all zeros",
            |ctx| async move {
                let mut live = live(&ctx, 1, 1).await?;
                let head = live.model.head;
                let mut ids = HashSet::new();
                for n in 0..8 {
                    let id = send_text(&ctx, 1, &format!("random id {n}")).await?;
                    let send = next_send(&ctx, live.link(), head, "the Send of `send`").await?;
                    ensure(send.client_id == id, "the client id `send` answered", || hex::encode(send.client_id))?;
                    ensure(id != [0; 16] && ids.insert(id), "a new random client id [SEC-08]", || {
                        format!("{} again", hex::encode(id))
                    })?;
                }
                Ok(())
            },
        )
        .needs(&["pair", "reconnect", "sync", "send"]),
        c(
            "SEC-13",
            1,
            &["PAIR-11"],
            "ends the pairing handshake with handshake_failed when message 1 carries an all-zero (low-order) ephemeral key",
            |ctx| {
                refuses_message_1(ctx, |_| {}, |message| {
                    if let Some(ephemeral) = message.get_mut(..32) {
                        ephemeral.fill(0);
                    }
                })
            },
        )
        .needs(&["pair"])
        .faults(&[LOW_ORDER_EPHEMERAL]),
    ]
}
