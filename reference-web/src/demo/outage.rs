//! The demo's lost connection (spec §5.4, §7.2, §7.6): sends flow, the wire is
//! cut, more are typed and received meanwhile; after the resume every message
//! is counted on both sides, exactly once.

use std::collections::{BTreeMap, BTreeSet};

use tandem_client::DriverEvent;
use tandem_codec::session::Body;
use tandem_proto::companion::{Cache, CompanionEvent};

use super::proxy::Proxy;
use super::stack::Phone;
use super::summary::Summary;
use super::{Demo, follow};
use crate::error::WebError;
use crate::lookup;
use crate::session::Session;

/// Sends in the burst.
const BURST: usize = 10;
/// The send after which the wire is cut.
const CUT_AFTER: usize = 5;
/// Messages the phone receives while the companion is cut off.
const INCOMING: usize = 3;

/// Runs the outage and checks the outcome.
pub(super) async fn run(
    demo: &Demo,
    session: &mut Session,
    proxy: &Proxy,
    phone: &Phone,
    summary: &mut Summary,
) -> Result<(), WebError> {
    let cache = session.cache().await?;
    let echo = lookup::chat(&cache, "Echo")?;
    let ada = lookup::chat(&cache, "Ada Lovelace")?;
    let contact = |chat: u64| cache.chats.get(&chat).map_or(0, |c| c.contact_id);
    let (echo_contact, ada_contact) = (contact(echo), contact(ada));
    let texts: Vec<String> = (1..=BURST)
        .map(|i| format!("burst {i} of {BURST}"))
        .collect();
    let incoming: Vec<String> = (1..=INCOMING)
        .map(|i| format!("written while you were away ({i} of {INCOMING})"))
        .collect();
    let mut acked = BTreeSet::new();
    let mut ids = Vec::new();

    demo.narrator.line(format!(
        "Sending {BURST} messages to Echo; the wire is cut right after number {CUT_AFTER}, \
         before the phone's answers to the last ones come back."
    ));
    for (i, text) in texts.iter().enumerate() {
        ids.push(session.send(echo, Body::Text(text.clone())).await?);
        if i + 1 == 2 {
            // Let the first answers arrive, so that messages are flowing.
            follow(demo, session, |_, event| {
                note_ack(event, &mut acked);
                !acked.is_empty()
            })
            .await?;
        }
        if i + 1 == CUT_AFTER {
            proxy.cut();
            let unanswered = session.pending().await?.len();
            demo.narrator.line(format!(
                "✂ Connection cut by the demo: {unanswered} send(s) unanswered; the rest are \
                 typed while it is down."
            ));
        }
    }
    demo.narrator.line(format!(
        "While the companion is cut off, Ada Lovelace writes {INCOMING} messages to the phone."
    ));
    for text in &incoming {
        tandem_phone::commands::inject(&phone.state, "Ada Lovelace", text)
            .await
            .map_err(|err| WebError::Invalid(format!("the demo phone: {err}")))?;
    }
    let queued = session.state().queue()?.len();
    demo.narrator.line(format!(
        "{queued} send(s) wait in {}; the wire is back, the companion reconnects with backoff.",
        session.state().queue_path().display()
    ));
    proxy.restore();

    let mut snapshots = 0;
    let mut resumed = None;
    let replies: Vec<String> = texts.iter().map(|t| format!("echo: {t}")).collect();
    follow(demo, session, |cache, event| {
        note_ack(event, &mut acked);
        match event {
            DriverEvent::Machine(CompanionEvent::SnapshotStarted) => snapshots += 1,
            DriverEvent::Machine(CompanionEvent::SessionStarted) if resumed.is_none() => {
                resumed = Some(cache.seq);
            }
            _ => {}
        }
        let from_ada = counts(cache, ada, ada_contact);
        let echoes = counts(cache, echo, echo_contact);
        ids.iter().all(|id| acked.contains(id))
            && incoming.iter().all(|t| from_ada.contains_key(t))
            && replies.iter().all(|r| echoes.contains_key(r))
    })
    .await?;

    let cache = session.cache().await?;
    let sent_here = counts(&cache, echo, 0);
    let phone_rows = tandem_phone::commands::messages(&phone.state, "Echo", 1_000)
        .map_err(|err| WebError::Invalid(format!("the demo phone: {err}")))?;
    let on_phone = |text: &str| phone_rows.iter().filter(|m| m.text == text).count();
    let once_on_phone = texts.iter().filter(|t| on_phone(t) == 1).count();
    let once_here = texts
        .iter()
        .filter(|t| sent_here.get(*t) == Some(&1))
        .count();
    summary.check(
        &demo.narrator,
        resumed.is_some() && snapshots == 0,
        format!(
            "the companion reconnected and resumed from event {} with no snapshot",
            resumed.unwrap_or(0)
        ),
    );
    summary.check(
        &demo.narrator,
        once_on_phone == BURST && once_here == BURST,
        format!(
            "{BURST} sends: {once_on_phone} stored exactly once on the phone, {once_here} shown \
             exactly once here (none lost, none doubled)"
        ),
    );
    let from_ada = counts(&cache, ada, ada_contact);
    let incoming_once = incoming
        .iter()
        .filter(|t| from_ada.get(*t) == Some(&1))
        .count();
    summary.check(
        &demo.narrator,
        incoming_once == INCOMING,
        format!(
            "{incoming_once} of {INCOMING} messages written during the outage arrived, once each"
        ),
    );
    let echoes = counts(&cache, echo, echo_contact);
    let replies_once = replies
        .iter()
        .filter(|r| echoes.get(*r) == Some(&1))
        .count();
    summary.check(
        &demo.narrator,
        replies_once == BURST,
        format!("{replies_once} of {BURST} echo answers arrived, once each"),
    );
    let left = session.state().queue()?.len();
    summary.check(
        &demo.narrator,
        left == 0,
        format!("the queue in the state folder is empty ({left} left)"),
    );
    Ok(())
}

fn note_ack(event: &super::Event, acked: &mut BTreeSet<[u8; 16]>) {
    if let DriverEvent::Machine(CompanionEvent::SendAcked { client_id, .. }) = event {
        acked.insert(*client_id);
    }
}

/// How often each text occurs in a chat, from `sender` (0: this account).
fn counts(cache: &Cache, chat: u64, sender: u64) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for message in cache.messages_of(chat) {
        if let Body::Text(text) = &message.body
            && message.sender == sender
        {
            *counts.entry(text.clone()).or_insert(0) += 1;
        }
    }
    counts
}
