//! `history CHAT`: a chat's newest messages, from the snapshot and, for
//! older ones, `HistoryRequest` pages until enough arrived or the phone
//! says no more exist (spec §7.7, [SYNC-22]).

use std::time::Duration;

use tandem_proto::companion::CompanionEvent;
use tokio::time::Instant;

use crate::commands::print_json;
use crate::console::Console;
use crate::error::WebError;
use crate::format::{MessageRow, message_line};
use crate::lookup;
use crate::session::Session;
use tandem_client::DriverEvent;

/// Messages per history request (the spec allows 1 to 100).
const PAGE: u16 = 50;

/// Prints the newest `limit` messages of `chat`, oldest first.
pub async fn history(
    session: &mut Session,
    console: &Console,
    chat: &str,
    limit: usize,
    json: bool,
    timeout: Duration,
) -> Result<(), WebError> {
    session.require_live(timeout, "reading history").await?;
    let chat_id = lookup::chat(&session.cache().await?, chat)?;
    let deadline = Instant::now() + timeout;
    loop {
        let cache = session.cache().await?;
        let held = cache.messages_of(chat_id);
        let more = cache.older_history.get(&chat_id).copied().unwrap_or(true);
        if held.len() >= limit || !more {
            break;
        }
        let before = held.first().map_or(0, |m| m.message_id);
        let want = u16::try_from(limit - held.len()).unwrap_or(PAGE).min(PAGE);
        let request = session
            .call(move |c, _| c.request_history(chat_id, before, want))
            .await??;
        loop {
            let Some(event) = session.next_until(deadline).await? else {
                return Err(session.timed_out());
            };
            match event {
                DriverEvent::Machine(CompanionEvent::History { request_id, .. })
                    if request_id == request =>
                {
                    break;
                }
                // Relay errors (40xx) name a link id in `ref_id`.
                DriverEvent::Machine(CompanionEvent::RequestFailed { code, ref_id, .. })
                    if ref_id == request && code.0 >= 4200 =>
                {
                    return Err(WebError::Refused { code });
                }
                DriverEvent::Machine(CompanionEvent::SessionEnded { .. }) => {
                    // The request died with the session: ask again once live.
                    session.require_live(timeout, "reading history").await?;
                    break;
                }
                _ => {}
            }
        }
    }
    let cache = session.cache().await?;
    let held = cache.messages_of(chat_id);
    let skip = held.len().saturating_sub(limit);
    let shown = &held[skip..];
    if json {
        let rows: Vec<MessageRow> = shown.iter().map(|m| MessageRow::new(&cache, m)).collect();
        return print_json(console, &rows);
    }
    if shown.is_empty() {
        console.line("No messages.");
    }
    for message in shown {
        console.line(message_line(&cache, message));
    }
    Ok(())
}
