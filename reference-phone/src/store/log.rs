//! The event log and the rows it announces (spec §7.3, §7.4, §7.6): reads
//! for snapshots and history, and the one-transaction commit that re-checks
//! seq continuity inside the transaction, so that no writer can leave a gap
//! or a repeat ([SYNC-10], [SYNC-11], [SYNC-17]).

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use tandem_codec::session::{Chat, Contact, EventBody, Message};
use tandem_proto::PublicKey;
use tandem_proto::store::{Commit, SendOutcome, StoreError};

use super::convert::{
    CHAT_COLUMNS, MESSAGE_COLUMNS, body_columns, chat, contact, db, decode_event, encode_event,
    from_sql, message, message_row, to_sql,
};

/// The meta key of the highest compacted seq.
const COMPACTED: &str = "compacted_through";

pub(crate) fn compacted_through(conn: &Connection) -> Result<u64, StoreError> {
    let value: Option<i64> = conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [COMPACTED], |r| {
            r.get(0)
        })
        .optional()
        .map_err(db)?;
    Ok(value.map_or(0, from_sql))
}

pub(crate) fn head(conn: &Connection) -> Result<u64, StoreError> {
    let max: Option<i64> = conn
        .query_row("SELECT max(seq) FROM events", [], |r| r.get(0))
        .map_err(db)?;
    match max {
        Some(seq) => Ok(from_sql(seq)),
        None => compacted_through(conn),
    }
}

pub(crate) fn events_after(
    conn: &Connection,
    after: u64,
    limit: usize,
) -> Result<Vec<(u64, EventBody)>, StoreError> {
    let mut statement = conn
        .prepare_cached("SELECT seq, frame FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2")
        .map_err(db)?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = statement
        .query_map(params![to_sql(after), limit], |r| {
            Ok((from_sql(r.get(0)?), r.get::<_, Vec<u8>>(1)?))
        })
        .map_err(db)?;
    let mut events = Vec::new();
    for row in rows {
        let (seq, frame) = row.map_err(db)?;
        events.push((seq, decode_event(seq, frame)?));
    }
    Ok(events)
}

pub(crate) fn max_message_id(conn: &Connection) -> Result<u64, StoreError> {
    let max: Option<i64> = conn
        .query_row("SELECT max(message_id) FROM messages", [], |r| r.get(0))
        .map_err(db)?;
    Ok(max.map_or(0, from_sql))
}

pub(crate) fn chats(conn: &Connection) -> Result<Vec<Chat>, StoreError> {
    let sql =
        format!("SELECT {CHAT_COLUMNS} FROM chats ORDER BY last_message_id DESC, chat_id ASC");
    let mut statement = conn.prepare_cached(&sql).map_err(db)?;
    let rows = statement.query_map([], chat).map_err(db)?;
    rows.collect::<Result<_, _>>().map_err(db)
}

pub(crate) fn chat_by_id(conn: &Connection, chat_id: u64) -> Result<Option<Chat>, StoreError> {
    let sql = format!("SELECT {CHAT_COLUMNS} FROM chats WHERE chat_id = ?1");
    conn.prepare_cached(&sql)
        .map_err(db)?
        .query_row([to_sql(chat_id)], chat)
        .optional()
        .map_err(db)
}

pub(crate) fn contacts(conn: &Connection) -> Result<Vec<Contact>, StoreError> {
    let mut statement = conn
        .prepare_cached("SELECT contact_id, name FROM contacts ORDER BY contact_id")
        .map_err(db)?;
    let rows = statement.query_map([], contact).map_err(db)?;
    rows.collect::<Result<_, _>>().map_err(db)
}

pub(crate) fn message_by_id(
    conn: &Connection,
    message_id: u64,
) -> Result<Option<Message>, StoreError> {
    let sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE message_id = ?1");
    let row = conn
        .prepare_cached(&sql)
        .map_err(db)?
        .query_row([to_sql(message_id)], message_row)
        .optional()
        .map_err(db)?;
    row.map(message).transpose()
}

/// The newest `limit` messages of a chat below `before` (0: no bound),
/// oldest first, and whether older ones exist ([SYNC-22]).
pub(crate) fn messages(
    conn: &Connection,
    chat_id: u64,
    before: u64,
    limit: usize,
) -> Result<(Vec<Message>, bool), StoreError> {
    // Ids are allocated below 2^63; a bound above every id is no bound.
    let bound = match i64::try_from(before) {
        Ok(0) | Err(_) => i64::MAX,
        Ok(before) => before,
    };
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages WHERE chat_id = ?1 AND message_id < ?2 \
         ORDER BY message_id DESC LIMIT ?3"
    );
    let mut statement = conn.prepare_cached(&sql).map_err(db)?;
    let fetch = i64::try_from(limit)
        .unwrap_or(i64::MAX - 1)
        .saturating_add(1);
    let rows = statement
        .query_map(params![to_sql(chat_id), bound, fetch], message_row)
        .map_err(db)?;
    let mut page = Vec::new();
    for row in rows {
        page.push(message(row.map_err(db)?)?);
    }
    let has_more = page.len() > limit;
    page.truncate(limit);
    page.reverse();
    Ok((page, has_more))
}

pub(crate) fn send_outcome(
    conn: &Connection,
    companion: &PublicKey,
    client_id: &[u8; 16],
) -> Result<Option<SendOutcome>, StoreError> {
    let row: Option<(Option<i64>, Option<i64>, Option<i64>)> = conn
        .prepare_cached(
            "SELECT message_id, seq, code FROM sends WHERE companion = ?1 AND client_id = ?2",
        )
        .map_err(db)?
        .query_row(params![&companion.0[..], &client_id[..]], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()
        .map_err(db)?;
    Ok(match row {
        None => None,
        Some((Some(message_id), Some(seq), None)) => Some(SendOutcome::Applied {
            message_id: from_sql(message_id),
            seq: from_sql(seq),
        }),
        Some((None, None, Some(code))) => Some(SendOutcome::Failed(tandem_codec::Code(
            u16::try_from(code).map_err(|_| super::convert::damaged("send code"))?,
        ))),
        Some(_) => return Err(super::convert::damaged("send outcome")),
    })
}

/// Applies a commit in one immediate transaction: the seqs are checked
/// against the head read inside it, so a concurrent writer cannot make a
/// gap or a repeat. `inbox` names an inbox row that this commit consumes.
pub(crate) fn commit(
    conn: &mut Connection,
    commit: Commit,
    inbox: Option<i64>,
    now_ms: u64,
) -> Result<(), StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db)?;
    let head = head(&tx)?;
    for (expected, (seq, _)) in (head + 1..).zip(&commit.events) {
        if *seq != expected {
            return Err(StoreError(format!("event seq {seq}, expected {expected}")));
        }
    }
    {
        let mut insert = tx
            .prepare_cached(
                "INSERT OR REPLACE INTO messages (message_id, chat_id, sender, timestamp_ms, \
                 status, body_kind, body_text, body_blob, media_id, media_size, media_mime, \
                 media_name, media_caption) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            )
            .map_err(db)?;
        for m in &commit.messages {
            let body = body_columns(&m.body);
            let media = body.media;
            insert
                .execute(params![
                    to_sql(m.message_id),
                    to_sql(m.chat_id),
                    to_sql(m.sender),
                    to_sql(m.timestamp_ms),
                    i64::from(m.status.as_u8()),
                    body.kind,
                    body.text,
                    body.blob,
                    media.map(|media| &media.media_id[..]),
                    media.map(|media| to_sql(media.size)),
                    media.map(|media| media.mime.as_str()),
                    media.map(|media| media.name.as_str()),
                    media.map(|media| media.caption.as_str()),
                ])
                .map_err(db)?;
        }
        let mut insert = tx
            .prepare_cached(&format!(
                "INSERT OR REPLACE INTO chats ({CHAT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5)"
            ))
            .map_err(db)?;
        for c in &commit.chats {
            insert
                .execute(params![
                    to_sql(c.chat_id),
                    to_sql(c.contact_id),
                    c.title,
                    i64::from(c.unread),
                    to_sql(c.last_message_id),
                ])
                .map_err(db)?;
        }
        let mut insert = tx
            .prepare_cached("INSERT OR REPLACE INTO contacts (contact_id, name) VALUES (?1, ?2)")
            .map_err(db)?;
        for c in &commit.contacts {
            insert
                .execute(params![to_sql(c.contact_id), c.name])
                .map_err(db)?;
        }
        let mut insert = tx
            .prepare_cached("INSERT INTO events (seq, frame) VALUES (?1, ?2)")
            .map_err(db)?;
        for (seq, body) in &commit.events {
            insert
                .execute(params![to_sql(*seq), encode_event(*seq, body)?])
                .map_err(db)?;
        }
    }
    if let Some((key, client_id, outcome)) = commit.send {
        let (message_id, seq, code) = match outcome {
            SendOutcome::Applied { message_id, seq } => {
                (Some(to_sql(message_id)), Some(to_sql(seq)), None)
            }
            SendOutcome::Failed(code) => (None, None, Some(i64::from(code.0))),
        };
        tx.prepare_cached(
            "INSERT OR REPLACE INTO sends (companion, client_id, message_id, seq, code, applied_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .map_err(db)?
        .execute(params![
            &key.0[..],
            &client_id[..],
            message_id,
            seq,
            code,
            to_sql(now_ms)
        ])
        .map_err(db)?;
    }
    if let Some(id) = inbox.filter(|_| !commit.events.is_empty()) {
        tx.execute("DELETE FROM inbox WHERE id = ?1", [id])
            .map_err(db)?;
    }
    tx.commit().map_err(db)
}

/// Drops every event up to and including `seq` (spec §7.5 compaction).
pub(crate) fn compact_through(conn: &mut Connection, seq: u64) -> Result<(), StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db)?;
    let through = compacted_through(&tx)?.max(seq);
    tx.execute("DELETE FROM events WHERE seq <= ?1", [to_sql(seq)])
        .map_err(db)?;
    tx.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
        params![COMPACTED, to_sql(through)],
    )
    .map_err(db)?;
    tx.commit().map_err(db)
}
