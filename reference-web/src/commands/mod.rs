//! The companion's commands as library functions (spec §7 sync, §8 media,
//! §9.4 unlinking) over a connected [`Session`](crate::session::Session): the command line, the demo
//! and the tests all call these, so that each runs the same code.

mod chats;
mod download;
mod history;
mod send;
mod unlink;
mod upload;
mod watch;

pub use chats::chats;
pub use download::{Downloaded, download};
pub(crate) use download::{Partial, Received, Receiving};
pub use history::history;
pub use send::{SendOutcome, send, send_body, wait_for_answer};
pub use unlink::{Unlinked, unlink};
pub use upload::{UploadOptions, Uploaded, upload};
pub use watch::{watch, watch_line};

use crate::error::WebError;

/// Prints `value` as pretty JSON.
pub(crate) fn print_json<T: serde::Serialize>(
    console: &crate::console::Console,
    value: &T,
) -> Result<(), WebError> {
    let text = serde_json::to_string_pretty(value).map_err(|e| WebError::Invalid(e.to_string()))?;
    console.line(text);
    Ok(())
}
