//! Linked companions, the revoked list and cursors (spec §9.2, §9.3,
//! [SYNC-16]): linking and revoking are one transaction each, so that a
//! revoked key can never come back after a crash ([DEV-05]).

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use tandem_proto::PublicKey;
use tandem_proto::store::{CompanionRecord, KeyStatus, StoreError};

use super::convert::{damaged, db, from_sql, to_sql};

const COLUMNS: &str = "key, device_name, linked_at_ms, last_seen_ms, cursor";

fn record(row: &rusqlite::Row<'_>) -> rusqlite::Result<(Vec<u8>, String, i64, i64, i64)> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
    ))
}

fn checked(raw: (Vec<u8>, String, i64, i64, i64)) -> Result<CompanionRecord, StoreError> {
    let (key, device_name, linked_at_ms, last_seen_ms, cursor) = raw;
    let key = <[u8; 32]>::try_from(key).map_err(|_| damaged("companion key"))?;
    Ok(CompanionRecord {
        key: PublicKey(key),
        device_name,
        linked_at_ms: from_sql(linked_at_ms),
        last_seen_ms: from_sql(last_seen_ms),
        cursor: from_sql(cursor),
    })
}

pub(crate) fn key_status(conn: &Connection, key: &PublicKey) -> Result<KeyStatus, StoreError> {
    let linked = conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM companions WHERE key = ?1"))
        .map_err(db)?
        .query_row([&key.0[..]], record)
        .optional()
        .map_err(db)?;
    if let Some(raw) = linked {
        return Ok(KeyStatus::Linked(checked(raw)?));
    }
    let revoked = conn
        .prepare_cached("SELECT 1 FROM revoked WHERE key = ?1")
        .map_err(db)?
        .exists([&key.0[..]])
        .map_err(db)?;
    Ok(if revoked {
        KeyStatus::Revoked
    } else {
        KeyStatus::Unknown
    })
}

/// Every linked companion, by key.
pub(crate) fn companions(conn: &Connection) -> Result<Vec<CompanionRecord>, StoreError> {
    let mut statement = conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM companions ORDER BY key"))
        .map_err(db)?;
    let rows = statement.query_map([], record).map_err(db)?;
    let mut out = Vec::new();
    for row in rows {
        out.push(checked(row.map_err(db)?)?);
    }
    Ok(out)
}

/// [PAIR-07] The link is stored durably before `PairingComplete` is sent.
pub(crate) fn link(conn: &mut Connection, record: &CompanionRecord) -> Result<(), StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db)?;
    tx.execute("DELETE FROM revoked WHERE key = ?1", [&record.key.0[..]])
        .map_err(db)?;
    tx.execute(
        &format!("INSERT OR REPLACE INTO companions ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5)"),
        params![
            &record.key.0[..],
            record.device_name,
            to_sql(record.linked_at_ms),
            to_sql(record.last_seen_ms),
            to_sql(record.cursor),
        ],
    )
    .map_err(db)?;
    tx.commit().map_err(db)
}

/// [DEV-05] The link, its cursor and the key's place on the revoked list
/// change in one durable transaction. Returns whether it was linked.
pub(crate) fn revoke(conn: &mut Connection, key: &PublicKey) -> Result<bool, StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db)?;
    let removed = tx
        .execute("DELETE FROM companions WHERE key = ?1", [&key.0[..]])
        .map_err(db)?;
    tx.execute(
        "INSERT OR IGNORE INTO revoked (key) VALUES (?1)",
        [&key.0[..]],
    )
    .map_err(db)?;
    tx.commit().map_err(db)?;
    Ok(removed > 0)
}

/// [SYNC-16], [DEV-02]: the cursor and last-seen time, durably.
pub(crate) fn record_cursor(
    conn: &Connection,
    key: &PublicKey,
    cursor: u64,
    seen_ms: u64,
) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE companions SET cursor = ?2, last_seen_ms = ?3 WHERE key = ?1")
        .map_err(db)?
        .execute(params![&key.0[..], to_sql(cursor), to_sql(seen_ms)])
        .map_err(db)?;
    Ok(())
}
