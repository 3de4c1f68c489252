//! The database schema and its migrations, versioned by `PRAGMA
//! user_version` and marked as Tandem's by `PRAGMA application_id`: the
//! tables behind the event log (spec §7.4), sends (§7.6), devices (§9) and
//! media (§8).

use rusqlite::{Connection, TransactionBehavior};

use super::error::OpenError;

/// `PRAGMA application_id` of a Tandem phone database ("TDMP").
pub const APPLICATION_ID: i32 = 0x5444_4D50;

/// The migrations, in order: `MIGRATIONS[n]` takes the schema from
/// version `n` to `n + 1`.
const MIGRATIONS: &[&str] = &[
    // Version 1: the tables.
    "
    CREATE TABLE meta (
        key TEXT PRIMARY KEY NOT NULL,
        value ANY NOT NULL
    ) STRICT;
    CREATE TABLE events (
        seq INTEGER PRIMARY KEY NOT NULL,
        frame BLOB NOT NULL
    ) STRICT;
    CREATE TABLE contacts (
        contact_id INTEGER PRIMARY KEY NOT NULL,
        name TEXT NOT NULL
    ) STRICT;
    CREATE TABLE chats (
        chat_id INTEGER PRIMARY KEY NOT NULL,
        contact_id INTEGER NOT NULL,
        title TEXT NOT NULL,
        unread INTEGER NOT NULL,
        last_message_id INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE messages (
        message_id INTEGER PRIMARY KEY NOT NULL,
        chat_id INTEGER NOT NULL,
        sender INTEGER NOT NULL,
        timestamp_ms INTEGER NOT NULL,
        status INTEGER NOT NULL,
        body_kind INTEGER NOT NULL,
        body_text TEXT,
        body_blob BLOB,
        media_id BLOB,
        media_size INTEGER,
        media_mime TEXT,
        media_name TEXT,
        media_caption TEXT
    ) STRICT;
    CREATE TABLE sends (
        companion BLOB NOT NULL,
        client_id BLOB NOT NULL,
        message_id INTEGER,
        seq INTEGER,
        code INTEGER,
        PRIMARY KEY (companion, client_id)
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE companions (
        key BLOB PRIMARY KEY NOT NULL,
        device_name TEXT NOT NULL,
        linked_at_ms INTEGER NOT NULL,
        last_seen_ms INTEGER NOT NULL,
        cursor INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE revoked (
        key BLOB PRIMARY KEY NOT NULL
    ) STRICT;
    CREATE TABLE media (
        media_id BLOB PRIMARY KEY NOT NULL,
        bytes INTEGER NOT NULL,
        complete INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE inbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        contact_id INTEGER NOT NULL,
        text TEXT NOT NULL,
        received_ms INTEGER NOT NULL
    ) STRICT;
    ",
    // Version 2: history pages by chat without a scan of every message
    // ([SYNC-22]), and when each send was applied, so that client ids can
    // be forgotten after `DEDUP_RETENTION` ([SYNC-21]).
    "
    CREATE INDEX messages_by_chat ON messages (chat_id, message_id);
    ALTER TABLE sends ADD COLUMN applied_ms INTEGER NOT NULL DEFAULT 0;
    ",
];

/// The schema version this build writes.
pub const LATEST: i64 = MIGRATIONS.len() as i64;

/// What a database file holds before migration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Found {
    /// An empty database (a new file): nothing of anyone's.
    Empty,
    /// A Tandem phone database at this version.
    Tandem(i64),
}

/// Reads the markers and tells what the file is. The first read of a file
/// that is not SQLite fails here.
pub(crate) fn inspect(conn: &Connection) -> rusqlite::Result<(i32, i64, i64)> {
    let application_id: i32 = conn.pragma_query_value(None, "application_id", |r| r.get(0))?;
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let objects: i64 = conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))?;
    Ok((application_id, version, objects))
}

/// Classifies a database from its markers.
pub(crate) fn classify(
    path: &std::path::Path,
    application_id: i32,
    version: i64,
    objects: i64,
) -> Result<Found, OpenError> {
    if application_id == 0 && version == 0 && objects == 0 {
        return Ok(Found::Empty);
    }
    if application_id != APPLICATION_ID {
        return Err(OpenError::Foreign {
            path: path.to_owned(),
            application_id,
        });
    }
    if version > LATEST {
        return Err(OpenError::TooNew {
            found: version,
            supported: LATEST,
        });
    }
    Ok(Found::Tandem(version))
}

/// Migrates from `from` up to `to`, each step in its own transaction with
/// its version number, so that a crash leaves a whole version behind.
pub(crate) fn migrate(conn: &mut Connection, from: i64, to: i64) -> rusqlite::Result<()> {
    for version in from..to.min(LATEST) {
        let Some(step) = usize::try_from(version)
            .ok()
            .and_then(|index| MIGRATIONS.get(index))
        else {
            break;
        };
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(step)?;
        tx.pragma_update(None, "application_id", APPLICATION_ID)?;
        tx.pragma_update(None, "user_version", version + 1)?;
        tx.commit()?;
    }
    Ok(())
}
