//! The owner-only state folder (spec §1.1: a companion keeps only its keys and
//! a small cache): `link.json` with the keys ([PAIR-08]), `queue.json` with
//! unanswered sends ([SYNC-19]) and `lock`; nothing else from the phone.

mod atomic;
mod credentials;
mod queue;

use std::fs::{DirBuilder, File, OpenOptions, TryLockError};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use tandem_proto::companion::PendingSend;

pub use credentials::{Link, device_id};
pub use queue::check as check_send;

/// Writes an owner-only file atomically (a QR image holds the pairing
/// secret while its code is valid).
pub(crate) fn write_private_file(path: &Path, bytes: &[u8]) -> Result<(), WebError> {
    atomic::write(path, bytes)
}

use crate::error::WebError;

/// The largest `link.json` read.
const MAX_LINK_FILE: u64 = 16 << 10;
/// The largest `queue.json` read (thousands of sends).
const MAX_QUEUE_FILE: u64 = 64 << 20;

/// A state folder.
#[derive(Clone, Debug)]
pub struct StateDir {
    dir: PathBuf,
}

/// Held while a process uses the folder: one `tandem-web` per folder, so
/// that two never run the same companion or write the same queue.
#[derive(Debug)]
pub struct StateLock {
    _file: File,
}

impl StateDir {
    /// The folder at `dir` (not created yet).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The stored link.
    pub fn link_path(&self) -> PathBuf {
        self.dir.join("link.json")
    }

    /// The queue of unanswered sends.
    pub fn queue_path(&self) -> PathBuf {
        self.dir.join("queue.json")
    }

    fn lock_path(&self) -> PathBuf {
        self.dir.join("lock")
    }

    /// Creates the folder owner-only, or makes an existing one so.
    pub fn create(&self) -> Result<(), WebError> {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .map_err(WebError::io(&self.dir))?;
        std::fs::set_permissions(&self.dir, std::fs::Permissions::from_mode(0o700))
            .map_err(WebError::io(&self.dir))
    }

    /// Takes the folder for this process.
    pub fn lock(&self) -> Result<StateLock, WebError> {
        self.create()?;
        let path = self.lock_path();
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(WebError::io(&path))?;
        match file.try_lock() {
            Ok(()) => Ok(StateLock { _file: file }),
            Err(TryLockError::WouldBlock) => Err(WebError::Busy(self.dir.clone())),
            Err(TryLockError::Error(err)) => Err(WebError::io(&path)(err)),
        }
    }

    /// The stored link, if this companion is linked.
    pub fn link(&self) -> Result<Option<Link>, WebError> {
        let path = self.link_path();
        let Some(bytes) = atomic::read(&path, MAX_LINK_FILE)? else {
            return Ok(None);
        };
        credentials::decode(&bytes)
            .map(Some)
            .map_err(|reason| WebError::State { path, reason })
    }

    /// The stored link, or [`WebError::NotLinked`].
    pub fn require_link(&self) -> Result<Link, WebError> {
        self.link()?
            .ok_or_else(|| WebError::NotLinked(self.dir.clone()))
    }

    /// Stores the link ([PAIR-08]: only after `PairingComplete`).
    pub fn save_link(&self, link: &Link) -> Result<(), WebError> {
        self.create()?;
        atomic::write(&self.link_path(), &credentials::encode(link)?)
    }

    /// The queued sends, oldest first.
    pub fn queue(&self) -> Result<Vec<PendingSend>, WebError> {
        let path = self.queue_path();
        let Some(bytes) = atomic::read(&path, MAX_QUEUE_FILE)? else {
            return Ok(Vec::new());
        };
        queue::decode(&bytes).map_err(|reason| WebError::State { path, reason })
    }

    /// Replaces the queue (an empty one removes the file).
    pub fn save_queue(&self, pending: &[PendingSend]) -> Result<(), WebError> {
        if pending.is_empty() {
            return atomic::remove(&self.queue_path());
        }
        atomic::write(&self.queue_path(), &queue::encode(pending)?)
    }

    /// Forgets the link and the queue ([RECON-07], [DEV-07]). The folder and
    /// its lock stay.
    pub fn wipe(&self) -> Result<(), WebError> {
        atomic::remove(&self.link_path())?;
        atomic::remove(&self.queue_path())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_codec::session::Body;
    use tandem_proto::StaticKeypair;
    use tandem_proto::companion::Credentials;
    use tandem_proto::random::SeededRandom;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn the_folder_is_owner_only_locked_and_wiped_whole() {
        let temp = tempfile::tempdir().unwrap();
        let state = StateDir::new(temp.path().join("web"));
        let lock = state.lock().unwrap();
        assert!(matches!(state.lock(), Err(WebError::Busy(_))));
        assert_eq!(mode(state.dir()), 0o700);
        assert!(state.link().unwrap().is_none());
        assert!(matches!(state.require_link(), Err(WebError::NotLinked(_))));

        let mut rng = SeededRandom::new(1);
        let link = Link {
            credentials: Credentials {
                identity: StaticKeypair::generate(&mut rng),
                primary_key: StaticKeypair::generate(&mut rng).public(),
                account_name: "Ada".into(),
            },
            relay_url: "ws://127.0.0.1:1".into(),
            device_name: "web".into(),
            primary_device: "phone".into(),
            linked_at_ms: 1,
        };
        state.save_link(&link).unwrap();
        assert_eq!(mode(&state.link_path()), 0o600);
        assert_eq!(state.link().unwrap(), Some(link));

        let pending = vec![PendingSend {
            client_id: [1; 16],
            chat_id: 2,
            body: Body::Text("queued".into()),
        }];
        state.save_queue(&pending).unwrap();
        assert_eq!(mode(&state.queue_path()), 0o600);
        assert_eq!(state.queue().unwrap(), pending);
        state.save_queue(&[]).unwrap();
        assert!(!state.queue_path().exists());

        state.save_queue(&pending).unwrap();
        state.wipe().unwrap();
        assert!(state.link().unwrap().is_none());
        assert!(state.queue().unwrap().is_empty());
        drop(lock);
        state.lock().unwrap();
    }
}
