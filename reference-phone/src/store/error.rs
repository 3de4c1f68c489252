//! Why the phone's store cannot be opened: a missing, foreign, corrupt or
//! newer database gets a typed error that says what to do, never a panic
//! (issue 7; durability is what [SYNC-10] and [SYNC-17] rest on).

use std::path::PathBuf;

/// A failure to open or create the phone's store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// No database at the path: run `tandem-phone init` first.
    #[error("no phone database at {0} (run `tandem-phone init` first)")]
    NotFound(PathBuf),
    /// A database already exists where a new one was to be created.
    #[error("a phone database already exists at {0}")]
    AlreadyExists(PathBuf),
    /// The file is not an SQLite database at all.
    #[error("{path} is not an SQLite database (damaged, or some other file)")]
    NotADatabase {
        /// The file.
        path: PathBuf,
    },
    /// SQLite found the database damaged.
    #[error("the database {path} is corrupt: {detail}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What SQLite reported.
        detail: String,
    },
    /// An SQLite database that belongs to some other application.
    #[error(
        "{path} is an SQLite database of another application (application_id {application_id:#010x})"
    )]
    Foreign {
        /// The file.
        path: PathBuf,
        /// Its `PRAGMA application_id`.
        application_id: i32,
    },
    /// Written by a newer `tandem-phone`; opening it could lose data.
    #[error("the database has schema version {found}; this tandem-phone knows up to {supported}")]
    TooNew {
        /// The database's version.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// The store's own data is inconsistent (for example a missing log id).
    #[error("the database is inconsistent: {0}")]
    Inconsistent(String),
    /// Any other SQLite failure.
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A file or folder of the store could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The failure.
        source: std::io::Error,
    },
}
