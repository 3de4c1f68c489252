//! Applying the inbox (spec §7.4): each waiting message becomes a
//! `MessageAdded` event through the primary, and its row is deleted in the
//! commit that appends the event, so a crash can neither lose nor double it.

use tandem_codec::Code;
use tandem_codec::limits::MAX_BODY;
use tandem_codec::session::{Body, Message};
use tandem_proto::{Error, Instant};

use crate::phone::Phone;

/// Rows applied per call.
const BATCH: usize = 64;

/// Applies waiting inbox messages; returns each applied row's id with
/// the message it became.
pub fn apply_inbox(phone: &mut Phone, now: Instant) -> Result<Vec<(i64, Message)>, Error> {
    let rows = phone
        .store()
        .inbox(BATCH)
        .map_err(|err| Error::Store(err.0))?;
    let mut applied = Vec::new();
    for row in rows {
        if row.text.is_empty() || row.text.len() > MAX_BODY {
            tracing::warn!(id = row.id, "dropping an inbox message of a bad length");
            phone
                .store()
                .drop_inbox(row.id)
                .map_err(|e| Error::Store(e.0))?;
            continue;
        }
        phone.store_mut().consume_inbox_on_next_commit(Some(row.id));
        let result = phone.receive_message(now, row.contact_id, Body::Text(row.text));
        phone.store_mut().consume_inbox_on_next_commit(None);
        match result {
            Ok(message) => applied.push((row.id, message)),
            Err(Error::Protocol { code, .. }) if code == Code::UNKNOWN_CHAT => {
                tracing::warn!(
                    id = row.id,
                    contact = row.contact_id,
                    "no such contact; dropped"
                );
                phone
                    .store()
                    .drop_inbox(row.id)
                    .map_err(|e| Error::Store(e.0))?;
            }
            Err(err) => return Err(err),
        }
    }
    Ok(applied)
}
