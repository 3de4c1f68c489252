//! `chats`: the chat list from the first sync (spec §7.3: most recently
//! active first, with unread counts), as lines or JSON.

use std::time::Duration;

use crate::commands::print_json;
use crate::console::Console;
use crate::error::WebError;
use crate::format::{ChatRow, chat_line};
use crate::session::Session;

/// Prints the chat list once synced.
pub async fn chats(
    session: &mut Session,
    console: &Console,
    json: bool,
    timeout: Duration,
) -> Result<(), WebError> {
    session.require_live(timeout, "the chat list").await?;
    let cache = session.cache().await?;
    let list = cache.chat_list();
    if json {
        let rows: Vec<ChatRow> = list.iter().map(|c| ChatRow::from(*c)).collect();
        return print_json(console, &rows);
    }
    if list.is_empty() {
        console.line("No chats.");
    }
    for chat in list {
        console.line(chat_line(&cache, chat));
    }
    Ok(())
}
