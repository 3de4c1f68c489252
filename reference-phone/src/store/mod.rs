//! The phone's durable store: the core's [`Store`] trait on SQLite (WAL,
//! `synchronous=FULL`: a commit is on disk before the core acknowledges
//! what it caused, [SYNC-10], [SYNC-17], [MEDIA-05]), with media files in
//! a content-addressed folder beside the database (spec §7, §8, §9).

mod convert;
mod devices;
mod error;
mod inbox;
mod log;
mod media;
mod schema;
#[cfg(test)]
mod tests;

use std::fs::OpenOptions;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, params};
use tandem_codec::session::{Chat, Contact, EventBody, Message};
use tandem_proto::PublicKey;
use tandem_proto::store::{
    Commit, CompanionRecord, KeyStatus, MediaState, SendOutcome, Store, StoreError,
};

pub use error::OpenError;
pub use inbox::InboxMessage;
pub use schema::{APPLICATION_ID, LATEST as SCHEMA_VERSION};

use convert::{db, from_sql, to_sql};
use media::MediaFolder;

/// Where a store keeps its database and its media.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StorePaths {
    /// The SQLite database.
    pub database: PathBuf,
    /// The content-addressed media folder.
    pub media: PathBuf,
}

impl StorePaths {
    /// `phone.sqlite3` and `media/` in `dir`.
    pub fn in_folder(dir: &Path) -> Self {
        Self {
            database: dir.join("phone.sqlite3"),
            media: dir.join("media"),
        }
    }
}

/// The account a store belongs to (sent in `PairInit`, spec §4.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// The account's name, for example the owner's.
    pub name: String,
    /// This phone's device name.
    pub device_name: String,
}

/// The phone's store on SQLite.
pub struct SqliteStore {
    conn: Connection,
    log_id: u64,
    media: MediaFolder,
    /// An inbox row that the next commit with events consumes.
    inbox_marker: Option<i64>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("log_id", &self.log_id)
            .field("media", &self.media.root())
            .finish_non_exhaustive()
    }
}

fn open_error(path: &Path, err: rusqlite::Error) -> OpenError {
    match err.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => OpenError::NotADatabase {
            path: path.to_owned(),
        },
        Some(ErrorCode::DatabaseCorrupt) => OpenError::Corrupt {
            path: path.to_owned(),
            detail: err.to_string(),
        },
        _ => OpenError::Sqlite(err),
    }
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> OpenError + '_ {
    move |source| OpenError::Io {
        path: path.to_owned(),
        source,
    }
}

fn now_ms() -> u64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
}

/// Creates a folder owner-only (0700), with its parents.
pub(crate) fn create_private_dir(path: &Path) -> Result<(), OpenError> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(io_error(path))
}

impl SqliteStore {
    /// Creates a new store with this log id (never 0, spec §1.5) and
    /// account. The database file is created owner-only (0600); SQLite
    /// gives its WAL the same mode.
    pub fn create(paths: &StorePaths, log_id: u64, account: &Account) -> Result<Self, OpenError> {
        let path = &paths.database;
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(|err| match err.kind() {
                std::io::ErrorKind::AlreadyExists => OpenError::AlreadyExists(path.clone()),
                _ => io_error(path)(err),
            })?;
        initialize(paths, log_id, account, schema::LATEST)?;
        Self::open(paths)
    }

    /// Opens an existing store, migrating an older schema. A missing,
    /// foreign, corrupt or newer database is a typed [`OpenError`].
    pub fn open(paths: &StorePaths) -> Result<Self, OpenError> {
        let path = &paths.database;
        if !path.exists() {
            return Err(OpenError::NotFound(path.clone()));
        }
        let mut conn = connect(path)?;
        let (application_id, version, objects) =
            schema::inspect(&conn).map_err(|err| open_error(path, err))?;
        let version = match schema::classify(path, application_id, version, objects)? {
            schema::Found::Empty => {
                return Err(OpenError::Inconsistent(format!(
                    "{} is an empty database",
                    path.display()
                )));
            }
            schema::Found::Tandem(version) => version,
        };
        quick_check(&conn, path)?;
        schema::migrate(&mut conn, version, schema::LATEST).map_err(|err| open_error(path, err))?;
        let log_id: Option<i64> = conn
            .query_row("SELECT value FROM meta WHERE key = 'log_id'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|err| open_error(path, err))?;
        let log_id = log_id
            .map(from_sql)
            .filter(|&id| id != 0)
            .ok_or_else(|| OpenError::Inconsistent("no log id".into()))?;
        let media = MediaFolder::new(paths.media.clone());
        create_private_dir(media.root())?;
        create_private_dir(media.partial_dir())?;
        media
            .recover(&conn)
            .map_err(|err| OpenError::Inconsistent(err.0))?;
        Ok(Self {
            conn,
            log_id,
            media,
            inbox_marker: None,
        })
    }

    /// The account this store belongs to.
    pub fn account(&self) -> Result<Account, StoreError> {
        let get = |key: &str| -> Result<String, StoreError> {
            self.conn
                .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
                .map_err(db)
        };
        Ok(Account {
            name: get("account_name")?,
            device_name: get("device_name")?,
        })
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(db)
    }

    /// Adds a message to the inbox durably (`tandem-phone inject`); the
    /// log's writer applies it. Returns its row id.
    pub fn push_inbox(&self, contact_id: u64, text: &str) -> Result<i64, StoreError> {
        inbox::push(&self.conn, contact_id, text, now_ms())
    }

    /// The oldest waiting inbox messages.
    pub fn inbox(&self, limit: usize) -> Result<Vec<InboxMessage>, StoreError> {
        inbox::pending(&self.conn, limit)
    }

    /// Drops an inbox message that cannot be applied.
    pub fn drop_inbox(&self, id: i64) -> Result<(), StoreError> {
        inbox::drop_message(&self.conn, id)
    }

    /// The next commit that appends events also deletes inbox row `id`, in
    /// the same transaction; `None` cancels.
    pub fn consume_inbox_on_next_commit(&mut self, id: Option<i64>) {
        self.inbox_marker = id;
    }

    /// Drops every event up to and including `seq` (spec §7.5); companions
    /// behind it resync from a snapshot ([SYNC-04]).
    pub fn compact_through(&mut self, seq: u64) -> Result<(), StoreError> {
        log::compact_through(&mut self.conn, seq)
    }

    /// Every message, oldest first (for inspection and checks).
    pub fn all_messages(&self) -> Result<Vec<Message>, StoreError> {
        let mut out = Vec::new();
        for chat in self.chats()? {
            let (messages, _) = self.messages(chat.chat_id, 0, usize::MAX >> 1)?;
            out.extend(messages);
        }
        out.sort_by_key(|m| m.message_id);
        Ok(out)
    }
}

/// Creates the schema up to `version` in the empty file at the path, with
/// the store's identity rows.
fn initialize(
    paths: &StorePaths,
    log_id: u64,
    account: &Account,
    version: i64,
) -> Result<(), OpenError> {
    let path = &paths.database;
    let mut conn = connect(path)?;
    let (application_id, found, objects) =
        schema::inspect(&conn).map_err(|err| open_error(path, err))?;
    if schema::classify(path, application_id, found, objects)? != schema::Found::Empty {
        return Err(OpenError::AlreadyExists(path.clone()));
    }
    schema::migrate(&mut conn, 0, version).map_err(|err| open_error(path, err))?;
    let tx = conn.transaction().map_err(OpenError::Sqlite)?;
    for (key, value) in [
        (
            "log_id",
            rusqlite::types::Value::Integer(to_sql(log_id.max(1))),
        ),
        ("account_name", account.name.clone().into()),
        ("device_name", account.device_name.clone().into()),
        (
            "created_ms",
            rusqlite::types::Value::Integer(to_sql(now_ms())),
        ),
    ] {
        tx.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)",
            params![key, value],
        )
        .map_err(OpenError::Sqlite)?;
    }
    tx.commit().map_err(OpenError::Sqlite)
}

/// Opens a connection in WAL mode with `synchronous=FULL`.
fn connect(path: &Path) -> Result<Connection, OpenError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|err| open_error(path, err))?;
    conn.busy_timeout(Duration::from_secs(5))
        .map_err(OpenError::Sqlite)?;
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
        .map_err(|err| open_error(path, err))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(OpenError::Inconsistent(format!(
            "journal mode {mode}, not WAL"
        )));
    }
    // Durability before acknowledgement is the point ([SYNC-10]): every
    // commit is synced to the WAL before it returns.
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(|err| open_error(path, err))?;
    Ok(conn)
}

/// SQLite's own structural check, so that damage shows at open.
fn quick_check(conn: &Connection, path: &Path) -> Result<(), OpenError> {
    let verdict: String = conn
        .query_row("PRAGMA quick_check(1)", [], |r| r.get(0))
        .map_err(|err| open_error(path, err))?;
    if verdict == "ok" {
        Ok(())
    } else {
        Err(OpenError::Corrupt {
            path: path.to_owned(),
            detail: verdict,
        })
    }
}

impl Store for SqliteStore {
    fn log_id(&self) -> u64 {
        self.log_id
    }

    fn head(&self) -> Result<u64, StoreError> {
        log::head(&self.conn)
    }

    fn first_retained(&self) -> Result<u64, StoreError> {
        Ok(log::compacted_through(&self.conn)? + 1)
    }

    fn events_after(&self, after: u64, limit: usize) -> Result<Vec<(u64, EventBody)>, StoreError> {
        log::events_after(&self.conn, after, limit)
    }

    fn max_message_id(&self) -> Result<u64, StoreError> {
        log::max_message_id(&self.conn)
    }

    fn chats(&self) -> Result<Vec<Chat>, StoreError> {
        log::chats(&self.conn)
    }

    fn chat(&self, chat_id: u64) -> Result<Option<Chat>, StoreError> {
        log::chat_by_id(&self.conn, chat_id)
    }

    fn contacts(&self) -> Result<Vec<Contact>, StoreError> {
        log::contacts(&self.conn)
    }

    fn message(&self, message_id: u64) -> Result<Option<Message>, StoreError> {
        log::message_by_id(&self.conn, message_id)
    }

    fn messages(
        &self,
        chat_id: u64,
        before: u64,
        limit: usize,
    ) -> Result<(Vec<Message>, bool), StoreError> {
        log::messages(&self.conn, chat_id, before, limit)
    }

    fn commit(&mut self, commit: Commit) -> Result<(), StoreError> {
        let consumes = !commit.events.is_empty();
        let marker = self.inbox_marker;
        log::commit(&mut self.conn, commit, marker, now_ms())?;
        if consumes {
            self.inbox_marker = None;
        }
        Ok(())
    }

    fn send_outcome(
        &self,
        companion: &PublicKey,
        client_id: &[u8; 16],
    ) -> Result<Option<SendOutcome>, StoreError> {
        log::send_outcome(&self.conn, companion, client_id)
    }

    fn key_status(&self, key: &PublicKey) -> Result<KeyStatus, StoreError> {
        devices::key_status(&self.conn, key)
    }

    fn companions(&self) -> Result<Vec<CompanionRecord>, StoreError> {
        devices::companions(&self.conn)
    }

    fn link_companion(&mut self, record: CompanionRecord) -> Result<(), StoreError> {
        devices::link(&mut self.conn, &record)
    }

    fn revoke_companion(&mut self, key: &PublicKey) -> Result<bool, StoreError> {
        devices::revoke(&mut self.conn, key)
    }

    fn record_cursor(
        &mut self,
        key: &PublicKey,
        cursor: u64,
        seen_ms: u64,
    ) -> Result<(), StoreError> {
        devices::record_cursor(&self.conn, key, cursor, seen_ms)
    }

    fn media_state(&self, media_id: &[u8; 32]) -> Result<MediaState, StoreError> {
        self.media.state(&self.conn, media_id)
    }

    fn write_media(
        &mut self,
        media_id: &[u8; 32],
        offset: u64,
        data: &[u8],
    ) -> Result<(), StoreError> {
        self.media.write(&self.conn, media_id, offset, data)
    }

    fn complete_media(&mut self, media_id: &[u8; 32], size: u64) -> Result<(), StoreError> {
        self.media.complete(&self.conn, media_id, size)
    }

    fn discard_media(&mut self, media_id: &[u8; 32]) -> Result<(), StoreError> {
        self.media.discard(&self.conn, media_id)
    }

    fn read_media(
        &self,
        media_id: &[u8; 32],
        offset: u64,
        len: usize,
    ) -> Result<Bytes, StoreError> {
        self.media.read(&self.conn, media_id, offset, len)
    }
}
