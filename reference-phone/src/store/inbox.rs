//! The inbox: messages "from the wider network" that `tandem-phone inject`
//! hands to the one writer of the event log (spec §7.4: seqs without gaps
//! need a single writer). A row is deleted in the same transaction as the
//! events it became, so each is applied exactly once across crashes.

use rusqlite::{Connection, params};
use tandem_proto::store::StoreError;

use super::convert::{db, from_sql, to_sql};

/// One message waiting in the inbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InboxMessage {
    /// The row id; the commit that applies it deletes it.
    pub id: i64,
    /// The contact it comes from.
    pub contact_id: u64,
    /// Its text.
    pub text: String,
    /// When it was injected, Unix milliseconds.
    pub received_ms: u64,
}

/// Adds a message durably; returns its row id.
pub(crate) fn push(
    conn: &Connection,
    contact_id: u64,
    text: &str,
    received_ms: u64,
) -> Result<i64, StoreError> {
    conn.prepare_cached("INSERT INTO inbox (contact_id, text, received_ms) VALUES (?1, ?2, ?3)")
        .map_err(db)?
        .execute(params![to_sql(contact_id), text, to_sql(received_ms)])
        .map_err(db)?;
    Ok(conn.last_insert_rowid())
}

/// The oldest `limit` waiting messages, in arrival order.
pub(crate) fn pending(conn: &Connection, limit: usize) -> Result<Vec<InboxMessage>, StoreError> {
    let mut statement = conn
        .prepare_cached("SELECT id, contact_id, text, received_ms FROM inbox ORDER BY id LIMIT ?1")
        .map_err(db)?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = statement
        .query_map([limit], |r| {
            Ok(InboxMessage {
                id: r.get(0)?,
                contact_id: from_sql(r.get(1)?),
                text: r.get(2)?,
                received_ms: from_sql(r.get(3)?),
            })
        })
        .map_err(db)?;
    rows.collect::<Result<_, _>>().map_err(db)
}

/// Drops a message that cannot be applied (its contact is gone).
pub(crate) fn drop_message(conn: &Connection, id: i64) -> Result<(), StoreError> {
    conn.execute("DELETE FROM inbox WHERE id = ?1", [id])
        .map_err(db)?;
    Ok(())
}
