//! The phone's state folder: the account key, the database and the media,
//! owner-only (0700 folder, 0600 files), and the lock that makes one
//! process at a time the writer of the event log (spec §7.4: seqs without
//! gaps or repeats need a single writer).

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use tandem_proto::StaticKeypair;
use tandem_proto::random::{self, OsRandom};

use crate::store::{Account, OpenError, SqliteStore, StorePaths, create_private_dir};

/// Why the state folder cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// `init` on a folder that already holds an account.
    #[error("{0} already holds a phone account")]
    AlreadyInitialized(PathBuf),
    /// No account in the folder yet.
    #[error("no phone account in {0} (run `tandem-phone init --name NAME` first)")]
    NotInitialized(PathBuf),
    /// The key file is damaged or readable by others.
    #[error("{path}: {reason}")]
    Key {
        /// The key file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The store cannot be opened.
    #[error(transparent)]
    Store(#[from] OpenError),
    /// A file or folder could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The failure.
        source: std::io::Error,
    },
    /// The system has no random generator for keys.
    #[error("no random generator: {0}")]
    Random(tandem_proto::Error),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StateError + '_ {
    move |source| StateError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The phone's state folder.
#[derive(Clone, Debug)]
pub struct State {
    dir: PathBuf,
}

/// Held while this process is the writer of the event log; released when
/// dropped or when the process dies (even by SIGKILL).
#[derive(Debug)]
pub struct WriterLock {
    _file: File,
}

impl State {
    /// The folder at `dir` (not created or checked yet).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the store lives.
    pub fn store_paths(&self) -> StorePaths {
        StorePaths::in_folder(&self.dir)
    }

    /// The account's private key.
    pub fn key_path(&self) -> PathBuf {
        self.dir.join("identity.key")
    }

    /// The writer lock's file.
    pub fn lock_path(&self) -> PathBuf {
        self.dir.join("writer.lock")
    }

    /// The control socket of a running `serve`.
    pub fn socket_path(&self) -> PathBuf {
        self.dir.join("control.sock")
    }

    /// Creates the account: the folder, a new key, the store.
    pub fn init(&self, account: &Account) -> Result<(StaticKeypair, SqliteStore), StateError> {
        create_private_dir(&self.dir)?;
        let key_path = self.key_path();
        if key_path.exists() || self.store_paths().database.exists() {
            return Err(StateError::AlreadyInitialized(self.dir.clone()));
        }
        let mut rng = OsRandom::new().map_err(StateError::Random)?;
        let identity = StaticKeypair::generate(&mut rng);
        let log_id = u64::from_le_bytes(random::array(&mut rng)).max(1);
        let store = SqliteStore::create(&self.store_paths(), log_id, account)?;
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&key_path)
            .map_err(io(&key_path))?;
        file.write_all(&hex::encode(identity.private()).into_bytes())
            .and_then(|()| file.sync_all())
            .map_err(io(&key_path))?;
        File::open(&self.dir)
            .and_then(|dir| dir.sync_all())
            .map_err(io(&self.dir))?;
        Ok((identity, store))
    }

    /// Reads the account key; refuses one that others can read.
    pub fn identity(&self) -> Result<StaticKeypair, StateError> {
        let path = self.key_path();
        let mut file = match File::open(&path) {
            Ok(file) => file,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Err(StateError::NotInitialized(self.dir.clone()));
            }
            Err(err) => return Err(io(&path)(err)),
        };
        let mode = file.metadata().map_err(io(&path))?.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(StateError::Key {
                path,
                reason: format!(
                    "readable by others (mode {:o}); run chmod 600",
                    mode & 0o777
                ),
            });
        }
        let mut text = String::new();
        (&mut file)
            .take(128)
            .read_to_string(&mut text)
            .map_err(io(&path))?;
        let bad = |reason: &str| StateError::Key {
            path: path.clone(),
            reason: reason.to_owned(),
        };
        let bytes = hex::decode(text.trim()).map_err(|_| bad("not hexadecimal"))?;
        let private = <[u8; 32]>::try_from(bytes).map_err(|_| bad("not a 32-byte key"))?;
        Ok(StaticKeypair::from_private(private))
    }

    /// Opens the store (migrating it if needed).
    pub fn store(&self) -> Result<SqliteStore, StateError> {
        match SqliteStore::open(&self.store_paths()) {
            Err(OpenError::NotFound(_)) => Err(StateError::NotInitialized(self.dir.clone())),
            other => Ok(other?),
        }
    }

    /// Takes the writer lock if no other process holds it.
    pub fn try_lock_writer(&self) -> Result<Option<WriterLock>, StateError> {
        let path = self.lock_path();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(io(&path))?;
        match file.try_lock() {
            Ok(()) => Ok(Some(WriterLock { _file: file })),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(err)) => Err(io(&path)(err)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account() -> Account {
        Account {
            name: "Ada".into(),
            device_name: "Pixel".into(),
        }
    }

    #[test]
    fn init_creates_an_owner_only_account_once() {
        let dir = tempfile::tempdir().unwrap();
        let state = State::new(dir.path().join("phone"));
        let (identity, _store) = state.init(&account()).unwrap();
        assert_eq!(state.identity().unwrap(), identity);
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(state.dir()), 0o700);
        assert_eq!(mode(&state.key_path()), 0o600);
        assert!(matches!(
            state.init(&account()),
            Err(StateError::AlreadyInitialized(_))
        ));
    }

    #[test]
    fn a_key_readable_by_others_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let state = State::new(dir.path());
        state.init(&account()).unwrap();
        std::fs::set_permissions(state.key_path(), std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(state.identity(), Err(StateError::Key { .. })));
    }

    #[test]
    fn the_writer_lock_is_exclusive_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let state = State::new(dir.path());
        let held = state.try_lock_writer().unwrap();
        assert!(held.is_some());
        assert!(state.try_lock_writer().unwrap().is_none());
        drop(held);
        assert!(state.try_lock_writer().unwrap().is_some());
    }

    #[test]
    fn a_missing_account_says_to_run_init() {
        let dir = tempfile::tempdir().unwrap();
        let state = State::new(dir.path());
        assert!(matches!(
            state.identity(),
            Err(StateError::NotInitialized(_))
        ));
        assert!(matches!(state.store(), Err(StateError::NotInitialized(_))));
    }
}
